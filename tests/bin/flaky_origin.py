#!/usr/bin/python3
"""flaky_origin.py: a test HTTP/1.1 origin for the http action's retry tests.

    flaky_origin.py ADDR PORT [NAME] [--tls CERT KEY]

With --tls it speaks TLS 1.3 with that certificate (and no ALPN, as many HTTP/1.1
servers). Keep-alive, Content-Length and chunked request bodies. It fails the next N requests as
armed by GET /__arm?n=N&mode=MODE (sent directly, not through hermesd), then answers
normally. MODE: a status such as 503 (answered, connection kept), reset (the request is
read, then the connection is reset), hang (the request is read, nothing is answered for
30 s), close (closed without an answer), delay (answered normally after &ms=MS
milliseconds), late-reset (reset after &ms=MS milliseconds). While it hangs or waits it watches the connection: a client that closes
or resets it first is counted in "closed" (and logged), and gets no answer. GET /__stats
returns JSON {"seen": requests counted since the last arm (control paths excluded),
"methods": {...}, "paths": [...], "closed": ...}. Normal answers: /echo returns the
request body; /headers the request's header lines; /chunked?n=K a chunked body of K lines
with a trailer X-Trailer: done; /until-close?clean=C a body delimited by the connection's
close, which over TLS sends close_notify first only when C is 1 (else the TCP close
alone: a truncation); /coded the same with Transfer-Encoding: x-test (a coding no
proxy decodes) and max-age=60; anything else "ok SEEN\n" (with NAME: "NAME ok SEEN\n"). Every
answer carries X-Seen: SEEN (and X-Origin: NAME). /__stats also counts the connections
accepted ("conns")."""
import json
import select
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATE = {"fail_left": 0, "mode": "503", "ms": 0, "seen": 0, "methods": {}, "paths": [], "closed": 0, "conns": 0}
ARGS = sys.argv[1:]
TLS = None
if "--tls" in ARGS:
    i = ARGS.index("--tls")
    TLS = ARGS[i + 1:i + 3]
    del ARGS[i:i + 3]
NAME = ARGS[2] if len(ARGS) > 2 else ""


def read_line(f):
    line = f.readline(65537)
    if not line:
        raise EOFError
    return line.rstrip(b"\r\n")


def read_request(f):
    line = read_line(f)
    while not line:
        line = read_line(f)
    method, target, version = line.decode("latin-1").split(" ", 2)
    headers = []
    while True:
        h = read_line(f)
        if not h:
            break
        k, v = h.decode("latin-1").split(":", 1)
        headers.append((k.strip(), v.strip()))
    lower = {k.lower(): v for k, v in headers}
    body = b""
    if lower.get("transfer-encoding", "").lower().endswith("chunked"):
        while True:
            size = int(read_line(f).split(b";")[0], 16)
            if size == 0:
                while read_line(f):
                    pass
                break
            body += f.read(size)
            f.read(2)
    elif "content-length" in lower:
        body = f.read(int(lower["content-length"]))
    return method, target, version, headers, body


def closed_within(conn, secs):
    """Waits secs seconds; True as soon as the client closes or resets the connection."""
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([conn], [], [], left)
        if not r:
            continue
        try:
            if not conn.recv(1, socket.MSG_PEEK):
                return True
        except OSError:
            return True
        time.sleep(min(left, 0.05))  # a pipelined request, not a close: wait on


def respond(wfile, status, body, extra=()):
    head = ["HTTP/1.1 %d X" % status, "Content-Length: %d" % len(body)] + list(extra)
    wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    wfile.flush()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            try:
                method, target, version, headers, body = read_request(self.rfile)
            except (EOFError, ValueError, ConnectionError, OSError):
                return
            url = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/__arm":
                with LOCK:
                    STATE.update(fail_left=int(q.get("n", "0")), mode=q.get("mode", "503"), ms=int(q.get("ms", "0")),
                                 seen=0, methods={}, paths=[], closed=0)
                respond(self.wfile, 200, b"armed\n")
                continue
            if url.path == "/__stats":
                with LOCK:
                    out = json.dumps({k: STATE[k] for k in ("seen", "methods", "paths", "fail_left", "closed", "conns")}).encode()
                respond(self.wfile, 200, out)
                continue
            with LOCK:
                STATE["seen"] += 1
                seen = STATE["seen"]
                STATE["methods"][method] = STATE["methods"].get(method, 0) + 1
                STATE["paths"].append(url.path)
                fail = STATE["fail_left"] > 0
                if fail:
                    STATE["fail_left"] -= 1
                mode = STATE["mode"]
                delay_ms = STATE["ms"]
            sys.stdout.write("%s %s seen=%d fail=%s\n" % (method, target, seen, fail and mode))
            sys.stdout.flush()
            xs = ("X-Seen: %d" % seen,) + (("X-Origin: %s" % NAME,) if NAME else ())
            t0 = time.monotonic()
            if fail and mode in ("hang", "delay", "late-reset"):
                if closed_within(self.connection, 30 if mode == "hang" else delay_ms / 1000.0):
                    with LOCK:
                        STATE["closed"] += 1
                    sys.stdout.write("%s %s seen=%d: closed by the client after %d ms\n"
                                     % (method, target, seen, (time.monotonic() - t0) * 1000))
                    sys.stdout.flush()
                    return
                if mode == "hang":
                    return
                fail = mode == "late-reset"
                mode = "reset"
            if fail:
                if mode == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if mode == "close":
                    return
                respond(self.wfile, int(mode), b"failing on purpose\n", xs)
                continue
            if url.path == "/echo":
                respond(self.wfile, 200, body, xs)
            elif url.path == "/headers":
                respond(self.wfile, 200, "".join("%s: %s\n" % h for h in headers).encode(), xs)
            elif url.path == "/chunked":
                n = int(q.get("n", "3"))
                out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n%s\r\n\r\n" % xs[0]
                for i in range(n):
                    line = "line %d\n" % i
                    out += "%x\r\n%s\r\n" % (len(line), line)
                out += "0\r\nX-Trailer: done\r\n\r\n"
                self.wfile.write(out.encode())
                self.wfile.flush()
            elif url.path == "/until-close":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until the close\n")
                self.wfile.flush()
                if q.get("clean") == "1" and isinstance(self.connection, ssl.SSLSocket):
                    self.connection.unwrap()
                return
            elif url.path == "/coded":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: x-test\r\nCache-Control: max-age=60\r\n"
                                 b"X-Seen: %d\r\n\r\ncoded body until the close\n" % seen)
                self.wfile.flush()
                return
            else:
                respond(self.wfile, 200, (NAME + " " if NAME else "").encode() + b"ok %d\n" % seen, xs)
            if version == "HTTP/1.0":
                return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512
    tls = None

    def get_request(self):
        sock, addr = super().get_request()
        with LOCK:
            STATE["conns"] += 1
        if self.tls:
            # the handshake runs in the handler's thread, on its first read
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


if __name__ == "__main__":
    srv = Server((ARGS[0], int(ARGS[1])), Handler)
    if TLS:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.minimum_version = ssl.TLSVersion.TLSv1_3
        srv.tls.load_cert_chain(TLS[0], TLS[1])
    print("listening on %s:%s" % (ARGS[0], ARGS[1]), flush=True)
    srv.serve_forever()
