#!/usr/bin/python3
"""masque.py: a CONNECT-UDP (RFC 9298) client for tests/e2e/tunnel_udp.sh, talking to
hermesd's tunnel listener over TLS with a client certificate: HTTP/2 extended CONNECT
(RFC 8441) written with the h2 library, capsules (RFC 9297) by hand, or the HTTP/1.1
Upgrade on a plain TLS socket. It runs one scenario and prints one line per check:
"ok NAME detail" or "FAIL NAME detail" (the test fails on any FAIL, and on a missing ok).

  masque.py h2 HOST PORT PKI ADMIN   the HTTP/2 scenario (targets: the UDP echo server
                                     at 10.77.1.2:5353 and [fd77:1::2]:5353; 10.77.1.3 is
                                     denied by tunnel_access)
  masque.py h1 HOST PORT PKI         the HTTP/1.1 Upgrade scenario
  masque.py server HOST PORT PKI [--no-connect-protocol] [--deadline S]
                                     a CONNECT-UDP server (TLS, ALPN h2, client certificate
                                     required, the server's own in PKI/server.*), for
                                     hermesd's client side: SETTINGS_ENABLE_CONNECT_PROTOCOL
                                     (unless --no-connect-protocol); each request is checked
                                     and printed ("request k=v ..."), answered 200 with
                                     capsule-protocol ?1, and each datagram echoed after an
                                     unknown capsule (type 0x2a); b"BIG" gets 2000 bytes,
                                     then b"BIG-done", b"CTX" a datagram for context 5, then
                                     b"CTX-done"; "ready" once listening

PKI holds ca.crt, client.crt and client.key; the server's certificate names "server".
The echo server answers b"BIG" with 2000 bytes (over the listener's datagram limit)
and then b"BIG-done"."""
import socket
import ssl
import sys
import time
import urllib.request

import h2.config
import h2.connection
import h2.events
import h2.settings

TMPL = "/.well-known/masque/udp/%s/%s/"
FAILED = []


def check(name, ok, detail=""):
    print("%s %s %s" % ("ok" if ok else "FAIL", name, detail), flush=True)
    if not ok:
        FAILED.append(name)


def varint(v):
    if v < 64:
        return bytes([v])
    if v < 16384:
        return (0x4000 | v).to_bytes(2, "big")
    if v < 1 << 30:
        return (0x80000000 | v).to_bytes(4, "big")
    return (0xC000000000000000 | v).to_bytes(8, "big")


def get_varint(b, i):
    if i >= len(b):
        return None, i
    n = 1 << (b[i] >> 6)
    if i + n > len(b):
        return None, i
    v = b[i] & 0x3F
    for k in range(1, n):
        v = v << 8 | b[i + k]
    return v, i + n


def capsule(t, value):
    return varint(t) + varint(len(value)) + value


def dgram(payload, ctx=0):
    return capsule(0, varint(ctx) + payload)


def take_datagrams(buf):
    """Whole DATAGRAM capsules (context 0) at the front of buf (a bytearray, consumed)."""
    out, i = [], 0
    while True:
        t, j = get_varint(buf, i)
        if t is None:
            break
        n, k = get_varint(buf, j)
        if n is None or k + n > len(buf):
            break
        v = bytes(buf[k:k + n])
        i = k + n
        if t == 0:
            ctx, m = get_varint(v, 0)
            if ctx == 0:
                out.append(v[m:])
    del buf[:i]
    return out


def tls_socket(host, port, pki, alpn):
    ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
    ctx.load_cert_chain(pki + "/client.crt", pki + "/client.key")
    ctx.set_alpn_protocols([alpn])
    s = socket.create_connection((host, port), timeout=5)
    s = ctx.wrap_socket(s, server_hostname="server")
    return s


class Stream:
    def __init__(self):
        self.headers = None
        self.buf = bytearray()
        self.got = []
        self.ended = False
        self.reset = None


