package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// The replica falls behind a compaction (its member was away): it must
// reload and serve the commits made meanwhile.
func TestEtcdReplicaReloadsAfterCompaction(t *testing.T) {
	c := storetest.SharedCluster(t)
	p := storetest.NewPrefix()
	a := openEtcd(t, p)
	a.RawUpdate(func(tx store.KVTx) error { _, err := tx.CreateBucketIfNotExists([]byte("x")); return err })
	m := c.Members[2]
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.ClientURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	b, err := store.OpenEtcd(store.EtcdConfig{Client: cli, Prefix: p}, store.Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c.StopMember(m)
	var last int64
	for i := 0; i < 5; i++ {
		if err := a.RawUpdate(func(tx store.KVTx) error {
			return tx.Bucket([]byte("x")).Put([]byte(fmt.Sprint("k", i)), []byte("v"))
		}); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := c.Client()
	defer all.Close()
	resp, err := all.Get(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	last = resp.Header.Revision
	if _, err := all.Compact(context.Background(), last, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartMember(m); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c.WaitForLeader(ctx)
	var n int
	var verr error
	for try := 0; try < 40; try++ {
		verr = b.RawView(func(tx store.KVTx) error { n = tx.Bucket([]byte("x")).KeyN(); return nil })
		if verr == nil && n == 5 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("B after compaction: %d keys, %v", n, verr)
}
