#!/usr/bin/env bash
# Sweep benchmark: generates synthetic ledgers of 10k, 100k and 1M rows, times
# `lethe sweep --dry-run` on each (wall time and peak memory), then times a real sweep
# that files 100,000 withdrawals. Release build; results go to stdout.
# Usage: Benchmarks/run-sweep.sh [work dir, default /tmp/lethe-sweep-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/lethe-sweep-bench}
mkdir -p "$WORK"
swift build -c release --product lethe >/dev/null 2>&1 && swift build -c release --product lethe-bench >/dev/null 2>&1
BIN=$(swift build -c release --show-bin-path)

for rows in 10000 100000 1000000; do
  [ -f "$WORK/ledger-$rows.csv" ] || "$BIN/lethe-bench" ledger --rows "$rows" --out "$WORK/ledger-$rows.csv"
done

export LETHE_STATE="$WORK/state"
rm -rf "$LETHE_STATE"
"$BIN/lethe" init >/dev/null

echo "== lethe sweep --dry-run (streamed ledger; nothing filed)"
for rows in 10000 100000 1000000; do
  /usr/bin/time -f "$rows rows: %e s wall, %M KiB peak RSS" "$BIN/lethe" sweep --ledger "$WORK/ledger-$rows.csv" --dry-run >/dev/null
done

echo "== lethe sweep (filing): a ledger with 100,000 withdrawals"
[ -f "$WORK/withdrawals-100k.csv" ] || {
  echo "subject_email,purpose,status,changed_at"
  for i in $(seq 0 99999); do echo "w$i@example.com,marketing,revoked,2026-11-0$((i % 9 + 1))"; done
} >"$WORK/withdrawals-100k.csv"
/usr/bin/time -f "filing 100000 withdrawals: %e s wall, %M KiB peak RSS" "$BIN/lethe" sweep --ledger "$WORK/withdrawals-100k.csv" --json \
  | grep -E '"(revocations_filed|duration_ms)"'
/usr/bin/time -f "same ledger again (nothing new): %e s wall, %M KiB peak RSS" "$BIN/lethe" sweep --ledger "$WORK/withdrawals-100k.csv" --json \
  | grep -E '"(revocations_filed|already_filed)"'
