package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// BenchmarkAuditExport1M exports the whole log of core's benchmark database
// (1,000,000 events, built at $GATEHOUSE_BENCH_DB on first use) to
// io.Discard, in each format, and reports events per second and the peak
// heap while it runs: the export streams page by page, so the peak stays
// flat whatever the log's size.
//
//	go test -run '^$' -bench AuditExport1M -benchtime 3x -timeout 60m .
func BenchmarkAuditExport1M(b *testing.B) {
	dir := os.Getenv("GATEHOUSE_BENCH_DB")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gatehouse-bench-1m")
	}
	db, err := store.Open(dir, store.Options{AuditKey: []byte("bench key")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	const events = 1_000_000
	var n uint64
	if err := db.View(func(tx *store.Tx) (err error) { n, err = tx.CountEvents(); return err }); err != nil {
		b.Fatal(err)
	}
	if n < events {
		b.Logf("generating %d audit events in %s …", events-n, dir)
		if err := storetest.GenerateAuditLog(db, events-int(n), time.Date(2026, 5, 18, 12, 0, 0, 0, time.UTC), 90*24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	svc := core.New(core.Config{DB: db, Sealer: testSealer(b), Hasher: auth.NewHasher(4, 2)})
	for _, format := range []string{core.FormatCSV, core.FormatJSONL} {
		b.Run(format, func(b *testing.B) {
			runtime.GC()
			peak := watchHeap(b)
			b.ReportAllocs()
			b.ResetTimer()
			total := 0
			for i := 0; i < b.N; i++ {
				n, err := svc.ExportAuditFromCLI(core.AuditFilter{}, format, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				total += n
			}
			b.StopTimer()
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
		})
	}
}

// watchHeap samples the live heap every 5 ms until the benchmark ends and
// returns a function giving the largest sample.
func watchHeap(b *testing.B) func() uint64 {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-ctx.Done():
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	var peak uint64
	stopped := false
	stop := func() uint64 {
		if !stopped {
			cancel()
			peak, stopped = <-done, true
		}
		return peak
	}
	b.Cleanup(func() { stop() })
	return stop
}
