package core

import (
	"context"
	"errors"
	"net/url"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// InvitationTTL is how long an invitation link works (seed: 7 days).
const InvitationTTL = 7 * 24 * time.Hour

const sealInviteToken = "invitation-token"

// invitableRoles are the roles the seed's Send invite form offers.
var invitableRoles = []auth.Role{auth.Agent, auth.Manager, auth.Admin, auth.Vendor}

// InviteInput is the Send invite form.
type InviteInput struct {
	Email    string `json:"email"`
	Role     string `json:"role"`
	TenantID uint64 `json:"tenantId"` // 0: the current tenant
}

// MailStatus is the state of an invitation's e-mail.
type MailStatus struct {
	State string `json:"state"` // queued, sent, failed, cancelled
	// Reason is "no_smtp" when it was not sent because e-mail is not set
	// up (not a delivery failure: it can be sent once it is).
	Reason        string     `json:"reason,omitempty"`
	Error         string     `json:"error"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"nextAttemptAt"`
	SentAt        *time.Time `json:"sentAt"`
}

// InvitationView is an invitation as the users list shows it.
type InvitationView struct {
	ID          uint64      `json:"id"`
	Email       string      `json:"email"`
	Role        auth.Role   `json:"role"`
	TenantID    uint64      `json:"tenantId"`
	InviterName string      `json:"inviterName"`
	State       string      `json:"state"` // pending, expired, accepted, revoked
	CreatedAt   time.Time   `json:"createdAt"`
	ExpiresAt   time.Time   `json:"expiresAt"`
	Mail        *MailStatus `json:"mail"`
}

// InviteResult is a new or re-sent invitation and its link, shown once on
// screen beside the e-mail.
type InviteResult struct {
	Invitation InvitationView `json:"invitation"`
	Link       string         `json:"link"`
}

func stateOf(inv *store.Invitation, now time.Time) string {
	if inv.State == store.InvitePending && !now.Before(inv.ExpiresAt) {
		return "expired"
	}
	return string(inv.State)
}

func viewInvitation(tx *store.Tx, inv *store.Invitation, now time.Time) (InvitationView, error) {
	v := InvitationView{ID: inv.ID, Email: inv.Email, Role: inv.Role, TenantID: inv.TenantID, InviterName: inv.InviterName,
		State: stateOf(inv, now), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt}
	if inv.MessageID != 0 {
		m, err := tx.Message(inv.MessageID)
		if err != nil {
			return v, err
		}
		if m != nil {
			v.Mail = &MailStatus{State: string(m.State), Reason: m.Reason, Error: m.LastError, Attempts: m.Attempts, SentAt: optTime(m.SentAt)}
			if m.State == store.MailQueued && m.Attempts > 0 {
				v.Mail.NextAttemptAt = optTime(m.NextAttemptAt)
			}
		}
	}
	return v, nil
}

func (s *Service) inviteLink(g generalSettings, token string) string {
	return s.linkBase(g) + "/invite/accept?token=" + url.QueryEscape(token)
}

func validInviteRole(r string) (auth.Role, bool) {
	for _, v := range invitableRoles {
		if string(v) == r {
			return v, true
		}
	}
	return "", false
}

// InviteUser creates an invitation with a fresh single-use token, queues its
// e-mail, and returns the link to show on screen. An address that already
// has a sign-in elsewhere gets the same answer: accepting will add this
// tenant to that sign-in, and nothing tells the inviter where it lives.
func (s *Service) InviteUser(ctx context.Context, in InviteInput) (InviteResult, error) {
	email, err := cleanEmail("email", in.Email)
	if err != nil {
		return InviteResult{}, err
	}
	role, ok := validInviteRole(in.Role)
	if !ok {
		return InviteResult{}, fieldError("role", "Choose Agent, Manager, Admin or Contractor / Vendor.")
	}
	token := auth.NewToken()
	var out InviteResult
	err = s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		if !a.user.Role.CanGrant(role) {
			return fieldRefusal("role", "You cannot invite someone with a role above your own.")
		}
		tenantID, err := targetTenant(tx, a, in.TenantID)
		if err != nil {
			return err
		}
		if err := memberHere(tx, email, tenantID); err != nil {
			return err
		}
		now := s.clock()
		inv := &store.Invitation{Email: email, Role: role, TenantID: tenantID, InvitedBy: a.user.ID,
			InviterName: a.user.Name, InviterEmail: a.user.Email, TokenHash: auth.HashToken(token),
			SealedToken: s.sealer.Seal([]byte(token), sealInviteToken), State: store.InvitePending,
			CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
		err = tx.CreateInvitation(inv, now)
		if errors.Is(err, store.ErrInvitePending) {
			return fieldError("email", "An invitation to this address is already pending. Resend it from the users list instead.")
		}
		if err != nil {
			return err
		}
		if err := s.queueInvitationMail(tx, inv, now); err != nil {
			return err
		}
		if err := record(tx, now, a.who(), tenantID, ActInvite, ResInvite, inv.ID, &change{After: auditInvitation(inv)}); err != nil {
			return err
		}
		return s.inviteResult(tx, inv, token, now, &out)
	})
	if err != nil {
		return InviteResult{}, s.internal("invite", err)
	}
	s.nudgeMailer()
	return out, nil
}

