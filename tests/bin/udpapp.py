#!/usr/bin/python3
"""udpapp.py: UDP applications for the UDP steering tests (tests/e2e/udp_steer.sh,
udp_ipv6.sh).

Always run with /usr/bin/python3 (Debian's). Every call is bounded in time. Addresses may
be IPv4 or IPv6 literals (each socket takes its address's family).

  serve ADDR[,ADDR...] PORT     answer each datagram with "ADDR PEERIP PEERPORT LEN" (ADDR: the
                                address it reached), until --deadline seconds
  multi PORT ADDR ADDR          ONE unconnected socket sends to both ADDR:PORT, reads both
                                replies; prints "ok" when each came from the address it names,
                                and "mark 0xN" (the socket's SO_MARK), else what went wrong
                                (exit 1); "eperm" (exit 3) on EPERM
  connected ADDR PORT           connect(), send(), recv(); prints "peer IP PORT" (getpeername),
                                "from IP PORT" (recvfrom's source) and "seen IP PORT" (what the
                                server saw), "own PORT" (getsockname) and "mark 0xN" (SO_MARK)
  send ADDR PORT [--size N] [--text T]
                                one sendto() of N bytes (default 32) or of the text T; exit 3
                                on EPERM, 0 on a reply, 5 on no reply within --timeout
  burst ADDR PORT N             N datagrams at once from one socket, then every reply until
                                --timeout passes without one; prints "replies M"
  echo ADDR PORT                send each datagram back to its sender as it is, until --deadline
  stream ADDR PORT N RATE       N datagrams of --size bytes (default 1316 = 7 x 188, MPEG-TS over
                                UDP) at RATE a second from one socket, each numbered, to an echo
                                server; reads the echoes meanwhile and --timeout after the last;
                                prints "stream sent N got G lost L dup D reordered R short S"
                                (short: an echo of another length than sent). --sizes A,B,...
                                (each at least 8) gives datagram i the size at i modulo their
                                count instead
"""
import argparse
import errno
import socket
import sys
import time


SO_MARK = 36  # the socket's mark (Python's socket module names it only on some builds)


