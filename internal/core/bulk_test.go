package core

import (
	"testing"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

func TestBulkActionsCheckEachUserAndSaySo(t *testing.T) {
	e := newEnv(t)
	e.setup()
	admin := e.addUser("Ada", auth.Admin, true)
	mgr := e.addUser("Max", auth.Manager, true)
	ann := e.addUser("Ann", auth.Agent, true)
	bob := e.addUser("Bob", auth.Agent, true)
	annCtx := e.signIn("ann@kwgroup.uk")
	maxCtx := e.signIn("max@kwgroup.uk")
	before := len(e.events())
	res, err := e.svc.BulkUsers(maxCtx, BulkInput{IDs: []uint64{ann.ID, bob.ID, admin.ID, mgr.ID, 999, ann.ID}, Action: "deactivate"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Done) != 2 || res.Done[0].Name != "Ann" || res.Done[1].Name != "Bob" {
		t.Fatalf("done: %+v", res.Done)
	}
	why := map[uint64]BulkItem{}
	for _, r := range res.Refused {
		why[r.ID] = r
	}
	if len(res.Refused) != 3 || why[admin.ID].Why != errOutranked.Message || why[admin.ID].Name != "Ada" ||
		why[mgr.ID].Why != errOwnActive.Message || why[999].Why != errNoUser.Message || why[999].Name != "" {
		t.Fatalf("refused: %+v", res.Refused)
	}
	if n := len(e.events()) - before; n != 2 {
		t.Fatalf("%d events for 2 deactivations", n)
	}
	if _, err := e.svc.Me(annCtx); ErrorCode(err) != Unauthenticated {
		t.Fatalf("a deactivated user's session still works: %v", err)
	}
	// Role: a manager cannot bulk-promote above their own rank.
	res, err = e.svc.BulkUsers(maxCtx, BulkInput{IDs: []uint64{ann.ID, bob.ID}, Action: "role", Role: "ADMIN"})
	if err != nil || len(res.Done) != 0 || len(res.Refused) != 2 || res.Refused[0].Why != errGrantAbove.Message {
		t.Fatalf("bulk promote above own rank: %+v %v", res, err)
	}
	for name, in := range map[string]BulkInput{
		"nothing selected": {Action: "deactivate"},
		"unknown action":   {IDs: []uint64{ann.ID}, Action: "delete"},
		"unknown role":     {IDs: []uint64{ann.ID}, Action: "role", Role: "GOD"},
		"too many":         {IDs: make([]uint64, maxBulk+1), Action: "reactivate"},
	} {
		if _, err := e.svc.BulkUsers(maxCtx, in); ErrorCode(err) != Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An agent may not bulk anything.
	agent := e.addUser("Cat", auth.Agent, true)
	catCtx := e.signIn("cat@kwgroup.uk")
	if _, err := e.svc.BulkUsers(catCtx, BulkInput{IDs: []uint64{agent.ID}, Action: "reactivate"}); ErrorCode(err) != Forbidden {
		t.Fatalf("agent bulk: %v", err)
	}
}

// Two SUPER_ADMINs bulk-deactivating each other at the same instant leave
// one; the same unsent invitations sent twice at once go out once each.
func TestBulkAndUnsentHoldUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	mitch := e.setup()
	sara := e.addUser("Sara", auth.SuperAdmin, true)
	saraCtx := e.signIn("sara@kwgroup.uk")
	errs := together(2, func(i int) error {
		ctx, id := mitch, sara.ID
		if i == 1 {
			ctx, id = saraCtx, 1
		}
		res, err := e.svc.BulkUsers(ctx, BulkInput{IDs: []uint64{id}, Action: "deactivate"})
		if err == nil && len(res.Done) == 0 {
			return errLastSuper
		}
		return err
	})
	var supers int
	e.db.View(func(tx *store.Tx) (err error) { supers, err = tx.CountActive(auth.SuperAdmin, 10); return })
	if supers != 1 || succeeded(errs) != 1 {
		t.Fatalf("%d super admins left, answers %v", supers, errs)
	}

	e2 := newEnv(t)
	ctx := e2.setup()
	for _, email := range []string{"a@kwgroup.uk", "b@kwgroup.uk", "c@kwgroup.uk"} {
		if _, err := e2.svc.InviteUser(ctx, InviteInput{Email: email, Role: "AGENT"}); err != nil {
			t.Fatal(err)
		}
	}
	e2.deliver()
	e2.configureSMTP(ctx)
	counts := make([]int, 10)
	together(10, func(i int) (err error) { counts[i], err = e2.svc.SendUnsentInvitations(ctx); return })
	total := 0
	for _, n := range counts {
		total += n
	}
	e2.deliver()
	if total != 3 || len(e2.mailer.messages()) != 3 {
		t.Fatalf("queued %d, sent %d; want 3 and 3", total, len(e2.mailer.messages()))
	}
}

// A manager sending the unsent invitations does not send an ADMIN's: its
// link gives a role above theirs.
func TestUnsentInvitationsRespectRank(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	e.addUser("Max", auth.Manager, true)
	if _, err := e.svc.InviteUser(ctx, InviteInput{Email: "boss@kwgroup.uk", Role: "ADMIN"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.InviteUser(ctx, InviteInput{Email: "new@kwgroup.uk", Role: "AGENT"}); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	e.configureSMTP(ctx)
	n, err := e.svc.SendUnsentInvitations(e.signIn("max@kwgroup.uk"))
	if err != nil || n != 1 {
		t.Fatalf("manager sent %d (%v), want only the AGENT invitation", n, err)
	}
	if n, err := e.svc.SendUnsentInvitations(ctx); err != nil || n != 1 {
		t.Fatalf("the super admin then sends %d (%v), want the ADMIN one", n, err)
	}
}
