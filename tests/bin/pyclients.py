#!/usr/bin/python3
"""pyclients.py: real Python clients for the sk_msg and http tests (run with /usr/bin/python3).

  pyclients.py httpclient HOST PORT PATH N    N keep-alive GETs on one http.client
                                              connection; checks each body's length
  pyclients.py asyncio HOST PORT PATH N       N concurrent asyncio streams, each a GET
                                              with Connection: close, reading to EOF
  pyclients.py onconn HOST PORT TARGET=STATUS[:FILE]...
                                              a GET of each TARGET (a path, or an
                                              absolute URL for a proxy) in turn on one
                                              http.client connection, which must stay
                                              open; each answer must have STATUS and,
                                              with FILE, exactly FILE's bytes as body
The first two print "ok N bytes B", onconn "ok N requests on one connection"; all exit
0, or print the failure and exit 1; bounded in time.
"""
import asyncio
import http.client
import sys


def httpclient(host, port, path, n):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    total = 0
    for i in range(n):
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200 or len(body) != int(r.getheader("Content-Length")):
            print(f"request {i}: status {r.status}, {len(body)} bytes")
            return 1
        total += len(body)
    print(f"ok {n} bytes {total}")
    return 0


async def one(host, port, path):
    r, w = await asyncio.open_connection(host, port)
    w.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await w.drain()
    data = await r.read()
    w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")]
    if not head.startswith(b"HTTP/1.1 200") or not length or len(body) != length[0]:
        raise RuntimeError(f"bad response: {head[:80]!r}, {len(body)} body bytes")
    return len(body)


async def many(host, port, path, n):
    sizes = await asyncio.wait_for(asyncio.gather(*(one(host, port, path) for _ in range(n))), 30)
    print(f"ok {n} bytes {sum(sizes)}")
    return 0


def onconn(host, port, specs):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    sock = None
    for spec in specs:
        target, want = spec.rsplit("=", 1)
        status, _, path = want.partition(":")
        conn.request("GET", target)
        r = conn.getresponse()
        body = r.read()
        sock = sock or conn.sock
        if conn.sock is not sock:
            print(f"GET {target}: the connection was not kept alive")
            return 1
        if r.status != int(status) or (path and body != open(path, "rb").read()):
            print(f"GET {target}: status {r.status}, {len(body)} bytes (expected {want})")
            return 1
    print(f"ok {len(specs)} requests on one connection")
    return 0


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        if mode == "onconn":
            return onconn(host, port, sys.argv[4:])
        path, n = sys.argv[4], int(sys.argv[5])
        if mode == "httpclient":
            return httpclient(host, port, path, n)
        return asyncio.run(many(host, port, path, n))
    except Exception as e:  # noqa: BLE001 - any failure fails the test
        print(f"failed: {e!r}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
