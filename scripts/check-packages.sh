#!/usr/bin/env bash
# Checks what `make package` made: the Windows program and installer, the
# .deb with its binary, desktop entry, icon and WebKitGTK 4.1 dependency,
# and that the packaged Linux binary reports the version it was built as.
# The Windows program is run under Wine (scripts/check-windows.sh); the NSIS
# installer is 32-bit, which these machines cannot execute, so its payload is
# listed with 7-Zip instead: the very gatehouse.exe checked under Wine, the
# uninstaller and the WebView2 bootstrapper.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:?version}
fail() { echo "check-packages: $*" >&2; exit 1; }

exe=build/bin/gatehouse.exe
[ -s "$exe" ] || fail "$exe is missing"
[ "$(head -c 2 "$exe")" = "MZ" ] || fail "$exe is not a Windows program"
installer=$(ls build/bin/*installer*.exe 2>/dev/null | head -n1)
[ -n "$installer" ] && [ "$(head -c 2 "$installer")" = "MZ" ] || fail "the NSIS installer is missing"
payload=$(7z l -ba -slt "$installer") || fail "7z cannot list $installer"
for f in 'Gatehouse.exe' 'uninstall.exe' '$PLUGINSDIR/webview2bootstrapper/MicrosoftEdgeWebview2Setup.exe'; do
  grep -qxF "Path = $f" <<<"$payload" || fail "$installer does not hold $f"
done
cmp -s <(7z e -so "$installer" Gatehouse.exe) "$exe" || fail "the Gatehouse.exe in $installer is not $exe"
[ "$(7z e -so "$installer" '$PLUGINSDIR/webview2bootstrapper/MicrosoftEdgeWebview2Setup.exe' | head -c 2)" = "MZ" ] \
  || fail "the WebView2 bootstrapper in $installer is not a Windows program"

deb=$(ls build/packages/gatehouse_*_amd64.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || fail "the .deb is missing"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/gatehouse ./usr/libexec/gatehouse/gatehouse-window ./usr/share/applications/gatehouse.desktop ./usr/share/icons/hicolor/1024x1024/apps/gatehouse.png; do
  grep -q " $f\$" <<<"$contents" || fail "$deb lacks $f"
done
dpkg-deb -f "$deb" Depends | grep -q "libwebkit2gtk-4.1-0" || fail "$deb does not depend on WebKitGTK 4.1"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
"$tmp/usr/bin/gatehouse" version | grep -qF "$VERSION" || fail "the packaged binary does not report $VERSION"
"$tmp/usr/libexec/gatehouse/gatehouse-window" version | grep -qF "$VERSION" || fail "the packaged window program does not report $VERSION"
if readelf -d "$tmp/usr/bin/gatehouse" 2>/dev/null | grep -q NEEDED; then
  fail "/usr/bin/gatehouse links shared libraries: it must start without the window's"
fi
./scripts/check-windows.sh "$VERSION"
echo "packages OK: $exe, $installer, $deb ($(du -h "$deb" | cut -f1))"
