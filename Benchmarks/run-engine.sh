#!/usr/bin/env bash
# Engine benchmark: N erasures and withdrawals (default 20,000, a mix over the four reference
# targets) against `lethe sandbox`, run to idle by one `lethe run --until-idle` process with the
# durability Lethe ships with (synchronous=FULL, read-back verification). Prints
# erasure-targets/s, CPU ms per erasure-target (the process's own rusage via GNU time), SCIM
# calls per action (counted by the sandbox, GET /stats), peak RSS, the sandbox's own CPU during
# the run (so that a sandbox that sets the pace shows), and its raw ceiling for a GET by id
# measured the same minute with wrk (8 connections; installed from Debian's packages if missing).
#
# Usage: Benchmarks/run-engine.sh [N] [--groups-on-users]
#   LETHE_BENCH_PEER=scim2  runs against scim2-server (scripts/peers) instead of the sandbox.
#   LETHE_BENCH_CONCURRENCY=N  sets every target's max_concurrency (the reference policies: 4).
#   LETHE_BENCH_LETHE=PATH  runs the engine with another lethe binary (a copy built at an earlier
#                           commit, for before/after pairs); everything else uses this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
GROUPS_FLAG=${2:-}
WORK=${LETHE_BENCH_WORK:-/tmp/lethe-engine-bench}
rm -rf "$WORK" && mkdir -p "$WORK"
swift build -c release --product lethe >/dev/null 2>&1 && swift build -c release --product lethe-bench >/dev/null 2>&1
BIN=$(swift build -c release --show-bin-path)
TOKEN=bench-token

# The reference policies without their rate limits: the benchmark measures Lethe, not pacing.
mkdir -p "$WORK/policies"
# LETHE_BENCH_CONCURRENCY=N sets every target's max_concurrency (the reference policies say 4).
for f in policies/*.yaml; do
  out="$WORK/policies/$(basename "$f")"
  grep -v 'rate_limit:' "$f" >"$out"
  if [ -n "${LETHE_BENCH_CONCURRENCY:-}" ]; then
    sed -i -E "s/max_concurrency: [0-9]+/max_concurrency: $LETHE_BENCH_CONCURRENCY/" "$out"
  fi
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
cleanup() { [ -n "${SANDBOX:-}" ] && kill "$SANDBOX" 2>/dev/null || true; [ "${LETHE_BENCH_PEER:-}" = scim2 ] && scripts/peers stop || true; }
trap cleanup EXIT

if [ "${LETHE_BENCH_PEER:-}" = scim2 ]; then
  eval "$(scripts/peers start)"
  TOKEN=$LETHE_TEST_SCIM2_TOKEN
  for t in shop app newsletter crm; do
    export "LETHE_${t^^}_URL=$LETHE_TEST_SCIM2_URL/bench-$t/v2" "LETHE_${t^^}_TOKEN=$TOKEN"
  done
  "$BIN/lethe-bench" engine-seed --customers "$N" --token "$TOKEN" >/dev/null
  STATS=""
else
  PORT=$(free_port)
  "$BIN/lethe" sandbox --port "$PORT" --seed "$N" --token "$TOKEN" $GROUPS_FLAG >"$WORK/sandbox.log" 2>&1 &
  SANDBOX=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/stats" >/dev/null && break; sleep 0.1; done
  for t in shop app newsletter crm; do
    export "LETHE_${t^^}_URL=http://127.0.0.1:$PORT/$t/v2" "LETHE_${t^^}_TOKEN=$TOKEN"
  done
  STATS="http://127.0.0.1:$PORT/stats"
fi

export LETHE_STATE_DIR="$WORK/state" LETHE_POLICIES="$WORK/policies"
"$BIN/lethe" init >/dev/null
"$BIN/lethe-bench" engine-file --state "$WORK/state" --policies "$WORK/policies" --requests "$N" ${LETHE_BENCH_PEER:+--seeded}
ACTIONS=$("$BIN/lethe-bench" engine-count --state "$WORK/state" | sed -E 's/.*pending=([0-9]+).*/\1/')
[ -n "$STATS" ] && curl -s "$STATS" >"$WORK/stats-before.json"
# The sandbox's own CPU (utime + stime in clock ticks, /proc/PID/stat fields 14 and 15): a
# sandbox that is the limit shows here, not in Lethe's figures.
sandbox_ticks() { [ -n "${SANDBOX:-}" ] && awk '{print $14 + $15}' "/proc/$SANDBOX/stat" || echo 0; }
SANDBOX_BEFORE=$(sandbox_ticks)

