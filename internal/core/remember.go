package core

import (
	"errors"

	"gatehouse/internal/auth"
)

// The window's "Keep me signed in on this computer" keeps its session
// token in a file in the data folder, sealed with the data folder's key: the
// file alone, copied elsewhere, opens nothing, and a file that was altered
// does not open. Whether the session it holds still works is decided the
// usual way, by using it (see SignInInput.Remember for its lifetime).

const rememberedContext = "remembered window session"

// ErrRememberedDamaged means a remembered session file could not be opened:
// altered, damaged, or sealed with another data folder's key.
var ErrRememberedDamaged = errors.New("the remembered sign-in could not be opened")

// SealSessionToken seals a session token for the remembered-session file.
func (s *Service) SealSessionToken(token string) []byte {
	return s.sealer.Seal([]byte(token), rememberedContext)
}

// OpenSessionToken opens what SealSessionToken made.
func (s *Service) OpenSessionToken(sealed []byte) (string, error) {
	b, err := s.sealer.Open(sealed, rememberedContext)
	if err != nil || !auth.WellFormedToken(string(b)) {
		return "", ErrRememberedDamaged
	}
	return string(b), nil
}
