//go:build nowindow && unix

package main

import (
	"os"
	"path/filepath"
	"syscall"

	"gatehouse/internal/cli"
)

// This build is Gatehouse without its window: every command, the LAN
// server among them, in a program that loads no GUI library. On Linux the
// window's WebKitGTK and the hundred libraries it brings are linked with
// immediate binding (Debian's hardening), which costs any process that maps
// them some 70 ms before main runs; a server started without them answers
// in a few. The window itself is gatehouse-window, installed beside this
// program; the window command is handed to it whole.
var runWindow func(cli.Window) error

// windowProgramName is the desktop build's name.
const windowProgramName = "gatehouse-window"

// windowProgram finds gatehouse-window beside this program, or in the
// libexec folder of its installation (/usr/bin → /usr/libexec/gatehouse).
func windowProgram() string {
	self, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(self); err == nil {
		self = real
	}
	dir := filepath.Dir(self)
	for _, p := range []string{
		filepath.Join(dir, windowProgramName),
		filepath.Join(dir, "..", "libexec", "gatehouse", windowProgramName),
	} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// execProgram replaces this process with program: same process id, same
// environment, same standard streams.
func execProgram(program string, args []string) error {
	return syscall.Exec(program, append([]string{program}, args...), os.Environ())
}
