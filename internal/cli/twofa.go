package cli

import (
	"flag"
	"fmt"
)

const twoFAUsage = `2fa reset EMAIL [--data DIR]

Turns two-factor authentication off for the user (they lost their authenticator),
ends their sessions, and records an audit event with the actor "system (CLI)".
While Gatehouse runs (the window or serve), the running app makes the change.`

func run2FA(env *Env, args []string) error {
	f := newFlags(env, "2fa reset", twoFAUsage)
	email, err := parseReset(f, "2fa", args)
	if err != nil {
		return err
	}
	r, _, err := onDataFolder(env, f.dataDir(env), controlRequest{Op: opReset2FA, Email: email}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Two-factor authentication is off for %s <%s>; their sessions have ended. They can sign in with their password and set it up again.\n", r.Name, r.Email)
	return nil
}

// parseReset parses "GROUP reset EMAIL" (2fa, password) with f's flags
// anywhere among the words, and returns the e-mail address.
func parseReset(f *flags, group string, args []string) (string, error) {
	pos, err := f.parseArgs(args, 2)
	if err != nil {
		return "", err
	}
	if len(pos) == 0 || pos[0] != "reset" {
		if len(pos) > 0 && pos[0] == "help" {
			f.Usage()
			return "", flag.ErrHelp
		}
		return "", usagef("use: gatehouse %s reset EMAIL", group)
	}
	if len(pos) < 2 {
		return "", usagef("%s reset needs the user's e-mail address", group)
	}
	return pos[1], nil
}
