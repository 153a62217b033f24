/* h2dn.c: HTTP/2 clients of the http action. Two kinds of connection carry them:
 * - a steered flow whose first bytes are the HTTP/2 connection preface (h2c with prior
 *   knowledge): an nghttp2 server session on its hconn (state HC_H2), frames through the
 *   hconn's sbuf;
 * - a session of the tunnel listener (sess.c: TLS with ALPN h2, or h2c) whose stream is
 *   not a CONNECT: an explicit proxy request (`:scheme http`, `:authority IP:PORT`).
 *   sess.c owns that HTTP/2 session and its socket; it hands such streams over once
 *   their request head is complete, and from then on they carry h2dn's stream ops
 *   (h2mux.c dispatches each stream's frames to its own ops).
 * Either way each request stream is an hconn of its own (fd -1, h2p = the connection's
 * state) that http.c runs exactly like an HTTP/1.1 request: routed, retried, sent to the
 * route's upstream in its protocol (a proxy request is first checked against
 * tunnel_access, as on a clear-text proxy connection). The translation happens at the
 * level of message heads (hmsg.h): the request's HEADERS are kept as field records and
 * handed to http.c as a struct hmsg (Host from :authority, absolute form for a proxy
 * request); its DATA goes into the stream's rx as it came and its trailers are kept as
 * records (data events: hreq.c frames them only for an HTTP/1.1 upstream). The response
 * head comes as records too (http_head_*) and goes out as HEADERS (connection-specific
 * fields dropped, RFC 9113 8.2.2); its body from sbuf as DATA: de-chunked when an
 * HTTP/1.1 upstream chunked it, as it is otherwise, with the trailers (h2dn_trailers)
 * as a trailing HEADERS. No head is written as HTTP/1.1 text to be parsed again, and
 * no body is chunked to be de-chunked. The stream ops (called inside nghttp2) only
 * record events; streams hear of them after nghttp2 returns, and frames are produced
 * once per loop batch. A stream's receive window opens only as http.c reads its body. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2mux.h"
#include "h2x.h"
#include "hmsg.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "overload.h"
#include "ring.h"

#define H2DN_MAX_STREAMS 256
#define H2DN_STREAM_WIN 65535
#define H2DN_CONN_WIN (16 * 1024 * 1024)
#define H2DN_MAX_NV (H1_HEADERS_CAP + 1) /* :status and the head's fields */

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* The connection's state: x->h2 of an HC_H2 hconn, or ts->http of a tunnel session. */
struct h2sess {
	struct h2mux *m;          /* &own, or the tunnel session's */
	struct h2mux own;         /* h2c: the session (frames go to x's sbuf) */
	struct hconn *x;          /* h2c: the client connection */
	struct h2dn_host *ts;     /* or the tunnel listener's session (owns m and the socket) */
	struct list streams;      /* its streams (struct h2req) */
	unsigned n_streams;
	struct list dirty;        /* on lp->http->h2dn_dirty (h2c only) */
	struct hbuf over;         /* frames that did not fit in sbuf */
	uint64_t idle_since_ms;
};

/* A stream's state (x->h2 of a stream hconn). */
struct h2req {
	struct h2mux_stream ms;   /* the nghttp2 stream user data */
	struct hconn *x;          /* the stream's hconn */
	int32_t sid;
	struct list link;         /* on its connection's streams */
	bool closed;              /* nghttp2 closed the stream */
	bool reset;               /* the client reset it before the response ended */
	/* the request: its head as field records until http.c takes it (h2dn_request), its
	 * DATA into rx as it came, its trailers as records (h2dn_req_trailers) */
	struct hbuf rqh, tgt, trailers;
	bool head_in, head_end, has_cl;
	bool ended;
	size_t unconsumed;
	/* the response: its head as field records (h2dn_head_buf), its body from sbuf,
	 * the trailers of a body without framing as records (h2dn_trailers) */
	struct hbuf rsh, rtr;
	bool resp_sent, out_done, deferred;
	struct h2x_body rs;
};

#define SESS(x) ((struct h2sess *)(x)->h2)
#define REQ(x) ((struct h2req *)(x)->h2)
#define MSX(ms) (loop_container_of(ms, struct h2req, ms)->x)
#define OWN(m) loop_container_of(m, struct h2sess, own)

static const struct h2mux_stream_ops stream_ops;

