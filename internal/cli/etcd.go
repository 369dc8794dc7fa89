package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
)

// Several nodes over one etcd cluster: the commands that open the database
// take --etcd ENDPOINTS (or GATEHOUSE_ETCD) and then use the cluster
// instead of the data folder's file. The data folder still holds this
// node's secret.key (the same on every node), its LAN certificate and its
// control socket.

// etcdFlags are the cluster's flags, on every command.
type etcdFlags struct {
	endpoints, prefix, ca, cert, key *string
}

func addEtcdFlags(f *flags) {
	f.etcd = etcdFlags{
		endpoints: f.String("etcd", "", "run over this etcd cluster: its endpoints, comma-separated (https://a:2379,https://b:2379,…)"),
		prefix:    f.String("etcd-prefix", store.DefaultEtcdPrefix, "the key prefix of this Gatehouse in the cluster"),
		ca:        f.String("etcd-ca", "", "the CA certificate that signed the cluster's (TLS)"),
		cert:      f.String("etcd-cert", "", "this node's client certificate for the cluster (TLS)"),
		key:       f.String("etcd-key", "", "the key of --etcd-cert"),
	}
}

// clusterConfig reads the cluster's flags (and GATEHOUSE_ETCD): nil when
// the command runs on the data folder.
func (f *flags) clusterConfig(env *Env) (*store.EtcdConfig, error) {
	list := *f.etcd.endpoints
	if list == "" {
		list = env.Getenv("GATEHOUSE_ETCD")
	}
	if list == "" {
		if *f.etcd.ca != "" || *f.etcd.cert != "" || *f.etcd.key != "" {
			return nil, usagef("--etcd-ca, --etcd-cert and --etcd-key go with --etcd ENDPOINTS")
		}
		return nil, nil
	}
	cfg := &store.EtcdConfig{Prefix: store.NormalPrefix(*f.etcd.prefix)}
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" && u.Path != "/" {
			return nil, usagef("--etcd: %q is not an endpoint; write each as https://HOST:PORT (or http:// on loopback)", e)
		}
		// Every secret at rest, hashed or sealed, crosses this link: plain
		// HTTP only where it cannot leave the machine.
		if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			return nil, usagef("--etcd: %q is plain HTTP to another machine; use https:// (with --etcd-ca, --etcd-cert, --etcd-key) — plain HTTP is for loopback only", e)
		}
		cfg.Endpoints = append(cfg.Endpoints, e)
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || cfg.Prefix == "/" || strings.ContainsAny(cfg.Prefix, "\x00 ") {
		return nil, usagef("--etcd-prefix must start with /, name a folder of the key space (not / itself) and hold no spaces, for example /gatehouse/")
	}
	if (*f.etcd.cert == "") != (*f.etcd.key == "") {
		return nil, usagef("--etcd-cert and --etcd-key go together")
	}
	if *f.etcd.ca != "" || *f.etcd.cert != "" {
		info := transport.TLSInfo{TrustedCAFile: *f.etcd.ca, CertFile: *f.etcd.cert, KeyFile: *f.etcd.key}
		tlsCfg, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("the cluster's TLS files: %v", err)
		}
		cfg.TLS = tlsCfg
	}
	return cfg, nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// refuseCluster is the answer of commands that work on a data folder only.
func refuseCluster(env *Env, what string) error {
	if env.cluster != nil {
		return usagef("%s works on a data folder, not over --etcd", what)
	}
	return nil
}

// openCluster opens the cluster's database with this node's key: the key
// file in dir, made only for a cluster that holds no database yet (the
// first node); a node whose key is not the cluster's is refused.
func openCluster(env *Env, dir string, cfg store.EtcdConfig) (*core.Service, *store.DB, error) {
	keyPath := filepath.Join(dir, auth.KeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		holds, err := store.EtcdHolds(cfg)
		if err != nil {
			return nil, nil, err
		}
		if holds {
			return nil, nil, fmt.Errorf("this node has no key file (%s) and the cluster already holds a Gatehouse database: copy secret.key from another node into the data folder (the README says how), then start again", keyPath)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cannot make the data folder: %v", err)
	}
	key, err := auth.LoadOrCreateKey(keyPath)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := auth.NewSealer(key)
	if err != nil {
		return nil, nil, fmt.Errorf("the key file %s: %v", keyPath, err)
	}
	db, err := store.OpenEtcd(cfg, store.Options{AuditKey: sealer.SubKey(auth.AuditChainPurpose), CheckKey: core.KeyCheck(sealer)})
	if err == nil {
		svc := core.New(core.Config{DB: db, Sealer: sealer, Logger: logger(env), BackupDir: filepath.Join(dir, "backups")})
		if err = svc.CheckKey(); err == nil {
			return svc, db, nil
		}
		db.Close()
	}
	if errors.Is(err, core.ErrWrongKey) {
		return nil, nil, fmt.Errorf("the key file %s is not the cluster's (its key check does not match): copy secret.key from a node of the cluster (nothing was changed)", keyPath)
	}
	return nil, nil, err
}

const migrateUsage = `migrate --from-data DIR --to-etcd ENDPOINTS [--etcd-prefix P] [--etcd-ca F --etcd-cert F --etcd-key F]

Copies the database of a data folder (brought to this version first) into an
empty prefix of an etcd cluster; refused if the prefix is not empty. Then copy
the folder's secret.key to every node and start them with gatehouse serve --etcd.`

func runMigrate(env *Env, args []string) error {
	f := newFlags(env, "migrate", migrateUsage)
	from := f.String("from-data", "", "the data folder to copy")
	to := f.String("to-etcd", "", "the cluster's endpoints, comma-separated")
	if err := f.parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usagef("migrate needs --from-data DIR and --to-etcd ENDPOINTS")
	}
	*f.etcd.endpoints = *to
	cfg, err := f.clusterConfig(env)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*from, store.FileName)); err != nil {
		return fmt.Errorf("there is no Gatehouse database in %s", *from)
	}
	env.cluster = nil // the source is the folder, whatever GATEHOUSE_ETCD says
	_, db, closeDB, err := openFolder(env, *from)
	if err != nil {
		return err
	}
	defer closeDB()
	err = store.CopyToEtcd(db, *cfg, func(n int) { fmt.Fprintf(env.Stderr, "\rcopying… %d keys", n) })
	fmt.Fprint(env.Stderr, "\r")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Copied %s into %s under %s. Copy %s to every node's data folder, then start each with: gatehouse serve --etcd %s\n",
		*from, strings.Join(cfg.Endpoints, ","), cfg.Prefix, filepath.Join(*from, auth.KeyFile), strings.Join(cfg.Endpoints, ","))
	return nil
}
