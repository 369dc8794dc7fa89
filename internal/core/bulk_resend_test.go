package core

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// invite sends an invitation as ctx and returns it with its link.
func (e *env) invite(ctx context.Context, email string, role auth.Role) InviteResult {
	e.t.Helper()
	res, err := e.svc.InviteUser(ctx, InviteInput{Email: email, Role: string(role)})
	if err != nil {
		e.t.Fatalf("invite %s: %v", email, err)
	}
	return res
}

func (e *env) invitation(id uint64) store.Invitation {
	e.t.Helper()
	var inv *store.Invitation
	if err := e.db.View(func(tx *store.Tx) (err error) { inv, err = tx.Invitation(id); return }); err != nil || inv == nil {
		e.t.Fatalf("invitation %d: %v", id, err)
	}
	return *inv
}

// outbox tallies the outbox's messages by state, and the queued ones by invitation.
func (e *env) outbox() (states map[store.MessageState]int, queuedFor map[uint64]int) {
	e.t.Helper()
	states, queuedFor = map[store.MessageState]int{}, map[uint64]int{}
	e.db.View(func(tx *store.Tx) error {
		for id, misses := uint64(1), 0; misses < 50; id++ {
			m, err := tx.Message(id)
			if err != nil {
				e.t.Fatal(err)
			}
			if m == nil {
				misses++
				continue
			}
			states[m.State]++
			if m.State == store.MailQueued {
				queuedFor[m.RefID]++
			}
		}
		return nil
	})
	return states, queuedFor
}

func byID(items []BulkItem) map[uint64]BulkItem {
	out := map[uint64]BulkItem{}
	for _, it := range items {
		out[it.ID] = it
	}
	return out
}

