// Package web is the LAN transport: it serves the embedded frontend and
// exposes every method of the bound App at POST /api/App.<Method>, with the
// JSON argument list as Wails itself passes it. Routes are generated from
// the App type by reflection, so the window and the LAN can never drift.
//
// web imports core for its error type and caller context only; the App
// itself is supplied by package main.
package web
