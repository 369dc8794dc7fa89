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
	State         string     `json:"state"` // queued, sent, failed, cancelled
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
			v.Mail = &MailStatus{State: string(m.State), Error: m.LastError, Attempts: m.Attempts, SentAt: optTime(m.SentAt)}
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
// e-mail, and returns the link to show on screen.
func (s *Service) InviteUser(ctx context.Context, in InviteInput) (InviteResult, error) {
	a, err := s.require(ctx, auth.ManageUsers)
	if err != nil {
		return InviteResult{}, err
	}
	email, err := cleanEmail("email", in.Email)
	if err != nil {
		return InviteResult{}, err
	}
	role, ok := validInviteRole(in.Role)
	if !ok {
		return InviteResult{}, fieldError("role", "Choose Agent, Manager, Admin or Contractor / Vendor.")
	}
	if !a.user.Role.CanGrant(role) {
		return InviteResult{}, fieldError("role", "You cannot invite someone with a role above your own.")
	}
	token := auth.NewToken()
	var out InviteResult
	err = s.write(func(tx *store.Tx) error {
		tenantID, err := targetTenant(tx, a, in.TenantID)
		if err != nil {
			return err
		}
		if u, err := tx.UserByEmail(email); err != nil {
			return err
		} else if u != nil {
			return fieldError("email", "A user with this e-mail address already exists.")
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
	refuse := fieldError("tenantId", "Choose one of your own tenants.")
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
	if a.user.Role == auth.SuperAdmin {
		return requested, nil
	}
	if m, err := tx.Membership(a.user.ID, requested); err != nil {
		return 0, err
	} else if m == nil {
		return 0, refuse
	}
	return requested, nil
}

// ListInvitationsInput filters the invitations list.
type ListInvitationsInput struct {
	All bool `json:"all"` // include accepted and revoked ones
}

// ListInvitations lists the current tenant's invitations, newest first.
func (s *Service) ListInvitations(ctx context.Context, in ListInvitationsInput) ([]InvitationView, error) {
	a, err := s.require(ctx, auth.ManageUsers)
	if err != nil {
		return nil, err
	}
	out := []InvitationView{}
	now := s.clock()
	err = s.db.View(func(tx *store.Tx) error {
		list, err := tx.TenantInvitations(a.tenant.ID, 500)
		if err != nil {
			return err
		}
		for i := range list {
			if !in.All && list[i].State != store.InvitePending {
				continue
			}
			v, err := viewInvitation(tx, &list[i], now)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, s.internal("list invitations", err)
}

var errNoInvitation = &Error{Code: NotFound, Message: "There is no such invitation in this tenant."}

// tenantInvitation loads an invitation of the actor's tenant; any other
// gets the same answer as a missing one. A SUPER_ADMIN manages across
// tenants.
func tenantInvitation(tx *store.Tx, a *actor, id uint64) (*store.Invitation, error) {
	inv, err := tx.Invitation(id)
	if err != nil {
		return nil, err
	}
	if inv == nil || inv.TenantID != a.tenant.ID && !a.can(auth.CrossTenant) {
		return nil, errNoInvitation
	}
	return inv, nil
}

// InvitationLink returns a pending invitation's link again, for Copy link.
func (s *Service) InvitationLink(ctx context.Context, id uint64) (string, error) {
	a, err := s.require(ctx, auth.ManageUsers)
	if err != nil {
		return "", err
	}
	var link string
	err = s.db.View(func(tx *store.Tx) error {
		inv, err := tenantInvitation(tx, a, id)
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
	a, err := s.require(ctx, auth.ManageUsers)
	if err != nil {
		return InviteResult{}, err
	}
	token := auth.NewToken()
	var out InviteResult
	err = s.write(func(tx *store.Tx) error {
		inv, err := tenantInvitation(tx, a, id)
		if err != nil {
			return err
		}
		if inv.State != store.InvitePending {
			return &Error{Code: Conflict, Message: "This invitation was " + string(inv.State) + " and cannot be re-sent. Send a new invitation instead."}
		}
		if !a.user.Role.CanGrant(inv.Role) {
			return errForbidden
		}
		now := s.clock()
		if newer, err := tx.PendingInvitationFor(inv.Email); err != nil {
			return err
		} else if newer != nil && newer.ID != inv.ID && stateOf(newer, now) == "pending" {
			return &Error{Code: Conflict, Message: "A newer invitation to this address is pending; resend that one instead."}
		}
		before := auditInvitation(inv)
		if err := s.cancelMail(tx, inv.MessageID); err != nil {
			return err
		}
		inv.TokenHash, inv.SealedToken = auth.HashToken(token), s.sealer.Seal([]byte(token), sealInviteToken)
		inv.ExpiresAt = now.Add(InvitationTTL)
		if err := s.queueInvitationMail(tx, inv, now); err != nil {
			return err
		}
		if err := record(tx, now, a.who(), inv.TenantID, ActResend, ResInvite, inv.ID, &change{Before: before, After: auditInvitation(inv)}); err != nil {
			return err
		}
		return s.inviteResult(tx, inv, token, now, &out)
	})
	if err != nil {
		return InviteResult{}, s.internal("resend invitation", err)
	}
	s.nudgeMailer()
	return out, nil
}

// RevokeInvitation stops an invitation's link from working.
func (s *Service) RevokeInvitation(ctx context.Context, id uint64) (InvitationView, error) {
	a, err := s.require(ctx, auth.ManageUsers)
	if err != nil {
		return InvitationView{}, err
	}
	var out InvitationView
	err = s.write(func(tx *store.Tx) error {
		inv, err := tenantInvitation(tx, a, id)
		if err != nil {
			return err
		}
		if inv.State != store.InvitePending {
			return &Error{Code: Conflict, Message: "This invitation was already " + string(inv.State) + "."}
		}
		now := s.clock()
		before := auditInvitation(inv)
		inv.State, inv.FinishedAt = store.InviteRevoked, now
		if err := s.cancelMail(tx, inv.MessageID); err != nil {
			return err
		}
		if err := tx.PutInvitation(inv); err != nil {
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

// InvitationInfo is what the accept page shows before the invitee commits.
type InvitationInfo struct {
	State        string    `json:"state"` // pending, expired, accepted, revoked, unknown
	Email        string    `json:"email"`
	Role         auth.Role `json:"role"`
	TenantName   string    `json:"tenantName"`
	InviterName  string    `json:"inviterName"`
	InviterEmail string    `json:"inviterEmail"`
	ExpiresAt    time.Time `json:"expiresAt"`
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
		return nil
	})
	return info, s.internal("invitation info", err)
}

// AcceptInput is the accept-invitation form.
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

// AcceptInvitation creates the invitee's account, marks the invitation used
// (single use, in the same transaction) and signs the new user in.
func (s *Service) AcceptInvitation(ctx context.Context, in AcceptInput) (Me, string, error) {
	if !auth.WellFormedToken(in.Token) {
		return Me{}, "", invitationGone("unknown")
	}
	name, err := cleanName("name", in.Name)
	if err != nil {
		return Me{}, "", err
	}
	if err := checkPassword("password", in.Password); err != nil {
		return Me{}, "", err
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return Me{}, "", s.internal("hash", err)
	}
	c := callerFrom(ctx)
	token := auth.NewToken()
	var me Me
	err = s.write(func(tx *store.Tx) error {
		inv, err := tx.InvitationByToken(auth.HashToken(in.Token))
		if err != nil {
			return err
		}
		if inv == nil {
			return invitationGone("unknown")
		}
		now := s.clock()
		if st := stateOf(inv, now); st != "pending" {
			return invitationGone(st)
		}
		if u, err := tx.UserByEmail(inv.Email); err != nil {
			return err
		} else if u != nil {
			return &Error{Code: Conflict, Message: "An account with this e-mail address already exists. Sign in instead."}
		}
		u := &store.User{Email: inv.Email, Name: name, Role: inv.Role, Active: true, TenantID: inv.TenantID,
			DefaultTenantID: inv.TenantID, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateUser(u, store.Credentials{PasswordHash: hash}); err != nil {
			return err
		}
		if err := s.joinTenant(tx, u, inv.TenantID, now); err != nil {
			return err
		}
		inv.State, inv.FinishedAt, inv.UserID = store.InviteAccepted, now, u.ID
		if err := s.cancelMail(tx, inv.MessageID); err != nil {
			return err
		}
		if err := tx.PutInvitation(inv); err != nil {
			return err
		}
		w := userWho(u, c.IP)
		if err := record(tx, now, w, inv.TenantID, ActAccept, ResInvite, inv.ID, &change{After: auditInvitation(inv)}); err != nil {
			return err
		}
		if err := record(tx, now, w, inv.TenantID, ActCreate, ResUser, u.ID, &change{After: auditUser(u), Extra: map[string]any{"via": "invitation", "invitedBy": inv.InviterEmail}}); err != nil {
			return err
		}
		stage, err := s.enrolStage(tx, u)
		if err != nil {
			return err
		}
		a, err := startSession(tx, u, token, c, now, stage, "invitation")
		if err != nil {
			return err
		}
		me, err = s.viewMe(tx, &a)
		return err
	})
	if err != nil {
		return Me{}, "", s.internal("accept invitation", err)
	}
	return me, token, nil
}
