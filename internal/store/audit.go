package store

import (
	"encoding/binary"
	"encoding/json"
	"time"
)

// Event is one audit log entry. Actor name and e-mail are copied as they
// were at the time, so later renames do not rewrite history.
type Event struct {
	ID           uint64          `json:"id"`
	Time         time.Time       `json:"time"`
	ActorID      uint64          `json:"actorId"`
	ActorName    string          `json:"actorName"`
	ActorEmail   string          `json:"actorEmail"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resourceType"`
	ResourceID   string          `json:"resourceId"`
	IP           string          `json:"ip"`
	TenantID     uint64          `json:"tenantId"`
	Meta         json.RawMessage `json:"meta,omitempty"`
}

// auditKey orders events by time, then by sequence for equal times, so
// newest-first is a reverse cursor walk.
func auditKey(at time.Time, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(at.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// AppendEvent adds an event, assigning its id.
func (t *Tx) AppendEvent(e *Event) error {
	b := t.b(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.ID = seq
	return putJSON(b, auditKey(e.Time, seq), e)
}

// RecentEvents returns up to limit events, newest first, that keep returns
// true for.
func (t *Tx) RecentEvents(limit int, keep func(*Event) bool) ([]Event, error) {
	var out []Event
	c := t.b(bucketAudit).Cursor()
	for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
		var e Event
		if err := unmarshal(k, v, &e); err != nil {
			return nil, err
		}
		if keep == nil || keep(&e) {
			out = append(out, e)
		}
	}
	return out, nil
}
