#!/usr/bin/python3
"""connectc.py: a raw HTTP/1.1 CONNECT client for the tunnel listener tests (run with
/usr/bin/python3). Sends exactly the bytes given, prints the status line it gets back,
then (with --then) whatever follows on the tunnel until EOF, bounded in time.

  connectc.py PROXY_HOST PROXY_PORT REQUEST [--then DATA]
REQUEST and DATA are Python string literals (escapes allowed), e.g. 'CONNECT 10.0.0.1:80 HTTP/1.1\\r\\n\\r\\n'.
Prints "status N" (or "status none" on EOF) and "tunnel-bytes N first-line ..." with --then.
"""
import ast
import socket
import sys


def main():
    host, port, req = sys.argv[1], int(sys.argv[2]), ast.literal_eval("'" + sys.argv[3] + "'")
    then = ast.literal_eval("'" + sys.argv[5] + "'") if len(sys.argv) > 5 and sys.argv[4] == "--then" else None
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req.encode("latin-1") + (then.encode("latin-1") if then else b""))
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(65536)
        if not b:
            break
        data += b
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    print("status", line.split(" ")[1] if line.startswith("HTTP/1.") else "none", flush=True)
    if then is not None:
        rest = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            rest += b
        print("tunnel-bytes", len(rest), "first-line", rest.split(b"\r\n", 1)[0].decode("latin-1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
