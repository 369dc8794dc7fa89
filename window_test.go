package main

import (
	"bytes"
	"image/png"
	"testing"
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
