#!/usr/bin/env python3
"""Times the SQL a report export runs per page, alone, from Python's sqlite3 on a state
directory's database: what SQLite itself costs on this schema, without Lethe.

Usage: Benchmarks/report-queries.py STATE/lethe.db [query ...]
Queries: finals, changes, actions, all_events (default: all). 500 requests to a query, as the
export reads them. Read-only: the database is opened with mode=ro.
"""
import sqlite3
import sys
import time

FOLLOW_UP = ("CASE WHEN instr(details, '\"follow_up\"') > 0 AND json_type(details, '$.follow_up') = 'text' "
             "THEN json_extract(details, '$.follow_up') END")
KINDS = "'action_retried','approval_granted','cancel_requested','rejection_recorded','request_extended'"
ACTION_COLUMNS = ("id, request_id, target, plan, state, attempts, budget_start, next_attempt_at, account_ref, outcome, verified, "
                  "verification, last_error, completed_at, follows, not_before, written")
QUERIES = {
    "finals": lambda marks: f"SELECT MAX(seq), at, request_id, target, event, details, prev_hash, hash, {FOLLOW_UP} FROM audit_event "
                            f"WHERE request_id IN ({marks}) AND target IS NOT NULL GROUP BY request_id, target, {FOLLOW_UP}",
    "changes": lambda marks: f"SELECT * FROM audit_event WHERE request_id IN ({marks}) AND event IN ({KINDS}) ORDER BY seq",
    "actions": lambda marks: f"SELECT {ACTION_COLUMNS} FROM action WHERE request_id IN ({marks}) ORDER BY target, not_before",
    "all_events": lambda marks: f"SELECT seq, target, event, hash FROM audit_event WHERE request_id IN ({marks})",
}

if len(sys.argv) < 2:
    sys.exit(__doc__)
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
ids = [row[0] for row in db.execute("SELECT id FROM request ORDER BY received, created_at, id")]
for name in sys.argv[2:] or list(QUERIES):
    start, rows = time.time(), 0
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for _ in db.execute(QUERIES[name](",".join("?" * len(chunk))), chunk):
            rows += 1
    print(f"{name}: {time.time() - start:.2f} s, {rows} rows")
