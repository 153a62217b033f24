#!/usr/bin/python3
"""connloop.py: connect in a loop while hermesd stops and starts, to show that policy
never has a gap (run with /usr/bin/python3, from the steered cgroup).

  connloop.py ALLOW_HOST ALLOW_PORT DENY_HOST DENY_PORT --stop-file F [--deadline S] [--no-sleep]

Each round: an HTTP/1.0 GET / to ALLOW_HOST:ALLOW_PORT, which must be answered (through
hermesd, or directly while hermesd is down: the socket's local address tells which,
127.0.0.1 being hermesd's listener), then a connect() to DENY_HOST:DENY_PORT, which
must fail with EPERM. Stops when F exists (or after S seconds). Prints
"rounds N proxied P direct D failed F denied E leaked L" and each failure or leak with
its time; exit 0 iff F == 0 and L == 0 and there was at least one round.
"""
import argparse
import os
import socket
import sys
import time


def get(host, port):
    """'proxied' or 'direct' when a whole HTTP answer came back; raises otherwise."""
    s = socket.create_connection((host, port), timeout=5)
    try:
        local = s.getsockname()[0]
        s.sendall(b"GET / HTTP/1.0\r\nHost: connloop\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if not data.startswith(b"HTTP/1.1 200") and not data.startswith(b"HTTP/1.0 200"):
            raise OSError("answer: %r" % data[:60])
        return "proxied" if local.startswith("127.") else "direct"
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("allow_host")
    ap.add_argument("allow_port", type=int)
    ap.add_argument("deny_host")
    ap.add_argument("deny_port", type=int)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--deadline", type=float, default=60)
    ap.add_argument("--no-sleep", action="store_true", help="no 5 ms pause between rounds")
    args = ap.parse_args()
    t0 = time.monotonic()
    n = {"rounds": 0, "proxied": 0, "direct": 0, "failed": 0, "denied": 0, "leaked": 0}
    events = []
    while not os.path.exists(args.stop_file) and time.monotonic() - t0 < args.deadline:
        n["rounds"] += 1
        at = time.monotonic() - t0
        try:
            n[get(args.allow_host, args.allow_port)] += 1
        except OSError as e:
            n["failed"] += 1
            events.append("%.3f s: GET %s:%d failed: %r" % (at, args.allow_host, args.allow_port, e))
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect((args.deny_host, args.deny_port))
            n["leaked"] += 1
            events.append("%.3f s: connect %s:%d got through the deny rule" % (at, args.deny_host, args.deny_port))
        except PermissionError:
            n["denied"] += 1
        except OSError as e:
            n["leaked"] += 1
            events.append("%.3f s: connect %s:%d failed with %r, not EPERM" % (at, args.deny_host, args.deny_port, e))
        finally:
            s.close()
        if not args.no_sleep:
            time.sleep(0.005)
    print(" ".join("%s %d" % kv for kv in n.items()))
    for e in events[:20]:
        print(e)
    sys.exit(0 if n["rounds"] and not n["failed"] and not n["leaked"] else 1)


if __name__ == "__main__":
    main()
