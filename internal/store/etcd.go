package store

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// The etcd engine: several Gatehouse nodes over one etcd cluster.
//
// Every key of the database lives in etcd under a prefix; each node keeps
// a replica of that prefix in memory, an ordered tree fed by an etcd watch
// (the technique of Kubernetes' watch cache, with its consistent reads).
// A transaction starts with one linearizable read of the commit key,
// which every write transaction changes; it waits until the replica has
// applied that commit, then reads a copy-on-write clone of the replica:
// a consistent snapshot, at least as new as the cluster was when the
// transaction began. A write transaction buffers its writes in its clone
// and commits them with one etcd Txn that succeeds only if the commit key
// is still the one its snapshot saw, and changes it: commits are totally
// ordered, each saw everything committed before it, so transactions are
// serializable as bbolt's single writer makes them. A conflict runs the
// use case again (its closure is pure), a bounded number of times.
//
// Keys under the prefix: "b" + bucket (the bucket exists), "d" + bucket +
// 0 + key (a value), "s" + bucket (its sequence, 8 bytes), "c" (the
// commit key: a counter), and "e/…" (elections; not data).

// EtcdConfig says how to reach the cluster.
type EtcdConfig struct {
	Endpoints []string
	Prefix    string      // default "/gatehouse/"
	TLS       *tls.Config // nil: plain
	// Timeout bounds each request to the cluster (default 5 s): past it,
	// with no quorum, a transaction fails with ErrUnavailable.
	Timeout time.Duration
	// Client, when set, is used instead of dialling Endpoints (tests).
	Client *clientv3.Client
}

// DefaultEtcdPrefix is where a cluster keeps Gatehouse's keys by default.
const DefaultEtcdPrefix = "/gatehouse/"

// ErrUnavailable: the cluster did not answer (no quorum, or out of reach).
// Nothing was written.
var ErrUnavailable = errors.New("the etcd cluster does not answer (it has no quorum, or is out of reach); nothing was changed")

// maxConflicts bounds how often a write transaction is run again after
// another node committed first; a conflict backs off a random while that
// grows with the tries, so that no node starves another.
const maxConflicts = 200

// ErrNodeClosing: the database was closed while a transaction waited.
var ErrNodeClosing = fmt.Errorf("%w: this node is shutting down", ErrUnavailable)

// ErrUnknownOutcome: the cluster stopped answering while a write was
// committing, and whether it was saved cannot be known yet.
var ErrUnknownOutcome = errors.New("the etcd cluster stopped answering during the write: it may or may not have been saved")

// ErrTooLarge: one use case wrote more than the cluster takes in one
// transaction. Nothing was written.
var ErrTooLarge = errors.New("the write is larger than the etcd cluster accepts in one transaction")

// ErrContended: other nodes kept committing first for as long as a write
// may wait. Nothing was written.
var ErrContended = errors.New("the cluster is too busy: other nodes kept writing first; nothing was changed")

type kvItem struct {
	key []byte
	val []byte
}

func itemLess(a, b kvItem) bool { return bytes.Compare(a.key, b.key) < 0 }

func newTree() *btree.BTreeG[kvItem] { return btree.NewG(32, itemLess) }

// etcdEngine is one node's connection to the cluster and its replica.
type etcdEngine struct {
	cli     *clientv3.Client
	own     bool // the engine dialled cli, and closes it
	prefix  string
	timeout time.Duration

	mu        sync.Mutex
	changed   *sync.Cond
	tree      *btree.BTreeG[kvItem] // the replica; cloned under mu
	commitMod int64                 // mod revision of the commit key in the replica
	commitN   uint64                // its counter
	watchErr  error                 // the watch ended for good
	stop      context.CancelFunc
	watched   chan struct{}

	writeMu sync.Mutex // this node's write transactions, one at a time
	bmu     sync.Mutex
	group   *writeGroup // the batch collecting calls, if any
	rerun   bool
	written atomic.Int64 // keys this node's commits wrote

	outbox     chan struct{} // OutboxChanged
	outboxKeys []byte
}

