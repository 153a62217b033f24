/* hreq.h: the request side of the http action (hreq.c): a whole request head checked
 * (what the parser leaves to its callers, the request-smuggling shapes), routed, and
 * rebuilt for the upstream; its body read, whole (retriable) or as a stream. Types in
 * http-t.h. */
#ifndef HERMES_HREQ_H
#define HERMES_HREQ_H

#include "http-t.h"

/* A whole head (req: n bytes of rx from HTTP/1.1, 0 from an HTTP/2 stream, whose head
 * came as fields) starts a request on x: refused with an answer of hermesd's own, or
 * routed and on to its body (HC_BODY) or its first attempt. */
void hreq_start(struct loop *lp, struct hconn *x, const struct hmsg *req, size_t n);
/* What the upstream request (x->out) is built from, kept by hreq_start so that it is
 * built only when the request may go upstream: not for a cache hit (hcache_lookup asks
 * for it when it parks, revalidates or misses). */
struct hreq_out {
	const struct hmsg *req;
	const struct cfg_http_route *r;
	long long cl;
	const struct h1_header *host;
	const struct h1_slice *fwd_path;
	bool fwd_slash;
	bool built;
	int err;
};
/* x->out built from o, once. 0 or -ENOMEM (kept in o->err). */
int hreq_out(struct hconn *x, struct hreq_out *o);
/* x's per-request state back to "no request" (between keep-alive requests). */
void hreq_reset(struct hconn *x);
/* Drops the request's runtime snapshot (and the route and policy in it): when the
 * request ends, before x is freed. */
void hreq_release(struct hconn *x);
/* The request's route name for logs and metrics: "-" before routing, or routed to the
 * flow's original destination. */
static inline const char *hreq_route_name(const struct hconn *x)
{
	return x->r ? x->r->name : "-";
}
/* HC_BODY: the body read into x->out; once whole, the first attempt (retriable). A
 * chunked body that outgrows max_buffered_body starts streaming instead. True when the
 * state moved on. */
bool hreq_buffer_body(struct loop *lp, struct hconn *x);
/* The next run of request body in rx, at most max bytes: Content-Length bytes, or a run
 * of chunked framing or data (passed on as it is). Its length (0: nothing available),
 * -EBADMSG/-EMSGSIZE for a bad chunked body. */
long hreq_body_run(struct loop *lp, struct hconn *x, size_t max);
/* Does x's upstream get its unframed body (req_stream) chunked (an HTTP/1.1 one)? */
bool hreq_rechunk(const struct hconn *x);
/* Body bytes as the upstream gets them, appended to b: as they are, or an unframed
 * HTTP/2 body (req_stream) chunked for an HTTP/1.1 upstream. 0 or -ENOMEM. */
int hreq_body_put(const struct hconn *x, struct hbuf *b, const char *p, size_t n);
/* The body's end as an HTTP/1.1 upstream gets it: a chunked req_stream's last chunk and
 * the client's trailers; nothing otherwise (HTTP/2: hup_body_end). 0 or -ENOMEM. */
int hreq_body_end(const struct hconn *x, struct hbuf *b);

/* Does a field named name (any of them) list token tok (case-insensitive)? */
bool hreq_any_token(const struct h1_header *hs, unsigned n, const char *name, const char *tok);
/* Is field `name` of hs[0..n) one this hop drops (hop-by-hop, named by Connection, or
 * rewritten here: Content-Length, Expect)? conn: the message has a Connection field. */
bool hreq_hop_by_hop(const struct h1_header *hs, unsigned n, bool conn, struct h1_slice name);

#endif
