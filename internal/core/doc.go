// Package core holds Gatehouse's use cases. Authorization, validation, audit
// writing and transactions happen here and only here: every exported method
// resolves the caller from the context, checks what the caller's role may do,
// and performs its change and its audit event in one write transaction.
//
// core imports store and auth; the transports (app.go, web, cli) import core.
package core
