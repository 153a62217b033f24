#!/usr/bin/python3
"""h2raw.py: a raw-frame HTTP/2 client (h2c, prior knowledge; python3-hpack for the
field blocks) for the tests of hermesd's HTTP/2 limits (run with /usr/bin/python3). It
writes frames a well-behaved library would refuse to write and reports what the server
answered, one line each:

  h2raw.py HOST PORT [--authority A] [--timeout S] [--path P] [--connect TARGET] ACTION [N]

ACTION (all requests GET or POST http://AUTHORITY/, :authority A, default HOST:PORT;
zero-window's GETs ask for --path P, its CONNECTs for TARGET):
  get              one request; prints "status S"
  bomb N           a request head of one 4000-byte literal field and N one-byte
                   references to it (N x 4 kB decoded from a block of N + 4 kB)
  trailer-bomb N   a POST whose body is followed by such a trailer section
  bighead N        a request head of N distinct 1000-byte fields
  continuation N   a HEADERS without END_HEADERS, then N small CONTINUATION frames
  half-head        a HEADERS without END_HEADERS holding half a request head, then
                   nothing, not even an acknowledgement (an HTTP/2 slowloris)
  rapid-reset N    N requests, each cancelled (RST_STREAM CANCEL) at once
  streams N        N POST requests whose bodies never come (open streams)
  idle             the preface and SETTINGS only, then waits
  ping-flood N     N PINGs sent without reading the acknowledgements (a small
                   receive buffer), then reads
  zero-window N    SETTINGS_INITIAL_WINDOW_SIZE 0 and N requests (GET --path, or
                   with --connect TARGET N CONNECTs to TARGET) whose windows it never
                   opens: no DATA may come; it reads (and acknowledges) everything
                   else for --timeout s, printing "answered K" once K streams have
                   their status (K = N, or at the end), then "zero-window status200=K
                   data=BYTES rst=R goaway=G" and closes

and then reads until the answer the action waits for (a status, RST_STREAM or GOAWAY;
trailer-bomb: RST_STREAM or GOAWAY; continuation, rapid-reset, idle, half-head: the close), the
server's close, or --timeout, printing:
  settings NAME=VALUE ...        the server's SETTINGS
  status S (stream ID)           a response head
  rst CODE_NAME (stream ID)      a RST_STREAM
  goaway CODE_NAME after T s     a GOAWAY (T: seconds since the action's last frame)
  closed after T s | open after T s
Exits 0 (the lines are the result), 2 for bad arguments.
"""
import argparse
import socket
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 1, 1, 4, 8, 0x20
CODES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
         "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
         "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
SETTING_NAMES = {1: "HEADER_TABLE_SIZE", 2: "ENABLE_PUSH", 3: "MAX_CONCURRENT_STREAMS",
                 4: "INITIAL_WINDOW_SIZE", 5: "MAX_FRAME_SIZE", 6: "MAX_HEADER_LIST_SIZE"}


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, sid) + payload


def code_name(c):
    return CODES[c] if c < len(CODES) else "0x%x" % c


