package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"gatehouse/internal/core"
)

func runSetup(env *Env, args []string) error {
	f := newFlags(env, "setup", "setup --email E --name N --password-stdin [--organisation O] [--data DIR]")
	email := f.String("email", "", "the first SUPER_ADMIN's e-mail address")
	name := f.String("name", "", "their full name")
	org := f.String("organisation", "Admin tenancy", "the name of your own organisation (the admin tenancy)")
	pwStdin := f.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := f.parse(args); err != nil {
		return err
	}
	if *email == "" || *name == "" {
		return usagef("setup needs --email and --name")
	}
	if !*pwStdin {
		return usagef("setup needs --password-stdin, so the password never shows in the process list")
	}
	password, err := readPassword(env)
	if err != nil {
		return err
	}

	svc, closeDB, err := open(env, f.dataDir(env))
	if err != nil {
		return err
	}
	defer closeDB()
	ctx := core.WithCaller(context.Background(), core.Caller{IP: "cli"})
	u, err := svc.Setup(ctx, core.SetupInput{Organisation: *org, Email: *email, Name: *name, Password: password})
	if err != nil {
		e := core.AsError(err)
		if e.Field != "" {
			return fmt.Errorf("--%s: %s", strings.Replace(e.Field, "password", "password-stdin", 1), e.Message)
		}
		return fmt.Errorf("%s", e.Message)
	}
	fmt.Fprintf(env.Stdout, "Created %s <%s> as SUPER_ADMIN of %q. Sign in to continue.\n", u.Name, u.Email, *org)
	return nil
}

// readPassword reads a password from the first line of standard input, so
// that it never shows in the process list.
func readPassword(env *Env) (string, error) {
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
