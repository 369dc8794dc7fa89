package core

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// usersExportHeader names the columns of the users CSV.
var usersExportHeader = []string{"name", "email", "role", "role_name", "status", "two_factor", "last_login", "created"}

// ExportUsers writes the users list to w as CSV: the rows ListUsers would
// show the caller for the same search, filters, sort and tenant, all of
// them (the cursors and limit are ignored). It returns how many users it
// wrote. Like ExportAudit it reads in pages, each in its own read
// transaction that resolves the caller and the tenant again, so a slow
// client holds no transaction open and a session that ends stops it.
func (s *Service) ExportUsers(ctx context.Context, in ListUsersInput, w io.Writer) (int, error) {
	q, err := directoryQuery(in)
	if err != nil {
		return 0, err
	}
	q.Limit, q.NoTotal = exportPage, true
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	cw.Write(usersExportHeader)
	n := 0
	var after []byte // the key of the last row written
	for {
		var rows [][]string
		var next []byte
		err := s.view(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
			pq := q
			var err error
			if pq.TenantID, err = listTenant(tx, a, in.TenantID); err != nil {
				return err
			}
			pq.After = after
			page, err := tx.Directory(pq)
			if err != nil {
				return err
			}
			rows = make([][]string, len(page.Rows))
			for i, r := range page.Rows {
				// The list's row has no joined date: the record has.
				u, err := tx.User(r.UserID)
				if err != nil {
					return err
				}
				if u == nil {
					return fmt.Errorf("users list row %d has no user record", r.UserID)
				}
				rows[i] = userCSVRow(r, u.CreatedAt)
			}
			next = page.Next
			return nil
		})
		if err != nil {
			return n, s.internal("export users", err)
		}
		for _, row := range rows {
			cw.Write(row)
			n++
		}
		if err := cw.Error(); err != nil {
			return n, err
		}
		if next == nil {
			break
		}
		after = next
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// userCSVRow is one user as a CSV row, every text cell defused; times are
// ISO 8601 in UTC, empty for never.
func userCSVRow(r store.DirectoryRow, created time.Time) []string {
	status, mfa := "inactive", "off"
	if r.Active {
		status = "active"
	}
	if r.MFAEnabled {
		mfa = "on"
	}
	return []string{csvSafe(r.Name), csvSafe(r.Email), csvSafe(string(r.Role)), csvSafe(r.Role.Label()), status, mfa,
		isoUTC(r.LastLoginAt), isoUTC(created)}
}

func isoUTC(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
