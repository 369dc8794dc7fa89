package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store/storetest"
)

// A data folder copied into a cluster with migrate: the copy is refused
// into a prefix in use, the cluster's database verifies and backs up with
// the folder's key, and a node without that key — or with another — is
// refused, naming what to do.
func TestMigrateIntoAClusterThenUseIt(t *testing.T) {
	c := storetest.SharedCluster(t)
	endpoints, prefix := strings.Join(c.Endpoints(), ","), storetest.NewPrefix()
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "correct horse\n", "setup", "--data", dir, "--email", "mitch@kwgroup.uk", "--name", "Mitch", "--password-stdin"); code != ExitOK {
		t.Fatalf("setup: %s", errOut)
	}
	cluster := []string{"--etcd", endpoints, "--etcd-prefix", prefix}
	code, out, errOut := runCLI(t, "", "migrate", "--from-data", dir, "--to-etcd", endpoints, "--etcd-prefix", prefix)
	if code != ExitOK || !strings.Contains(out, "Copied") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "migrate", "--from-data", dir, "--to-etcd", endpoints, "--etcd-prefix", prefix); code != ExitRuntime || !strings.Contains(errOut, "already holds a Gatehouse database") {
		t.Fatalf("a second copy into the same prefix: %d %q", code, errOut)
	}
	if code, out, errOut := runCLI(t, "", append([]string{"audit", "verify", "--data", dir}, cluster...)...); code != ExitOK || !strings.Contains(out, "verify") {
		t.Fatalf("audit verify over the cluster: %d %q %q", code, out, errOut)
	}
	backupFile := filepath.Join(t.TempDir(), "cluster.gatehouse-backup")
	if code, _, errOut := runCLI(t, "a long backup passphrase\n", append([]string{"backup", backupFile, "--passphrase-stdin", "--data", dir}, cluster...)...); code != ExitOK {
		t.Fatalf("backup over the cluster: %q", errOut)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if code, _, errOut := runCLI(t, "a long backup passphrase\n", "restore", backupFile, "--passphrase-stdin", "--data", restored); code != ExitOK {
		t.Fatalf("restore of the cluster's backup: %q", errOut)
	}
	if code, out, _ := runCLI(t, "", "audit", "verify", "--data", restored); code != ExitOK || !strings.Contains(out, "verify") {
		t.Fatalf("the restored backup: %q", out)
	}
	// A node without the key, and one with another key.
	if code, _, errOut := runCLI(t, "", append([]string{"audit", "verify", "--data", t.TempDir()}, cluster...)...); code != ExitRuntime || !strings.Contains(errOut, "copy secret.key") {
		t.Fatalf("a node without the key: %d %q", code, errOut)
	}
	other := t.TempDir()
	if _, err := auth.LoadOrCreateKey(filepath.Join(other, auth.KeyFile)); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "", append([]string{"audit", "verify", "--data", other}, cluster...)...); code != ExitRuntime || !strings.Contains(errOut, "not the cluster's") {
		t.Fatalf("a node with another key: %d %q", code, errOut)
	}
}

func TestClusterFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--etcd", "nope"}, "is not an endpoint"},
		{[]string{"serve", "--etcd", "ftp://a:1"}, "is not an endpoint"},
		{[]string{"serve", "--etcd", "https://a:2379", "--etcd-cert", "c.pem"}, "go together"},
		{[]string{"serve", "--etcd-ca", "ca.pem"}, "go with --etcd"},
		{[]string{"serve", "--etcd", "https://a:2379", "--etcd-prefix", "gatehouse"}, "must start with /"},
		{[]string{"serve", "--etcd", "https://a:2379", "--etcd-prefix", "/"}, "not / itself"},
		{[]string{"serve", "--etcd", "http://192.0.2.1:2379"}, "plain HTTP to another machine"},
		{[]string{"serve", "--etcd", "https://a:2379,http://example.com:2379"}, "plain HTTP to another machine"},
		{[]string{"restore", "x.gatehouse-backup", "--etcd", "https://a:2379"}, "works on a data folder"},
		{[]string{"demo", "--etcd", "https://a:2379"}, "works on a data folder"},
		{[]string{"migrate", "--from-data", "x"}, "needs --from-data DIR and --to-etcd"},
	} {
		code, out, errOut := runCLI(t, "", c.args...)
		if code != ExitUsage || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%v: exit %d %q, want usage error %q", c.args, code, out+errOut, c.want)
		}
	}
}

// gatehouse serve --etcd on a cluster: /healthz says which engine, that
// the cluster answers, and (once elected) that this node sends the mail.
func TestServeOverAClusterSaysItsHealth(t *testing.T) {
	c := storetest.SharedCluster(t)
	dir := t.TempDir()
	url, output, _ := startServe(t, dir, "--etcd", strings.Join(c.Endpoints(), ","), "--etcd-prefix", storetest.NewPrefix())
	var h struct {
		Engine    string `json:"engine"`
		StoreOK   bool   `json:"storeOk"`
		SendsMail bool   `json:"sendsMail"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(url + "/healthz")
		if err == nil {
			json.NewDecoder(res.Body).Decode(&h)
			res.Body.Close()
		}
		if h.SendsMail || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if h.Engine != "etcd" || !h.StoreOK || !h.SendsMail {
		t.Fatalf("health %+v; %s", h, output())
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse.db")); err == nil {
		t.Fatal("a cluster node made a database file")
	}
	if _, err := os.Stat(filepath.Join(dir, auth.KeyFile)); err != nil {
		t.Fatalf("the first node of an empty cluster made no key: %v", err)
	}
}