class Conn:
    def __init__(self, host, port, authority, timeout, rcvbuf=0, settings=b""):
        self.s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(timeout)
        self.s.connect((host, port))
        self.authority = authority
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder(max_header_list_size=1 << 24)
        self.buf = b""
        self.sid = 1
        self.last = time.monotonic()
        self.quiet = False  # no SETTINGS/PING acknowledgements (inside a header block)
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0, settings))

    def send(self, data):
        self.s.sendall(data)
        self.last = time.monotonic()

    def head(self, method="GET", path="/"):
        if method == "CONNECT":
            return self.enc.encode([(":method", method), (":authority", self.authority)])
        return self.enc.encode([(":method", method), (":scheme", "http"), (":authority", self.authority),
                                (":path", path)])

    def next_sid(self):
        sid = self.sid
        self.sid += 2
        return sid

    def read_frame(self, deadline):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return "timeout"
            except ConnectionResetError:
                d = b""
            if not d:
                return None
            self.buf += d
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags, sid = struct.unpack(">BBI", self.buf[3:9])
        payload, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
        return ftype, flags, sid & 0x7fffffff, payload

    def report(self, timeout, stop):
        """Prints what the server sends until a line of a kind in stop, the close or
        timeout seconds."""
        deadline = time.monotonic() + timeout
        block, block_sid = b"", 0
        while True:
            f = self.read_frame(deadline)
            if f == "timeout":
                print("open after %.1f s" % (time.monotonic() - self.last))
                return
            if f is None:
                print("closed after %.1f s" % (time.monotonic() - self.last))
                return
            ftype, flags, sid, p = f
            if ftype == SETTINGS and not flags & ACK:
                vals = [struct.unpack(">HI", p[i:i + 6]) for i in range(0, len(p), 6)]
                print("settings " + " ".join("%s=%d" % (SETTING_NAMES.get(k, str(k)), v) for k, v in vals))
                try:
                    if not self.quiet:
                        self.s.sendall(frame(SETTINGS, ACK, 0))
                except OSError:
                    pass
            elif ftype in (HEADERS, CONTINUATION):
                if ftype == HEADERS:
                    pad = p[0] if flags & PADDED else 0
                    p = p[(1 if flags & PADDED else 0) + (5 if flags & PRIORITY else 0):len(p) - pad]
                    block, block_sid = b"", sid
                block += p
                if flags & END_HEADERS:
                    fields = dict(self.dec.decode(block))
                    if ":status" in fields:
                        print("status %s (stream %d)" % (fields[":status"], block_sid))
                        if "status" in stop:
                            return
            elif ftype == RST_STREAM:
                print("rst %s (stream %d)" % (code_name(struct.unpack(">I", p[:4])[0]), sid))
                if "rst" in stop:
                    return
            elif ftype == GOAWAY:
                print("goaway %s after %.1f s" % (code_name(struct.unpack(">I", p[4:8])[0]),
                                                  time.monotonic() - self.last))
                if "goaway" in stop:
                    return
            elif ftype == PING and not flags & ACK and not self.quiet:
                self.s.sendall(frame(PING, ACK, 0, p))