// Bulk resend checks each invitation by Resend's own rules and says so:
// pending and expired ones get a new link (the old one dies), a new expiry,
// a queued e-mail and one audit event each; revoked and accepted ones, and
// one with a newer invitation to its address, are refused with the reason
// Resend gives, and left as they were.
func TestBulkResendFollowsResendsRules(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	expired := e.invite(ctx, "late@kwgroup.uk", auth.Agent)
	e.advance(8 * 24 * time.Hour)
	ctx = e.signIn("mitch@kwgroup.uk")
	pending := e.invite(ctx, "new@kwgroup.uk", auth.Agent)
	revoked := e.invite(ctx, "gone@kwgroup.uk", auth.Agent)
	if _, err := e.svc.RevokeInvitation(ctx, revoked.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	accepted := e.invite(ctx, "joined@kwgroup.uk", auth.Manager)
	if _, _, err := e.accept(accepted.Link, "Joan"); err != nil {
		t.Fatal(err)
	}
	// The expired invitation's address was invited again: the old one is superseded.
	superseded := e.invite(ctx, "twice@kwgroup.uk", auth.Agent)
	e.advance(8 * 24 * time.Hour)
	ctx = e.signIn("mitch@kwgroup.uk")
	e.invite(ctx, "twice@kwgroup.uk", auth.Agent) // the newer one
	beforeInv := map[uint64]store.Invitation{}
	for _, r := range []InviteResult{revoked, accepted, superseded} {
		beforeInv[r.Invitation.ID] = e.invitation(r.Invitation.ID)
	}
	events := len(e.events())

	ids := []uint64{pending.Invitation.ID, expired.Invitation.ID, revoked.Invitation.ID, accepted.Invitation.ID, superseded.Invitation.ID, pending.Invitation.ID}
	res, err := e.svc.BulkResendInvitations(ctx, ResendInvitationsInput{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	done := byID(res.Done)
	if len(res.Done) != 2 || done[pending.Invitation.ID].Name != "new@kwgroup.uk" || done[expired.Invitation.ID].Name != "late@kwgroup.uk" {
		t.Fatalf("done: %+v", res.Done)
	}
	refused := byID(res.Refused)
	want := map[uint64]string{
		revoked.Invitation.ID:    "This invitation was revoked and cannot be re-sent. Send a new invitation instead.",
		accepted.Invitation.ID:   "This invitation was accepted and cannot be re-sent. Send a new invitation instead.",
		superseded.Invitation.ID: "A newer invitation to this address exists; resend that one instead.",
	}
	if len(res.Refused) != len(want) {
		t.Fatalf("refused: %+v", res.Refused)
	}
	for id, why := range want {
		if refused[id].Why != why || refused[id].Name == "" {
			t.Errorf("invitation %d refused with %+v, want %q", id, refused[id], why)
		}
		// The single Resend gives the same reason.
		if _, err := e.svc.ResendInvitation(ctx, id); err == nil || err.Error() != why {
			t.Errorf("Resend of %d says %v, bulk says %q", id, err, why)
		}
		if after := e.invitation(id); fmt.Sprint(after) != fmt.Sprint(beforeInv[id]) {
			t.Errorf("a refused invitation changed: %+v", after)
		}
	}
	if n := len(e.events()) - events; n != 2 {
		t.Fatalf("%d audit events for 2 resends", n)
	}
	for _, ev := range e.events()[:2] {
		if ev.Action != ActResend || ev.ResourceType != ResInvite {
			t.Fatalf("event %s %s", ev.Action, ev.ResourceType)
		}
	}
	// The old links died, the expiry was reset, and a fresh e-mail waits.
	for _, r := range []InviteResult{pending, expired} {
		inv := e.invitation(r.Invitation.ID)
		if info, _ := e.svc.InvitationInfo(e.caller(""), tokenOf(r.Link)); info.State != "unknown" {
			t.Errorf("%s: the old link still works (%s)", inv.Email, info.State)
		}
		if !inv.ExpiresAt.Equal(e.clock().Add(InvitationTTL)) {
			t.Errorf("%s: expires %v", inv.Email, inv.ExpiresAt)
		}
		var m *store.Message
		e.db.View(func(tx *store.Tx) (err error) { m, err = tx.Message(inv.MessageID); return })
		if m == nil || m.State != store.MailQueued || m.RefID != inv.ID {
			t.Errorf("%s: message %+v", inv.Email, m)
		}
	}
	for name, in := range map[string]ResendInvitationsInput{
		"nothing selected": {},
		"too many":         {IDs: make([]uint64, maxBulk+1)},
	} {
		_, err := e.svc.BulkResendInvitations(ctx, in)
		wantCode(t, name, err, Invalid, "ids")
	}
}

// Hostile selections: another tenant's invitation ids get the answer of an
// id that does not exist (no address, nothing changed there); a MANAGER
// cannot re-send an invitation that gives ADMIN; an AGENT cannot bulk at all.
func TestBulkResendRefusesOtherTenantsAndHigherRoles(t *testing.T) {
	e, root := tenantEnv(t)
	acme, beta := e.tenant(root, "Acme"), e.tenant(root, "Beta")
	e.addUserIn("Ann", auth.Admin, true, acme)
	e.addUserIn("Max", auth.Manager, true, acme)
	e.addUserIn("Bea", auth.Admin, true, beta)
	e.addUserIn("Abe", auth.Agent, true, acme)
	ann, max, bea := e.signIn("ann@example.com"), e.signIn("max@example.com"), e.signIn("bea@example.com")
	agentInv := e.invite(ann, "agent@acme.example", auth.Agent)
	adminInv := e.invite(ann, "admin@acme.example", auth.Admin)
	betaInv := e.invite(bea, "secret@beta.example", auth.Agent)
	betaBefore := e.invitation(betaInv.Invitation.ID)
	betaEvents := len(e.eventsOf(beta))
	const missing = 987654

	res, err := e.svc.BulkResendInvitations(max, ResendInvitationsInput{IDs: []uint64{agentInv.Invitation.ID, adminInv.Invitation.ID, betaInv.Invitation.ID, missing}})
	if err != nil {
		t.Fatal(err)
	}
	refused := byID(res.Refused)
	if len(res.Done) != 1 || res.Done[0].ID != agentInv.Invitation.ID || len(res.Refused) != 3 {
		t.Fatalf("manager: %+v", res)
	}
	if r := refused[adminInv.Invitation.ID]; r.Why != errInviteRank.Message || r.Name != "admin@acme.example" {
		t.Errorf("the ADMIN invitation: %+v", r)
	}
	if r, m := refused[betaInv.Invitation.ID], refused[missing]; r.Why != errNoInvitation.Message || r.Name != "" || m.Why != r.Why || m.Name != "" {
		t.Errorf("Beta's invitation %+v, a missing one %+v: they must read alike and name nothing", r, m)
	}
	// Acme's admin may send the ADMIN one, but still not Beta's.
	res, err = e.svc.BulkResendInvitations(ann, ResendInvitationsInput{IDs: []uint64{adminInv.Invitation.ID, betaInv.Invitation.ID}})
	if err != nil || len(res.Done) != 1 || res.Done[0].ID != adminInv.Invitation.ID || len(res.Refused) != 1 || res.Refused[0].Name != "" {
		t.Fatalf("admin: %+v %v", res, err)
	}
	if after := e.invitation(betaInv.Invitation.ID); fmt.Sprint(after) != fmt.Sprint(betaBefore) {
		t.Fatalf("Beta's invitation changed: %+v", after)
	}
	if n := len(e.eventsOf(beta)); n != betaEvents {
		t.Fatalf("%d new events in Beta", n-betaEvents)
	}
	if info, _ := e.svc.InvitationInfo(e.caller(""), tokenOf(betaInv.Link)); info.State != "pending" {
		t.Fatalf("Beta's link stopped working: %s", info.State)
	}
	_, err = e.svc.BulkResendInvitations(e.signIn("abe@example.com"), ResendInvitationsInput{IDs: []uint64{agentInv.Invitation.ID}})
	wantCode(t, "agent", err, Forbidden, "")
	_, err = e.svc.BulkResendInvitations(context.Background(), ResendInvitationsInput{IDs: []uint64{agentInv.Invitation.ID}})
	wantCode(t, "signed out", err, Unauthenticated, "")
	// The SUPER_ADMIN acts across tenants, as with Resend.
	if res, err := e.svc.BulkResendInvitations(root, ResendInvitationsInput{IDs: []uint64{betaInv.Invitation.ID}}); err != nil || len(res.Done) != 1 {
		t.Fatalf("super admin: %+v %v", res, err)
	}
}

// Many admins re-sending the same selection at once: each call re-sends
// each invitation once (one audit event apiece), and the outbox ends as
// after the same calls one by one — one live e-mail per invitation, every
// other one cancelled — so delivery sends each invitation once.
func TestBulkResendUnderConcurrencyMatchesSequentialCalls(t *testing.T) {
	const callers = 8
	run := func(concurrent bool) (events int, states map[store.MessageState]int, queuedFor map[uint64]int, sent []string) {
		e := newEnv(t)
		ctx := e.setup()
		e.configureSMTP(ctx)
		var ids []uint64
		for _, email := range []string{"a@kwgroup.uk", "b@kwgroup.uk", "c@kwgroup.uk"} {
			ids = append(ids, e.invite(ctx, email, auth.Agent).Invitation.ID)
		}
		e.deliver()
		before := len(e.mailer.messages())
		start := len(e.events())
		call := func(int) error {
			res, err := e.svc.BulkResendInvitations(ctx, ResendInvitationsInput{IDs: append(ids, ids[0])})
			if err == nil && (len(res.Done) != len(ids) || len(res.Refused) != 0) {
				return fmt.Errorf("one call did %+v", res)
			}
			return err
		}
		if concurrent {
			for _, err := range together(callers, call) {
				if err != nil {
					t.Fatal(err)
				}
			}
		} else {
			for i := range callers {
				if err := call(i); err != nil {
					t.Fatal(err)
				}
			}
		}
		events = len(e.events()) - start
		states, queuedFor = e.outbox()
		e.deliver()
		e.deliver()
		for _, m := range e.mailer.messages()[before:] {
			sent = append(sent, m.To)
		}
		slices.Sort(sent)
		return
	}
	ev1, st1, q1, sent1 := run(false)
	ev2, st2, q2, sent2 := run(true)
	if ev2 != callers*3 || ev1 != ev2 {
		t.Fatalf("%d audit events at once, %d one by one; want %d", ev2, ev1, callers*3)
	}
	if fmt.Sprint(st1) != fmt.Sprint(st2) || fmt.Sprint(q1) != fmt.Sprint(q2) {
		t.Fatalf("outbox at once %v %v, one by one %v %v", st2, q2, st1, q1)
	}
	for id, n := range q2 {
		if n != 1 {
			t.Fatalf("invitation %d has %d e-mails waiting", id, n)
		}
	}
	if len(q2) != 3 || st2[store.MailCancelled] != callers*3-3 {
		t.Fatalf("outbox %v, queued %v", st2, q2)
	}
	want := []string{"a@kwgroup.uk", "b@kwgroup.uk", "c@kwgroup.uk"}
	if !slices.Equal(sent2, want) || !slices.Equal(sent1, want) {
		t.Fatalf("sent at once %v, one by one %v; want each once", sent2, sent1)
	}
}