// memberHere refuses to invite someone who is already a user of the
// tenant (its admins see them in the list anyway). Accounts elsewhere are
// not mentioned.
func memberHere(tx *store.Tx, email string, tenant uint64) error {
	u, err := tx.UserByEmail(email)
	if err != nil || u == nil {
		return err
	}
	if u.TenantID == tenant {
		return errUserExists
	}
	if m, err := tx.Membership(u.ID, tenant); err != nil {
		return err
	} else if m != nil && !m.Shadow {
		return errUserExists
	}
	return nil
}

func (s *Service) inviteResult(tx *store.Tx, inv *store.Invitation, token string, now time.Time, out *InviteResult) error {
	g, _, err := readSettings(tx)
	if err != nil {
		return err
	}
	view, err := viewInvitation(tx, inv, now)
	*out = InviteResult{Invitation: view, Link: s.inviteLink(g, token)}
	return err
}

type invitationAudit struct {
	Email    string `json:"email"`
	Role     string `json:"role"`
	TenantID uint64 `json:"tenantId"`
	State    string `json:"state"`
	Expires  string `json:"expiresAt"`
}

func auditInvitation(inv *store.Invitation) invitationAudit {
	return invitationAudit{Email: inv.Email, Role: string(inv.Role), TenantID: inv.TenantID, State: string(inv.State), Expires: inv.ExpiresAt.Format(time.RFC3339)}
}

// targetTenant resolves the tenant an invitation or Create now goes to: the
// current one, or with multi-tenant on, another tenant the actor belongs to
// (any tenant for a SUPER_ADMIN). Others get the same answer whether they
// exist or not.
func targetTenant(tx *store.Tx, a *actor, requested uint64) (uint64, error) {
	if requested == 0 || requested == a.tenant.ID {
		return a.tenant.ID, nil
	}
	refuse := fieldRefusal("tenantId", "Choose one of your own tenants.")
	if on, err := multiTenant(tx); err != nil {
		return 0, err
	} else if !on {
		return 0, refuse
	}
	if t, err := tx.Tenant(requested); err != nil {
		return 0, err
	} else if t == nil {
		return 0, refuse
	}
	if a.can(auth.CrossTenant) {
		return requested, nil
	}
	if m, err := tx.Membership(a.user.ID, requested); err != nil {
		return 0, err
	} else if m == nil {
		return 0, refuse
	}
	return requested, nil
}

