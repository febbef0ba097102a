#!/usr/bin/python3
"""A k-anonymity range server for the leaked-password tests (stdlib only).

    https_server.py --port-file F --cert C --key K [--mode M] [--dir D]
                    [--log L] [--max-seconds S]

Listens on 127.0.0.1, port 0 (the kernel picks one); writes the port to F
(atomically, once the socket is listening). TLS with certificate C and key K.
Requests other than GET /range/<5 hex> get 400 (the log says so).

Modes:
  normal     200 with the file D/<PREFIX> (prefix upper-cased), 404 if none
  status500  500
  garbage    200 with a body that is not a range reply
  huge       200, 10 MiB of range-looking lines, no Content-Length
  huge-cl    the same with a Content-Length header
  hang       reads the request and never answers
  hang-tls   accepts the TCP connection and never starts TLS
  redirect   302 to http://127.0.0.1:1/

Every request is appended to L (if given), for the test to assert on:
  REQUEST <path>
  prefix=ok|bad          the path was exactly /range/ and 5 hex digits
  padding=yes|no         the request had "Add-Padding: true"
  header <Name>: <value> one per request header
  END

The server stops on SIGTERM (the test kills it by pid), when its parent goes
away, or after S seconds (default 300). It uses no network but 127.0.0.1.
"""

import argparse
import http.server
import os
import re
import socket
import socketserver
import ssl
import sys
import threading
import time

RANGE = re.compile(r"^/range/([0-9A-Fa-f]{5})$")
HUGE = 10 * 1024 * 1024
LINE = b"0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n"  # range-shaped


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "range-test"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def record(self, ok):
        log = self.server.opts.log
        if not log:
            return
        padding = self.headers.get("Add-Padding", "").strip().lower() == "true"
        lines = ["REQUEST " + self.path,
                 "prefix=" + ("ok" if ok else "bad"),
                 "padding=" + ("yes" if padding else "no")]
        for name, value in self.headers.items():
            lines.append("header %s: %s" % (name, value))
        lines.append("END")
        with self.server.log_lock, open(log, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        opts = self.server.opts
        m = RANGE.match(self.path)
        self.record(m is not None)
        if m is None:
            self.send(400, b"bad request\n")
            return
        prefix = m.group(1).upper()
        mode = opts.mode
        if mode == "normal":
            path = os.path.join(opts.dir or ".", prefix)
            try:
                with open(path, "rb") as f:
                    body = f.read()
            except FileNotFoundError:
                self.send(404, b"no such range\n")
                return
            self.send(200, body)
        elif mode == "status500":
            self.send(500, b"internal error\n")
        elif mode == "garbage":
            self.send(200, b"<html><body>this is not a range reply</body></html>\n")
        elif mode in ("huge", "huge-cl"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            if mode == "huge-cl":
                self.send_header("Content-Length", str(HUGE))
            self.end_headers()
            chunk = LINE * 1024
            sent = 0
            try:
                while sent < HUGE:
                    piece = chunk[:HUGE - sent]
                    self.wfile.write(piece)
                    sent += len(piece)
            except OSError:
                pass  # the client gave up, as it should
        elif mode == "hang":
            while True:
                time.sleep(60)
        elif mode == "redirect":
            self.send(302, b"", [("Location", "http://127.0.0.1:1/")])
        else:
            self.send(500, b"unknown mode\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's thread, so a
        # client that stalls cannot block the accept loop.
        if self.opts.mode == "hang-tls":
            while True:
                time.sleep(60)
        try:
            conn = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. the client rejected our certificate
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except OSError:
            pass
        finally:
            self.close_gently(conn)

    @staticmethod
    def close_gently(conn):
        # Half-close and drain before closing: closing a socket with unread
        # input resets the connection, and the peer may lose the reply's end.
        try:
            conn.settimeout(2)
            conn = conn.unwrap()
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(4096):
                pass
        except (ssl.SSLError, OSError, ValueError):
            pass
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        pass


def watchdog(parent, deadline):
    while True:
        if os.getppid() != parent or time.monotonic() > deadline:
            os._exit(0)
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mode", default="normal",
                    choices=["normal", "status500", "garbage", "huge", "huge-cl", "hang",
                             "hang-tls", "redirect"])
    ap.add_argument("--dir")
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=float, default=300)
    opts = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts.cert, opts.key)

    srv = Server(("127.0.0.1", 0), Handler)
    srv.opts = opts
    srv.ctx = ctx
    srv.log_lock = threading.Lock()

    threading.Thread(target=watchdog, args=(os.getppid(), time.monotonic() + opts.max_seconds),
                     daemon=True).start()

    tmp = opts.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, opts.port_file)

    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
