package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"gatehouse/internal/core"
	"gatehouse/internal/store"
)

// The control socket lets a command reach the Gatehouse that has the data
// folder open (bbolt allows one process per file): to make a backup, reset
// a user's 2FA or password while the app runs. It is a Unix socket inside
// the data folder (0600), so only the same OS user can use it.
const controlFile = "control.sock"

// The requests a command can make of the running Gatehouse.
const (
	opBackup       = "backup"
	opReset2FA     = "2fa-reset"
	opResetLink    = "password-reset-link"
	opTempPassword = "password-temporary"
)

// controlRequest is one request. Password is a temporary password and
// Passphrase a backup's: they are never logged nor echoed in a reply.
type controlRequest struct {
	Op         string `json:"op"`
	Path       string `json:"path,omitempty"`
	Email      string `json:"email,omitempty"`
	Password   string `json:"password,omitempty"`
	Passphrase string `json:"passphrase,omitempty"`
}

type controlReply struct {
	Done  int64  `json:"done,omitempty"`
	Total int64  `json:"total,omitempty"`
	Size  int64  `json:"size,omitempty"`
	Path  string `json:"path,omitempty"`
	Name  string `json:"name,omitempty"`  // the user acted on
	Email string `json:"email,omitempty"` // the user acted on
	Link  string `json:"link,omitempty"`  // a one-time reset link
	Error string `json:"error,omitempty"`
	Field string `json:"field,omitempty"` // the input Error is about
	Final bool   `json:"final,omitempty"`
}

// serveControl answers control requests until ctx ends.
func serveControl(ctx context.Context, env *Env, dir string, svc *core.Service) {
	path := filepath.Join(dir, controlFile)
	os.Remove(path) // a socket left by a process that was killed
	ln, err := net.Listen("unix", path)
	if err != nil {
		logger(env).Warn("no control socket; gatehouse backup, 2fa reset and password reset need the app closed", "err", err)
		return
	}
	os.Chmod(path, 0o600)
	go func() { <-ctx.Done(); ln.Close(); os.Remove(path) }()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go handleControl(conn, svc)
	}
}

func handleControl(conn net.Conn, svc *core.Service) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Hour))
	enc := json.NewEncoder(conn)
	var req controlRequest
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&req); err != nil {
		enc.Encode(controlReply{Error: "bad request", Final: true})
		return
	}
	enc.Encode(answerControl(svc, req, func(r controlReply) { enc.Encode(r) }))
}

// answerControl answers a one-shot request on svc: in the running Gatehouse
// for the control socket, or in the command itself when nothing runs.
// progress, when set, hears how far a backup has got.
func answerControl(svc *core.Service, req controlRequest, progress func(controlReply)) controlReply {
	r := controlReply{Final: true}
	var err error
	switch req.Op {
	case opBackup:
		if !filepath.IsAbs(req.Path) {
			return controlReply{Error: "the backup path must be absolute", Final: true}
		}
		var report func(done, total int64)
		if progress != nil {
			report = func(done, total int64) { progress(controlReply{Done: done, Total: total}) }
		}
		var res core.BackupResult
		if res, err = svc.Backup(req.Path, req.Passphrase, report); err == nil {
			r.Size, r.Path = res.Size, res.Path
		}
	case opReset2FA:
		var u core.UserView
		if u, err = svc.ResetTOTPFromCLI(req.Email); err == nil {
			r.Name, r.Email = u.Name, u.Email
		}
	case opResetLink:
		r.Link, err = svc.PasswordResetLinkFromCLI(req.Email)
	case opTempPassword:
		err = svc.SetTemporaryPasswordFromCLI(req.Email, req.Password)
	default:
		r.Error = "unknown request " + req.Op
	}
	if err != nil {
		e := core.AsError(err)
		r.Error, r.Field = e.Message, e.Field
	}
	return r
}

// onDataFolder answers req on the data folder: through the control socket
// when another Gatehouse (the window or serve) has it open, else on the
// file itself. running says which.
// progress, when set, hears a backup's progress.
func onDataFolder(env *Env, dir string, req controlRequest, progress func(controlReply)) (r controlReply, running bool, err error) {
	svc, closeDB, err := open(env, dir)
	if errors.Is(err, store.ErrLocked) {
		r, err = askRunning(dir, req, progress)
		return r, true, err
	}
	if err != nil {
		return r, false, err
	}
	defer closeDB()
	if r = answerControl(svc, req, progress); r.Error != "" {
		return r, false, errors.New(r.Error)
	}
	return r, false, nil
}

// askRunning sends req to the running Gatehouse and returns its final
// reply; progress, when set, gets the replies before it.
func askRunning(dir string, req controlRequest, progress func(controlReply)) (controlReply, error) {
	conn, err := net.DialTimeout("unix", filepath.Join(dir, controlFile), 2*time.Second)
	if err != nil {
		return controlReply{}, fmt.Errorf("the data folder %s is open in a Gatehouse that cannot be reached; close the Gatehouse window or stop the server, then run this again", dir)
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return controlReply{}, err
	}
	dec := json.NewDecoder(conn)
	for {
		var r controlReply
		if err := dec.Decode(&r); err != nil {
			return controlReply{}, fmt.Errorf("the running Gatehouse stopped answering: %v", err)
		}
		if r.Final {
			if r.Error != "" {
				return r, errors.New(r.Error)
			}
			return r, nil
		}
		if progress != nil {
			progress(r)
		}
	}
}
