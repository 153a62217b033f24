#!/usr/bin/python3
"""hnet.py: small socket clients and servers for the Hermes tests.

Always run with /usr/bin/python3 (Debian's). Every client and server is bounded in time;
servers exit after serving the number of connections asked for (or on their deadline).

  connect HOST PORT                 connect once; print the outcome, exit 0 ok / 3 EPERM /
                                    4 refused / 5 timeout / 6 other error
  http-get HOST PORT                connect, print getpeername/getsockname, GET /, print status
  serve-echo BIND PORT              asyncio echo server (many connections) until --deadline
  concurrent HOST PORT N [--hold S] N connections open at once (idle S seconds once all are), each
                                    echoes a unique message
  serve-halfclose BIND PORT         read until EOF while sending --bytes/2, then send the rest
  halfclose-client HOST PORT        send --send bytes, shutdown(SHUT_WR), read until EOF
  serve-slow BIND PORT              accept, wait --delay, send --bytes, close
  recv HOST PORT                    connect, read until EOF, print "received N sha256 H"
"""
import argparse
import asyncio
import errno
import hashlib
import os
import random
import socket
import sys
import threading
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def fmt(addr):
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def pattern(seed, n):
    """Deterministic pseudo-random bytes, identical on both ends."""
    return random.Random(seed).randbytes(n)


