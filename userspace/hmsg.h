/* hmsg.h: HTTP message heads between the http action's codecs and its exchange logic
 * (hmsg.c; the type in hmsg-t.h). A head that crosses between HTTP/1.1 and HTTP/2 goes
 * as field records, "name\0value\0" runs in a growable buffer (names lowercase, as
 * HTTP/2 has them; pseudo-header fields first; an empty name ends a head), which the
 * HTTP/2 codecs write from nghttp2's callbacks and read straight into nghttp2
 * name/value pairs. HTTP/1.1 heads are parsed (http1.c) and written as text (a struct
 * hmsg_w in text mode): no head is ever written in one protocol's syntax to be parsed
 * again for the other. Prefix hmsg_. */
#ifndef HERMES_HMSG_H
#define HERMES_HMSG_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>

#include "hmsg-t.h"
#include "http-t.h"

/* ---- writing a head: HTTP/1.1 text, or records (then a head ends with hmsg_w_end too) ---- */
struct hmsg_w {
	struct hbuf *b;
	bool rec;   /* records (names lowercased) instead of HTTP/1.1 text */
	int err;    /* -ENOMEM once an append failed: the head is unusable */
};
/* "METHOD TARGET HTTP/1.1" CRLF, or the :method and :path records. */
void hmsg_w_request(struct hmsg_w *w, struct h1_slice method, struct h1_slice target);
/* "HTTP/1.1 STATUS REASON" CRLF, or the :status record. */
void hmsg_w_status(struct hmsg_w *w, int status, struct h1_slice reason);
void hmsg_w_field(struct hmsg_w *w, const char *name, size_t nl, const char *value, size_t vl);
/* The blank line, or the end mark. Returns 0 or -ENOMEM (for the whole head). */
int hmsg_w_end(struct hmsg_w *w);

/* ---- reading records ---- */
/* One record (pseudo-header fields too), names as given: what the HTTP/2 codecs append
 * from nghttp2's header callback. 0 or -ENOMEM. */
int hmsg_rec(struct hbuf *b, const void *name, size_t nl, const void *value, size_t vl);
int hmsg_rec_end(struct hbuf *b);
/* The head of records at p[0..len) into m, slices into p: :method, :path, :scheme,
 * :authority and :status into their members (other pseudo-header fields dropped), the
 * fields in order. m->h2 is set, body left HMSG_BODY_UNSET. Returns the bytes read
 * through the end mark, 0 when there is none yet, -EMSGSIZE for more fields than
 * H1_HEADERS_CAP or a :status that is not three digits. */
int hmsg_from_rec(const char *p, size_t len, struct hmsg *m);

/* An HTTP/2 request as HTTP/1.1 semantics read it (RFC 9113 8.3.1), in place: the
 * target :path, or for a forward proxy request (fwd) the absolute form
 * :scheme://:authority:path (OPTIONS * as the authority alone), a CONNECT's the
 * authority, "/" when nothing says; a host field from :authority first when none came
 * (tgt holds the absolute form). Then the limits HTTP/1.1 heads have, counted on the
 * head as HTTP/1.1 would carry it: 0, -ENAMETOOLONG (request line), -EMSGSIZE (a field
 * line, the head, the field count) or -ENOMEM. */
int hmsg_h2_request(struct hmsg *m, bool fwd, struct hbuf *tgt, const struct h1_limits *lim);

/* ---- HTTP/2 name/value pairs from a head (RFC 9113 8.3), pointing into it. Fields that
 * must not appear in HTTP/2 (hmsg_conn_specific) are left out; names must already be
 * lowercase (records are). Each returns how many pairs (<= max), or -EMSGSIZE. ---- */
/* Fields that must not appear in HTTP/2 (RFC 9113 8.2.2) or that become pseudo-header
 * fields (Host -> :authority). */
bool hmsg_conn_specific(const char *name, size_t len);
/* :method; :scheme (https when tls, or with abs_scheme an absolute-form target's, as
 * to a parent proxy); :authority, the
 * host field's value or else an absolute-form target's authority (left out when empty);
 * :path, the target, or an absolute-form target's path ("/" when it has none); then the
 * fields. */
int hmsg_h2_request_nv(const struct hmsg *m, bool tls, bool abs_scheme, nghttp2_nv *nv, size_t max);
/* :status (its three digits written into status), then the fields. */
int hmsg_h2_response_nv(const struct hmsg *m, char status[4], nghttp2_nv *nv, size_t max);

static inline nghttp2_nv hmsg_nv(const char *name, size_t nl, const char *value, size_t vl)
{
	return (nghttp2_nv){ (uint8_t *)(uintptr_t)name, (uint8_t *)(uintptr_t)value, nl, vl, NGHTTP2_NV_FLAG_NONE };
}

#endif
