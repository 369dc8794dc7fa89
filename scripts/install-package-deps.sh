#!/usr/bin/env bash
# Installs what `make package` needs on top of scripts/install-deps.sh, and only
# what is missing: NSIS (the Windows installer), and to check the Windows
# packages: Wine (to run gatehouse.exe), the MinGW-w64 compiler (to build the
# bcryptprimitives stand-in Wine 8 lacks), 7-Zip (to list the installer's
# payload) and curl (to call the server). `make test` needs none of these.
set -euo pipefail

PACKAGES=(nsis wine64 gcc-mingw-w64-x86-64-win32 p7zip-full curl)

"$(dirname "$0")/apt-install-missing.sh" "${PACKAGES[@]}"
