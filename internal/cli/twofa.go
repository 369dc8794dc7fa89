package cli

import (
	"fmt"

	"gatehouse/internal/core"
)

func run2FA(env *Env, args []string) error {
	if len(args) == 0 || args[0] != "reset" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			fmt.Fprintln(env.Stdout, "Usage: gatehouse 2fa reset EMAIL [--data DIR]\n\nTurns two-factor authentication off for the user, ends their sessions, and records\nan audit event with the actor \"system (CLI)\". Close Gatehouse first.")
			return nil
		}
		return usagef("use: gatehouse 2fa reset EMAIL")
	}
	f := newFlags(env, "2fa reset", "2fa reset EMAIL [--data DIR]")
	rest := args[1:]
	var email string
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		email, rest = rest[0], rest[1:]
	}
	if err := f.parse(rest); err != nil {
		return err
	}
	if email == "" {
		return usagef("2fa reset needs the user's e-mail address")
	}
	dir := f.dataDir(env)
	svc, closeDB, err := open(env, dir)
	if err != nil {
		return fmt.Errorf("%v\nThe 2FA reset needs the database to itself: close the Gatehouse window or stop the server, then run this again", err)
	}
	defer closeDB()
	u, err := svc.ResetTOTPFromCLI(email)
	if err != nil {
		return fmt.Errorf("%s", core.AsError(err).Message)
	}
	fmt.Fprintf(env.Stdout, "Two-factor authentication is off for %s <%s>; their sessions have ended. They can sign in with their password and set it up again.\n", u.Name, u.Email)
	return nil
}
