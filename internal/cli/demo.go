package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gatehouse/internal/core"
	"gatehouse/internal/store"
)

func runDemo(env *Env, args []string) error {
	f := newFlags(env, "demo", "demo [--data DIR] [--recovery-codes]")
	codes := f.Bool("recovery-codes", false, "offer one-time 2FA recovery codes (off, as in the seed)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := refuseCluster(env, "demo"); err != nil {
		return err
	}
	dir := *f.data
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			base = "."
		}
		dir = filepath.Join(base, "Gatehouse Demo")
	}
	// Demo data goes into a folder of its own, never into a real one.
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
		return fmt.Errorf("%s already holds a Gatehouse database; demo data goes into a folder of its own: choose an empty one with --data", dir)
	}
	svc, closeDB, err := open(env, dir)
	if err != nil {
		return err
	}
	defer closeDB()
	fmt.Fprintf(env.Stderr, "Building a demo office in %s …\n", dir)
	info, err := svc.BuildDemo(time.Now(), core.DemoOptions{RecoveryCodes: *codes})
	if err != nil {
		return fmt.Errorf("building the demo failed: %v", err)
	}
	fmt.Fprintf(env.Stdout, "Demo office ready in %s: %d users, %d tenants, %d invitations, %d audit events over 30 days.\n\n", dir, info.Users, info.Tenants, info.Invitations, info.Events)
	fmt.Fprintf(env.Stdout, "Open it:  gatehouse --data %q\n          (or gatehouse serve --data %q)\nSign in:  %s / %s\n", dir, dir, info.AdminEmail, core.DemoPassword)
	return nil
}
