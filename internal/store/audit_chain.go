package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// The audit log is tamper-evident: each event's hash is an HMAC, under a
// key kept in the data folder, of the previous event's hash, the event's
// key and its content (its JSON, or its canonical form: see
// audit_codec.go). The head (last key, hash, count) and the retention
// anchor are MACed too, so a copy of the database alone cannot re-chain,
// truncate or trim the log unnoticed.

var (
	keyAuditHead   = []byte("audit_head")
	keyAuditAnchor = []byte("audit_anchor")
)

func chainHash(key, prev, k, raw []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(prev)
	m.Write(k)
	m.Write(raw)
	return m.Sum(nil)
}

// auditHead is the end of the chain.
type auditHead struct {
	Key    []byte `json:"key"`
	Hash   []byte `json:"hash"`
	Count  uint64 `json:"count"`
	Linked bool   `json:"linked"` // hashes were made with the real key
	MAC    []byte `json:"mac"`
}

// auditAnchor is where the chain starts after retention pruned its oldest
// events: the last pruned event's key and hash.
type auditAnchor struct {
	Key    []byte    `json:"key"`
	Hash   []byte    `json:"hash"`
	Pruned uint64    `json:"pruned"`
	At     time.Time `json:"at"`
	MAC    []byte    `json:"mac"`
}

func recordMAC(key []byte, kind string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kind))
	for _, p := range parts {
		m.Write(u64(uint64(len(p))))
		m.Write(p)
	}
	return m.Sum(nil)
}

func (h auditHead) mac(key []byte) []byte {
	return recordMAC(key, "head", h.Key, h.Hash, u64(h.Count))
}

func (a auditAnchor) mac(key []byte) []byte {
	return recordMAC(key, "anchor", a.Key, a.Hash, u64(a.Pruned))
}

func (t *Tx) auditHead() (auditHead, error) {
	var h auditHead
	_, err := getJSON(t.b(bucketMeta), keyAuditHead, &h)
	if h.Hash == nil {
		h.Hash = make([]byte, hashLen)
	}
	return h, err
}

func (t *Tx) putAuditHead(h auditHead) error {
	if t.auditKey == nil {
		return errNoAuditKey
	}
	h.MAC = h.mac(t.auditKey)
	return putJSON(t.b(bucketMeta), keyAuditHead, h)
}

func (t *Tx) auditAnchor() (auditAnchor, bool, error) {
	var a auditAnchor
	ok, err := getJSON(t.b(bucketMeta), keyAuditAnchor, &a)
	if a.Hash == nil {
		a.Hash = make([]byte, hashLen)
	}
	return a, ok, err
}

// checkChainLinked refuses a log whose events are not covered by a linked
// chain head. Gatehouse links the chain once, in the migration that made
// it, and every event appended since is linked; a head marked unlinked (or
// missing) beside events means the file was altered outside Gatehouse,
// and must not be re-linked, which would bless the alteration.
func (t *Tx) checkChainLinked() error {
	events := t.b(bucketAudit)
	if events == nil {
		events = t.b(bucketAuditV2) // layouts 4–10
	}
	if events == nil {
		return nil // an older layout: its migration links the chain
	}
	if k, _ := events.Cursor().First(); k == nil {
		return nil
	}
	var h auditHead
	ok, err := getJSON(t.b(bucketMeta), keyAuditHead, &h)
	switch {
	case err != nil:
		return fmt.Errorf("%w: its head record cannot be read (%v)", ErrChainBroken, err)
	case !ok:
		return fmt.Errorf("%w: the log holds events but no chain head; the file was altered outside Gatehouse", ErrChainBroken)
	case !h.Linked:
		return fmt.Errorf("%w: the log holds events but its chain is marked unlinked; the file was altered outside Gatehouse", ErrChainBroken)
	}
	return nil
}

// ChainReport is the result of verifying the audit chain.
type ChainReport struct {
	OK       bool   `json:"ok"`
	Checked  uint64 `json:"checked"`
	Pruned   uint64 `json:"pruned"` // events removed by retention before the anchor
	BrokenID uint64 `json:"brokenId,omitempty"`
	BrokenAt string `json:"brokenAt,omitempty"` // the event's time
	Problem  string `json:"problem,omitempty"`
}

// VerifyChain walks the whole log from its anchor and reports the first
// event whose hash does not follow from its predecessor, or a head or
// anchor that does not match. progress, if set, is called every 100,000
// events.
func (db *DB) VerifyChain(progress func(checked uint64)) (ChainReport, error) {
	if db.auditKey == nil {
		return ChainReport{}, errNoAuditKey
	}
	var rep ChainReport
	err := db.View(func(tx *Tx) error {
		anchor, anchored, err := tx.auditAnchor()
		if err != nil {
			return err
		}
		head, err := tx.auditHead()
		if err != nil {
			return err
		}
		headless := tx.b(bucketMeta).Get(keyAuditHead) == nil
		broken := func(k []byte, problem string) {
			rep.OK, rep.Problem = false, problem
			if len(k) == 16 {
				rep.BrokenID = readU64(k[8:])
				rep.BrokenAt = time.Unix(0, int64(readU64(k[:8]))).UTC().Format(time.RFC3339)
				if e, err := tx.eventReader().decode(k, tx.b(bucketAudit).Get(k)); err == nil {
					rep.BrokenID = e.ID
				}
			}
		}
		rep.OK = true
		prev := anchor.Hash
		if anchored {
			rep.Pruned = anchor.Pruned
			if !hmac.Equal(anchor.MAC, anchor.mac(db.auditKey)) {
				broken(nil, "the retention anchor was altered")
				return nil
			}
		}
		mac := hmac.New(sha256.New, db.auditKey)
		sum := make([]byte, 0, hashLen)
		r, buf := tx.eventReader(), make([]byte, 0, 512)
		c := tx.b(bucketAudit).Cursor()
		var last []byte
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if anchored && bytes.Compare(k, anchor.Key) <= 0 {
				broken(k, "an event older than the retention anchor is present")
				return nil
			}
			if len(v) <= hashLen {
				broken(k, "the event is truncated")
				return nil
			}
			content, err := r.chainInput(k, v, buf)
			if err != nil {
				broken(k, "the event cannot be read: "+err.Error())
				return nil
			}
			mac.Reset()
			mac.Write(prev)
			mac.Write(k)
			mac.Write(content)
			sum = mac.Sum(sum[:0])
			if !hmac.Equal(sum, v[:hashLen]) {
				broken(k, "the event was changed, or an event before it was removed or moved")
				return nil
			}
			prev, last = v[:hashLen], k
			rep.Checked++
			if progress != nil && rep.Checked%100000 == 0 {
				progress(rep.Checked)
			}
		}
		switch {
		case !head.Linked && rep.Checked > 0:
			broken(nil, "the chain was never linked with this key")
		case headless && rep.Checked == 0 && !anchored:
			// a log that never held an event has no head yet
		case !hmac.Equal(head.MAC, head.mac(db.auditKey)):
			broken(nil, "the chain's head record was altered")
		case rep.Checked != head.Count || !bytes.Equal(last, head.Key) && rep.Checked > 0:
			broken(nil, fmt.Sprintf("the log holds %d events after the anchor but %d were written: the newest were removed", rep.Checked, head.Count))
		case rep.Checked > 0 && !bytes.Equal(prev, head.Hash):
			broken(nil, "the newest event does not match the chain's head")
		}
		return nil
	})
	return rep, err
}

// HexKey renders an event key for messages.
func HexKey(k []byte) string { return hex.EncodeToString(k) }
