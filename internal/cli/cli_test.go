package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Version: "1.2.3",
		Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, ExitOK, "gatehouse 1.2.3"},
		{[]string{"--help"}, ExitOK, "Usage:"},
		{[]string{"serve", "--help"}, ExitOK, "--addr"},
		{[]string{"setup", "--help"}, ExitOK, "--password-stdin"},
		{[]string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{[]string{"serve", "--addr", "nope"}, ExitUsage, "use HOST:PORT"},
		{[]string{"serve", "--addr", "127.0.0.1:99999"}, ExitUsage, "from 0 to 65535"},
		{[]string{"serve", "--bogus"}, ExitUsage, "flag provided but not defined"},
		{[]string{"setup", "--data", dir, "--email", "a@b.co"}, ExitUsage, "needs --email and --name"},
		{[]string{"setup", "--data", dir, "--email", "a@b.co", "--name", "A"}, ExitUsage, "needs --password-stdin"},
		{[]string{"version", "extra"}, ExitUsage, `unexpected argument "extra"`},
		{nil, ExitRuntime, "no desktop window"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%v: exit %d, want %d; output %q, want %q", c.args, code, c.code, out+errOut, c.want)
		}
	}
}

func TestSetupFromTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	args := []string{"setup", "--data", dir, "--email", "mitch@kwgroup.uk", "--name", "Mitch", "--password-stdin"}
	code, _, errOut := runCLI(t, "short\n", args...)
	if code != ExitRuntime || !strings.Contains(errOut, "--password-stdin: Use at least 8 characters.") {
		t.Fatalf("short password: %d %q", code, errOut)
	}
	code, out, errOut := runCLI(t, "correct horse\n", args...)
	if code != ExitOK || !strings.Contains(out, "Created Mitch <mitch@kwgroup.uk> as SUPER_ADMIN") {
		t.Fatalf("setup: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "correct horse\n", args...)
	if code != ExitRuntime || !strings.Contains(errOut, "already set up") {
		t.Fatalf("second setup: %d %q", code, errOut)
	}
}

func TestSecondProcessOnTheSameFolder(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, errOut := runCLI(t, "correct horse\n", "setup", "--data", dir, "--email", "a@b.co", "--name", "A", "--password-stdin")
	if code != ExitRuntime || !strings.Contains(errOut, "already open by another Gatehouse") {
		t.Fatalf("second process: %d %q", code, errOut)
	}
}

func TestKeyFileProblemsAreNamedAndNothingIsOverwritten(t *testing.T) {
	dir := t.TempDir()
	setup := []string{"setup", "--data", dir, "--email", "mitch@kwgroup.uk", "--name", "Mitch", "--password-stdin"}
	if code, _, errOut := runCLI(t, "correct horse\n", setup...); code != ExitOK {
		t.Fatal(errOut)
	}
	keyPath := filepath.Join(dir, auth.KeyFile)
	os.WriteFile(keyPath, []byte("garbage"), 0o600)
	code, _, errOut := runCLI(t, "", "2fa", "reset", "mitch@kwgroup.uk", "--data", dir)
	if code != ExitRuntime || !strings.Contains(errOut, keyPath) || !strings.Contains(errOut, "damaged") {
		t.Fatalf("damaged key: %d %q", code, errOut)
	}
	if b, _ := os.ReadFile(keyPath); string(b) != "garbage" {
		t.Fatal("the damaged key file was overwritten")
	}
	os.Remove(keyPath)
	code, _, errOut = runCLI(t, "", "2fa", "reset", "mitch@kwgroup.uk", "--data", dir)
	if code != ExitRuntime || !strings.Contains(errOut, keyPath) || !strings.Contains(errOut, "is missing") {
		t.Fatalf("missing key: %d %q", code, errOut)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("a new key file was made for a database sealed with another")
	}
	os.WriteFile(keyPath, bytes.Repeat([]byte{1}, 32), 0o600) // the wrong key
	code, _, errOut = runCLI(t, "", "2fa", "reset", "mitch@kwgroup.uk", "--data", dir)
	if code != ExitRuntime || !strings.Contains(errOut, "does not match") {
		t.Fatalf("wrong key: %d %q", code, errOut)
	}
}

func TestTwoFAResetCommand(t *testing.T) {
	dir := t.TempDir()
	runCLI(t, "correct horse\n", "setup", "--data", dir, "--email", "mitch@kwgroup.uk", "--name", "Mitch", "--password-stdin")
	code, _, errOut := runCLI(t, "", "2fa", "reset", "mitch@kwgroup.uk", "--data", dir)
	if code != ExitRuntime || !strings.Contains(errOut, "does not have two-factor authentication on") {
		t.Fatalf("reset without 2FA: %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "2fa", "reset"); code != ExitUsage {
		t.Fatalf("no e-mail: exit %d", code)
	}
	if code, _, _ := runCLI(t, "", "2fa", "frob"); code != ExitUsage {
		t.Fatalf("unknown 2fa command: exit %d", code)
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Held by a process without a control socket: say how to get the file.
	code, _, errOut = runCLI(t, "", "2fa", "reset", "mitch@kwgroup.uk", "--data", dir)
	if code != ExitRuntime || !strings.Contains(errOut, "cannot be reached; close the Gatehouse window or stop the server") {
		t.Fatalf("while another process holds the file: %d %q", code, errOut)
	}
}

func TestDemoGoesIntoAFolderOfItsOwn(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "", "demo", "--data", dir)
	if code != ExitOK || !strings.Contains(out, "Demo office ready") || !strings.Contains(out, "alex@northgate.example / demo-password") {
		t.Fatalf("demo: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "audit", "verify", "--data", dir)
	if code != ExitOK || !strings.Contains(out, "OK:") {
		t.Fatalf("demo audit verify: %d %q %q", code, out, errOut)
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if errs := db.Check(); len(errs) > 0 {
		t.Fatalf("demo consistency: %v", errs)
	}
	db.Close()
	// Never mixed into an existing folder, real or demo.
	code, _, errOut = runCLI(t, "", "demo", "--data", dir)
	if code != ExitRuntime || !strings.Contains(errOut, "already holds a Gatehouse database") {
		t.Fatalf("demo over a database: %d %q", code, errOut)
	}
}

// The first run on a new machine has no data folder yet: the key file must
// not be written before the folder is made.
func TestFirstRunMakesTheDataFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "Gatehouse")
	code, out, errOut := runCLI(t, "correct horse\n", "setup", "--data", dir, "--email", "a@b.co", "--name", "A", "--password-stdin")
	if code != ExitOK || !strings.Contains(out, "Created A") {
		t.Fatalf("setup into a folder not made yet: %d %q %q", code, out, errOut)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data folder: %v %v", st, err)
	}
}

// TestWindowIsHandedToTheWindowProgram: a build without the window hands
// the window command, its arguments whole, to the program that has it,
// before it opens anything; the other commands stay its own.
func TestWindowIsHandedToTheWindowProgram(t *testing.T) {
	dir := t.TempDir()
	var ran []string
	env := func(args ...string) Env {
		return Env{Args: args, Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Version: "1.2.3",
			Getenv: func(string) string { return "" }, WindowProgram: "/opt/gatehouse/gatehouse-window",
			Exec: func(program string, args []string) error { ran = append([]string{program}, args...); return nil }}
	}
	if code := Main(env("--data", dir, "--no-lan")); code != ExitOK {
		t.Fatalf("window: exit %d", code)
	}
	if want := []string{"/opt/gatehouse/gatehouse-window", "--data", dir, "--no-lan"}; strings.Join(ran, " ") != strings.Join(want, " ") {
		t.Fatalf("ran %q, want %q", ran, want)
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); !os.IsNotExist(err) {
		t.Fatalf("the hand-over opened the database first (%v)", err)
	}
	ran = nil
	if code := Main(env("version")); code != ExitOK || ran != nil {
		t.Fatalf("version: exit %d, ran %q", code, ran)
	}
}
