#!/usr/bin/python3
"""flows.py: the soak's traffic (tests/soak/soak.sh), both ends, every byte checked.

  flows.py server --stats FILE
      on the server host: the flow sink on 0.0.0.0:9000 and the HTTP/1.1 origin on
      10.77.1.2:8081 and :8082; writes its counters as JSON to FILE every second and at
      SIGTERM.
  flows.py client --seconds S --out FILE [--proxy H:P] [--tunnel H:P] [--http H:P]
                  [--conc-proxy N] [--conc-tunnel N] [--conc-http N] [--id-base N]
                  [--mbps M]
      in the app cgroup: starts flows for S seconds (their planned bytes, both ways, at
      most M MiB/s in all when M > 0), lets the ones in flight finish (at most 90 s
      each), and writes one JSON line per flow to FILE.

Bytes are a known pattern: position i of a stream with seed s is BLOCK[(s + i) % P], BLOCK
P random bytes with P prime, so a byte lost, doubled, reordered or changed shows at its
offset. A TCP flow (proxy and tunnel): the client sends "F ID UP DOWN SEED\\n", UP bytes
of the pattern and its FIN; the sink sends DOWN bytes of the pattern (seed + 1) as they
arrive, checks every uploaded byte, and after the client's FIN sends
"V ID RECEIVED FIRST_BAD\\n" (FIRST_BAD -1 when all matched) and closes. The client
checks every downloaded byte, the verdict and the close right after it: only then is
the flow complete. HTTP: GET /d?id&seed&n answers n pattern bytes; POST /u?id&seed&n
checks its body and answers the verdict. The origin fails chosen first attempts (by
request id: 503 once, 503 twice, a reset once), which the http action's retries must
hide: a client that sees one is a failure.

A flow's JSON line: k (proxy, tunnel, http-get, http-post), id, t0 and t1 (ms since the
epoch), up and down (bytes planned), moved (bytes that arrived and matched), ok, cause
(ok, connect, reset, timeout, eof-short, corrupt-down, corrupt-up, lost-up, extra,
http-NNN, error-NAME, unfinished) and detail."""
import asyncio
import json
import os
import random
import signal
import socket
import struct
import sys
import time

P = 1048573  # prime: a shifted stream never lines up with the pattern again
CH = 256 * 1024
BLOCK = random.Random(0x5EED).randbytes(P)
BLOCK2 = memoryview(BLOCK + BLOCK[:CH])
IDLE = 20.0        # seconds without progress: a flow is stuck
FLOW_MAX = 90.0    # seconds a flow may take in all


def pat(seed, off, n):
    i = (seed + off) % P
    return BLOCK2[i:i + n]


def first_bad(data, seed, off):
    """Offset (in the stream) of the first byte of data that differs, or -1."""
    data = memoryview(data)
    for at in range(0, len(data), CH):
        got = data[at:at + CH]
        exp = pat(seed, off + at, len(got))
        if exp != got:
            for i in range(len(got)):
                if got[i] != exp[i]:
                    return off + at + i
    return -1


def now_ms():
    return int(time.time() * 1000)


# ------------------------------------------------------------------ server side

STATS = {"sink_flows": 0, "sink_ok": 0, "sink_bad": 0, "sink_short": 0, "sink_errors": 0,
         "sink_bytes_in": 0, "sink_bytes_out": 0, "http_requests": 0, "http_injected": {},
         "http_bad_bodies": 0, "http_bytes_in": 0, "http_bytes_out": 0}


async def sink(r, w):
    STATS["sink_flows"] += 1
    try:
        hdr = await asyncio.wait_for(r.readline(), 60)
        _, fid, up, down, seed = hdr.split()
        up, down, seed = int(up), int(down), int(seed)

        async def send():
            off = 0
            while off < down:
                n = min(CH, down - off)
                w.write(pat(seed + 1, off, n))
                await asyncio.wait_for(w.drain(), 60)
                off += n
                STATS["sink_bytes_out"] += n

        sender = asyncio.ensure_future(send())
        got, bad = 0, -1
        try:
            while True:
                data = await asyncio.wait_for(r.read(CH), 60)
                if not data:
                    break
                if bad < 0:
                    if got + len(data) > up:
                        bad = up if got <= up else got
                    else:
                        bad = first_bad(data, seed, got)
                got += len(data)
                STATS["sink_bytes_in"] += len(data)
            await sender
        finally:
            sender.cancel()
        w.write(b"V %s %d %d\n" % (fid, got, bad))
        await asyncio.wait_for(w.drain(), 60)
        if bad >= 0:
            STATS["sink_bad"] += 1
        elif got < up:
            STATS["sink_short"] += 1
        else:
            STATS["sink_ok"] += 1
    except (OSError, asyncio.TimeoutError, ValueError, asyncio.IncompleteReadError):
        STATS["sink_errors"] += 1
    finally:
        w.close()


