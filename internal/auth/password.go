package auth

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password limits. bcrypt reads at most 72 bytes; a longer password would be
// silently truncated, so it is refused instead.
const (
	MinPasswordChars = 8
	MaxPasswordBytes = 72
	// DefaultCost is the bcrypt cost used in production.
	DefaultCost = 12
)

// ErrPasswordTooShort and ErrPasswordTooLong describe what the user must fix.
var (
	ErrPasswordTooShort = fmt.Errorf("Use at least %d characters.", MinPasswordChars)
	ErrPasswordTooLong  = fmt.Errorf("Use at most %d bytes (about %d plain letters; emoji and accents take more).", MaxPasswordBytes, MaxPasswordBytes)
	ErrPasswordInvalid  = errors.New("The password is not valid UTF-8 text.")
)

// CheckPassword validates a new password without hashing it.
func CheckPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return ErrPasswordInvalid
	}
	if utf8.RuneCountInString(pw) < MinPasswordChars {
		return ErrPasswordTooShort
	}
	if len(pw) > MaxPasswordBytes {
		return ErrPasswordTooLong
	}
	return nil
}

// Hasher hashes and checks passwords with bcrypt at a fixed cost, and bounds
// how many bcrypt computations run at once so a sign-in flood cannot starve
// the rest of the application of CPU.
type Hasher struct {
	cost  int
	slots chan struct{}
	dummy []byte
}

// NewHasher returns a Hasher with the given cost and at most parallel
// concurrent bcrypt computations.
func NewHasher(cost, parallel int) *Hasher {
	if parallel < 1 {
		parallel = 1
	}
	h := &Hasher{cost: cost, slots: make(chan struct{}, parallel)}
	// A hash of a random password at the same cost, so that checks for
	// unknown accounts take as long as checks for known ones.
	d, err := bcrypt.GenerateFromPassword([]byte(NewToken()[:20]), cost)
	if err != nil {
		panic("auth: bcrypt at cost " + fmt.Sprint(cost) + ": " + err.Error())
	}
	h.dummy = d
	return h
}

// Hash validates pw and returns its bcrypt hash.
func (h *Hasher) Hash(pw string) ([]byte, error) {
	if err := CheckPassword(pw); err != nil {
		return nil, err
	}
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return bcrypt.GenerateFromPassword([]byte(pw), h.cost)
}

// Verify reports whether pw matches hash. A nil hash is checked against a
// dummy so the time taken does not reveal whether an account exists.
func (h *Hasher) Verify(hash []byte, pw string) bool {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	if len(hash) == 0 || len(pw) > MaxPasswordBytes {
		// bcrypt would compare only the first 72 bytes; such a password was
		// never accepted, so it cannot match. Spend the same time anyway.
		_ = bcrypt.CompareHashAndPassword(h.dummy, []byte(pw[:min(len(pw), MaxPasswordBytes)]))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pw)) == nil
}
