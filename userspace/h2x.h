/* h2x.h: HTTP/1.1 <-> HTTP/2 body translation helpers (h2x.c) shared by the HTTP/2
 * upstream (h2up.c) and the HTTP/2 client side (h2dn.c) of the http action: bodies
 * still cross at the HTTP/1.1 byte level (DATA as chunks, chunks as DATA), heads as
 * structured messages (hmsg.h). Prefix h2x_ (and hb_ for growable buffers). */
#ifndef HERMES_H2X_H
#define HERMES_H2X_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http-t.h"
#include "http1-t.h"

int hb_put(struct hbuf *b, const void *p, size_t n);
int hb_printf(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends to a receive buffer that no recv fills (an HTTP/2 stream's): compacts, grows. */
int rx_put(struct rxbuf *b, const void *p, size_t n);

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

/* A DATA payload appended to an HTTP/1.1 message being written: as a chunk or as is. */
int h2x_put_data(struct rxbuf *b, bool chunked, const void *data, size_t len);
/* END_STREAM: a chunked message's last chunk and trailers (nothing otherwise). */
int h2x_put_end(struct rxbuf *b, bool chunked, const struct hbuf *trailers);
/* What a DATA source callback returns once it read `out` bytes of b: at the body's end
 * EOF (trailers, if any, submitted as a trailing HEADERS), with nothing to give DEFERRED
 * (*deferred set: resume when more comes). */
ssize_t h2x_data_result(nghttp2_session *ng, int32_t sid, struct h2x_body *b, size_t out, uint32_t *flags,
			bool *deferred);

#endif
