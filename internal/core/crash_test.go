package core

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// The crash-safety suite: a child process runs concurrent use cases
// (invitations, renames, sign-ins) on a data folder and prints each write
// once it is acknowledged; the parent kills it with SIGKILL at a random
// moment, reopens the folder and checks that the file is consistent, the
// audit chain verifies, and every acknowledged write is there with its
// audit event. GATEHOUSE_CRASH_RUNS sets the number of kills (make soak).

const crashKey = "crash test audit key"

func crashRuns() int {
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_CRASH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 200
}

func TestCrashSafety(t *testing.T) {
	if os.Getenv("GATEHOUSE_CRASH_CHILD") != "" {
		t.Skip("this process is a crash child")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	invites, renames, signins := map[string]bool{}, map[string]bool{}, map[string]int{}
	runs := crashRuns()
	var acked int
	note := func(line string) {
		kind, what, ok := strings.Cut(line, " ")
		if !ok {
			return
		}
		switch kind {
		case "invite":
			invites[what] = true
		case "rename":
			renames[what] = true
		case "signin":
			signins[what]++
		}
		acked++
	}
	for run := 0; run < runs; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GATEHOUSE_CRASH_CHILD="+dir, fmt.Sprintf("GATEHOUSE_CRASH_RUN=%d", run))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			s := bufio.NewScanner(out)
			for s.Scan() {
				lines <- s.Text()
			}
			close(lines)
		}()
		// Kill at a random moment after the child starts writing.
		ready := false
		deadline := time.After(time.Duration(5+rng.Intn(120)) * time.Millisecond)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				if l == "ready" {
					ready = true
					deadline = time.After(time.Duration(rng.Intn(150)) * time.Millisecond)
					continue
				}
				note(l)
			case <-deadline:
				if ready {
					break wait
				}
				deadline = time.After(time.Second)
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines { // what the child wrote before it died still counts
			note(l)
		}
		cmd.Wait()
		checkCrashedFolder(t, dir, run, invites, renames, signins)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d kills, %d acknowledged writes (%d invitations, %d renames, %d sign-ins), all present with their audit events; chain verifies", runs, acked, len(invites), len(renames), total(signins))
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func checkCrashedFolder(t *testing.T, dir string, run int, invites, renames map[string]bool, signins map[string]int) {
	t.Helper()
	db, err := store.Open(dir, store.Options{AuditKey: []byte(crashKey)})
	if err != nil {
		t.Fatalf("run %d: reopen: %v", run, err)
	}
	defer db.Close()
	for _, err := range db.Check() {
		t.Errorf("run %d: consistency: %v", run, err)
	}
	if rep, err := db.VerifyChain(nil); err != nil || !rep.OK {
		t.Errorf("run %d: audit chain: %+v %v", run, rep, err)
	}
	seenInvite, seenRename, seenSignin := map[string]bool{}, map[string]bool{}, map[string]int{}
	db.View(func(tx *store.Tx) error {
		return tx.ScanAudit(store.AuditQuery{}, func(e store.Event) (bool, error) {
			switch e.Action {
			case ActInvite:
				inv, _ := tx.Invitation(mustID(e.ResourceID))
				if inv != nil {
					seenInvite[inv.Email] = true
				}
			case ActUpdate:
				var m struct{ After struct{ Name string } }
				jsonUnmarshal(e.Meta, &m)
				seenRename[m.After.Name] = true
			case ActSignIn:
				seenSignin[e.ActorEmail]++
			}
			return true, nil
		})
	})
	for email := range invites {
		var inv *store.Invitation
		db.View(func(tx *store.Tx) (err error) { inv, err = tx.PendingInvitation(1, email); return })
		if inv == nil || !seenInvite[email] {
			t.Errorf("run %d: acknowledged invitation to %s is missing (record %v, event %v)", run, email, inv != nil, seenInvite[email])
		}
	}
	for name := range renames {
		if !seenRename[name] {
			t.Errorf("run %d: acknowledged rename to %q has no audit event", run, name)
		}
	}
	for email, n := range signins {
		if seenSignin[email] < n {
			t.Errorf("run %d: %d acknowledged sign-ins of %s, %d recorded", run, n, email, seenSignin[email])
		}
	}
}

func mustID(s string) uint64 { n, _ := strconv.ParseUint(s, 10, 64); return n }

// TestCrashChild is the child process: it writes until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("GATEHOUSE_CRASH_CHILD")
	if dir == "" {
		t.Skip("run by TestCrashSafety")
	}
	run := os.Getenv("GATEHOUSE_CRASH_RUN")
	db, err := store.Open(dir, store.Options{LockTimeout: 5 * time.Second, AuditKey: []byte(crashKey)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	svc := New(Config{DB: db, Sealer: testSealer(), Hasher: auth.NewHasher(4, 4)})
	if st, _ := svc.SetupStatus(context.Background()); st.Needed {
		if _, err := svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: testPassword}); err != nil {
			fmt.Fprintln(os.Stderr, "child setup:", err)
			os.Exit(3)
		}
	}
	_, tok, err := svc.SignIn(context.Background(), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child sign-in:", err)
		os.Exit(3)
	}
	ctx := WithCaller(context.Background(), Caller{Token: tok, IP: "crash"})
	var mu sync.Mutex
	ack := func(format string, a ...any) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, format+"\n", a...) // one write(2) per line: the pipe keeps it if we die
		mu.Unlock()
	}
	ack("ready")
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				switch (w + i) % 3 {
				case 0:
					email := fmt.Sprintf("r%s-w%d-%d@kwgroup.uk", run, w, i)
					if _, err := svc.InviteUser(ctx, InviteInput{Email: email, Role: "AGENT"}); err == nil {
						ack("invite %s", email)
					}
				case 1:
					name := fmt.Sprintf("Mitch r%s w%d %d", run, w, i)
					if _, err := svc.UpdateUser(ctx, UpdateUserInput{ID: 1, Name: &name}); err == nil {
						ack("rename %s", name)
					}
				case 2:
					if _, _, err := svc.SignIn(WithCaller(context.Background(), Caller{IP: "crash"}), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword}); err == nil {
						ack("signin mitch@kwgroup.uk")
					}
				}
			}
		}()
	}
	wg.Wait()
}

func jsonUnmarshal(b []byte, v any) { _ = json.Unmarshal(b, v) }