// NormalPrefix is the prefix as the engine uses it: the default when
// empty, and ending with a slash.
func NormalPrefix(p string) string {
	if p == "" {
		p = DefaultEtcdPrefix
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func openEtcdEngine(cfg EtcdConfig, rerun bool) (*etcdEngine, error) {
	cfg.Prefix = NormalPrefix(cfg.Prefix)
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	e := &etcdEngine{cli: cfg.Client, prefix: cfg.Prefix, timeout: cfg.Timeout, tree: newTree(), rerun: rerun, watched: make(chan struct{}),
		outbox: make(chan struct{}, 1), outboxKeys: bucketData(bucketOutboxDue)}
	e.changed = sync.NewCond(&e.mu)
	if e.cli == nil {
		if len(cfg.Endpoints) == 0 {
			return nil, errors.New("name the etcd cluster's endpoints")
		}
		cli, err := NewEtcdClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		e.cli, e.own = cli, true
	}
	rev, err := e.load()
	if err != nil {
		e.closeClient()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	go e.watch(ctx, rev)
	return e, nil
}

// maxRecv is the largest answer the client takes: above any member's
// --max-request-bytes, since a watch that fell behind is sent in fragments
// of up to that size each (README: keep it at most 64 MiB).
const maxRecv = 256 << 20

// NewEtcdClient dials the cluster as the engine does: its own log kept
// quiet (errors reach the caller), requests up to 64 MiB (a use case's
// keys commit in one transaction; the members' --max-request-bytes bounds
// what they accept), answers up to maxRecv.
func NewEtcdClient(cfg EtcdConfig) (*clientv3.Client, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return clientv3.New(clientv3.Config{Endpoints: cfg.Endpoints, TLS: cfg.TLS, DialTimeout: cfg.Timeout, Logger: quietLogger(),
		MaxCallSendMsgSize: 64 << 20, MaxCallRecvMsgSize: maxRecv})
}

func (e *etcdEngine) closeClient() {
	if e.own {
		e.cli.Close()
	}
}

func (e *etcdEngine) close() error {
	e.stop()
	<-e.watched
	e.closeClient()
	return nil
}

func (e *etcdEngine) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), e.timeout)
}

// unavailable turns a cluster error into ErrUnavailable, keeping its text.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (%v)", ErrUnavailable, err)
}

