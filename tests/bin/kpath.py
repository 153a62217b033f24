#!/usr/bin/python3
"""kpath.py: flows for the kernel path test (relay kernel), run with /usr/bin/python3.

  kpath.py server BIND PORT SCENARIO     serve one connection, print "server ok ..." or fail
  kpath.py client HOST PORT SCENARIO     the client side, print "client ok ..." or fail
Every scenario but the inflight ones starts with a hello exchange (the client sends 5 bytes, the
server answers 5), so that the flow is on the kernel path before the rest; sizes are
odd on purpose, so that they cross every buffer and skb boundary unevenly.
  both          both sides send at once (the client 6 MiB + 1234, the server 10 MiB + 77);
                the client shuts its write side first, the server closes after its EOF
  upload-download  50 ms after the hello (hermesd has published that it relayed it, so the
                upload takes the kernel path from its first byte), the client sends
                6 MiB + 1234 and shuts its write side; the server
                reads to EOF, then sends 8 MiB + 77 and closes (within the app socket's
                receive buffer and backlog limit: all of it on the kernel path)
  slow-reader   the server sends 24 MiB + 5 at once; the client sleeps 1 s, reads slowly
                (more than the app socket's backlog limit: the rest comes through hermesd)
  slow-server   the client sends 24 MiB + 3 non-blocking (poll, EAGAIN counted); the server
                sleeps 1 s, then reads slowly
  upstream-first  the server sends 3 MiB + 1 and shuts its write side; the client reads
                to EOF, then sends 2 MiB + 2 and closes; the server checks them
  server-rst    the server sends 256 KiB, then resets: the client must see a reset
  client-rst    the client sends 256 KiB, then resets: the server must see a reset
  inflight      the client sends 16 MiB + 9 from right after connect, in 64 KiB pieces
                (in flight while hermesd dials the upstream and switches),
                then 200 exchanges of 64 bytes; the server echoes everything and the
                client checks the echo byte for byte
  inflight-pressure  inflight with the client's receive buffer cut to 128 KiB after
                connect (sockops had raised it), while its reader keeps reading: the
                echo's skbs wait in its psock backlog for receive memory (retried each
                jiffy) and may pass the backlog limit mid-flow. Under this load the
                server retransmits skbs that repeat bytes already received, which
                the stream verdict must cut off (one or two 65160-byte skbs reached
                the app twice before it did)
Exit 0 when the side saw what it must, 1 otherwise. Every wait is bounded (30 s).
A blocking recv() on a socket in a sockmap can fail with EAGAIN when it is woken with
nothing to read (tcp_bpf_recvmsg waits once): the reads here wait with poll() and retry,
as event-driven programs do, and say how often that happened.
"""
import hashlib
import random
import select
import socket
import struct
import sys
import threading
import time

MIB = 1 << 20
TIMEOUT = 30


def blob(seed, n):
    return random.Random(seed).randbytes(n)


def digest(b):
    return hashlib.sha256(b).hexdigest()


SPURIOUS = [0]


def recv(s, n):
    """s.recv(n), retried after poll() when a blocking recv says EAGAIN"""
    while True:
        try:
            return s.recv(n)
        except BlockingIOError:
            SPURIOUS[0] += 1
            select.select([s], [], [], 1)


def recv_all(s, slow=False):
    h, n = hashlib.sha256(), 0
    while True:
        b = recv(s, 65536)
        if not b:
            return n, h.hexdigest()
        n += len(b)
        h.update(b)
        if slow and n % (2 * MIB) < 65536:
            time.sleep(0.02)


def recv_exact(s, n):
    out = bytearray()
    while len(out) < n:
        b = recv(s, n - len(out))
        if not b:
            break
        out += b
    return bytes(out)


def send_nonblocking(s, data):
    """send all of data on a non-blocking socket; returns how many sends said EAGAIN"""
    s.setblocking(False)
    off, again, deadline = 0, 0, time.monotonic() + TIMEOUT
    p = select.poll()
    p.register(s, select.POLLOUT)
    while off < len(data):
        if time.monotonic() > deadline:
            raise TimeoutError("send stalled")
        try:
            off += s.send(data[off:off + MIB])
        except BlockingIOError:
            again += 1
            p.poll(50)
    s.setblocking(True)
    return again


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def expect_reset(s, what):
    try:
        while recv(s, 65536):
            pass
    except ConnectionResetError:
        return
    check(False, what + ": EOF instead of a reset")


def hello_server(c):
    check(recv_exact(c, 5) == b"hello", "hello")
    c.sendall(b"HELLO")


def hello_client(s):
    s.sendall(b"hello")
    check(recv_exact(s, 5) == b"HELLO", "HELLO")


