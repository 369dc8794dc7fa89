// Package auth holds pure security primitives: password hashing, random tokens
// and their hashes, and the role ranks and permission matrix of the product.
//
// It imports nothing from Gatehouse; core calls it.
package auth
