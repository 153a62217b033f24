/* h2up.c: the http action's HTTP/2 upstream (a route's `upstream_protocol: h2c`, prior
 * knowledge, or `h2`, over TLS). Per endpoint, HTTP/2 connections (struct hup of kind HUP_K_H2, on hup.c's
 * socket, ops and buffers) multiplex the attempts of many exchanges as streams; a new
 * connection opens once the peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached or after a
 * GOAWAY. Each attempt is a struct hup of kind HUP_K_STREAM behind the same interface as
 * an HTTP/1.1 connection, so routing, retries and response handling stay in one place.
 * Heads cross as structured messages (hmsg.h), never as HTTP/1.1 text: hreq.c writes the
 * request head as field records, sent as HEADERS (RFC 9113 8.2, 8.3: :method, :scheme,
 * :authority from Host, :path; connection-specific fields dropped); the response's
 * HEADERS are kept as records that exch.c reads as a struct hmsg (hup_head). The
 * response body is data events: DATA bytes into rx as they are, END_STREAM as u->eof,
 * trailers as records (hup_trailers); exch.c frames them for its client (chunks for
 * HTTP/1.1, DATA again for HTTP/2). The request body still crosses as HTTP/1.1 framing:
 * de-chunked into DATA, its trailers as a trailing HEADERS.
 *
 * nghttp2 runs on memory (h2mux.c) and the stream ops it calls only record events on the
 * stream; the exchanges hear of them after nghttp2 returns (h2mux_events), so an exchange
 * never re-enters nghttp2 from inside it. Frames are produced once per loop batch
 * (h2up_flush_dirty). A stream's receive window is opened only as http.c consumes its
 * bytes, so a slow client holds back its own stream only.
 *
 * `upstream_protocol: h2` runs the same connections over TLS 1.3 (ALPN h2, the origin's
 * certificate verified against tls.ca, and its name when the route has a tls_name), with
 * hup.c's TLS (struct hup_tls, tls.c's transport): OpenSSL reads the ciphertext in rx
 * where the recv put it and the plaintext goes into nghttp2; frames are encrypted as
 * they are produced, the records written straight into the send queue (wq), so the
 * io_uring ops stay exactly those of h2c. A connection serves only exchanges of its own
 * kind (TLS or not, and the same name).
 *
 * This file has the streams (their nghttp2 ops and the hup interface); the connections'
 * set-up, I/O and failure are h2up_conn.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h2mux.h"
#include "h2up-int.h"
#include "h2x.h"
#include "hmsg.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "ring.h"

#define H2UP_MAX_NV (H1_HEADERS_CAP + 4) /* the pseudo-header fields and the head's */

#define MSU(ms) (loop_container_of(ms, struct h2stream, ms)->u)

static void stream_event(struct hup *u)
{
	struct h2stream *s = ST(u);

	if (s->conn)
		h2mux_event(&CONN(s->conn)->m, &s->ms);
}

void h2up_stream_detach(struct hup *u)
{
	struct h2stream *s = ST(u);
	struct h2conn *h;

	if (!s->conn)
		return;
	h = CONN(s->conn);
	list_del(&s->link);
	h->n_streams--;
	if (s->sid > 0 && !s->closed)
		h2mux_attach(&h->m, s->sid, NULL);
	s->conn = NULL;
}

void h2up_stream_free(struct hup *u)
{
	struct h2stream *s = ST(u);

	h2up_stream_detach(u);
	buf_free(s->rq.tail.p, s->rq.tail.cap);
	buf_free(s->rsh.p, s->rsh.cap);
	buf_free(s->trailers.p, s->trailers.cap);
	buf_free(s->rqtr.p, s->rqtr.cap);
	free(s);
	buf_free(u->rx.p, u->rx.cap);
	buf_free(u->wbuf, u->w_touched);
	free(u);
}

