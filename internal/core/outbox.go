package core

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"html/template"
	"time"

	"gatehouse/internal/mail"
	"gatehouse/internal/store"
)

// Outbox retry policy: the n-th failed attempt waits retryBase·2^(n-1),
// at most retryMax, and the message is given up after maxAttempts.
const (
	retryBase   = 30 * time.Second
	retryMax    = time.Hour
	maxAttempts = 8
)

const kindInvitation = "invitation"

// reasonNoSMTP marks a message that failed because e-mail was not set up.
const reasonNoSMTP = "no_smtp"

func htmlEscape(s string) string { return html.EscapeString(s) }

// queueInvitationMail puts an invitation's e-mail in the outbox, in the
// caller's transaction; the worker sends it after commit.
func (s *Service) queueInvitationMail(tx *store.Tx, inv *store.Invitation, now time.Time) error {
	m := &store.Message{Kind: kindInvitation, RefID: inv.ID, To: inv.Email, TenantID: inv.TenantID,
		State: store.MailQueued, NextAttemptAt: now, CreatedAt: now}
	if err := tx.PutMessage(m); err != nil {
		return err
	}
	inv.MessageID = m.ID
	return tx.PutInvitation(inv)
}

// cancelMail withdraws a message that has not gone out yet.
func (s *Service) cancelMail(tx *store.Tx, id uint64) error {
	if id == 0 {
		return nil
	}
	m, err := tx.Message(id)
	if err != nil || m == nil || m.State != store.MailQueued {
		return err
	}
	m.State = store.MailCancelled
	return tx.PutMessage(m)
}