// load reads the whole prefix at one revision into the replica, in pages,
// and returns that revision.
func (e *etcdEngine) load() (int64, error) {
	const page = 2000
	tree := newTree()
	var rev int64
	from := e.prefix
	end := clientv3.GetPrefixRangeEnd(e.prefix)
	var commitMod int64
	var commitN uint64
	for {
		ctx, cancel := e.ctx()
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(page)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := e.cli.Get(ctx, from, opts...)
		cancel()
		if err != nil {
			return 0, unavailable(err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			local := kv.Key[len(e.prefix):]
			if string(local) == "c" {
				commitMod, commitN = kv.ModRevision, readU64(kv.Value)
			}
			if !ours(local) {
				continue
			}
			tree.ReplaceOrInsert(kvItem{bytes.Clone(local), nonNil(kv.Value)})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	e.mu.Lock()
	e.tree, e.commitMod, e.commitN = tree, commitMod, commitN
	e.mu.Unlock()
	return rev, nil
}

// nonNil: an empty value is a value (bbolt returns it as an empty slice;
// the store tests presence by Get(k) != nil); etcd's client gives nil.
func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// ours reports whether a local key is one of this engine's forms (see the
// package comment above): a key under a nested prefix — another database
// at prefix + "b/…", say — or an election key is none, and is not data.
func ours(local []byte) bool {
	if len(local) == 1 {
		return local[0] == 'c'
	}
	if len(local) < 2 {
		return false
	}
	name := local[1:]
	switch local[0] {
	case 'b', 's':
	case 'd':
		i := bytes.IndexByte(name, 0)
		if i < 0 {
			return false
		}
		name = name[:i]
	default:
		return false
	}
	return validBucketName(name)
}

// validBucketName: bucket names are lower-case words with digits and
// underscores (users_v1), never a slash.
func validBucketName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// watch applies the cluster's changes to the replica from rev+1 on. A
// watch cut (a lost leader, a member gone) resumes from the last revision
// applied; one that fell behind a compaction reloads the replica.
func (e *etcdEngine) watch(ctx context.Context, rev int64) {
	defer close(e.watched)
	failures := 0
	for ctx.Err() == nil {
		compacted := false
		from := rev
		// Fragments: a watch that fell behind gets up to a thousand
		// revisions at once, which must not exceed what the client takes.
		wch := e.cli.Watch(clientv3.WithRequireLeader(ctx), e.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithFragment())
		for resp := range wch {
			if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
				compacted = true
				break
			}
			if resp.Err() != nil {
				break
			}
			e.apply(resp.Events)
			if n := len(resp.Events); n > 0 {
				rev = resp.Events[n-1].Kv.ModRevision
			}
		}
		if ctx.Err() != nil {
			break
		}
		if rev == from {
			failures++
		} else {
			failures = 0
		}
		time.Sleep(50 * time.Millisecond)
		// A watch that keeps ending where it began cannot catch up: load
		// the prefix afresh, as after a compaction.
		if compacted || failures >= 5 {
			failures = 0
			if r, err := e.load(); err == nil {
				rev = r
				e.mu.Lock()
				e.changed.Broadcast()
				e.mu.Unlock()
			}
		}
	}
	e.mu.Lock()
	e.watchErr = errors.New("closed")
	e.changed.Broadcast()
	e.mu.Unlock()
}

func (e *etcdEngine) apply(events []*clientv3.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range events {
		local := ev.Kv.Key[len(e.prefix):]
		if !ours(local) {
			continue
		}
		if ev.Type == clientv3.EventTypeDelete {
			e.tree.Delete(kvItem{key: local})
		} else {
			e.tree.ReplaceOrInsert(kvItem{bytes.Clone(local), nonNil(ev.Kv.Value)})
		}
		if string(local) == "c" {
			e.commitMod, e.commitN = ev.Kv.ModRevision, readU64(ev.Kv.Value)
		}
		e.noteChange(local)
	}
	e.changed.Broadcast()
}

// snapshot returns a clone of the replica that holds every commit made
// before the call, and the commit it holds.
func (e *etcdEngine) snapshot() (*btree.BTreeG[kvItem], int64, uint64, error) {
	want, err := e.latestCommit()
	if err != nil {
		return nil, 0, 0, err
	}
	deadline := time.Now().Add(e.timeout)
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.commitMod < want {
		if e.watchErr != nil {
			return nil, 0, 0, ErrNodeClosing
		}
		if time.Now().After(deadline) {
			return nil, 0, 0, unavailable(errors.New("this node's copy did not catch up with the cluster"))
		}
		waitFor(e.changed, 50*time.Millisecond)
	}
	return e.tree.Clone(), e.commitMod, e.commitN, nil
}

// waitFor waits on c (its lock held) for at most d.
func waitFor(c *sync.Cond, d time.Duration) {
	t := time.AfterFunc(d, func() { c.L.Lock(); c.Broadcast(); c.L.Unlock() })
	c.Wait()
	t.Stop()
}

// waitApplied waits until the replica holds the commit of mod revision rev
// (after this node's own commit, so that its next read sees it).
func (e *etcdEngine) waitApplied(rev int64) error {
	deadline := time.Now().Add(e.timeout)
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.commitMod < rev {
		if e.watchErr != nil {
			return ErrNodeClosing
		}
		if time.Now().After(deadline) {
			return unavailable(errors.New("this node's copy did not catch up with the cluster"))
		}
		waitFor(e.changed, 50*time.Millisecond)
	}
	return nil
}

func (e *etcdEngine) view(fn func(kvTx) error) error {
	tree, _, _, err := e.snapshot()
	if err != nil {
		return err
	}
	return fn(&etcdTx{tree: tree})
}

// update runs fn alone in one write transaction.
func (e *etcdEngine) update(fn func(kvTx) error) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	return result(e.runCalls([]*writeCall{{fn: fn}})[0])
}

// writeGroup is write calls committed together (Batch), as bbolt's Batch
// groups them: each runs in turn over the writes of the ones before, a
// call that fails leaves no write, and one etcd Txn commits the rest.
type writeGroup struct {
	calls []*writeCall
	timer *time.Timer
}

type writeCall struct {
	fn   func(kvTx) error
	done chan error
}

// callPanic carries a call's panic to its caller's goroutine, where it is
// raised again (a panic in a grouped call must not end the process).
type callPanic struct{ value any }

func (p *callPanic) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// run runs the call's closure, turning a panic into a callPanic.
func (c *writeCall) run(tx kvTx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &callPanic{r}
		}
	}()
	return c.fn(tx)
}

