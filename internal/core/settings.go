package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"gatehouse/internal/auth"
	"gatehouse/internal/mail"
	"gatehouse/internal/store"
)

// Setting names in the store.
const (
	settingGeneral = "general"
	settingSMTP    = "smtp"
)

// generalSettings are stored as one record.
type generalSettings struct {
	BaseURL     string         `json:"baseUrl"`
	MultiTenant bool           `json:"multiTenant"`
	Security    SecurityPolicy `json:"security"`
	// RetentionDays keeps audit events this many days; 0 keeps everything.
	RetentionDays int `json:"retentionDays"`
	// Demo marks a folder filled by gatehouse demo.
	Demo bool `json:"demo,omitempty"`
	// LANOff stops the window from serving the office LAN (next start).
	LANOff bool `json:"lanOff,omitempty"`
	// Backups schedules daily encrypted backups (backup_schedule.go).
	Backups scheduledBackups `json:"backups"`
}

// SecurityPolicy holds the options beyond the seed; each is off by default
// so the seed's behaviour stands.
type SecurityPolicy struct {
	RecoveryCodes       bool `json:"recoveryCodes"`       // one-time recovery codes at 2FA enrolment
	RequireMFAForAdmins bool `json:"requireMfaForAdmins"` // ADMIN and SUPER_ADMIN must enrol at sign-in
	AdminReset2FA       bool `json:"adminReset2fa"`       // "Reset 2FA" on the edit form for SUPER_ADMIN
}

// smtpSettings are stored as one record; the password only sealed.
type smtpSettings struct {
	Host           string        `json:"host"`
	Port           int           `json:"port"`
	Security       mail.Security `json:"security"`
	Username       string        `json:"username"`
	SealedPassword []byte        `json:"sealedPassword,omitempty"`
	FromName       string        `json:"fromName"`
	FromAddress    string        `json:"fromAddress"`
}

func (c smtpSettings) configured() bool { return c.Host != "" && c.FromAddress != "" }

const sealSMTPPassword = "smtp-password"

// Settings is what the settings page shows. The SMTP password is never
// returned: only whether one is set.
type Settings struct {
	BaseURL        string         `json:"baseUrl"`        // as set; empty means the default
	DefaultBaseURL string         `json:"defaultBaseUrl"` // what links use when BaseURL is empty
	MultiTenant    bool           `json:"multiTenant"`
	Security       SecurityPolicy `json:"security"`
	RetentionDays  int            `json:"retentionDays"`
	LAN            LANInfo        `json:"lan"`
	LANEnabled     bool           `json:"lanEnabled"` // the window serves the LAN (from the next start)
	// BackupKeepDays keeps daily scheduled backups this many days; 0: off.
	BackupKeepDays int `json:"backupKeepDays"`
	// BackupRecipient is the public half of the recovery key scheduled
	// backups are encrypted to ("" until one is made).
	BackupRecipient string `json:"backupRecipient"`
	SMTP            struct {
		Host        string `json:"host"`
		Port        int    `json:"port"`
		Security    string `json:"security"`
		Username    string `json:"username"`
		HasPassword bool   `json:"hasPassword"`
		FromName    string `json:"fromName"`
		FromAddress string `json:"fromAddress"`
		Configured  bool   `json:"configured"`
	} `json:"smtp"`
}

// SettingsInput changes settings; a nil field is left as it is. An empty
// SMTPPassword clears it.
type SettingsInput struct {
	BaseURL             *string `json:"baseUrl"`
	MultiTenant         *bool   `json:"multiTenant"`
	RecoveryCodes       *bool   `json:"recoveryCodes"`
	RequireMFAForAdmins *bool   `json:"requireMfaForAdmins"`
	AdminReset2FA       *bool   `json:"adminReset2fa"`
	RetentionDays       *int    `json:"retentionDays"`
	LANEnabled          *bool   `json:"lanEnabled"`
	BackupKeepDays      *int    `json:"backupKeepDays"`
	SMTPHost            *string `json:"smtpHost"`
	SMTPPort            *int    `json:"smtpPort"`
	SMTPSecurity        *string `json:"smtpSecurity"`
	SMTPUsername        *string `json:"smtpUsername"`
	SMTPPassword        *string `json:"smtpPassword"`
	SMTPFromName        *string `json:"smtpFromName"`
	SMTPFromAddress     *string `json:"smtpFromAddress"`
}

