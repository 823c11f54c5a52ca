#!/usr/bin/env python3
"""A VES 7.2.1 test collector for nectar's end-to-end tests.

Serves the ONAP VES Event Listener API (`POST /eventListener/v7` with one
`{"event": ...}`, `POST /eventListener/v7/eventBatch` with `{"eventList": [...]}`)
over HTTP or HTTPS with Basic authentication, and validates every request body
against the official schema CommonEventFormat_30.2.1_ONAP.json, taken from the
pytest-ves package at run time.

Files in --dir:
  port            the TCP port, written once listening
  events.jsonl    one line per accepted event: {"t": arrival, "path": ..., "batch": n, "event": ...}
  errors.jsonl    one line per refused request: {"t": ..., "status": ..., "error": ...}
  commands.json   if present, a JSON list of commands returned as the next
                  response's commandList; then renamed commands.sent
"""

import argparse
import base64
import importlib.resources
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jsonschema import Draft4Validator

SCHEMA = json.loads(
    importlib.resources.files("pytest_ves.schemas")
    .joinpath("CommonEventFormat_30.2.1_ONAP.json")
    .read_text(encoding="utf-8")
)
VALIDATOR = Draft4Validator(SCHEMA)
LOCK = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--certfile")
    ap.add_argument("--keyfile")
    args = ap.parse_args()
    expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()

    def record(name, obj):
        with LOCK, open(os.path.join(args.dir, name), "a", encoding="utf-8") as f:
            f.write(json.dumps(obj) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def refuse(self, status, text):
            record("errors.jsonl", {"t": time.time(), "status": status, "path": self.path, "error": text})
            self.reply(status, {"requestError": {"messageId": "SVC0002", "text": text}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.headers.get("Authorization") != expected:
                return self.refuse(401, "bad or missing Basic credentials")
            if self.path not in ("/eventListener/v7", "/eventListener/v7/eventBatch"):
                return self.refuse(404, f"no such resource {self.path}")
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                return self.refuse(400, "Content-Type is not application/json")
            try:
                body = json.loads(raw)
            except ValueError as e:
                return self.refuse(400, f"not JSON: {e}")
            errors = sorted(VALIDATOR.iter_errors(body), key=lambda e: list(e.path))
            if errors:
                return self.refuse(400, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5]))
            if self.path.endswith("/eventBatch"):
                events = body.get("eventList")
                if not isinstance(events, list) or "event" in body:
                    return self.refuse(400, "eventBatch needs eventList only")
                domains = {e["commonEventHeader"]["domain"] for e in events}
                if len(domains) != 1:
                    return self.refuse(400, f"a batch mixes domains {sorted(domains)}")
            else:
                if "event" not in body or "eventList" in body:
                    return self.refuse(400, "the single-event resource needs event only")
                events = [body["event"]]
            now = time.time()
            for e in events:
                record("events.jsonl", {"t": now, "path": self.path, "batch": len(events), "event": e})
            answer = None
            cmd = os.path.join(args.dir, "commands.json")
            with LOCK:
                if os.path.exists(cmd):
                    with open(cmd, encoding="utf-8") as f:
                        answer = {"commandList": json.load(f)}
                    os.replace(cmd, os.path.join(args.dir, "commands.sent"))
            self.reply(202, answer)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.certfile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.certfile, args.keyfile)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(args.dir, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
