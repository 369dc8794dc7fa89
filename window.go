package main

import (
	"context"
	"log/slog"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"

	"gatehouse/internal/cli"
	"gatehouse/internal/core"
)

// runWindow opens the desktop window over an opened service. The window's
// calls are recorded with the IP "desktop".
func runWindow(w cli.Window) error {
	app := newApp(w.Service, &memorySession{}, "desktop", "Gatehouse desktop")
	return wails.Run(&options.App{
		Title:     "Gatehouse",
		Width:     1200,
		Height:    800,
		MinWidth:  900,
		MinHeight: 600,
		AssetServer: &assetserver.Options{
			Assets: w.Frontend,
		},
		BackgroundColour: &options.RGBA{R: 248, G: 249, B: 251, A: 255},
		OnStartup:        func(ctx context.Context) { app.base = ctx },
		OnShutdown:       func(context.Context) { w.Shutdown() },
		ErrorFormatter: func(err error) any {
			e := core.AsError(err)
			if e.Code == core.Internal {
				slog.Error("window call failed", "err", err)
			}
			return e
		},
		Bind: []any{app},
	})
}