// ListInvitationsInput filters and pages the invitations list.
type ListInvitationsInput struct {
	All   bool   `json:"all"`   // include accepted and revoked ones
	After string `json:"after"` // the Next of the previous page
	Limit int    `json:"limit"` // 1–200, default 50
}

// InvitationList is one page of the current tenant's invitations: pending
// ones (expired included) first, then the rest, each newest first.
type InvitationList struct {
	Invitations []InvitationView `json:"invitations"`
	Next        string           `json:"next"`
	Pending     int              `json:"pending"` // pending invitations in the tenant, expired included
	// Unsent counts live invitations not e-mailed because e-mail was not
	// set up; SendUnsentInvitations sends them once it is.
	Unsent int `json:"unsent"`
}

// ListInvitations lists the current tenant's invitations.
func (s *Service) ListInvitations(ctx context.Context, in ListInvitationsInput) (InvitationList, error) {
	q := store.InvitationQuery{PendingOnly: !in.All, Limit: in.Limit}
	if in.Limit == 0 {
		q.Limit = 50
	} else if in.Limit < 1 || in.Limit > 200 {
		return InvitationList{}, fieldError("limit", "Ask for 1 to 200 invitations per page.")
	}
	var err error
	if q.After, err = decodeCursor(in.After); err != nil {
		return InvitationList{}, err
	}
	out := InvitationList{Invitations: []InvitationView{}}
	err = s.view(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		q.TenantID = a.tenant.ID
		page, err := tx.Invitations(q)
		if err != nil {
			return err
		}
		now := s.clock()
		out = InvitationList{Invitations: make([]InvitationView, len(page.Invitations)), Next: encodeCursor(page.Next),
			Pending: tx.CountPendingInvitations(a.tenant.ID)}
		unsent, err := s.unsentInvitations(tx, a.tenant.ID, now)
		if err != nil {
			return err
		}
		out.Unsent = len(unsent)
		for i := range page.Invitations {
			if out.Invitations[i], err = viewInvitation(tx, &page.Invitations[i], now); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrBadCursor) {
		return InvitationList{}, errBadCursor
	}
	return out, s.internal("list invitations", err)
}

// unsentInvitations lists tenant's live invitations whose e-mail was not
// sent because e-mail was not set up.
func (s *Service) unsentInvitations(tx *store.Tx, tenant uint64, now time.Time) ([]*store.Invitation, error) {
	var out []*store.Invitation
	q := store.InvitationQuery{TenantID: tenant, PendingOnly: true, Limit: 200}
	for {
		page, err := tx.Invitations(q)
		if err != nil {
			return nil, err
		}
		for i := range page.Invitations {
			inv := &page.Invitations[i]
			if inv.MessageID == 0 || stateOf(inv, now) != "pending" {
				continue
			}
			m, err := tx.Message(inv.MessageID)
			if err != nil {
				return nil, err
			}
			if m != nil && m.State == store.MailFailed && m.Reason == reasonNoSMTP {
				out = append(out, inv)
			}
		}
		if page.Next == nil {
			return out, nil
		}
		q.After = page.Next
	}
}

// SendUnsentInvitations queues again, now that e-mail is set up, the
// current tenant's live invitations that were not e-mailed for want of it.
// It returns how many it queued.
func (s *Service) SendUnsentInvitations(ctx context.Context) (int, error) {
	n := 0
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		n = 0
		_, m, err := readSettings(tx)
		if err != nil {
			return err
		}
		if !m.configured() {
			return &Error{Code: Conflict, Message: "E-mail is not set up yet. Set it up in Settings → E-mail first."}
		}
		unsent, err := s.unsentInvitations(tx, a.tenant.ID, a.now)
		if err != nil {
			return err
		}
		for _, inv := range unsent {
			if !a.user.Role.CanGrant(inv.Role) {
				continue // its link is not this caller's to send
			}
			if err := s.queueInvitationMail(tx, inv, a.now); err != nil {
				return err
			}
			if err := record(tx, a.now, a.who(), inv.TenantID, ActResend, ResInvite, inv.ID, &change{Extra: map[string]any{"via": "send unsent", "to": inv.Email}}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, s.internal("send unsent invitations", err)
	}
	s.nudgeMailer()
	return n, nil
}

// InvitationLink returns a pending invitation's link again, for Copy link.
// The link gives its role to whoever opens it, so it is shown only to those
// who may give that role.
func (s *Service) InvitationLink(ctx context.Context, id uint64) (string, error) {
	var link string
	err := s.view(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		inv, err := targetInvitation(tx, a, id, toChange)
		if err != nil {
			return err
		}
		if st := stateOf(inv, s.clock()); st != "pending" {
			return &Error{Code: Conflict, Message: "This invitation is " + st + "; its link no longer works. Resend it to make a new link."}
		}
		token, err := s.sealer.Open(inv.SealedToken, sealInviteToken)
		if err != nil {
			return &Error{Code: Conflict, Message: "This link cannot be read with this data folder's key. Resend the invitation to make a new link."}
		}
		g, _, err := readSettings(tx)
		link = s.inviteLink(g, string(token))
		return err
	})
	return link, s.internal("invitation link", err)
}

// ResendInvitation makes a new token (the old link stops working), resets
// the expiry and queues a new e-mail. Pending and expired invitations can be
// re-sent.
func (s *Service) ResendInvitation(ctx context.Context, id uint64) (InviteResult, error) {
	token := auth.NewToken()
	var out InviteResult
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		inv, err := s.resend(tx, a, id, token, nil)
		if err != nil {
			return err
		}
		return s.inviteResult(tx, inv, token, a.now, &out)
	})
	if err != nil {
		return InviteResult{}, s.internal("resend invitation", err)
	}
	s.nudgeMailer()
	return out, nil
}

