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

// windowIcon is the window's own icon on Linux: 256 px, made from
// build/appicon.png with `convert build/appicon.png -resize 256x256
// PNG32:build/linux/appicon-256.png`. GTK drops a 1024 px icon without a
// word: the X11 icon property it would fill holds at most 256 KiB words.
//
//go:embed build/linux/appicon-256.png
var windowIcon []byte

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
		Window:        runWindow,
		WindowProgram: windowProgram(),
		Exec:          execProgram,
	}))
}

func frontend() fs.FS {
	dist, err := fs.Sub(assets, "frontend/dist")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	return dist
}
