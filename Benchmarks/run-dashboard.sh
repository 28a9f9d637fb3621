#!/usr/bin/env bash
# Dashboard pages on a database of N requests (issue #15, point 5: every page in <= 100 ms of
# server time with 100,000 requests). Release build, this machine kind.
#
#  1. `lethe-bench reports --requests N --state DIR` fills a state directory (N requests received
#     on one day, each completed in all four targets, as the report benchmark does); an existing
#     DIR is reused.
#  2. `lethe serve` on it; an officer and an auditor sign in (the dashboard's session cookie).
#  3. Each page is fetched ROUNDS times with curl, one at a time; the server time is curl's
#     time to first byte minus its time to send the request, on loopback. Prints min, median
#     and max in ms per page.
#
# Usage: Benchmarks/run-dashboard.sh [requests, default 100000] [state dir, default /tmp/lethe-dashboard-bench] [rounds, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-100000}
STATE=${2:-/tmp/lethe-dashboard-bench}
ROUNDS=${3:-20}
swift build -c release --product lethe-bench >/dev/null
swift build -c release --product lethe >/dev/null
BIN="$(swift build -c release --show-bin-path)"
if [ ! -f "$STATE/lethe.db" ]; then
  echo "== filling $STATE with $REQUESTS requests (once)"
  "$BIN/lethe-bench" reports --requests "$REQUESTS" --state "$STATE" | grep -E '^(requests|setup)'
fi
WORK=$(mktemp -d /tmp/lethe-dashboard-bench-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
export LETHE_STATE_DIR="$STATE" LETHE_POLICIES="$PWD/policies"
for target in SHOP APP NEWSLETTER CRM; do export "LETHE_${target}_URL=http://127.0.0.1:1/scim/v2" "LETHE_${target}_TOKEN=tok"; done
OFFICER=$("$BIN/lethe" token create --name "bench officer $$" --role officer 2>/dev/null)
AUDITOR=$("$BIN/lethe" token create --name "bench auditor $$" --role auditor 2>/dev/null)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$BIN/lethe" serve --listen "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"
session() { curl -s -i -X POST -d "token=$1" "$BASE/signin" | sed -n 's/^[Ss]et-[Cc]ookie: \(lethe_session=[0-9a-f]*\).*/\1/p'; }
OFFICER_COOKIE=$(session "$OFFICER")
AUDITOR_COOKIE=$(session "$AUDITOR")
ID=$(curl -s -b "$OFFICER_COOKIE" "$BASE/requests" | grep -o 'href="/requests/req-[0-9a-f]*"' | head -1 | sed 's/href="\/requests\/\(.*\)"/\1/')
echo "requests in the database: $(sqlite3 "$STATE/lethe.db" 'SELECT COUNT(*) FROM request' 2>/dev/null || echo "$REQUESTS")"

measure() {  # name cookie path
  local times
  times=$(for _ in $(seq 1 "$ROUNDS"); do
    curl -s -o /dev/null -b "$2" -w '%{http_code} %{time_pretransfer} %{time_starttransfer}\n' "$BASE$3"
  done | awk '$1 != 200 { print "HTTP " $1 > "/dev/stderr"; exit 1 } { printf "%.1f\n", ($3 - $2) * 1000 }' | sort -n)
  local n min median max
  n=$(echo "$times" | wc -l)
  min=$(echo "$times" | head -1); max=$(echo "$times" | tail -1); median=$(echo "$times" | sed -n "$(( (n + 1) / 2 ))p")
  printf '%-34s min %7s ms   median %7s ms   max %7s ms\n' "$1" "$min" "$median" "$max"
}
echo "== server time per page, $ROUNDS fetches each (ms)"
measure "/ (overview)" "$OFFICER_COOKIE" "/"
measure "/requests" "$OFFICER_COOKIE" "/requests"
measure "/requests?state=completed" "$OFFICER_COOKIE" "/requests?state=completed"
measure "/requests?state=failed (none)" "$OFFICER_COOKIE" "/requests?state=failed"
measure "/requests?overdue=true" "$OFFICER_COOKIE" "/requests?overdue=true"
measure "/requests?kind=revocation&target=crm" "$OFFICER_COOKIE" "/requests?kind=revocation&target=crm"
measure "/requests?ref=BENCH-99999" "$OFFICER_COOKIE" "/requests?ref=BENCH-99999"
measure "/requests/ID (detail)" "$OFFICER_COOKIE" "/requests/$ID"
measure "/new" "$OFFICER_COOKIE" "/new"
measure "/systems" "$OFFICER_COOKIE" "/systems"
measure "/sweeps" "$OFFICER_COOKIE" "/sweeps"
measure "/reports (auditor)" "$AUDITOR_COOKIE" "/reports"
