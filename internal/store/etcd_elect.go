package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// Jobs that must run on one node at a time — the outbox's sending, the
// hourly retention and sweeps — run under an etcd election (a lease of
// electionTTL seconds): one node holds it and runs them; when that node
// dies its lease ends and another takes over. On a data folder there is
// one node: the jobs simply run.

// electionTTL is how long, in seconds, a dead node's lease outlives it.
const electionTTL = 5

// RunElected runs fn(ctx) while this node holds the election for jobs,
// and again each time it wins it back, until ctx ends. fn's context ends
// when the node loses the election (its lease could not be kept).
func (db *DB) RunElected(ctx context.Context, fn func(ctx context.Context)) {
	if db.etcd == nil {
		db.leading.Store(true)
		fn(ctx)
		db.leading.Store(false)
		return
	}
	for ctx.Err() == nil {
		if err := db.etcd.campaign(ctx, &db.leading, fn); err != nil && ctx.Err() == nil {
			time.Sleep(time.Second) // the cluster is out of reach: try again
		}
	}
}

// Leading reports whether this node runs the elected jobs now.
func (db *DB) Leading() bool { return db.leading.Load() }

func (e *etcdEngine) campaign(ctx context.Context, leading *atomic.Bool, fn func(ctx context.Context)) error {
	sess, err := concurrency.NewSession(e.cli, concurrency.WithTTL(electionTTL), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer sess.Close() // revokes the lease: a node that stops hands over at once
	el := concurrency.NewElection(sess, e.prefix+"e/jobs")
	host, _ := os.Hostname()
	if err := el.Campaign(ctx, fmt.Sprintf("%s pid %d", host, os.Getpid())); err != nil {
		return err
	}
	lead, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-sess.Done(): // the lease is gone: another node may lead now
		case <-lead.Done():
		}
		stop()
	}()
	leading.Store(true)
	fn(lead)
	leading.Store(false)
	rctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	_ = el.Resign(rctx)
	return nil
}

// OutboxChanged is signalled when another node changes the outbox, so
// that the node sending mail does not wait for its next look (nil on a
// data folder: every change there is this process's own).
func (db *DB) OutboxChanged() <-chan struct{} {
	if db.etcd == nil {
		return nil
	}
	return db.etcd.outbox
}

// noteChange signals watchers of what an applied change touched.
func (e *etcdEngine) noteChange(local []byte) {
	if bytes.HasPrefix(local, e.outboxKeys) {
		select {
		case e.outbox <- struct{}{}:
		default:
		}
	}
}
