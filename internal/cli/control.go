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
)

// The control socket lets a command reach the Gatehouse that has the data
// folder open (bbolt allows one process per file): today, to make a backup
// while the app runs. It is a Unix socket inside the data folder (0700), so
// only the same OS user can use it.
const controlFile = "control.sock"

type controlRequest struct {
	Op   string `json:"op"`
	Path string `json:"path"`
}

type controlReply struct {
	Done  int64  `json:"done,omitempty"`
	Total int64  `json:"total,omitempty"`
	Size  int64  `json:"size,omitempty"`
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
	Final bool   `json:"final,omitempty"`
}

// serveControl answers control requests until ctx ends.
func serveControl(ctx context.Context, env *Env, dir string, svc *core.Service) {
	path := filepath.Join(dir, controlFile)
	os.Remove(path) // a socket left by a process that was killed
	ln, err := net.Listen("unix", path)
	if err != nil {
		logger(env).Warn("no control socket; gatehouse backup needs the app closed", "err", err)
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
	switch req.Op {
	case "backup":
		if !filepath.IsAbs(req.Path) {
			enc.Encode(controlReply{Error: "the backup path must be absolute", Final: true})
			return
		}
		res, err := svc.Backup(req.Path, func(done, total int64) { enc.Encode(controlReply{Done: done, Total: total}) })
		if err != nil {
			enc.Encode(controlReply{Error: core.AsError(err).Message, Final: true})
			return
		}
		enc.Encode(controlReply{Size: res.Size, Path: res.Path, Final: true})
	default:
		enc.Encode(controlReply{Error: "unknown request " + req.Op, Final: true})
	}
}

// backupViaControl asks the running Gatehouse to make the backup.
func backupViaControl(env *Env, dir, path string) (int64, error) {
	conn, err := net.DialTimeout("unix", filepath.Join(dir, controlFile), 2*time.Second)
	if err != nil {
		return 0, errors.New("the data folder is open in a Gatehouse that cannot be reached; close it and run the backup again")
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(controlRequest{Op: "backup", Path: path}); err != nil {
		return 0, err
	}
	dec := json.NewDecoder(conn)
	for {
		var r controlReply
		if err := dec.Decode(&r); err != nil {
			return 0, fmt.Errorf("the running Gatehouse stopped answering: %v", err)
		}
		if r.Final {
			if r.Error != "" {
				return 0, errors.New(r.Error)
			}
			return r.Size, nil
		}
		if r.Total > 0 {
			fmt.Fprintf(env.Stderr, "\rbacking up… %d%%", r.Done*100/r.Total)
		}
	}
}
