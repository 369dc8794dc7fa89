package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"gatehouse/internal/core"
	"gatehouse/internal/web"
)

// DefaultAddr is where the LAN server listens unless told otherwise.
const DefaultAddr = "0.0.0.0:8420"

func runServe(env *Env, args []string) error {
	f := newFlags(env, "serve", "serve [--addr HOST:PORT] [--http] [--data DIR]")
	addr := f.String("addr", DefaultAddr, "the address to listen on")
	plain := f.Bool("http", false, "serve plain HTTP instead of HTTPS (for loopback and tests)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := checkAddr(*addr); err != nil {
		return err
	}
	dir := f.dataDir(env)
	tuneGC(env)
	svc, closeDB, err := open(env, dir)
	if err != nil {
		return err
	}
	defer closeDB()
	ctx := env.Ctx
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
	}
	go svc.RunJobs(ctx)
	go serveControl(ctx, env, dir, svc)
	return serveLAN(ctx, env, svc, dir, *addr, *plain)
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--addr %q: use HOST:PORT, for example 0.0.0.0:8420", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return usagef("--addr %q: the port must be a number from 0 to 65535", addr)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return usagef("--addr %q: the host must be an IP address or localhost", addr)
	}
	return nil
}

// serveLAN runs the LAN server until ctx ends.
// tuneGC sets the garbage collector's target for a process that serves
// pages (web.GCPercent), unless the admin set GOGC.
func tuneGC(env *Env) {
	if env.Getenv("GOGC") == "" {
		debug.SetGCPercent(web.GCPercent)
	}
}

func serveLAN(ctx context.Context, env *Env, svc *core.Service, dir, addr string, plain bool) error {
	handler, err := web.New(web.Config{
		NewApp:        func(s web.Session, ip, ua string) any { return env.NewApp(svc, s, ip, ua) },
		Health:        func() (any, bool) { h := svc.Health(); return h, h.StoreOK },
		Frontend:      env.Frontend,
		Logger:        logger(env),
		SessionMaxAge: core.SessionAbsolute,
		BaseURL:       svc.LinkBase,
		Export: func(r *http.Request, s web.Session, ip string, f core.AuditFilter, format string, w http.ResponseWriter) (int, error) {
			ctx := core.WithCaller(r.Context(), core.Caller{Token: s.Token(), IP: ip, UserAgent: r.UserAgent()})
			return svc.ExportAudit(ctx, f, format, w)
		},
		ExportUsers: func(r *http.Request, s web.Session, ip string, in core.ListUsersInput, w http.ResponseWriter) (int, error) {
			ctx := core.WithCaller(r.Context(), core.Caller{Token: s.Token(), IP: ip, UserAgent: r.UserAgent()})
			return svc.ExportUsers(ctx, in, w)
		},
		Backup: func(r *http.Request, s web.Session, ip, passphrase string, w io.Writer) (int64, error) {
			ctx := core.WithCaller(r.Context(), core.Caller{Token: s.Token(), IP: ip, UserAgent: r.UserAgent()})
			return svc.DownloadBackup(ctx, passphrase, w)
		},
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", addr, err)
	}
	scheme := "http"
	if !plain {
		cert, err := web.LoadOrCreateCert(dir)
		if err != nil {
			ln.Close()
			return err
		}
		svc.SetGeneratedCertificate(&cert)
		if err := svc.LoadCustomCertificate(); err != nil {
			logger(env).Warn("the custom LAN certificate in Settings cannot be used; serving the generated one", "err", err)
		}
		ln = tls.NewListener(ln, web.TLSConfig(svc.Certificate))
		scheme = "https"
		fmt.Fprintf(env.Stdout, "Certificate fingerprint (SHA-256): %s\n", svc.LANInfo().Fingerprint)
	}
	urls := lanURLs(scheme, ln.Addr().(*net.TCPAddr))
	for _, u := range urls {
		fmt.Fprintf(env.Stdout, "Listening on %s\n", u)
	}
	svc.SetDefaultBaseURL(defaultBaseURL(scheme, ln.Addr().(*net.TCPAddr), urls))
	svc.SetLANInfo(urls, !plain)
	defer svc.SetLANInfo(nil, false)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(quietTLS{logger(env)}, "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Pages answer at once; whether setup is due is read from the database,
	// which waits for Open's background structure check on a large file.
	if code := svc.SetupCode(); code != "" {
		fmt.Fprintf(env.Stdout, "First run: open %s/setup?code=%s to create the first administrator (setup code %s).\n", urls[0], code, code)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// lanURLs lists the URLs staff can open: the loopback one first.
func lanURLs(scheme string, a *net.TCPAddr) []string {
	port := strconv.Itoa(a.Port)
	if !a.IP.IsUnspecified() {
		return []string{scheme + "://" + net.JoinHostPort(a.IP.String(), port)}
	}
	out := []string{scheme + "://" + net.JoinHostPort("localhost", port)}
	for _, ip := range web.LANAddresses() {
		out = append(out, scheme+"://"+net.JoinHostPort(ip.String(), port))
	}
	return out
}

// defaultBaseURL is where invitation links point until an admin sets one:
// the machine's host name and the LAN port when serving every interface
// (the certificate names it), else the address served.
func defaultBaseURL(scheme string, a *net.TCPAddr, urls []string) string {
	if host, err := os.Hostname(); err == nil && host != "" && a.IP.IsUnspecified() {
		return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
	}
	return urls[len(urls)-1]
}

// quietTLS sends the http server's own log lines to slog at debug level:
// browsers that distrust the self-signed certificate abort handshakes, and
// that is not an error worth a line each time.
type quietTLS struct{ l *slog.Logger }

func (q quietTLS) Write(p []byte) (int, error) {
	q.l.Debug(string(p))
	return len(p), nil
}
