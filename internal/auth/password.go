package auth

import (
	"errors"
	"fmt"
	"sync"
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
	cost      int
	slots     chan struct{}
	dummyOnce sync.Once
	dummy     []byte
}

// dummyHash is a bcrypt hash, at DefaultCost, of a random password nobody
// knows: checks for unknown accounts compare against it, so they take as
// long as checks of real ones. It is fixed so that starting Gatehouse does
// not spend a whole bcrypt computation making one.
const dummyHash = "$2a$12$LeX4wYW2ICIbxhgNxxEVrOnHAegYQeaXNB3VKclG4hOTy0uRLadIu"

// NewHasher returns a Hasher with the given cost and at most parallel
// concurrent bcrypt computations.
func NewHasher(cost, parallel int) *Hasher {
	if parallel < 1 {
		parallel = 1
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		panic("auth: bcrypt cost " + fmt.Sprint(cost) + " is out of range")
	}
	return &Hasher{cost: cost, slots: make(chan struct{}, parallel)}
}

// dummyFor returns a hash at the hasher's cost that matches no password:
// the fixed one at DefaultCost, else one made once on first use.
func (h *Hasher) dummyFor() []byte {
	h.dummyOnce.Do(func() {
		if h.cost == DefaultCost {
			h.dummy = []byte(dummyHash)
			return
		}
		h.dummy, _ = bcrypt.GenerateFromPassword([]byte(NewToken()[:20]), h.cost)
	})
	return h.dummy
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
		_ = bcrypt.CompareHashAndPassword(h.dummyFor(), []byte(pw[:min(len(pw), MaxPasswordBytes)]))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pw)) == nil
}
