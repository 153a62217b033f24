#!/usr/bin/python3
"""ovflows.py: the traffic of the emulated overlay (tests/e2e/overlay_scale.sh,
tools/bench/overlay.sh): long-lived flows that keep talking while routes change, and a
stream of new flows. Every flow talks to an echo server (hnet.py serve-echo) and checks
each echo byte for byte. Always bounded: --deadline ends everything.

  hold TARGETS N      N flows at once (flow i to TARGETS[i % len], TARGETS being
                      HOST:PORT[,HOST:PORT...]); once all are connected it prints
                      "established N" and then every flow sends --chunk bytes of its own
                      pseudo-random stream every --interval seconds (jittered) and reads
                      the echo back, until --stop-file exists; then each flow closes.
                      Prints "flows=N ok=K failed=F sent=B echoed=B errors={...}" and
                      exits 0 only when every flow completed with every byte echoed
                      exactly (the totals sent and echoed equal).
  churn TARGETS       new flows one after another (--parallel at a time), each sending
                      one message and checking its echo, until --stop-file exists.
                      Prints "new_flows=K failed=F errors={...} ms_p50=T ms_max=T" (the
                      time of the completed ones) and exits 0 when none failed and at
                      least one completed.
  once TARGET         one flow, one message, its echo checked: exit 0 ok, 1 not.
"""
import argparse
import asyncio
import hashlib
import os
import random
import sys
import time


def targets(spec):
    out = []
    for t in spec.split(","):
        host, _, port = t.rpartition(":")
        out.append((host, int(port)))
    return out


async def dial(host, port, timeout):
    # a refused or reset connect is retried briefly: a listener may be restarting
    for attempt in range(3):
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (ConnectionResetError, ConnectionRefusedError):
            if attempt == 2:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


def err_name(e):
    return type(e).__name__ + (f"({e.errno})" if isinstance(e, OSError) and e.errno else "")


def stopped(args):
    return os.path.exists(args.stop_file) or time.monotonic() > args.end


async def hold(args):
    dests = targets(args.targets)
    n = args.n
    st = {"connected": 0, "ok": 0, "sent": 0, "echoed": 0, "errors": {}}
    all_up = asyncio.Event()

    def settle():
        if st["connected"] + sum(st["errors"].values()) >= n:
            all_up.set()

    async def one(i):
        host, port = dests[i % len(dests)]
        rng = random.Random(i * 7919 + 1)
        w = None
        try:
            r, w = await dial(host, port, args.timeout)
            st["connected"] += 1
            settle()
            await asyncio.wait_for(all_up.wait(), args.deadline)
            while not stopped(args):
                msg = rng.randbytes(args.chunk)
                w.write(msg)
                await w.drain()
                st["sent"] += len(msg)
                got = await asyncio.wait_for(r.readexactly(len(msg)), args.timeout)
                if got != msg:
                    raise ValueError("echo mismatch")
                st["echoed"] += len(got)
                await asyncio.sleep(args.interval * (0.5 + rng.random()))
            w.write_eof()
            rest = await asyncio.wait_for(r.read(), args.timeout)
            if rest:
                raise ValueError(f"{len(rest)} bytes after the last echo")
            st["ok"] += 1
        except Exception as e:  # noqa: BLE001 - every kind of failure is counted
            k = err_name(e)
            st["errors"][k] = st["errors"].get(k, 0) + 1
            settle()
        finally:
            if w is not None:
                w.close()

    async def announce():
        await all_up.wait()
        print(f"established {st['connected']}", flush=True)

    t0 = time.monotonic()
    ann = asyncio.ensure_future(announce())
    await asyncio.gather(*(one(i) for i in range(n)))
    ann.cancel()
    failed = n - st["ok"]
    print(f"flows={n} ok={st['ok']} failed={failed} sent={st['sent']} echoed={st['echoed']} "
          f"errors={st['errors']} elapsed={time.monotonic() - t0:.1f}s", flush=True)
    return 0 if failed == 0 and st["sent"] == st["echoed"] else 1


async def one_flow(host, port, msg, timeout):
    r, w = await dial(host, port, timeout)
    try:
        w.write(msg)
        await w.drain()
        got = await asyncio.wait_for(r.readexactly(len(msg)), timeout)
        if got != msg:
            raise ValueError("echo mismatch")
    finally:
        w.close()


async def churn(args):
    dests = targets(args.targets)
    st = {"ok": 0, "errors": {}}
    took = []  # ms per completed flow: a failover past a dead peer shows here
    seq = 0

    async def worker(k):
        nonlocal seq
        while not stopped(args):
            seq += 1
            host, port = dests[seq % len(dests)]
            msg = hashlib.sha256(f"{k}-{seq}".encode()).hexdigest().encode() * 8
            try:
                t0 = time.monotonic()
                await one_flow(host, port, msg, args.timeout)
                took.append((time.monotonic() - t0) * 1000.0)
                st["ok"] += 1
            except Exception as e:  # noqa: BLE001 - every kind of failure is counted
                k2 = err_name(e)
                st["errors"][k2] = st["errors"].get(k2, 0) + 1
            await asyncio.sleep(args.interval)

    await asyncio.gather(*(worker(k) for k in range(args.parallel)))
    failed = sum(st["errors"].values())
    took.sort()
    p50 = took[len(took) // 2] if took else 0.0
    mx = took[-1] if took else 0.0
    print(f"new_flows={st['ok']} failed={failed} errors={st['errors']} ms_p50={p50:.0f} ms_max={mx:.0f}",
          flush=True)
    return 0 if failed == 0 and st["ok"] > 0 else 1


async def once(args):
    host, port = targets(args.target)[0]
    try:
        await one_flow(host, port, os.urandom(512), args.timeout)
    except Exception as e:  # noqa: BLE001 - the outcome is what is printed
        print(f"failed: {err_name(e)}: {e}", flush=True)
        return 1
    print("ok", flush=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("hold", "churn", "once"):
        sp = sub.add_parser(name)
        sp.add_argument("target" if name == "once" else "targets")
        if name == "hold":
            sp.add_argument("n", type=int)
            sp.add_argument("--chunk", type=int, default=1024)
            sp.add_argument("--interval", type=float, default=0.5)
        if name == "churn":
            sp.add_argument("--parallel", type=int, default=2)
            sp.add_argument("--interval", type=float, default=0.05)
        sp.add_argument("--stop-file", default="/nonexistent")
        sp.add_argument("--deadline", type=float, default=120.0)
        sp.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()
    args.end = time.monotonic() + args.deadline
    fn = {"hold": hold, "churn": churn, "once": once}[args.cmd]
    return asyncio.run(fn(args))


if __name__ == "__main__":
    sys.exit(main())
