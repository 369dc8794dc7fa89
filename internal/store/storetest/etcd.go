package storetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"

	"gatehouse/internal/store"
)

// Cluster is a three-member etcd cluster in this process, on loopback
// ports, for tests and benchmarks of the etcd engine.
type Cluster struct {
	Dir     string
	Members []*Member
	mu      sync.Mutex
}

// Member is one etcd member of a Cluster.
type Member struct {
	Name      string
	ClientURL string
	cfg       *embed.Config
	etcd      *embed.Etcd
}

// ClusterOptions tune a test cluster.
type ClusterOptions struct {
	// NoFsync skips etcd's fsyncs (scenario tables, where speed matters
	// and no member is killed); benchmarks and fault tests keep them.
	NoFsync bool
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// StartCluster starts three members in dir and waits until they have a
// leader.
func StartCluster(dir string, o ClusterOptions) (*Cluster, error) {
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir}
	var initial []string
	for i := 0; i < 3; i++ {
		initial = append(initial, fmt.Sprintf("m%d=http://127.0.0.1:%d", i, ports[2*i+1]))
	}
	for i := 0; i < 3; i++ {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]))
		pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]))
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "gatehouse-test"
		cfg.ClusterState = embed.ClusterStateFlagNew
		cfg.LogLevel = "error"
		cfg.LogOutputs = []string{filepath.Join(dir, cfg.Name+".log")}
		// As the README asks of a production cluster: Gatehouse commits a
		// use case's keys in one transaction (a retention sweep or a
		// migration batch holds thousands).
		cfg.MaxTxnOps = 16384
		cfg.MaxRequestBytes = 32 << 20
		cfg.UnsafeNoFsync = o.NoFsync
		// Old revisions go after five minutes, as the README asks of a
		// production cluster (each rewrite of a packed list is one).
		cfg.AutoCompactionMode, cfg.AutoCompactionRetention = "periodic", "5m"
		cfg.QuotaBackendBytes = 8 << 30
		cfg.TickMs, cfg.ElectionMs = 50, 600
		c.Members = append(c.Members, &Member{Name: cfg.Name, ClientURL: cu.String(), cfg: cfg})
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	errs := make(chan error, 3)
	for _, m := range c.Members {
		go func(m *Member) { errs <- m.start() }(m)
	}
	for range c.Members {
		if err := <-errs; err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

func (m *Member) start() error {
	e, err := embed.StartEtcd(m.cfg)
	if err != nil {
		return fmt.Errorf("etcd member %s: %w", m.Name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("etcd member %s: %w", m.Name, err)
	case <-time.After(60 * time.Second):
		e.Close()
		return fmt.Errorf("etcd member %s did not become ready", m.Name)
	}
	m.etcd = e
	return nil
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.ClientURL)
	}
	return out
}

// Client dials every member.
func (c *Cluster) Client() (*clientv3.Client, error) {
	return store.NewEtcdClient(store.EtcdConfig{Endpoints: c.Endpoints()})
}

// Leader is the member that leads now, or nil.
func (c *Cluster) Leader() *Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.Members {
		if m.etcd != nil && m.etcd.Server.Leader() == m.etcd.Server.MemberID() {
			return m
		}
	}
	return nil
}

// StopMember stops one member, as a machine that goes away.
func (c *Cluster) StopMember(m *Member) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.etcd != nil {
		m.etcd.Close()
		m.etcd = nil
	}
}

// RestartMember starts a stopped member again on its data.
func (c *Cluster) RestartMember(m *Member) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.etcd != nil {
		return nil
	}
	m.cfg.ClusterState = embed.ClusterStateFlagExisting
	return m.start()
}

// Stop stops every member.
func (c *Cluster) Stop() {
	for _, m := range c.Members {
		c.StopMember(m)
	}
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
	prefixes   atomic.Int64
)

// Engine is the engine tests run on: GATEHOUSE_TEST_ENGINE=etcd runs them
// over a three-member cluster in this process; anything else, bbolt.
func Engine() string {
	if os.Getenv("GATEHOUSE_TEST_ENGINE") == "etcd" {
		return "etcd"
	}
	return "bbolt"
}

// SharedCluster starts, once per test binary, the cluster every test on
// the etcd engine shares, each under a prefix of its own.
func SharedCluster(tb testing.TB) *Cluster {
	tb.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-etcd-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = StartCluster(dir, ClusterOptions{NoFsync: true})
	})
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared
}

// StopShared stops the shared cluster, if one was started, and removes its
// folder (a TestMain calls it after the tests).
func StopShared() {
	if shared != nil {
		shared.Stop()
		os.RemoveAll(shared.Dir)
	}
}

// NewPrefix is a prefix no other test of this process uses.
func NewPrefix() string { return fmt.Sprintf("/test-%d-%d/", os.Getpid(), prefixes.Add(1)) }

// WaitForLeader waits until the cluster has a leader again.
func (c *Cluster) WaitForLeader(ctx context.Context) error {
	for c.Leader() == nil {
		select {
		case <-ctx.Done():
			return errors.New("the cluster has no leader")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// RawContent is every byte the database keeps where it keeps them: the
// bbolt file, or every key and value under the etcd prefix (for tests
// that no secret is stored in clear).
func RawContent(tb testing.TB, db *store.DB) []byte {
	tb.Helper()
	if db.Engine() != "etcd" {
		raw, err := os.ReadFile(db.Path())
		if err != nil {
			tb.Fatal(err)
		}
		return raw
	}
	cli, err := SharedCluster(tb).Client()
	if err != nil {
		tb.Fatal(err)
	}
	defer cli.Close()
	prefix := db.Path()[strings.LastIndexByte(db.Path(), ' ')+1:]
	resp, err := cli.Get(context.Background(), prefix, clientv3.WithPrefix())
	if err != nil {
		tb.Fatal(err)
	}
	var out []byte
	for _, kv := range resp.Kvs {
		out = append(append(append(out, kv.Key...), kv.Value...), 0)
	}
	return out
}
