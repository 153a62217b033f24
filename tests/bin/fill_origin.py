#!/usr/bin/python3
"""fill_origin.py: a test HTTP/1.1 origin for storing responses as they arrive
(tests/e2e/http_cache_fill.sh).

    fill_origin.py ADDR PORT DIR

Every GET /NAME?size=N&piece=P&ms=MS answers a cacheable 200 (Cache-Control:
max-age=60, a strong ETag and Last-Modified) with N bytes of the file DIR/NAME (made,
random, at the first request for it), sent P bytes at a time with MS milliseconds
between pieces. With &stall=K the first request for NAME sends K bytes of the body and
then nothing more for 30 s (the connection kept open); later requests are answered
whole. A request with "Range: bytes=F-" and an If-Range equal to the ETag (or absent)
gets a 206 with the bytes from F on; any other If-Range the whole 200. &cc=VALUE
replaces the Cache-Control (e.g. max-age=1, stale-if-error=600), and an If-None-Match
naming the ETag gets a 304. GET /__stats returns JSON {"requests": [[path, range or
"", if-range or ""], ...], "not_modified": N (304s sent)}."""
import json
import os
import socketserver
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

LOCK = threading.Lock()
REQUESTS = []
STALLED = set()
NOT_MODIFIED = [0]
DIR = sys.argv[3]


def body_of(name, size):
    path = os.path.join(DIR, name)
    with LOCK:
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(os.urandom(size))
    with open(path, "rb") as f:
        return f.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/__stats":
            with LOCK:
                out = json.dumps({"requests": REQUESTS, "not_modified": NOT_MODIFIED[0]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        q = dict(urllib.parse.parse_qsl(u.query))
        name = u.path.strip("/").replace("/", "_")
        data = body_of(name, int(q.get("size", "100000")))
        etag = '"%s-%d"' % (name, len(data))
        rng, ifr = self.headers.get("Range", ""), self.headers.get("If-Range", "")
        with LOCK:
            REQUESTS.append([u.path, rng, ifr])
            stall = "stall" in q and name not in STALLED
            STALLED.add(name)
        cc = q.get("cc", "max-age=60")
        if self.headers.get("If-None-Match", "") == etag:
            with LOCK:
                NOT_MODIFIED[0] += 1
            self.send_response(304)
            self.send_header("Cache-Control", cc)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        first = 0
        if rng.startswith("bytes=") and rng.endswith("-") and (not ifr or ifr == etag):
            first = int(rng[6:-1])
        self.send_response(206 if first else 200)
        self.send_header("Cache-Control", cc)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", "Mon, 07 Dec 2026 10:00:00 GMT")
        self.send_header("Content-Length", str(len(data) - first))
        if first:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, len(data) - 1, len(data)))
        self.end_headers()
        piece, ms = int(q.get("piece", "65536")), int(q.get("ms", "0"))
        sent, limit = first, int(q["stall"]) if stall else len(data)
        while sent < len(data):
            if sent >= limit:
                time.sleep(30)
                return
            n = min(piece, len(data) - sent, limit - sent)
            self.wfile.write(data[sent:sent + n])
            self.wfile.flush()
            sent += n
            if ms and sent < len(data):
                time.sleep(ms / 1000.0)


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
