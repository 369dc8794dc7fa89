package store

import "time"

// MessageState is an outbox message's delivery state.
type MessageState string

// The delivery states.
const (
	MailQueued    MessageState = "queued"    // waiting for its first or next attempt
	MailSent      MessageState = "sent"      // the SMTP server accepted it
	MailFailed    MessageState = "failed"    // gave up; LastError says why
	MailCancelled MessageState = "cancelled" // no longer needed (the invitation was revoked or re-sent)
)

// Message is an e-mail waiting in, or done with, the outbox. It holds no
// secret: an invitation's link is rendered from the invitation when sent.
type Message struct {
	ID            uint64       `json:"id"`
	Kind          string       `json:"kind"` // "invitation"
	RefID         uint64       `json:"refId"`
	To            string       `json:"to"`
	TenantID      uint64       `json:"tenantId"`
	State         MessageState `json:"state"`
	Attempts      int          `json:"attempts"`
	NextAttemptAt time.Time    `json:"nextAttemptAt"`
	LastError     string       `json:"lastError"`
	// Reason says why a message was not sent in a way the app can act on:
	// "no_smtp" when e-mail was not set up (it can be sent once it is).
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	SentAt    time.Time `json:"sentAt"`
	// ClaimedAt is set while a sender talks to the SMTP server about the
	// message: recorded before the send and cleared with its result, so a
	// sender that stops mid-send leaves a trace, and the next one does not
	// send the message a second time.
	ClaimedAt time.Time `json:"claimedAt"`
}

// Message returns the message with id, or nil.
func (t *Tx) Message(id uint64) (*Message, error) {
	var m Message
	ok, err := getJSON(t.b(bucketOutbox), u64(id), &m)
	if !ok || err != nil {
		return nil, err
	}
	return &m, nil
}

// PutMessage stores a message, assigning an id to a new one, and keeps the
// due index: a queued message is due until it is sent, failed or cancelled.
func (t *Tx) PutMessage(m *Message) error {
	if m.ID == 0 {
		id, err := t.b(bucketOutbox).NextSequence()
		if err != nil {
			return err
		}
		m.ID = id
	}
	var err error
	if m.State == MailQueued {
		err = t.b(bucketOutboxDue).Put(u64(m.ID), []byte{})
	} else {
		err = t.b(bucketOutboxDue).Delete(u64(m.ID))
	}
	if err != nil {
		return err
	}
	return putJSON(t.b(bucketOutbox), u64(m.ID), m)
}

// DueMessages lists queued messages whose next attempt is at or before now,
// oldest first, and the time the earliest later one is due (zero if none).
func (t *Tx) DueMessages(now time.Time, limit int) ([]Message, time.Time, error) {
	var out []Message
	var next time.Time
	c := t.b(bucketOutboxDue).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		m, err := t.Message(readU64(k))
		if err != nil {
			return nil, time.Time{}, err
		}
		if m == nil {
			continue
		}
		if m.NextAttemptAt.After(now) {
			if next.IsZero() || m.NextAttemptAt.Before(next) {
				next = m.NextAttemptAt
			}
			continue
		}
		if len(out) < limit {
			out = append(out, *m)
		}
	}
	return out, next, nil
}
