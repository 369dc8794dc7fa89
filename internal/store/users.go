package store

import (
	"errors"
	"time"

	"gatehouse/internal/auth"
)

// User is a login account. Credentials live apart, in Credentials.
type User struct {
	ID              uint64    `json:"id"`
	Email           string    `json:"email"`
	Name            string    `json:"name"`
	Role            auth.Role `json:"role"`
	Active          bool      `json:"active"`
	TenantID        uint64    `json:"tenantId"`        // primary org
	DefaultTenantID uint64    `json:"defaultTenantId"` // where sign-in lands
	JobTitle        string    `json:"jobTitle,omitempty"`
	OfficeAddress   string    `json:"officeAddress,omitempty"`
	Notes           string    `json:"notes,omitempty"`
	MFAEnabled      bool      `json:"mfaEnabled"`
	// MustChangePassword holds the user at the change-password step at
	// their next sign-in (a temporary password, or Create now's default).
	MustChangePassword bool      `json:"mustChangePassword,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
	LastLoginAt        time.Time `json:"lastLoginAt"`
}

// Credentials are a user's secrets, in their own bucket. TOTP secrets are
// sealed (auth.Sealer); recovery codes are stored as SHA-256 hashes.
type Credentials struct {
	PasswordHash  []byte    `json:"passwordHash"`
	SealedTOTP    []byte    `json:"sealedTotp,omitempty"`
	LastTOTPStep  int64     `json:"lastTotpStep,omitempty"` // a code's step must be later than this
	PendingTOTP   []byte    `json:"pendingTotp,omitempty"`  // sealed, during enrolment
	PendingAt     time.Time `json:"pendingAt"`
	RecoveryCodes [][]byte  `json:"recoveryCodes,omitempty"`
}

// ErrEmailTaken is returned when an e-mail address is already in use.
var ErrEmailTaken = errors.New("email already in use")

// User returns the user with id, or nil.
func (t *Tx) User(id uint64) (*User, error) {
	var u User
	ok, err := getJSON(t.b(bucketUsers), u64(id), &u)
	if !ok || err != nil {
		return nil, err
	}
	return &u, nil
}

// UserByEmail returns the user with this e-mail (case-insensitive), or nil.
func (t *Tx) UserByEmail(email string) (*User, error) {
	id := t.b(bucketUserEmail).Get([]byte(Fold(email)))
	if id == nil {
		return nil, nil
	}
	return t.User(readU64(id))
}

// CountUsers returns the number of users.
func (t *Tx) CountUsers() int { return t.b(bucketUsers).KeyN() }

var keySetUp = []byte("set_up")

// SetUp reports whether first-run setup has been done: its mark in the
// meta bucket, written in setup's own transaction (or, for databases set up
// before the mark existed, any user). Both reads see this transaction's own
// writes, unlike bucket statistics, so two setups cannot both find it undone.
func (t *Tx) SetUp() bool {
	if t.b(bucketMeta).Get(keySetUp) != nil {
		return true
	}
	k, _ := t.b(bucketUsers).Cursor().First()
	return k != nil
}

// MarkSetUp records that first-run setup is done.
func (t *Tx) MarkSetUp() error { return t.b(bucketMeta).Put(keySetUp, []byte{1}) }

// CreateUser stores a new user with its credentials, assigns its id and
// indexes its e-mail. It fails with ErrEmailTaken if the e-mail is in use.
func (t *Tx) CreateUser(u *User, c Credentials) error {
	ub := t.b(bucketUsers)
	key := []byte(Fold(u.Email))
	if t.b(bucketUserEmail).Get(key) != nil {
		return ErrEmailTaken
	}
	id, err := ub.NextSequence()
	if err != nil {
		return err
	}
	u.ID = id
	if err := t.b(bucketUserEmail).Put(key, u64(id)); err != nil {
		return err
	}
	if err := putJSON(t.b(bucketCredentials), u64(id), c); err != nil {
		return err
	}
	return t.putUser(u, listedAs{})
}

// UpdateUser stores changes to an existing user and refreshes every index
// that shows it. The e-mail address cannot change here.
func (t *Tx) UpdateUser(u *User) error {
	old, err := t.User(u.ID)
	if err != nil {
		return err
	}
	if old == nil {
		return errors.New("update of a missing user")
	}
	if Fold(old.Email) != Fold(u.Email) {
		return errors.New("the e-mail address of a user cannot change")
	}
	prev, err := t.removeDirectory(old)
	if err != nil {
		return err
	}
	return t.putUser(u, prev)
}

func (t *Tx) putUser(u *User, prev listedAs) error {
	if err := putJSON(t.b(bucketUsers), u64(u.ID), u); err != nil {
		return err
	}
	return t.addDirectory(u, prev)
}

// Credentials returns the user's secrets.
func (t *Tx) Credentials(id uint64) (Credentials, error) {
	var c Credentials
	_, err := getJSON(t.b(bucketCredentials), u64(id), &c)
	return c, err
}

// PutCredentials replaces the user's secrets.
func (t *Tx) PutCredentials(id uint64, c Credentials) error {
	return putJSON(t.b(bucketCredentials), u64(id), c)
}

// CountActive counts active users with role, stopping at limit.
func (t *Tx) CountActive(role auth.Role, limit int) (int, error) {
	n := 0
	c := t.b(bucketUsers).Cursor()
	for k, v := c.First(); k != nil && n < limit; k, v = c.Next() {
		var u User
		if err := unmarshal(k, v, &u); err != nil {
			return 0, err
		}
		if u.Active && u.Role == role {
			n++
		}
	}
	return n, nil
}