// result is what a caller gets back: a panic is raised again.
func result(err error) error {
	var p *callPanic
	if errors.As(err, &p) {
		panic(p.value)
	}
	return err
}

// batchDelay is how long a lone write waits for company, and batchMax the
// most calls one commit takes.
const (
	batchDelay = 2 * time.Millisecond
	batchMax   = 64
)

func (e *etcdEngine) batch(fn func(kvTx) error) error {
	c := &writeCall{fn: fn, done: make(chan error, 1)}
	e.bmu.Lock()
	if e.group == nil {
		g := &writeGroup{}
		g.timer = time.AfterFunc(batchDelay, func() { e.flush(g) })
		e.group = g
	}
	g := e.group
	g.calls = append(g.calls, c)
	if len(g.calls) >= batchMax {
		e.group = nil
		g.timer.Stop()
		e.bmu.Unlock()
		go e.commitGroup(g)
	} else {
		e.bmu.Unlock()
	}
	return result(<-c.done)
}

func (e *etcdEngine) flush(g *writeGroup) {
	e.bmu.Lock()
	if e.group == g {
		e.group = nil
	}
	e.bmu.Unlock()
	e.commitGroup(g)
}

func (e *etcdEngine) commitGroup(g *writeGroup) {
	e.writeMu.Lock()
	results := e.runCalls(g.calls)
	if len(g.calls) > 1 {
		// A group the cluster finds too large, together, is committed a
		// call at a time: each may fit alone.
		for i := range results {
			if errors.Is(results[i], ErrTooLarge) {
				results[i] = e.runCalls(g.calls[i : i+1])[0]
			}
		}
	}
	e.writeMu.Unlock()
	for i, c := range g.calls {
		c.done <- results[i]
	}
}