// RunMailer delivers the outbox until ctx ends: after each commit that
// queued mail, and when a retry falls due.
func (s *Service) RunMailer(ctx context.Context) {
	for {
		next, err := s.DeliverDue(ctx)
		if err != nil {
			s.log.Error("outbox", "err", err)
		}
		wait := time.Minute
		if !next.IsZero() {
			if d := next.Sub(s.now()); d < wait {
				wait = max(d, time.Second)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-s.wake:
		case <-s.db.OutboxChanged(): // another node queued mail
		case <-timer.C:
		}
		timer.Stop()
	}
}

// DeliverDue sends every message that is due, one at a time, outside any
// transaction, and records each result in its own transaction. It returns
// when the next retry is due (zero if none).
func (s *Service) DeliverDue(ctx context.Context) (time.Time, error) {
	for {
		var due []store.Message
		var next time.Time
		var g generalSettings
		var m smtpSettings
		err := s.db.View(func(tx *store.Tx) (err error) {
			if g, m, err = readSettings(tx); err != nil {
				return err
			}
			due, next, err = tx.DueMessages(s.clock(), 20)
			return err
		})
		if err != nil || len(due) == 0 {
			return next, err
		}
		for _, msg := range due {
			if err := s.deliver(ctx, msg, g, m); err != nil {
				return next, err
			}
			if ctx.Err() != nil {
				return next, nil
			}
		}
	}
}

func (s *Service) deliver(ctx context.Context, msg store.Message, g generalSettings, m smtpSettings) error {
	var content mail.Message
	var cancel bool
	var sealed []byte
	var sealCtx string
	resType, resID := ResInvite, msg.RefID
	var build func(link string) mail.Message
	err := s.db.View(func(tx *store.Tx) error {
		switch msg.Kind {
		case kindInvitation:
			inv, err := tx.Invitation(msg.RefID)
			if err != nil || inv == nil || inv.MessageID != msg.ID || stateOf(inv, s.clock()) != "pending" {
				cancel = true
				return err
			}
			tenantName := ""
			if t, err := tx.Tenant(inv.TenantID); err != nil {
				return err
			} else if t != nil {
				tenantName = t.Name
			}
			sealed, sealCtx = inv.SealedToken, sealInviteToken
			build = func(token string) mail.Message { return invitationMail(inv, tenantName, s.inviteLink(g, token)) }
		case kindReset:
			r, err := tx.PasswordReset(msg.RefID)
			if err != nil || r == nil || r.MessageID != msg.ID || !s.clock().Before(r.ExpiresAt) {
				cancel = true
				return err
			}
			u, err := tx.User(r.UserID)
			if err != nil || u == nil || !u.Active {
				cancel = true
				return err
			}
			resType, resID = ResUser, u.ID
			sealed, sealCtx = r.SealedToken, sealResetToken
			build = func(token string) mail.Message { return resetMail(u, r, s.resetLink(g, token)) }
		default:
			cancel = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	var claim time.Time
	if !cancel {
		if claim, err = s.claim(msg.ID, resType, resID); err != nil || claim.IsZero() {
			return err // another sender has it, or its last send was cut short
		}
	}
	var sendErr error
	if !cancel {
		token, err := s.sealer.Open(sealed, sealCtx)
		switch {
		case err != nil:
			sendErr = fmt.Errorf("the link cannot be read with this data folder's key; make a new one")
		case !m.configured():
			sendErr = fmt.Errorf("e-mail is not set up in Settings; copy the link and share it instead")
		default:
			content = build(string(token))
			cfg, err := s.mailConfig(m)
			if err == nil {
				err = s.mailer.Send(ctx, cfg, content)
			}
			sendErr = err
		}
	}
	return s.write(func(tx *store.Tx) error {
		cur, err := tx.Message(msg.ID)
		if err != nil || cur == nil || cur.State != store.MailQueued || !cur.ClaimedAt.Equal(claim) {
			return err // cancelled meanwhile, or no longer this sender's
		}
		now := s.clock()
		if cancel {
			cur.State = store.MailCancelled
			return tx.PutMessage(cur)
		}
		cur.ClaimedAt = time.Time{}
		cur.Attempts++
		w := who{name: "Gatehouse mailer", ip: "local"}
		if sendErr == nil {
			cur.State, cur.SentAt, cur.LastError = store.MailSent, now, ""
			if err := tx.PutMessage(cur); err != nil {
				return err
			}
			return record(tx, now, w, cur.TenantID, ActEmailSent, resType, resID, &change{Extra: map[string]any{"to": cur.To, "attempts": cur.Attempts, "kind": cur.Kind}})
		}
		cur.LastError, cur.Reason = sendErr.Error(), ""
		if !m.configured() {
			cur.Reason = reasonNoSMTP
		}
		final := cur.Attempts >= maxAttempts || !m.configured()
		if final {
			cur.State = store.MailFailed
		} else {
			cur.NextAttemptAt = now.Add(min(retryBase<<(cur.Attempts-1), retryMax))
		}
		if err := tx.PutMessage(cur); err != nil {
			return err
		}
		if !final {
			return nil
		}
		return record(tx, now, w, cur.TenantID, ActEmailFailed, resType, resID, &change{Extra: map[string]any{"to": cur.To, "attempts": cur.Attempts, "error": cur.LastError, "kind": cur.Kind}})
	})
}

// claimFor is how long a sender holds a message it is sending: longer than
// any SMTP conversation (the client's own timeouts are shorter).
const claimFor = 10 * time.Minute

// errCutShort is recorded for a message whose sender stopped during its
// send: it may have arrived, so it is not sent again on its own.
const errCutShort = "The sender stopped while sending this message (the node went away); it may have arrived. Send it again if it did not."

// claim records, before the SMTP conversation, that this sender is sending
// message id, and returns the claim's time. It returns zero when the
// message is not this sender's to send: sent, cancelled or claimed
// meanwhile (another node), or claimed by a sender that stopped mid-send,
// which it marks failed with errCutShort rather than risk a second copy.
func (s *Service) claim(id uint64, resType string, resID uint64) (time.Time, error) {
	var at time.Time
	err := s.write(func(tx *store.Tx) error {
		at = time.Time{}
		cur, err := tx.Message(id)
		now := s.clock()
		if err != nil || cur == nil || cur.State != store.MailQueued || cur.NextAttemptAt.After(now) {
			return err
		}
		if !cur.ClaimedAt.IsZero() {
			cur.State, cur.LastError, cur.ClaimedAt = store.MailFailed, errCutShort, time.Time{}
			if err := tx.PutMessage(cur); err != nil {
				return err
			}
			return record(tx, now, who{name: "Gatehouse mailer", ip: "local"}, cur.TenantID, ActEmailFailed, resType, resID,
				&change{Extra: map[string]any{"to": cur.To, "attempts": cur.Attempts, "error": errCutShort, "kind": cur.Kind}})
		}
		cur.ClaimedAt, cur.NextAttemptAt = now, now.Add(claimFor)
		at = now
		return tx.PutMessage(cur)
	})
	return at, err
}

var inviteHTML = template.Must(template.New("invite").Parse(`<!doctype html>
<html><body style="font-family: system-ui, sans-serif; color: #1c2330; line-height: 1.5">
<p>Hello,</p>
<p>{{.Inviter}} ({{.InviterEmail}}) has invited you to join <strong>{{.Tenant}}</strong> on Gatehouse as <strong>{{.Role}}</strong>.</p>
<p><a href="{{.Link}}" style="display: inline-block; padding: 10px 18px; background: #2457c5; color: #fff; border-radius: 6px; text-decoration: none">Accept the invitation</a></p>
<p>Or open this link: <a href="{{.Link}}">{{.Link}}</a></p>
<p style="color: #5d6878">The link works once and expires on {{.Expires}}. If you did not expect this invitation, you can ignore this e-mail.</p>
</body></html>`))

func invitationMail(inv *store.Invitation, tenant, link string) mail.Message {
	data := struct{ Inviter, InviterEmail, Tenant, Role, Link, Expires string }{
		inv.InviterName, inv.InviterEmail, tenant, inv.Role.Label(), link, inv.ExpiresAt.Format("02/01/06 15:04 UTC"),
	}
	var h bytes.Buffer
	_ = inviteHTML.Execute(&h, data) // the template is fixed and its data are strings
	text := fmt.Sprintf("Hello,\n\n%s (%s) has invited you to join %s on Gatehouse as %s.\n\nSet your name and password here:\n%s\n\nThe link works once and expires on %s. If you did not expect this invitation, you can ignore this e-mail.\n",
		data.Inviter, data.InviterEmail, data.Tenant, data.Role, data.Link, data.Expires)
	return mail.Message{To: inv.Email, Subject: fmt.Sprintf("%s invited you to %s on Gatehouse", inv.InviterName, tenant), Text: text, HTML: h.String()}
}

var resetHTML = template.Must(template.New("reset").Parse(`<!doctype html>
<html><body style="font-family: system-ui, sans-serif; color: #1c2330; line-height: 1.5">
<p>Hello {{.Name}},</p>
<p>Someone asked to reset the password of your Gatehouse account ({{.Email}}).</p>
<p><a href="{{.Link}}" style="display: inline-block; padding: 10px 18px; background: #2457c5; color: #fff; border-radius: 6px; text-decoration: none">Choose a new password</a></p>
<p>Or open this link: <a href="{{.Link}}">{{.Link}}</a></p>
<p style="color: #5d6878">The link works once and expires at {{.Expires}}. If you did not ask for this, you can ignore this e-mail: your password stays as it is.</p>
</body></html>`))

func resetMail(u *store.User, r *store.PasswordReset, link string) mail.Message {
	data := struct{ Name, Email, Link, Expires string }{u.Name, u.Email, link, r.ExpiresAt.Format("15:04 UTC on 02/01/06")}
	var h bytes.Buffer
	_ = resetHTML.Execute(&h, data) // the template is fixed and its data are strings
	text := fmt.Sprintf("Hello %s,\n\nSomeone asked to reset the password of your Gatehouse account (%s).\n\nChoose a new password here:\n%s\n\nThe link works once and expires at %s. If you did not ask for this, you can ignore this e-mail: your password stays as it is.\n",
		data.Name, data.Email, data.Link, data.Expires)
	return mail.Message{To: u.Email, Subject: "Reset your Gatehouse password", Text: text, HTML: h.String()}
}
