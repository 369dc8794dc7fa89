#!/usr/bin/env bash
# Runs the Windows build, build/bin/gatehouse.exe, under Debian's wine64 (run
# by scripts/check-packages.sh from `make package`): `version`, a
# non-interactive `setup`, then `serve --http` on loopback and two API calls at
# the address it printed (the setup is seen done, and the administrator it
# created signs in). What it needs is installed by scripts/install-package-deps.sh.
#
# Wine 8 lacks bcryptprimitives.dll, which Go's Windows runtime loads for
# ProcessPrng: the stand-in in build/windows/wine/ is built here with MinGW-w64
# and put into a throwaway Wine prefix under build/wine-check/ (removed again
# when the check passes; kept with its logs when it fails).
# Not checked here: the control socket (AF_UNIX fails under Wine) and the
# window (WebView2, which Wine lacks).
#
#   scripts/check-windows.sh VERSION
#   GATEHOUSE_WINE_ADDR=127.0.0.1:PORT   serve there (default 127.0.0.1:0, any free port)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:?version}
ADDR=${GATEHOUSE_WINE_ADDR:-127.0.0.1:0}
EXE=build/bin/gatehouse.exe
WORK=$PWD/build/wine-check
LOG=$WORK/logs

step="starting"
reported=""
fail() {
  reported=1
  echo "check-windows: FAILED at step \"$step\": $*" >&2
  echo "check-windows: logs and the Wine prefix are kept in $WORK" >&2
  exit 1
}
# show LOGFILE: the last lines of a step's output, for a failure message.
show() { [ -s "$1" ] && { echo "--- last lines of $1:"; tail -n 15 "$1"; } >&2 || true; }

# Debian's wine64 package puts the loader in /usr/lib/wine (the `wine`
# wrapper package is not needed).
WINE=${WINE:-$(command -v wine64 || echo /usr/lib/wine/wine64)}
WINESERVER=${WINESERVER:-$(command -v wineserver || echo /usr/lib/wine/wineserver)}
[ -x "$WINE" ] || fail "no wine64 (looked for $WINE); run scripts/install-package-deps.sh"
[ -x "$WINESERVER" ] || fail "no wineserver (looked for $WINESERVER)"
command -v x86_64-w64-mingw32-gcc >/dev/null || fail "no x86_64-w64-mingw32-gcc; run scripts/install-package-deps.sh"
command -v curl >/dev/null || fail "no curl"
[ -s "$EXE" ] || fail "$EXE is missing"

rm -rf "$WORK"
mkdir -p "$LOG" "$WORK/data"
export WINEPREFIX=$WORK/prefix
# Quiet and headless: no Wine debug output, no windows, and no offer to
# download Mono or Gecko (there is no network to get them from).
export WINEDEBUG=-all WINEARCH=win64
export WINEDLLOVERRIDES="bcryptprimitives=n;mscoree=;mshtml="
unset DISPLAY WAYLAND_DISPLAY

