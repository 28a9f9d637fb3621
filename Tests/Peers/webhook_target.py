"""A system reached by webhook, for the tests of `kind: webhook` targets.

Listens on 127.0.0.1 (port 0: it prints the port), takes Lethe's jobs at POST /job, checks
each job's signature (HMAC-SHA256 of "SECONDS.BODY" under WEBHOOK_SECRET) and appends what it
got to JOBS_FILE as a JSON line. How it answers depends on the subject's e-mail local part:
  sync...    200 {"action": N, "outcome": "erased", "checked": "row count 0 after delete"}
  async...   202 (the test calls back itself)
  silent...  202, and nobody ever calls back
  flaky...   500 the first time, then like sync
  refuse...  400
A job with a bad signature is answered 401.
"""
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ["WEBHOOK_SECRET"].encode()
JOBS = os.environ["JOBS_FILE"]
seen = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, document=None):
        body = json.dumps(document).encode() if document is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        timestamp = self.headers.get("Lethe-Webhook-Timestamp", "")
        expected = "sha256=" + hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers.get("Lethe-Webhook-Signature", ""))
        job = json.loads(body or b"{}")
        with open(JOBS, "a") as out:
            out.write(json.dumps({"signed": signed, "job": job}) + "\n")
        if not signed:
            return self.answer(401, {"error": "bad signature"})
        email = job.get("subject", {}).get("emails.value", "")
        kind = email.split("@")[0].rstrip("0123456789")
        count = seen[email] = seen.get(email, 0) + 1
        if kind == "flaky" and count == 1:
            return self.answer(500, {"error": "try again"})
        if kind in ("sync", "flaky"):
            return self.answer(200, {"action": job["action"], "outcome": "erased", "checked": "row count 0 after delete"})
        if kind in ("async", "silent"):
            return self.answer(202, {"accepted": True})
        return self.answer(400, {"error": "no"})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
