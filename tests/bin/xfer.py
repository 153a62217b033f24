#!/usr/bin/python3
"""xfer.py: a bulk transfer peer for the flow accounting tests (flow_table, hermes_top), whose
client reports exactly what it sent and received, to hold byte counters against.

  xfer.py server HOST PORT               per connection: read "UP DOWN SECS\\n", then read UP
                                         bytes while sending DOWN bytes paced over SECS seconds
                                         (0: at once); close after the last byte and print
                                         {"peer", "received", "sent"}
  xfer.py client HOST PORT UP DOWN [SECS]
                                         send the header and UP bytes (paced) while reading DOWN
                                         bytes; prints {"pid", "local", "started": true} once
                                         connected, then {"pid", "local", "sent", "received"}
                                         ("sent" counts the header)
Run with /usr/bin/python3. The client gives up after 60 s without progress.
"""
import json
import os
import socket
import sys
import threading
import time

CHUNK = 256 * 1024
BUF = b"\x5a" * CHUNK


def pump_out(s, total, secs):
    sent, t0 = 0, time.monotonic()
    while sent < total:
        n = min(CHUNK, total - sent)
        s.sendall(BUF[:n])
        sent += n
        if secs > 0:
            ahead = t0 + secs * sent / total - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    return sent


def pump_in(s, total):
    got = 0
    while got < total:
        b = s.recv(min(1 << 20, total - got))
        if not b:
            break
        got += len(b)
    return got


def serve_one(c):
    with c:
        hdr = b""
        while not hdr.endswith(b"\n"):
            b = c.recv(1)
            if not b:
                return
            hdr += b
        up, down, secs = hdr.split()
        up, down, secs = int(up), int(down), float(secs)
        res = {}
        t = threading.Thread(target=lambda: res.update(got=pump_in(c, up)))
        t.start()
        pump_out(c, down, secs)
        t.join()
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
        print(json.dumps({"peer": "%s:%d" % c.getpeername()[:2], "received": res.get("got", 0), "sent": down}), flush=True)


def server(host, port):
    ls = socket.socket(socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(128)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve_one, args=(c,), daemon=True).start()


def client(host, port, up, down, secs="0"):
    up, down, secs = int(up), int(down), float(secs)
    s = socket.create_connection((host, int(port)), timeout=60)
    local = "%s:%d" % s.getsockname()[:2]
    print(json.dumps({"pid": os.getpid(), "local": local, "started": True}), flush=True)
    hdr = b"%d %d %s\n" % (up, down, str(secs).encode())
    s.sendall(hdr)
    res = {}
    t = threading.Thread(target=lambda: res.update(got=pump_in(s, down)))
    t.start()
    sent = pump_out(s, up, secs)
    s.shutdown(socket.SHUT_WR)
    t.join()
    while s.recv(65536):  # the server's FIN
        pass
    s.close()
    print(json.dumps({"pid": os.getpid(), "local": local, "sent": sent + len(hdr), "received": res.get("got", 0)}), flush=True)


if __name__ == "__main__":
    {"server": server, "client": client}[sys.argv[1]](*sys.argv[2:])
