#!/usr/bin/env bash
# Desktop smoke test: the built app opens its real window under Xvfb, the
# first-run page (loaded through a binding call) is filled in with xdotool,
# and the window's Setup binding must create the admin, which the app's own
# LAN server then confirms. Saves a screenshot; fails if any step never
# happens.
set -euo pipefail
BIN=$(realpath "${1:-build/bin/gatehouse}")
OUT=${SMOKE_OUT:-build/smoke}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
DATA=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
trap 'rm -rf "$DATA"' EXIT

# A session bus, as a desktop has, for the single-instance hand-off.
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x860x24" bash -euo pipefail -c '
  BIN=$1; DATA=$2; PORT=$3; OUT=$4
  "$BIN" --data "$DATA" --lan-addr 127.0.0.1:$PORT >"$OUT/app.log" 2>&1 &
  APP=$!
  trap "kill $APP 2>/dev/null || true" EXIT
  fail() { echo "desktop smoke: $*" >&2; cat "$OUT/app.log" >&2; import -window root "$OUT/failure.png" || true; exit 1; }

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
      echo "desktop smoke: the window set up Gatehouse through its bindings; a second launch handed over; screenshot at $OUT/desktop.png"
      exit 0
    fi
    sleep 0.5
  done
  fail "the window never completed setup through its bindings"
' _ "$BIN" "$DATA" "$PORT" "$OUT"
