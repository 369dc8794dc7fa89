// Package mail composes e-mail (MIME, with github.com/emersion/go-message)
// and sends it over SMTP (github.com/emersion/go-smtp). It knows nothing of
// Gatehouse's records: core's outbox decides what to send and when, and
// records the result; this package never runs inside a transaction.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Security is how the SMTP connection is protected.
type Security string

// The three ways to connect.
const (
	StartTLS    Security = "starttls" // plain connection upgraded with STARTTLS (port 587)
	ImplicitTLS Security = "tls"      // TLS from the first byte (port 465)
	NoSecurity  Security = "none"     // plain text; only for a relay on a trusted network
)

// Config is where and how to send.
type Config struct {
	Host        string
	Port        int
	Security    Security
	Username    string
	Password    string
	FromName    string
	FromAddress string
}

// Message is one e-mail with a plain-text body and an HTML alternative.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Compose renders msg as a MIME message: multipart/alternative with text
// and HTML, encoded headers, Date and Message-ID.
func Compose(cfg Config, msg Message, now time.Time) ([]byte, error) {
	if strings.ContainsAny(msg.To+msg.Subject+cfg.FromName+cfg.FromAddress, "\r\n") {
		return nil, errors.New("a header contains a line break")
	}
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*gomail.Address{{Name: cfg.FromName, Address: cfg.FromAddress}})
	h.SetAddressList("To", []*gomail.Address{{Address: msg.To}})
	h.SetSubject(msg.Subject)
	if err := h.GenerateMessageIDWithHostname(domainOf(cfg.FromAddress)); err != nil {
		return nil, err
	}
	h.Set("Auto-Submitted", "auto-generated")
	var buf bytes.Buffer
	w, err := gomail.CreateInlineWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	for _, part := range []struct{ typ, body string }{{"text/plain", msg.Text}, {"text/html", msg.HTML}} {
		var ph gomail.InlineHeader
		ph.SetContentType(part.typ, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := w.CreatePart(ph)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(pw, part.body); err != nil {
			return nil, err
		}
		if err := pw.Close(); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "gatehouse.invalid"
}

// Sender sends over SMTP.
type Sender struct {
	// RootCAs overrides the system's trusted roots (tests).
	RootCAs *x509.CertPool
	// Timeout bounds each connection; default 30 s.
	Timeout time.Duration
	Now     func() time.Time
}

// Send delivers msg with cfg. Errors say what went wrong in words an admin
// can act on; they never contain the password.
func (s *Sender) Send(ctx context.Context, cfg Config, msg Message) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	raw, err := Compose(cfg, msg, now())
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	tlsConf := &tls.Config{ServerName: cfg.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}

	var conn net.Conn
	d := &net.Dialer{}
	if cfg.Security == ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %s", addr, plainError(err))
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var c *smtp.Client
	if cfg.Security == StartTLS {
		c, err = smtp.NewClientStartTLS(conn, tlsConf)
		if err != nil {
			conn.Close()
			return fmt.Errorf("STARTTLS with %s failed: %s", addr, plainError(err))
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = timeout, timeout
	if err := c.Hello(helloName()); err != nil {
		return fmt.Errorf("the server at %s did not greet us: %s", addr, plainError(err))
	}
	if cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", cfg.Username, cfg.Password)); err != nil {
			return fmt.Errorf("the server refused the username or password: %s", plainError(err))
		}
	}
	if err := c.SendMail(cfg.FromAddress, []string{msg.To}, bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("the server did not accept the message: %s", plainError(err))
	}
	return c.Quit()
}

func helloName() string {
	name, err := os.Hostname()
	if err != nil || name == "" || strings.ContainsAny(name, " \r\n") {
		return "localhost"
	}
	return name
}

// plainError keeps an SMTP or network error short and on one line.
func plainError(err error) string {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %s", se.Code, se.Message)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "dial") {
		msg = msg[i+2:]
	}
	return strings.ReplaceAll(msg, "\n", " ")
}
