package store

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkOpenCheck measures Open's check (header, meta pages, freelist,
// the page tree's branches and bucket roots) and bbolt's open of a ~2 GB
// database, and reports once how long the full background check takes.
// It builds the file first (a minute or two), so it runs only with
// GATEHOUSE_BIG=1:
//
//	GATEHOUSE_BIG=1 go test ./internal/store -run '^$' -bench OpenCheck -benchtime 5x
func BenchmarkOpenCheck(b *testing.B) {
	if os.Getenv("GATEHOUSE_BIG") != "1" {
		b.Skip("set GATEHOUSE_BIG=1 to build a 2 GB database and time its open")
	}
	dir := b.TempDir()
	db, err := Open(dir, Options{AuditKey: []byte("k"), NoBackgroundCheck: true})
	if err != nil {
		b.Fatal(err)
	}
	// 2 GB of audit-sized records (~1 KB each) in one bucket, written in
	// key order in large transactions.
	const total, size, perTx = 2 << 30, 1000, 100000
	value := make([]byte, size)
	for n := uint64(0); n*size < total; {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("bench_filler"))
			if err != nil {
				return err
			}
			bk.FillPercent = 0.9
			for i := 0; i < perTx; i, n = i+1, n+1 {
				binary.BigEndian.PutUint64(value, n)
				if err := bk.Put(u64(n), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	st, _ := os.Stat(dir + "/" + FileName)
	b.Logf("file: %.2f GB", float64(st.Size())/(1<<30))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db, err := Open(dir, Options{AuditKey: []byte("k"), Existing: true, NoBackgroundCheck: true})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
	b.StopTimer()
	db, err = Open(dir, Options{AuditKey: []byte("k"), Existing: true, NoBackgroundCheck: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	if err := db.CheckPages(); err != nil {
		b.Fatal(err)
	}
	b.Logf("full background check (every page): %v", time.Since(start))
}
