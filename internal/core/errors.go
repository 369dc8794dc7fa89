package core

import (
	"errors"
	"fmt"

	"gatehouse/internal/store"
)

// Code classifies an error for the transports, which map it to their own
// form in one place each.
type Code string

// The error codes.
const (
	Invalid         Code = "invalid"         // the input is wrong; Message says what to fix
	Unauthenticated Code = "unauthenticated" // no valid session
	Forbidden       Code = "forbidden"       // the caller's role may not do this
	NotFound        Code = "not_found"
	Conflict        Code = "conflict"     // the state does not allow it (already set up, e-mail taken)
	MFARequired     Code = "mfa_required" // policy requires the user to set up 2FA first
	// PasswordChangeRequired: the user must choose a new password first.
	PasswordChangeRequired Code = "password_change_required"
	Unavailable            Code = "unavailable" // the service cannot answer now
	Internal               Code = "internal"    // a fault of ours; details are logged, not shown
	// Damaged: the database file is damaged; writes are refused until it is
	// restored. The frontend shows a banner for it.
	Damaged Code = "damaged"
)

// Error is the only error type core returns to callers. Message is safe to
// show a user; Field names the input field it is about, if any.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

func fieldError(field, format string, a ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, a...)}
}

// fieldRefusal is a permission refusal shown beside the input that asked
// for too much (a role above the caller's, a tenant they are not in): the
// form shows it like a field error, every transport treats it as Forbidden.
func fieldRefusal(field, message string) *Error {
	return &Error{Code: Forbidden, Field: field, Message: message}
}

var (
	errDamaged        = &Error{Code: Damaged, Message: "The database is damaged — restore from a backup."}
	errUnknownOutcome = &Error{Code: Unavailable, Message: "The cluster stopped answering while this was being saved: it may or may not have been saved. Check before trying again."}
	errTooLarge       = &Error{Code: Unavailable, Message: "This change is larger than the etcd cluster accepts in one transaction. Nothing was changed; ask the administrator to raise the cluster's --max-txn-ops and --max-request-bytes (see the README)."}
	errContended      = &Error{Code: Unavailable, Message: "Gatehouse is very busy: other servers kept saving first. Nothing was changed; try again."}
	errNoQuorum       = &Error{Code: Unavailable, Message: "The cluster has no quorum: Gatehouse cannot read or write until enough of its etcd members answer again. Nothing was changed; try again shortly."}
	errSignedOut      = &Error{Code: Unauthenticated, Message: "Your session has ended. Please sign in again."}
	errForbidden      = &Error{Code: Forbidden, Message: "Your role does not allow this."}
)

// AsError returns err as an *Error; anything else becomes an Internal error
// with a generic message, so internal details never reach a user.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, store.ErrDamaged) {
		return errDamaged
	}
	if errors.Is(err, store.ErrUnavailable) {
		return errNoQuorum
	}
	if errors.Is(err, store.ErrContended) {
		return errContended
	}
	if errors.Is(err, store.ErrUnknownOutcome) {
		return errUnknownOutcome
	}
	if errors.Is(err, store.ErrTooLarge) {
		return errTooLarge
	}
	return &Error{Code: Internal, Message: "Something went wrong on our side. Please try again; if it keeps happening, check the Gatehouse log."}
}

// ErrorCode returns err's code, or "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
