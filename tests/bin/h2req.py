#!/usr/bin/python3
"""h2req.py: an HTTP/2 client (python3-h2) that sends several requests at once on one
connection to a proxy, for the tunnel listener's explicit proxy tests (run with
/usr/bin/python3). Each request is a stream of its own, all open together:

  h2req.py HOST PORT [--tls --ca CA --cert CRT --key KEY [--sni NAME]] [--timeout S]
           [--abort N] SPEC...

SPEC is "METHOD URL [key=value]...": URL http://AUTHORITY/PATH gives :scheme, :authority
and :path (the proxy's explicit-proxy form: the authority is the target, not the proxy);
METHOD CONNECT takes an AUTHORITY alone (RFC 9113 8.5) and sends an HTTP/1.1
`GET PATH` (key path=, default /) through the tunnel, with Connection: close. Keys:
  body=FILE      the request body (sent as flow control allows, no content-length)
  cl=1           with body=: send content-length too
  trailer=N:V    a request trailer field (needs body=)
  status=N       expected :status (default 200; for CONNECT the tunnel's)
  same=FILE      the response body (for CONNECT: the tunneled response's body) equals FILE
  has=TEXT       the response body contains TEXT
  len=N          the response body is N bytes long
  reset=NAME     expected: the stream is reset with this error code (e.g. PROTOCOL_ERROR)
  n=K            K copies of this request
  h=NAME:VALUE   an extra request header field (repeatable)
  cancel=N       reset the stream (CANCEL) once N response body bytes arrived; it then
                 matches when it was cancelled before its end
With --abort N, the connection is reset (SO_LINGER 0) once N response bytes arrived in
all; the requests are not checked, and the exit code is 0 if it came to that.
The connection is h2c with prior knowledge unless --tls (TLS, ALPN h2, the proxy's
certificate checked against --ca and --sni, the client certificate --cert/--key).
Prints one line per stream ("3: GET http://10.77.1.3/1m.bin -> 200, 1048576 bytes: ok"),
then "ok N streams" and exits 0 when every stream matched, else "failed K of N streams"
and exits 1; 2 for bad arguments or a connection failure.
"""
import argparse
import select
import socket
import ssl
import struct
import sys
import time
import urllib.parse

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from h2connect import error_name, h2_connect  # tests/bin, beside this file


class Req:
    def __init__(self, n, method, url, keys):
        self.n = n
        self.method = method
        self.url = url
        self.keys = keys
        self.extra = [tuple(v.split(":", 1)) for v in keys.get("h", [])]
        self.body = open(keys["body"][0], "rb").read() if "body" in keys else None
        self.sent = 0
        self.status = None
        self.resp = b""
        self.reset = None
        self.ended = False
        self.done = False
        self.verdict = None

    def one(self, key, default=None):
        return self.keys[key][0] if key in self.keys else default

    def headers(self):
        if self.method == "CONNECT":
            h = [(":method", "CONNECT"), (":authority", self.url)]
        else:
            u = urllib.parse.urlsplit(self.url)
            path = (u.path or "/") + ("?" + u.query if u.query else "")
            h = [(":method", self.method), (":scheme", u.scheme), (":authority", u.netloc), (":path", path)]
            if self.body is not None and self.one("cl"):
                h.append(("content-length", str(len(self.body))))
        h += [(k.strip().lower(), v.strip()) for k, v in self.extra]
        return [(k.encode(), v.encode()) for k, v in h]

    def tunneled_get(self):
        path = self.one("path", "/")
        return (f"GET {path} HTTP/1.1\r\nHost: {self.url}\r\nUser-Agent: h2req.py\r\n"
                "Connection: close\r\n\r\n").encode()

    def check(self):
        k = self.keys
        if "cancel" in k:
            ok = self.reset == "CANCEL" and not self.ended
            return ok, f"cancelled after {len(self.resp)} bytes" if ok else f"not cancelled (status {self.status})"
        if "reset" in k:
            ok = self.reset == k["reset"][0]
            return ok, f"reset {self.reset}" if self.reset else f"not reset (status {self.status})"
        if self.reset:
            return False, f"reset {self.reset}"
        want = int(self.one("status", "200"))
        body = self.resp
        what = f"{self.status}, {len(body)} bytes"
        if self.method == "CONNECT" and self.status == 200:
            end = body.find(b"\r\n\r\n")
            if end < 0:
                return False, f"{what}: no HTTP/1.1 response through the tunnel"
            line = body[:body.find(b"\r\n")].decode("latin-1")
            body = body[end + 4:]
            what = f"{self.status}, tunneled {line!r}, {len(body)} bytes"
        if self.status != want:
            return False, f"{what}: expected status {want}"
        if "same" in k and body != open(k["same"][0], "rb").read():
            return False, f"{what}: body differs from {k['same'][0]}"
        if "has" in k and k["has"][0].encode() not in body:
            return False, f"{what}: body lacks {k['has'][0]!r}: {body[:200]!r}"
        if "len" in k and len(body) != int(k["len"][0]):
            return False, f"{what}: expected {k['len'][0]} bytes"
        return True, what


