// Command gatehouse is the Gatehouse desktop app and LAN server.
package main

import (
	"embed"
	"io/fs"
	"os"

	"gatehouse/internal/cli"
	"gatehouse/internal/core"
	"gatehouse/internal/web"
)

//go:embed all:frontend/dist
var assets embed.FS

//go:embed build/appicon.png
var appIcon embed.FS

// version is stamped at build time from git (see the Makefile).
var version = "dev"

func main() {
	os.Exit(cli.Main(cli.Env{
		Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Version:  version,
		Frontend: frontend(),
		NewApp: func(svc *core.Service, s web.Session, ip, ua string) any {
			return newApp(svc, s, ip, ua)
		},
		Window: runWindow,
	}))
}

func frontend() fs.FS {
	dist, err := fs.Sub(assets, "frontend/dist")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	return dist
}
