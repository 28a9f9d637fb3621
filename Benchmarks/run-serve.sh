#!/usr/bin/env bash
# lethe serve under load (issue #14, point 7). Release build, this machine kind.
#
#  1. Filing: wrk on 8 keep-alive connections POSTs erasures for new subjects to
#     /api/v1/requests for DURATION (default 20s) while the engine inside works them against
#     `lethe sandbox` (durable commits: synchronous=FULL, as shipped). Prints requests/s and the
#     latency distribution (p50/p90/p99).
#  2. Reads on the filled database: GET /api/v1/requests/{id} and a filtered list page.
#
# Usage: Benchmarks/run-serve.sh [duration, default 20s]
# wrk is installed from Debian's packages if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20s}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product lethe >/dev/null
# LETHE_BENCH_LETHE=PATH serves with another lethe binary (one built at an earlier commit, for pairs).
LETHE="${LETHE_BENCH_LETHE:-$(swift build -c release --show-bin-path)/lethe}"
WORK=$(mktemp -d /tmp/lethe-serve-bench-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

SANDBOX_PORT=$(free_port)
"$LETHE" sandbox --port "$SANDBOX_PORT" --seed 100 --token tok >"$WORK/sandbox.log" 2>&1 &
for _ in $(seq 1 100); do grep -q '^export' "$WORK/sandbox.log" 2>/dev/null && break; sleep 0.1; done
eval "$(grep '^export' "$WORK/sandbox.log")"
export LETHE_STATE_DIR="$WORK/state" LETHE_POLICIES="$PWD/policies"
"$LETHE" init >/dev/null
export LETHE_TOKEN=$("$LETHE" token create --name load --role officer 2>/dev/null)
PORT=$(free_port)
"$LETHE" serve --listen "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"

echo "== filing: POST /api/v1/requests, 8 connections, $DURATION, engine working against the sandbox"
wrk -t2 -c8 -d"$DURATION" --latency -s Benchmarks/wrk/file-requests.lua "$BASE/api/v1/requests" | sed -n '/Thread Stats/,$p'
FILED=$(curl -s -H "Authorization: Bearer $LETHE_TOKEN" "$BASE/metrics" | awk '/^lethe_requests\{/ {s += $2} END {print s}')
echo "requests in the database: $FILED"
# The engine inside shares the cores with the API: how far it got shows where the CPU went.
DONE=$(curl -s -H "Authorization: Bearer $LETHE_TOKEN" "$BASE/metrics" | awk '/^lethe_requests\{state="completed"/ {s += $2} END {print s + 0}')
echo "completed by the engine meanwhile: ${DONE:-0}"

ID=$(curl -s -H "Authorization: Bearer $LETHE_TOKEN" "$BASE/api/v1/requests?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"][0]["id"])')
echo "== GET /api/v1/requests/$ID, 8 connections, 10s"
wrk -t2 -c8 -d10s --latency -s Benchmarks/wrk/get.lua "$BASE/api/v1/requests/$ID" | sed -n '/Thread Stats/,$p'
echo "== GET /api/v1/requests?state=completed&limit=50, 8 connections, 10s"
wrk -t2 -c8 -d10s --latency -s Benchmarks/wrk/get.lua "$BASE/api/v1/requests?state=completed&limit=50" | sed -n '/Thread Stats/,$p'
