package store_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

func openPair(t *testing.T) (boltDB, etcdDB *store.DB) {
	t.Helper()
	b, err := store.Open(t.TempDir(), store.Options{AuditKey: []byte("k"), NoBackgroundCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := openEtcd(t, storetest.NewPrefix())
	return b, e
}

func openEtcd(t *testing.T, prefix string) *store.DB {
	t.Helper()
	c := storetest.SharedCluster(t)
	e, err := store.OpenEtcd(store.EtcdConfig{Endpoints: c.Endpoints(), Prefix: prefix}, store.Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func show(k, v []byte) string {
	if k == nil && v == nil {
		return "<nil,nil>"
	}
	return fmt.Sprintf("%x=%x(nil:%v)", k, v, v == nil)
}

// Differential: cursor moves over the same contents on both engines.
func TestEtcdCursorMatchesBolt(t *testing.T) {
	bdb, edb := openPair(t)
	alphabet := []byte{0x00, 0x01, 0x7f, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	randKey := func() []byte {
		n := 1 + rng.IntN(3)
		k := make([]byte, n)
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return k
	}
	// neighbour buckets around "t"
	buckets := []string{"s", "t", "t0", "t_", "ta", "u"} // bucket names are [a-z0-9_]
	var keys [][]byte
	for i := 0; i < 40; i++ {
		keys = append(keys, randKey())
	}
	fill := func(db *store.DB) {
		err := db.RawUpdate(func(tx store.KVTx) error {
			for _, name := range buckets {
				b, err := tx.CreateBucketIfNotExists([]byte(name))
				if err != nil {
					return err
				}
				if name == "t" {
					for i, k := range keys {
						if err := b.Put(k, []byte{byte(i)}); err != nil {
							return err
						}
					}
				} else {
					b.Put([]byte{0x00}, []byte("nb0"))
					b.Put([]byte{0xff, 0xff}, []byte("nbff"))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	fill(bdb)
	fill(edb)
	fails := 0
	for _, empty := range []bool{false, true} {
		for round := 0; round < 3000; round++ {
			var moves []string
			var outB, outE []string
			seeks := []([]byte){randKey(), {}, {0xff, 0xff, 0xff, 0xff}}
			nmoves := 1 + rng.IntN(6)
			plan := make([]int, nmoves)
			seekArg := make([][]byte, nmoves)
			for i := range plan {
				plan[i] = rng.IntN(5)
				seekArg[i] = seeks[rng.IntN(len(seeks))]
			}
			run := func(db *store.DB, out *[]string) {
				db.RawView(func(tx store.KVTx) error {
					name := "t"
					if empty {
						name = "empty"
					}
					b := tx.Bucket([]byte(name))
					if b == nil {
						*out = append(*out, "no bucket")
						return nil
					}
					c := b.Cursor()
					for i, p := range plan {
						var k, v []byte
						switch p {
						case 0:
							k, v = c.First()
						case 1:
							k, v = c.Last()
						case 2:
							k, v = c.Next()
						case 3:
							k, v = c.Prev()
						case 4:
							k, v = c.Seek(seekArg[i])
						}
						*out = append(*out, show(k, v))
					}
					return nil
				})
			}
			for i, p := range plan {
				moves = append(moves, []string{"First", "Last", "Next", "Prev", fmt.Sprintf("Seek(%x)", seekArg[i])}[p])
			}
			run(bdb, &outB)
			run(edb, &outE)
			if fmt.Sprint(outB) != fmt.Sprint(outE) {
				t.Errorf("empty=%v moves %v:\n bolt %v\n etcd %v", empty, moves, outB, outE)
				if fails++; fails > 8 {
					return
				}
			}
		}
		if empty {
			break
		}
		for _, db := range []*store.DB{bdb, edb} {
			db.RawUpdate(func(tx store.KVTx) error { _, err := tx.CreateBucketIfNotExists([]byte("empty")); return err })
		}
	}
}

// Empty values vs missing keys, in the writing transaction and after.
func TestEtcdEmptyValues(t *testing.T) {
	bdb, edb := openPair(t)
	for _, db := range []*store.DB{bdb, edb} {
		var in []string
		db.RawUpdate(func(tx store.KVTx) error {
			b, _ := tx.CreateBucketIfNotExists([]byte("ev"))
			b.Put([]byte("nil"), nil)
			b.Put([]byte("empty"), []byte{})
			for _, k := range []string{"nil", "empty", "missing"} {
				v := b.Get([]byte(k))
				in = append(in, fmt.Sprintf("%s:%v", k, v == nil))
			}
			return nil
		})
		var after []string
		db.RawView(func(tx store.KVTx) error {
			b := tx.Bucket([]byte("ev"))
			for _, k := range []string{"nil", "empty", "missing"} {
				v := b.Get([]byte(k))
				after = append(after, fmt.Sprintf("%s:%v", k, v == nil))
			}
			return nil
		})
		t.Logf("%s: in-tx isNil %v; after isNil %v", db.Engine(), in, after)
	}
}

var _ = bytes.Equal