def server(c, sc):
    if not sc.startswith("inflight"):
        hello_server(c)
    if sc == "both":
        down = blob(2, 10 * MIB + 77)
        t = threading.Thread(target=c.sendall, args=(down,))
        t.start()
        n, h = recv_all(c)
        t.join()
        check((n, h) == (6 * MIB + 1234, digest(blob(1, 6 * MIB + 1234))), f"upload: {n} bytes")
        c.close()
        return f"{n} bytes intact, sent {len(down)}"
    if sc == "upload-download":
        n, h = recv_all(c)
        check((n, h) == (6 * MIB + 1234, digest(blob(1, 6 * MIB + 1234))), f"upload: {n} bytes")
        c.sendall(blob(2, 8 * MIB + 77))
        c.close()
        return f"{n} bytes intact, then sent 8 MiB + 77"
    if sc == "slow-reader":
        c.sendall(blob(3, 24 * MIB + 5))
        c.close()
        return "sent 24 MiB + 5"
    if sc == "slow-server":
        time.sleep(1)
        n, h = recv_all(c, slow=True)
        check((n, h) == (24 * MIB + 3, digest(blob(4, 24 * MIB + 3))), f"slow read: {n} bytes")
        return f"{n} bytes intact"
    if sc == "upstream-first":
        c.sendall(blob(5, 3 * MIB + 1))
        c.shutdown(socket.SHUT_WR)
        n, h = recv_all(c)
        check((n, h) == (2 * MIB + 2, digest(blob(6, 2 * MIB + 2))), f"after our FIN: {n} bytes")
        return f"{n} bytes intact after our FIN"
    if sc == "server-rst":
        c.sendall(blob(7, 256 * 1024))
        time.sleep(0.2)
        reset(c)
        return "reset sent"
    if sc == "client-rst":
        expect_reset(c, "client-rst")
        return "connection reset"
    if sc.startswith("inflight"):
        n = 0
        while True:
            b = recv(c, 65536)
            if not b:
                return f"echoed {n} bytes"
            c.sendall(b)
            n += len(b)
    check(False, "unknown scenario " + sc)


def client(s, sc):
    if not sc.startswith("inflight"):
        hello_client(s)
    if sc == "both":
        up = blob(1, 6 * MIB + 1234)
        got = {}
        t = threading.Thread(target=lambda: got.update(r=recv_all(s)))
        t.start()
        s.sendall(up)
        s.shutdown(socket.SHUT_WR)
        t.join(TIMEOUT)
        check(got.get("r") == (10 * MIB + 77, digest(blob(2, 10 * MIB + 77))), f"download: {got.get('r')}")
        return "both ways intact"
    if sc == "upload-download":
        time.sleep(0.05)
        s.sendall(blob(1, 6 * MIB + 1234))
        s.shutdown(socket.SHUT_WR)
        n, h = recv_all(s)
        check((n, h) == (8 * MIB + 77, digest(blob(2, 8 * MIB + 77))), f"download: {n} bytes")
        return f"{n} bytes intact"
    if sc == "slow-reader":
        time.sleep(1)
        n, h = recv_all(s, slow=True)
        check((n, h) == (24 * MIB + 5, digest(blob(3, 24 * MIB + 5))), f"slow read: {n} bytes")
        return f"{n} bytes intact"
    if sc == "slow-server":
        again = send_nonblocking(s, blob(4, 24 * MIB + 3))
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s)[0] == 0, "EOF")
        return f"sent 24 MiB + 3 ({again} sends said EAGAIN)"
    if sc == "upstream-first":
        n, h = recv_all(s)
        check((n, h) == (3 * MIB + 1, digest(blob(5, 3 * MIB + 1))), f"before the server's FIN: {n} bytes")
        s.sendall(blob(6, 2 * MIB + 2))
        s.close()
        return f"{n} bytes intact"
    if sc == "server-rst":
        expect_reset(s, "server-rst")
        return "connection reset"
    if sc == "client-rst":
        s.sendall(blob(8, 256 * 1024))
        time.sleep(0.2)
        reset(s)
        return "reset sent"
    if sc.startswith("inflight"):
        first = blob(9, 16 * MIB + 9)
        got = {}
        if sc == "inflight-pressure":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
        t = threading.Thread(target=lambda: got.update(r=recv_exact(s, len(first))))
        t.start()
        for off in range(0, len(first), 64 * 1024):
            s.sendall(first[off:off + 64 * 1024])
        t.join(TIMEOUT)
        r = got.get("r") or b""
        if r != first:
            # where the echo went wrong, and where what came instead was sent
            bad = next((i for i in range(min(len(r), len(first))) if r[i] != first[i]), len(r))
            print(f"{len(r)} bytes back, first wrong at {bad}; what came there was sent at "
                  f"{first.find(r[bad:bad + 64]) if bad < len(r) else None}", flush=True)
        check(r == first, "echo of the bytes sent around the switch")
        rng = random.Random(10)
        for _ in range(200):
            m = rng.randbytes(64)
            s.sendall(m)
            check(recv_exact(s, 64) == m, "echo of an exchange")
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s)[0] == 0, "EOF after the exchanges")
        return "16 MiB + 9 around the switch, then 200 exchanges echoed exactly"
    check(False, "unknown scenario " + sc)


def main():
    role, host, port, sc = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if role == "server":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(4)
        ls.settimeout(TIMEOUT)
        print("listening", flush=True)
        c, _ = ls.accept()
        c.settimeout(TIMEOUT)
        print("server ok:", server(c, sc), f"({SPURIOUS[0]} spurious EAGAIN)", flush=True)
    else:
        s = socket.create_connection((host, port), timeout=TIMEOUT)
        print("client ok:", client(s, sc), f"({SPURIOUS[0]} spurious EAGAIN)", flush=True)


if __name__ == "__main__":
    main()
