package core

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/mail"
	"gatehouse/internal/store"
)

// DemoPassword is every demo account's password (the data is for show).
const DemoPassword = "demo-password"

// DemoInfo says what BuildDemo made.
type DemoInfo struct {
	AdminEmail  string
	Users       int
	Tenants     int
	Events      uint64
	Invitations int
}

// BuildDemo fills an empty database with a realistic office: an MSP with
// its staff, three customer tenants with their users and shadow
// memberships, pending, expired, accepted and revoked invitations, 2FA on
// some accounts, and 30 days of activity. It runs the real use cases under
// a simulated clock, so every record and audit event is genuine. The data
// is marked as demo data, and the UI says so.
// DemoOptions changes the demo office from the seed's defaults.
type DemoOptions struct {
	RecoveryCodes bool // offer one-time recovery codes (off in the seed)
}

func (base *Service) BuildDemo(now time.Time, opt DemoOptions) (DemoInfo, error) {
	db, sealer := base.db, base.sealer
	var mu sync.Mutex
	clock := now.Add(-30 * 24 * time.Hour)
	tick := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	// Every demo account has the same published password, so its hash
	// protects nothing: a low bcrypt cost keeps building the demo quick.
	s := New(Config{DB: db, Sealer: sealer, Hasher: auth.NewHasher(4, 2), Mailer: noMailer{},
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }, BaseURL: "https://gatehouse.northgate.example:8420"})
	rng := rand.New(rand.NewSource(7))
	bg := context.Background()
	caller := func(tok, ip string) context.Context {
		return WithCaller(bg, Caller{Token: tok, IP: ip, UserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/130.0"})
	}
	signIn := func(email, ip string) (context.Context, error) {
		res, tok, err := s.SignIn(caller("", ip), SignInInput{Email: email, Password: DemoPassword})
		if err != nil {
			return nil, fmt.Errorf("demo sign-in %s: %w", email, err)
		}
		if res.Step == stageTOTP {
			return nil, fmt.Errorf("demo sign-in %s needs a code", email)
		}
		return caller(tok, ip), nil
	}
	info := DemoInfo{AdminEmail: "alex@northgate.example"}
	if _, err := s.Setup(caller("", "desktop"), SetupInput{Organisation: "Northgate IT", Email: info.AdminEmail, Name: "Alex Morgan", Password: DemoPassword}); err != nil {
		return info, err
	}
	admin, err := signIn(info.AdminEmail, "desktop")
	if err != nil {
		return info, err
	}
	on, noBase, codes := true, "", opt.RecoveryCodes
	if _, err := s.UpdateSettings(admin, SettingsInput{MultiTenant: &on, RecoveryCodes: &codes, BaseURL: &noBase}); err != nil {
		return info, err
	}
	if err := s.write(func(tx *store.Tx) error { // SMTP stays unset: the demo is offline
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		g.Demo = true
		return tx.PutSetting(settingGeneral, g)
	}); err != nil {
		return info, err
	}

	type person struct {
		name, role, tenant string
	}
	staff := []person{
		{"Priya Shah", "ADMIN", ""}, {"Tom Becker", "MANAGER", ""}, {"Grace Okafor", "MANAGER", ""},
		{"Liam Walsh", "AGENT", ""}, {"Sofia Rossi", "AGENT", ""}, {"Noah Kim", "AGENT", ""}, {"Ella Novak", "AGENT", ""},
		{"Rhys Jones", "VENDOR", ""},
	}
	tenants := []string{"Harbour Dental", "Brightside Law", "Copperfield Bakery"}
	customers := []person{
		{"Dr Maya Patel", "ADMIN", "Harbour Dental"}, {"Owen Hughes", "MANAGER", "Harbour Dental"}, {"Chloe Evans", "AGENT", "Harbour Dental"}, {"Ben Carter", "AGENT", "Harbour Dental"}, {"Ruby Price", "CUSTOMER", "Harbour Dental"},
		{"Hannah Brooks", "ADMIN", "Brightside Law"}, {"James Reid", "MANAGER", "Brightside Law"}, {"Amelia Scott", "AGENT", "Brightside Law"}, {"Oscar Lewis", "CUSTOMER", "Brightside Law"},
		{"Isla Murray", "ADMIN", "Copperfield Bakery"}, {"Jack Turner", "AGENT", "Copperfield Bakery"}, {"Freya Hall", "AGENT", "Copperfield Bakery"}, {"Leo Ward", "VENDOR", "Copperfield Bakery"},
		{"Mia Green", "CUSTOMER", "Copperfield Bakery"}, {"Ethan Clark", "CUSTOMER", "Harbour Dental"}, {"Zara Ali", "AGENT", "Brightside Law"},
	}
	emailOf := func(p person) string {
		first := strings.ToLower(strings.Fields(strings.TrimPrefix(p.name, "Dr "))[0])
		domain := "northgate.example"
		if p.tenant != "" {
			domain = strings.ToLower(strings.ReplaceAll(p.tenant, " ", "")) + ".example"
		}
		return first + "@" + domain
	}
	var everyone []string
	for _, p := range staff {
		tick(37 * time.Minute)
		if _, err := s.createDemoUser(admin, p.name, emailOf(p), p.role, 0); err != nil {
			return info, err
		}
		everyone = append(everyone, emailOf(p))
	}
	tenantIDs := map[string]uint64{}
	for _, t := range tenants {
		tick(3 * time.Hour)
		tv, err := s.CreateTenant(admin, t)
		if err != nil {
			return info, err
		}
		tenantIDs[t] = tv.ID
	}
	for _, p := range customers {
		tick(53 * time.Minute)
		if _, err := s.createDemoUser(admin, p.name, emailOf(p), p.role, tenantIDs[p.tenant]); err != nil {
			return info, err
		}
		everyone = append(everyone, emailOf(p))
	}

	// Invitations: accepted, revoked and expired ones first (they are old).
	inv := func(email, role, tenant string) (InviteResult, error) {
		return s.InviteUser(admin, InviteInput{Email: email, Role: role, TenantID: tenantIDs[tenant]})
	}
	res, err := inv("ava@harbourdental.example", "AGENT", "Harbour Dental")
	if err != nil {
		return info, err
	}
	tick(2 * time.Hour)
	if _, _, err := s.AcceptInvitation(caller("", "203.0.113.40"), AcceptInput{Token: tokenFromLink(res.Link), Name: "Ava Morris", Password: DemoPassword}); err != nil {
		return info, err
	}
	everyone = append(everyone, "ava@harbourdental.example")
	if res, err = inv("temp@brightsidelaw.example", "AGENT", "Brightside Law"); err != nil {
		return info, err
	}
	if _, err := s.RevokeInvitation(admin, res.Invitation.ID); err != nil {
		return info, err
	}
	for _, i := range []struct{ email, tenant string }{{"sam@copperfieldbakery.example", "Copperfield Bakery"}, {"new.starter@northgate.example", ""}} {
		if _, err := inv(i.email, "AGENT", i.tenant); err != nil {
			return info, err
		}
	}
	info.Invitations = 4

	// 2FA on a few accounts.
	for _, email := range []string{"priya@northgate.example", "tom@northgate.example", "maya@harbourdental.example"} {
		ctx, err := signIn(email, "desktop")
		if err != nil {
			return info, err
		}
		en, err := s.BeginTOTP(ctx)
		if err != nil {
			return info, err
		}
		code, _ := auth.TOTPCode(en.Secret, s.clock())
		if _, err := s.ConfirmTOTP(ctx, ConfirmTOTPInput{Code: code}); err != nil {
			return info, err
		}
		everyone = remove(everyone, email) // their sign-ins would need a code from here on
	}

	// Thirty days of office life: sign-ins, a few wrong passwords, sign-outs,
	// and now and then an admin tidying names.
	asAdmin := func() context.Context { ctx, _ := s.demoSession(info.AdminEmail); return ctx }
	ips := []string{"192.168.1.21", "192.168.1.34", "192.168.1.57", "10.0.4.12", "10.0.4.19", "203.0.113.40"}
	for clockBefore(&mu, &clock, now.Add(-2*time.Hour)) {
		tick(time.Duration(4+rng.Intn(20)) * time.Minute)
		email := everyone[rng.Intn(len(everyone))]
		ip := ips[rng.Intn(len(ips))]
		switch r := rng.Intn(100); {
		case r < 75:
			ctx, err := signIn(email, ip)
			if err != nil {
				return info, err
			}
			if rng.Intn(3) == 0 {
				tick(time.Duration(2+rng.Intn(10)) * time.Minute)
				if err := s.SignOut(ctx); err != nil {
					return info, err
				}
			}
		case r < 90:
			s.SignIn(caller("", ip), SignInInput{Email: email, Password: "wrong-" + DemoPassword}) // refused, and recorded
		default:
			ctx := asAdmin()
			page, err := s.ListUsers(ctx, ListUsersInput{Search: email})
			if err != nil || len(page.Users) != 1 {
				continue // a customer, not in the MSP's list
			}
			name := page.Users[0].Name
			if strings.HasSuffix(name, " (Office)") {
				name = strings.TrimSuffix(name, " (Office)")
			} else {
				name += " (Office)"
			}
			if _, err := s.UpdateUser(ctx, UpdateUserInput{ID: page.Users[0].ID, Name: &name}); err != nil {
				return info, err
			}
		}
	}
	// A leaver, and this week's invitation, still pending.
	ctx := asAdmin()
	if _, err := s.InviteUser(ctx, InviteInput{Email: "lucy@northgate.example", Role: "AGENT"}); err != nil {
		return info, err
	}
	info.Invitations++
	if page, err := s.ListUsers(ctx, ListUsersInput{Search: "rhys@"}); err == nil && len(page.Users) == 1 {
		if _, err := s.DeactivateUser(ctx, page.Users[0].ID); err != nil {
			return info, err
		}
	}
	if err := db.View(func(tx *store.Tx) error {
		info.Users = tx.CountUsers()
		ts, err := tx.Tenants()
		info.Tenants = len(ts)
		if err != nil {
			return err
		}
		info.Events, err = tx.CountEvents()
		return err
	}); err != nil {
		return info, err
	}
	return info, nil
}

func clockBefore(mu *sync.Mutex, clock *time.Time, end time.Time) bool {
	mu.Lock()
	defer mu.Unlock()
	return clock.Before(end)
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func tokenFromLink(link string) string {
	_, tok, _ := strings.Cut(link, "token=")
	return tok
}

// demoSession starts a session for a demo user directly (2FA users too).
func (s *Service) demoSession(email string) (context.Context, error) {
	token := auth.NewToken()
	err := s.write(func(tx *store.Tx) error {
		u, err := tx.UserByEmail(email)
		if err != nil || u == nil {
			return fmt.Errorf("demo user %s: %v", email, err)
		}
		_, err = startSession(tx, u, token, Caller{IP: "desktop", UserAgent: "Gatehouse desktop"}, s.clock(), "", "password + totp")
		return err
	})
	return WithCaller(context.Background(), Caller{Token: token, IP: "desktop", UserAgent: "Gatehouse desktop"}), err
}

func (s *Service) createDemoUser(admin context.Context, name, email, role string, tenant uint64) (UserView, error) {
	keep := false // demo people sign in with the demo password as it is
	if role == "CUSTOMER" {
		// Create now offers the seed's four roles; customers arrive as agents
		// and are then given the customer role.
		u, err := s.CreateUser(admin, CreateUserInput{Email: email, Name: name, Role: "AGENT", Password: DemoPassword, TenantID: tenant, MustChangePassword: &keep})
		if err != nil {
			return u, err
		}
		r := "CUSTOMER"
		return s.UpdateUser(admin, UpdateUserInput{ID: u.ID, Role: &r})
	}
	return s.CreateUser(admin, CreateUserInput{Email: email, Name: name, Role: role, Password: DemoPassword, TenantID: tenant, MustChangePassword: &keep,
		JobTitle: map[string]string{"ADMIN": "Office manager", "MANAGER": "Team lead", "AGENT": "Support", "VENDOR": "Contractor"}[role]})
}

// noMailer drops demo e-mail: the demo is offline.
type noMailer struct{}

func (noMailer) Send(context.Context, mail.Config, mail.Message) error { return nil }
