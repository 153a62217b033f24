#!/usr/bin/python3
"""h2_stall_origin.py: a test HTTP/2 (h2c, prior knowledge) origin for the cache's stall
detection (tests/e2e/http_cache_fill.sh).

    h2_stall_origin.py ADDR PORT

Every GET answers a cacheable 200 (Cache-Control: max-age=60, Content-Length) of 20000
bytes "x". GET /silent... : the first such request goes unanswered and its connection
silent (nothing read, nothing sent, not even a PING's answer) for 30 s; later ones are
answered. GET /slowhead... : answered after 1.5 s, the connection meanwhile read and its
PINGs answered (a slow origin on a live connection). Each request is printed to stdout
as "REQ PATH" (flushed)."""
import select
import socket
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events

LOCK = threading.Lock()
SILENCED = set()
BODY = b"x" * 20000


def respond(conn, sid):
    conn.send_headers(sid, [(":status", "200"), ("cache-control", "max-age=60"),
                            ("content-length", str(len(BODY)))])
    for i in range(0, len(BODY), 16384):  # the default largest frame
        conn.send_data(sid, BODY[i:i + 16384], end_stream=i + 16384 >= len(BODY))


def serve(sock):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    due = []  # (time, stream id)
    try:
        while True:
            timeout = max(0.0, min(t for t, _ in due) - time.time()) if due else None
            r, _, _ = select.select([sock], [], [], timeout)
            now = time.time()
            for t, sid in [d for d in due if d[0] <= now]:
                respond(conn, sid)
                due.remove((t, sid))
            if r:
                data = sock.recv(65536)
                if not data:
                    return
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        path = dict(ev.headers)[b":path"].decode()
                        print("REQ", path, flush=True)
                        with LOCK:
                            silent = path.startswith("/silent") and path not in SILENCED
                            SILENCED.add(path)
                        if silent:
                            time.sleep(30)
                            return
                        if path.startswith("/slowhead"):
                            due.append((now + 1.5, ev.stream_id))
                        else:
                            respond(conn, ev.stream_id)
            sock.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError):
        return
    finally:
        sock.close()


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(16)
while True:
    s, _ = srv.accept()
    threading.Thread(target=serve, args=(s,), daemon=True).start()