# LETHE_BENCH_PERF=1 records a profile too (perf record -g, into $WORK/perf.data; the times then include perf's cost).
# LETHE_BENCH_PERF_EVENT=sched:sched_switch (with LETHE_BENCH_PERF=1) samples thread switches instead of CPU time.
PERF=()
[ -n "${LETHE_BENCH_PERF:-}" ] && PERF=(perf record ${LETHE_BENCH_PERF_EVENT:+-e $LETHE_BENCH_PERF_EVENT} -F 999 -g -o "$WORK/perf.data" --)
/usr/bin/time -f "%e %U %S %M %w %c" -o "$WORK/time.txt" "${PERF[@]}" "${LETHE_BENCH_LETHE:-$BIN/lethe}" run --until-idle --timeout 30m >/dev/null 2>"$WORK/run.log" || true
read -r WALL USER SYS RSS WAITS PREEMPTED <"$WORK/time.txt"
SANDBOX_AFTER=$(sandbox_ticks)
DONE=$("$BIN/lethe-bench" engine-count --state "$WORK/state")
echo "actions: $ACTIONS to carry out; after the run: $DONE"
SUCCEEDED=$(echo "$DONE" | sed -E 's/^done=([0-9]+).*/\1/')
python3 - "$WALL" "$USER" "$SYS" "$RSS" "$SUCCEEDED" "$WAITS" "$PREEMPTED" <<'PY'
import sys
wall, user, sys_, rss, done = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
waits, preempted = int(sys.argv[6]), int(sys.argv[7])
print(f"lethe run --until-idle: {wall:.2f} s wall, {user + sys_:.2f} s CPU (user {user:.2f} + sys {sys_:.2f}), peak RSS {rss // 1024} MiB")
print(f"erasure-targets/s: {done / wall:.0f}")
print(f"CPU per erasure-target: {(user + sys_) * 1000 / max(done, 1):.2f} ms")
# Counted, not timed: steadier than CPU time on a VM whose speed drifts.
print(f"context switches per erasure-target: {(waits + preempted) / max(done, 1):.1f} ({waits} waits, {preempted} preempted)")
PY

if [ -n "$STATS" ]; then
  echo "sandbox CPU during the run: $(python3 -c "print(f'{($SANDBOX_AFTER - $SANDBOX_BEFORE) / $(getconf CLK_TCK):.2f} s')")"
  curl -s "$STATS" >"$WORK/stats-after.json"
  python3 - "$WORK/stats-before.json" "$WORK/stats-after.json" "$SUCCEEDED" <<'PY'
import json, sys
before = json.load(open(sys.argv[1]))["calls"]; after = json.load(open(sys.argv[2]))["calls"]; done = int(sys.argv[3])
calls = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}
total = sum(calls.values())
print(f"SCIM calls: {total} ({total / max(done, 1):.2f} per action)")
for key in sorted(calls): print(f"  {key}: {calls[key]}")
PY
  # wrk comes from Debian's packages, installed here when missing (as run-serve.sh does).
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || true
  if command -v wrk >/dev/null; then
    ID=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/crm/v2/Users?count=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Resources"][0]["id"])')
    echo "sandbox raw ceiling (wrk, 2 threads, 8 connections, 5 s, GET /crm/v2/Users/{id}):"
    wrk -t2 -c8 -d5s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/crm/v2/Users/$ID" | grep -E "Requests/sec|Latency"
  else
    echo "wrk is not installed (apt-get install wrk): no raw ceiling measured"
  fi
fi