/* Frees u once nobody needs it: released by its exchange and closed (or off its
 * connection), and not waiting on the pending list. */
void h2up_stream_maybe_free(struct hup *u)
{
	struct h2stream *s = ST(u);

	if (s->released && (s->closed || !s->conn) && !list_linked(&s->ms.pending))
		h2up_stream_free(u);
}

/* Reports the stream's events to its exchange (outside nghttp2: h2mux_events). */
static void on_event(struct h2mux *m, struct h2mux_stream *ms)
{
	struct hup *u = MSU(ms), *c = MC(m);
	struct h2stream *s = ST(u);
	struct hconn *x = u->x;
	struct loop *lp = u->loop;

	if (s->released || !x) {
		h2up_stream_maybe_free(u);
		return;
	}
	if (s->fail_why) {
		/* the transport ends the attempt: the exchange does not release it */
		int why = s->fail_why, err = s->fail_err;

		u->x = NULL;
		s->released = true;
		if (s->conn && !s->closed && s->sid > 0) {
			nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_CANCEL);
			conn_dirty(lp, c);
		}
		h2up_stream_maybe_free(u);
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): http_up_failed compares u (which attempt), never reads it */
		http_up_failed(lp, x, u, why, err);
		return;
	}
	http_up_input(lp, x, u);
}

static void stream_fail(struct hup *u, int why, int err)
{
	struct h2stream *s = ST(u);

	if (!s->fail_why) {
		s->fail_why = why;
		s->fail_err = err;
	}
	stream_event(u);
}

/* ---- the streams' ops (events recorded, nothing re-entered) ---- */

/* The stream's hup, NULL once its exchange released it. */
static struct hup *stream_of(struct h2mux_stream *ms)
{
	struct hup *u = MSU(ms);

	return !ST(u)->released ? u : NULL;
}

