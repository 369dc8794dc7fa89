package auth

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238 as authenticator apps expect): SHA1, 6 digits,
// 30-second steps, and one step of clock skew either way.
const (
	TOTPPeriod = 30
	TOTPDigits = 6
	TOTPSkew   = 1
)

var totpOpts = totp.ValidateOpts{Period: TOTPPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPKey is a new secret to enrol, with what an authenticator app needs.
type TOTPKey struct {
	Secret string // base32, as typed into an app by hand
	URL    string // otpauth:// URL, as in the QR code
	QRPNG  string // the QR code as a data: URL (PNG), rendered by the otp library
}

// NewTOTPKey makes a fresh 160-bit secret for account at issuer.
func NewTOTPKey(issuer, account string) (TOTPKey, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: TOTPPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return TOTPKey{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPKey{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPKey{}, err
	}
	return TOTPKey{Secret: key.Secret(), URL: key.URL(),
		QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// TOTPStep is the 30-second time step that t falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// ErrTOTPFormat means the code is not six digits.
var ErrTOTPFormat = fmt.Errorf("Enter the %d-digit code from your authenticator app.", TOTPDigits)

// CheckTOTPFormat accepts exactly six ASCII digits (spaces are removed
// first, as apps show "123 456").
func CheckTOTPFormat(code string) (string, error) {
	var out []byte
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == ' ':
		case c >= '0' && c <= '9':
			out = append(out, c)
		default:
			return "", ErrTOTPFormat
		}
		if len(out) > TOTPDigits {
			return "", ErrTOTPFormat
		}
	}
	if len(out) != TOTPDigits {
		return "", ErrTOTPFormat
	}
	return string(out), nil
}

// MatchTOTP returns the time step whose code equals code, trying the current
// step and one either side, and whether one matched. The caller refuses a
// step at or before the last one used, so a code works only once.
func MatchTOTP(secret, code string, now time.Time) (int64, bool) {
	code, err := CheckTOTPFormat(code)
	if err != nil {
		return 0, false
	}
	step := TOTPStep(now)
	found, matched := int64(0), false
	for d := int64(-TOTPSkew); d <= TOTPSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*TOTPPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !matched {
			found, matched = step+d, true
		}
	}
	return found, matched
}

// TOTPCode computes the code for secret at t (tests and tools).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}
