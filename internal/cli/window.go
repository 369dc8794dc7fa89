package cli

import (
	"context"
	"errors"
	"fmt"

	"gatehouse/internal/store"
)

// runWindow opens the desktop window with the LAN server beside it.
func runWindow(env *Env, args []string) error {
	if env.Window == nil && env.WindowProgram != "" && env.Exec != nil {
		// This build starts fast because it does not load the window's
		// libraries (WebKitGTK); the program that has them takes over.
		return env.Exec(env.WindowProgram, args)
	}
	f := newFlags(env, "", "")
	lanAddr := f.String("lan-addr", DefaultAddr, "where the LAN server listens beside the window")
	noLAN := f.Bool("no-lan", false, "do not start the LAN server")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := refuseCluster(env, "the desktop window (start the LAN server over the cluster with gatehouse serve --etcd)"); err != nil {
		return err
	}
	if err := checkAddr(*lanAddr); err != nil {
		return err
	}
	if env.Window == nil {
		return fmt.Errorf("this build has no desktop window; use \"gatehouse serve\"")
	}
	dir := f.dataDir(env)
	tuneGC(env)
	svc, closeDB, err := open(env, dir)
	if errors.Is(err, store.ErrLocked) {
		// A second double-click: bring the running window to the front.
		return env.Window(Window{Frontend: env.Frontend, DataDir: dir, Handoff: true, Shutdown: func() {}})
	}
	if err != nil {
		return err
	}
	defer closeDB()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go svc.RunJobs(ctx)
	go serveControl(ctx, env, dir, svc)
	lanDone := make(chan struct{})
	go func() {
		defer close(lanDone)
		if *noLAN {
			return
		}
		if on, err := svc.LANEnabled(); err != nil {
			logger(env).Error("cannot read whether the LAN server is on; it stays off", "err", err)
			return
		} else if !on {
			return
		}
		if err := serveLAN(ctx, env, svc, dir, *lanAddr, false); err != nil {
			logger(env).Warn("the LAN server is not running; the window still works", "err", err)
		}
	}()
	err = env.Window(Window{Service: svc, Frontend: env.Frontend, Shutdown: stop, DataDir: dir})
	stop()
	<-lanDone
	return err
}
