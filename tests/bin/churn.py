#!/usr/bin/python3
"""churn.py: open and close many short TCP connections, bounded in count and time.

  churn.py serve BIND PORT --deadline S    accept, send one byte, close (server closes first,
                                           so the clients' sockets never sit in TIME_WAIT)
  churn.py connect HOST PORT N --parallel P --deadline S
                                           N connections, P at a time; each reads the byte and
                                           EOF; prints "ok N failed M in S s"; exit 0 iff M == 0
Run with /usr/bin/python3.
"""
import argparse
import asyncio
import socket
import sys
import time


async def serve(args):
    async def handle(reader, writer):
        writer.write(b"x")
        await writer.drain()
        writer.close()

    fam = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    srv = await asyncio.start_server(handle, args.bind, args.port, family=fam, backlog=4096, reuse_address=True)
    async with srv:
        await asyncio.sleep(args.deadline)


async def churn(args):
    sem = asyncio.Semaphore(args.parallel)
    ok = failed = 0
    first_err = None

    async def one():
        nonlocal ok, failed, first_err
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(args.host, args.port), 10)
                data = await asyncio.wait_for(r.read(), 10)
                w.close()
                if data == b"x":
                    ok += 1
                    return
                raise RuntimeError(f"got {data!r}")
            except Exception as e:  # noqa: BLE001 - report any failure
                failed += 1
                first_err = first_err or repr(e)

    t0 = time.monotonic()
    tasks = set()
    for _ in range(args.n):
        if time.monotonic() - t0 > args.deadline:
            break
        tasks.add(asyncio.ensure_future(one()))
        if len(tasks) >= args.parallel * 4:
            done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    if tasks:
        await asyncio.wait(tasks)
    print(f"ok {ok} failed {failed} in {time.monotonic() - t0:.1f} s" + (f" first error {first_err}" if first_err else ""))
    return 0 if failed == 0 and ok == args.n else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("bind")
    s.add_argument("port", type=int)
    s.add_argument("--deadline", type=float, default=120)
    c = sub.add_parser("connect")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("n", type=int)
    c.add_argument("--parallel", type=int, default=64)
    c.add_argument("--deadline", type=float, default=120)
    args = p.parse_args()
    if args.cmd == "serve":
        asyncio.run(serve(args))
        return 0
    return asyncio.run(churn(args))


if __name__ == "__main__":
    sys.exit(main())