func readSettings(tx *store.Tx) (generalSettings, smtpSettings, error) {
	var g generalSettings
	var m smtpSettings
	if _, err := tx.Setting(settingGeneral, &g); err != nil {
		return g, m, err
	}
	_, err := tx.Setting(settingSMTP, &m)
	return g, m, err
}

func (s *Service) linkBase(g generalSettings) string {
	if g.BaseURL != "" {
		return g.BaseURL
	}
	return *s.baseURL.Load()
}

// LinkBase returns the start of the links Gatehouse hands out: the base URL
// set in Settings, else the default. The LAN server accepts it as one of its
// own addresses (a proxy in front of it may serve that name).
func (s *Service) LinkBase() (string, error) {
	var g generalSettings
	err := s.db.View(func(tx *store.Tx) (err error) { g, _, err = readSettings(tx); return err })
	return s.linkBase(g), err
}

func (s *Service) viewSettings(g generalSettings, m smtpSettings) Settings {
	var out Settings
	out.BaseURL, out.DefaultBaseURL, out.MultiTenant, out.Security = g.BaseURL, *s.baseURL.Load(), g.MultiTenant, g.Security
	out.LAN, out.RetentionDays, out.LANEnabled = s.LANInfo(), g.RetentionDays, !g.LANOff
	out.BackupKeepDays, out.BackupRecipient = g.Backups.KeepDays, g.Backups.Recipient
	out.SMTP.Host, out.SMTP.Port, out.SMTP.Security = m.Host, m.Port, string(m.Security)
	out.SMTP.Username, out.SMTP.HasPassword = m.Username, len(m.SealedPassword) > 0
	out.SMTP.FromName, out.SMTP.FromAddress, out.SMTP.Configured = m.FromName, m.FromAddress, m.configured()
	return out
}

// GetSettings returns the settings (platform admins).
func (s *Service) GetSettings(ctx context.Context) (Settings, error) {
	var out Settings
	err := s.view(ctx, platformGate, func(tx *store.Tx, _ *actor) error {
		g, m, err := readSettings(tx)
		out = s.viewSettings(g, m)
		return err
	})
	return out, s.internal("get settings", err)
}

// UpdateSettings validates and stores changed settings, with an audit
// event listing what changed (never the password itself).
func (s *Service) UpdateSettings(ctx context.Context, in SettingsInput) (Settings, error) {
	var out Settings
	err := s.update(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		g, m, err := readSettings(tx)
		if err != nil {
			return err
		}
		beforeG, beforeM := g, m
		if err := applySettings(&g, &m, in, s.sealer); err != nil {
			return err
		}
		if err := completeSMTP(&m); err != nil {
			return err
		}
		if err := tx.PutSetting(settingGeneral, g); err != nil {
			return err
		}
		if err := tx.PutSetting(settingSMTP, m); err != nil {
			return err
		}
		out = s.viewSettings(g, m)
		before, after := s.viewSettings(beforeG, beforeM), out
		before.DefaultBaseURL, after.DefaultBaseURL = "", ""
		before.LAN, after.LAN = LANInfo{}, LANInfo{}
		return record(tx, a.now, a.who(), a.tenant.ID, ActUpdate, ResSettings, 0, &change{Before: before, After: after})
	})
	return out, s.internal("update settings", err)
}