class H2:
    def __init__(self, sock):
        self.s = sock
        self.c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.c.initiate_connection()
        self.st = {}
        self.settings = {}
        self.flush()

    def flush(self):
        d = self.c.data_to_send()
        if d:
            self.s.sendall(d)

    def pump(self, timeout):
        self.s.settimeout(timeout)
        try:
            data = self.s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return
        if not data:
            raise EOFError("the listener closed the connection")
        for ev in self.c.receive_data(data):
            st = self.st.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                for k, v in ev.changed_settings.items():
                    self.settings[k] = v.new_value
            elif isinstance(ev, h2.events.ResponseReceived) and st:
                st.headers = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived) and st:
                st.buf += ev.data
                st.got += take_datagrams(st.buf)
                self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded) and st:
                st.ended = True
            elif isinstance(ev, h2.events.StreamReset) and st:
                st.reset = int(ev.error_code)
        self.flush()

    def until(self, pred, timeout):
        end = time.monotonic() + timeout
        while not pred() and time.monotonic() < end:
            self.pump(max(0.01, min(0.2, end - time.monotonic())))
        return pred()

    def open(self, path, fields=(("capsule-protocol", "?1"),), scheme="https"):
        sid = self.c.get_next_available_stream_id()
        self.st[sid] = Stream()
        self.c.send_headers(sid, [(":method", "CONNECT"), (":protocol", "connect-udp"), (":scheme", scheme),
                                  (":authority", "10.77.1.1:15008"), (":path", path)] + list(fields))
        self.flush()
        return sid

    def answer(self, sid, timeout=5):
        st = self.st[sid]
        self.until(lambda: st.headers is not None or st.reset is not None, timeout)
        return st.headers or {}

    def send(self, sid, data, end=False):
        self.c.send_data(sid, data, end_stream=end)
        self.flush()

    def echo(self, sid, want, timeout=3):
        """Waits for len(want) more datagrams on sid; they are returned (and forgotten)."""
        st = self.st[sid]
        self.until(lambda: len(st.got) >= len(want) or st.reset is not None, timeout)
        got, st.got = st.got[:len(want)], st.got[len(want):]
        return got


