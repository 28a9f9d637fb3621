#!/usr/bin/env python3
"""What SQLite alone costs to file a sweep's withdrawals, on Lethe's own schema.

Replays the statements `lethe sweep` makes per withdrawal (look up the ref, insert the request,
four actions with their plan text, the audit event with its chained hash, the sweep record),
in transactions of 5,000 with WAL, synchronous=FULL and a 32 MiB cache, as Lethe does, through
Python's sqlite3 module. The schema is copied from a state directory's database, so it is the
one the current migrations build:

    lethe init --state-dir /tmp/floor-state
    python3 Benchmarks/sqlite-floor.py /tmp/floor-state/lethe.db 100000
    python3 Benchmarks/sqlite-floor.py /tmp/floor-state/lethe.db 30000 --skip actions
    python3 Benchmarks/sqlite-floor.py /tmp/floor-state/lethe.db 30000 --sql "DROP INDEX action_due"

--skip takes a comma-separated list of: select, actions, audit, sweep. --random-ids makes request
ids wholly random, as Lethe did before they began with the filing second. --plan replaces the
stored plan text. --targets N stores N action rows per withdrawal instead of four (one: only the
target that holds the purpose, as if "nothing shared here" were kept on the request instead of
as rows). Prints the time per request. See Benchmarks/README.md ("Fourth round").
"""
import argparse
import hashlib
import os
import random
import sqlite3
import tempfile
import time

PLAN = ('{"attributes":[],"groups":[],"operation":"none","reason":"app holds nothing for marketing",'
        '"retained":[],"target":"app"}')
DETAILS = ('{"actions":[{"operation":"none","target":"app"},{"operation":"remove_attributes","target":"crm"},'
           '{"operation":"none","target":"newsletter"},{"operation":"none","target":"shop"}],"by":"consent sweep",'
           '"due":"2026-12-01","kind":"revocation","purposes":["marketing"],"received":"2026-11-01",'
           '"subject":"psn_7204f99fba070d11d256d3f44b00a113"}')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("schema_db", help="a lethe.db whose schema to copy (from `lethe init`)")
    parser.add_argument("requests", nargs="?", type=int, default=100_000)
    parser.add_argument("--skip", default="", help="select,actions,audit,sweep")
    parser.add_argument("--plan", default=PLAN, help="the plan text stored in each action")
    parser.add_argument("--targets", type=int, default=4, choices=range(1, 5), help="action rows per withdrawal (1 to 4)")
    parser.add_argument("--random-ids", action="store_true", help="request ids without the filing second in front (as before 2026-12-01)")
    parser.add_argument("--sql", action="append", default=[], help="a statement to run after the schema (DROP INDEX ...)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    source = sqlite3.connect(f"file:{args.schema_db}?mode=ro", uri=True)
    schema = [sql for (name, sql) in source.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
              if name != "sqlite_sequence"]
    source.close()

    directory = tempfile.mkdtemp(prefix="lethe-sqlite-floor-")
    db = sqlite3.connect(os.path.join(directory, "floor.db"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "cache_size=-32768", "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    for sql in schema + args.sql:
        db.execute(sql)

    seq, prev = 0, "0" * 64
    started = time.time()
    for batch in range(0, args.requests, 5000):
        db.execute("BEGIN IMMEDIATE")
        for i in range(batch, min(args.requests, batch + 5000)):
            now = time.time()
            # As Lethe makes them: the filing second, then 48 random bits (--random-ids: random only, as before).
            request_id = ("req-%012x" % random.getrandbits(48)) if args.random_ids else ("req-%08x%012x" % (int(now), random.getrandbits(48)))
            pseudonym = "psn_" + os.urandom(16).hex()
            if "select" not in skip:
                db.execute("SELECT * FROM request WHERE ref = ?", (None,)).fetchall()
            db.execute("""INSERT INTO request (id, kind, ref, purposes, pseudonym, email, external_id, user_name, requested_by,
                          note, received, due, created_at, state, approval, starts_at)
                          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                       (request_id, "revocation", None, '["marketing"]', pseudonym, f"w{i}@example.com", None, None,
                        "consent sweep", None, "2026-11-01", "2026-12-01", now, "received", None, now))
            if "actions" not in skip:
                for target in ("crm", "app", "newsletter", "shop")[:args.targets]:
                    db.execute("INSERT INTO action (request_id, target, plan, operation, state, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                               (request_id, target, args.plan, "remove_attributes", "pending", now))
            if "audit" not in skip:
                db.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
                seq += 1
                digest = hashlib.sha256((prev + "\n" + DETAILS).encode()).hexdigest()
                db.execute("INSERT INTO audit_event (seq, at, request_id, target, event, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (seq, "2026-12-01T02:10:20.174Z", request_id, None, "request_filed", DETAILS, prev, digest))
                prev = digest
            if "sweep" not in skip:
                db.execute("INSERT OR IGNORE INTO sweep_filed (pseudonym, purpose, changed_at, request_id, filed_at) VALUES (?, ?, ?, ?, ?)",
                           (pseudonym, "marketing", now, request_id, now))
        db.execute("COMMIT")
    elapsed = time.time() - started
    db.close()
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))
    os.rmdir(directory)
    print(f"{args.requests} requests: {elapsed:.2f} s ({elapsed / args.requests * 1e6:.0f} µs per request)"
          + (f"; skipped {','.join(sorted(skip))}" if skip else "") + "".join(f"; {sql}" for sql in args.sql)
          + (f"; {args.targets} action row{'s' if args.targets > 1 else ''} per request" if args.targets != 4 else "")
          + ("; plan text replaced" if args.plan != PLAN else "")
          + ("; random request ids" if args.random_ids else ""))


if __name__ == "__main__":
    main()