server_pid=""
cleanup() {
  local rc=$?
  [ "$rc" -eq 0 ] || [ -n "$reported" ] || echo "check-windows: FAILED at step \"$step\" (exit status $rc); logs in $WORK" >&2
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  # Ends this prefix's wineserver and whatever still runs in the prefix.
  [ -d "$WINEPREFIX" ] && timeout 20 "$WINESERVER" -k 2>/dev/null || true
  [ "$rc" -eq 0 ] && rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

step="build the bcryptprimitives stand-in"
dll=$WORK/bcryptprimitives.dll
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll" \
  build/windows/wine/bcryptprimitives.c build/windows/wine/bcryptprimitives.def -ladvapi32 \
  >"$LOG/dll.log" 2>&1 || { show "$LOG/dll.log"; fail "x86_64-w64-mingw32-gcc failed"; }

step="create the Wine prefix (wineboot -i)"
# One wineserver for the whole check rather than one per command.
mkdir -p "$WINEPREFIX"
"$WINESERVER" -p || fail "wineserver -p failed"
timeout 180 "$WINE" wineboot -i >"$LOG/wineboot.log" 2>&1 || { show "$LOG/wineboot.log"; fail "wineboot -i failed or took over 180 s"; }
cp "$dll" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"

# The data folder as Windows sees it (Wine's Z: is /).
data='Z:'${WORK//\//\\}'\data'
# gatehouse.exe under Wine, its output in $LOG/NAME.out and .err.
run() {
  local name=$1 secs=$2; shift 2
  timeout "$secs" "$WINE" "$EXE" "$@" >"$LOG/$name.out" 2>"$LOG/$name.err"
}

step="gatehouse.exe version"
run version 60 version </dev/null || { rc=$?; show "$LOG/version.err"; fail "it exited with status $rc"; }
grep -qF "$VERSION" "$LOG/version.out" || { show "$LOG/version.out"; fail "it does not report $VERSION"; }
echo "check-windows: gatehouse.exe version under Wine: $(head -n1 "$LOG/version.out" | tr -d '\r')"

step="gatehouse.exe setup"
email=admin@example.com
password=Correct-horse-battery-9
printf '%s\n' "$password" | run setup 60 setup --data "$data" --email "$email" --name "Wine Check" --password-stdin \
  || { rc=$?; show "$LOG/setup.err"; fail "it exited with status $rc"; }
grep -q "as SUPER_ADMIN" "$LOG/setup.out" || { show "$LOG/setup.out"; fail "it did not say it created the administrator"; }
[ -s "$WORK/data/gatehouse.db" ] || fail "no gatehouse.db in $WORK/data"
echo "check-windows: setup created the first administrator"

step="gatehouse.exe serve --http"
timeout 300 "$WINE" "$EXE" serve --http --addr "$ADDR" --data "$data" </dev/null >"$LOG/serve.out" 2>"$LOG/serve.err" &
server_pid=$!
url=""
for _ in $(seq 240); do
  url=$(sed -n 's/^Listening on \(http:[^[:space:]]*\).*/\1/p' "$LOG/serve.out" | head -n1)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { show "$LOG/serve.err"; fail "the server exited before listening"; }
  sleep 0.25
done
[ -n "$url" ] || { show "$LOG/serve.err"; fail "no \"Listening on\" line within 60 s"; }
echo "check-windows: serve --http is listening on $url"

# api METHOD JSON: POST /api/App.METHOD at the printed address (its Host
# header is one the server accepts); the body in $LOG/METHOD.json.
api() {
  local code
  code=$(curl -sS --max-time 20 -o "$LOG/$1.json" -w '%{http_code}' -X POST \
    -H 'X-Gatehouse: 1' -H 'Content-Type: application/json' --data "$2" "$url/api/App.$1" 2>"$LOG/$1.curl") \
    || { show "$LOG/$1.curl"; fail "curl could not reach $url"; }
  [ "$code" = 200 ] || { show "$LOG/$1.json"; fail "POST /api/App.$1 answered HTTP $code"; }
}

step="POST /api/App.SetupStatus"
api SetupStatus '[]'
grep -q '"needed":false' "$LOG/SetupStatus.json" || { show "$LOG/SetupStatus.json"; fail "the server does not see the setup done"; }

step="POST /api/App.SignIn"
api SignIn "[{\"email\":\"$email\",\"password\":\"$password\"}]"
grep -q '"step":"done"' "$LOG/SignIn.json" || { show "$LOG/SignIn.json"; fail "the administrator could not sign in"; }
grep -qF "\"email\":\"$email\"" "$LOG/SignIn.json" || { show "$LOG/SignIn.json"; fail "the sign-in did not return the administrator"; }
echo "check-windows: the API answered (setup done; the administrator signed in)"

step="stop the server"
kill "$server_pid"
for _ in $(seq 40); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$server_pid" 2>/dev/null && fail "the server (PID $server_pid) did not stop within 10 s"
server_pid=""
echo "check-windows: gatehouse.exe works under Wine (version, setup, serve --http, API)"