// completeSMTP checks that a server and a sender come together (or neither:
// e-mail off) and fills the port and security a server needs.
func completeSMTP(m *smtpSettings) error {
	if m.Host == "" && m.FromAddress == "" {
		return nil
	}
	if m.Host == "" {
		return fieldError("smtpHost", "Enter the SMTP server's host name, or clear the sender address to turn e-mail off.")
	}
	if m.FromAddress == "" {
		return fieldError("smtpFromAddress", "Enter the address invitations are sent from.")
	}
	if m.Port == 0 {
		m.Port = defaultPort(m.Security)
	}
	if m.Security == "" {
		m.Security = mail.StartTLS
	}
	return nil
}

func defaultPort(sec mail.Security) int {
	switch sec {
	case mail.ImplicitTLS:
		return 465
	case mail.NoSecurity:
		return 25
	}
	return 587
}

func applySettings(g *generalSettings, m *smtpSettings, in SettingsInput, sealer *auth.Sealer) error {
	if in.BaseURL != nil {
		u := strings.TrimRight(strings.TrimSpace(*in.BaseURL), "/")
		if u != "" {
			p, err := url.Parse(u)
			if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil || len(u) > 300 {
				return fieldError("baseUrl", "Enter an address like https://gatehouse.example.com:8420, without a path query.")
			}
		}
		g.BaseURL = u
	}
	if in.MultiTenant != nil {
		g.MultiTenant = *in.MultiTenant
	}
	if in.RecoveryCodes != nil {
		g.Security.RecoveryCodes = *in.RecoveryCodes
	}
	if in.RequireMFAForAdmins != nil {
		g.Security.RequireMFAForAdmins = *in.RequireMFAForAdmins
	}
	if in.AdminReset2FA != nil {
		g.Security.AdminReset2FA = *in.AdminReset2FA
	}
	if in.LANEnabled != nil {
		g.LANOff = !*in.LANEnabled
	}
	if in.RetentionDays != nil {
		if *in.RetentionDays < 0 || *in.RetentionDays > 36500 {
			return fieldError("retentionDays", "Keep events for 1 to 36,500 days, or 0 to keep everything.")
		}
		g.RetentionDays = *in.RetentionDays
	}
	if in.BackupKeepDays != nil {
		if *in.BackupKeepDays < 0 || *in.BackupKeepDays > 3650 {
			return fieldError("backupKeepDays", "Keep daily backups for 1 to 3,650 days, or 0 to turn them off.")
		}
		if *in.BackupKeepDays > 0 && g.Backups.Recipient == "" {
			return fieldError("backupKeepDays", "Make a recovery key first: scheduled backups are encrypted to it.")
		}
		g.Backups.KeepDays = *in.BackupKeepDays
	}
	if in.SMTPHost != nil {
		h := strings.TrimSpace(*in.SMTPHost)
		if h != "" && (len(h) > 253 || strings.ContainsAny(h, " /:@\r\n\t") && net.ParseIP(h) == nil) {
			return fieldError("smtpHost", "Enter a host name like smtp.example.com, or an IP address.")
		}
		m.Host = h
	}
	if in.SMTPPort != nil {
		if *in.SMTPPort < 0 || *in.SMTPPort > 65535 {
			return fieldError("smtpPort", "The port is a number from 1 to 65535 (usually 587, 465 or 25).")
		}
		m.Port = *in.SMTPPort
	}
	if in.SMTPSecurity != nil {
		switch sec := mail.Security(*in.SMTPSecurity); sec {
		case mail.StartTLS, mail.ImplicitTLS, mail.NoSecurity:
			m.Security = sec
		default:
			return fieldError("smtpSecurity", "Choose STARTTLS, TLS or none.")
		}
	}
	if in.SMTPUsername != nil {
		u := strings.TrimSpace(*in.SMTPUsername)
		if len(u) > 254 || strings.ContainsAny(u, "\r\n") {
			return fieldError("smtpUsername", "The username can be at most 254 characters on one line.")
		}
		m.Username = u
	}
	if in.SMTPPassword != nil {
		if len(*in.SMTPPassword) > 1024 || strings.ContainsAny(*in.SMTPPassword, "\r\n") {
			return fieldError("smtpPassword", "The password can be at most 1024 characters on one line.")
		}
		m.SealedPassword = nil
		if *in.SMTPPassword != "" {
			m.SealedPassword = sealer.Seal([]byte(*in.SMTPPassword), sealSMTPPassword)
		}
	}
	if in.SMTPFromName != nil {
		n, err := cleanText("smtpFromName", *in.SMTPFromName, maxNameChars, false)
		if err != nil {
			return err
		}
		m.FromName = n
	}
	if in.SMTPFromAddress != nil {
		if strings.TrimSpace(*in.SMTPFromAddress) == "" {
			m.FromAddress = ""
		} else {
			addr, err := cleanEmail("smtpFromAddress", *in.SMTPFromAddress)
			if err != nil {
				return err
			}
			m.FromAddress = addr
		}
	}
	return nil
}

