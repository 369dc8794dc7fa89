#!/usr/bin/env bash
# make cluster: a local Gatehouse cluster in one command — three etcd
# members and two Gatehouse nodes (gatehouse serve --etcd) on loopback,
# each with its own folder under $CLUSTER_DIR (default build/cluster). It
# builds the pinned etcd server (tools/etcd, from the Go module proxy,
# once), prints the URLs, and stops everything it started, by PID, on
# Ctrl-C or when any of them exits.
#   scripts/cluster.sh build/bin/gatehouse
set -euo pipefail
BIN=$(realpath "${1:-build/bin/gatehouse}")
ETCD_VERSION=v3.7.3
DIR=${CLUSTER_DIR:-build/cluster}
BASE=${CLUSTER_PORT:-23790}
mkdir -p "$DIR"
DIR=$(realpath "$DIR")

# The pinned server, built from the Go module proxy by tools/etcd (a module
# of its own: etcd's own go.mod has replace directives, so a plain
# "go install go.etcd.io/etcd/server/v3@v3.7.3" is refused).
ETCD=$(realpath build/bin)/etcd-$ETCD_VERSION
if [ ! -x "$ETCD" ]; then
  echo "Building etcd $ETCD_VERSION (tools/etcd, once)…"
  (cd tools/etcd && go build -o "$ETCD" .)
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the cluster (PIDs ${pids[*]})…"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

initial=""
endpoints=""
for i in 0 1 2; do
  initial+="${initial:+,}m$i=http://127.0.0.1:$((BASE + 2*i + 1))"
  endpoints+="${endpoints:+,}http://127.0.0.1:$((BASE + 2*i))"
done
state=new
[ -d "$DIR/etcd-m0/member" ] && state=existing
for i in 0 1 2; do
  # Gatehouse writes a use case's keys in one transaction: a retention
  # sweep or a migration batch holds thousands (the README's limits).
  "$ETCD" --name "m$i" --data-dir "$DIR/etcd-m$i" \
    --listen-client-urls "http://127.0.0.1:$((BASE + 2*i))" --advertise-client-urls "http://127.0.0.1:$((BASE + 2*i))" \
    --listen-peer-urls "http://127.0.0.1:$((BASE + 2*i + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((BASE + 2*i + 1))" \
    --initial-cluster "$initial" --initial-cluster-token gatehouse-local --initial-cluster-state "$state" \
    --max-txn-ops 16384 --max-request-bytes 33554432 \
    --auto-compaction-mode periodic --auto-compaction-retention 1h --quota-backend-bytes 8589934592 --log-level warn \
    >"$DIR/etcd-m$i.log" 2>&1 &
  pids+=($!)
done

# The first node makes the key; the second gets a copy of it, as the
# README tells an operator to do.
mkdir -p "$DIR/node-a" "$DIR/node-b"
for n in a b; do
  port=$((BASE + 10 + $([ $n = a ] && echo 0 || echo 1)))
  if [ $n = b ]; then
    for _ in $(seq 1 100); do [ -s "$DIR/node-a/secret.key" ] && break; sleep 0.1; done
    install -m 0600 "$DIR/node-a/secret.key" "$DIR/node-b/secret.key"
  fi
  "$BIN" serve --http --addr "127.0.0.1:$port" --data "$DIR/node-$n" --etcd "$endpoints" >"$DIR/node-$n.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$DIR/node-$n.log" >&2; exit 1; }
    sleep 0.2
  done
done

cat <<EOF

Gatehouse on a local etcd cluster (folders and logs in $DIR):
  etcd members   $endpoints
  node A         http://127.0.0.1:$((BASE + 10))      health: http://127.0.0.1:$((BASE + 10))/healthz
  node B         http://127.0.0.1:$((BASE + 11))      health: http://127.0.0.1:$((BASE + 11))/healthz
$(grep -h "First run" "$DIR"/node-*.log 2>/dev/null | head -n 1)
Press Ctrl-C to stop them all.
EOF
wait -n "${pids[@]}" || true
echo "A process of the cluster stopped; see the logs in $DIR."
