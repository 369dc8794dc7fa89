package core

import (
	"context"
	"strings"
	"sync"
	"testing"
)

func TestSetupValidates(t *testing.T) {
	cases := []struct {
		name  string
		in    SetupInput
		field string
	}{
		{"bad e-mail", SetupInput{Organisation: "KW", Email: "mitch@", Name: "Mitch", Password: testPassword}, "email"},
		{"display-name e-mail", SetupInput{Organisation: "KW", Email: "Mitch <m@kw.uk>", Name: "Mitch", Password: testPassword}, "email"},
		{"CRLF e-mail", SetupInput{Organisation: "KW", Email: "m@kw.uk\r\nBcc: x@y.z", Name: "Mitch", Password: testPassword}, "email"},
		{"short password", SetupInput{Organisation: "KW", Email: "m@kw.uk", Name: "Mitch", Password: "1234567"}, "password"},
		{"73-byte password", SetupInput{Organisation: "KW", Email: "m@kw.uk", Name: "Mitch", Password: strings.Repeat("a", 73)}, "password"},
		{"empty name", SetupInput{Organisation: "KW", Email: "m@kw.uk", Name: "  ", Password: testPassword}, "name"},
		{"script name", SetupInput{Organisation: "KW", Email: "m@kw.uk", Name: "<script>x</script>", Password: testPassword}, "name"},
		{"long name", SetupInput{Organisation: "KW", Email: "m@kw.uk", Name: strings.Repeat("n", 101), Password: testPassword}, "name"},
		{"empty organisation", SetupInput{Email: "m@kw.uk", Name: "Mitch", Password: testPassword}, "organisation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.svc.Setup(context.Background(), c.in)
			wantCode(t, c.name, err, Invalid, c.field)
			if st, _ := e.svc.SetupStatus(context.Background()); !st.Needed {
				t.Fatal("a refused setup changed something")
			}
		})
	}
}

func TestSetupOnlyOnce(t *testing.T) {
	e := newEnv(t)
	in := SetupInput{Organisation: "KW Group", Email: "mitch@kwgroup.uk", Name: "Mitch 🚀", Password: testPassword}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = e.svc.Setup(context.Background(), in) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantCode(t, "concurrent setup", err, Conflict, "")
		}
	}
	if ok != 1 {
		t.Fatalf("%d setups succeeded, want exactly 1", ok)
	}
	ctx := e.signIn("MITCH@kwgroup.uk ")
	me, err := e.svc.Me(ctx)
	if err != nil || me.User.Role != "SUPER_ADMIN" || !me.Tenant.AdminTenancy || me.User.Name != "Mitch 🚀" {
		t.Fatalf("me after setup: %+v %v", me, err)
	}
	acts := map[string]bool{}
	for _, ev := range e.events() {
		acts[ev.Action+" "+ev.ResourceType] = true
	}
	for _, want := range []string{"setup tenant", "create user", "sign_in session"} {
		if !acts[want] {
			t.Errorf("no %q audit event in %v", want, acts)
		}
	}
}
