package cli

import (
	"flag"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	cases := []struct {
		args       []string
		positional []string
		data       string
		bad        bool
	}{
		{[]string{"a", "--data", "D", "b"}, []string{"a", "b"}, "D", false},
		{[]string{"--data", "D", "a", "b"}, []string{"a", "b"}, "D", false},
		{[]string{"a", "b", "--data=D"}, []string{"a", "b"}, "D", false},
		{[]string{"a", "--", "--data", "D"}, []string{"a", "--data", "D"}, "", false},
		{[]string{"--data", "D", "--", "-a"}, []string{"-a"}, "D", false},
		{[]string{"-", "--data", "D"}, []string{"-"}, "D", false},
		{nil, nil, "", false},
		{[]string{"a", "--bogus"}, nil, "", true},
		{[]string{"a", "--data"}, nil, "", true},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		data := fs.String("data", "", "")
		got, err := parseInterleaved(fs, c.args)
		if (err != nil) != c.bad || (!c.bad && (!slices.Equal(got, c.positional) || *data != c.data)) {
			t.Errorf("%q: positional %q, data %q, err %v; want %q, %q, error %v", c.args, got, *data, err, c.positional, c.data, c.bad)
		}
	}
}

// Every command takes its flags before or after its arguments: the same
// command line in both orders gives the same result. Commands without
// arguments are given a stray one, which both orders refuse.
func TestEveryCommandTakesFlagsBeforeOrAfterItsArguments(t *testing.T) {
	dir := setUpFolder(t)
	backup := filepath.Join(t.TempDir(), "backup.tar.age")
	if code, _, errOut := runCLI(t, testPassphrase+"\n", "backup", backup, "--passphrase-stdin", "--data", dir); code != ExitOK {
		t.Fatalf("backup: %s", errOut)
	}
	cases := []struct {
		words, args, flags []string
		stdin              string
		code               int
		want               string
	}{
		{nil, nil, []string{"--no-lan", "--data", dir}, "", ExitRuntime, "no desktop window"},
		{[]string{"serve"}, []string{"extra"}, []string{"--http", "--data", dir}, "", ExitUsage, `unexpected argument "extra"`},
		{[]string{"setup"}, []string{"extra"}, []string{"--data", "{new}", "--email", "a@b.co", "--name", "A", "--password-stdin"}, "correct horse\n", ExitUsage, `unexpected argument "extra"`},
		{[]string{"setup"}, nil, []string{"--data", "{new}", "--email", "a@b.co", "--name", "A", "--password-stdin"}, "correct horse\n", ExitOK, "Created A <a@b.co>"},
		{[]string{"2fa", "reset"}, []string{"mitch@kwgroup.uk"}, []string{"--data", dir}, "", ExitRuntime, "does not have two-factor authentication on"},
		{[]string{"password", "reset"}, []string{"mitch@kwgroup.uk"}, []string{"--data", dir}, "", ExitOK, "/reset-password?token="},
		{[]string{"password", "reset"}, []string{"mitch@kwgroup.uk"}, []string{"--temporary-stdin", "--data", dir}, "a temporary one\n", ExitOK, "has a temporary password"},
		{[]string{"audit", "verify"}, []string{"extra"}, []string{"--data", dir}, "", ExitUsage, `unexpected argument "extra"`},
		{[]string{"audit", "verify"}, nil, []string{"--data", dir}, "", ExitOK, "OK:"},
		{[]string{"audit", "export"}, []string{"extra"}, []string{"--format", "jsonl", "--data", dir}, "", ExitUsage, `unexpected argument "extra"`},
		{[]string{"audit", "export"}, nil, []string{"--format", "jsonl", "--data", dir}, "", ExitOK, `"action":"setup"`},
		{[]string{"backup"}, []string{"{file}"}, []string{"--passphrase-stdin", "--data", dir}, testPassphrase + "\n", ExitOK, "Backed up to"},
		{[]string{"restore"}, []string{backup}, []string{"--passphrase-stdin", "--data", dir}, testPassphrase + "\n", ExitOK, "Restored " + backup},
		{[]string{"demo"}, []string{"extra"}, []string{"--data", "{new}"}, "", ExitUsage, `unexpected argument "extra"`},
		{[]string{"version"}, []string{"extra"}, nil, "", ExitUsage, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		for _, flagsFirst := range []bool{true, false} {
			// {new} is a data folder not made yet, {file} a backup file not written yet.
			fresh := strings.NewReplacer("{new}", filepath.Join(t.TempDir(), "new"), "{file}", filepath.Join(t.TempDir(), "b.db"))
			args := slices.Clone(c.words)
			if flagsFirst {
				args = append(append(args, c.flags...), c.args...)
			} else {
				args = append(append(args, c.args...), c.flags...)
			}
			for i := range args {
				args[i] = fresh.Replace(args[i])
			}
			code, out, errOut := runCLI(t, c.stdin, args...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Errorf("%q: exit %d, want %d; output %q, want %q", args, code, c.code, out+errOut, c.want)
			}
		}
	}
	// The flags may also come before a group's command word.
	if code, out, errOut := runCLI(t, "", "password", "--data", dir, "reset", "mitch@kwgroup.uk"); code != ExitOK || !strings.Contains(out, "/reset-password?token=") {
		t.Errorf("password --data DIR reset EMAIL: %d %q %q", code, out, errOut)
	}
}
