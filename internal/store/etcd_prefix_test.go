package store_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// Prefixes are not checked for nesting: a database at P+"b/" shows up
// inside the database at P (its keys read as buckets named "/…"), and
// P's backups carry the other database's data.
func TestEtcdNestedPrefixLeaksIntoBackup(t *testing.T) {
	p := storetest.NewPrefix()
	outer := openEtcd(t, p)
	inner := openEtcd(t, p+"b/")
	_ = inner
	time.Sleep(300 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "snap.db")
	err := outer.Snapshot(nil, func(size int64, content io.WriterTo) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = content.WriteTo(f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var foreign []string
	b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if strings.HasPrefix(string(name), "/") {
				foreign = append(foreign, string(name))
			}
			return nil
		})
	})
	if len(foreign) > 0 {
		t.Fatalf("the backup of %s holds %d buckets of the database at %sb/, e.g. %q", p, len(foreign), p, foreign[:min(4, len(foreign))])
	}
}

// EtcdHolds does not add the trailing slash OpenEtcd adds: "/gh" is said
// to hold a database when only "/gh-staging/" does (openCluster then
// refuses to start a first node, asking for another node's secret.key).
func TestEtcdEtcdHoldsPrefixWithoutSlash(t *testing.T) {
	c := storetest.SharedCluster(t)
	p := storetest.NewPrefix() // "/test-PID-N/"
	openEtcd(t, strings.TrimSuffix(p, "/")+"-staging/")
	base := strings.TrimSuffix(p, "/")
	holds, err := store.EtcdHolds(store.EtcdConfig{Endpoints: c.Endpoints(), Prefix: base})
	if err != nil {
		t.Fatal(err)
	}
	if holds {
		t.Fatalf("EtcdHolds(%q) = true, though %q/ is empty (only %s-staging/ holds a database)", base, base, base)
	}
}