static int on_header(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f, const uint8_t *name,
		     size_t nl, const uint8_t *value, size_t vl)
{
	struct hup *u = stream_of(ms);

	(void)m;
	(void)f;
	struct h2stream *s;
	int err = 0;

	if (!u)
		return 0;
	s = ST(u);
	if (s->final) { /* trailers */
		err = hmsg_rec(&s->trailers, name, nl, value, vl);
	} else {
		if (nl == 7 && !memcmp(name, ":status", 7))
			s->status = vl == 3 ? atoi((const char *)value) : 0;
		else if (nl == 14 && !memcmp(name, "content-length", 14))
			s->has_cl = true;
		err = hmsg_rec(&s->rsh, name, nl, value, vl);
	}
	return err ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

/* The end of a response HEADERS block: a head for exch.c. The final one (status >= 200)
 * says how its body ends: none when bodiless (is_head, 204, 304), its content-length,
 * none at all when the stream ends with it, else END_STREAM. */
static int resp_head_end(struct h2stream *s, bool end_stream)
{
	if (s->status >= 200) {
		bool bodyless = s->is_head || s->status == 204 || s->status == 304;

		s->final = true;
		if (!s->has_cl && !bodyless) {
			s->body_none = end_stream;
			s->stream = !end_stream;
		}
	}
	s->has_cl = false; /* an interim head's fields say nothing of the final one's */
	return hmsg_rec_end(&s->rsh);
}

int h2up_head(struct hup *u, struct hmsg *m)
{
	struct h2stream *s = ST(u);
	int n = hmsg_from_rec(s->rsh.p + s->rsh_off, s->rsh.len - s->rsh_off, m);

	if (n > 0 && m->status >= 200)
		m->body = s->body_none ? HMSG_BODY_NONE : s->stream ? HMSG_BODY_STREAM : HMSG_BODY_LENGTH;
	return n;
}

int h2up_trailers(struct hup *u, struct hmsg *m)
{
	struct h2stream *s = ST(u);

	return s->ended && s->trailers.len ? hmsg_from_rec(s->trailers.p, s->trailers.len, m) : 0;
}

int h2up_body_end(struct loop *lp, struct hup *u, const struct hbuf *trailers)
{
	struct h2stream *s = ST(u);

	s->body_end = true;
	s->rqtr.len = 0;
	if (trailers && hb_put(&s->rqtr, trailers->p, trailers->len))
		return -ENOMEM;
	h2up_wrote(lp, u); /* resumes a deferred body */
	return 0;
}

void h2up_head_done(struct hup *u, int n)
{
	struct h2stream *s = ST(u);

	s->rsh_off += (size_t)n;
	if (s->rsh_off >= s->rsh.len)
		s->rsh_off = s->rsh.len = 0;
}

/* END_STREAM from the server: the HTTP/1.1 message ends. */
static void stream_ended(struct hup *u)
{
	struct h2stream *s = ST(u);

	if (s->ended)
		return;
	s->ended = true;
	if (s->trailers.len && hmsg_rec_end(&s->trailers))
		s->trailers.len = 0;
	u->eof = true;
}

static int on_frame_recv(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f)
{
	struct hup *u = stream_of(ms);
	struct h2stream *s;

	(void)m;
	if (!u)
		return 0;
	s = ST(u);
	if (f->hd.type == NGHTTP2_HEADERS && !s->final) {
		if (resp_head_end(s, f->hd.flags & NGHTTP2_FLAG_END_STREAM))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		u->got_bytes = true;
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		stream_ended(u);
	stream_event(u);
	return 0;
}

static int on_data(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, const uint8_t *data, size_t len)
{
	struct hup *u = stream_of(ms);
	int err;

	if (!u) {
		nghttp2_session_consume(m->ng, sid, len);
		return 0;
	}
	err = rx_put(&u->rx, data, len);
	ST(u)->unconsumed += len;
	stream_event(u);
	return err ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_stream_close(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint32_t code)
{
	struct hup *u = MSU(ms);
	struct loop *lp = u->loop;
	struct h2stream *s = ST(u);

	s->closed = true;
	h2up_stream_detach(u);
	if (s->unconsumed) /* the connection's window; http.c consumes the rest of rx later */
		nghttp2_session_consume_connection(m->ng, s->unconsumed);
	s->unconsumed = 0;
	if (s->released) {
		h2up_stream_maybe_free(u);
		return 0;
	}
	if (!s->ended) {
		/* REFUSED_STREAM: the server did not process it (also what nghttp2 says of the
		 * streams a GOAWAY left out) */
		if (code == NGHTTP2_REFUSED_STREAM)
			lp->st.http_h2up_refused++;
		else
			lp->st.http_h2up_resets++;
		log_debug("http: h2 upstream stream %d closed: %s", sid, nghttp2_http2_strerror(code));
		s->conn = MC(m); /* for the event: the stream is off the connection's list already */
		stream_fail(u, code == NGHTTP2_REFUSED_STREAM ? HUP_F_REFUSED : HUP_F_RESET, -ECONNRESET);
		s->conn = NULL;
	}
	return 0;
}

static int on_not_send(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f, int lib_error)
{
	struct hup *u = stream_of(ms);

	(void)m;
	/* a HEADERS that could not go (after a GOAWAY, or past the stream ids) never reached
	 * the server: as refused */
	if (u && f->hd.type == NGHTTP2_HEADERS) {
		log_debug("http: h2 upstream request not sent: %s", nghttp2_strerror(lib_error));
		stream_fail(u, HUP_F_REFUSED, -ECONNREFUSED);
	}
	return 0;
}

/* The request body as DATA: from wbuf, de-chunked; trailers as a trailing HEADERS. */
static ssize_t read_body(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint8_t *buf, size_t length,
			 uint32_t *flags)
{
	struct hup *u = MSU(ms);
	struct h2stream *s = ST(u);
	size_t used, out;

	if (h2x_body_read(&s->rq, u->wbuf + u->woff, u->wlen - u->woff, buf, length, &used, &out))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	u->woff += used;
	if (u->woff == u->wlen)
		u->woff = u->wlen = 0;
	if (used)
		stream_event(u); /* room for more of a streamed body */
	if (s->rq.mode == H2X_EOF && s->body_end && u->woff == u->wlen)
		s->rq.done = true;
	return h2x_data_result(m->ng, sid, &s->rq, &s->rqtr, out, flags, &s->deferred);
}

static const struct h2mux_stream_ops stream_ops = {
	.header = on_header,
	.frame_recv = on_frame_recv,
	.data = on_data,
	.not_sent = on_not_send,
	.close = on_stream_close,
	.read = read_body,
	.event = on_event,
};

/* ---- streams: the hup interface ---- */

struct hup *h2up_open(struct loop *lp, struct hep *ep, struct hconn *x)
{
	struct hup *c, *n, *u, *found = NULL;
	struct h2stream *s;
	int err;

	list_for_each(c, &ep->h2conns, pool) {
		struct h2conn *h = CONN(c);
		uint32_t max;

		if (c->state == HUP_CLOSING || h->goaway || !c->tls != (x->proto != HPROTO_H2) ||
		    (c->tls && strcmp(c->tls->name, x->tls_name)))
			continue;
		max = nghttp2_session_get_remote_settings(h->m.ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
		if (h->n_streams < max) {
			found = c;
			break;
		}
	}
	if ((c = found)) {
		lp->st.http_pool_reused++;
	} else {
		/* a closing connection stays on the list until freed: drop those first */
		/* cppcheck-suppress nullPointerRedundantCheck ; __typeof__(*c) in the macro reads nothing */
		list_for_each_safe(c, n, &ep->h2conns, pool)
			if (c->state == HUP_CLOSING || CONN(c)->goaway)
				list_del(&c->pool);
		if (!(c = hup_connect(lp, ep, NULL, HUP_K_H2)))
			return NULL;
		if ((err = h2up_conn_init(lp, c, x))) {
			hup_close(lp, c);
			errno = -err;
			return NULL;
		}
		c->idle_since_ms = lp->now_ms;
		list_add(&ep->h2conns, &c->pool);
	}
	u = calloc(1, sizeof(*u));
	s = calloc(1, sizeof(*s));
	if (u) {
		u->rx.cap = 16384; /* an rxbuf: rx_put counts its capacity */
		u->rx.p = buf_malloc(u->rx.cap);
		u->wcap = 16384; /* counted as hup_write writes it (buf_touch) */
		u->wbuf = malloc(u->wcap);
	}
	if (!u || !s || !u->rx.p || !u->wbuf) {
		if (u) {
			buf_free(u->rx.p, u->rx.cap);
			free(u->wbuf);
		}
		free(u);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	u->loop = lp;
	u->kind = HUP_K_STREAM;
	u->h2 = s;
	s->ms.ops = &stream_ops;
	s->u = u;
	u->ep = ep;
	u->x = x;
	u->fd = -1;
	u->state = HUP_OPEN;
	s->conn = c;
	list_add(&CONN(c)->streams, &s->link);
	CONN(c)->n_streams++;
	lp->st.http_h2up_streams++;
	return u;
}

/* The request head hreq.c wrote as field records at the start of wbuf, as HEADERS
 * (RFC 9113 8.3.1): the body follows it in wbuf. */
static int stream_submit(struct loop *lp, struct hup *u)
{
	struct h2stream *s = ST(u);
	struct h2conn *h = CONN(s->conn);
	nghttp2_nv nv[H2UP_MAX_NV];
	struct hmsg req;
	long long cl;
	bool chunked;
	int n, k;

	n = hmsg_from_rec(u->wbuf + u->woff, u->wlen - u->woff, &req);
	if (n == 0)
		return 0; /* the rest of the head comes with the next write */
	if (n < 0 || h1_body_framing(req.headers, req.n_headers, &cl, &chunked))
		return -EBADMSG;
	k = hmsg_h2_request_nv(&req, s->conn->tls, u->x && u->x->r && u->x->r->upstream_proxy, nv, H2UP_MAX_NV);
	if (k < 0)
		return k;
	s->is_head = h1_slice_eq(req.method, "HEAD");
	/* an HTTP/2 client's body without content-length: unframed, ended by hup_body_end */
	s->rq.mode = chunked ? H2X_CHUNKED : cl < 0 && u->x && u->x->req_stream ? H2X_EOF : H2X_CL;
	s->rq.left = cl > 0 ? cl : 0;
	s->rq.done = s->rq.mode == H2X_CL && cl <= 0;
	u->woff += (size_t)n;
	s->sid = nghttp2_submit_request(h->m.ng, NULL, nv, (size_t)k, s->rq.done ? NULL : &h2mux_body, &s->ms);
	if (s->sid < 0)
		return -EIO;
	s->submitted = true;
	conn_dirty(lp, s->conn);
	return 0;
}

void h2up_wrote(struct loop *lp, struct hup *u)
{
	struct h2stream *s = ST(u);

	if (!s->conn || s->closed || s->fail_why)
		return;
	if (!s->submitted) {
		int err = stream_submit(lp, u);

		if (err)
			stream_fail(u, HUP_F_PROTO, err);
		return;
	}
	if (s->deferred) {
		s->deferred = false;
		nghttp2_session_resume_data(CONN(s->conn)->m.ng, s->sid);
		conn_dirty(lp, s->conn);
	}
}

void h2up_consumed(struct loop *lp, struct hup *u, size_t n)
{
	struct h2stream *s = ST(u);
	size_t k = n < s->unconsumed ? n : s->unconsumed;

	if (!k)
		return;
	s->unconsumed -= k;
	if (s->conn && !s->closed) {
		nghttp2_session_consume(CONN(s->conn)->m.ng, s->sid, k);
		conn_dirty(lp, s->conn);
	} else if (s->conn) {
		nghttp2_session_consume_connection(CONN(s->conn)->m.ng, k);
	}
}

uint64_t h2up_quiet_ms(struct loop *lp, struct hup *u, uint64_t since_ms, uint32_t stall_ms)
{
	struct h2stream *s = ST(u);
	struct h2conn *h = s->conn ? CONN(s->conn) : NULL;
	uint64_t from;

	if (!h || s->conn->state != HUP_OPEN)
		return 0;
	from = h->rx_ms > since_ms ? h->rx_ms : since_ms;
	if (lp->now_ms - from >= stall_ms / 2 && h->ping_ms <= from) {
		/* a live connection answers it, whatever its streams are waiting for */
		nghttp2_submit_ping(h->m.ng, NGHTTP2_FLAG_NONE, NULL);
		h->ping_ms = lp->now_ms;
		conn_dirty(lp, s->conn);
	}
	return lp->now_ms - from;
}

void h2up_shun(struct hup *u)
{
	struct h2stream *s = ST(u);

	if (s->conn)
		CONN(s->conn)->goaway = true; /* closed once its other streams are done */
}

void h2up_release(struct loop *lp, struct hup *u)
{
	struct h2stream *s = ST(u);

	s->released = true;
	if (s->conn && !s->closed) {
		struct h2conn *h = CONN(s->conn);
		struct hup *c = s->conn;

		if (s->unconsumed)
			nghttp2_session_consume_connection(h->m.ng, s->unconsumed);
		s->unconsumed = 0;
		if (s->sid > 0)
			nghttp2_submit_rst_stream(h->m.ng, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_CANCEL);
		else
			h2up_stream_detach(u); /* never submitted */
		conn_dirty(lp, c);
	}
	h2up_stream_maybe_free(u);
}
