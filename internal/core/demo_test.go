package core

import (
	"testing"
	"time"

	"gatehouse/internal/store"
)

func TestDemoOfficeIsRealisticAndSound(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 5, 18, 12, 0, 0, 0, time.UTC)
	info, err := e.svc.BuildDemo(now, DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Users < 25 || info.Tenants != 4 || info.Events < 2000 {
		t.Fatalf("demo: %+v", info)
	}
	// The seed's defaults: recovery codes stay off unless asked for.
	var g generalSettings
	e.db.View(func(tx *store.Tx) (err error) { g, _, err = readSettings(tx); return })
	if g.Security.RecoveryCodes {
		t.Fatal("the demo turned recovery codes on")
	}
	roles := map[string]int{}
	mfa, inactive := 0, 0
	states := map[string]int{}
	e.db.View(func(tx *store.Tx) error {
		for id := uint64(1); id <= uint64(info.Users); id++ {
			u, _ := tx.User(id)
			if u == nil {
				continue
			}
			roles[string(u.Role)]++
			if u.MFAEnabled {
				mfa++
			}
			if !u.Active {
				inactive++
			}
		}
		ts, _ := tx.Tenants()
		for _, tn := range ts {
			page, err := tx.Invitations(store.InvitationQuery{TenantID: tn.ID, Limit: 100})
			if err != nil {
				return err
			}
			for i := range page.Invitations {
				states[stateOf(&page.Invitations[i], now)]++
			}
		}
		shadow, _ := tx.Membership(2, ts[1].ID) // an MSP admin in a customer tenant
		if shadow == nil || !shadow.Shadow {
			t.Errorf("no shadow membership: %+v", shadow)
		}
		return nil
	})
	for _, r := range []string{"SUPER_ADMIN", "ADMIN", "MANAGER", "AGENT", "VENDOR", "CUSTOMER"} {
		if roles[r] == 0 {
			t.Errorf("no %s in the demo: %v", r, roles)
		}
	}
	if mfa != 3 || inactive != 1 || states["pending"] < 1 || states["expired"] < 1 || states["accepted"] != 1 || states["revoked"] != 1 {
		t.Fatalf("mfa %d, inactive %d, invitations %v", mfa, inactive, states)
	}
	// The demo admin signs in with the printed password and is told it is a demo.
	res, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: info.AdminEmail, Password: DemoPassword})
	if err != nil || !res.Me.Demo {
		t.Fatalf("demo sign-in: %+v %v", res, err)
	}
}
