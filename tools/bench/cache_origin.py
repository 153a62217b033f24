#!/usr/bin/python3
"""tools/bench/cache_origin.py: the origin of bench.sh's cachehit load.

    cache_origin.py ADDR PORT ACCESS_LOG DELAY_MS SECS

Serves GET and HEAD of /4k: 4096 bytes, Cache-Control: public, max-age=3600, a strong
ETag and Last-Modified (a conditional request that matches gets 304), over HTTP/1.1
keep-alive, one thread per connection. Every request waits DELAY_MS before its answer
and is written to ACCESS_LOG (one line each, flushed before the answer is sent), so
that the harness can count how many requests of a measured phase reached the origin.
The delay and the interpreter keep the origin well below what a cache serves from
memory: a "cache" that forwards every request shows it in its rate and latency as well
as in the origin's count. Anything else is 404. Stops by itself after SECS seconds.
Standard library only (Debian's /usr/bin/python3).
"""
import email.utils
import http.server
import sys
import threading
import time

BODY = b"c" * 4096
ETAG = '"bench-4k-1"'
LAST_MODIFIED = email.utils.formatdate(time.time() - 86400, usegmt=True)


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: cache_origin.py ADDR PORT ACCESS_LOG DELAY_MS SECS")
    addr, port, logpath = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    delay, secs = float(sys.argv[4]) / 1000.0, float(sys.argv[5])
    log = open(logpath, "a", buffering=1, encoding="ascii")
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "bench-origin"
        sys_version = ""

        def log_message(self, *args):
            pass  # the access log below is the one the harness counts

        def answer(self, with_body):
            with lock:
                log.write("%s %s\n" % (self.command, self.path))
            time.sleep(delay)
            if self.path != "/4k":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            inm = self.headers.get("If-None-Match")
            status = 304 if inm and ETAG in [t.strip() for t in inm.split(",")] else 200
            self.send_response(status)
            self.send_header("Cache-Control", "public, max-age=3600")
            self.send_header("ETag", ETAG)
            self.send_header("Last-Modified", LAST_MODIFIED)
            if status == 200:
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            if status == 200 and with_body:
                self.wfile.write(BODY)

        def do_GET(self):
            self.answer(True)

        def do_HEAD(self):
            self.answer(False)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024
        allow_reuse_address = True

    srv = Server((addr, port), Handler)
    threading.Timer(secs, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
