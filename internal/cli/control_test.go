package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store/storetest"
	"gatehouse/internal/web"
)

// TestMain lets a test start this binary as a Gatehouse of its own:
// GATEHOUSE_TEST_MAIN=1 runs the arguments as the command line.
func TestMain(m *testing.M) {
	if os.Getenv("GATEHOUSE_TEST_MAIN") == "1" {
		os.Exit(Main(Env{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Version: "test",
			NewApp: func(*core.Service, web.Session, string, string) any { return struct{}{} }}))
	}
	code := m.Run()
	storetest.StopShared()
	os.Exit(code)
}

// startServe runs "gatehouse serve" on dir in another process, on a free
// loopback port from 18850–18899, and returns its URL, its output so far
// and a function that stops it (SIGTERM, as a service manager would).
func startServe(t *testing.T, dir string, extra ...string) (url string, output func() string, stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--http", "--addr", freePort(t), "--data", dir}, extra...)...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_TEST_MAIN=1")
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own copy
	cmd.Stdout, cmd.Stderr = logFile, logFile
	output = func() string { b, _ := os.ReadFile(logPath); return string(b) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop = func() {
		if cmd.ProcessState != nil {
			return
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("serve did not stop on SIGTERM: %s", output())
		}
	}
	t.Cleanup(stop)
	re := regexp.MustCompile(`Listening on (\S+)`)
	for i := 0; i < 200; i++ {
		if m := re.FindStringSubmatch(output()); m != nil {
			return m[1], output, stop
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve did not start: %s", output())
	return "", nil, nil
}

func freePort(t *testing.T) string {
	t.Helper()
	for port := 18850; port <= 18899; port++ {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port in 18850–18899")
	return ""
}

// turnOn2FA signs email in with password (choosing password+"!" first if
// they are held at the change-password step) and sets up 2FA for them.
func turnOn2FA(t *testing.T, dir, email, password string) {
	t.Helper()
	svc, closeDB, err := open(&Env{Stderr: io.Discard, Getenv: func(string) string { return "" }}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	caller := func(tok string) context.Context {
		return core.WithCaller(context.Background(), core.Caller{Token: tok, IP: "127.0.0.1"})
	}
	res, tok, err := svc.SignIn(caller(""), core.SignInInput{Email: email, Password: password})
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if res.Step == "password" {
		if err := svc.ChangePassword(caller(tok), core.ChangePasswordInput{Current: password, New: password + "!"}); err != nil {
			t.Fatalf("change password: %v", err)
		}
	}
	en, err := svc.BeginTOTP(caller(tok))
	if err != nil {
		t.Fatalf("begin 2FA: %v", err)
	}
	code, _ := auth.TOTPCode(en.Secret, time.Now())
	if _, err := svc.ConfirmTOTP(caller(tok), core.ConfirmTOTPInput{Code: code}); err != nil {
		t.Fatalf("confirm 2FA: %v", err)
	}
}

// cliEvents returns the audit events recorded with the actor "system (CLI)",
// newest first, as "action user-id".
func cliEvents(t *testing.T, dir string) []string {
	t.Helper()
	code, out, errOut := runCLI(t, "", "audit", "export", "--format", "jsonl", "--data", dir)
	if code != ExitOK {
		t.Fatalf("audit export: %d %s", code, errOut)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e core.AuditEventView
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		if e.ActorName == "system (CLI)" {
			got = append(got, e.Action+" "+e.ResourceID)
		}
	}
	return got
}

// The 2FA and password resets reach the Gatehouse that has the data folder
// open, through its control socket, so nobody has to close it; with nothing
// running they open the file. Each is audited as "system (CLI)".
func TestResetsReachTheRunningGatehouseOrOpenTheFile(t *testing.T) {
	dir := setUpFolder(t)
	const mitch = "mitch@kwgroup.uk"
	turnOn2FA(t, dir, mitch, "correct horse")
	url, serverOutput, stop := startServe(t, dir)

	cases := []struct {
		args      []string
		stdin     string
		code      int
		want      string
		notStderr string
	}{
		{[]string{"2fa", "reset", mitch, "--data", dir}, "", ExitOK, "Two-factor authentication is off for Mitch <mitch@kwgroup.uk>", ""},
		{[]string{"2fa", "reset", "--data", dir, mitch}, "", ExitRuntime, "does not have two-factor authentication on", ""},
		{[]string{"2fa", "reset", "--data", dir, "nobody@kwgroup.uk"}, "", ExitRuntime, "There is no user with the e-mail address nobody@kwgroup.uk.", ""},
		// The running server's own address is in the link: it made it.
		{[]string{"password", "reset", "--data", dir, mitch}, "", ExitOK, url + "/reset-password?token=", "not running"},
		{[]string{"password", "reset", "--temporary-stdin", "--data", dir, mitch}, "short\n", ExitRuntime, "--temporary-stdin: Use at least 8 characters.", ""},
		{[]string{"password", "reset", "nobody@kwgroup.uk", "--temporary-stdin", "--data", dir}, "a temporary one\n", ExitRuntime, "There is no user with the e-mail address nobody@kwgroup.uk.", ""},
		{[]string{"password", "reset", mitch, "--temporary-stdin", "--data", dir}, "a temporary one\n", ExitOK, "mitch@kwgroup.uk has a temporary password", ""},
		{[]string{"password", "reset", mitch, "--temporary-stdin", "--data", dir}, "", ExitRuntime, "no password on standard input", ""},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, c.stdin, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) || (c.notStderr != "" && strings.Contains(errOut, c.notStderr)) {
			t.Errorf("while serve runs, %v: exit %d, want %d; output %q, want %q", c.args, code, c.code, out+errOut, c.want)
		}
	}
	stop()
	if strings.Contains(serverOutput(), "a temporary one") || strings.Contains(serverOutput(), "short") {
		t.Errorf("the server printed the password: %s", serverOutput())
	}
	// 1 is Mitch: the running app recorded each change in its audit log.
	wantRunning := []string{core.ActTempPassword + " 1", core.ActResetLinkMade + " 1", core.ActReset2FA + " 1"}
	if got := cliEvents(t, dir); strings.Join(got, ",") != strings.Join(wantRunning, ",") {
		t.Fatalf("audit events while serve ran: %v, want %v", got, wantRunning)
	}

	// Nothing running: the command opens the file.
	turnOn2FA(t, dir, mitch, "a temporary one")
	code, out, errOut := runCLI(t, "", "2fa", "reset", "--data", dir, mitch)
	if code != ExitOK || !strings.Contains(out, "Two-factor authentication is off for Mitch") {
		t.Fatalf("2fa reset with nothing running: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "password", "reset", mitch, "--data", dir)
	if code != ExitOK || !strings.Contains(out, "/reset-password?token=") || !strings.Contains(errOut, "Gatehouse is not running") {
		t.Fatalf("password reset link with nothing running: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "another temporary\n", "password", "reset", "--temporary-stdin", mitch, "--data", dir)
	if code != ExitOK || !strings.Contains(out, "has a temporary password") || strings.Contains(out+errOut, "another temporary") {
		t.Fatalf("temporary password with nothing running: %d %q %q", code, out, errOut)
	}
	want := append([]string{core.ActTempPassword + " 1", core.ActResetLinkMade + " 1", core.ActReset2FA + " 1"}, wantRunning...)
	if got := cliEvents(t, dir); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("audit events: %v, want %v", got, want)
	}
}