int h2dn_sniff(const struct hconn *x)
{
	size_t avail = x->rx.len - x->rx.off, n = avail < sizeof(preface) - 1 ? avail : sizeof(preface) - 1;

	if (memcmp(x->rx.p + x->rx.off, preface, n))
		return -1;
	return n == sizeof(preface) - 1 ? 1 : 0;
}

/* h has frames to produce: a tunnel session flushes itself, an h2c one at the batch's end. */
static void h2s_dirty(struct loop *lp, struct h2sess *h)
{
	if (h->ts) {
		h->ts->kick(h->ts);
		return;
	}
	if (list_linked(&h->dirty) || h->x->state != HC_H2)
		return;
	list_add(&lp->http->h2dn_dirty, &h->dirty);
}

static void req_event(struct hconn *s)
{
	if (s->h2p)
		h2mux_event(s->h2p->m, &REQ(s)->ms);
}

/* ---- the streams' ops (inside nghttp2: they record events) ---- */

/* A request stream sid of h becomes an exchange of http.c (NULL without memory). */
static struct hconn *stream_open(struct loop *lp, struct h2sess *h, int32_t sid, const struct hermes_addr *peer,
				 const struct hermes_addr *dst, bool fwd)
{
	struct hconn *s = http_stream_new(lp, h, peer, dst, fwd);
	struct h2req *r = s ? calloc(1, sizeof(*r)) : NULL;

	if (!r) {
		if (s)
			http_conn_close(lp, s, true);
		return NULL;
	}
	s->h2 = r;
	r->ms.ops = &stream_ops;
	r->x = s;
	r->sid = sid;
	list_add(&h->streams, &r->link);
	h->n_streams++;
	lp->st.http_h2dn_streams++;
	h2mux_attach(h->m, sid, &r->ms);
	return s;
}

/* h2c: a request stream opens. */
static void on_begin(struct h2mux *m, const nghttp2_frame *f)
{
	struct hconn *p = OWN(m)->x;

	if (overload_shed(p->loop, OVL_REFUSE_STREAMS, OVL_ACT_REFUSE_STREAM)) {
		/* over the memory budget (stage 2): the client may retry later */
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return;
	}
	if (!stream_open(p->loop, SESS(p), f->hd.stream_id, &p->peer, &p->dst, false))
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
}

/* One field of the request's HEADERS (trailer: of its trailing HEADERS), a record. */
static int req_field(struct h2req *r, bool trailer, const uint8_t *name, size_t nl, const uint8_t *value, size_t vl)
{
	if (trailer)
		return hmsg_rec(&r->trailers, name, nl, value, vl);
	if (nl == 14 && !memcmp(name, "content-length", 14))
		r->has_cl = true;
	return hmsg_rec(&r->rqh, name, nl, value, vl);
}

/* The request head is whole (end: END_STREAM came with it): http.c takes it. */
static int req_head(struct h2req *r, bool end)
{
	r->head_in = true;
	r->head_end = end;
	return hmsg_rec_end(&r->rqh);
}

