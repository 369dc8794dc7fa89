package core

import (
	"testing"

	"gatehouse/internal/auth"
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