def parse_spec(spec, first):
    parts = spec.split()
    if len(parts) < 2:
        raise ValueError(f"bad SPEC {spec!r}: METHOD URL [key=value]...")
    keys = {}
    for kv in parts[2:]:
        k, sep, v = kv.partition("=")
        if not sep:
            raise ValueError(f"bad key {kv!r} in {spec!r}")
        keys.setdefault(k, []).append(v)
    count = int(keys.pop("n", ["1"])[0])
    return [Req(first + i, parts[0].upper(), parts[1], keys) for i in range(count)]


class Client:
    def __init__(self, args, reqs):
        self.args = args
        self.reqs = reqs
        self.pending = list(reqs)
        self.streams = {}
        self.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
            # as given: no check for CONNECT's lack of :scheme, no stripping of a
            # connection-specific field a test sends on purpose
            client_side=True, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False))
        self.sock = None
        self.received = 0

    def connect(self):
        self.sock, what = h2_connect(self.args)
        return what

    def open_streams(self):
        while self.pending and self.conn.open_outbound_streams < self.conn.remote_settings.max_concurrent_streams:
            r = self.pending.pop(0)
            sid = self.conn.get_next_available_stream_id()
            end = r.method != "CONNECT" and r.body is None
            self.conn.send_headers(sid, r.headers(), end_stream=end)
            self.streams[sid] = r

    def push_bodies(self):
        for sid, r in self.streams.items():
            if r.method == "CONNECT" or r.body is None or r.sent > len(r.body) or r.done:
                continue
            while r.sent < len(r.body):
                win = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
                if win <= 0:
                    break
                chunk = r.body[r.sent:r.sent + win]
                self.conn.send_data(sid, chunk)
                r.sent += len(chunk)
            if r.sent == len(r.body):
                tr = r.one("trailer")
                if tr:
                    n, v = tr.split(":", 1)
                    self.conn.send_headers(sid, [(n.strip().lower().encode(), v.strip().encode())], end_stream=True)
                else:
                    self.conn.end_stream(sid)
                r.sent += 1  # ended

    def on_event(self, ev):
        r = self.streams.get(getattr(ev, "stream_id", None) or 0)
        if isinstance(ev, h2.events.ResponseReceived) and r:
            st = dict(ev.headers).get(b":status", b"0")
            if st.startswith(b"1"):
                return
            r.status = int(st)
            if r.method == "CONNECT":
                if r.status == 200:
                    self.conn.send_data(ev.stream_id, r.tunneled_get())
                else:
                    r.done = True
        elif isinstance(ev, h2.events.DataReceived) and r:
            r.resp += ev.data
            self.received += len(ev.data)
            if r.done:
                return
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if "cancel" in r.keys and len(r.resp) >= int(r.one("cancel")):
                self.conn.reset_stream(ev.stream_id, h2.errors.ErrorCodes.CANCEL)
                r.reset = "CANCEL"
                r.done = True
        elif isinstance(ev, h2.events.StreamEnded) and r:
            r.done = r.ended = True
            if r.method == "CONNECT":
                try:
                    self.conn.end_stream(ev.stream_id)
                except h2.exceptions.StreamClosedError:
                    pass
        elif isinstance(ev, h2.events.StreamReset) and r and not r.done:
            r.reset = error_name(ev.error_code)
            r.done = True
        elif isinstance(ev, h2.events.ConnectionTerminated):
            raise ConnectionError(f"GOAWAY {error_name(ev.error_code)}")

    def run(self):
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20})
        self.conn.increment_flow_control_window(1 << 24)
        deadline = time.monotonic() + self.args.timeout
        while not all(r.done for r in self.reqs):
            self.open_streams()
            self.push_bodies()
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{sum(not r.done for r in self.reqs)} stream(s) unfinished after {self.args.timeout} s")
            if not (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
                select.select([self.sock], [], [], min(left, 0.5))
            try:
                self.sock.setblocking(False)
                data = self.sock.recv(1 << 20)
            except (BlockingIOError, ssl.SSLWantReadError):
                continue
            finally:
                self.sock.setblocking(True)
                self.sock.settimeout(self.args.timeout)
            if not data:
                raise ConnectionError("the proxy closed the connection")
            for ev in self.conn.receive_data(data):
                self.on_event(ev)
            if self.args.abort is not None and self.received >= self.args.abort:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.sock.close()
                return False
        return True

    def finish(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--sni")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--abort", type=int)
    ap.add_argument("spec", nargs="+")
    a = ap.parse_args()
    reqs = []
    try:
        for spec in a.spec:
            reqs += parse_spec(spec, len(reqs) + 1)
    except (ValueError, OSError) as e:
        print(f"h2req.py: {e}", file=sys.stderr)
        return 2
    c = Client(a, reqs)
    try:
        print(c.connect())
        if not c.run():
            print(f"aborted: connection reset after {c.received} response bytes")
            return 0
        c.finish()
    except (OSError, ConnectionError, TimeoutError, ssl.SSLError, h2.exceptions.ProtocolError) as e:
        print(f"h2req.py: {type(e).__name__}: {e}", file=sys.stderr)
        for r in reqs:
            if r.done:
                print(f"{r.n}: {r.method} {r.url} -> {r.check()[1]}")
        return 2
    bad = 0
    for r in reqs:
        ok, what = r.check()
        bad += not ok
        print(f"{r.n}: {r.method} {r.url} -> {what}: {'ok' if ok else 'FAILED'}")
    print(f"ok {len(reqs)} streams" if not bad else f"failed {bad} of {len(reqs)} streams")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