def scenario_h2(host, port, pki, admin):
    c = H2(tls_socket(host, port, pki, "h2"))
    c.until(lambda: h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL in c.settings, 3)
    check("settings_enable_connect_protocol", c.settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL) == 1,
          str(c.settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)))

    # the identity a first hop sends, as with CONNECT
    a = c.open(TMPL % ("10.77.1.2", 5353), (("capsule-protocol", "?1"), ("hermes-uid", "4242"),
                                           ("hermes-comm", "masquetest")))
    h = c.answer(a)
    check("a_status", h.get(":status") == "200", str(h))
    check("a_capsule_protocol", h.get("capsule-protocol") == "?1", str(h))
    # one DATA frame: a datagram, an unknown capsule (skipped), a datagram for another
    # context (dropped), a 700-byte datagram; then 1400 bytes cut across two frames
    big = dgram(b"y" * 1400)
    c.send(a, dgram(b"one") + capsule(0x2B, b"xx") + dgram(b"ctx2", ctx=2) + dgram(b"x" * 700) + big[:500])
    time.sleep(0.05)
    c.send(a, big[500:])
    got = c.echo(a, [1, 2, 3])
    check("a_roundtrip", got == [b"one", b"x" * 700, b"y" * 1400], "sizes %s" % [len(g) for g in got])
    # too long (limit 1500): dropped, the stream goes on
    c.send(a, dgram(b"z" * 1600) + dgram(b"after"))
    got = c.echo(a, [1])
    check("a_oversize_dropped", got == [b"after"], str(got)[:80])
    c.send(a, dgram(b"BIG"))
    got = c.echo(a, [1])
    check("a_oversize_reply_dropped", got == [b"BIG-done"], str(got)[:80])
    try:
        flows = urllib.request.urlopen("http://%s/flows" % admin, timeout=3).read().decode()
    except OSError as e:
        flows = str(e)
    check("flows_proto_udp", '"protocol":"udp"' in flows and "10.77.1.2:5353" in flows, flows[:300])

    six = c.open(TMPL % ("fd77%3A1%3A%3A2", 5353))
    h = c.answer(six)
    c.send(six, dgram(b"six"))
    check("ipv6_roundtrip", h.get(":status") == "200" and c.echo(six, [1]) == [b"six"], str(h))

    bad = {
        "bad_template": (TMPL.replace("masque/", "") % ("10.77.1.2", 5353), (("capsule-protocol", "?1"),), "400"),
        "bad_host": (TMPL % ("example.com", 5353), (("capsule-protocol", "?1"),), "400"),
        "bad_port": (TMPL % ("10.77.1.2", 0), (("capsule-protocol", "?1"),), "400"),
        "no_capsule_protocol": (TMPL % ("10.77.1.2", 5353), (), "400"),
        "denied": (TMPL % ("10.77.1.3", 5353), (("capsule-protocol", "?1"),), "403"),
    }
    for name, (path, fields, want) in bad.items():
        sid = c.open(path, fields)
        h = c.answer(sid)
        check(name, h.get(":status") == want, "%s -> %s" % (path, h.get(":status")))

    # malformed: a DATAGRAM capsule with no context ID; a stream that ends inside a capsule
    m = c.open(TMPL % ("10.77.1.2", 5353))
    c.answer(m)
    c.send(m, b"\x00\x00")
    c.until(lambda: c.st[m].reset is not None, 3)
    check("malformed_reset", c.st[m].reset is not None, "reset code %s" % c.st[m].reset)
    m2 = c.open(TMPL % ("10.77.1.2", 5353))
    c.answer(m2)
    c.send(m2, dgram(b"half")[:4], end=True)
    c.until(lambda: c.st[m2].reset is not None, 3)
    check("cut_capsule_reset", c.st[m2].reset is not None, "reset code %s" % c.st[m2].reset)

    # a stream that never sends a capsule closes after the idle timeout (1 s in the test;
    # the tick is 1 s) while the good stream, kept busy, stays
    i = c.open(TMPL % ("10.77.1.2", 5353))
    c.answer(i)
    t0, n, alive = time.monotonic(), 0, True
    while time.monotonic() - t0 < 5 and c.st[i].reset is None and not c.st[i].ended:
        c.send(a, dgram(b"keep%d" % n))
        alive = alive and c.echo(a, [1], 1) == [b"keep%d" % n]
        n += 1
        c.pump(0.2)
    took = time.monotonic() - t0
    check("idle_closed", (c.st[i].reset is not None or c.st[i].ended) and 0.9 < took < 4.5, "after %.1f s" % took)
    check("good_stream_undisturbed", alive and c.st[a].reset is None, "%d exchanges" % n)

    # the client ends its stream: hermesd ends its side too
    c.send(a, b"", end=True)
    c.until(lambda: c.st[a].ended or c.st[a].reset is not None, 3)
    check("a_end", c.st[a].ended and c.st[a].reset is None, "ended %s reset %s" % (c.st[a].ended, c.st[a].reset))


def h1_request(host, port, pki, path, extra=b""):
    s = tls_socket(host, port, pki, "http/1.1")
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 10.77.1.1:15008\r\nConnection: Upgrade\r\n"
              b"Upgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n\r\n" + extra)
    buf = b""
    s.settimeout(5)
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head.decode(errors="replace"), bytearray(rest)


