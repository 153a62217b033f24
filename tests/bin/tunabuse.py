#!/usr/bin/python3
"""tunabuse.py: abusive clients of the tunnel listener, for tests/e2e/tunnel_abuse.sh (run
with /usr/bin/python3; python3-h2 for the HTTP/2 ones). Each prints one line of results.

  tunabuse.py burst HOST PORT TARGET N [--src ADDR]
      N HTTP/1.1 CONNECTs to TARGET, one connection each, one after the other:
      prints "STATUS=COUNT ..." (e.g. "200=20 429=10").
  tunabuse.py rapidreset HOST PORT TARGET N [--src ADDR]
      one h2c connection: N CONNECT streams to TARGET, each reset (CANCEL) right after
      its HEADERS, all in one write, then a PING; reads until the PING's ACK (every
      stream dealt with), the listener closes, or 5 s pass.
  tunabuse.py conns HOST PORT N [--src ADDR]
      N h2c connections held open at once: prints "open=K closed=M" (closed: the
      listener closed it before answering the preface with its SETTINGS), and
      " silent=S" when S of them got neither an answer nor a close within 3 s.
  tunabuse.py stall HOST PORT TARGET CONNS STREAMS ADMIN [--secs S]
      CONNS h2c connections of STREAMS CONNECT streams each to TARGET (which never
      reads), opened one after the other (S/CONNS s apart, S 3 by default), each stream sending as much
      as its window lets it; then, with the
      connections still open, the listener's /metrics at ADMIN: prints "accepted=N
      refused=M sent=BYTES buffered=B" (refused: streams reset with REFUSED_STREAM).
  tunabuse.py hold HOST PORT TARGET CONNS STREAMS SECS
      CONNS h2c connections of STREAMS CONNECT streams each to TARGET, all sent at once;
      once every stream has its answer (or 10 s passed), prints "accepted=N refused=M
      reset=K failed=F unanswered=U" (reset: streams reset with another code than
      REFUSED_STREAM; failed: answered with another status than 200)
      and holds the accepted streams open for SECS more seconds, answering the listener.
"""
import socket
import struct
import sys
import time
import urllib.request


def connect(host, port, src):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if src:
        s.bind((src, 0))
    s.settimeout(10)
    s.connect((host, port))
    return s


def opt_src(args):
    return args[args.index("--src") + 1] if "--src" in args else None


def burst(host, port, target, n, src):
    counts = {}
    for _ in range(n):
        s = connect(host, port, src)
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
        data = b""
        while b"\r\n" not in data:
            b = s.recv(4096)
            if not b:
                break
            data += b
        line = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        st = line[1] if len(line) > 1 else "none"
        counts[st] = counts.get(st, 0) + 1
        s.close()
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))


def conns(host, port, n, src):
    socks, opened, closed = [], 0, 0
    for _ in range(n):
        s = connect(host, port, src)
        try:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        except ConnectionError:
            pass  # closed already: counted below
        socks.append(s)
        time.sleep(0.05)  # in order: the first ones are the ones let in
    silent = 0
    for s in socks:
        try:
            s.settimeout(3)
            b = s.recv(9)
            opened, closed = (opened + 1, closed) if len(b) == 9 and b[3] == 4 else (opened, closed + 1)
        except ConnectionError:
            closed += 1
        except socket.timeout:
            silent += 1
    print("open=%d closed=%d" % (opened, closed) + (" silent=%d" % silent if silent else ""))
    for s in socks:
        s.close()


def h2conn(host, port):
    import h2.config
    import h2.connection

    s = connect(host, port, None)
    # CONNECT has no :path: python-h2's own checks would refuse to send it
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                                             validate_outbound_headers=False))
    c.initiate_connection()
    s.sendall(c.data_to_send())
    return s, c


def stall_round(conns_, chunk, tally, tolerate_reset=False):
    """One round over h2c connections of CONNECT streams into a target that never reads
    (also used by ovlpush.py): reads the answers (tally[0] += 200s, tally[1] +=
    REFUSED_STREAM resets), writes each stream as far as its window goes, 1 MiB of frames
    a round at most (tally[2] += bytes), and sends what fits. conns_ entries are
    [sock, H2Connection, live stream ids, unsent bytes]. tolerate_reset: a connection the
    other end reset is kept quiet instead of raising."""
    import h2.events
    import h2.exceptions

    recv_errors = (BlockingIOError, ConnectionError) if tolerate_reset else BlockingIOError
    for st in conns_:
        s, c, live = st[0], st[1], st[2]
        try:
            data = s.recv(1 << 20)
        except recv_errors:
            data = None
        if data:
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and dict(ev.headers).get(":status") == "200":
                    tally[0] += 1
                elif isinstance(ev, h2.events.StreamReset):
                    tally[1] += ev.error_code == 7
                    live.discard(ev.stream_id)
        # stream by stream, each as far as its window goes (the first streams fill, then
        # the connection's window shuts)
        todo = 1 << 20 if not st[3] else 0
        for sid in sorted(live):
            if todo <= 0:
                break
            try:
                n = min(c.local_flow_control_window(sid), len(chunk))
                while n > 0 and todo > 0:
                    c.send_data(sid, chunk[:n])
                    tally[2] += n
                    todo -= n
                    n = min(c.local_flow_control_window(sid), len(chunk))
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, KeyError):
                live.discard(sid)
        st[3] += c.data_to_send()
        try:
            while st[3]:
                k = s.send(st[3])
                st[3] = st[3][k:]
        except BlockingIOError:
            pass  # hermesd reads no more: its windows (or the memory budget) hold it back
        except ConnectionError:
            if not tolerate_reset:
                raise
            st[3] = b""


