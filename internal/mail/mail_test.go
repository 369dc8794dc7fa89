package mail

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"gatehouse/internal/mail/mailtest"
)

var msg = Message{To: "emma@kwgroup.uk", Subject: "Mitch invited you to Gatehouse – Zoë's team", Text: "Open https://gh/invite/accept?token=abc\n", HTML: "<p>Open <a href=\"https://gh\">the link</a></p>"}

func TestComposeIsProperMIME(t *testing.T) {
	raw, err := Compose(Config{FromName: "Gatehouse at KW Group", FromAddress: "noreply@kwgroup.uk"}, msg, time.Date(2026, 5, 18, 9, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("Zoë")) {
		t.Fatal("a non-ASCII header was not encoded")
	}
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := r.Header.Subject()
	date, _ := r.Header.Date()
	id, _ := r.Header.MessageID()
	from, _ := r.Header.AddressList("From")
	if subject != msg.Subject || !date.Equal(time.Date(2026, 5, 18, 9, 30, 0, 0, time.UTC)) || !strings.HasSuffix(id, "@kwgroup.uk") || from[0].Name != "Gatehouse at KW Group" {
		t.Fatalf("headers: subject %q date %v id %q from %v", subject, date, id, from)
	}
	if ct, _, _ := r.Header.ContentType(); ct != "multipart/alternative" {
		t.Fatalf("content type %q", ct)
	}
	var types []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := p.Header.(*gomail.InlineHeader).ContentType()
		body, _ := io.ReadAll(p.Body)
		body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")) // SMTP line endings
		types = append(types, ct)
		if ct == "text/plain" && string(body) != msg.Text || ct == "text/html" && string(body) != msg.HTML {
			t.Errorf("%s body %q", ct, body)
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Fatalf("parts %v", types)
	}
}

func TestComposeRefusesHeaderInjection(t *testing.T) {
	bad := msg
	bad.To = "emma@kwgroup.uk\r\nBcc: all@kwgroup.uk"
	if _, err := Compose(Config{FromAddress: "a@b.c"}, bad, time.Now()); err == nil {
		t.Fatal("a CRLF in To was accepted")
	}
}

func TestSendWithStartTLSAndAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: true, Username: "gatehouse", Password: "s3cret-smtp"})
	s := &Sender{RootCAs: srv.Roots}
	cfg := Config{Host: "localhost", Port: srv.Port, Security: StartTLS, Username: "gatehouse", Password: "s3cret-smtp", FromAddress: "noreply@kwgroup.uk"}
	if err := s.Send(context.Background(), cfg, msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 || !got[0].TLS || got[0].User != "gatehouse" || got[0].To[0] != "emma@kwgroup.uk" || got[0].From != "noreply@kwgroup.uk" {
		t.Fatalf("received %+v", got)
	}
	m, err := message.Read(bytes.NewReader(got[0].Data))
	if err != nil || !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative") {
		t.Fatalf("received message: %v %v", err, m.Header)
	}

	cfg.Password = "wrong-password-here"
	err = s.Send(context.Background(), cfg, msg)
	if err == nil || !strings.Contains(err.Error(), "refused the username or password") || strings.Contains(err.Error(), "wrong-password-here") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestSendWithImplicitTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: true, Implicit: true})
	cfg := Config{Host: "localhost", Port: srv.Port, Security: ImplicitTLS, FromAddress: "noreply@kwgroup.uk"}
	if err := (&Sender{RootCAs: srv.Roots}).Send(context.Background(), cfg, msg); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS {
		t.Fatalf("received %+v", got)
	}
	// Without trusting the test certificate, the connection is refused.
	if err := (&Sender{}).Send(context.Background(), cfg, msg); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
}

func TestSendToAServerThatIsDown(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.Stop()
	cfg := Config{Host: "127.0.0.1", Port: srv.Port, Security: NoSecurity, FromAddress: "noreply@kwgroup.uk"}
	err := (&Sender{Timeout: 2 * time.Second}).Send(context.Background(), cfg, msg)
	if err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("server down: %v", err)
	}
}

// An internationalised domain goes out in its ASCII (punycode) form, in the
// envelope and in the headers: the message needs no SMTPUTF8.
func TestSendIDNAddressesAsPunycode(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	cfg := Config{Host: "127.0.0.1", Port: srv.Port, Security: NoSecurity, FromName: "Bücherei", FromAddress: "noreply@bücher.example"}
	m := msg
	m.To = "info@Straße.DE"
	if err := (&Sender{Timeout: 5 * time.Second}).Send(context.Background(), cfg, m); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].From != "noreply@xn--bcher-kva.example" || len(got[0].To) != 1 || got[0].To[0] != "info@xn--strae-oqa.de" {
		t.Fatalf("envelope %+v", got)
	}
	for i, b := range got[0].Data {
		if b >= 0x80 {
			t.Fatalf("8-bit byte at %d", i)
		}
	}
	r, err := gomail.CreateReader(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	to, _ := r.Header.AddressList("To")
	from, _ := r.Header.AddressList("From")
	id, _ := r.Header.MessageID()
	if len(to) != 1 || to[0].Address != "info@xn--strae-oqa.de" || len(from) != 1 || from[0].Address != "noreply@xn--bcher-kva.example" || from[0].Name != "Bücherei" || !strings.HasSuffix(id, "@xn--bcher-kva.example") {
		t.Fatalf("headers: to %v from %v id %q", to, from, id)
	}
}

func TestASCIIAddress(t *testing.T) {
	for in, want := range map[string]string{
		"emma@kwgroup.uk":              "emma@kwgroup.uk",
		"Emma@KWGroup.UK":              "Emma@kwgroup.uk",
		"info@bücher.example":          "info@xn--bcher-kva.example",
		"info@xn--bcher-kva.example":   "info@xn--bcher-kva.example",
		"kontakt@例え.jp":                "kontakt@xn--r8jz45g.jp",
		"ü@ü.de":                       "", // needs SMTPUTF8, which Gatehouse does not use
		"em ma@example.com":            "",
		"emma\u200b@example.com":       "",
		"emma@exa\u200bmple.com":       "",
		"emma@example.com\r\nBcc: x@y": "",
		"emma":                         "",
		"@example.com":                 "",
	} {
		got, err := ASCIIAddress(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q sent as %q", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	// A recipient that cannot go out without SMTPUTF8 is refused before
	// connecting, in words an admin can act on.
	if _, err := Compose(Config{FromAddress: "a@b.c"}, Message{To: "zoë@kwgroup.uk"}, time.Now()); err == nil || !strings.Contains(err.Error(), "plain ASCII") {
		t.Fatalf("non-ASCII local part: %v", err)
	}
}

// Emoji domains and labels mixing look-alike scripts are refused (found by
// the hostile review); real IDN domains are not.
func TestLookAlikeAndEmojiDomainsAreRefused(t *testing.T) {
	for _, d := range []string{"😀.example", "p\u0430ypal.com", "gοogle.com", "xn--e28h.example", "a★b.example"} {
		if _, _, err := Domain(d); err == nil {
			t.Errorf("%q accepted", d)
		}
	}
	for _, d := range []string{"bücher.example", "пример.рф", "例え.テスト", "日本abc.jp", "xn--bcher-kva.example", "kwgroup.uk"} {
		if _, _, err := Domain(d); err != nil {
			t.Errorf("%q refused: %v", d, err)
		}
	}
}
