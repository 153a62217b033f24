#!/usr/bin/env python3
"""stall_reader: an HTTP/1.1 client that stops reading mid-body until told to go on.

stall_reader.py HOST PORT TARGET OUT FLAG: GETs TARGET from HOST:PORT with a small receive
buffer, reads the head and the body's first bytes, creates FLAG.stalled, then reads
nothing until FLAG.go exists (at most 20 s), then the rest of the body (Content-Length
bytes) into OUT. Exits 0 with the whole body, 1 otherwise (short body, reset, no go).
For tests of a response sent from a stored cache entry that is purged or replaced
while the client stalls (tests/e2e/http_cache_fill.sh)."""
import os
import socket
import sys
import time

host, port, target, out, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(20)
s.connect((host, port))
s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (target, host, port)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        sys.exit("stall_reader: the connection ended before the head")
    buf += d
head, body = buf.split(b"\r\n\r\n", 1)
length = None
for line in head.split(b"\r\n")[1:]:
    k, _, v = line.partition(b":")
    if k.strip().lower() == b"content-length":
        length = int(v.strip())
if length is None:
    sys.exit("stall_reader: no Content-Length in the head: " + head.decode(errors="replace"))
open(flag + ".stalled", "w").close()
deadline = time.monotonic() + 20
while not os.path.exists(flag + ".go"):
    if time.monotonic() > deadline:
        sys.exit("stall_reader: never told to go on")
    time.sleep(0.05)
while len(body) < length:
    d = s.recv(65536)
    if not d:
        break
    body += d
with open(out, "wb") as f:
    f.write(body)
if len(body) != length:
    sys.exit("stall_reader: %d of %d body bytes" % (len(body), length))
sys.stdout.write(head.decode(errors="replace") + "\n")
