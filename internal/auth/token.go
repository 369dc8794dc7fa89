package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// TokenBytes is the number of random bytes in a token: 256 bits.
const TokenBytes = 32

// NewToken returns a fresh URL-safe random token of 256 bits.
func NewToken() string {
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of a token. Only this hash is stored, so a
// copy of the database does not hand out working tokens.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// WellFormedToken reports whether s could be a token made by NewToken, so
// garbage is refused before any lookup. The decoder skips CR and LF, so
// the token must also be exactly what encoding its bytes gives back.
func WellFormedToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(TokenBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == TokenBytes && base64.RawURLEncoding.EncodeToString(b) == s
}
