#!/usr/bin/python3
"""echoblob.py: byte-exactness of one flow both ways, through an echo server (hnet.py
serve-echo): sends SIZE pseudo-random bytes in writes of uneven sizes (1 byte to 64 KiB + 1,
so that no boundary of theirs lines up with a TLS record or an HTTP/2 frame) while reading
the echo back, and checks that exactly those bytes came back, in order.

  echoblob.py HOST PORT SIZE [--seed N] [--stall S] [--slow]

--stall S: read nothing for the first S seconds (the echo backs up through every buffer on
the way: flow control holds the sender); --slow: then read in 4 KiB pieces, pausing 10 ms
every 256 KiB. Prints "ok SIZE bytes" or what differed; exit 0 when all came back intact.
Run with /usr/bin/python3. Every wait is bounded (60 s).
"""
import argparse
import hashlib
import random
import socket
import sys
import threading
import time

WRITES = (1, 7, 4093, 16375, 16384, 16393, 65537, 9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("size", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stall", type=float, default=0)
    ap.add_argument("--slow", action="store_true")
    a = ap.parse_args()
    data = random.Random(a.seed).randbytes(a.size)
    s = socket.create_connection((a.host, a.port), timeout=60)
    err = []

    def send():
        off, i = 0, 0
        try:
            while off < len(data):
                n = WRITES[i % len(WRITES)]
                s.sendall(data[off:off + n])
                off += n
                i += 1
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append("send: %s after %d bytes" % (e, off))

    t = threading.Thread(target=send)
    t.start()
    time.sleep(a.stall)
    h, got, pause = hashlib.sha256(), 0, 0
    try:
        while got < a.size:
            b = s.recv(4096 if a.slow else 1 << 20)
            if not b:
                break
            h.update(b)
            got += len(b)
            if a.slow and got >= pause:
                pause = got + 256 * 1024
                time.sleep(0.01)
    except OSError as e:
        err.append("recv: %s after %d bytes" % (e, got))
    t.join(60)
    s.close()
    if err or got != a.size or h.hexdigest() != hashlib.sha256(data).hexdigest():
        print("FAIL %d of %d bytes came back%s%s" % (got, a.size, "" if got != a.size else ", not the ones sent",
                                                     (": " + "; ".join(err)) if err else ""))
        return 1
    print("ok %d bytes" % a.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