// resend is Resend on one invitation, in the caller's transaction: the
// rules (tenant, rank, state, no newer invitation to the address), the new
// token (made before the transaction, so a rerun closure reuses it), the
// expiry, the e-mail queued in the outbox and the audit event, whose extra
// (nil for none) says how it was asked for.
func (s *Service) resend(tx *store.Tx, a *actor, id uint64, token string, extra map[string]any) (*store.Invitation, error) {
	inv, err := targetInvitation(tx, a, id, toChange)
	if err != nil {
		return nil, err
	}
	if inv.State != store.InvitePending {
		return nil, &Error{Code: Conflict, Message: "This invitation was " + string(inv.State) + " and cannot be re-sent. Send a new invitation instead."}
	}
	if newer, err := tx.PendingInvitation(inv.TenantID, inv.Email); err != nil {
		return nil, err
	} else if newer != nil && newer.ID != inv.ID {
		return nil, &Error{Code: Conflict, Message: "A newer invitation to this address exists; resend that one instead."}
	}
	before := auditInvitation(inv)
	if err := s.cancelMail(tx, inv.MessageID); err != nil {
		return nil, err
	}
	inv.TokenHash, inv.SealedToken = auth.HashToken(token), s.sealer.Seal([]byte(token), sealInviteToken)
	inv.ExpiresAt = a.now.Add(InvitationTTL)
	if err := s.queueInvitationMail(tx, inv, a.now); err != nil {
		return nil, err
	}
	return inv, record(tx, a.now, a.who(), inv.TenantID, ActResend, ResInvite, inv.ID, &change{Before: before, After: auditInvitation(inv), Extra: extra})
}

