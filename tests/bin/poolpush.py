#!/usr/bin/env python3
"""poolpush.py: clients and a server for relay_pool.sh (flows whose peer does not read,
beside flows that must still get through).

  sink HOST PORT GOFILE N SIZE     accept connections and read none of them until
                                   GOFILE exists, then read each to its end: prints
                                   "sink ok N" when N brought SIZE bytes of the pattern
                                   each (and none brought other bytes)
  push HOST PORT N SIZE            N connections, each sending SIZE bytes of the pattern
                                   (blocking: they stall while the sink does not read),
                                   then closing; prints "pushed N" at the end
  echo HOST PORT N SIZE            N connections at once, each writing SIZE bytes while
                                   a thread reads the echo back and compares it; prints
                                   "echo ok N" when every byte came back
"""
import os
import socket
import sys
import threading
import time


def pattern(off, n):
    # bytes off..off+n of the stream: position-dependent, so a lost or moved chunk shows
    return bytes((off + i) * 7 % 251 for i in range(n))


CHUNK = 65536
PAT = pattern(0, CHUNK + 251)  # the pattern's period is 251: any CHUNK of it starts in here


def pat_at(off, n):
    base = off % 251
    return PAT[base:base + n]


def sink(host, port, gofile, n, size):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind((host, port))
    ls.listen(1024)
    print("listening", flush=True)
    bad = []
    res = []
    go = threading.Event()
    lock = threading.Lock()

    def drain(s):
        go.wait()
        off = 0
        while True:
            d = s.recv(CHUNK)
            if not d:
                break
            if d != pat_at(off, len(d)):
                with lock:
                    bad.append("wrong bytes at %d" % off)
                return
            off += len(d)
        if off:  # (a probe of the port brings nothing)
            with lock:
                res.append(off)

    def acceptor():
        while True:
            threading.Thread(target=drain, args=(ls.accept()[0],), daemon=True).start()

    threading.Thread(target=acceptor, daemon=True).start()
    while not os.path.exists(gofile):
        time.sleep(0.05)
    go.set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(res) + len(bad) < n:
        time.sleep(0.05)
    with lock:
        short = [v for v in res if v != size]
        if bad or short or len(res) != n:
            print("sink bad: %s, %d flows ended, short %s" % (bad[:3], len(res), short[:3]), flush=True)
            return 1
    print("sink ok", n, flush=True)
    return 0


def push(host, port, n, size):
    def one(i):
        s = socket.create_connection((host, port), timeout=60)
        off = 0
        while off < size:
            k = min(CHUNK, size - off)
            s.sendall(pat_at(off, k))
            off += k
        s.close()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    print("started", n, flush=True)
    for t in ts:
        t.join()
    print("pushed", n, flush=True)
    return 0


def echo(host, port, n, size):
    errs = []

    def one(i):
        try:
            s = socket.create_connection((host, port), timeout=20)
            got = [0]

            def reader():
                try:
                    off = 0
                    while off < size:
                        d = s.recv(CHUNK)
                        if not d:
                            break
                        if d != pat_at(off, len(d)):
                            errs.append("flow %d: wrong echo at %d" % (i, off))
                            return
                        off += len(d)
                    got[0] = off
                except OSError as e:
                    errs.append("flow %d: %s" % (i, e))

            r = threading.Thread(target=reader)
            r.start()
            off = 0
            while off < size:
                k = min(CHUNK, size - off)
                s.sendall(pat_at(off, k))
                off += k
            r.join()
            if got[0] != size:
                errs.append("flow %d: %d of %d bytes echoed" % (i, got[0], size))
            s.close()
        except OSError as e:
            errs.append("flow %d: %s" % (i, e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        print("echo bad:", errs[:3], flush=True)
        return 1
    print("echo ok", n, flush=True)
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 6 and a[0] == "sink":
        return sink(a[1], int(a[2]), a[3], int(a[4]), int(a[5]))
    if len(a) == 5 and a[0] in ("push", "echo"):
        return (push if a[0] == "push" else echo)(a[1], int(a[2]), int(a[3]), int(a[4]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
