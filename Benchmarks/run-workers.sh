#!/usr/bin/env bash
# Workers benchmark (issue #32): N erasures and withdrawals (default 1,000; the mix of
# run-engine.sh) carried out against `lethe sandbox` by
#   sqlite  one `lethe run --until-idle` on SQLite in the state directory
#   pgK     K `lethe run --until-idle` workers (K = 1, 2, 3) on one PostgreSQL database
# Prints, per setup: erasure-targets/s (wall time from the first worker's start to the last
# one's end), Lethe's CPU per erasure-target (the workers' own rusage, via GNU time), and the
# CPU of everything else on the machine meanwhile per erasure-target (PostgreSQL, the sandbox;
# from /proc/stat), so that what PostgreSQL costs shows apart from what Lethe does.
#
# Usage: Benchmarks/run-workers.sh [N] [setups...]     e.g. Benchmarks/run-workers.sh 10000 sqlite pg1 pg2
# PostgreSQL is the one scripts/peers starts (Debian's postgresql, a fresh cluster on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
shift || true
SETUPS=("$@")
[ ${#SETUPS[@]} -eq 0 ] && SETUPS=(sqlite pg1 pg2 pg3)
WORK=${LETHE_BENCH_WORK:-/tmp/lethe-workers-bench}
rm -rf "$WORK" && mkdir -p "$WORK"
swift build -c release --product lethe >/dev/null 2>&1 && swift build -c release --product lethe-bench >/dev/null 2>&1
BIN=$(swift build -c release --show-bin-path)
TOKEN=bench-token

# The reference policies without their rate limits: the benchmark measures Lethe, not pacing.
mkdir -p "$WORK/policies"
for f in policies/*.yaml; do grep -v 'rate_limit:' "$f" >"$WORK/policies/$(basename "$f")"; done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
cleanup() { [ -n "${SANDBOX:-}" ] && kill "$SANDBOX" 2>/dev/null || true; scripts/peers stop || true; }
trap cleanup EXIT
eval "$(scripts/peers start)"
# Machine-wide CPU in clock ticks (user + nice + system + irq + softirq).
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

for setup in "${SETUPS[@]}"; do
  # A fresh sandbox per setup: the same customers to erase each time.
  [ -n "${SANDBOX:-}" ] && kill "$SANDBOX" 2>/dev/null && wait "$SANDBOX" 2>/dev/null || true
  PORT=$(free_port)
  "$BIN/lethe" sandbox --port "$PORT" --seed "$N" --token "$TOKEN" >"$WORK/sandbox.log" 2>&1 &
  SANDBOX=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/stats" >/dev/null && break; sleep 0.1; done
  for t in shop app newsletter crm; do export "LETHE_${t^^}_URL=http://127.0.0.1:$PORT/$t/v2" "LETHE_${t^^}_TOKEN=$TOKEN"; done
  export LETHE_POLICIES="$WORK/policies"
  case $setup in
    sqlite) WORKERS=1; unset LETHE_DATABASE_URL || true ;;
    pg*)
      WORKERS=${setup#pg}
      DB="lethe_bench_$RANDOM"
      psql -X -q "$LETHE_TEST_POSTGRES_URL" -c "CREATE DATABASE $DB"
      export LETHE_DATABASE_URL="${LETHE_TEST_POSTGRES_URL/\/postgres\?//$DB?}" ;;
    *) echo "unknown setup $setup (sqlite, pg1, pg2, pg3)" >&2; exit 64 ;;
  esac
  STATE="$WORK/$setup"
  "$BIN/lethe" init --state-dir "$STATE/w1" >/dev/null
  "$BIN/lethe-bench" engine-file --state "$STATE/w1" --policies "$WORK/policies" --requests "$N" | sed "s/^/$setup: /"
  for k in $(seq 2 "$WORKERS"); do
    install -d -m 700 "$STATE/w$k" && cp "$STATE/w1/"*.key "$STATE/w$k/" && "$BIN/lethe" init --state-dir "$STATE/w$k" >/dev/null
  done
  BEFORE=$(machine_ticks); START=$(date +%s.%N)
  PIDS=()
  for k in $(seq 1 "$WORKERS"); do
    /usr/bin/time -f "%U %S" -o "$STATE/time-$k.txt" "$BIN/lethe" run --until-idle --timeout 30m --state-dir "$STATE/w$k" >/dev/null 2>"$STATE/run-$k.log" &
    PIDS+=($!)
  done
  for pid in "${PIDS[@]}"; do wait "$pid" || true; done
  END=$(date +%s.%N); AFTER=$(machine_ticks)
  if [ "$setup" = sqlite ]; then
    DONE=$("$BIN/lethe-bench" engine-count --state "$STATE/w1" | sed -E 's/^done=([0-9]+).*/\1/')
  else
    DONE=$(psql -X -tA "$LETHE_DATABASE_URL" -c "SELECT count(*) FROM action WHERE operation <> 'none' AND state = 'succeeded'")
  fi
  LETHE_CPU=$(cat "$STATE"/time-*.txt | awk '{s += $1 + $2} END {print s}')
  python3 - "$setup" "$WORKERS" "$START" "$END" "$BEFORE" "$AFTER" "$(getconf CLK_TCK)" "$LETHE_CPU" "$DONE" <<'PY'
import sys
setup, workers, start, end, before, after, tick, lethe, done = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:9]), int(sys.argv[9])
wall = end - start
machine = (after - before) / tick
print(f"{setup}: {workers} worker(s), {done} erasure-targets in {wall:.2f} s: {done / wall:.0f}/s; "
      f"Lethe CPU {lethe * 1000 / max(done, 1):.2f} ms, everything else (PostgreSQL, sandbox) {(machine - lethe) * 1000 / max(done, 1):.2f} ms per erasure-target")
PY
done