def scenario_h1(host, port, pki):
    # the first datagram rides right behind the request head
    s, head, buf = h1_request(host, port, pki, TMPL % ("10.77.1.2", 5353), dgram(b"h1-one"))
    check("h1_status", head.startswith("HTTP/1.1 101 "), head.splitlines()[0] if head else "(none)")
    check("h1_capsule_protocol", "\r\nCapsule-Protocol: ?1" in head and "Upgrade: connect-udp" in head, head)
    s.sendall(dgram(b"h1-two") + dgram(b"q" * 1200))
    got, end = [], time.monotonic() + 3
    while len(got) < 3 and time.monotonic() < end:
        got += take_datagrams(buf)
        if len(got) >= 3:
            break
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        buf += d
    check("h1_roundtrip", got == [b"h1-one", b"h1-two", b"q" * 1200], "sizes %s" % [len(g) for g in got])
    s.close()
    s, head, _ = h1_request(host, port, pki, "/.well-known/masque/10.77.1.2/5353/")
    check("h1_bad_template", head.startswith("HTTP/1.1 400 "), head.splitlines()[0] if head else "(none)")
    s.close()


def serve_conn(conn, connect_protocol):
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    c.local_settings = h2.settings.Settings(client=False, initial_values={
        h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1 if connect_protocol else 0})
    c.initiate_connection()
    conn.sendall(c.data_to_send())
    bufs = {}
    while True:
        try:
            data = conn.recv(65536)
        except (OSError, ssl.SSLError):
            return
        if not data:
            return
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                h = dict(ev.headers)
                ok = (h.get(":method") == "CONNECT" and h.get(":protocol") == "connect-udp"
                      and h.get(":path", "").startswith(TMPL.split("%")[0]) and h.get("capsule-protocol") == "?1"
                      and h.get(":scheme") == "https")
                print("request " + " ".join("%s=%s" % kv for kv in ev.headers), flush=True)
                c.send_headers(ev.stream_id, [(":status", "200" if ok else "400"), ("capsule-protocol", "?1")],
                               end_stream=not ok)
                bufs[ev.stream_id] = bytearray()
            elif isinstance(ev, h2.events.DataReceived):
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                buf = bufs.setdefault(ev.stream_id, bytearray())
                buf += ev.data
                out = b""
                for d in take_datagrams(buf):
                    out += capsule(0x2a, b"unknown")
                    if d == b"BIG":
                        out += dgram(b"B" * 2000) + dgram(b"BIG-done")
                    elif d == b"CTX":
                        out += dgram(b"ctx5", 5) + dgram(b"CTX-done")
                    else:
                        out += dgram(d)
                if out:
                    c.send_data(ev.stream_id, out)
            elif isinstance(ev, h2.events.StreamEnded):
                if ev.stream_id in bufs:
                    c.end_stream(ev.stream_id)
                    print("stream %d ended" % ev.stream_id, flush=True)
            elif isinstance(ev, h2.events.StreamReset):
                print("stream %d reset %d" % (ev.stream_id, int(ev.error_code)), flush=True)
        conn.sendall(c.data_to_send())


def serve(host, port, pki, connect_protocol, deadline):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki + "/ca.crt")
    ctx.load_cert_chain(pki + "/server.crt", pki + "/server.key")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["h2"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(8)
    ls.settimeout(1)
    print("ready", flush=True)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            raw, _ = ls.accept()
        except socket.timeout:
            continue
        raw.settimeout(deadline)
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as e:
            print("tls: %s" % e, flush=True)
            continue
        print("connection", flush=True)
        serve_conn(conn, connect_protocol)
        conn.close()


def main():
    mode, host, port, pki = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if mode == "server":
        deadline = float(sys.argv[sys.argv.index("--deadline") + 1]) if "--deadline" in sys.argv else 60
        serve(host, port, pki, "--no-connect-protocol" not in sys.argv, deadline)
        return
    try:
        if mode == "h2":
            scenario_h2(host, port, pki, sys.argv[5])
        else:
            scenario_h1(host, port, pki)
    except (OSError, EOFError, h2.exceptions.H2Error) as e:
        check("scenario", False, "%s: %s" % (type(e).__name__, e))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
