package store

import (
	"bytes"
	"fmt"
	"slices"
)

// checkIndexesOnly verifies the indexes without bbolt's page check (for
// files from outside; see CheckFile).
func (db *DB) checkIndexesOnly() []error {
	if err := db.gate(); err != nil {
		return []error{err}
	}
	var errs []error
	err := db.kvView(func(ktx kvTx) error {
		for _, b := range allBuckets {
			if ktx.Bucket(b) == nil {
				errs = append(errs, fmt.Errorf("bucket %s is missing", b))
			}
		}
		if len(errs) == 0 {
			errs = db.kvTxOf(ktx).checkIndexes()
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Check runs bbolt's page-level consistency check and verifies that every
// index agrees with the records it indexes, the audit log's included. It
// returns every problem found.
func (db *DB) Check() []error {
	if err := db.gate(); err != nil {
		return []error{err}
	}
	var errs []error
	err := db.kvView(func(ktx kvTx) error {
		if btx, ok := ktx.(boltTx); ok { // the file's pages (an etcd cluster checks its own)
			for err := range btx.tx.Check() {
				errs = append(errs, err)
			}
		}
		t := db.kvTxOf(ktx)
		for _, b := range allBuckets {
			if ktx.Bucket(b) == nil {
				errs = append(errs, fmt.Errorf("bucket %s is missing", b))
			}
		}
		if len(errs) > 0 {
			return nil
		}
		errs = append(errs, t.checkIndexes()...)
		errs = append(errs, t.checkAudit()...)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// checkAuditGrams verifies the trigram index against the dictionary of
// every tenant: each value's grams, nothing else, and the counts.
func (t *Tx) checkAuditGrams() []error {
	if t.b(bucketAuditGrams) == nil {
		return nil
	}
	var errs []error
	want, wantN := map[string][][]byte{}, map[string]uint64{}
	for _, f := range textFields {
		vals, _ := t.Values(0, f, 0)
		for v := range vals {
			if v == "" {
				continue // no grams
			}
			id, _, err := stringEntry(v, t.b(bucketAuditStrings).Get([]byte(v)))
			if err != nil {
				errs = append(errs, fmt.Errorf("the trigram index: %w", err))
				continue
			}
			for _, g := range grams(v) {
				p := string(bucketAuditGrams) + "|" + string(f) + g
				want[p] = append(want[p], u64(id))
				wantN[string(f)+g]++
			}
		}
	}
	for _, ids := range want {
		slices.SortFunc(ids, bytes.Compare)
	}
	errs = append(errs, t.checkLists(t.gramLists(), bucketAuditGrams, want)...)
	for p := range want {
		errs = append(errs, fmt.Errorf("trigram list %q is missing", p))
	}
	m := 0
	_ = t.b(bucketAuditGramN).ForEach(func(k, v []byte) error {
		if m++; readU64(v) != wantN[string(k)] {
			errs = append(errs, fmt.Errorf("trigram %q counts %d values, the dictionary has %d", k, readU64(v), wantN[string(k)]))
		}
		return nil
	})
	if m != len(wantN) {
		errs = append(errs, fmt.Errorf("the trigram counts hold %d grams, the dictionary makes %d", m, len(wantN)))
	}
	return errs
}

func (t *Tx) checkIndexes() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	want := map[string]map[string][]byte{}
	for _, d := range dirIndexes {
		want[string(d.bucket)] = map[string][]byte{}
	}
	want[string(bucketDirUser)], want[string(bucketDirGrams)] = map[string][]byte{}, map[string][]byte{}
	gramCounts := map[string][]byte{}
	counts := map[string]uint64{}
	emails := 0
	_ = t.b(bucketUsers).ForEach(func(k, v []byte) error {
		var u User
		if err := unmarshal(k, v, &u); err != nil {
			bad("%v", err)
			return nil
		}
		emails++
		if id := t.b(bucketUserEmail).Get([]byte(Fold(u.Email))); readU64(id) != u.ID {
			bad("user %d: e-mail index points to %d", u.ID, readU64(id))
		}
		if t.b(bucketCredentials).Get(k) == nil {
			bad("user %d has no credentials record", u.ID)
		}
		tenants, err := t.directoryTenants(u.ID)
		if err != nil {
			bad("user %d memberships: %v", u.ID, err)
		}
		for _, tid := range tenants {
			row := encodeRow(&u, tid)
			for _, d := range dirIndexes {
				want[string(d.bucket)][string(dirKey(tid, d.text(&u), u.ID))] = row
			}
			want[string(bucketDirUser)][string(dirUserKey(tid, u.ID))] = dirUserValue(&u, row)
			for g := range rowGrams(&u) {
				gk := string(join(u64(tid), []byte(g)))
				want[string(bucketDirGrams)][gk+string(u64(u.ID))] = []byte{}
				gramCounts[gk] = u64(readU64(gramCounts[gk]) + 1)
			}
			counts[string(countKey(tid, u.Active, u.Role))]++
		}
		return nil
	})
	if n := t.b(bucketUserEmail).KeyN(); n != emails {
		bad("e-mail index has %d entries for %d users", n, emails)
	}
	gotCounts := 0
	_ = t.b(bucketDirCount).ForEach(func(k, v []byte) error {
		gotCounts++
		if counts[string(k)] != readU64(v) {
			bad("directory count %x is %d, want %d", k, readU64(v), counts[string(k)])
		}
		return nil
	})
	if gotCounts != len(counts) {
		bad("directory counts: %d keys, want %d", gotCounts, len(counts))
	}
	want[string(bucketDirGramN)] = gramCounts
	for name, want := range want {
		got := 0
		_ = t.b([]byte(name)).ForEach(func(k, v []byte) error {
			got++
			if w, ok := want[string(k)]; !ok || !bytes.Equal(w, v) {
				bad("%s: stale entry %x", name, k)
			}
			return nil
		})
		if got != len(want) {
			bad("%s has %d entries, want %d", name, got, len(want))
		}
	}
	_ = t.b(bucketMembers).ForEach(func(k, v []byte) error {
		rev := join(k[8:16], k[:8])
		if !bytes.Equal(t.b(bucketTenantUsers).Get(rev), v) {
			bad("membership %x has no matching tenant entry", k)
		}
		return nil
	})
	if a, b := t.b(bucketMembers).KeyN(), t.b(bucketTenantUsers).KeyN(); a != b {
		bad("%d memberships but %d tenant entries", a, b)
	}
	_ = t.b(bucketInvites).ForEach(func(k, v []byte) error {
		var inv Invitation
		if err := unmarshal(k, v, &inv); err != nil {
			bad("%v", err)
			return nil
		}
		if readU64(t.b(bucketInviteToken).Get(inv.TokenHash)) != inv.ID {
			bad("invitation %d: token index does not point to it", inv.ID)
		}
		if t.b(bucketTenantInvite).Get(listKey(&inv)) == nil {
			bad("invitation %d is not listed under its tenant", inv.ID)
		}
		// The pending index holds a tenant's newest pending invitation to an
		// address; an older, expired one it replaced stays pending but
		// unindexed.
		indexed := readU64(t.b(bucketInvitePending).Get(pendingKey(inv.TenantID, inv.Email)))
		if indexed == inv.ID && inv.State != InvitePending || inv.State == InvitePending && indexed < inv.ID {
			bad("invitation %d (%s): e-mail index points to %d", inv.ID, inv.State, indexed)
		}
		return nil
	})
	for _, idx := range [][]byte{bucketInviteToken, bucketTenantInvite} {
		if a, b := t.b(bucketInvites).KeyN(), t.b(idx).KeyN(); a != b {
			bad("%d invitations but %d entries in %s", a, b, idx)
		}
	}
	_ = t.b(bucketOutbox).ForEach(func(k, v []byte) error {
		var m Message
		if err := unmarshal(k, v, &m); err != nil {
			bad("%v", err)
			return nil
		}
		if due := t.b(bucketOutboxDue).Get(k) != nil; due != (m.State == MailQueued) {
			bad("message %d (%s): due index disagrees", m.ID, m.State)
		}
		return nil
	})
	_ = t.b(bucketUserSess).ForEach(func(k, _ []byte) error {
		if t.b(bucketSessions).Get(k[8:]) == nil {
			bad("user-session index %x points to no session", k)
		}
		return nil
	})
	errs = append(errs, t.checkAuditGrams()...)
	return errs
}
