package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A request must name this server. A page elsewhere that points a name it
// controls at this machine (DNS rebinding) makes the browser send that name
// as Host, so a Host that is not one of ours is refused before anything is
// served, signed in or not. A cross-site page sends its own Origin, so an
// API call's Origin must be ours too: scheme, host and port.

// origin is a scheme, a lower-case host and a port, as browsers compare them.
type origin struct{ scheme, host, port string }

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func connScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")), ".")
}

// parseHost splits a Host header; withPort says whether it named a port
// (without one, the port is the connection scheme's default).
func parseHost(hostport, scheme string) (o origin, withPort bool) {
	o.scheme = scheme
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		o.host, o.port, withPort = normalHost(h), p, true
	} else {
		o.host, o.port = normalHost(hostport), defaultPort(scheme)
	}
	return o, withPort
}

// parseOrigin reads an Origin header or a base URL.
func parseOrigin(raw string) (origin, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return origin{}, false
	}
	o := origin{scheme: u.Scheme, host: normalHost(u.Hostname()), port: u.Port()}
	if o.port == "" {
		o.port = defaultPort(o.scheme)
	}
	return o, true
}

// isOwnAddress reports whether host and port name this server for the
// request's connection: the address the connection reached, the machine's
// other interface addresses and host name, or a loopback name, each at the
// port the connection reached. A request handed to the Server in-process
// has no connection: then only loopback names are its own.
func (s *Server) isOwnAddress(r *http.Request, o origin) bool {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if local != nil && o.port != strconv.Itoa(local.Port) {
		return false
	}
	if o.host == "localhost" {
		return true
	}
	ip := net.ParseIP(o.host)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	if local == nil {
		return false
	}
	if ip == nil {
		return s.hostname != "" && o.host == s.hostname
	}
	if ip.Equal(local.IP) {
		return true
	}
	for _, a := range s.addrs {
		if ip.Equal(a) {
			return true
		}
	}
	return false
}

// baseOrigin is the configured base URL's origin, if there is one.
func (s *Server) baseOrigin() (origin, bool) {
	if s.cfg.BaseURL == nil {
		return origin{}, false
	}
	raw, err := s.cfg.BaseURL()
	if err != nil {
		s.log.Error("read the base URL", "err", err)
		return origin{}, false
	}
	return parseOrigin(raw)
}

// checkHost reports whether the request's Host header names this server.
// Behind a proxy the Host is the base URL's: its port may be left out.
func (s *Server) checkHost(r *http.Request) bool {
	o, withPort := parseHost(r.Host, connScheme(r))
	if o.host == "" {
		return false
	}
	if s.isOwnAddress(r, o) {
		return true
	}
	b, ok := s.baseOrigin()
	return ok && b.host == o.host && (b.port == o.port || !withPort && b.port == defaultPort(b.scheme))
}

var errOtherSite = errors.New("Requests from other sites are not accepted.")

// checkOrigin defends against cross-site requests: the custom header must
// be present, and a browser's Origin must be this server, by scheme, host
// and port, or the configured base URL.
func (s *Server) checkOrigin(r *http.Request) error {
	if r.Header.Get(CSRFHeader) != "1" {
		return fmt.Errorf("The request is missing the %s: 1 header.", CSRFHeader)
	}
	raw := r.Header.Get("Origin")
	if raw == "" {
		return nil // not a browser, or a same-origin request from an old browser
	}
	o, ok := parseOrigin(raw)
	if !ok {
		return errOtherSite
	}
	if o.scheme == connScheme(r) && s.isOwnAddress(r, o) {
		return nil
	}
	if b, ok := s.baseOrigin(); ok && b == o {
		return nil
	}
	return errOtherSite
}
