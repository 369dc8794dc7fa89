#!/usr/bin/env bash
# Installs what Gatehouse needs to build and test on Debian 12, and only what
# is missing: Debian packages (after one apt-get update), the pinned Wails
# CLI through go install, and the frontend's packages with npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

WAILS_VERSION=v2.12.0
PACKAGES=(gcc pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev xvfb xauth xdotool x11-utils imagemagick dbus-daemon chromium oathtool git ca-certificates)
command -v node >/dev/null || PACKAGES+=(nodejs npm)
command -v go >/dev/null || PACKAGES+=(golang-go)

./scripts/apt-install-missing.sh "${PACKAGES[@]}"

GOBIN=$(go env GOPATH)/bin
if ! "$GOBIN/wails" version 2>/dev/null | grep -q "$WAILS_VERSION"; then
  echo "Installing the Wails CLI $WAILS_VERSION"
  go install "github.com/wailsapp/wails/v2/cmd/wails@$WAILS_VERSION"
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f frontend/node_modules/.package-lock.json ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
  echo "Installing frontend packages (npm ci)"
  (cd frontend && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
