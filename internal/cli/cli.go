// Package cli is Gatehouse's command line: it parses arguments, opens the
// data folder, and runs the window, the LAN server or a one-shot command.
// Exit codes: 0 ok, 1 runtime error, 2 usage.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gatehouse/internal/core"
	"gatehouse/internal/store"
	"gatehouse/internal/web"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitRuntime = 1
	ExitUsage   = 2
)

// Env is everything the command line needs from package main.
type Env struct {
	Args           []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Version        string
	Frontend       fs.FS
	// NewApp returns the bound App for one caller.
	NewApp func(svc *core.Service, s web.Session, ip, userAgent string) any
	// Window opens the desktop window; nil in builds without one.
	Window func(Window) error
	// WindowProgram, in a build without the window, is the program that has
	// it (gatehouse-window, installed beside this one): the window command
	// is handed to it whole, before anything is opened. Empty: none.
	WindowProgram string
	// Exec replaces this process with program run with args (the window
	// hand-over); syscall.Exec in production.
	Exec func(program string, args []string) error

	// cluster is set by a command's --etcd flags: it runs over the cluster.
	cluster *store.EtcdConfig
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// Ctx ends long-running commands when done (signals when nil).
	Ctx context.Context
}

// Window is what the desktop window gets: an open service, the frontend, and
// a function to call when the window closes.
type Window struct {
	Service  *core.Service
	Frontend fs.FS
	Shutdown func()
	DataDir  string
	// Handoff is set when the data folder is open in another Gatehouse: the
	// window only brings that one to the front.
	Handoff bool
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const mainUsage = `Gatehouse — users and access for small offices and MSPs.

Usage:
  gatehouse [--data DIR] [--lan-addr HOST:PORT | --no-lan]
                                         open the desktop window (and the LAN server)
  gatehouse serve [--addr HOST:PORT] [--http] [--data DIR]
                                         run the LAN server only, no window
  gatehouse setup --email E --name N --password-stdin [--organisation O] [--data DIR]
                                         create the first SUPER_ADMIN without the UI
  gatehouse 2fa reset EMAIL [--data DIR] turn off a user's 2FA (they lost their authenticator)
  gatehouse password reset EMAIL [--temporary-stdin] [--data DIR]
                                         print a one-time reset link, or set a temporary
                                         password read from standard input
  gatehouse audit verify [--data DIR]    check the audit log's hash chain
  gatehouse audit export --format csv|jsonl [--since T] [--until T] [--output FILE]
                                         export the audit log
  gatehouse backup FILE --passphrase-stdin [--data DIR]
                                         one encrypted file: the database and its key, also while the app runs
  gatehouse restore FILE [--passphrase-stdin] [--data DIR]
                                         replace the database (and key) with a backup (close the app first)
  gatehouse migrate --from-data DIR --to-etcd ENDPOINTS [--etcd-prefix P]
                                         copy a data folder's database into an empty etcd prefix
  gatehouse demo [--data DIR] [--recovery-codes]
                                         fill a new folder with a realistic demo office
  gatehouse version                      print the version

serve, setup, 2fa, password, audit and backup also run over an etcd cluster:
  --etcd https://a:2379,https://b:2379,https://c:2379 [--etcd-prefix /gatehouse/]
  [--etcd-ca F --etcd-cert F --etcd-key F]   (or GATEHOUSE_ETCD=ENDPOINTS);
the data folder then holds this node's secret.key (the same on every node).

Every command takes --data DIR (or GATEHOUSE_DATA); the default is %s.
Options may come before or after a command's arguments. backup, 2fa reset and
password reset also work while the window or serve runs: the running app does them.
Run "gatehouse COMMAND --help" for a command's options.
`

// Main runs the command line and returns the exit code.
func Main(env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	err := run(&env)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, "gatehouse:", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(env.Stderr, `Run "gatehouse --help" for usage.`)
		return ExitUsage
	}
	return ExitRuntime
}

func run(env *Env) error {
	args := env.Args
	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		return runWindow(env, args)
	case "serve":
		return runServe(env, args)
	case "setup":
		return runSetup(env, args)
	case "2fa":
		return run2FA(env, args)
	case "password":
		return runPassword(env, args)
	case "audit":
		return runAudit(env, args)
	case "backup":
		return runBackup(env, args)
	case "demo":
		return runDemo(env, args)
	case "restore":
		return runRestore(env, args)
	case "migrate":
		return runMigrate(env, args)
	case "version":
		if _, err := parse(env, "version", "", args); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "gatehouse %s\n", env.Version)
		return nil
	case "help":
		fmt.Fprintf(env.Stdout, mainUsage, defaultDataDir(env))
		return nil
	}
	return usagef("unknown command %q", cmd)
}

// flags is a command's flag set with the --data flag every command takes.
type flags struct {
	*flag.FlagSet
	data *string
	etcd etcdFlags
	env  *Env
}

func newFlags(env *Env, name, usage string) *flags {
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	f := &flags{FlagSet: fset, data: fset.String("data", "", "the data folder"), env: env}
	addEtcdFlags(f)
	fset.Usage = func() {
		if name == "" {
			fmt.Fprintf(env.Stdout, mainUsage, defaultDataDir(env))
			return
		}
		fmt.Fprintf(env.Stdout, "Usage: gatehouse %s\n\nOptions:\n", usage)
		fset.SetOutput(env.Stdout)
		fset.PrintDefaults()
		fset.SetOutput(io.Discard)
	}
	return f
}

// parse parses args for a command that takes no positional argument.
func (f *flags) parse(args []string) error {
	_, err := f.parseArgs(args, 0)
	return err
}

// parseArgs parses args, flags before or after the positional arguments,
// and returns those (at most max of them). A bad flag or an extra argument
// is a usage error; --help prints usage.
func (f *flags) parseArgs(args []string, max int) ([]string, error) {
	positional, err := parseInterleaved(f.FlagSet, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err // the flag package has printed the usage
		}
		return nil, usageError{err.Error()}
	}
	if len(positional) > max {
		return nil, usagef("unexpected argument %q", positional[max])
	}
	cluster, err := f.clusterConfig(f.env)
	if err != nil {
		return nil, err
	}
	f.env.cluster = cluster
	return positional, nil
}

// parseInterleaved parses fs's flags wherever they stand among args and
// returns the other arguments in order. The flag package stops at the first
// argument that is not a flag, so parsing resumes after each one; after
// "--" every argument is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func parse(env *Env, name, usage string, args []string) (*flags, error) {
	f := newFlags(env, name, usage)
	return f, f.parse(args)
}

func defaultDataDir(env *Env) string {
	if d := env.Getenv("GATEHOUSE_DATA"); d != "" {
		return d
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "Gatehouse"
	}
	return filepath.Join(dir, "Gatehouse")
}

// dataDir is --data, else GATEHOUSE_DATA, else the OS default.
func (f *flags) dataDir(env *Env) string {
	if *f.data != "" {
		return *f.data
	}
	return defaultDataDir(env)
}

func logger(env *Env) *slog.Logger {
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
