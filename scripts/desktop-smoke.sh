#!/usr/bin/env bash
# Desktop smoke test: the built app opens its real window under Xvfb, the
# first-run page (loaded through a binding call) is filled in with xdotool,
# and the window's Setup binding must create the admin, which the app's own
# LAN server then confirms. Then the window's own icon, and its menu: Open
# in browser hands the LAN address to the system browser (a stand-in
# xdg-open), and Back up now… leads to the page's backup form, whose native
# save dialog writes the encrypted backup. Saves screenshots; fails if any
# step never happens. SMOKE_DISPLAY and SMOKE_PORT pick the first X display
# number and the LAN port to try.
set -euo pipefail
BIN=$(realpath "${1:-build/bin/gatehouse}")
OUT=${SMOKE_OUT:-build/smoke}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
DATA=$(mktemp -d)
PORT=${SMOKE_PORT:-$((20000 + RANDOM % 20000))}
trap 'rm -rf "$DATA"' EXIT
# The system browser, as the menu's Open in browser reaches it (pkg/browser
# runs the first of xdg-open, x-www-browser, www-browser on the PATH).
mkdir -p "$DATA/bin"
printf '#!/bin/sh\necho "$1" >> "%s/opened.txt"\n' "$OUT" > "$DATA/bin/xdg-open"
chmod +x "$DATA/bin/xdg-open"
rm -f "$OUT/opened.txt" "$OUT/menu-backup.tar.age"

# A session bus, as a desktop has, for the single-instance hand-off.
dbus-run-session -- xvfb-run -a ${SMOKE_DISPLAY:+-n "$SMOKE_DISPLAY"} -s "-screen 0 1280x860x24" bash -euo pipefail -c '
  BIN=$1; DATA=$2; PORT=$3; OUT=$4
  PATH="$DATA/bin:$PATH" "$BIN" --data "$DATA" --lan-addr 127.0.0.1:$PORT >"$OUT/app.log" 2>&1 &
  APP=$!
  trap "kill $APP 2>/dev/null || true" EXIT
  fail() { echo "desktop smoke: $*" >&2; cat "$OUT/app.log" >&2; import -window root "$OUT/failure.png" || true; exit 1; }
  # poll N CMD…: run CMD every half second until it succeeds, at most N times.
  poll() { local n=$1; shift; for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.5; done; return 1; }
  # menu ITEM: open the Gatehouse menu with a click on the menu
  # bar, once its drop-down is mapped go down to the ITEMth entry, choose it.
  menu() {
    xdotool mousemove --window "$WIN" 40 12 click 1
    poll 20 sh -c "[ \$(xdotool search --onlyvisible --pid $APP 2>/dev/null | wc -l) -gt 1 ]" || fail "the Gatehouse menu did not open"
    for _ in $(seq 1 "$1"); do xdotool key Down; done
    xdotool key Return
  }

  # Poll rather than "search --sync": a window that vanishes mid-search
  # (the toolkit makes short-lived ones) makes xdotool abort with BadWindow.
  WIN=""
  for _ in $(seq 1 60); do
    WIN=$(xdotool search --onlyvisible --name "^Gatehouse$" 2>/dev/null | head -n1 || true)
    [ -n "$WIN" ] && break
    sleep 0.5
  done
  [ -n "$WIN" ] || fail "the window never opened"
  # Wait until the setup page is drawn: the frontend asked SetupStatus through a binding.
  for i in $(seq 1 60); do
    curl -skf -X POST -H "X-Gatehouse: 1" https://127.0.0.1:$PORT/api/App.SetupStatus -d "[]" | grep -q "\"needed\":true" && break
    sleep 0.5
  done
  sleep 3
  xdotool windowfocus --sync "$WIN" 2>/dev/null || true
  import -window root "$OUT/desktop-setup.png"
  # The organisation field has focus; fill the form and press Enter.
  xdotool type --delay 15 "Smoke Test Ltd"; xdotool key Tab
  xdotool type --delay 15 "Sam Smoke"; xdotool key Tab
  xdotool type --delay 15 "sam@smoke.test"; xdotool key Tab
  xdotool type --delay 15 "smoke-password-1"; xdotool key Tab
  xdotool type --delay 15 "smoke-password-1"; xdotool key Return

  for i in $(seq 1 40); do
    if curl -skf -X POST -H "X-Gatehouse: 1" https://127.0.0.1:$PORT/api/App.SetupStatus -d "[]" | grep -q "\"needed\":false"; then
      sleep 2
      import -window root "$OUT/desktop.png"
      colours=$(convert "$OUT/desktop.png" -format "%k" info:)
      [ "$colours" -gt 50 ] || fail "the screenshot is nearly blank ($colours colours)"
      # A second double-click on the same data folder hands over and ends.
      # (Wails ends the handed-over process with status 1; only a timeout fails.)
      rc=0; timeout 20 "$BIN" --data "$DATA" --lan-addr 127.0.0.1:$((PORT+1)) >"$OUT/second.log" 2>&1 || rc=$?
      [ "$rc" -ne 124 ] || fail "the second launch did not end"
      [ "$(xdotool search --onlyvisible --name "^Gatehouse$" | wc -l)" -eq 1 ] || fail "a second window stayed open"
      kill -0 $APP || fail "the first window died when the second was launched"
      curl -skf -X POST -H "X-Gatehouse: 1" https://127.0.0.1:$PORT/api/App.SetupStatus -d "[]" >/dev/null || fail "the first window stopped answering"

      # The window sets its own icon (GTK drops one too big for X11).
      xprop -id "$WIN" -notype -len 8 _NET_WM_ICON | grep -q "Icon (256 x 256)" || fail "the window has no icon"

      # Gatehouse › Open in browser: the LAN address, to the system browser.
      xdotool windowfocus --sync "$WIN" 2>/dev/null || true
      menu 3
      poll 20 grep -qx "https://127.0.0.1:$PORT" "$OUT/opened.txt" 2>/dev/null || fail "Open in browser did not open https://127.0.0.1:$PORT"

      # Gatehouse › Back up now…: the backup form of Settings, its passphrase field
      # focused once the page has loaded the settings; then the save dialog.
      menu 2
      sleep 2
      xdotool type --delay 15 "smoke backup passphrase"; xdotool key Tab
      xdotool type --delay 15 "smoke backup passphrase"; xdotool key Return
      poll 40 sh -c "xdotool search --onlyvisible --name \"^Save an encrypted backup\$\" >/dev/null 2>&1" || fail "Back up now… never reached the save dialog"
      import -window root "$OUT/desktop-backup-dialog.png"
      xdotool key ctrl+a; xdotool type --delay 10 "$OUT/menu-backup.tar.age"; xdotool key Return
      poll 60 test -s "$OUT/menu-backup.tar.age" || fail "the save dialog did not write the backup"
      head -c 40 "$OUT/menu-backup.tar.age" | grep -q "age-encryption.org" || fail "the saved backup is not an age file"
      poll 20 sh -c "! xdotool search --onlyvisible --name \"^Save an encrypted backup\$\" >/dev/null 2>&1" || fail "the save dialog stayed open"
      import -window root "$OUT/desktop-backup.png"
      echo "desktop smoke: the window set up Gatehouse through its bindings; a second launch handed over; the window has its icon; its menu opened the LAN address and saved a backup; screenshots in $OUT"
      exit 0
    fi
    sleep 0.5
  done
  fail "the window never completed setup through its bindings"
' _ "$BIN" "$DATA" "$PORT" "$OUT"
