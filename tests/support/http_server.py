#!/usr/bin/env python3
"""HTTP/1.1 keep-alive test server for tests/net_http.rs (standard library only).

Usage: http_server.py [--port N] [--cert PEM --key PEM]
Binds 127.0.0.1 (port 0 = ephemeral), prints the bound port on stdout, then serves until killed.
With --cert/--key the listening socket is wrapped in TLS.

Every response carries X-Conn-Id (a per-connection id, counted from 1 in accept order) and
X-Conn-Served (how many requests this connection has served, this one included), which is the
server-side evidence of keep-alive reuse. Routes (query parameters after '?'):
  /echo              200, Content-Length, body = request body; X-Method, X-Poly-Address echo
  /stats             200, body = "accepted=<connections accepted so far>"
  /chunked?n=&size=&split=1
                     200, chunked: n chunks of `size` bytes (chunk i filled with 'a'+i%26),
                     chunk extensions, a trailer; split=1 sends every piece in several writes
                     with pauses (mid size line, mid data, mid CRLF)
  /close             200 with Connection: close, then the server closes
  /truncate_body     Content-Length 100, 10 body bytes, then close
  /truncate_head     half a status line/headers, then close
  /truncate_chunked  a chunked head and one chunk, then close
  /big?len=          200, Content-Length len of 'x'
  /hang              reads until the client closes; never answers
"""

import argparse
import itertools
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONN_IDS = itertools.count(1)
ACCEPTED = [0]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with LOCK:
            self.conn_id = next(CONN_IDS)
            ACCEPTED[0] += 1
        self.served = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.route()

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET

    def common_headers(self):
        self.send_header("X-Conn-Id", str(self.conn_id))
        self.send_header("X-Conn-Served", str(self.served))

    def reply(self, body, status=200, extra=()):
        self.send_response(status)
        self.common_headers()
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def raw(self, data, pause=0.0):
        self.wfile.write(data)
        self.wfile.flush()
        if pause:
            time.sleep(pause)

    def route(self):
        self.served += 1
        length = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/echo":
            extra = [("X-Method", self.command)]
            poly = self.headers.get("POLY_ADDRESS")
            if poly is not None:
                extra.append(("X-Poly-Address", poly))
            self.reply(body, extra=extra)
        elif path == "/stats":
            with LOCK:
                accepted = ACCEPTED[0]
            self.reply(b"accepted=%d" % accepted)
        elif path == "/chunked":
            self.chunked(int(query.get("n", "3")), int(query.get("size", "10")),
                         query.get("split") == "1")
        elif path == "/close":
            self.close_connection = True
            self.reply(b"bye", extra=[("Connection", "close")])
        elif path == "/truncate_body":
            self.send_response(200)
            self.common_headers()
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.raw(b"0123456789")
            self.close_connection = True
        elif path == "/truncate_head":
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Len")
            self.close_connection = True
        elif path == "/truncate_chunked":
            self.send_response(200)
            self.common_headers()
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.raw(b"5\r\nhello\r\n3\r\nab")
            self.close_connection = True
        elif path == "/big":
            self.reply(b"x" * int(query.get("len", "0")))
        elif path == "/hang":
            # Never answer: wait for the client to give up and close.
            while self.rfile.read(1):
                pass
            self.close_connection = True
        else:
            self.reply(b"not found", status=404)

    def chunked(self, n, size, split):
        self.send_response(200)
        self.common_headers()
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        pause = 0.003 if split else 0.0
        for i in range(n):
            data = bytes([97 + i % 26]) * size
            line = b"%x;ext=%d;name=\"v\"\r\n" % (size, i)
            if split:
                self.raw(line[:1], pause)
                self.raw(line[1:-1], pause)
                self.raw(line[-1:] + data[: size // 2], pause)
                self.raw(data[size // 2:] + b"\r", pause)
                self.raw(b"\n", pause)
            else:
                self.raw(line + data + b"\r\n")
        if split:
            self.raw(b"0\r\nX-Trail", pause)
            self.raw(b"er: done\r\n\r", pause)
            self.raw(b"\n")
        else:
            self.raw(b"0\r\nX-Trailer: done\r\n\r\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