// RevokeInvitation stops an invitation's link from working.
func (s *Service) RevokeInvitation(ctx context.Context, id uint64) (InvitationView, error) {
	var out InvitationView
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		inv, err := targetInvitation(tx, a, id, toChange)
		if err != nil {
			return err
		}
		if inv.State != store.InvitePending {
			return &Error{Code: Conflict, Message: "This invitation was already " + string(inv.State) + "."}
		}
		now := s.clock()
		before := auditInvitation(inv)
		if err := s.withdraw(tx, inv, now); err != nil {
			return err
		}
		if err := record(tx, now, a.who(), inv.TenantID, ActRevoke, ResInvite, inv.ID, &change{Before: before, After: auditInvitation(inv)}); err != nil {
			return err
		}
		out, err = viewInvitation(tx, inv, now)
		return err
	})
	return out, s.internal("revoke invitation", err)
}

// withdraw revokes a pending invitation and cancels its unsent e-mail.
func (s *Service) withdraw(tx *store.Tx, inv *store.Invitation, now time.Time) error {
	inv.State, inv.FinishedAt = store.InviteRevoked, now
	if err := s.cancelMail(tx, inv.MessageID); err != nil {
		return err
	}
	return tx.PutInvitation(inv)
}

// InvitationInfo is what the accept page shows before the invitee commits.
type InvitationInfo struct {
	State        string    `json:"state"` // pending, expired, accepted, revoked, unknown
	Email        string    `json:"email"`
	Role         auth.Role `json:"role"`
	TenantName   string    `json:"tenantName"`
	InviterName  string    `json:"inviterName"`
	InviterEmail string    `json:"inviterEmail"`
	ExpiresAt    time.Time `json:"expiresAt"`
	// HasAccount: the address already has a sign-in; accepting adds this
	// tenant to it (the page asks for that password, not a new one).
	HasAccount bool `json:"hasAccount"`
}

// InvitationInfo describes the invitation behind a token. It needs no
// session: the token is the credential. Unknown and malformed tokens get
// state "unknown" and nothing else.
func (s *Service) InvitationInfo(ctx context.Context, token string) (InvitationInfo, error) {
	info := InvitationInfo{State: "unknown"}
	if !auth.WellFormedToken(token) {
		return info, nil
	}
	err := s.db.View(func(tx *store.Tx) error {
		inv, err := tx.InvitationByToken(auth.HashToken(token))
		if err != nil || inv == nil {
			return err
		}
		t, err := tx.Tenant(inv.TenantID)
		if err != nil || t == nil {
			return err
		}
		info = InvitationInfo{State: stateOf(inv, s.clock()), Email: inv.Email, Role: inv.Role, TenantName: t.Name,
			InviterName: inv.InviterName, InviterEmail: inv.InviterEmail, ExpiresAt: inv.ExpiresAt}
		if info.State != "pending" {
			return nil
		}
		if err := inviterStillMay(tx, inv); err == errInviterGone {
			info.State = "revoked"
			return nil
		} else if err != nil {
			return err
		}
		u, err := tx.UserByEmail(inv.Email)
		info.HasAccount = u != nil
		return err
	})
	return info, s.internal("invitation info", err)
}

// AcceptInput is the accept-invitation form. For an address that already
// has a sign-in, Password is that sign-in's password and Name is ignored.
type AcceptInput struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// invitationGone explains, for each state, why a link no longer works.
func invitationGone(state string) error {
	switch state {
	case "expired":
		return &Error{Code: Conflict, Message: "This invitation has expired. Ask the person who invited you to send a new one."}
	case "accepted":
		return &Error{Code: Conflict, Message: "This invitation has already been used. Sign in with your e-mail address and password."}
	case "revoked":
		return &Error{Code: Conflict, Message: "This invitation was withdrawn. Ask your administrator if you still need access."}
	}
	return &Error{Code: NotFound, Message: "This invitation link is not valid. Check that you copied the whole link."}
}

var errInviterGone = &Error{Code: Conflict, Message: "This invitation is no longer valid: the person who sent it can no longer give this access. Ask your administrator for a new one."}