ATTEMPTS = {}


def injected(fid):
    """What the origin does to this attempt of request fid: None (answer) or a failure."""
    n = ATTEMPTS.get(fid, 0) + 1
    ATTEMPTS[fid] = n
    plan = {3: ["503"], 11: ["503", "503"], 7: ["reset"]}.get(fid % 20, [])
    return plan[n - 1] if n <= len(plan) else None


async def origin(r, w):
    try:
        while True:
            line = await asyncio.wait_for(r.readline(), 120)
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            clen, chunked = 0, False
            while True:
                h = await r.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, v = h.decode("latin-1").split(":", 1)
                if k.strip().lower() == "content-length":
                    clen = int(v)
                elif k.strip().lower() == "transfer-encoding" and "chunked" in v.lower():
                    chunked = True
            body = b""
            if chunked:
                while True:
                    size = int((await r.readline()).split(b";")[0], 16)
                    if size == 0:
                        while (await r.readline()) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    body += await r.readexactly(size)
                    await r.readexactly(2)
            elif clen:
                body = await r.readexactly(clen)
            STATS["http_requests"] += 1
            STATS["http_bytes_in"] += len(body)
            path, _, query = target.partition("?")
            q = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv)
            fid, seed, n = int(q.get("id", 0)), int(q.get("seed", 0)), int(q.get("n", 0))
            fail = injected(fid)
            if fail:
                STATS["http_injected"][fail] = STATS["http_injected"].get(fail, 0) + 1
                if fail == "reset":
                    sock = w.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    w.transport.abort()
                    return
                w.write(b"HTTP/1.1 503 Injected\r\nContent-Length: 9\r\n\r\ninjected\n")
                await w.drain()
                continue
            ATTEMPTS.pop(fid, None)
            if path == "/u":
                bad = -1
                if len(body) != n:
                    bad = min(len(body), n)
                else:
                    bad = first_bad(body, seed, 0)
                if bad >= 0:
                    STATS["http_bad_bodies"] += 1
                out = b"V %d %d %d\n" % (fid, len(body), bad)
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
            else:
                w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % n)
                off = 0
                while off < n:
                    k = min(CH, n - off)
                    w.write(pat(seed, off, k))
                    await asyncio.wait_for(w.drain(), 60)
                    off += k
                STATS["http_bytes_out"] += n
            await w.drain()
    except (OSError, asyncio.TimeoutError, ValueError, asyncio.IncompleteReadError):
        pass
    finally:
        w.close()


