package cli

import (
	"fmt"
)

const passwordUsage = `password reset EMAIL [--temporary-stdin] [--data DIR]

Prints a one-time link (single use, for one hour) with which the user chooses a new
password; send it to them yourself. With --temporary-stdin, sets the password read
from the first line of standard input instead: a temporary one, which they must
change when they next sign in. Either way their sessions end, and an audit event
records the actor "system (CLI)". While Gatehouse runs (the window or serve), the
running app makes the change.`

func runPassword(env *Env, args []string) error {
	f := newFlags(env, "password reset", passwordUsage)
	temporary := f.Bool("temporary-stdin", false, "set a temporary password read from the first line of standard input")
	email, err := parseReset(f, "password", args)
	if err != nil {
		return err
	}
	req := controlRequest{Op: opResetLink, Email: email}
	if *temporary {
		if req.Password, err = readPassword(env); err != nil {
			return err
		}
		req.Op = opTempPassword
	}
	r, running, err := onDataFolder(env, f.dataDir(env), req, nil)
	if r.Field != "" {
		return fmt.Errorf("--temporary-stdin: %s", r.Error)
	}
	if err != nil {
		return err
	}
	if *temporary {
		fmt.Fprintf(env.Stdout, "%s has a temporary password; their sessions have ended. They must choose their own password when they next sign in.\n", email)
		return nil
	}
	fmt.Fprintf(env.Stdout, "One-time password reset link for %s (single use, for one hour; it was not e-mailed):\n%s\n", email, r.Link)
	if !running {
		fmt.Fprintln(env.Stderr, "Gatehouse is not running: start it (the window or gatehouse serve) before they open the link.")
	}
	return nil
}