// inviterStillMay re-checks, at acceptance, that the invitation's sender is
// still active and may still give its role: a pending invitation does not
// outlive its sender's powers.
func inviterStillMay(tx *store.Tx, inv *store.Invitation) error {
	u, err := tx.User(inv.InvitedBy)
	if err != nil {
		return err
	}
	if u == nil || !u.Active || !u.Role.Can(auth.ManageUsers) || !u.Role.CanGrant(inv.Role) {
		return errInviterGone
	}
	return nil
}

// pendingInvitation finds the live invitation behind token, in tx.
func (s *Service) pendingInvitation(tx *store.Tx, token string) (*store.Invitation, error) {
	inv, err := tx.InvitationByToken(auth.HashToken(token))
	if err != nil {
		return nil, err
	}
	if inv == nil {
		return nil, invitationGone("unknown")
	}
	if st := stateOf(inv, s.clock()); st != "pending" {
		return nil, invitationGone(st)
	}
	if err := inviterStillMay(tx, inv); err != nil {
		return nil, err
	}
	return inv, nil
}

// AcceptInvitation accepts an invitation (single use, in one transaction)
// and signs the invitee in. For a new address it creates the account; for
// an address that already has a sign-in it checks that sign-in's password
// (counted like a sign-in) and adds the tenant to it, and the sign-in goes
// on as usual (to the 2FA step if it is on).
func (s *Service) AcceptInvitation(ctx context.Context, in AcceptInput) (SignInResult, string, error) {
	if !auth.WellFormedToken(in.Token) {
		return SignInResult{}, "", invitationGone("unknown")
	}
	var existing *store.User
	err := s.db.View(func(tx *store.Tx) error {
		inv, err := s.pendingInvitation(tx, in.Token)
		if err != nil {
			return err
		}
		existing, err = tx.UserByEmail(inv.Email)
		return err
	})
	if err != nil {
		return SignInResult{}, "", s.internal("accept invitation", err)
	}
	if existing != nil {
		return s.acceptJoin(ctx, in)
	}
	return s.acceptNew(ctx, in)
}