// runCalls runs the calls in one write transaction, again from a newer
// snapshot after a conflict, and returns each call's result.
//
// A write transaction starts from the replica as it is, without asking the
// cluster first: its commit compares the commit key with the snapshot's,
// so a stale snapshot fails to commit and the calls run again once the
// replica has the commit that beat it. Calls that wrote nothing are
// confirmed by one linearizable read of the commit key instead (their
// answers, "no such user" say, must not come from a stale copy).
//
// The caller holds writeMu: this node's write transactions run one at a
// time.
func (e *etcdEngine) runCalls(calls []*writeCall) []error {
	results := make([]error, len(calls))
	fail := func(err error) []error {
		for i := range results {
			results[i] = err
		}
		return results
	}
	deadline := time.Now().Add(3 * e.timeout)
	for attempt := 0; ; attempt++ {
		e.mu.Lock()
		tree, commitMod, commitN := e.tree.Clone(), e.commitMod, e.commitN
		e.mu.Unlock()
		tx := &etcdTx{tree: tree, writable: true, ops: map[string]*kvOp{}}
		for i, c := range calls {
			if e.rerun { // tests: a closure must be safe to run twice
				_ = c.run(tx.child())
			}
			child := tx.child()
			if results[i] = c.run(child); results[i] == nil {
				tx.adopt(child)
			}
		}
		var ok bool
		var rev int64
		var err error
		if len(tx.ops) == 0 {
			rev, err = e.latestCommit()
			ok = err == nil && rev == commitMod
		} else {
			ok, rev, err = e.commit(tx, commitMod, commitN)
		}
		if err != nil {
			return fail(err)
		}
		if ok {
			if err := e.waitApplied(rev); err != nil { // this node's next transaction reads its own writes
				return fail(err)
			}
			return results
		}
		if attempt == maxConflicts || time.Now().After(deadline) {
			return fail(fmt.Errorf("%w (%d tries)", ErrContended, attempt+1))
		}
		// Another commit came first: back off, then wait until the replica
		// has what is committed now.
		time.Sleep(time.Duration(rand.Int64N(int64(min(attempt+1, 20)) * int64(time.Millisecond))))
		if rev, err = e.latestCommit(); err != nil {
			return fail(err)
		}
		if err := e.waitApplied(rev); err != nil {
			return fail(err)
		}
	}
}

// latestCommit is the commit key's mod revision, read linearizably.
func (e *etcdEngine) latestCommit() (int64, error) {
	ctx, cancel := e.ctx()
	resp, err := e.cli.Get(ctx, e.prefix+"c")
	cancel()
	if err != nil {
		return 0, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	return resp.Kvs[0].ModRevision, nil
}

// commit writes tx's changes if the commit key is still at commitMod. It
// reports whether it committed, and at which revision. The commit key's
// new value carries a token of this commit, so that a commit whose answer
// was lost (a timeout, a dropped connection) is settled by reading the key:
// ours, committed; still at commitMod or another's, not committed (only one
// commit can follow commitMod); unreadable, ErrUnknownOutcome.
func (e *etcdEngine) commit(tx *etcdTx, commitMod int64, commitN uint64) (bool, int64, error) {
	if len(tx.ops) == 0 {
		return true, 0, nil // read only: nothing to order
	}
	ops := make([]clientv3.Op, 0, len(tx.ops)+1)
	for k, op := range tx.ops {
		if op.del {
			ops = append(ops, clientv3.OpDelete(e.prefix+k))
		} else {
			ops = append(ops, clientv3.OpPut(e.prefix+k, string(op.val)))
		}
	}
	token := make([]byte, 16)
	crand.Read(token)
	value := string(u64(commitN+1)) + string(token)
	ops = append(ops, clientv3.OpPut(e.prefix+"c", value))
	cmp := clientv3.Compare(clientv3.ModRevision(e.prefix+"c"), "=", commitMod)
	ctx, cancel := e.ctx()
	resp, err := e.cli.Txn(ctx).If(cmp).Then(ops...).Commit()
	cancel()
	if err != nil {
		if tooLarge(err) {
			return false, 0, txnError(err, len(ops))
		}
		return e.settle(value, commitMod, err)
	}
	if resp.Succeeded {
		e.written.Add(int64(len(ops)))
	}
	return resp.Succeeded, resp.Header.Revision, nil
}

// settle finds out whether a commit whose answer was lost happened. The
// commit key holding our token: committed. Another's: not (only one commit
// can follow commitMod). Not moved: the lost request may still reach the
// leader and succeed, so settle fences it off with a commit of the key
// alone; once that succeeds ours can never commit.
func (e *etcdEngine) settle(value string, commitMod int64, cause error) (bool, int64, error) {
	token := make([]byte, 16)
	for try := 0; try < 5; try++ {
		crand.Read(token)
		fence := value[:8] + string(token)
		ctx, cancel := e.ctx()
		resp, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(e.prefix+"c"), "=", commitMod)).
			Then(clientv3.OpPut(e.prefix+"c", fence)).Else(clientv3.OpGet(e.prefix + "c")).Commit()
		cancel()
		if err != nil {
			continue
		}
		if resp.Succeeded {
			return false, 0, unavailable(cause) // fenced off: nothing of ours was written
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) > 0 && string(kvs[0].Value) == value {
			return true, kvs[0].ModRevision, nil
		}
		return false, 0, nil // another commit came first: a conflict, run again
	}
	return false, 0, fmt.Errorf("%w (%v)", ErrUnknownOutcome, cause)
}

