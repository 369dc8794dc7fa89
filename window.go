//go:build !nowindow

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/menu"
	"github.com/wailsapp/wails/v2/pkg/menu/keys"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"gatehouse/internal/cli"
	"gatehouse/internal/core"
)

// windowProgram is empty: this build has the window itself.
func windowProgram() string { return "" }

func execProgram(string, []string) error { return errors.New("this build has the window itself") }

// windowState is the window's size and place, remembered between runs.
type windowState struct {
	Width, Height int
	X, Y          int
	Placed        bool
	Maximised     bool
}

const windowFile = "window.json"

func loadWindowState(dir string) windowState {
	s := windowState{Width: 1200, Height: 800}
	if raw, err := os.ReadFile(filepath.Join(dir, windowFile)); err == nil {
		var saved windowState
		if json.Unmarshal(raw, &saved) == nil && saved.Width >= 900 && saved.Height >= 600 && saved.Width < 10000 && saved.Height < 10000 {
			s = saved
		}
	}
	return s
}

func saveWindowState(dir string, s windowState) {
	raw, _ := json.Marshal(s)
	_ = os.WriteFile(filepath.Join(dir, windowFile), raw, 0o600)
}

// instanceID names the single-instance lock after the data folder, so two
// windows on two folders can coexist but not two on one.
func instanceID(dir string) string {
	abs, _ := filepath.Abs(dir)
	sum := sha256.Sum256([]byte(abs))
	return "gatehouse-" + hex.EncodeToString(sum[:8])
}

// runWindow opens the desktop window over an opened service. The window's
// calls are recorded with the IP "desktop". With w.Handoff, the data folder
// is open in another Gatehouse: the single-instance lock brings that window
// to the front and this process ends.
func runWindow(w cli.Window) error {
	var ctx context.Context
	if w.Handoff {
		return wails.Run(&options.App{
			Title: "Gatehouse", Width: 480, Height: 200,
			SingleInstanceLock: &options.SingleInstanceLock{UniqueId: instanceID(w.DataDir)},
			AssetServer:        &assetserver.Options{Assets: w.Frontend},
			OnStartup: func(c context.Context) {
				// Reached only where the lock could not hand over (no session bus).
				runtime.MessageDialog(c, runtime.MessageDialogOptions{Type: runtime.InfoDialog, Title: "Gatehouse is already running",
					Message: "Gatehouse is already open with the data folder " + w.DataDir + ". Switch to its window."})
				runtime.Quit(c)
			},
		})
	}
	app := windowApp(w)
	app.saveFile = func(title, name string) (string, error) {
		return runtime.SaveFileDialog(ctx, runtime.SaveDialogOptions{Title: title, DefaultFilename: name})
	}
	state := loadWindowState(w.DataDir)

	appMenu := menu.NewMenu()
	gh := appMenu.AddSubmenu("Gatehouse")
	gh.AddText("About Gatehouse", nil, func(*menu.CallbackData) {
		runtime.MessageDialog(ctx, runtime.MessageDialogOptions{Type: runtime.InfoDialog, Title: "About Gatehouse", Message: aboutText(w)})
	})
	gh.AddSeparator()
	// The page's own backup form: a backup needs a passphrase, asked there.
	gh.AddText("Back up now…", nil, func(*menu.CallbackData) { runtime.EventsEmit(ctx, menuBackupEvent) })
	gh.AddText("Open in browser", nil, func(*menu.CallbackData) { openInBrowser(ctx, w.Service) })
	gh.AddText("Open data folder", nil, func(*menu.CallbackData) { runtime.BrowserOpenURL(ctx, "file://"+w.DataDir) })
	gh.AddSeparator()
	gh.AddText("Quit", keys.CmdOrCtrl("q"), func(*menu.CallbackData) { runtime.Quit(ctx) })
	appMenu.Append(menu.EditMenu())

	return wails.Run(&options.App{
		Title:     "Gatehouse",
		Width:     state.Width,
		Height:    state.Height,
		MinWidth:  900,
		MinHeight: 600,
		Menu:      appMenu,
		AssetServer: &assetserver.Options{
			Assets: w.Frontend,
		},
		BackgroundColour: &options.RGBA{R: 246, G: 247, B: 249, A: 255},
		Linux:            &linux.Options{ProgramName: "gatehouse", Icon: windowIcon},
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId: instanceID(w.DataDir),
			OnSecondInstanceLaunch: func(options.SecondInstanceData) {
				runtime.WindowUnminimise(ctx)
				runtime.Show(ctx)
			},
		},
		OnStartup: func(c context.Context) { ctx, app.base = c, c },
		OnDomReady: func(c context.Context) {
			if state.Placed {
				runtime.WindowSetPosition(c, state.X, state.Y)
			}
			if state.Maximised {
				runtime.WindowMaximise(c)
			}
		},
		OnBeforeClose: func(c context.Context) bool {
			s := windowState{Maximised: runtime.WindowIsMaximised(c), Placed: true}
			s.Width, s.Height = runtime.WindowGetSize(c)
			s.X, s.Y = runtime.WindowGetPosition(c)
			if s.Maximised {
				old := loadWindowState(w.DataDir) // keep the size it returns to
				s.Width, s.Height, s.X, s.Y = old.Width, old.Height, old.X, old.Y
			}
			saveWindowState(w.DataDir, s)
			return false
		},
		OnShutdown: func(context.Context) { w.Shutdown() },
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

// menuBackupEvent asks the page for its backup form (frontend/src/lib/desktop.ts).
const menuBackupEvent = "menu:backup"

// openInBrowser opens the LAN address in the system browser, as staff see
// it, or says why there is none.
func openInBrowser(ctx context.Context, svc *core.Service) {
	if addr, ok := lanAddress(svc.LANInfo()); ok {
		runtime.BrowserOpenURL(ctx, addr)
		return
	}
	on, _ := svc.LANEnabled()
	runtime.MessageDialog(ctx, runtime.MessageDialogOptions{Type: runtime.InfoDialog, Title: "The LAN server is not running", Message: lanOffText(on)})
}

// lanAddress is the address "Open in browser" opens: the first one other
// computers reach, else the first there is; false when the LAN server is
// not running.
func lanAddress(info core.LANInfo) (string, bool) {
	if !info.Running || len(info.URLs) == 0 {
		return "", false
	}
	for _, u := range info.URLs {
		if p, err := url.Parse(u); err == nil {
			if ip := net.ParseIP(p.Hostname()); p.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return u, true
			}
		}
	}
	return info.URLs[0], true
}

func lanOffText(enabled bool) string {
	if enabled {
		return "The LAN server did not start with this window, so there is no address to open: it was started with --no-lan, or its address was taken (the log says which). The window works without it."
	}
	return "The LAN server is off, so there is no address to open. Turn on \"Serve the office LAN from the desktop app\" in Settings › LAN server; it starts the next time Gatehouse opens."
}

func aboutText(w cli.Window) string {
	lan := "The LAN server is off."
	if info := w.Service.LANInfo(); info.Running {
		lan = "Staff open: " + strings.Join(info.URLs, ", ")
	}
	return fmt.Sprintf("Gatehouse %s\nUsers and access for small offices and MSPs.\n\nData folder: %s\n%s", version, w.DataDir, lan)
}