// acceptNew creates the invitee's account and signs them in.
func (s *Service) acceptNew(ctx context.Context, in AcceptInput) (SignInResult, string, error) {
	name, err := cleanName("name", in.Name)
	if err != nil {
		return SignInResult{}, "", err
	}
	if err := checkPassword("password", in.Password); err != nil {
		return SignInResult{}, "", err
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return SignInResult{}, "", s.internal("hash", err)
	}
	c := callerFrom(ctx)
	token := auth.NewToken()
	var res SignInResult
	err = s.write(func(tx *store.Tx) error {
		inv, err := s.pendingInvitation(tx, in.Token)
		if err != nil {
			return err
		}
		if u, err := tx.UserByEmail(inv.Email); err != nil {
			return err
		} else if u != nil {
			return &Error{Code: Conflict, Message: "An account with this e-mail address was created a moment ago. Open the link again to add this tenant to it."}
		}
		now := s.clock()
		u := &store.User{Email: inv.Email, Name: name, Role: inv.Role, Active: true, TenantID: inv.TenantID,
			DefaultTenantID: inv.TenantID, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateUser(u, store.Credentials{PasswordHash: hash}); err != nil {
			return err
		}
		if err := s.joinTenant(tx, u, inv.TenantID, now); err != nil {
			return err
		}
		w := userWho(u, c.IP)
		if err := s.markAccepted(tx, inv, u, w, now); err != nil {
			return err
		}
		if err := record(tx, now, w, inv.TenantID, ActCreate, ResUser, u.ID, &change{After: auditUser(u), Extra: map[string]any{"via": "invitation", "invitedBy": inv.InviterEmail}}); err != nil {
			return err
		}
		a, err := s.signedIn(tx, u, token, c, now, "invitation")
		if err != nil {
			return err
		}
		me, err := s.viewMe(tx, &a)
		res = SignInResult{Step: stepOf(a.session.Stage), Me: &me}
		return err
	})
	if err != nil {
		return SignInResult{}, "", s.internal("accept invitation", err)
	}
	return res, token, nil
}

func (s *Service) markAccepted(tx *store.Tx, inv *store.Invitation, u *store.User, w who, now time.Time) error {
	inv.State, inv.FinishedAt, inv.UserID = store.InviteAccepted, now, u.ID
	if err := s.cancelMail(tx, inv.MessageID); err != nil {
		return err
	}
	if err := tx.PutInvitation(inv); err != nil {
		return err
	}
	return record(tx, now, w, inv.TenantID, ActAccept, ResInvite, inv.ID, &change{After: auditInvitation(inv)})
}

// acceptJoin adds the invitation's tenant to an existing sign-in, after
// checking its password exactly as a sign-in does (reserved, counted,
// locked), and then signs in as SignIn would.
func errJoinAbove(r auth.Role) error {
	return &Error{Code: Forbidden, Message: "Your account's role (" + r.Label() + ") is above the role this invitation gives. Ask whoever invited you to invite you as " + r.Label() + ", or to invite another address."}
}

func (s *Service) acceptJoin(ctx context.Context, in AcceptInput) (SignInResult, string, error) {
	if in.Password == "" {
		return SignInResult{}, "", fieldError("password", "Enter the password you sign in to Gatehouse with.")
	}
	c := callerFrom(ctx)
	var email string
	err := s.db.View(func(tx *store.Tx) error {
		inv, err := s.pendingInvitation(tx, in.Token)
		if err == nil {
			email = inv.Email
		}
		return err
	})
	if err != nil {
		return SignInResult{}, "", s.internal("accept invitation", err)
	}
	lims := attemptLimiters(email, c.IP)
	user, hash, hit, err := s.reservePassword(lims, email, c.IP, func(tx *store.Tx) (*store.User, error) {
		inv, err := s.pendingInvitation(tx, in.Token)
		if err != nil {
			return nil, err
		}
		return tx.UserByEmail(inv.Email)
	})
	if err != nil {
		return SignInResult{}, "", err
	}
	if hit != nil {
		return SignInResult{}, "", hit.err()
	}
	if !s.hasher.Verify(hash, in.Password) || user == nil || !user.Active {
		if err := s.failAttempt(lims, email, user, c.IP, "wrong password (accepting an invitation)"); err != nil {
			return SignInResult{}, "", err
		}
		return SignInResult{}, "", fieldError("password", "That password is not right. Enter the password you sign in to Gatehouse with.")
	}
	token := auth.NewToken()
	var res SignInResult
	err = s.write(func(tx *store.Tx) error {
		res, hit = SignInResult{}, nil
		inv, err := s.pendingInvitation(tx, in.Token)
		if err != nil {
			return err
		}
		u, err := tx.User(user.ID)
		if err != nil {
			return err
		}
		if u == nil || !u.Active || store.Fold(u.Email) != store.Fold(inv.Email) {
			return errBadSignIn
		}
		// Roles are the account's, in every tenant it belongs to: joining
		// must not bring one above what this tenant's inviter gave.
		if u.Role.Rank() > inv.Role.Rank() {
			return errJoinAbove(u.Role)
		}
		// The lock check comes first: a refused password changes nothing.
		if h, err := peekLock(tx, lims, s.clock()); err != nil || h != nil {
			hit = h
			return err
		}
		now := s.clock()
		if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: inv.TenantID, CreatedAt: now}); err != nil {
			return err
		}
		if err := s.markAccepted(tx, inv, u, userWho(u, c.IP), now); err != nil {
			return err
		}
		res, hit, err = s.passwordRight(tx, u, token, c, lims, "invitation")
		return err
	})
	if err != nil {
		return SignInResult{}, "", s.internal("accept invitation", err)
	}
	if hit != nil {
		return SignInResult{}, "", hit.err()
	}
	return res, token, nil
}