// txnError explains a refused transaction: too big for the cluster's
// limits (the operator's to raise), or a cluster that does not answer.
func txnError(err error, ops int) error {
	if err == nil {
		return nil
	}
	if tooLarge(err) {
		return fmt.Errorf("%w (%d keys): start its members with --max-txn-ops and --max-request-bytes as the README says: %v", ErrTooLarge, ops, err)
	}
	return unavailable(err)
}

func tooLarge(err error) bool {
	return strings.Contains(err.Error(), "too many operations") || strings.Contains(err.Error(), "request is too large") ||
		strings.Contains(err.Error(), "larger than max")
}

// etcdTx is a transaction over a clone of the replica.
type etcdTx struct {
	tree     *btree.BTreeG[kvItem]
	writable bool
	ops      map[string]*kvOp // local key → its last write
}

type kvOp struct {
	val []byte
	del bool
}

func (t *etcdTx) child() *etcdTx {
	return &etcdTx{tree: t.tree.Clone(), writable: true, ops: map[string]*kvOp{}}
}

func (t *etcdTx) adopt(c *etcdTx) {
	t.tree = c.tree
	for k, op := range c.ops {
		t.ops[k] = op
	}
}

func (t *etcdTx) Writable() bool { return t.writable }

func (t *etcdTx) get(key []byte) []byte {
	if it, ok := t.tree.Get(kvItem{key: key}); ok {
		return it.val
	}
	return nil
}

func (t *etcdTx) has(key []byte) bool { return t.tree.Has(kvItem{key: key}) }

func (t *etcdTx) put(key, val []byte) error {
	if !t.writable {
		return errors.New("a read transaction cannot write")
	}
	key, val = bytes.Clone(key), bytes.Clone(val)
	if val == nil {
		val = []byte{}
	}
	t.tree.ReplaceOrInsert(kvItem{key, val})
	t.ops[string(key)] = &kvOp{val: val}
	return nil
}

func (t *etcdTx) del(key []byte) error {
	if !t.writable {
		return errors.New("a read transaction cannot write")
	}
	if _, ok := t.tree.Delete(kvItem{key: key}); ok {
		t.ops[string(key)] = &kvOp{del: true}
	}
	return nil
}

func bucketMark(name []byte) []byte { return append([]byte("b"), name...) }
func bucketSeq(name []byte) []byte  { return append([]byte("s"), name...) }
func bucketData(name []byte) []byte { return append(append([]byte("d"), name...), 0) }

func (t *etcdTx) Bucket(name []byte) kvBucket {
	if !t.has(bucketMark(name)) {
		return nil
	}
	return &etcdBucket{tx: t, name: bytes.Clone(name), prefix: bucketData(name)}
}

func (t *etcdTx) CreateBucketIfNotExists(name []byte) (kvBucket, error) {
	if !validBucketName(name) {
		return nil, fmt.Errorf("bad bucket name %q", name)
	}
	if !t.has(bucketMark(name)) {
		if err := t.put(bucketMark(name), nil); err != nil {
			return nil, err
		}
	}
	return t.Bucket(name), nil
}

