package web

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"gatehouse/internal/backup"
	"gatehouse/internal/core"
)

// Backup streams an encrypted backup for a caller; package main supplies
// it over core, which checks the caller's permission and the passphrase.
type Backup func(r *http.Request, s Session, ip, passphrase string, w io.Writer) (int64, error)

// backupWriteTime bounds how long one backup download may take to send.
const backupWriteTime = 30 * time.Minute

// serveBackupDownload answers POST /download/backup (form field
// passphrase) with an encrypted backup file, streamed. The passphrase goes
// in the body, never the URL (URLs end up in logs and history); the
// request is an API call in all but its answer, so it needs the same
// custom header and origin as one.
func (s *Server) serveBackupDownload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, &core.Error{Code: core.Invalid, Message: "A backup is downloaded with POST, the passphrase in the body."})
		return
	}
	if err := s.checkOrigin(r); err != nil {
		writeError(w, http.StatusForbidden, &core.Error{Code: core.Forbidden, Message: err.Error()})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, &core.Error{Code: core.Invalid, Message: "Send the passphrase as a form field."})
		return
	}
	sess := s.session(w, r)
	hw := &headerOnWrite{w: w, before: func() {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="gatehouse-backup-%s%s"`, time.Now().UTC().Format("20060102-150405"), backup.Ext))
	}}
	// A large database takes longer than the server's usual write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupWriteTime))
	_, err := s.cfg.Backup(r, sess, clientIP(r), r.PostForm.Get("passphrase"), hw)
	s.endDownload(w, hw, err, "backup download")
}
