#!/usr/bin/env bash
# Report benchmark: files 10,000 requests in a fresh state directory, completes their
# actions in the store, then exports a signed period report and verifies it
# (signature, canonical form, audit chain). Release build.
# Usage: Benchmarks/run-reports.sh [requests, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product lethe-bench >/dev/null
"$(swift build -c release --show-bin-path)/lethe-bench" reports --requests "${1:-10000}"
