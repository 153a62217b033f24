/* h2x.h: HTTP/1.1 <-> HTTP/2 body translation helpers (h2x.c) shared by the HTTP/2
 * upstream (h2up.c), the HTTP/2 client side (h2dn.c) and the exchange (hreq.c,
 * exch.c) of the http action: an HTTP/1.1 body read as DATA (de-chunked), DATA written
 * as HTTP/1.1 chunks; each only where one side is HTTP/1.1 (HTTP/2 to HTTP/2 moves
 * DATA bytes as they are). Heads are structured messages (hmsg.h). Prefix h2x_; the
 * buffers they fill are buf.h's. */
#ifndef HERMES_H2X_H
#define HERMES_H2X_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http-t.h"
#include "hmsg-t.h"
#include "http1-t.h"

/* An HTTP/1.1 message body read as HTTP/2 DATA: the framing goes, the data stays. */
enum h2x_mode {
	H2X_CL = 1,  /* Content-Length bytes */
	H2X_CHUNKED, /* chunked: data runs kept, trailer fields kept for a trailing HEADERS */
	H2X_EOF,     /* until the message's source says it ended (the caller sets done) */
};

struct h2x_body {
	int mode;             /* enum h2x_mode */
	long long left;       /* H2X_CL: bytes still to come */
	struct h1_chunked ck;
	struct hbuf tail;     /* H2X_CHUNKED: the framing since the last data (ends in the trailers) */
	bool done;
};

/* Takes body bytes from src[0..n) (*used of them), puts data into dst (*out bytes, at
 * most cap). Returns 0, or -EBADMSG / -EMSGSIZE / -ENOMEM. */
int h2x_body_read(struct h2x_body *b, const char *src, size_t n, uint8_t *dst, size_t cap, size_t *used,
		  size_t *out);
/* A finished chunked body's trailer fields as nghttp2 name/value pairs (names
 * lowercased in place, connection-specific ones dropped). Returns how many (<= max). */
size_t h2x_trailers(struct h2x_body *b, nghttp2_nv *nv, size_t max);

/* DATA bytes (an unframed body) as HTTP/1.1 chunks: a chunk's size line ("%zx" CRLF)
 * for n bytes into line (its length returned); n bytes as one chunk appended to b
 * (nothing for 0); the last chunk with the trailers t (fields; NULL: none) and the
 * final CRLF. 0 or -ENOMEM. */
#define H2X_CHUNK_LINE 20
size_t h2x_chunk_line(char line[H2X_CHUNK_LINE], size_t n);
int h2x_chunk(struct hbuf *b, const void *p, size_t n);
int h2x_chunk_end(struct hbuf *b, const struct hmsg *t);
/* What a DATA source callback returns once it read `out` bytes of b: at the body's end
 * EOF (trailers, if any, submitted as a trailing HEADERS: the records in trailers, or a
 * chunked body's own), with nothing to give DEFERRED (*deferred set: resume when more
 * comes). */
ssize_t h2x_data_result(nghttp2_session *ng, int32_t sid, struct h2x_body *b, const struct hbuf *trailers,
			size_t out, uint32_t *flags, bool *deferred);

#endif