// mailConfig unseals the stored SMTP settings for sending.
func (s *Service) mailConfig(m smtpSettings) (mail.Config, error) {
	cfg := mail.Config{Host: m.Host, Port: m.Port, Security: m.Security, Username: m.Username, FromName: m.FromName, FromAddress: m.FromAddress}
	if len(m.SealedPassword) > 0 {
		pw, err := s.sealer.Open(m.SealedPassword, sealSMTPPassword)
		if err != nil {
			return cfg, errors.New("the stored SMTP password cannot be read with this data folder's key; enter it again in Settings")
		}
		cfg.Password = string(pw)
	}
	if cfg.FromName == "" {
		cfg.FromName = "Gatehouse"
	}
	return cfg, nil
}

// TestEmailResult says what happened to a test e-mail.
type TestEmailResult struct {
	Sent  bool   `json:"sent"`
	Error string `json:"error"`
}

// SendTestEmail sends a test message with the saved settings to the given
// address and reports the server's answer. The send happens outside any
// transaction; its result is audited afterwards.
func (s *Service) SendTestEmail(ctx context.Context, to string) (TestEmailResult, error) {
	if _, err := s.check(ctx, platformGate); err != nil {
		return TestEmailResult{}, err
	}
	to, err := cleanEmail("to", to)
	if err != nil {
		return TestEmailResult{}, err
	}
	var m smtpSettings
	var g generalSettings
	if err := s.db.View(func(tx *store.Tx) (err error) { g, m, err = readSettings(tx); return }); err != nil {
		return TestEmailResult{}, s.internal("read settings", err)
	}
	if !m.configured() {
		return TestEmailResult{}, &Error{Code: Conflict, Message: "Save the SMTP server and sender address first."}
	}
	cfg, err := s.mailConfig(m)
	res := TestEmailResult{Sent: true}
	if err == nil {
		err = s.mailer.Send(ctx, cfg, mail.Message{
			To:      to,
			Subject: "Gatehouse test e-mail",
			Text:    fmt.Sprintf("This is a test e-mail from Gatehouse (%s).\n\nIf you can read this, invitation e-mails will arrive too.\n", s.linkBase(g)),
			HTML:    fmt.Sprintf("<p>This is a test e-mail from Gatehouse (%s).</p><p>If you can read this, invitation e-mails will arrive too.</p>", htmlEscape(s.linkBase(g))),
		})
	}
	action := ActEmailSent
	if err != nil {
		res = TestEmailResult{Sent: false, Error: err.Error()}
		action = ActEmailFailed
	}
	rerr := s.update(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		return record(tx, a.now, a.who(), a.tenant.ID, action, ResEmail, 0, &change{Extra: map[string]any{"to": to, "kind": "test", "error": res.Error}})
	})
	return res, s.internal("record test e-mail", rerr)
}

// LANEnabled reports whether the window should serve the office LAN.
func (s *Service) LANEnabled() (bool, error) {
	var g generalSettings
	err := s.db.View(func(tx *store.Tx) (err error) { g, _, err = readSettings(tx); return })
	return !g.LANOff, err
}
