#!/usr/bin/env python3
"""flood.py: a connection flood for the descriptor-exhaustion test (tests/e2e/fd_exhaust.sh).
Opens N connections to HOST:PORT at once (non-blocking connects), sends PAYLOAD on each
that connected (e.g. the HTTP/2 preface and an empty SETTINGS frame: an idle session),
holds them all for HOLD seconds without reading, then closes them. Prints one line:
  flood N=1500 connected=1500 failed=0
connected: connections established within the hold (the rest: refused, timed out or
still in the listen backlog's SYN queue).

  flood.py HOST PORT N HOLD [PAYLOAD]   (PAYLOAD: "h2" for the preface + SETTINGS, or a
                                         string with \\r\\n escapes; default: nothing)
"""
import errno
import select
import socket
import sys
import time

H2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    payload = b""
    if len(sys.argv) > 5:
        payload = H2 if sys.argv[5] == "h2" else sys.argv[5].encode().decode("unicode_escape").encode("latin-1")
    pending, up, failed = {}, [], 0
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        if rc in (0, errno.EINPROGRESS):
            pending[s.fileno()] = s
        else:
            failed += 1
            s.close()
    end = time.monotonic() + hold
    p = select.poll()
    for fd in pending:
        p.register(fd, select.POLLOUT)
    while pending and time.monotonic() < end:
        for fd, ev in p.poll(100):
            s = pending.pop(fd, None)
            if s is None:
                continue
            p.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                failed += 1
                s.close()
                continue
            try:
                if payload:
                    s.send(payload)
                up.append(s)
            except OSError:
                failed += 1
                s.close()
    print(f"flood N={n} connected={len(up)} failed={failed}", flush=True)
    time.sleep(max(0.0, end - time.monotonic()))
    for s in up + list(pending.values()):
        s.close()


if __name__ == "__main__":
    main()
