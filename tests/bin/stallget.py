#!/usr/bin/env python3
"""stallget.py: HTTP/1.1 clients that never read, for tests/e2e/http_never_read.sh. Opens N
connections to HOST:PORT (small receive buffers), sends GET PATH on each, reads nothing for
HOLD seconds (the response backs up into the proxy in between), then reads the responses to
their end and prints one line:
  stall N=20 complete=20 bytes_each=67108864 statuses=200 seconds=3.1
complete: responses whose body had the Content-Length they announced.

  stallget.py HOST PORT PATH N HOLD
"""
import socket
import sys
import time


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None, 0
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    status = head.split(b" ", 2)[1].decode()
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    got = len(body)
    while length is None or got < length:
        d = s.recv(1 << 20)
        if not d:
            break
        got += len(d)
    return status, got if length is None or got == length else -got


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    host, port, path, n, hold = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect((host, port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        socks.append(s)
    print(f"sent {n} requests; not reading for {hold} s", flush=True)
    time.sleep(hold)
    t0 = time.monotonic()
    complete, sizes, statuses = 0, set(), set()
    for s in socks:
        try:
            # the stall is over: a receive buffer of the usual size for the reading (at
            # 4 KiB a recv, 320 MiB took the test most of its time)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            st, got = read_response(s)
        except OSError as e:
            st, got = f"error {e}", -1
        statuses.add(str(st))
        sizes.add(got)
        if st is not None and got >= 0:
            complete += 1
        s.close()
    print(f"stall N={n} complete={complete} bytes_each={','.join(map(str, sorted(sizes)))} "
          f"statuses={','.join(sorted(statuses))} seconds={time.monotonic() - t0:.1f}", flush=True)


if __name__ == "__main__":
    main()
