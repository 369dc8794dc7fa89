//go:build nowindow && !unix

package main

import (
	"errors"

	"gatehouse/internal/cli"
)

// A build without the window, where no process can hand over to another
// (Windows): the window command says this build has none.
var runWindow func(cli.Window) error

func windowProgram() string { return "" }

func execProgram(string, []string) error { return errors.New("this build cannot start the window") }
