package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"gatehouse/internal/core"
	"gatehouse/internal/store"
	"gatehouse/internal/web"
)

// App is the method set bound to the window (Wails) and served to LAN
// browsers (internal/web, one route per method). Each method is a thin call
// into core; the caller's session and address travel in the context.
type App struct {
	core      *core.Service
	session   web.Session
	ip        string
	userAgent string
	base      context.Context
	// saveFile asks where to save a file (the window's native dialog); nil
	// for LAN callers, whose browsers download instead.
	saveFile func(title, defaultName string) (string, error)
}

// newApp returns an App for one caller.
func newApp(svc *core.Service, s web.Session, ip, userAgent string) *App {
	return &App{core: svc, session: s, ip: ip, userAgent: userAgent, base: context.Background()}
}

func (a *App) ctx() context.Context {
	return core.WithCaller(a.base, core.Caller{Token: a.session.Token(), IP: a.ip, UserAgent: a.userAgent})
}

// keep holds a new session's token (the window's session or a cookie).
func keep[T any](a *App, v T, token string, err error) (T, error) {
	if err == nil {
		a.session.Keep(token)
	}
	return v, err
}

// SetupStatus says whether first-run setup is still to do.
func (a *App) SetupStatus() (core.SetupStatus, error) { return a.core.SetupStatus(a.ctx()) }

// Setup creates the admin tenancy and the first SUPER_ADMIN, then signs in.
func (a *App) Setup(in core.SetupInput) (core.SignInResult, error) {
	if _, err := a.core.Setup(a.ctx(), in); err != nil {
		return core.SignInResult{}, err
	}
	return a.SignIn(core.SignInInput{Email: in.Email, Password: in.Password})
}

// SignIn checks the password and starts a session, or a sign-in that waits
// for the 2FA code.
func (a *App) SignIn(in core.SignInInput) (core.SignInResult, error) {
	in.Remember = a.rememberNext(in.Remember)
	res, token, err := a.core.SignIn(a.ctx(), in)
	return keep(a, res, token, err)
}

// SignInTOTP completes a sign-in with the 2FA code (or a recovery code).
func (a *App) SignInTOTP(in core.SignInTOTPInput) (core.Me, error) {
	me, token, err := a.core.SignInTOTP(a.ctx(), in)
	return keep(a, me, token, err)
}

// SignOut ends the session.
func (a *App) SignOut() error {
	err := a.core.SignOut(a.ctx())
	a.session.Forget()
	return err
}

// Me returns the signed-in user.
func (a *App) Me() (core.Me, error) { return a.core.Me(a.ctx()) }

// ListUsers returns a page of the current tenant's users.
func (a *App) ListUsers(in core.ListUsersInput) (core.UserPage, error) {
	return a.core.ListUsers(a.ctx(), in)
}

// GetUser returns one user for the edit form.
func (a *App) GetUser(id uint64) (core.UserDetail, error) { return a.core.GetUser(a.ctx(), id) }

// CreateUser makes an account that works at once (Create now).
func (a *App) CreateUser(in core.CreateUserInput) (core.UserView, error) {
	return a.core.CreateUser(a.ctx(), in)
}

// UpdateUser changes a user's name or role.
func (a *App) UpdateUser(in core.UpdateUserInput) (core.UserView, error) {
	return a.core.UpdateUser(a.ctx(), in)
}

// DeactivateUser ends a user's access at once.
func (a *App) DeactivateUser(id uint64) (core.UserView, error) {
	return a.core.DeactivateUser(a.ctx(), id)
}

// ReactivateUser lets a deactivated user sign in again.
func (a *App) ReactivateUser(id uint64) (core.UserView, error) {
	return a.core.ReactivateUser(a.ctx(), id)
}

// InviteUser sends an invitation and returns its link.
func (a *App) InviteUser(in core.InviteInput) (core.InviteResult, error) {
	return a.core.InviteUser(a.ctx(), in)
}

// ListInvitations lists the current tenant's invitations.
func (a *App) ListInvitations(in core.ListInvitationsInput) (core.InvitationList, error) {
	return a.core.ListInvitations(a.ctx(), in)
}

// InvitationLink returns a pending invitation's link again.
func (a *App) InvitationLink(id uint64) (string, error) { return a.core.InvitationLink(a.ctx(), id) }

// ResendInvitation makes a new link (the old one stops working) and e-mails it.
func (a *App) ResendInvitation(id uint64) (core.InviteResult, error) {
	return a.core.ResendInvitation(a.ctx(), id)
}

