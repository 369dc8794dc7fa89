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
	"unicode"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
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
	from, to, err := wireAddresses(cfg, msg)
	if err != nil {
		return nil, err
	}
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*gomail.Address{{Name: cfg.FromName, Address: from}})
	h.SetAddressList("To", []*gomail.Address{{Address: to}})
	h.SetSubject(msg.Subject)
	if err := h.GenerateMessageIDWithHostname(domainOf(from)); err != nil {
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

// ASCIIAddress returns addr as it goes on the wire, where Gatehouse does
// not use SMTPUTF8: the part before the @ unchanged, which must be ASCII,
// and the domain in its ASCII form (IDNA, punycode: "bücher.example"
// becomes "xn--bcher-kva.example"). The envelope (MAIL FROM, RCPT TO) and
// the From and To headers all use this form.
func ASCIIAddress(addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", fmt.Errorf("%q is not an e-mail address", addr)
	}
	local, domain := addr[:at], addr[at+1:]
	for i := 0; i < len(local); i++ {
		if local[i] < 0x21 || local[i] > 0x7e {
			return "", fmt.Errorf("cannot send to %s: the part before the @ must be plain ASCII", addr)
		}
	}
	_, ascii, err := Domain(domain)
	if err != nil {
		return "", fmt.Errorf("cannot send to %s: %w", addr, err)
	}
	return local + "@" + ascii, nil
}

// ErrDomain means a domain is not a valid (internationalised) domain name.
var ErrDomain = errors.New("the domain is not a valid domain name")

// Domain checks the domain of an e-mail address and returns its two forms:
// Unicode, as stored and shown (NFC, case folded the way IDNA does), and
// ASCII (punycode), as sent. Labels typed in punycode ("xn--…") are
// decoded. Apart from case, nothing may differ from what was typed: a
// character IDNA would map to another (a full-width letter, an ideographic
// full stop) or drop (a zero-width space) is refused, so mail goes to the
// domain that was shown, or nowhere.
func Domain(domain string) (unicode, ascii string, err error) {
	domain = norm.NFC.String(domain)
	mapped, err := idna.Lookup.ToUnicode(domain)
	if err != nil {
		return "", "", ErrDomain
	}
	typed, got := strings.Split(domain, "."), strings.Split(mapped, ".")
	if len(typed) != len(got) {
		return "", "", ErrDomain
	}
	for i := range typed {
		if !strings.HasPrefix(strings.ToLower(typed[i]), "xn--") && !strings.EqualFold(typed[i], got[i]) {
			return "", "", ErrDomain
		}
	}
	if ascii, err = idna.Registration.ToASCII(mapped); err != nil || ascii == "" {
		return "", "", ErrDomain
	}
	if unicode, err = idna.Registration.ToUnicode(ascii); err != nil {
		return "", "", ErrDomain
	}
	for _, label := range strings.Split(unicode, ".") {
		if !plainLabel(label) {
			return "", "", ErrDomain
		}
	}
	return unicode, ascii, nil
}

// plainLabel reports whether a domain label is made of letters, marks,
// digits and hyphens (no emoji or symbols, which IDNA2008 disallows) in one
// script, or in one of the mixes Unicode's "highly restrictive" profile
// allows (Latin with Han and the Japanese kana, with Bopomofo, or with
// Hangul). A Latin label with one Cyrillic "а" in it is refused: it is how
// look-alike domains are made.
func plainLabel(label string) bool {
	scripts := map[string]bool{}
	for _, r := range label {
		switch {
		case r == '-' || unicode.IsDigit(r) || unicode.IsMark(r):
			continue
		case !unicode.IsLetter(r):
			return false
		}
		scripts[scriptOf(r)] = true
	}
	if len(scripts) <= 1 {
		return true
	}
	for _, mix := range [][]string{{"Latin", "Han", "Hiragana", "Katakana"}, {"Latin", "Han", "Bopomofo"}, {"Latin", "Han", "Hangul"}} {
		inMix := 0
		for _, sc := range mix {
			if scripts[sc] {
				inMix++
			}
		}
		if inMix == len(scripts) {
			return true
		}
	}
	return false
}

// scriptOf names the Unicode script of a letter ("Common" if none).
func scriptOf(r rune) string {
	for _, name := range []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew"} {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Common"
}

// wireAddresses is the ASCII form of the sender and the recipient.
func wireAddresses(cfg Config, msg Message) (from, to string, err error) {
	if from, err = ASCIIAddress(cfg.FromAddress); err != nil {
		return "", "", fmt.Errorf("the sender address: %w", err)
	}
	if to, err = ASCIIAddress(msg.To); err != nil {
		return "", "", err
	}
	return from, to, nil
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
	from, to, err := wireAddresses(cfg, msg)
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
	if err := c.SendMail(from, []string{to}, bytes.NewReader(raw)); err != nil {
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
