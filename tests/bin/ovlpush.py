#!/usr/bin/python3
"""ovlpush.py: clients that make hermesd hold buffer memory, for tests/e2e/overload.sh and
tunnel_idle_memory.sh (run with /usr/bin/python3; python3-h2 for the HTTP/2 ones). Each runs for SECS seconds, then
closes everything and prints one line of results.

  ovlpush.py stall HOST PORT TARGET CONNS STREAMS SECS
      CONNS h2c connections to a tunnel listener, STREAMS CONNECT streams each to TARGET
      (which never reads), all opened at once, each stream sending as far as its window
      lets it for SECS seconds: prints "accepted=N refused=M sent=BYTES" (refused:
      streams reset with REFUSED_STREAM).
  ovlpush.py hold HOST PORT N PATH SECS
      N HTTP/1.1 connections (a steered destination: the http action), opened at once,
      each sending GET PATH and never reading the answer: prints "open=K reset=R"
      (reset: connections the other end reset or closed before SECS were over).
  ovlpush.py h2probe HOST PORT METHOD AUTHORITY [PKI]
      One new h2c connection (with PKI, a directory of hermesctl certs init: HTTP/2 over
      mutual TLS) with one request (METHOD GET: path /; CONNECT: to AUTHORITY),
      read until the answer: prints "goaway code=C last=L debug=D" (after the server's
      SETTINGS: "settings goaway ..."), "refused_stream", "status=S", "closed" or "reset".
  ovlpush.py burst HOST PORT TARGET PATH STREAMS SECS
      One h2c connection to a tunnel listener, STREAMS CONNECT streams to TARGET and GET
      PATH over each, not read for a second, then read to the end: prints
      "received=BYTES", then keeps the connection open and idle for SECS seconds
      (tests/e2e/tunnel_idle_memory.sh).
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tunabuse import stall_round  # noqa: E402  (the stalled writer both clients use)



def h2conn(host, port, pki=None):
    import h2.config
    import h2.connection

    s = socket.create_connection((host, port), timeout=10)
    if pki:
        # mutual TLS with ALPN h2, as a tunnel client (hermesctl certs init's files)
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki + "/ca.crt")
        ctx.load_cert_chain(pki + "/client.crt", pki + "/client.key")
        ctx.set_alpn_protocols(["h2"])
        s = ctx.wrap_socket(s, server_hostname="server")
    # CONNECT has no :path: python-h2's own checks would refuse to send it
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                                             validate_outbound_headers=False))
    c.initiate_connection()
    return s, c


def stall(host, port, target, nconns, nstreams, secs):
    chunk = b"x" * 16384
    conns_, tally = [], [0, 0, 0]  # accepted, refused, sent
    for _ in range(nconns):
        s, c = h2conn(host, port)
        s.setblocking(False)
        live = set()
        for _ in range(nstreams):
            sid = c.get_next_available_stream_id()
            c.send_headers(sid, [(":method", "CONNECT"), (":authority", target)])
            live.add(sid)
        conns_.append([s, c, live, c.data_to_send()])
    end = time.time() + secs
    while time.time() < end:
        stall_round(conns_, chunk, tally, tolerate_reset=True)
        time.sleep(0.01)
    print("accepted=%d refused=%d sent=%d" % tuple(tally), flush=True)
    for st in conns_:
        st[0].close()


def hold(host, port, n, path, secs):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, port))
        socks.append(s)
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode()
    for s in socks:
        try:
            s.sendall(req)
        except ConnectionError:
            pass
    time.sleep(secs)
    reset = 0
    for s in socks:
        s.setblocking(False)
        try:
            # a reset or a close shows up here; a live connection has bytes or nothing
            if s.recv(1, socket.MSG_PEEK) == b"":
                reset += 1
        except BlockingIOError:
            pass
        except ConnectionError:
            reset += 1
    print("open=%d reset=%d" % (n - reset, reset), flush=True)
    for s in socks:
        s.close()


def h2probe(host, port, method, authority, pki=None):
    import h2.events

    s, c = h2conn(host, port, pki)
    hdrs = [(":method", method), (":authority", authority)]
    if method != "CONNECT":
        hdrs += [(":scheme", "http"), (":path", "/")]
    c.send_headers(1, hdrs, end_stream=method != "CONNECT")
    s.sendall(c.data_to_send())
    out = []
    try:
        while True:
            d = s.recv(65536)
            if not d:
                out.append("closed")
                break
            for ev in c.receive_data(d):
                if isinstance(ev, h2.events.RemoteSettingsChanged):
                    out.append("settings")
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    out.append("goaway code=%d last=%d debug=%s" % (ev.error_code, ev.last_stream_id,
                                                                  (ev.additional_data or b"").decode()))
                elif isinstance(ev, h2.events.StreamReset) and ev.error_code == 7:
                    out.append("refused_stream")
                elif isinstance(ev, h2.events.ResponseReceived):
                    out.append("status=" + dict(ev.headers).get(":status", "?"))
            if any(o.startswith(("goaway", "refused", "status")) for o in out):
                break
    except (ConnectionError, OSError) as e:
        out.append("reset" if isinstance(e, ConnectionError) else "error " + str(e))
    print(" ".join(out), flush=True)
    s.close()


def burst(host, port, target, path, nstreams, secs):
    """One h2c connection, NSTREAMS CONNECT streams to TARGET, GET PATH over each, the
    socket not read for a second (hermesd's output gathers behind it), then read to the
    end; prints "received=BYTES" (the streams' bytes, answer heads included) and keeps the
    connection open, idle, for SECS seconds."""
    import h2.config
    import h2.connection
    import h2.events
    import h2.settings

    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((host, port))
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                                             validate_outbound_headers=False))
    c.initiate_connection()
    c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 << 20})
    c.increment_flow_control_window(64 << 20)
    live = set()
    for _ in range(nstreams):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, [(":method", "CONNECT"), (":authority", target)])
        live.add(sid)
    s.sendall(c.data_to_send())
    got, answered = 0, 0
    get = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, target)).encode()
    while live:
        data = s.recv(1 << 16)
        if not data:
            break
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                c.send_data(ev.stream_id, get)
                answered += 1
                if answered == nstreams:
                    s.sendall(c.data_to_send())
                    time.sleep(1)
            elif isinstance(ev, h2.events.DataReceived):
                got += len(ev.data)
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                c.end_stream(ev.stream_id)  # the flow's other half: the stream closes whole
                live.discard(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                live.discard(ev.stream_id)
        s.sendall(c.data_to_send())
    print("received=%d" % got, flush=True)
    time.sleep(secs)
    s.close()


def main():
    a = sys.argv[1:]
    if a and a[0] == "stall" and len(a) == 7:
        stall(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), float(a[6]))
    elif a and a[0] == "burst" and len(a) == 7:
        burst(a[1], int(a[2]), a[3], a[4], int(a[5]), float(a[6]))
    elif a and a[0] == "hold" and len(a) == 6:
        hold(a[1], int(a[2]), int(a[3]), a[4], float(a[5]))
    elif a and a[0] == "h2probe" and len(a) in (5, 6):
        h2probe(a[1], int(a[2]), a[3], a[4], *a[5:])
    else:
        sys.exit("usage: see the docstring of " + sys.argv[0])


if __name__ == "__main__":
    main()
