package core

import (
	"encoding/json"
	"strconv"
	"time"

	"gatehouse/internal/store"
)

// Audit actions and resource types. Actions are verbs, resource types are
// nouns, as in the seed's audit log ("update", "ticket").
const (
	ActSetup        = "setup"
	ActSignIn       = "sign_in"
	ActSignInFailed = "sign_in_failed"
	ActSignOut      = "sign_out"
	ActCreate       = "create"
	ActUpdate       = "update"
	ActDeactivate   = "deactivate"
	ActReactivate   = "reactivate"
	ActInvite       = "invite"
	ActResend       = "resend"
	ActRevoke       = "revoke"
	ActAccept       = "accept"
	ActEmailSent    = "email_sent"
	ActEmailFailed  = "email_failed"

	ResUser     = "user"
	ResTenant   = "tenant"
	ResSession  = "session"
	ResInvite   = "invitation"
	ResSettings = "settings"
	ResEmail    = "email"
)

// who is the actor recorded on an event, as it was at the time.
type who struct {
	id          uint64
	name, email string
	ip          string
}

func (a *actor) who() who {
	return who{id: a.user.ID, name: a.user.Name, email: a.user.Email, ip: a.ip}
}

func userWho(u *store.User, ip string) who {
	return who{id: u.ID, name: u.Name, email: u.Email, ip: ip}
}

// change is the before/after metadata of an event. Fields must never hold
// a secret.
type change struct {
	Before any            `json:"before,omitempty"`
	After  any            `json:"after,omitempty"`
	Extra  map[string]any `json:"extra,omitempty"`
}

// record appends an audit event in the caller's transaction.
func record(tx *store.Tx, at time.Time, w who, tenant uint64, action, resType string, resID uint64, meta *change) error {
	e := &store.Event{
		Time: at, ActorID: w.id, ActorName: w.name, ActorEmail: w.email,
		Action: action, ResourceType: resType, IP: w.ip, TenantID: tenant,
	}
	if resID != 0 {
		e.ResourceID = strconv.FormatUint(resID, 10)
	}
	if meta != nil {
		raw, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		e.Meta = raw
	}
	if err := describe(tx, e, w, resID, meta); err != nil {
		return err
	}
	return tx.AppendEvent(e)
}

// userAudit is the part of a user that audit events show: no secrets.
type userAudit struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Active   bool   `json:"active"`
	TenantID uint64 `json:"tenantId"`
}

func auditUser(u *store.User) userAudit {
	return userAudit{Email: u.Email, Name: u.Name, Role: string(u.Role), Active: u.Active, TenantID: u.TenantID}
}
