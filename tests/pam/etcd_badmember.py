#!/usr/bin/python3
"""A broken etcd member for the fleet tests (stdlib only, plain http).

    etcd_badmember.py --port-file F --mode-file M [--log L] [--max-seconds S]

Listens on 127.0.0.1, port 0 (the kernel picks one); writes the port to F
(atomically, once the socket is listening). For every connection it reads
the mode from the first word of M (so the test can change it between
sign-ins without a restart) and misbehaves accordingly:

  silent      accepts the connection, reads nothing, never answers
  hang        reads the request, never answers
  close       accepts the connection and closes it at once
  headers     sends a status line and never the rest
  trickle     200 with a Content-Length of 64 KiB, then one byte every 0.2 s
  short       200 with a Content-Length of 4096, 20 bytes of body, then closes
  garbage     200 with an HTML page
  truncated   200, a JSON reply cut in the middle (Content-Length matches)
  huge        200, 8 MiB of JSON-looking bytes, no Content-Length
  huge-cl     the same with a Content-Length header
  notobject   200 with a JSON array
  header-str  200 with {"header": "x", "kvs": []}
  no-header   200 with {"kvs": [], "count": "0"}
  empty-header 200 with {"header": {}} (no revision: no real member says that)
  kvs-str     200 with a header and "kvs" a string
  rev-str     200, one kvs entry whose mod_revision is "abc"
  rev-neg     200, one kvs entry whose mod_revision is -5
  value-num   200, one kvs entry whose value is a number
  value-b64   200, one kvs entry whose value is not base64
  more-str    200 with "more": "yes"
  succ-str    200 with "succeeded": "true" (a string) and a header revision
  status500   HTTP 500 with an etcd-like error body

kvs-str to more-str are range results: a request to /v3/kv/txn gets them
inside a successful transaction's reply, as the result of each of its
range operations (its other operations get an empty put result).

Each connection is logged to L (if given) as "CONN <mode> <path>". The
server stops on SIGTERM (the test kills it by pid), when its parent goes
away, or after S seconds (default 600). It uses no network but 127.0.0.1.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time

HDR = b'"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"2"}'
KEY = b'"a2V5"'  # "key"

# The same body for every request.
BODIES = {
    "garbage": b"<html><body>502 Bad Gateway, or so</body></html>\n",
    "truncated": b"{" + HDR + b',"kvs":[{"key":' + KEY + b',"create_revision":"5","mod_rev',
    "notobject": b"[1, 2, 3]\n",
    "header-str": b'{"header":"x","kvs":[]}\n',
    "no-header": b'{"kvs":[],"count":"0"}\n',
    "empty-header": b'{"header":{}}\n',
    "succ-str": b"{" + HDR + b',"succeeded":"true"}\n',
}
# A range result with a field of the wrong type: the reply to a range
# request, and inside a transaction's reply (a successful transaction whose
# range operations all return it) to a transaction request.
RANGES = {
    "kvs-str": b"{" + HDR + b',"kvs":"none"}\n',
    "rev-str": b"{" + HDR + b',"kvs":[{"key":' + KEY
    + b',"create_revision":"5","mod_revision":"abc","version":"1","value":"eA=="}],"count":"1"}\n',
    "rev-neg": b"{" + HDR + b',"kvs":[{"key":' + KEY
    + b',"create_revision":"5","mod_revision":-5,"version":"1","value":"eA=="}],"count":"1"}\n',
    "value-num": b"{" + HDR + b',"kvs":[{"key":' + KEY
    + b',"create_revision":"5","mod_revision":"6","version":"1","value":12}],"count":"1"}\n',
    "value-b64": b"{" + HDR + b',"kvs":[{"key":' + KEY
    + b',"create_revision":"5","mod_revision":"6","version":"1","value":"!!not base64!!"}],'
    b'"count":"1"}\n',
    "more-str": b"{" + HDR + b',"more":"yes","count":"0"}\n',
}
HUGE = 8 * 1024 * 1024


def read_request(conn):
    """Read the request head and its body (Content-Length): (path, body)."""
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return "", b""
            data += chunk
            if len(data) > 1024 * 1024:
                return "", b""
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip() or "0")
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        parts = lines[0].split(" ")
        return (parts[1] if len(parts) > 1 else ""), body
    except (OSError, ValueError):
        return "", b""
    finally:
        conn.settimeout(None)


def reply(conn, status, body, length=None, reason="OK"):
    head = "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n" % (status, reason)
    if length is not False:
        head += "Content-Length: %d\r\n" % (len(body) if length is None else length)
    head += "Connection: close\r\n\r\n"
    conn.sendall(head.encode("ascii") + body)


def sleep_forever():
    while True:
        time.sleep(60)


def serve(conn, opts):
    try:
        with open(opts.mode_file, encoding="ascii") as f:
            mode = (f.read().split() or ["silent"])[0]
    except OSError:
        mode = "silent"
    path = "-"
    try:
        if mode == "silent":
            log(opts, mode, path)
            sleep_forever()
        if mode == "close":
            log(opts, mode, path)
            return
        path, body = read_request(conn)
        path = path or "-"
        log(opts, mode, path)
        if mode == "hang":
            sleep_forever()
        elif mode == "headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            sleep_forever()
        elif mode == "trickle":
            reply(conn, 200, b"{", length=65536)
            while True:
                time.sleep(0.2)
                conn.sendall(b" ")
        elif mode == "short":
            reply(conn, 200, b"{" + HDR[:19], length=4096)
        elif mode in ("huge", "huge-cl"):
            reply(conn, 200, b"", length=HUGE if mode == "huge-cl" else False)
            piece = b'{"header":{},"kvs":[' + b'{"key":"a2V5","value":"eA=="},' * 2048
            sent = 0
            while sent < HUGE:
                conn.sendall(piece)
                sent += len(piece)
        elif mode == "status500":
            reply(conn, 500, b'{"error":"etcdserver: request timed out","code":14}\n',
                  reason="Internal Server Error")
        elif mode in BODIES:
            reply(conn, 200, BODIES[mode])
        elif mode in RANGES:
            reply(conn, 200, range_reply(RANGES[mode].strip(), path, body))
        else:
            reply(conn, 500, b"unknown mode\n", reason="Internal Server Error")
    except OSError:
        pass  # the client gave up, as it should
    finally:
        try:
            conn.close()
        except OSError:
            pass


def range_reply(inner, path, body):
    """INNER as the reply to a range request, or wrapped for a transaction."""
    if not path.endswith("/txn"):
        return inner + b"\n"
    try:
        ops = json.loads(body.decode("utf-8")).get("success", [])
    except (ValueError, AttributeError):
        ops = []
    out = []
    for op in ops:
        if isinstance(op, dict) and "request_range" in op:
            out.append(b'{"response_range":' + inner + b"}")
        else:
            out.append(b'{"response_put":{' + HDR + b"}}")
    return b"{" + HDR + b',"succeeded":true,"responses":[' + b",".join(out) + b"]}\n"


LOG_LOCK = threading.Lock()


def log(opts, mode, path):
    if opts.log:
        with LOG_LOCK, open(opts.log, "a", encoding="ascii") as f:
            f.write("CONN %s %s\n" % (mode, path))


def watchdog(parent, deadline):
    while True:
        if os.getppid() != parent or time.monotonic() > deadline:
            os._exit(0)
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=float, default=600)
    opts = ap.parse_args()

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    threading.Thread(target=watchdog, args=(os.getppid(), time.monotonic() + opts.max_seconds),
                     daemon=True).start()

    tmp = opts.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, opts.port_file)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, opts), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
