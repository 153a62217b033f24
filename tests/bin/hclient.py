#!/usr/bin/python3
"""hclient.py: raw HTTP/1.1 clients for the http action's tests (run in the app cgroup).

    hclient.py raw HOST PORT HEXBYTES        send the bytes, print "STATUS closed|open"
                                            (the first status line, and whether the
                                            connection was closed within 3 s)
    hclient.py pipeline HOST PORT N          N GETs of /chunked?n=I.. in one send on one
                                            connection; prints "OK" when the N responses
                                            come back in order with the right bodies
    hclient.py storm HOST PORT HOSTHDR N     N concurrent GETs with Host: HOSTHDR; prints
                                            the statuses, e.g. "503 x18 200 x2"
Exit 0, or 1 with a message."""
import socket
import sys
import threading
from collections import Counter


def recv_all(s, timeout=3.0):
    s.settimeout(timeout)
    data, closed = b"", False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            data += b
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    return data, closed


def read_response(f):
    """One response from a buffered reader: (status, headers dict, body)."""
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    status = int(line.split()[1])
    hdrs = {}
    while True:
        h = f.readline().rstrip(b"\r\n")
        if not h:
            break
        k, v = h.decode().split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    body = b""
    if hdrs.get("transfer-encoding", "").endswith("chunked"):
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if not size:
                while f.readline().rstrip(b"\r\n"):
                    pass
                break
            body += f.read(size)
            f.read(2)
    elif "content-length" in hdrs:
        body = f.read(int(hdrs["content-length"]))
    return status, hdrs, body


def main():
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "raw":
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(bytes.fromhex(sys.argv[4]))
        data, closed = recv_all(s)
        first = data.split(b"\r\n", 1)[0].decode("latin-1")
        status = first.split()[1] if first.startswith("HTTP/") else "none"
        print(status, "closed" if closed else "open")
        return 0
    if cmd == "pipeline":
        n = int(sys.argv[4])
        s = socket.create_connection((host, port), timeout=5)
        req = b"".join(b"GET /chunked?n=%d HTTP/1.1\r\nHost: pipe\r\n\r\n" % (i + 1) for i in range(n))
        s.sendall(req)
        f = s.makefile("rb")
        for i in range(n):
            status, _, body = read_response(f)
            want = "".join("line %d\n" % j for j in range(i + 1)).encode()
            if status != 200 or body != want:
                print("response %d: status %d body %r" % (i + 1, status, body[:80]))
                return 1
        print("OK")
        return 0
    if cmd == "storm":
        hosthdr, n = sys.argv[4], int(sys.argv[5])
        statuses, lock, barrier = [], threading.Lock(), threading.Barrier(n)

        def one():
            try:
                s = socket.create_connection((host, port), timeout=20)
                barrier.wait(5)
                s.sendall(b"GET /storm HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % hosthdr.encode())
                st = read_response(s.makefile("rb"))[0]
            except Exception as e:  # noqa: BLE001 - reported as a status
                st = type(e).__name__
            with lock:
                statuses.append(st)

        ts = [threading.Thread(target=one) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        print(" ".join("%s x%d" % kv for kv in sorted(Counter(statuses).items(), key=str)))
        return 0
    print("unknown command", cmd)
    return 1


if __name__ == "__main__":
    sys.exit(main())
