#!/usr/bin/env python3
"""slowc.py: slowloris clients for the abuse tests (tests/e2e/slowloris.sh). Opens N
connections to HOST:PORT and sends HEAD on each, one byte every INTERVAL seconds, never
the end of it, until the server closes the connection or SECONDS pass. Prints one
summary line:
  slow N=50 closed=50 open=0 max_s=2.1 first="HTTP/1.1 408 Request Timeout"
closed: connections the server ended (FIN or reset), max_s: the latest of those ends
since the first byte, first: the first line any of them received (empty: none).

  slowc.py HOST PORT N SECONDS HEAD [INTERVAL]
HEAD is a Python string literal's contents (\\r\\n allowed), e.g. 'GET / HTTP/1.1\\r\\nHost: a\\r\\nX: ';
past its end the connection gets more "a" bytes (a field value that never ends).
"""
import select
import socket
import sys
import time


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    host, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    head = sys.argv[5].encode().decode("unicode_escape").encode("latin-1")
    interval = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    for _ in range(n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect((host, port))
        s.setblocking(False)
        socks.append(s)
    start = time.monotonic()
    sent = 0
    ended = {}
    first = ""
    nxt = start
    while len(ended) < n and time.monotonic() - start < secs:
        now = time.monotonic()
        if now >= nxt:
            # past HEAD: more of its last field's value, never its end
            b = head[sent:sent + 1] if sent < len(head) else b"a"
            for s in socks:
                if s in ended:
                    continue
                try:
                    s.send(b)
                except OSError:
                    ended[s] = now - start
            sent += 1
            nxt += interval
        live = [s for s in socks if s not in ended]
        if not live:
            break
        r, _, _ = select.select(live, [], [], max(0.0, min(nxt - time.monotonic(), 0.2)))
        for s in r:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if d and not first:
                first = d.split(b"\r\n", 1)[0].decode("latin-1", "replace")
            if not d:
                ended[s] = time.monotonic() - start
    mx = max(ended.values()) if ended else 0
    print(f'slow N={n} closed={len(ended)} open={n - len(ended)} max_s={mx:.1f} first="{first}"', flush=True)
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