func (t *etcdTx) DeleteBucket(name []byte) error {
	if !t.has(bucketMark(name)) {
		return fmt.Errorf("bucket %q not found", name)
	}
	var keys [][]byte
	prefix := bucketData(name)
	t.tree.AscendGreaterOrEqual(kvItem{key: prefix}, func(it kvItem) bool {
		if !bytes.HasPrefix(it.key, prefix) {
			return false
		}
		keys = append(keys, it.key)
		return true
	})
	for _, k := range append(keys, bucketMark(name), bucketSeq(name)) {
		if err := t.del(k); err != nil {
			return err
		}
	}
	return nil
}

// etcdBucket is one bucket of an etcdTx.
type etcdBucket struct {
	tx     *etcdTx
	name   []byte
	prefix []byte // "d" + name + 0
}

func (b *etcdBucket) key(k []byte) []byte { return append(bytes.Clone(b.prefix), k...) }

func (b *etcdBucket) Get(k []byte) []byte { return b.tx.get(b.key(k)) }

func (b *etcdBucket) Put(k, v []byte) error {
	if len(k) == 0 {
		return errors.New("key required")
	}
	return b.tx.put(b.key(k), v)
}

func (b *etcdBucket) Delete(k []byte) error { return b.tx.del(b.key(k)) }

func (b *etcdBucket) Cursor() kvCursor { return &etcdCursor{b: b} }

func (b *etcdBucket) ForEach(fn func(k, v []byte) error) error {
	var err error
	b.tx.tree.AscendGreaterOrEqual(kvItem{key: b.prefix}, func(it kvItem) bool {
		if !bytes.HasPrefix(it.key, b.prefix) {
			return false
		}
		err = fn(it.key[len(b.prefix):], it.val)
		return err == nil
	})
	return err
}

func (b *etcdBucket) Sequence() uint64 { return readU64(b.tx.get(bucketSeq(b.name))) }

func (b *etcdBucket) SetSequence(v uint64) error { return b.tx.put(bucketSeq(b.name), u64(v)) }

func (b *etcdBucket) NextSequence() (uint64, error) {
	n := b.Sequence() + 1
	return n, b.SetSequence(n)
}

func (b *etcdBucket) KeyN() int {
	n := 0
	b.ForEach(func(_, _ []byte) error { n++; return nil })
	return n
}

func (b *etcdBucket) SetFillPercent(float64) {}

// etcdCursor walks a bucket of the clone; each move is a search of the
// tree from the current key, so writes between moves are seen, as in bbolt.
// It also keeps bbolt's place off the ends (the store's walks rely on
// some of it; a test compares every sequence of moves with bbolt's): a Next
// off the end stays on the last key, so Prev then gives the one before it;
// a Seek past the end stands after the last key, so Prev gives the last; a
// Prev off the start stays on the first key, so Next gives the second.
type etcdCursor struct {
	b   *etcdBucket
	cur []byte // the full key the cursor stands on; nil: none (after a Seek past the end, or empty)
	off int    // +1: ran off the end; -1: ran off the start; 0: on cur
}

func (c *etcdCursor) out(it kvItem) ([]byte, []byte) { return it.key[len(c.b.prefix):], it.val }

// find returns the first item at (inclusive) or after from, ascending, or
// at or before from, descending, within the bucket.
func (c *etcdCursor) find(from []byte, inclusive, ascending bool) (kvItem, bool) {
	var found kvItem
	ok := false
	visit := func(it kvItem) bool {
		if !inclusive && bytes.Equal(it.key, from) {
			return true
		}
		found, ok = it, bytes.HasPrefix(it.key, c.b.prefix)
		return false
	}
	if ascending {
		c.b.tx.tree.AscendGreaterOrEqual(kvItem{key: from}, visit)
	} else {
		c.b.tx.tree.DescendLessOrEqual(kvItem{key: from}, visit)
	}
	return found, ok
}