// BulkResendInvitations re-sends the selected invitations, each under the
// rules of ResendInvitation.
func (a *App) BulkResendInvitations(in core.ResendInvitationsInput) (core.BulkResult, error) {
	return a.core.BulkResendInvitations(a.ctx(), in)
}

// RevokeInvitation stops an invitation's link from working.
func (a *App) RevokeInvitation(id uint64) (core.InvitationView, error) {
	return a.core.RevokeInvitation(a.ctx(), id)
}

// InvitationInfo describes the invitation behind a link (no session needed).
func (a *App) InvitationInfo(token string) (core.InvitationInfo, error) {
	return a.core.InvitationInfo(a.ctx(), token)
}

// AcceptInvitation accepts an invitation and signs the invitee in (to the
// 2FA step, for an existing sign-in that has it on).
func (a *App) AcceptInvitation(in core.AcceptInput) (core.SignInResult, error) {
	a.rememberNext(false)
	res, token, err := a.core.AcceptInvitation(a.ctx(), in)
	return keep(a, res, token, err)
}

// SendUnsentInvitations e-mails the invitations that went unsent while
// e-mail was not set up.
func (a *App) SendUnsentInvitations() (int, error) { return a.core.SendUnsentInvitations(a.ctx()) }

// ListUserSessions lists a user's devices for the edit form.
func (a *App) ListUserSessions(userID uint64) ([]core.SessionView, error) {
	return a.core.ListUserSessions(a.ctx(), userID)
}

// EndUserSession signs a user out of one device.
func (a *App) EndUserSession(in core.EndUserSessionInput) error {
	return a.core.EndUserSession(a.ctx(), in)
}

// BulkUsers applies one action to many users of the list, each under the
// rules of the single action.
func (a *App) BulkUsers(in core.BulkInput) (core.BulkResult, error) {
	return a.core.BulkUsers(a.ctx(), in)
}

// RequestPasswordReset e-mails a reset link ("Forgot password?"); the
// answer is the same whether or not the address has an account.
func (a *App) RequestPasswordReset(in core.ForgotPasswordInput) error {
	return a.core.RequestPasswordReset(a.ctx(), in)
}

// PasswordResetInfo says whether a reset link still works.
func (a *App) PasswordResetInfo(token string) (core.PasswordResetInfo, error) {
	return a.core.PasswordResetInfo(a.ctx(), token)
}

// ResetPassword sets a new password from a reset link.
func (a *App) ResetPassword(in core.ResetPasswordInput) (core.ResetPasswordResult, error) {
	return a.core.ResetPassword(a.ctx(), in)
}

// SendPasswordReset makes (and e-mails, when mail is set up) a reset link
// for a user.
func (a *App) SendPasswordReset(userID uint64) (core.ResetLink, error) {
	return a.core.SendPasswordReset(a.ctx(), userID)
}

// SetTemporaryPassword gives a user a password they must change.
func (a *App) SetTemporaryPassword(in core.SetTemporaryPasswordInput) (core.UserView, error) {
	return a.core.SetTemporaryPassword(a.ctx(), in)
}

// GetSettings returns the settings.
func (a *App) GetSettings() (core.Settings, error) { return a.core.GetSettings(a.ctx()) }

// UpdateSettings changes settings.
func (a *App) UpdateSettings(in core.SettingsInput) (core.Settings, error) {
	return a.core.UpdateSettings(a.ctx(), in)
}

// SettingsImpact says, counted, what saving a settings change would do to
// other people or kept data, so the page can ask first.
func (a *App) SettingsImpact(in core.SettingsInput) (core.SettingsImpact, error) {
	return a.core.SettingsImpact(a.ctx(), in)
}

// SendTestEmail sends a test e-mail with the saved SMTP settings.
func (a *App) SendTestEmail(to string) (core.TestEmailResult, error) {
	return a.core.SendTestEmail(a.ctx(), to)
}

// ListTenants lists every tenant (platform admins).
func (a *App) ListTenants() ([]core.TenantRow, error) { return a.core.ListTenants(a.ctx()) }

// CreateTenant creates a tenant, seeding shadow memberships.
func (a *App) CreateTenant(name string) (core.TenantView, error) {
	return a.core.CreateTenant(a.ctx(), name)
}

// RenameTenant renames a tenant.
func (a *App) RenameTenant(in core.RenameTenantInput) (core.TenantView, error) {
	return a.core.RenameTenant(a.ctx(), in)
}

// SwitchTenant moves the session into another of the user's tenants.
func (a *App) SwitchTenant(id uint64) (core.Me, error) { return a.core.SwitchTenant(a.ctx(), id) }

// GetUserMemberships lists a user's tenants for the memberships panel.
func (a *App) GetUserMemberships(id uint64) ([]core.UserMembership, error) {
	return a.core.GetUserMemberships(a.ctx(), id)
}

