//go:build !nowindow

package main

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"gatehouse/internal/core"
)

// GTK silently drops a window icon too big for the X11 icon property
// (1024 px was, and the window showed none), so the embedded one must stay
// small enough.
func TestWindowIconFitsTheX11Property(t *testing.T) {
	cfg, err := png.DecodeConfig(bytes.NewReader(windowIcon))
	if err != nil {
		t.Fatalf("the window icon is not a PNG: %v", err)
	}
	if cfg.Width != cfg.Height || cfg.Width > 256 || cfg.Width < 64 {
		t.Fatalf("the window icon is %d×%d; want a square of 64 to 256 px", cfg.Width, cfg.Height)
	}
}

func TestOpenInBrowserOpensTheLANAddress(t *testing.T) {
	for _, c := range []struct {
		info core.LANInfo
		want string
	}{
		{core.LANInfo{Running: true, URLs: []string{"https://localhost:8420", "https://192.168.1.20:8420", "https://10.0.0.5:8420"}}, "https://192.168.1.20:8420"},
		{core.LANInfo{Running: true, URLs: []string{"https://127.0.0.1:18300"}}, "https://127.0.0.1:18300"},
		{core.LANInfo{Running: true, URLs: []string{"http://localhost:8420", "http://[::1]:8420", "http://[fe80::1]:8420"}}, "http://[fe80::1]:8420"},
		{core.LANInfo{Running: false, URLs: []string{}}, ""},
	} {
		got, ok := lanAddress(c.info)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%v: %q %v, want %q", c.info.URLs, got, ok, c.want)
		}
	}
	if off, failed := lanOffText(false), lanOffText(true); !strings.Contains(off, "Settings › LAN server") || !strings.Contains(failed, "--no-lan") {
		t.Errorf("the explanations: %q / %q", off, failed)
	}
}
