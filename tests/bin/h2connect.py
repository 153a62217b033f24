#!/usr/bin/python3
"""h2connect.py: an HTTP/2 CONNECT client (python3-h2) for the tunnel interop tests (run with
/usr/bin/python3). It opens N concurrent CONNECT streams on one HTTP/2 connection to a
proxy, each a tunnel to TARGET (RFC 9113 section 8.5: only :method CONNECT and :authority,
no :scheme or :path), sends an HTTP/1.1 GET over each tunnel and checks the answer.

  h2connect.py HOST PORT --target HOST:PORT [--path /] [--streams N] [--timeout S]
               [--tls --ca CA [--cert CRT --key KEY] [--sni NAME]]
               [--extra-header 'name: value']... [--expect-status N]
               [--expect-reset NAME] [--expect-file FILE]

The connection is h2c with prior knowledge unless --tls (TLS 1.2+, ALPN h2, the proxy's
certificate checked against --ca and --sni, a client certificate with --cert/--key).
--extra-header lines go on every CONNECT. A stream matches when its CONNECT status is
--expect-status (default 200) and, for 200, its GET answered 200 with a complete body (by
Content-Length, or up to the tunnel's close) equal to --expect-file when given; with
--expect-reset NAME (e.g. CONNECT_ERROR) it matches only when reset with that code.
Prints one line per stream ("stream 1: CONNECT 200; GET 200, 612 bytes" or
"stream 3: RST_STREAM CONNECT_ERROR"), then "ok N streams" and exits 0 when every stream
matched, else "failed K of N streams" and exits 1; exit 2 for bad arguments.
"""
import argparse
import select
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions


class Stream:
    """One CONNECT tunnel: its CONNECT answer, then the HTTP/1.1 response inside it."""

    def __init__(self, n):
        self.n = n  # 1..N, for the report
        self.connect_status = None
        self.reset = None  # RST_STREAM error code name
        self.buf = b""  # bytes received through the tunnel
        self.head = None  # parsed HTTP/1.1 response head: (status, content_length or None)
        self.done = False
        self.ok = False  # for CONNECT 200: the GET got 200 and the expected body
        self.result = None  # the report line

    def finish(self, result):
        self.done = True
        self.result = result


def error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return f"0x{code:x}"