def fam(addr):
    """The address family of a literal: IPv6 ones have a colon."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(a):
    socks = []
    for addr in a.addrs.split(","):
        s = socket.socket(fam(addr), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root): bursts fit
        s.bind((addr, a.port))
        socks.append((addr, s))
    import selectors
    sel = selectors.DefaultSelector()
    for addr, s in socks:
        sel.register(s, selectors.EVENT_READ, addr)
    end = time.monotonic() + a.deadline
    print("serving", flush=True)
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            data, peer = key.fileobj.recvfrom(65535)
            key.fileobj.sendto(f"{key.data} {peer[0]} {peer[1]} {len(data)}".encode(), peer)


def multi(a):
    s = socket.socket(fam(a.addrs[0]), socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    try:
        for addr in a.addrs:
            s.sendto(b"hello " + addr.encode(), (addr, a.port))
    except PermissionError:
        print("eperm")
        return 3
    bad = []
    for _ in a.addrs:
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            print("timeout waiting for a reply")
            return 5
        words = data.decode().split()
        if src[:2] != (words[0], a.port):
            bad.append(f"reply of {words[0]} came from {src[0]}:{src[1]}")
        print(f"reply from {src[0]}:{src[1]}: {data.decode()} (own port {s.getsockname()[1]})")
    if bad:
        print("; ".join(bad))
        return 1
    print("ok")
    print(f"mark {s.getsockopt(socket.SOL_SOCKET, SO_MARK):#x}")
    return 0


def connected(a):
    s = socket.socket(fam(a.addr), socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    try:
        s.connect((a.addr, a.port))
        s.send(b"hi")
    except PermissionError:
        print("eperm")
        return 3
    peer = s.getpeername()
    data, src = s.recvfrom(2048)
    words = data.decode().split()
    print(f"peer {peer[0]} {peer[1]}")
    print(f"from {src[0]} {src[1]}")
    print(f"seen {words[1]} {words[2]}")
    print(f"own {s.getsockname()[1]}")
    print(f"mark {s.getsockopt(socket.SOL_SOCKET, SO_MARK):#x}")
    return 0


def send(a):
    s = socket.socket(fam(a.addr), socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    try:
        s.sendto(a.text.encode() if a.text else b"x" * a.size, (a.addr, a.port))
    except PermissionError:
        print("eperm")
        return 3
    try:
        data, src = s.recvfrom(65535)
    except socket.timeout:
        print("no reply")
        return 5
    print(f"reply from {src[0]}:{src[1]}: {data.decode()}")
    return 0


def burst(a):
    s = socket.socket(fam(a.addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
    s.settimeout(a.timeout)
    for i in range(a.n):
        s.sendto(b"%06d" % i, (a.addr, a.port))
    got = 0
    try:
        while got < a.n:
            s.recvfrom(2048)
            got += 1
    except socket.timeout:
        pass
    print(f"replies {got}")
    return 0


def echo(a):
    s = socket.socket(fam(a.addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
    s.bind((a.addr, a.port))
    s.settimeout(0.5)
    end = time.monotonic() + a.deadline
    print("serving", flush=True)
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        s.sendto(data, peer)


def stream(a):
    import selectors
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
    s.setblocking(False)
    s.connect((a.addr, a.port))
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    seen, last, dup, reord, short = set(), -1, 0, 0, 0
    sizes = [int(x) for x in a.sizes.split(",")] if a.sizes else [a.size]
    pads = [b"\x47" * (n - 8) for n in sizes]  # the MPEG-TS sync byte

    def drain():
        nonlocal last, dup, reord, short
        while True:
            try:
                d = s.recv(65535)
            except BlockingIOError:
                return
            n = int.from_bytes(d[:8], "big")
            if len(d) != len(pads[n % len(pads)]) + 8 or d[8:] != pads[n % len(pads)]:
                short += 1
                continue
            if n in seen:
                dup += 1
            seen.add(n)
            if n < last:
                reord += 1
            last = max(last, n)

    t0 = time.monotonic()
    for i in range(a.n):
        due = t0 + i / a.rate
        while True:
            wait = due - time.monotonic()
            if wait <= 0:
                break
            if sel.select(timeout=wait):
                drain()
        s.send(i.to_bytes(8, "big") + pads[i % len(pads)])
    end = time.monotonic() + a.timeout
    while len(seen) < a.n and time.monotonic() < end:
        if sel.select(timeout=max(0, end - time.monotonic())):
            drain()
    print(f"stream sent {a.n} got {len(seen)} lost {a.n - len(seen)} dup {dup} reordered {reord} short {short}")
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--timeout", type=float, default=3)
    p.add_argument("--deadline", type=float, default=60)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("serve")
    q.add_argument("addrs")
    q.add_argument("port", type=int)
    q = sub.add_parser("multi")
    q.add_argument("port", type=int)
    q.add_argument("addrs", nargs=2)
    q = sub.add_parser("connected")
    q.add_argument("addr")
    q.add_argument("port", type=int)
    q = sub.add_parser("send")
    q.add_argument("addr")
    q.add_argument("port", type=int)
    q.add_argument("--size", type=int, default=32)
    q.add_argument("--text", default="")
    q = sub.add_parser("burst")
    q.add_argument("addr")
    q.add_argument("port", type=int)
    q.add_argument("n", type=int)
    q = sub.add_parser("echo")
    q.add_argument("addr")
    q.add_argument("port", type=int)
    q = sub.add_parser("stream")
    q.add_argument("addr")
    q.add_argument("port", type=int)
    q.add_argument("n", type=int)
    q.add_argument("rate", type=float)
    q.add_argument("--size", type=int, default=1316)
    q.add_argument("--sizes", default="")
    a = p.parse_args()
    try:
        return {"serve": serve, "multi": multi, "connected": connected, "send": send, "burst": burst, "echo": echo,
                "stream": stream}[a.cmd](a) or 0
    except OSError as e:
        print(f"error: {errno.errorcode.get(e.errno, e.errno)} {e}")
        return 6


if __name__ == "__main__":
    sys.exit(main())