def listen(bind, port, backlog=4096):
    s = socket.socket(family(bind), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for _ in range(50):  # the port may stay bound briefly after a previous server
        try:
            s.bind((bind, port))
            break
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            time.sleep(0.1)
    s.listen(backlog)
    return s


def dial(args):
    """A TCP socket connected to args.host:args.port, every step bounded by args.timeout."""
    s = socket.socket(family(args.host), socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    s.connect((args.host, args.port))
    return s


class Sink:
    """What was read from a socket until EOF: byte count and SHA-256 (both so far, when a
    read fails)."""

    def __init__(self):
        self.total, self.h = 0, hashlib.sha256()

    def drain(self, s):
        while True:
            chunk = s.recv(262144)
            if not chunk:
                return self
            self.total += len(chunk)
            self.h.update(chunk)

    def hexdigest(self):
        return self.h.hexdigest()


def ready(args):
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    print("listening", flush=True)


# ---------------------------------------------------------------- connect / http-get

def cmd_connect(args):
    s = socket.socket(family(args.host), socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    t0 = time.monotonic()
    try:
        s.connect((args.host, args.port))
    except PermissionError as e:
        print(f"EPERM after {(time.monotonic() - t0) * 1000:.0f} ms: {e}")
        return 3
    except ConnectionRefusedError as e:
        print(f"ECONNREFUSED after {(time.monotonic() - t0) * 1000:.0f} ms: {e}")
        return 4
    except (socket.timeout, TimeoutError) as e:
        print(f"TIMEOUT after {(time.monotonic() - t0) * 1000:.0f} ms: {e}")
        return 5
    except OSError as e:
        print(f"ERROR after {(time.monotonic() - t0) * 1000:.0f} ms: {e!r}")
        return 6
    print(f"connected after {(time.monotonic() - t0) * 1000:.0f} ms "
          f"peer={fmt(s.getpeername())} sock={fmt(s.getsockname())}")
    s.close()
    return 0


def cmd_http_get(args):
    s = dial(args)
    print(f"peer {fmt(s.getpeername())}", flush=True)
    print(f"sock {fmt(s.getsockname())}", flush=True)
    if args.hold:
        time.sleep(args.hold)
    host = f"[{args.host}]" if ":" in args.host else args.host
    s.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    status = data.split(b"\r\n", 1)[0].decode(errors="replace")
    print(f"status {status}")
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    print(f"body {body.decode(errors='replace').strip()}")
    return 0 if " 200 " in status else 1


# ---------------------------------------------------------------- echo / concurrency

def cmd_serve_echo(args):
    async def handle(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def main():
        sock = listen(args.bind, args.port)
        server = await asyncio.start_server(handle, sock=sock, limit=65536)
        ready(args)
        async with server:
            await asyncio.sleep(args.deadline)

    asyncio.run(main())
    return 0


def cmd_concurrent(args):
    n = args.n
    stats = {"connected": 0, "ok": 0, "errors": {}}
    all_connected = None

    async def one(i):
        msg = f"hermes-{i:06d}-".encode() + os.urandom(24).hex().encode() + b"\n"
        writer = None
        try:
            for attempt in range(3):
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(args.host, args.port), args.timeout)
                    break
                except (ConnectionResetError, ConnectionRefusedError):
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.2)
            stats["connected"] += 1
            if stats["connected"] == n:
                all_connected.set()
            # hold every connection open until all N are: they really are concurrent
            await asyncio.wait_for(all_connected.wait(), args.timeout)
            if args.hold:
                await asyncio.sleep(args.hold)
            writer.write(msg)
            await writer.drain()
            got = await asyncio.wait_for(reader.readexactly(len(msg)), args.timeout)
            if got != msg:
                raise ValueError("echo mismatch")
            stats["ok"] += 1
        except Exception as e:  # noqa: BLE001 - report every kind of failure
            k = type(e).__name__ + (f"({e.errno})" if isinstance(e, OSError) and e.errno else "")
            stats["errors"][k] = stats["errors"].get(k, 0) + 1
            if stats["connected"] + sum(stats["errors"].values()) >= n:
                all_connected.set()
        finally:
            if writer is not None:
                writer.close()

    async def main():
        nonlocal all_connected
        all_connected = asyncio.Event()
        t0 = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.monotonic() - t0

    elapsed = asyncio.run(main())
    print(f"connections={n} connected={stats['connected']} completed={stats['ok']} "
          f"errors={stats['errors']} elapsed={elapsed:.2f}s")
    return 0 if stats["ok"] == n else 1


# ---------------------------------------------------------------- half-close

def cmd_serve_halfclose(args):
    ls = listen(args.bind, args.port)
    ls.settimeout(args.deadline)
    ready(args)
    payload = pattern(args.seed, args.bytes)
    half = len(payload) // 2
    for _ in range(args.count):
        c, peer = ls.accept()
        c.settimeout(args.deadline)
        # first half while the client is still sending, concurrently with our reads
        sender = threading.Thread(target=c.sendall, args=(payload[:half],))
        sender.start()
        got = Sink().drain(c)
        print(f"server got EOF after {got.total} bytes sha256 {got.hexdigest()} from {fmt(peer)}",
              flush=True)
        sender.join()
        # the client has shut its write side: keep sending
        time.sleep(args.delay)
        c.sendall(payload[half:])
        print(f"server sent {len(payload)} bytes sha256 {hashlib.sha256(payload).hexdigest()}",
              flush=True)
        c.close()
    return 0


def cmd_halfclose_client(args):
    s = dial(args)
    out = pattern(args.seed + 1, args.send)
    s.sendall(out)
    s.shutdown(socket.SHUT_WR)
    print(f"client sent {len(out)} bytes sha256 {hashlib.sha256(out).hexdigest()} and shut write",
          flush=True)
    got = Sink().drain(s)
    want = hashlib.sha256(pattern(args.seed, args.expect)).hexdigest()
    print(f"client received {got.total} bytes sha256 {got.hexdigest()} (expected {args.expect} {want})")
    return 0 if got.total == args.expect and got.hexdigest() == want else 1


# ---------------------------------------------------------------- slow server / recv

def cmd_serve_slow(args):
    ls = listen(args.bind, args.port)
    ls.settimeout(args.deadline)
    ready(args)
    payload = pattern(args.seed, args.bytes)
    c, peer = ls.accept()
    print(f"accepted {fmt(peer)}", flush=True)
    time.sleep(args.delay)
    c.sendall(payload)
    print(f"sent {len(payload)} bytes sha256 {hashlib.sha256(payload).hexdigest()}", flush=True)
    c.close()
    return 0


def cmd_recv(args):
    s = dial(args)
    print(f"connected peer {fmt(s.getpeername())}", flush=True)
    got = Sink()
    try:
        got.drain(s)
    except OSError as e:
        print(f"error after {got.total} bytes: {e!r}")
        return 1
    print(f"received {got.total} bytes sha256 {got.hexdigest()}")
    if args.expect is not None:
        want = hashlib.sha256(pattern(args.seed, args.expect)).hexdigest()
        return 0 if got.total == args.expect and got.hexdigest() == want else 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def client(name, fn):
        sp = sub.add_parser(name)
        sp.add_argument("host")
        sp.add_argument("port", type=int)
        sp.add_argument("--timeout", type=float, default=10.0)
        sp.set_defaults(fn=fn)
        return sp

    def server(name, fn):
        sp = sub.add_parser(name)
        sp.add_argument("bind")
        sp.add_argument("port", type=int)
        sp.add_argument("--deadline", type=float, default=120.0)
        sp.add_argument("--ready-file")
        sp.set_defaults(fn=fn)
        return sp

    client("connect", cmd_connect)
    sp = client("http-get", cmd_http_get)
    sp.add_argument("--hold", type=float, default=0.0, help="seconds to wait before the request")
    server("serve-echo", cmd_serve_echo)
    sp = client("concurrent", cmd_concurrent)
    sp.add_argument("n", type=int)
    sp.add_argument("--hold", type=float, default=0.0,
                    help="seconds every connection stays idle once all are connected")
    sp = server("serve-halfclose", cmd_serve_halfclose)
    sp.add_argument("--bytes", type=int, default=8 << 20)
    sp.add_argument("--delay", type=float, default=0.5)
    sp.add_argument("--seed", type=int, default=7)
    sp.add_argument("--count", type=int, default=1)
    sp = client("halfclose-client", cmd_halfclose_client)
    sp.add_argument("--send", type=int, default=1 << 20)
    sp.add_argument("--expect", type=int, default=8 << 20)
    sp.add_argument("--seed", type=int, default=7)
    sp = server("serve-slow", cmd_serve_slow)
    sp.add_argument("--bytes", type=int, default=1 << 20)
    sp.add_argument("--delay", type=float, default=2.0)
    sp.add_argument("--seed", type=int, default=11)
    sp = client("recv", cmd_recv)
    sp.add_argument("--expect", type=int)
    sp.add_argument("--seed", type=int, default=11)

    args = p.parse_args()
    try:
        return args.fn(args)
    except (socket.timeout, TimeoutError) as e:
        print(f"timeout: {e!r}")
        return 5
    except OSError as e:
        print(f"error: {e!r}")
        return 6


if __name__ == "__main__":
    sys.exit(main())
