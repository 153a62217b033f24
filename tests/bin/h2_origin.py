#!/usr/bin/python3
# h2_origin.py: an HTTP/2 origin with prior knowledge (h2c), Debian's python3-h2, for the
# http action's translation and hedging tests. Usage: h2_origin.py ADDR PORT [NAME]
# [--tls CERT KEY] (with --tls: HTTP/2 over TLS 1.3, ALPN h2, instead of h2c).
#   GET /data?n=N        N pattern bytes (i % 251), no content-length (DATA frames only)
#   POST|PUT /echo       the request body back, no content-length, with trailers
#                        x-echo-trailer (the request's x-trailer trailer, or "none") and
#                        x-body-len; x-saw-te/x-saw-authority headers tell what came in
#   GET /fields          the request's fields, one "name: value" line each (pseudo-header
#                        fields first), with content-length
#   GET /__refuse?n=K    the next K requests are reset with REFUSED_STREAM
#   GET /__delay?ms=MS   later requests are answered MS milliseconds after they end
#                        (the request's stream stays open meanwhile; 0 = at once)
#   GET /__stats         JSON {"seen": requests since the last /__refuse, /__delay or /__stats,
#                        "refused": K, "resets": delayed requests the client reset (RST_STREAM)
#                        before their answer}
#   anything else        200 "h2 origin <path>\n" (with NAME: "NAME h2 origin <path>\n")
#                        with content-length
import json
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse

import h2.config
import h2.connection
import h2.errors
import h2.events

STATE = {"refuse": 0, "seen": 0, "refused": 0, "delay_ms": 0, "resets": 0}
ARGS = sys.argv[1:]
TLS = None
if "--tls" in ARGS:
    i = ARGS.index("--tls")
    TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    TLS.minimum_version = ssl.TLSVersion.TLSv1_3
    TLS.load_cert_chain(ARGS[i + 1], ARGS[i + 2])
    TLS.set_alpn_protocols(["h2"])
    del ARGS[i:i + 3]
NAME = ARGS[2] if len(ARGS) > 2 else ""
LOCK = threading.Lock()


def pattern(n):
    block = bytes(i % 251 for i in range(251 * 64))
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.h2 = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.reqs = {}   # stream id -> {"headers", "body", "trailers"}
        self.out = {}    # stream id -> [remaining bytes, trailers or None]
        self.due = {}    # stream id -> (monotonic time, request) of delayed answers

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def respond(self, sid, status, body, headers=(), trailers=None, length=True):
        hs = [(":status", str(status))] + list(headers)
        if length:
            hs.append(("content-length", str(len(body))))
        self.h2.send_headers(sid, hs, end_stream=not body and not trailers)
        if body or trailers:
            self.out[sid] = [body, trailers]

    def pump(self):
        for sid in list(self.out):
            body, trailers = self.out[sid]
            try:
                while body:
                    win = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
                    if win <= 0:
                        break
                    self.h2.send_data(sid, body[:win])
                    body = body[win:]
                self.out[sid][0] = body
                if not body:
                    if trailers:
                        self.h2.send_headers(sid, trailers, end_stream=True)
                    else:
                        self.h2.end_stream(sid)
                    del self.out[sid]
            except Exception:
                self.out.pop(sid, None)

    def handle(self, sid, r=None):
        r = r or self.reqs.pop(sid)
        h = dict(r["headers"])
        path = h.get(":path", "/")
        u = urllib.parse.urlsplit(path)
        q = urllib.parse.parse_qs(u.query)
        with LOCK:
            if u.path == "/__refuse":
                STATE["refuse"] = int(q.get("n", ["1"])[0])
                STATE["seen"] = STATE["refused"] = 0
                self.respond(sid, 200, b"armed\n")
                return
            if u.path == "/__delay":
                STATE["delay_ms"] = int(q.get("ms", ["0"])[0])
                STATE["seen"] = STATE["resets"] = 0
                self.respond(sid, 200, b"armed\n")
                return
            if u.path == "/__stats":
                body = json.dumps({k: STATE[k] for k in ("seen", "refused", "resets")}).encode()
                STATE["seen"] = 0
                self.respond(sid, 200, body)
                return
            if not r.get("seen"):
                r["seen"] = True
                STATE["seen"] += 1
                if STATE["delay_ms"]:
                    self.due[sid] = (time.monotonic() + STATE["delay_ms"] / 1000.0, r)
                    return
            if STATE["refuse"] > 0:
                STATE["refuse"] -= 1
                STATE["refused"] += 1
                self.h2.reset_stream(sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
                return
        if u.path == "/data":
            self.respond(sid, 200, pattern(int(q.get("n", ["0"])[0])), [("content-type", "application/octet-stream")],
                         length=False)
        elif u.path == "/fields":
            self.respond(sid, 200, "".join("%s: %s\n" % (n, v) for n, v in r["headers"]).encode())
        elif u.path == "/echo":
            t = dict(r["trailers"])
            self.respond(sid, 200, bytes(r["body"]),
                         [("x-saw-te", h.get("te", "-")), ("x-saw-authority", h.get(":authority", "-")),
                          ("x-saw-length", h.get("content-length", "-"))],
                         trailers=[("x-echo-trailer", t.get("x-trailer", "none")),
                                   ("x-body-len", str(len(r["body"])))], length=False)
        else:
            self.respond(sid, 200, ("%sh2 origin %s\n" % (NAME + " " if NAME else "", path)).encode(),
                         [("content-type", "text/plain")])

    def run(self):
        self.h2.initiate_connection()
        self.flush()
        while True:
            now = time.monotonic()
            for sid in [sid for sid, (t, _) in self.due.items() if t <= now]:
                self.handle(sid, self.due.pop(sid)[1])
                self.pump()
                self.flush()
            pending = self.sock.pending() if TLS else 0  # decrypted bytes select cannot see
            if self.due and not pending:
                wait = max(0.0, min(t for t, _ in self.due.values()) - time.monotonic())
                if not select.select([self.sock], [], [], wait)[0]:
                    continue
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                events = self.h2.receive_data(data)
            except Exception:
                return
            for ev in events:
                if isinstance(ev, h2.events.RequestReceived):
                    self.reqs[ev.stream_id] = {"headers": ev.headers, "body": bytearray(), "trailers": []}
                elif isinstance(ev, h2.events.DataReceived):
                    if ev.stream_id in self.reqs:
                        self.reqs[ev.stream_id]["body"] += ev.data
                    self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.TrailersReceived):
                    if ev.stream_id in self.reqs:
                        self.reqs[ev.stream_id]["trailers"] = ev.headers
                elif isinstance(ev, h2.events.StreamReset):
                    self.reqs.pop(ev.stream_id, None)
                    self.out.pop(ev.stream_id, None)
                    if self.due.pop(ev.stream_id, None):
                        with LOCK:
                            STATE["resets"] += 1
                        print("stream %d reset by the client before its delayed answer" % ev.stream_id, flush=True)
                if isinstance(ev, h2.events.StreamEnded) and ev.stream_id in self.reqs:
                    self.handle(ev.stream_id)
            self.pump()
            self.flush()


def serve(sock):
    try:
        if TLS:
            sock = TLS.wrap_socket(sock, server_side=True)
        Conn(sock).run()
    except (OSError, ssl.SSLError):
        pass
    finally:
        sock.close()


def main():
    ls = socket.socket(socket.AF_INET6 if ":" in ARGS[0] else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ARGS[0], int(ARGS[1])))
    ls.listen(128)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main()