def parse_head(data):
    """(status, content_length or None, head length) once the head is complete, else None."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {lines[0]!r}")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding":
            raise ValueError(f"Transfer-Encoding {value.strip()} is not supported (needs Content-Length or close)")
    return int(parts[1]), length, end + 4


def h2_connect(a):
    """The socket of an HTTP/2 connection to a.host:a.port and what it is: h2c with prior
    knowledge unless a.tls (then ALPN h2, the server checked against a.ca and a.sni, the
    client certificate a.cert/a.key if given). Also used by h2req.py."""
    raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not a.tls:
        return raw, f"h2c (prior knowledge) to {a.host}:{a.port}"
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=a.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["h2"])
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    sock = ctx.wrap_socket(raw, server_hostname=a.sni or a.host)
    alpn = sock.selected_alpn_protocol()
    if alpn != "h2":
        raise ConnectionError(f"the proxy negotiated ALPN {alpn!r}, not h2")
    return sock, f"{sock.version()} ALPN h2 to {a.host}:{a.port}"


class Client:
    def __init__(self, args):
        self.args = args
        self.expected_body = open(args.expect_file, "rb").read() if args.expect_file else None
        self.sock = None
        self.conn = h2.connection.H2Connection(
            # h2 checks outbound requests for :scheme and :path, which a CONNECT must not have
            config=h2.config.H2Configuration(client_side=True, header_encoding=None, validate_outbound_headers=False)
        )
        self.streams = {}  # stream id -> Stream
        self.pending = [Stream(i + 1) for i in range(args.streams)]  # not opened yet
        self.all = list(self.pending)
        self.goaway = None

    def connect(self):
        self.sock, what = h2_connect(self.args)
        return what

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def open_streams(self):
        """Opens pending streams while the peer's SETTINGS_MAX_CONCURRENT_STREAMS allows."""
        headers = [(b":method", b"CONNECT"), (b":authority", self.args.target.encode())]
        headers += [(n.encode(), v.encode()) for n, v in self.args.extra_header]
        while self.pending and self.conn.open_outbound_streams < self.conn.remote_settings.max_concurrent_streams:
            s = self.pending.pop(0)
            sid = self.conn.get_next_available_stream_id()
            self.conn.send_headers(sid, headers)
            self.streams[sid] = s

    def cancel(self, sid):
        try:
            self.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        except h2.exceptions.StreamClosedError:
            pass  # the proxy closed it already

    def on_response(self, sid, s, headers):
        status = dict(headers).get(b":status", b"?").decode()
        if s.connect_status is not None:
            return  # trailers or a second HEADERS: nothing to check
        s.connect_status = int(status) if status.isdigit() else status
        if s.connect_status != 200:
            s.finish(f"CONNECT {status}")
            self.cancel(sid)
        elif self.args.expect_status == 200 and not self.args.expect_reset:
            get = (f"GET {self.args.path} HTTP/1.1\r\nHost: {self.args.target}\r\n"
                   f"User-Agent: h2connect.py\r\nAccept: */*\r\n\r\n")
            self.conn.send_data(sid, get.encode())
        else:
            s.finish("CONNECT 200")
            self.cancel(sid)

    def check_body(self, sid, s, at_eof):
        """Finishes s once its GET response is complete (Content-Length, or EOF without it)."""
        try:
            if s.head is None:
                parsed = parse_head(s.buf)
                if parsed is None:
                    if at_eof:
                        s.finish(f"CONNECT 200; tunnel closed after {len(s.buf)} bytes, no complete response head")
                    return
                status, length, hlen = parsed
                s.head = (status, length)
                s.buf = s.buf[hlen:]
        except ValueError as e:
            s.finish(f"CONNECT 200; bad response: {e}")
            self.cancel(sid)
            return
        status, length = s.head
        if length is not None and len(s.buf) >= length:
            body = s.buf[:length]
        elif at_eof:
            if length is not None:
                s.finish(f"CONNECT 200; GET {status}, tunnel closed after {len(s.buf)} of {length} body bytes")
                return
            body = s.buf
        else:
            return
        note = ""
        if self.expected_body is not None:
            note = ", body matches" if body == self.expected_body else \
                f", body DIFFERS from {self.args.expect_file} ({len(self.expected_body)} bytes)"
        s.finish(f"CONNECT 200; GET {status}, {len(body)} bytes{note}")
        s.ok = status == 200 and "DIFFERS" not in note
        if not at_eof:
            # our half-close of the tunnel (the origin may keep its side open: keep-alive)
            self.conn.end_stream(sid)

    def handle(self, ev):
        sid = getattr(ev, "stream_id", None)
        s = self.streams.get(sid)
        if isinstance(ev, h2.events.ResponseReceived) and s:
            self.on_response(sid, s, ev.headers)
        elif isinstance(ev, h2.events.DataReceived) and s:
            self.conn.acknowledge_received_data(ev.flow_controlled_length, sid)
            if not s.done and s.connect_status == 200:
                s.buf += ev.data
                self.check_body(sid, s, False)
        elif isinstance(ev, h2.events.StreamEnded) and s and not s.done:
            if s.connect_status == 200:
                self.check_body(sid, s, True)
            else:
                s.finish(f"CONNECT {s.connect_status}, stream ended")
        elif isinstance(ev, h2.events.StreamReset) and s and not s.done:
            s.reset = error_name(ev.error_code)
            s.finish(f"RST_STREAM {s.reset}" + (f" after CONNECT {s.connect_status}" if s.connect_status else ""))
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = f"GOAWAY {error_name(ev.error_code)}" + \
                (f" ({ev.additional_data.decode('latin-1')})" if ev.additional_data else "")

    def run(self):
        deadline = time.monotonic() + self.args.timeout
        print(f"connected: {self.connect()}", flush=True)
        self.conn.initiate_connection()
        self.open_streams()
        self.flush()
        while not all(s.done for s in self.all) and self.goaway is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # TLS may hold decrypted bytes that select() cannot see
            if not (self.args.tls and self.sock.pending()):
                if not select.select([self.sock], [], [], left)[0]:
                    continue
            data = self.sock.recv(65536)
            if not data:
                self.goaway = "the proxy closed the connection"
                break
            for ev in self.conn.receive_data(data):
                self.handle(ev)
            self.open_streams()
            self.flush()
        try:
            self.conn.close_connection()
            self.flush()
            self.sock.close()
        except OSError:
            pass

    def matches(self, s):
        a = self.args
        if a.expect_reset:
            return s.reset == a.expect_reset
        if s.reset or not s.done:
            return False
        if s.connect_status != a.expect_status:
            return False
        return a.expect_status != 200 or s.ok

    def report(self):
        bad = 0
        for s in self.all:
            if not s.done:
                s.result = self.goaway or f"timed out after {self.args.timeout:g} s" + \
                    (f" (CONNECT {s.connect_status}, {len(s.buf)} tunnel bytes)" if s.connect_status else
                     " (no CONNECT answer)")
            ok = self.matches(s)
            bad += not ok
            print(f"stream {s.n}: {s.result}{'' if ok else '  <- unexpected'}")
        if bad:
            print(f"failed {bad} of {len(self.all)} streams")
            return 1
        print(f"ok {len(self.all)} streams")
        return 0


