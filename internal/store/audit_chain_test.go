package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// chainTamperings are edits of the file by someone who has it but not the
// chain's key; keys are the log's event keys, oldest first.
var chainTamperings = map[string]func(tx *bolt.Tx, keys [][]byte){
	"an edited event": func(tx *bolt.Tx, keys [][]byte) {
		editEvent(tx, keys[10], func(e *Event) { e.IP += "9" })
	},
	"an edited string of the table": func(tx *bolt.Tx, keys [][]byte) {
		e := editEvent(tx, keys[10], func(*Event) {})
		id := readU64(tx.Bucket(bucketAuditStrings).Get([]byte(e.Action)))
		tx.Bucket(bucketAuditStringIDs).Put(u64(id), []byte("nothing_to_see"))
	},
	"an event's form changed": func(tx *bolt.Tx, keys [][]byte) {
		v := bytes.Clone(tx.Bucket(bucketAudit).Get(keys[10]))
		v[hashLen] ^= formMoved ^ formCompact
		tx.Bucket(bucketAudit).Put(keys[10], v)
	},
	"a deleted event": func(tx *bolt.Tx, keys [][]byte) { tx.Bucket(bucketAudit).Delete(keys[10]) },
	"two events swapped": func(tx *bolt.Tx, keys [][]byte) {
		b := tx.Bucket(bucketAudit)
		a, c := bytes.Clone(b.Get(keys[10])), bytes.Clone(b.Get(keys[11]))
		b.Put(keys[10], c)
		b.Put(keys[11], a)
	},
	"an event moved to another time": func(tx *bolt.Tx, keys [][]byte) {
		b := tx.Bucket(bucketAudit)
		v := bytes.Clone(b.Get(keys[10]))
		b.Delete(keys[10])
		k := bytes.Clone(keys[10])
		k[7]++
		b.Put(k, v)
	},
	"the newest events removed": func(tx *bolt.Tx, keys [][]byte) {
		b := tx.Bucket(bucketAudit)
		b.Delete(keys[len(keys)-1])
		b.Delete(keys[len(keys)-2])
	},
}

// editEvent rewrites a stored event after edit, keeping its hash, as the
// code would encode it (adding strings to the table as needed), and
// returns the event as it was.
func editEvent(tx *bolt.Tx, k []byte, edit func(*Event)) Event {
	t := &Tx{tx: boltTx{tx}}
	v := bytes.Clone(t.b(bucketAudit).Get(k))
	e, err := t.eventReader().event(k, v)
	if err != nil {
		panic(err)
	}
	was := e
	edit(&e)
	form := v[hashLen]
	payload, err := json.Marshal(&e)
	if form != '{' {
		payload, err = t.encodeCompact(&e, k, form)
	}
	if err != nil {
		panic(err)
	}
	if err := t.b(bucketAudit).Put(k, join(v[:hashLen], payload)); err != nil {
		panic(err)
	}
	return was
}

func TestAuditTamperingIsDetected(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, 30)
	if rep, _ := db.VerifyChain(nil); !rep.OK || rep.Checked != 30 {
		t.Fatalf("before: %+v", rep)
	}
	db.Close()
	checkTamperingDetected(t, dir)
}

// checkTamperingDetected applies each of chainTamperings to a copy of the
// database in dir, and checks VerifyChain reports it (an edited event as
// the first broken one).
func checkTamperingDetected(t *testing.T, dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for name, tamper := range chainTamperings {
		t.Run(name, func(t *testing.T) {
			// Tamper with a copy, as someone with the file but not the key would.
			copyDir := t.TempDir()
			os.WriteFile(filepath.Join(copyDir, FileName), raw, 0o600)
			b, _ := bolt.Open(filepath.Join(copyDir, FileName), 0o600, nil)
			var edited uint64
			b.Update(func(tx *bolt.Tx) error {
				var keys [][]byte
				tx.Bucket(bucketAudit).ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
				edited = readU64(keys[10][8:]) // its id
				tamper(tx, keys)
				return nil
			})
			b.Close()
			copyDB, err := Open(copyDir, Options{AuditKey: []byte("k")})
			if err != nil {
				t.Fatal(err)
			}
			defer copyDB.Close()
			rep, err := copyDB.VerifyChain(nil)
			if err != nil || rep.OK || rep.Problem == "" {
				t.Fatalf("tampering not detected: %+v %v", rep, err)
			}
			if name == "an edited event" && rep.BrokenID != edited {
				t.Fatalf("first broken event %d, want %d", rep.BrokenID, edited)
			}
		})
	}
}

// Issue 11: someone with the file but not the key edits or deletes events
// and marks the chain head unlinked (or removes it), hoping the next open
// re-links the chain under the real key. Open, CheckFile (restore) and the
// file itself must not bless it.
func TestAnUnlinkedChainHeadIsBrokenNeverRelinked(t *testing.T) {
	key := []byte("k")
	dir := t.TempDir()
	db, err := Open(dir, Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, 30)
	db.Close()
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(meta *bolt.Bucket) error{
		"head marked unlinked": func(meta *bolt.Bucket) error {
			var h auditHead
			if err := json.Unmarshal(meta.Get(keyAuditHead), &h); err != nil {
				return err
			}
			h.Linked = false
			return putJSON(meta, keyAuditHead, h)
		},
		"head removed": func(meta *bolt.Bucket) error { return meta.Delete(keyAuditHead) },
	}
	for name, unlink := range cases {
		for _, edit := range []string{"edited", "deleted"} {
			t.Run(name+", an event "+edit, func(t *testing.T) {
				copyDir := t.TempDir()
				path := filepath.Join(copyDir, FileName)
				if err := os.WriteFile(path, raw, 0o600); err != nil {
					t.Fatal(err)
				}
				b, err := bolt.Open(path, 0o600, nil)
				if err != nil {
					t.Fatal(err)
				}
				err = b.Update(func(tx *bolt.Tx) error {
					events := tx.Bucket(bucketAudit)
					k, v := events.Cursor().First()
					k, v = bytes.Clone(k), bytes.Clone(v)
					if edit == "deleted" {
						if err := events.Delete(k); err != nil {
							return err
						}
					} else {
						editEvent(tx, k, func(e *Event) { e.IP = "10.9.0.1" })
					}
					return unlink(tx.Bucket(bucketMeta))
				})
				b.Close()
				if err != nil {
					t.Fatal(err)
				}
				tampered, _ := os.ReadFile(path)
				if _, err := Open(copyDir, Options{AuditKey: key}); !errors.Is(err, ErrChainBroken) {
					t.Errorf("open: %v, want ErrChainBroken", err)
				}
				if err := CheckFile(path); !errors.Is(err, ErrChainBroken) {
					t.Errorf("CheckFile (restore): %v, want ErrChainBroken", err)
				}
				if _, err := Restore(t.TempDir(), path); !errors.Is(err, ErrChainBroken) {
					t.Errorf("Restore: %v, want ErrChainBroken", err)
				}
				if now, _ := os.ReadFile(path); !bytes.Equal(now, tampered) {
					t.Error("the refused file was changed (re-linked?)")
				}
			})
		}
	}
}

// A new database has no chain head until its first event, and verifies.
func TestAnEmptyLogVerifies(t *testing.T) {
	db := openAudit(t)
	if rep, err := db.VerifyChain(nil); err != nil || !rep.OK || rep.Checked != 0 {
		t.Fatalf("empty log: %+v %v", rep, err)
	}
	fill(t, db, 1)
	if rep, err := db.VerifyChain(nil); err != nil || !rep.OK || rep.Checked != 1 {
		t.Fatalf("one event: %+v %v", rep, err)
	}
}