// SetUserMemberships applies the memberships panel.
func (a *App) SetUserMemberships(in core.SetMembershipsInput) ([]core.UserMembership, error) {
	return a.core.SetUserMemberships(a.ctx(), in)
}

// BeginTOTP starts 2FA enrolment: a QR code and the secret as text.
func (a *App) BeginTOTP() (core.TOTPEnrolment, error) { return a.core.BeginTOTP(a.ctx()) }

// ConfirmTOTP turns 2FA on with a code from the new secret.
func (a *App) ConfirmTOTP(in core.ConfirmTOTPInput) (core.TOTPEnabled, error) {
	return a.core.ConfirmTOTP(a.ctx(), in)
}

// DisableTOTP turns 2FA off (password and a current code).
func (a *App) DisableTOTP(in core.DisableTOTPInput) (core.Me, error) {
	return a.core.DisableTOTP(a.ctx(), in)
}

// NewRecoveryCodes replaces the caller's recovery codes.
func (a *App) NewRecoveryCodes(in core.NewRecoveryCodesInput) ([]string, error) {
	return a.core.NewRecoveryCodes(a.ctx(), in)
}

// ResetUserTOTP turns another user's 2FA off (SUPER_ADMIN, edit form).
func (a *App) ResetUserTOTP(in core.ResetUserTOTPInput) (core.UserView, error) {
	return a.core.ResetUserTOTP(a.ctx(), in)
}

// ChangePassword changes the caller's password; other sessions end.
func (a *App) ChangePassword(in core.ChangePasswordInput) error {
	return a.core.ChangePassword(a.ctx(), in)
}

// ListMySessions lists the caller's sessions.
func (a *App) ListMySessions() ([]core.SessionView, error) { return a.core.ListMySessions(a.ctx()) }

// SignOutSession ends one of the caller's sessions.
func (a *App) SignOutSession(id string) error { return a.core.SignOutSession(a.ctx(), id) }

// SignOutEverywhere ends every session of the caller, this one included.
func (a *App) SignOutEverywhere() error {
	err := a.core.SignOutEverywhere(a.ctx())
	if err == nil {
		a.session.Forget()
	}
	return err
}

// UnlockUser clears a user's sign-in lock.
func (a *App) UnlockUser(id uint64) (core.UserView, error) { return a.core.UnlockUser(a.ctx(), id) }

// SetLANCertificate installs the admin's own certificate (empty: the generated one).
func (a *App) SetLANCertificate(in core.LANCertificateInput) (core.LANInfo, error) {
	return a.core.SetLANCertificate(a.ctx(), in)
}

// ListAudit returns a page of the audit log.
func (a *App) ListAudit(f core.AuditFilter) (core.AuditPage, error) {
	return a.core.ListAudit(a.ctx(), f)
}

// GetAuditStats returns the last 24 hours' figures.
func (a *App) GetAuditStats(tenantID uint64) (core.AuditStats, error) {
	return a.core.GetAuditStats(a.ctx(), tenantID)
}

// GetAuditOptions lists the actions and resource types in the log.
func (a *App) GetAuditOptions(tenantID uint64) (core.AuditOptions, error) {
	return a.core.GetAuditOptions(a.ctx(), tenantID)
}

// SuggestAuditUsers offers the log's actors whose e-mail or name starts with prefix.
func (a *App) SuggestAuditUsers(tenantID uint64, prefix string) ([]core.AuditUser, error) {
	return a.core.SuggestAuditUsers(a.ctx(), tenantID, prefix)
}

// VerifyAudit checks the audit log's hash chain.
func (a *App) VerifyAudit() (store.ChainReport, error) { return a.core.VerifyAudit(a.ctx()) }

// BackupNow writes a checked copy of the database to the backups folder.
func (a *App) BackupNow() (core.BackupResult, error) { return a.core.BackupNow(a.ctx()) }

// SaveBackupResult says where an encrypted backup was saved.
type SaveBackupResult struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	Cancelled bool   `json:"cancelled"`
}

// SaveBackup saves an encrypted backup (the database and its key) to a
// file the user picks in the window's save dialog (browsers use POST
// /download/backup instead).
func (a *App) SaveBackup(passphrase string) (SaveBackupResult, error) {
	if a.saveFile == nil {
		return SaveBackupResult{}, &core.Error{Code: core.Conflict, Message: "In a browser, use Download backup."}
	}
	// Check the permission and the passphrase before asking for a file.
	if err := core.CheckBackupPassphrase(passphrase); err != nil {
		return SaveBackupResult{}, err
	}
	if _, err := a.core.GetSettings(a.ctx()); err != nil {
		return SaveBackupResult{}, err
	}
	path, err := a.saveFile("Save an encrypted backup", a.core.BackupFileName())
	if err != nil {
		return SaveBackupResult{}, &core.Error{Code: core.Conflict, Message: "The save dialog could not open: " + err.Error()}
	}
	if path == "" {
		return SaveBackupResult{Cancelled: true}, nil
	}
	res, err := a.core.SaveBackup(a.ctx(), path, passphrase)
	return SaveBackupResult{Path: res.Path, Size: res.Size}, err
}