def zero_window(c, n, timeout):
    """Reads for timeout s what a server sends to streams whose windows never open."""
    deadline = time.monotonic() + timeout
    block, st = b"", {"status200": 0, "data": 0, "rst": 0, "goaway": 0}
    answered = 0
    while True:
        f = c.read_frame(deadline)
        if f in ("timeout", None):
            break
        ftype, flags, sid, p = f
        if ftype == SETTINGS and not flags & ACK:
            c.send(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            c.send(frame(PING, ACK, 0, p))
        elif ftype == DATA:
            st["data"] += len(p)
        elif ftype == RST_STREAM:
            st["rst"] += 1
        elif ftype == GOAWAY:
            st["goaway"] += 1
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                pad = p[0] if flags & PADDED else 0
                p = p[(1 if flags & PADDED else 0) + (5 if flags & PRIORITY else 0):len(p) - pad]
                block = b""
            block += p
            if flags & END_HEADERS:
                answered += 1
                st["status200"] += dict(c.dec.decode(block)).get(":status") == "200"
                if answered == n:
                    print("answered %d" % answered, flush=True)
    if answered < n:
        print("answered %d" % answered)
    print("zero-window " + " ".join("%s=%d" % kv for kv in st.items()))


def literal_and_refs(n):
    """One 4000-byte field with incremental indexing (the dynamic table's newest entry,
    index 62), then n indexed references to it (0x80 | 62, one byte each)."""
    name, value = b"x-bomb", b"a" * 4000
    lit = b"\x40" + bytes([len(name)]) + name + b"\x7f" + hpack_int(len(value) - 127) + value
    return lit + b"\xbe" * n


def hpack_int(v):
    out = b""
    while v >= 128:
        out += bytes([(v & 0x7f) | 0x80])
        v >>= 7
    return out + bytes([v])


def main():
    ap = argparse.ArgumentParser(description="raw HTTP/2 frames against a server's limits")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("action", choices=["get", "bomb", "trailer-bomb", "bighead", "continuation", "half-head", "rapid-reset",
                                       "streams", "idle", "ping-flood", "zero-window"])
    ap.add_argument("n", type=int, nargs="?", default=1)
    ap.add_argument("--authority")
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--path", default="/")
    ap.add_argument("--connect", metavar="TARGET")
    a = ap.parse_args()
    c = Conn(a.host, a.port, a.connect or a.authority or "%s:%d" % (a.host, a.port), a.timeout,
             4096 if a.action == "ping-flood" else 0,
             struct.pack(">HI", 4, 0) if a.action == "zero-window" else b"")
    n = a.n
    if a.action == "get":
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, c.next_sid(), c.head()))
    elif a.action == "bomb":
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, c.next_sid(), c.head() + literal_and_refs(n)))
    elif a.action == "trailer-bomb":
        sid = c.next_sid()
        c.send(frame(HEADERS, END_HEADERS, sid, c.head("POST")) + frame(DATA, 0, sid, b"x") +
               frame(HEADERS, END_HEADERS | END_STREAM, sid, literal_and_refs(n)))
    elif a.action == "bighead":
        fields = [("x-big-%d" % i, "%04d" % i + "b" * 996) for i in range(n)]
        block = c.head() + c.enc.encode(fields)
        sid, first = c.next_sid(), True
        while block:  # frames of at most 16384 bytes, the default SETTINGS_MAX_FRAME_SIZE
            part, block = block[:16384], block[16384:]
            c.send(frame(HEADERS if first else CONTINUATION, (END_STREAM if first else 0) |
                         (0 if block else END_HEADERS), sid, part))
            first = False
    elif a.action == "continuation":
        sid = c.next_sid()
        out = frame(HEADERS, END_STREAM, sid, c.head())
        for i in range(n):
            out += frame(CONTINUATION, 0, sid, c.enc.encode([("x-c", "%d" % i)]))
        c.send(out)
    elif a.action == "half-head":
        block = c.head()
        c.quiet = True
        c.send(frame(HEADERS, END_STREAM, c.next_sid(), block[:len(block) // 2]))
    elif a.action == "streams":
        c.send(b"".join(frame(HEADERS, END_HEADERS, c.next_sid(), c.head("POST")) for _ in range(n)))
    elif a.action == "ping-flood":
        ping = frame(PING, 0, 0, b"12345678") * 1000
        try:
            for _ in range(n // 1000):
                c.send(ping)
        except OSError as e:
            print("send: %s" % e)
    elif a.action == "rapid-reset":
        out = b""
        for _ in range(n):
            sid = c.next_sid()
            out += frame(HEADERS, END_HEADERS | END_STREAM, sid, c.head()) + frame(RST_STREAM, 0, sid,
                                                                                   struct.pack(">I", 8))
        try:
            c.send(out)
        except OSError as e:
            print("send: %s" % e)
    elif a.action == "zero-window":
        method = "CONNECT" if a.connect else "GET"
        c.send(b"".join(frame(HEADERS, END_HEADERS | (0 if a.connect else END_STREAM), c.next_sid(),
                              c.head(method, a.path)) for _ in range(n)))
        zero_window(c, n, a.timeout)
        return 0
    sys.stdout.flush()
    c.report(a.timeout, {"get": "status rst goaway", "bomb": "status rst goaway", "bighead": "status rst goaway",
                         "trailer-bomb": "rst goaway", "streams": "rst goaway"}.get(a.action, "").split())
    return 0


if __name__ == "__main__":
    sys.exit(main())