def stall(host, port, target, nconns, nstreams, admin, secs):
    chunk = b"x" * 16384
    conns_, tally = [], [0, 0, 0]  # accepted, refused, sent
    for _ in range(nconns):
        s, c = h2conn(host, port)
        s.setblocking(False)
        live = set()
        for i in range(nstreams):
            sid = c.get_next_available_stream_id()
            c.send_headers(sid, [(":method", "CONNECT"), (":authority", target)])
            live.add(sid)
        conns_.append([s, c, live, b""])
        # each connection fills before the next one opens its streams
        deadline = time.time() + secs / nconns
        while time.time() < deadline:
            stall_round(conns_, chunk, tally)
            time.sleep(0.01)
    buffered = "?"
    for line in urllib.request.urlopen("http://%s/metrics" % admin, timeout=5).read().decode().splitlines():
        if line.startswith("hermes_tunnel_buffered_bytes "):
            buffered = line.split()[1]
    print("accepted=%d refused=%d sent=%d buffered=%s" % (tally[0], tally[1], tally[2], buffered))
    for st in conns_:
        st[0].close()


def hold(host, port, target, nconns, nstreams, secs):
    import h2.events

    conns_, pending, accepted, refused, reset, failed = [], set(), 0, 0, 0, 0
    for k in range(nconns):
        s, c = h2conn(host, port)
        for _ in range(nstreams):
            sid = c.get_next_available_stream_id()
            c.send_headers(sid, [(":method", "CONNECT"), (":authority", target)])
            pending.add((k, sid))
        s.sendall(c.data_to_send())
        s.settimeout(0.05)
        conns_.append((s, c))

    def pump():
        nonlocal accepted, refused, reset, failed
        for k, (s, c) in enumerate(conns_):
            try:
                data = s.recv(1 << 20)
            except socket.timeout:
                continue
            if not data:
                raise ConnectionError("the listener closed connection %d" % k)
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and (k, ev.stream_id) in pending:
                    pending.discard((k, ev.stream_id))
                    ok = dict(ev.headers).get(":status") == "200"
                    accepted += ok
                    failed += not ok
                elif isinstance(ev, h2.events.StreamReset):
                    if (k, ev.stream_id) in pending:
                        pending.discard((k, ev.stream_id))
                        refused += ev.error_code == 7
                        reset += ev.error_code != 7
            s.sendall(c.data_to_send())

    deadline = time.time() + 10
    while pending and time.time() < deadline:
        pump()
    print("accepted=%d refused=%d reset=%d failed=%d unanswered=%d" % (accepted, refused, reset, failed, len(pending)),
          flush=True)
    deadline = time.time() + secs
    while time.time() < deadline:
        pump()
    for s, _ in conns_:
        s.close()


def rapidreset(host, port, target, n, src):
    """HEADERS (CONNECT) then RST_STREAM(CANCEL) for n streams, all in one write, on one
    h2c connection (raw frames: a client that does not wait for anything)."""
    t = target.encode()
    block = b"\x02\x07CONNECT" + b"\x01" + bytes([len(t)]) + t  # :method, :authority (static names)

    def frame(typ, flags, sid, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([typ, flags]) + struct.pack(">I", sid) + payload

    s = connect(host, port, src)
    out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")
    for sid in range(1, 2 * n, 2):
        out += frame(1, 4, sid, block) + frame(3, 0, sid, struct.pack(">I", 8))
    # then a PING: the listener handles frames in order, so its ACK says every stream
    # above was dealt with (no need to wait for silence)
    out += frame(6, 0, 0, b"rapidrst")
    s.sendall(out)
    s.settimeout(5)
    buf, acked = b"", False
    try:
        while not acked:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                ln, typ, flags = int.from_bytes(buf[:3], "big"), buf[3], buf[4]
                acked |= typ == 6 and flags & 1 and buf[9:9 + ln] == b"rapidrst"
                buf = buf[9 + ln:]
    except (ConnectionError, socket.timeout):
        pass
    s.close()
    print("sent %d%s" % (n, "" if acked else " (no PING ACK: the listener closed or was silent 5 s)"))


def main():
    a = sys.argv[1:]
    if a[0] == "burst":
        burst(a[1], int(a[2]), a[3], int(a[4]), opt_src(a))
    elif a[0] == "rapidreset":
        rapidreset(a[1], int(a[2]), a[3], int(a[4]), opt_src(a))
    elif a[0] == "hold":
        hold(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), float(a[6]))
    elif a[0] == "conns":
        conns(a[1], int(a[2]), int(a[3]), opt_src(a))
    elif a[0] == "stall":
        stall(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), a[6], float(a[8]) if "--secs" in a else 3.0)
    else:
        sys.exit("usage: see the docstring of " + sys.argv[0])


if __name__ == "__main__":
    main()
