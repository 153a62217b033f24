#!/usr/bin/python3
"""closes.py: end-of-flow scenarios for the relay engines (run with /usr/bin/python3).

  closes.py server BIND PORT SCENARIO      serve one connection, print "server ok ..." or fail
  closes.py client HOST PORT SCENARIO [GO] the client side, print "client ok ..." or fail
Scenarios:
  slow-reader     server sends 64 MiB at once; the client sleeps 2 s (or, given GO, prints
                  "stalled" and waits until the file GO exists), then reads slowly
  slow-server     client sends 64 MiB at once; the server sleeps 2 s, then reads slowly
  server-rst      server sends 1 MiB, then resets (SO_LINGER 0): the client must see a reset
  client-rst      client sends 1 MiB, then resets: the server must see a reset
  upstream-first  server sends 4 MiB and shuts its write side first; then the client
                  sends 2 MiB and shuts down; the server checks it got them
  client-first    client sends 2 MiB and shuts its write side first; the server reads to
                  EOF, then sends 4 MiB and closes
Exit 0 when the side saw what it must, 1 otherwise. Every wait is bounded (30 s).
"""
import hashlib
import os
import random
import socket
import struct
import sys
import time

MIB = 1 << 20


def blob(seed, n):
    return random.Random(seed).randbytes(n)


def recv_all(s, slow=False):
    h, n = hashlib.sha256(), 0
    while True:
        b = s.recv(65536)
        if not b:
            return n, h.hexdigest()
        n += len(b)
        h.update(b)
        if slow and n % (4 * MIB) < 65536:
            time.sleep(0.05)


def expect(n, digest, seed, size, who):
    if n != size or digest != hashlib.sha256(blob(seed, size)).hexdigest():
        print(f"{who} FAIL: got {n} bytes (want {size}) digest match {digest == hashlib.sha256(blob(seed, size)).hexdigest()}")
        return 1
    print(f"{who} ok: {n} bytes intact")
    return 0


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def expect_reset(s, who):
    try:
        n, _ = recv_all(s)
    except ConnectionResetError:
        print(f"{who} ok: connection reset")
        return 0
    except socket.timeout:
        print(f"{who} FAIL: no reset within the timeout")
        return 1
    print(f"{who} FAIL: clean EOF after {n} bytes instead of a reset")
    return 1


def server(bind, port, sc):
    fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((bind, port))
    ls.listen(8)
    ls.settimeout(30)
    print("listening", flush=True)
    c, _ = ls.accept()
    c.settimeout(30)
    if sc == "slow-reader":
        c.sendall(blob(1, 64 * MIB))
        c.close()
        return 0
    if sc == "slow-server":
        time.sleep(2)
        return expect(*recv_all(c, slow=True), 2, 64 * MIB, "server")
    if sc == "server-rst":
        c.sendall(blob(3, MIB))
        time.sleep(0.5)
        reset(c)
        print("server ok: reset sent")
        return 0
    if sc == "client-rst":
        return expect_reset(c, "server")
    if sc == "upstream-first":
        c.sendall(blob(4, 4 * MIB))
        c.shutdown(socket.SHUT_WR)
        rc = expect(*recv_all(c), 5, 2 * MIB, "server")
        c.close()
        return rc
    if sc == "client-first":
        rc = expect(*recv_all(c), 6, 2 * MIB, "server")
        c.sendall(blob(7, 4 * MIB))
        c.close()
        return rc
    return 2


def wait_file(path):
    """Until path exists (bounded: 30 s), so a test decides when a stall ends."""
    for _ in range(600):
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not appear within 30 s")


def client(host, port, sc, go=None):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect((host, port))
    if sc == "slow-reader":
        if go:
            print("stalled", flush=True)
            wait_file(go)
        else:
            time.sleep(2)
        return expect(*recv_all(s, slow=True), 1, 64 * MIB, "client")
    if sc == "slow-server":
        s.sendall(blob(2, 64 * MIB))
        s.shutdown(socket.SHUT_WR)
        n, _ = recv_all(s)
        print(f"client ok: sent 64 MiB, got EOF after {n} bytes")
        return 0
    if sc == "server-rst":
        return expect_reset(s, "client")
    if sc == "client-rst":
        s.sendall(blob(8, MIB))
        time.sleep(0.5)
        reset(s)
        print("client ok: reset sent")
        return 0
    if sc == "upstream-first":
        rc = expect(*recv_all(s), 4, 4 * MIB, "client")
        s.sendall(blob(5, 2 * MIB))
        s.shutdown(socket.SHUT_WR)
        recv_all(s)
        return rc
    if sc == "client-first":
        s.sendall(blob(6, 2 * MIB))
        s.shutdown(socket.SHUT_WR)
        return expect(*recv_all(s), 7, 4 * MIB, "client")
    return 2


if __name__ == "__main__":
    role, addr, port, scenario = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    try:
        if role == "server":
            sys.exit(server(addr, port, scenario))
        sys.exit(client(addr, port, scenario, *sys.argv[5:6]))
    except Exception as e:  # noqa: BLE001 - report any failure
        print(f"{role} FAIL: {e!r}")
        sys.exit(1)
