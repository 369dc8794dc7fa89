package auth

import (
	"encoding/base32"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA1 column, truncated to 6 digits (the RFC lists 8).
func TestTOTPRFC6238Vectors(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	vectors := map[int64]string{
		59: "94287082", 1111111109: "07081804", 1111111111: "14050471",
		1234567890: "89005924", 2000000000: "69279037", 20000000000: "65353130",
	}
	for ts, eight := range vectors {
		got, err := TOTPCode(secret, time.Unix(ts, 0))
		if err != nil || got != eight[2:] {
			t.Errorf("T=%d: %q %v, want %q", ts, got, err, eight[2:])
		}
		if step, ok := MatchTOTP(secret, eight[2:], time.Unix(ts, 0)); !ok || step != ts/30 {
			t.Errorf("T=%d: match %d %v", ts, step, ok)
		}
	}
}

func TestTOTPWindow(t *testing.T) {
	key, err := NewTOTPKey("Gatehouse", "mitch@kwgroup.uk")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key.QRPNG, "data:image/png;base64,") || !strings.Contains(key.URL, "otpauth://totp/Gatehouse:mitch@kwgroup.uk") || len(key.Secret) != 32 {
		t.Fatalf("key %+v", key.URL)
	}
	now := time.Unix(1_800_000_015, 0)
	for d, ok := range map[int64]bool{-2: false, -1: true, 0: true, 1: true, 2: false} {
		code, _ := TOTPCode(key.Secret, now.Add(time.Duration(d*30)*time.Second))
		if step, matched := MatchTOTP(key.Secret, code, now); matched != ok || matched && step != TOTPStep(now)+d {
			t.Errorf("code from %d steps away: matched %v step %d", d, matched, step)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "12a456", "１２３４５６", "123456789012345678901234567890"} {
		if _, ok := MatchTOTP(key.Secret, bad, now); ok {
			t.Errorf("%q matched", bad)
		}
	}
	code, _ := TOTPCode(key.Secret, now)
	if _, ok := MatchTOTP(key.Secret, code[:3]+" "+code[3:], now); !ok {
		t.Error("a code with a space in the middle, as apps show it, was refused")
	}
}

// oathtool is an independent TOTP implementation (Debian package).
func TestTOTPAgreesWithOathtool(t *testing.T) {
	path, err := exec.LookPath("oathtool")
	if err != nil {
		t.Fatal("oathtool is needed for this test: run make deps (Debian package oathtool)")
	}
	key, _ := NewTOTPKey("Gatehouse", "a@b.c")
	now := time.Now()
	out, err := exec.Command(path, "--totp", "-b", "--now", now.UTC().Format("2006-01-02 15:04:05 UTC"), key.Secret).Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := MatchTOTP(key.Secret, strings.TrimSpace(string(out)), now); !ok {
		t.Fatalf("oathtool's code %q was refused", out)
	}
}
