package core

import (
	"context"
	"encoding/base64"
	"errors"
	"time"
	"unicode/utf8"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// ListUsersInput filters, sorts and pages the users list. Paging is keyset:
// After and Before are the Next and Prev cursors of a previous page.
type ListUsersInput struct {
	Search string `json:"search"`
	Role   string `json:"role"`   // "" or a role
	Status string `json:"status"` // "", "active" or "inactive"
	Sort   string `json:"sort"`   // name (default), email, role, mfa, status, lastLogin
	Desc   bool   `json:"desc"`
	After  string `json:"after"`
	Before string `json:"before"`
	Limit  int    `json:"limit"` // 1–200, default 50
	// TenantID lists another tenant the caller is a member of (any tenant
	// for SUPER_ADMIN); 0 is the current one.
	TenantID uint64 `json:"tenantId"`
}

// UserRow is one line of the users list.
type UserRow struct {
	ID          uint64     `json:"id"`
	Name        string     `json:"name"`
	Email       string     `json:"email"`
	Role        auth.Role  `json:"role"`
	MFAEnabled  bool       `json:"mfaEnabled"`
	Active      bool       `json:"active"`
	LastLoginAt *time.Time `json:"lastLoginAt"`
	LockedUntil *time.Time `json:"lockedUntil"` // sign-in locked after failures
	// MustChangePassword: they hold a temporary password.
	MustChangePassword bool `json:"mustChangePassword"`
	// CanChange says whether the caller may change this user (edit,
	// deactivate, unlock, reset); when not, Why says why, so a row offers
	// only what will work.
	CanChange bool   `json:"canChange"`
	Why       string `json:"why,omitempty"`
}

// UserPage is one page of the users list.
type UserPage struct {
	Users []UserRow `json:"users"`
	Next  string    `json:"next"`
	Prev  string    `json:"prev"`
	// Total is how many users match; TotalAtLeast marks a lower bound (a
	// search matching more than 10,000), shown as "10,000+".
	Total        int  `json:"total"`
	TotalAtLeast bool `json:"totalAtLeast"`
}

const maxSearchChars = 200

// ListUsers returns a page of the current tenant's users.
func (s *Service) ListUsers(ctx context.Context, in ListUsersInput) (UserPage, error) {
	q, err := directoryQuery(in)
	if err != nil {
		return UserPage{}, err
	}
	if in.Limit == 0 {
		q.Limit = 50
	} else if in.Limit < 1 || in.Limit > 200 {
		return UserPage{}, fieldError("limit", "Ask for 1 to 200 users per page.")
	}
	if in.After != "" && in.Before != "" {
		return UserPage{}, fieldError("cursor", "Give either a next or a previous page, not both.")
	}
	if q.After, err = decodeCursor(in.After); err != nil {
		return UserPage{}, err
	}
	if q.Before, err = decodeCursor(in.Before); err != nil {
		return UserPage{}, err
	}
	var page store.DirectoryPage
	var locks []*time.Time
	var verdicts []error // per row: nil when the caller may change that user
	err = s.view(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) (err error) {
		if q.TenantID, err = listTenant(tx, a, in.TenantID); err != nil {
			return err
		}
		if page, err = tx.Directory(q); err != nil {
			return err
		}
		now := a.now
		locks = make([]*time.Time, len(page.Rows))
		verdicts = make([]error, len(page.Rows))
		for i, r := range page.Rows {
			if locks[i], err = accountLock(tx, r.Email, now); err != nil {
				return err
			}
			// The row says where the user stands here: no record to load.
			p := listedHere
			if r.Home {
				p = atHome
			}
			verdicts[i] = rule(a, r.UserID, r.Role, p, toChange)
		}
		return nil
	})
	if errors.Is(err, store.ErrBadCursor) {
		return UserPage{}, errBadCursor
	}
	if err != nil {
		return UserPage{}, s.internal("list users", err)
	}
	out := UserPage{Users: make([]UserRow, len(page.Rows)), Next: encodeCursor(page.Next), Prev: encodeCursor(page.Prev),
		Total: page.Total, TotalAtLeast: page.TotalAtLeast}
	for i, r := range page.Rows {
		can, why, _ := verdict(verdicts[i]) // rule returns only refusals
		out.Users[i] = UserRow{ID: r.UserID, Name: r.Name, Email: r.Email, Role: r.Role,
			MFAEnabled: r.MFAEnabled, Active: r.Active, LastLoginAt: optTime(r.LastLoginAt), LockedUntil: locks[i],
			MustChangePassword: r.MustChangePassword, CanChange: can, Why: why}
	}
	return out, nil
}

// directoryQuery checks the search, filters and sort of a users list and
// turns them into a store query; paging and the tenant are the caller's.
func directoryQuery(in ListUsersInput) (store.DirectoryQuery, error) {
	q := store.DirectoryQuery{Search: in.Search, Desc: in.Desc, Limit: in.Limit}
	if utf8.RuneCountInString(in.Search) > maxSearchChars {
		return q, fieldError("search", "Search for at most %d characters.", maxSearchChars)
	}
	if in.Role != "" {
		if q.Role = auth.Role(in.Role); !q.Role.Valid() {
			return q, fieldError("role", "Choose one of the six roles.")
		}
	}
	switch in.Status {
	case "":
	case "active", "inactive":
		active := in.Status == "active"
		q.Active = &active
	default:
		return q, fieldError("status", "Choose Active or Inactive.")
	}
	q.Sort = store.SortByName
	if in.Sort != "" {
		if q.Sort = store.DirectorySort(in.Sort); !store.ValidSort(q.Sort) {
			return q, fieldError("sort", "Sort by name, email, role, mfa, status or lastLogin.")
		}
	}
	return q, nil
}

// listTenant is the tenant whose users list the actor asks for: the
// current one (requested 0), or another they are a member of (any tenant
// with cross-tenant power).
func listTenant(tx *store.Tx, a *actor, requested uint64) (uint64, error) {
	if requested == 0 || requested == a.tenant.ID {
		return a.tenant.ID, nil
	}
	if !a.can(auth.CrossTenant) {
		// A member (admin-tenancy staff hold shadow memberships) could
		// switch there and list; nobody else learns anything.
		if m, err := tx.Membership(a.user.ID, requested); err != nil {
			return 0, err
		} else if m == nil {
			return 0, errNotMember
		}
	}
	if t, err := tx.Tenant(requested); err != nil {
		return 0, err
	} else if t == nil {
		return 0, errNotMember
	}
	return requested, nil
}

var errBadCursor = fieldError("cursor", "This page link is out of date or damaged. Start again from the first page.")

func decodeCursor(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 1024 {
		return nil, errBadCursor
	}
	return b, nil
}

func encodeCursor(b []byte) string {
	if b == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