def header_arg(s):
    name, sep, value = s.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'name: value', got {s!r}")
    return name.strip().lower(), value.strip()


def main():
    p = argparse.ArgumentParser(description="HTTP/2 CONNECT client for tunnel interop tests")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--target", required=True, help="HOST:PORT to CONNECT to (the :authority)")
    p.add_argument("--path", default="/", help="path of the GET sent through each tunnel")
    p.add_argument("--streams", type=int, default=1, help="concurrent CONNECT streams")
    p.add_argument("--timeout", type=float, default=30, help="seconds for everything")
    p.add_argument("--tls", action="store_true", help="TLS with ALPN h2 instead of h2c")
    p.add_argument("--ca", help="CA file to check the proxy's certificate (with --tls)")
    p.add_argument("--cert", help="client certificate (with --tls)")
    p.add_argument("--key", help="client key (with --tls)")
    p.add_argument("--sni", help="server name to send and check (default HOST)")
    p.add_argument("--extra-header", action="append", default=[], type=header_arg, metavar="'NAME: VALUE'")
    p.add_argument("--expect-status", type=int, default=200, help="expected CONNECT status")
    p.add_argument("--expect-reset", metavar="NAME", help="expect RST_STREAM with this code (e.g. CONNECT_ERROR)")
    p.add_argument("--expect-file", help="file the GET body must equal")
    args = p.parse_args()
    if args.streams < 1:
        p.error("--streams must be at least 1")
    if (args.cert is None) != (args.key is None):
        p.error("--cert and --key go together")
    if not args.tls and (args.ca or args.cert or args.sni):
        p.error("--ca, --cert, --key and --sni need --tls")
    if args.expect_reset and args.expect_reset not in h2.errors.ErrorCodes.__members__:
        p.error(f"--expect-reset: unknown code {args.expect_reset} "
                f"(one of {', '.join(h2.errors.ErrorCodes.__members__)})")
    c = Client(args)
    try:
        c.run()
    except (OSError, ssl.SSLError, h2.exceptions.ProtocolError) as e:
        print(f"connection failed: {e!r}")
        if not any(s.done for s in c.all):
            return 1
    return c.report()


if __name__ == "__main__":
    sys.exit(main())
