#!/usr/bin/env bash
# Times `gatehouse serve` from exec until its port answers an HTTP request,
# RUNS times on DATA (the first run warms the page cache and is dropped).
#   scripts/cold-start.sh build/bin/gatehouse DATA [PORT] [RUNS]
set -euo pipefail
bin=$1 data=$2 port=${3:-18950} runs=${4:-5}
for i in $(seq 0 "$runs"); do
	start=$(date +%s%N)
	"$bin" serve --http --addr "127.0.0.1:$port" --data "$data" >/dev/null 2>&1 &
	pid=$!
	until curl -s -o /dev/null -H 'Host: 127.0.0.1:'"$port" "http://127.0.0.1:$port/" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { echo "serve exited" >&2; exit 1; }
		sleep 0.002
	done
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	kill "$pid"; wait "$pid" 2>/dev/null || true
	[ "$i" -gt 0 ] && echo "run $i: ${ms} ms"
done
