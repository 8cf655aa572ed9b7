#!/usr/bin/env python3
"""Canned Gamma/CLOB server for tests/discovery.rs (standard library only).

Usage: discovery_server.py ROUTES_JSON [CERT_PEM KEY_PEM]
Binds 127.0.0.1 on an ephemeral port, prints the port on stdout, serves until killed. With a
certificate and key the listening socket speaks TLS.

ROUTES_JSON maps a request target (path + query, exactly as sent) to a list of responses served
in order, the last one repeating: {"status": int, "body": str, "delay_s": float (optional)}.
A delay longer than the client's timeout simulates a hung server. Unknown targets get 404.
GET /_stats returns {"<target>": <requests received>, ...} (requests counted on arrival).
"""

import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
HITS = {}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        routes = json.load(f)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/_stats":
                with LOCK:
                    body = json.dumps(HITS)
                self.reply(200, body)
                return
            with LOCK:
                n = HITS.get(self.path, 0)
                HITS[self.path] = n + 1
            plan = routes.get(self.path)
            if not plan:
                self.reply(404, '{"error":"not found"}')
                return
            step = plan[min(n, len(plan) - 1)]
            delay = step.get("delay_s", 0)
            if delay:
                time.sleep(delay)
            try:
                self.reply(step["status"], step["body"])
            except OSError:
                pass  # the client gave up and closed

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if len(sys.argv) >= 4:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