// NewBackupRecoveryKey makes the key scheduled backups are encrypted to;
// its secret half is in the answer, this once.
func (a *App) NewBackupRecoveryKey() (core.BackupRecoveryKey, error) {
	return a.core.NewBackupRecoveryKey(a.ctx())
}

// ExportResult says where an export was saved.
type ExportResult struct {
	Path      string `json:"path"`
	Events    int    `json:"events"`
	Cancelled bool   `json:"cancelled"`
}

// SaveAuditExport saves the filtered audit log as a file the user picks in
// the window's save dialog (browsers use GET /download/audit instead).
func (a *App) SaveAuditExport(f core.AuditFilter, format string) (ExportResult, error) {
	if a.saveFile == nil {
		return ExportResult{}, &core.Error{Code: core.Conflict, Message: "In a browser, use Download CSV or Download JSON Lines."}
	}
	if format != core.FormatCSV && format != core.FormatJSONL {
		return ExportResult{}, &core.Error{Code: core.Invalid, Field: "format", Message: "Choose csv or jsonl."}
	}
	// Let core check the permission and the filter before asking for a file.
	if _, err := a.core.ListAudit(a.ctx(), core.AuditFilter{Text: f.Text, Action: f.Action, Resource: f.Resource,
		User: f.User, Since: f.Since, Until: f.Until, TenantID: f.TenantID, Limit: 1}); err != nil {
		return ExportResult{}, err
	}
	path, n, err := a.saveExport("Save the audit log", "gatehouse-audit."+format, func(w io.Writer) (int, error) {
		return a.core.ExportAudit(a.ctx(), f, format, w)
	})
	return ExportResult{Path: path, Events: n, Cancelled: path == "" && err == nil}, err
}

// UsersExportResult says where the users list was saved.
type UsersExportResult struct {
	Path      string `json:"path"`
	Users     int    `json:"users"`
	Cancelled bool   `json:"cancelled"`
}

// SaveUsersExport saves the users list, as filtered and sorted on screen, as
// a CSV file the user picks in the window's save dialog (browsers use GET
// /download/users instead).
func (a *App) SaveUsersExport(in core.ListUsersInput) (UsersExportResult, error) {
	if a.saveFile == nil {
		return UsersExportResult{}, &core.Error{Code: core.Conflict, Message: "In a browser, use Export CSV."}
	}
	// Let core check the permission, the tenant and the filters first.
	if _, err := a.core.ListUsers(a.ctx(), core.ListUsersInput{Search: in.Search, Role: in.Role, Status: in.Status,
		Sort: in.Sort, Desc: in.Desc, TenantID: in.TenantID, Limit: 1}); err != nil {
		return UsersExportResult{}, err
	}
	path, n, err := a.saveExport("Save the users list", "gatehouse-users.csv", func(w io.Writer) (int, error) {
		return a.core.ExportUsers(a.ctx(), in, w)
	})
	return UsersExportResult{Path: path, Users: n, Cancelled: path == "" && err == nil}, err
}

// saveExport asks where to save a file and writes it with export; a path
// of "" with no error is a cancelled dialog. A failed export leaves no
// partial file behind.
func (a *App) saveExport(title, name string, export func(io.Writer) (int, error)) (string, int, error) {
	path, err := a.saveFile(title, name)
	if err != nil {
		return "", 0, &core.Error{Code: core.Conflict, Message: "The save dialog could not open: " + err.Error()}
	}
	if path == "" {
		return "", 0, nil
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", 0, &core.Error{Code: core.Conflict, Message: fmt.Sprintf("Cannot write %s: %v", path, err)}
	}
	n, err := export(file)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", 0, err
	}
	return path, n, nil
}

// rememberNext records whether the sign-in under way asked to be
// remembered ("Keep me signed in on this computer") and says whether it
// will be: only the window remembers. A LAN browser's cookie is its own,
// and its sessions keep their usual lifetime.
func (a *App) rememberNext(asked bool) bool {
	w, ok := a.session.(*windowSession)
	if !ok {
		return false
	}
	w.rememberNext(asked)
	return asked
}