def write_stats(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(STATS, f)
    os.replace(tmp, path)


async def serve(stats):
    await asyncio.start_server(sink, "0.0.0.0", 9000, backlog=1024, limit=1 << 20)
    for port in (8081, 8082):
        await asyncio.start_server(origin, "10.77.1.2", port, backlog=1024)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("listening", flush=True)
    while not stop.is_set():
        write_stats(stats)
        try:
            await asyncio.wait_for(stop.wait(), 1)
        except asyncio.TimeoutError:
            pass
    write_stats(stats)


# ------------------------------------------------------------------ client side

class Failed(Exception):
    def __init__(self, cause, detail=""):
        super().__init__(cause)
        self.cause, self.detail = cause, detail


def cause_of(e):
    if isinstance(e, Failed):
        return e.cause, e.detail
    if isinstance(e, asyncio.TimeoutError):
        return "timeout", ""
    if isinstance(e, (ConnectionResetError, BrokenPipeError)):
        return "reset", str(e)
    if isinstance(e, asyncio.IncompleteReadError):
        return "eof-short", "%d of %s bytes" % (len(e.partial), e.expected)
    if isinstance(e, OSError):
        import errno
        return "error-" + errno.errorcode.get(e.errno or 0, "OSError"), str(e)
    return "error-" + type(e).__name__, str(e)


def sizes(rng):
    """Bytes up and down: mostly small, some medium, a few large."""
    def one():
        x = rng.random()
        if x < 0.6:
            return rng.randint(0, 64 << 10)
        if x < 0.93:
            return rng.randint(64 << 10, 1 << 20)
        return rng.randint(1 << 20, 6 << 20)
    return one(), one()


async def connect(hp):
    host, port = hp.rsplit(":", 1)
    try:
        return await asyncio.wait_for(asyncio.open_connection(host, int(port), limit=1 << 20), 10)
    except (OSError, asyncio.TimeoutError) as e:
        raise Failed("connect", str(e) or type(e).__name__)


async def tcp_flow(res, hp, fid, up, down, seed):
    r, w = await connect(hp)
    try:
        w.write(b"F %d %d %d %d\n" % (fid, up, down, seed))

        async def send():
            off = 0
            while off < up:
                n = min(CH, up - off)
                w.write(pat(seed, off, n))
                await asyncio.wait_for(w.drain(), IDLE)
                off += n
            w.write_eof()

        sender = asyncio.ensure_future(send())
        try:
            got = 0
            while got < down:
                data = await asyncio.wait_for(r.read(min(CH, down - got)), IDLE)
                if not data:
                    raise Failed("eof-short", "clean close after %d of %d bytes down" % (got, down))
                bad = first_bad(data, seed + 1, got)
                if bad >= 0:
                    raise Failed("corrupt-down", "byte %d of %d differs" % (bad, down))
                got += len(data)
                res["moved"] += len(data)
            await sender
        finally:
            sender.cancel()
        line = await asyncio.wait_for(r.readline(), IDLE)
        if not line.endswith(b"\n"):
            raise Failed("eof-short", "clean close before the verdict (%r)" % line[:40])
        v = line.split()
        if len(v) != 4 or v[0] != b"V" or int(v[1]) != fid:
            raise Failed("extra", "not the verdict: %r" % line[:80])
        rcvd, bad = int(v[2]), int(v[3])
        if bad >= 0:
            raise Failed("corrupt-up", "upload byte %d of %d differs at the sink" % (bad, up))
        if rcvd != up:
            raise Failed("lost-up", "the sink saw a clean close after %d of %d bytes up" % (rcvd, up))
        res["moved"] += up
        tail = await asyncio.wait_for(r.read(1), IDLE)
        if tail:
            raise Failed("extra", "bytes after the verdict")
    finally:
        w.close()


class HttpConn:
    def __init__(self, hp):
        self.hp, self.r, self.w = hp, None, None

    def drop(self):
        if self.w:
            self.w.close()
        self.r = self.w = None

    async def request(self, res, method, fid, seed, n, body_len):
        if not self.w:
            self.r, self.w = await connect(self.hp)
        r, w = self.r, self.w
        host = self.hp
        if method == "GET":
            w.write(b"GET /d?id=%d&seed=%d&n=%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (fid, seed, n, host.encode()))
        else:
            w.write(b"POST /u?id=%d&seed=%d&n=%d HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                    % (fid, seed, body_len, host.encode(), body_len))
            w.write(pat(seed, 0, body_len))
        await asyncio.wait_for(w.drain(), IDLE)
        status = await asyncio.wait_for(r.readline(), 30)
        if not status:
            raise Failed("eof-short", "closed before the response head")
        code = int(status.split()[1])
        clen, chunked, close = None, False, False
        while True:
            h = await asyncio.wait_for(r.readline(), IDLE)
            if h in (b"\r\n", b"\n"):
                break
            if not h:
                raise Failed("eof-short", "closed in the response head")
            k, v = h.decode("latin-1").split(":", 1)
            k = k.strip().lower()
            if k == "content-length":
                clen = int(v)
            elif k == "transfer-encoding" and "chunked" in v.lower():
                chunked = True
            elif k == "connection" and "close" in v.lower():
                close = True
        body = bytearray()
        if chunked:
            while True:
                size = int((await asyncio.wait_for(r.readline(), IDLE)).split(b";")[0], 16)
                if size == 0:
                    while (await asyncio.wait_for(r.readline(), IDLE)) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += await asyncio.wait_for(r.readexactly(size), IDLE)
                await asyncio.wait_for(r.readexactly(2), IDLE)
        elif clen is not None:
            while len(body) < clen:
                data = await asyncio.wait_for(r.read(min(CH, clen - len(body))), IDLE)
                if not data:
                    raise Failed("eof-short", "clean close after %d of %d body bytes" % (len(body), clen))
                body += data
        if close:
            self.drop()
        if code != 200:
            raise Failed("http-%d" % code, bytes(body[:80]).decode("latin-1", "replace"))
        if method == "GET":
            if len(body) != n:
                raise Failed("corrupt-down", "%d body bytes, %d expected" % (len(body), n))
            bad = first_bad(bytes(body), seed, 0)
            if bad >= 0:
                raise Failed("corrupt-down", "body byte %d of %d differs" % (bad, n))
            res["moved"] += n
        else:
            v = bytes(body).split()
            if len(v) != 4 or v[0] != b"V" or int(v[1]) != fid:
                raise Failed("extra", "not the verdict: %r" % bytes(body[:80]))
            if int(v[3]) >= 0:
                raise Failed("corrupt-up", "request body byte %s of %d differs at the origin" % (v[3].decode(), body_len))
            if int(v[2]) != body_len:
                raise Failed("lost-up", "the origin got %s of %d body bytes" % (v[2].decode(), body_len))
            res["moved"] += body_len


class Client:
    def __init__(self, a):
        self.a = a
        self.next_id = a.id_base
        self.out = open(a.out, "a")
        self.deadline = time.monotonic() + a.seconds
        self.rng = random.Random(a.id_base)
        self.t_start = time.monotonic()
        self.planned = 0

    async def pace(self, nbytes):
        """Holds a new flow back while the flows started so far plan more than --mbps."""
        self.planned += nbytes
        if self.a.mbps > 0:
            ahead = self.planned / (self.a.mbps * 1048576) - (time.monotonic() - self.t_start)
            if ahead > 0:
                await asyncio.sleep(ahead)

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def record(self, res):
        res["t1"] = now_ms()
        self.out.write(json.dumps(res) + "\n")
        self.out.flush()

    async def run_one(self, res, coro):
        try:
            await asyncio.wait_for(coro, FLOW_MAX)
            res["ok"], res["cause"] = True, "ok"
        except asyncio.CancelledError:
            res["cause"], res["detail"] = "unfinished", "still running when the client stopped"
            self.record(res)
            raise
        except Exception as e:  # noqa: BLE001 - every failure is recorded by cause
            res["cause"], res["detail"] = cause_of(e)
        self.record(res)
        return res["ok"]

    async def tcp_worker(self, kind, hp):
        while time.monotonic() < self.deadline:
            fid = self.new_id()
            up, down = sizes(self.rng)
            seed = self.rng.randrange(P)
            await self.pace(up + down)
            res = {"k": kind, "id": fid, "t0": now_ms(), "up": up, "down": down, "moved": 0, "ok": False}
            await self.run_one(res, tcp_flow(res, hp, fid, up, down, seed))
            await asyncio.sleep(self.rng.random() * 0.02)

    async def http_worker(self, hp):
        conn = HttpConn(hp)
        while time.monotonic() < self.deadline:
            fid = self.new_id()
            seed = self.rng.randrange(P)
            if self.rng.random() < 0.7:
                kind, n, up = "http-get", self.rng.choice((self.rng.randint(0, 16 << 10), self.rng.randint(0, 1 << 20))), 0
            else:
                kind, n, up = "http-post", 0, self.rng.randint(1, 60 << 10)
            await self.pace(n + up)
            res = {"k": kind, "id": fid, "t0": now_ms(), "up": up, "down": n, "moved": 0, "ok": False}
            ok = await self.run_one(res, conn.request(res, "GET" if kind == "http-get" else "POST", fid, seed, n, up))
            if not ok:
                conn.drop()
            await asyncio.sleep(self.rng.random() * 0.01)
        conn.drop()

    async def main(self):
        a = self.a
        tasks = []
        if a.proxy:
            tasks += [self.tcp_worker("proxy", a.proxy) for _ in range(a.conc_proxy)]
        if a.tunnel:
            tasks += [self.tcp_worker("tunnel", a.tunnel) for _ in range(a.conc_tunnel)]
        if a.http:
            tasks += [self.http_worker(a.http) for _ in range(a.conc_http)]
        tasks = [asyncio.ensure_future(t) for t in tasks]
        # the flows in flight at the deadline may finish (FLOW_MAX bounds each)
        await asyncio.wait(tasks, timeout=a.seconds + FLOW_MAX + 10)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.out.close()


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("role", choices=("server", "client"))
    ap.add_argument("--stats")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--out")
    ap.add_argument("--proxy")
    ap.add_argument("--tunnel")
    ap.add_argument("--http")
    ap.add_argument("--conc-proxy", type=int, default=4)
    ap.add_argument("--conc-tunnel", type=int, default=4)
    ap.add_argument("--conc-http", type=int, default=3)
    ap.add_argument("--id-base", type=int, default=0)
    ap.add_argument("--mbps", type=float, default=0, help="MiB/s the flows may plan in all (0: no limit)")
    a = ap.parse_args()
    if a.role == "server":
        if not a.stats:
            ap.error("server needs --stats FILE")
        asyncio.run(serve(a.stats))
    else:
        if not a.out:
            ap.error("client needs --out FILE")
        asyncio.run(Client(a).main())


if __name__ == "__main__":
    sys.exit(main())