static int on_header(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f, const uint8_t *name,
		     size_t nl, const uint8_t *value, size_t vl)
{
	struct hconn *s = MSX(ms);

	(void)m;
	if (req_field(REQ(s), f->headers.cat != NGHTTP2_HCAT_REQUEST, name, nl, value, vl))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static int req_end(struct hconn *s)
{
	struct h2req *r = REQ(s);

	if (r->ended)
		return 0;
	r->ended = true;
	return r->trailers.len ? hmsg_rec_end(&r->trailers) : 0;
}

static int on_frame_recv(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f)
{
	struct hconn *s = MSX(ms);
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
	int err = 0;

	(void)m;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
		err = req_head(REQ(s), end);
	if (!err && end && (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA))
		err = req_end(s);
	req_event(s);
	return err ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_data(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, const uint8_t *data, size_t len)
{
	struct hconn *s = MSX(ms);
	size_t cap = s->rx.cap;
	int err;

	(void)m;
	(void)sid;
	err = rx_put(&s->rx, data, len);
	/* the stream's rx is a fixed buffer counted as written (buf_touch), not by the
	 * capacity rx_put counts when it grows */
	buf_account(-(long long)(s->rx.cap - cap));
	buf_touch(&s->rx_touched, s->rx.len);
	REQ(s)->unconsumed += len;
	req_event(s);
	return err ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_stream_close(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint32_t code)
{
	struct hconn *s = MSX(ms);
	struct h2req *r = REQ(s);

	(void)code;
	r->closed = true;
	if (r->unconsumed)
		nghttp2_session_consume_connection(m->ng, r->unconsumed);
	r->unconsumed = 0;
	h2mux_attach(m, sid, NULL);
	if (!r->out_done) {
		/* the client gave up on it: the exchange ends (its upstream attempt too) */
		r->reset = true;
		req_event(s);
	}
	return 0;
}

/* The response body as DATA: from the stream's sbuf, de-chunked, trailers at the end. */
static ssize_t read_resp(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint8_t *buf, size_t length,
			 uint32_t *flags)
{
	struct hconn *s = MSX(ms);
	struct h2req *r = REQ(s);
	size_t used, out;

	if (h2x_body_read(&r->rs, s->sbuf + s->soff, s->slen - s->soff, buf, length, &used, &out))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	s->soff += used;
	if (s->soff == s->slen)
		s->soff = s->slen = 0;
	if (r->rs.mode == H2X_EOF && s->resp_done && s->soff == s->slen)
		r->rs.done = true;
	if (r->rs.done) {
		r->out_done = true;
		s->soff = s->slen = 0;
	}
	if (used || r->out_done)
		req_event(s); /* room in sbuf for more of the response, or the end */
	return h2x_data_result(m->ng, sid, &r->rs, &r->rtr, out, flags, &r->deferred);
}

/* Acts on the stream's events (outside nghttp2). */
static void on_event(struct h2mux *m, struct h2mux_stream *ms)
{
	struct hconn *s = MSX(ms);

	(void)m;
	if (REQ(s)->reset)
		http_conn_close(s->loop, s, true);
	else
		http_stream_progress(s->loop, s);
}

/* A tunnel session's http streams carry these too: their frames come straight here. */
static const struct h2mux_stream_ops stream_ops = {
	.header = on_header,
	.frame_recv = on_frame_recv,
	.data = on_data,
	.close = on_stream_close,
	.read = read_resp,
	.event = on_event,
};

/* ---- the stream's request head, and its response: head records and sbuf -> frames ---- */

int h2dn_request(struct loop *lp, struct hconn *s, struct hmsg *m)
{
	struct h2req *r = REQ(s);
	struct h1_limits lim = http_limits(lp);
	int n, err;

	if (!r || !r->head_in)
		return 0;
	r->head_in = false;
	n = hmsg_from_rec(r->rqh.p, r->rqh.len, m);
	if (n <= 0)
		return -EMSGSIZE;
	if ((err = hmsg_h2_request(m, s->fwd, &r->tgt, &lim)))
		return err;
	m->body = r->head_end ? HMSG_BODY_NONE : HMSG_BODY_STREAM;
	return 1;
}

bool h2dn_req_ended(const struct hconn *x)
{
	return x->fd < 0 && x->h2 && REQ(x)->ended;
}

const struct hbuf *h2dn_req_trailers(const struct hconn *x)
{
	return x->fd < 0 && x->h2 && REQ(x)->trailers.len ? &REQ(x)->trailers : NULL;
}

struct hbuf *h2dn_head_buf(struct hconn *s)
{
	struct h2req *r = REQ(s);

	if (!r)
		return NULL;
	r->rsh.len = 0;
	return &r->rsh;
}

void h2dn_head(struct loop *lp, struct hconn *s, int mode, long long left, bool done)
{
	struct h2req *r = REQ(s);
	struct h2sess *h = s->h2p;
	nghttp2_nv nv[H2DN_MAX_NV];
	struct hmsg m;
	char status[4];
	int k = -EBADMSG;

	if (!r || !h || r->closed || r->out_done)
		return;
	if (hmsg_from_rec(r->rsh.p, r->rsh.len, &m) > 0)
		k = hmsg_h2_response_nv(&m, status, nv, H2DN_MAX_NV);
	r->rsh.len = 0;
	if (k < 0) {
		nghttp2_submit_rst_stream(h->m->ng, NGHTTP2_FLAG_NONE, r->sid, NGHTTP2_INTERNAL_ERROR);
		r->out_done = true;
		s->soff = s->slen = 0;
		h2s_dirty(lp, h);
		return;
	}
	if (m.status < 200) {
		nghttp2_submit_headers(h->m->ng, NGHTTP2_FLAG_NONE, r->sid, NULL, nv, (size_t)k, NULL);
		h2s_dirty(lp, h);
		return;
	}
	r->rs.mode = mode;
	r->rs.left = left > 0 ? left : 0;
	r->rs.done = done;
	r->resp_sent = true;
	nghttp2_submit_response(h->m->ng, r->sid, nv, (size_t)k, done ? NULL : &h2mux_body);
	if (done) {
		r->out_done = true;
		req_event(s);
	}
	h2s_dirty(lp, h);
}

int h2dn_trailers(struct hconn *s, const struct hmsg *m)
{
	struct h2req *r = REQ(s);
	struct hmsg_w w;

	if (!r)
		return 0;
	r->rtr.len = 0;
	w = (struct hmsg_w){ .b = &r->rtr, .rec = true };
	for (unsigned i = 0; i < m->n_headers; i++)
		hmsg_w_field(&w, m->headers[i].name.p, m->headers[i].name.len, m->headers[i].value.p,
			     m->headers[i].value.len);
	return hmsg_w_end(&w);
}

void h2dn_output(struct loop *lp, struct hconn *s)
{
	struct h2req *r = REQ(s);
	struct h2sess *h = s->h2p;

	if (!r || !h || r->closed || r->out_done) {
		s->soff = s->slen = 0; /* nobody to read it (a body hermesd wrote for a HEAD request) */
		return;
	}
	if (r->resp_sent && r->deferred) {
		r->deferred = false;
		nghttp2_session_resume_data(h->m->ng, r->sid);
	}
	h2s_dirty(lp, h);
}

void h2dn_consumed(struct loop *lp, struct hconn *s, size_t n)
{
	struct h2req *r = REQ(s);
	size_t k;

	if (!r || !s->h2p || r->closed)
		return;
	k = n < r->unconsumed ? n : r->unconsumed;
	if (!k)
		return;
	r->unconsumed -= k;
	nghttp2_session_consume(s->h2p->m->ng, r->sid, k);
	h2s_dirty(lp, s->h2p);
}

bool h2dn_out_done(const struct hconn *s)
{
	const struct h2req *r = REQ(s);

	return !r || !s->h2p || r->closed || r->out_done;
}

/* ---- the connection ---- */

/* h2c: frames into x's sbuf as far as it has room, the rest into over (no more is
 * produced until over is empty). */
static size_t conn_room(struct h2mux *m)
{
	struct h2sess *h = OWN(m);

	return h->over.len ? 0 : http_conn_room(h->x);
}

static int conn_out(struct h2mux *m, const uint8_t *p, size_t n)
{
	struct h2sess *h = OWN(m);
	size_t room = http_conn_room(h->x), k = n < room ? n : room;

	http_conn_out(h->x, p, k);
	return k < n ? hb_put(&h->over, p + k, n - k) : 0;
}

static const struct h2mux_ops conn_ops = {
	.begin = on_begin,
	.room = conn_room,
	.output = conn_out,
};

int h2dn_start(struct loop *lp, struct hconn *x)
{
	struct h2mux_cfg cfg = { .server = true, .stream_win = H2DN_STREAM_WIN, .conn_win = H2DN_CONN_WIN,
				 .lim = &lp->cfg->http2, .hits = lp->st.http2_limits };
	struct h2sess *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	list_init(&h->streams);
	if (h2mux_init(&h->own, &cfg, &conn_ops)) {
		free(h);
		return -ENOMEM;
	}
	h->m = &h->own;
	h->x = x;
	h->idle_since_ms = lp->now_ms;
	x->h2 = h;
	x->state = HC_H2;
	x->head_start_ms = 0;
	lp->st.http_h2dn_conns++;
	log_debug("http conn %llu: HTTP/2 (h2c prior knowledge)", (unsigned long long)x->id);
	/* over the memory budget (stage 3): a new connection is refused in HTTP/2 */
	if (overload_shed(lp, OVL_REFUSE_CONNS, OVL_ACT_GOAWAY))
		h2mux_refuse(h->m, OVL_REFUSE_WHY);
	return 0;
}

void h2dn_input(struct loop *lp, struct hconn *x)
{
	struct h2sess *h = SESS(x);
	size_t avail = x->rx.len - x->rx.off;

	if (avail) {
		if (h2mux_feed(h->m, (const uint8_t *)x->rx.p + x->rx.off, avail)) {
			/* its GOAWAY goes out, then conn_flush closes (h2dn_tick a second later if not) */
			log_info("http conn %llu: HTTP/2: %s", (unsigned long long)x->id, nghttp2_strerror(h->m->ng_err));
			h->idle_since_ms = lp->now_ms;
		}
		/* (idle_since_ms: when the last stream ended; PINGs do not keep a session) */
		x->rx.off = x->rx.len;
		h2mux_events(h->m);
	}
	if (x->state != HC_H2)
		return;
	if (x->client_eof) {
		http_conn_close(lp, x, false);
		return;
	}
	h2s_dirty(lp, h);
}

/* An h2c connection's frames into its sbuf, as far as it has room. */
static void conn_flush(struct loop *lp, struct hconn *x)
{
	struct h2sess *h = SESS(x);

	size_t room, k;

	if (x->state != HC_H2)
		return;
	if (h->over.len && (room = http_conn_room(x))) {
		k = h->over.len < room ? h->over.len : room;
		http_conn_out(x, h->over.p, k);
		memmove(h->over.p, h->over.p + k, h->over.len - k);
		h->over.len -= k;
	}
	if (h2mux_produce(h->m)) {
		http_conn_close(lp, x, true);
		return;
	}
	http_conn_kick(lp, x);
	h2mux_events(h->m);
	if (x->state == HC_H2 && h2mux_finished(h->m) && !h->over.len && x->soff == x->slen)
		http_conn_close(lp, x, false);
}

void h2dn_flush_dirty(struct loop *lp)
{
	for (int guard = 0; !list_empty(&lp->http->h2dn_dirty) && guard < 100000; guard++) {
		struct h2sess *h = list_first(&lp->http->h2dn_dirty, struct h2sess, dirty);

		list_del(&h->dirty);
		conn_flush(lp, h->x);
	}
}

/* The connection is going: its streams are reset (they cannot answer any more). */
static void h2s_drop_streams(struct loop *lp, struct h2sess *h)
{
	struct h2req *r;

	list_del(&h->dirty);
	h2mux_unqueue_all(h->m); /* (only http streams ever queue) */
	while ((r = list_first(&h->streams, struct h2req, link))) {
		struct hconn *s = r->x;

		list_del(&r->link);
		/* nghttp2 may outlive the stream's hconn a little (a tunnel session frees its
		 * session later): it must not call back with a pointer to it */
		if (!REQ(s)->closed)
			h2mux_attach(h->m, REQ(s)->sid, NULL);
		REQ(s)->closed = true;
		s->h2p = NULL;
		http_conn_close(lp, s, true);
	}
	h->n_streams = 0;
}

/* x is closing: a connection takes its streams along; a stream leaves its connection
 * (reset unless its response went out whole). */
void h2dn_closing(struct loop *lp, struct hconn *x)
{
	if (x->state == HC_H2 || (x->fd >= 0 && x->h2)) {
		h2s_drop_streams(lp, SESS(x));
		return;
	}
	if (x->h2 && x->h2p) {
		struct h2req *r = REQ(x);
		struct h2sess *h = x->h2p;

		h2mux_unqueue(h->m, &r->ms);
		list_del(&r->link);
		h->n_streams--;
		if (!h->n_streams)
			h->idle_since_ms = lp->now_ms;
		if (!r->closed) {
			if (r->unconsumed)
				nghttp2_session_consume_connection(h->m->ng, r->unconsumed);
			h2mux_attach(h->m, r->sid, NULL);
			if (!r->out_done)
				nghttp2_submit_rst_stream(h->m->ng, NGHTTP2_FLAG_NONE, r->sid, NGHTTP2_INTERNAL_ERROR);
			else if (!r->ended)
				nghttp2_submit_rst_stream(h->m->ng, NGHTTP2_FLAG_NONE, r->sid, NGHTTP2_NO_ERROR);
			r->closed = true;
		}
		h2s_dirty(lp, h);
		x->h2p = NULL;
	}
}

void h2dn_free(struct hconn *x)
{
	if (!x->h2)
		return;
	if (x->fd >= 0) {
		struct h2sess *h = SESS(x);

		h2mux_fini(&h->own);
		buf_free(h->over.p, h->over.cap);
		free(h);
	} else {
		struct h2req *r = REQ(x);

		buf_free(r->rqh.p, r->rqh.cap);
		buf_free(r->tgt.p, r->tgt.cap);
		buf_free(r->trailers.p, r->trailers.cap);
		buf_free(r->rsh.p, r->rsh.cap);
		buf_free(r->rtr.p, r->rtr.cap);
		buf_free(r->rs.tail.p, r->rs.tail.cap);
		free(r);
	}
	x->h2 = NULL;
}

void h2dn_tick(struct loop *lp, struct hconn *x)
{
	struct h2sess *h = SESS(x);

	if ((h->m->ng_err && lp->now_ms - h->idle_since_ms >= 1000) || (lp->draining && !h->n_streams)) {
		http_conn_close(lp, x, h->m->ng_err != 0);
	} else if (h2mux_head_stalled(h->m, lp->cfg->http.head_timeout_ms)) {
		/* GOAWAY; closed a tick later at the latest, as after an error */
		lp->st.slow_clients[STATS_SLOW_HTTP]++;
		h->idle_since_ms = lp->now_ms;
		h2s_dirty(lp, h);
	} else if (!h->n_streams && lp->now_ms - h->idle_since_ms >= lp->cfg->http2.idle_timeout_ms) {
		/* GOAWAY; conn_flush closes once it is out (or the next idle period here) */
		if (h2mux_idle(h->m)) {
			http_conn_close(lp, x, true);
			return;
		}
		h->idle_since_ms = lp->now_ms;
		h2s_dirty(lp, h);
	}
}

/* ---- streams of a tunnel listener session (sess.c) ---- */

void h2dn_tunnel_stream(struct loop *lp, struct h2dn_host *ts, int32_t sid, const char *lines, size_t len, bool end_stream)
{
	static const struct hermes_addr none;
	struct h2sess *h = ts->http;
	struct hconn *s;
	int err = 0;

	if (!h) {
		if (!(h = calloc(1, sizeof(*h)))) {
			nghttp2_submit_rst_stream(ts->mux->ng, NGHTTP2_FLAG_NONE, sid, NGHTTP2_INTERNAL_ERROR);
			return;
		}
		list_init(&h->streams);
		h->m = ts->mux;
		h->ts = ts;
		ts->http = h;
		/* the session is an explicit proxy client of the http action from now on */
		lp->st.http_conns++;
		lp->st.http_fwd_conns++;
		lp->st.http_h2dn_conns++;
	}
	if (h->n_streams >= H2DN_MAX_STREAMS) {
		/* each stream holds an exchange's buffers: beyond this many, the client waits */
		log_debug("tunnel session %llu: stream %d refused: %u requests open", (unsigned long long)ts->id, sid,
			  h->n_streams);
		nghttp2_submit_rst_stream(ts->mux->ng, NGHTTP2_FLAG_NONE, sid, NGHTTP2_REFUSED_STREAM);
		return;
	}
	if (!(s = stream_open(lp, h, sid, &ts->peer, &none, true))) {
		nghttp2_submit_rst_stream(ts->mux->ng, NGHTTP2_FLAG_NONE, sid, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	/* the fields sess.c gathered, "name: value\r\n" (nghttp2 checked names and values) */
	for (size_t off = 0; off < len && !err;) {
		const char *line = lines + off, *eol = memmem(line, len - off, "\r\n", 2);
		const char *colon = eol && eol - line > 1 ? memmem(line + 1, (size_t)(eol - line - 1), ": ", 2) : NULL;

		if (!colon)
			break;
		err = req_field(REQ(s), false, (const uint8_t *)line, (size_t)(colon - line), (const uint8_t *)colon + 2,
				(size_t)(eol - colon - 2));
		off = (size_t)(eol - lines) + 2;
	}
	if (!err)
		err = req_head(REQ(s), end_stream);
	if (!err && end_stream)
		err = req_end(s);
	if (err) {
		http_conn_close(lp, s, true); /* resets the stream */
		return;
	}
	req_event(s);
}

unsigned h2dn_tunnel_streams(const struct h2dn_host *ts)
{
	return ts->http ? ts->http->n_streams : 0;
}

void h2dn_tunnel_close(struct loop *lp, struct h2dn_host *ts)
{
	if (ts->http)
		h2s_drop_streams(lp, ts->http);
}

void h2dn_tunnel_free(struct h2dn_host *ts)
{
	if (!ts->http)
		return;
	buf_free(ts->http->over.p, ts->http->over.cap);
	free(ts->http);
	ts->http = NULL;
}

const struct h2dn_host *h2dn_tunnel_of(const struct hconn *x)
{
	return x->h2p ? x->h2p->ts : NULL;
}