// jump moves to the first (or last) key, or to none in an empty bucket.
func (c *etcdCursor) jump(first bool) ([]byte, []byte) {
	var it kvItem
	var ok bool
	if first {
		it, ok = c.find(c.b.prefix, true, true)
	} else {
		end := bytes.Clone(c.b.prefix)
		end[len(end)-1] = 1 // "d" + name + 1: just past the bucket
		it, ok = c.find(end, false, false)
	}
	c.off = 0
	if !ok {
		c.cur = nil
		return nil, nil
	}
	c.cur = it.key
	return c.out(it)
}

func (c *etcdCursor) First() ([]byte, []byte) { return c.jump(true) }
func (c *etcdCursor) Last() ([]byte, []byte)  { return c.jump(false) }

func (c *etcdCursor) Seek(seek []byte) ([]byte, []byte) {
	it, ok := c.find(c.b.key(seek), true, true)
	if !ok {
		c.cur, c.off = nil, +1
		return nil, nil
	}
	c.cur, c.off = it.key, 0
	return c.out(it)
}

func (c *etcdCursor) Next() ([]byte, []byte) {
	if c.off > 0 || c.cur == nil {
		return nil, nil
	}
	it, ok := c.find(c.cur, false, true)
	if !ok {
		c.off = +1 // stays on the last key
		return nil, nil
	}
	c.cur, c.off = it.key, 0
	return c.out(it)
}

func (c *etcdCursor) Prev() ([]byte, []byte) {
	if c.off < 0 {
		return nil, nil
	}
	if c.cur == nil {
		if c.off > 0 { // after a Seek past the end
			return c.Last()
		}
		return nil, nil
	}
	it, ok := c.find(c.cur, false, false)
	if !ok {
		c.off = -1 // stays on the first key
		return nil, nil
	}
	c.cur, c.off = it.key, 0
	return c.out(it)
}

// quietLogger keeps the etcd client's own log out of Gatehouse's: its
// errors reach the caller as errors.
func quietLogger() *zap.Logger { return zap.NewNop() }

// OpenEtcd opens the database a cluster holds under cfg.Prefix. An empty
// prefix gets the current layout (every node may start at once: commits
// are ordered); a prefix with an older layout is migrated like a file.
// The key check runs first, as for a data folder.
func OpenEtcd(cfg EtcdConfig, opt Options) (*DB, error) {
	eng, err := openEtcdEngine(cfg, opt.RerunWrites)
	if err != nil {
		return nil, err
	}
	eng.mu.Lock()
	cut := eng.tree.Len() > 0 && eng.commitMod == 0
	eng.mu.Unlock()
	if cut {
		eng.close()
		return nil, fmt.Errorf("%w: the etcd prefix %s holds keys but no commit — a copy (gatehouse migrate) that did not finish; delete the prefix and copy again", ErrDamaged, eng.prefix)
	}
	name := strings.Join(cfg.Endpoints, ",")
	if name == "" {
		name = "etcd"
	}
	db := &DB{etcd: eng, path: name + " " + eng.prefix, auditKey: bytes.Clone(opt.AuditKey), rerun: opt.RerunWrites,
		ready: make(chan struct{}), closing: make(chan struct{}), checked: make(chan struct{})}
	close(db.ready)
	close(db.checked)
	if err := db.prepare(opt, migrations); err != nil {
		eng.close()
		return nil, err
	}
	return db, nil
}

// Engine names the engine: "bbolt" or "etcd".
func (db *DB) Engine() string {
	if db.etcd != nil {
		return "etcd"
	}
	return "bbolt"
}

// EtcdHolds reports whether the cluster holds any key under cfg.Prefix.
func EtcdHolds(cfg EtcdConfig) (bool, error) {
	cfg.Prefix = NormalPrefix(cfg.Prefix)
	cli, err := NewEtcdClient(cfg)
	if err != nil {
		return false, unavailable(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, cfg.Prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return false, unavailable(err)
	}
	return resp.Count > 0, nil
}
