/* h2x.h: HTTP/1.1 <-> HTTP/2 translation helpers (h2x.c) shared by the HTTP/2 upstream
 * (h2up.c) and the HTTP/2 client side (h2dn.c) of the http action: both translate at
 * the HTTP/1.1 byte level, so http.c routes and retries every request the same way
 * whatever the protocols on either side. Prefix h2x_; the buffers they fill are buf.h's. */
#ifndef HERMES_H2X_H
#define HERMES_H2X_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http-t.h"
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

/* Fields that must not appear in HTTP/2 (RFC 9113 8.2.2) or that become pseudo-header
 * fields (Host -> :authority). */
bool h2x_conn_specific(const char *name, size_t len);

/* ---- heads, HTTP/1.1 -> HTTP/2 fields (RFC 9113 8.3). The nv point into the parsed
 * head and into lbuf (lcap bytes), which receives the names lowercased: a buffer of the
 * head's length (what h1_parse_* returned) always holds them. Each returns how many
 * fields (<= max), or -EMSGSIZE when lbuf or max is too small. ---- */

/* h1 header fields -> nv, skipping h2x_conn_specific ones. */
int h2x_nv_from_h1(const struct h1_header *hs, unsigned n, nghttp2_nv *nv, size_t max, char *lbuf, size_t lcap);
/* A request head: :method; :scheme (https when tls); :authority, the Host field's value
 * or else an absolute-form http:// target's authority (left out when empty); :path, the
 * target, or an absolute-form http:// target's path ("/" when it has none); then the
 * fields. */
int h2x_request_nv(const struct h1_request *req, bool tls, nghttp2_nv *nv, size_t max, char *lbuf, size_t lcap);
/* A response head: :status (its three digits written into status), then the fields. */
int h2x_response_nv(const struct h1_response *resp, char status[4], nghttp2_nv *nv, size_t max, char *lbuf,
		    size_t lcap);

/* ---- heads, HTTP/2 fields -> HTTP/1.1 (RFC 9113 8.3.1), field by field as nghttp2
 * delivers them (it has checked names, values and pseudo-header fields: RFC 9113 8.2,
 * 8.3). Each returns 0 or -ENOMEM. ---- */

/* A request: its HEADERS collected, then written as an HTTP/1.1 head. */
struct h2x_req {
	struct hbuf pseudo[4];      /* :method, :path, :authority, :scheme */
	struct hbuf hdrs, trailers; /* "name: value" CRLF lines */
	bool has_cl, has_host;
	bool chunked;               /* h2x_req_head chose chunked framing */
};
/* One field of the request's HEADERS (trailer: of its trailing HEADERS). */
int h2x_req_field(struct h2x_req *q, bool trailer, const uint8_t *name, size_t nl, const uint8_t *value, size_t vl);
/* The request head into rx: METHOD TARGET HTTP/1.1, the target :path (a forward proxy
 * request, fwd: in absolute form, :scheme://:authority:path, OPTIONS * as the authority
 * alone; CONNECT: the authority); Host from :authority unless a host field came; the
 * fields; chunked framing when a body follows (not end_stream) without content-length. */
int h2x_req_head(struct h2x_req *q, struct rxbuf *rx, bool fwd, bool end_stream);
void h2x_req_free(struct h2x_req *q);

/* A response: written into rx as its fields come, interim (1xx) heads included. */
struct h2x_resp {
	int status;                 /* of the head being received (0: not a 3-digit :status) */
	bool final;                 /* the final head is done: fields now are trailers */
	bool has_cl, chunked;
	struct hbuf trailers;       /* "name: value" CRLF lines, for h2x_put_end */
};
/* One field: :status as a status line with the standard reason, a field as a line
 * (other pseudo-header fields dropped), after the final head a trailer. */
int h2x_resp_field(struct h2x_resp *p, struct rxbuf *rx, const uint8_t *name, size_t nl, const uint8_t *value,
		   size_t vl);
/* The end of a HEADERS block. The final head (status >= 200) gets its framing: none when
 * bodiless (is_head, 204, 304) or with a content-length, Content-Length: 0 when the stream
 * ends with it, else chunked. */
int h2x_resp_head_end(struct h2x_resp *p, struct rxbuf *rx, bool is_head, bool end_stream);

/* A DATA payload appended to an HTTP/1.1 message being written: as a chunk or as is. */
int h2x_put_data(struct rxbuf *b, bool chunked, const void *data, size_t len);
/* END_STREAM: a chunked message's last chunk and trailers (nothing otherwise). */
int h2x_put_end(struct rxbuf *b, bool chunked, const struct hbuf *trailers);
/* What a DATA source callback returns once it read `out` bytes of b: at the body's end
 * EOF (trailers, if any, submitted as a trailing HEADERS), with nothing to give DEFERRED
 * (*deferred set: resume when more comes). */
ssize_t h2x_data_result(nghttp2_session *ng, int32_t sid, struct h2x_body *b, size_t out, uint32_t *flags,
			bool *deferred);

static inline nghttp2_nv h2x_nv(const char *name, size_t nl, const char *value, size_t vl)
{
	return (nghttp2_nv){ (uint8_t *)(uintptr_t)name, (uint8_t *)(uintptr_t)value, nl, vl, NGHTTP2_NV_FLAG_NONE };
}

#endif
