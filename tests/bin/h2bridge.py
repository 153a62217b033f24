#!/usr/bin/env python3
"""h2bridge.py: a byte-for-byte TCP bridge that lets a test tool reach the tunnel listener
as if it were the origin, for h2spec (tests/e2e/h2spec.sh). h2spec sends its requests with
:authority set to the address it dials, and cannot present a client certificate; so it
dials this bridge, and:
- a connection whose first bytes are an HTTP/1.x request line (GET/HEAD/POST/PUT/...) is
  the request hermesd forwards to that :authority: it goes in clear text to HTTP1_TARGET
  (the origin), so h2spec's streams see a real upstream exchange;
- any other connection (the HTTP/2 preface, or anything invalid) goes to TARGET, in
  clear text or, with --tls, over TLS 1.3 with the given client certificate and ALPN h2
  (the server's certificate is not checked: the bridge only carries bytes).
Bytes are pumped both ways unchanged; a FIN on one side is passed on as a FIN. Prints
"listening HOST:PORT" once ready.

  h2bridge.py LISTEN_HOST:PORT TARGET_HOST:PORT HTTP1_TARGET_HOST:PORT [--tls CERT KEY]
"""
import re
import socket
import ssl
import sys
import threading

H1 = re.compile(rb"^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|TRACE) ")


def hp(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except (OSError, ssl.SSLError):
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except (OSError, ssl.SSLError):
        pass


def serve(c, target, h1_target, ctx):
    first = b""
    c.settimeout(3)
    try:
        # enough to tell a request method (or the 24-byte preface) apart
        while len(first) < 24 and b" " not in first:
            b = c.recv(24 - len(first))
            if not b:
                break
            first += b
    except OSError:
        pass
    c.settimeout(None)
    # no Nagle: h2spec's small frames must not wait for delayed ACKs (40 ms each)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    to = h1_target if H1.match(first) else target
    try:
        u = socket.create_connection(to, timeout=5)
        u.settimeout(None)
        u.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ctx and to == target:
            u = ctx.wrap_socket(u)
        u.sendall(first)
    except (OSError, ssl.SSLError) as e:
        print(f"bridge: {to}: {e}", flush=True)
        c.close()
        return
    a = threading.Thread(target=pump, args=(c, u), daemon=True)
    b = threading.Thread(target=pump, args=(u, c), daemon=True)
    a.start()
    b.start()
    a.join()
    b.join()
    for s in (c, u):
        try:
            s.close()
        except OSError:
            pass


def main():
    a = sys.argv[1:]
    if len(a) not in (3, 6) or (len(a) == 6 and a[3] != "--tls"):
        sys.exit(__doc__)
    listen, target, h1_target = hp(a[0]), hp(a[1]), hp(a[2])
    ctx = None
    if len(a) == 6:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(a[4], a[5])
        ctx.set_alpn_protocols(["h2"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(listen)
    ls.listen(128)
    print(f"listening {a[0]}", flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, target, h1_target, ctx), daemon=True).start()


if __name__ == "__main__":
    main()
