/* h2dn.c: HTTP/2 clients of the http action. A steered flow whose first bytes are the
 * HTTP/2 connection preface (h2c with prior knowledge) is served by an nghttp2 server
 * session on its hconn (state HC_H2); each request stream is an hconn of its own (fd -1,
 * h2p = the connection) that http.c runs exactly like an HTTP/1.1 request: routed,
 * retried, sent to the route's upstream in its protocol. The translation happens at the
 * HTTP/1.1 byte level: the stream's HEADERS/DATA/trailers are written into the stream's
 * rx as an HTTP/1.1 request (Host from :authority, chunked framing when there is no
 * content-length), and the HTTP/1.1 response http.c writes into its sbuf goes out as
 * HEADERS (status; connection-specific fields dropped, RFC 9113 8.2.2), DATA (de-chunked)
 * and trailers. nghttp2's callbacks only record events; streams hear of them after
 * nghttp2 returns, and frames are produced once per loop batch (h2dn_flush_dirty). A
 * stream's receive window opens only as http.c reads its body. */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2x.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "loop.h"

#define H2DN_MAX_STREAMS 256
#define H2DN_STREAM_WIN 65535
#define H2DN_CONN_WIN (16 * 1024 * 1024)
#define H2DN_MAX_NV (H1_MAX_HEADERS + 4)

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* The connection's state (x->h2 of an HC_H2 hconn). */
struct h2sess {
	nghttp2_session *ng;
	struct hconn *streams;
	unsigned n_streams;
	struct hconn *pending;    /* streams with events to act on */
	bool dirty;
	struct hconn *dnext;      /* lp->http->h2dn_dirty */
	struct hbuf over;         /* frames that did not fit in sbuf */
	uint64_t idle_since_ms;
};

/* A stream's state (x->h2 of a stream hconn). */
struct h2req {
	int32_t sid;
	struct hconn *snext, *sprev, *pnext;
	bool pending;
	bool closed;              /* nghttp2 closed the stream */
	bool reset;               /* the client reset it before the response ended */
	/* the request, into rx */
	struct hbuf pseudo[4];    /* :method, :path, :authority, :scheme */
	struct hbuf hdrs, trailers;
	bool has_cl, has_host, chunked, ended;
	size_t unconsumed;
	/* the response, from sbuf */
	bool resp_sent, out_done, deferred;
	struct h2x_body rs;
};

#define SESS(x) ((struct h2sess *)(x)->h2)
#define REQ(x) ((struct h2req *)(x)->h2)

int h2dn_sniff(const struct hconn *x)
{
	size_t avail = x->rx.len - x->rx.off, n = avail < sizeof(preface) - 1 ? avail : sizeof(preface) - 1;

	if (memcmp(x->rx.p + x->rx.off, preface, n))
		return -1;
	return n == sizeof(preface) - 1 ? 1 : 0;
}

static void sess_dirty(struct loop *lp, struct hconn *p)
{
	struct h2sess *h = SESS(p);

	if (h->dirty || p->state != HC_H2)
		return;
	h->dirty = true;
	h->dnext = lp->http->h2dn_dirty;
	lp->http->h2dn_dirty = p;
}

static void req_event(struct hconn *s)
{
	struct h2req *r = REQ(s);

	if (r->pending || !s->h2p)
		return;
	r->pending = true;
	r->pnext = SESS(s->h2p)->pending;
	SESS(s->h2p)->pending = s;
}

/* Acts on the streams' events (outside nghttp2). */
static void sess_events(struct loop *lp, struct hconn *p)
{
	struct h2sess *h = SESS(p);

	for (int guard = 0; h->pending && guard < 100000; guard++) {
		struct hconn *s = h->pending;
		struct h2req *r = REQ(s);

		h->pending = r->pnext;
		r->pending = false;
		r->pnext = NULL;
		if (r->reset)
			http_conn_close(lp, s, true);
		else
			http_stream_progress(lp, s);
	}
}

/* ---- nghttp2 callbacks ---- */

static struct hconn *stream_of(nghttp2_session *ng, int32_t sid)
{
	return sid > 0 ? nghttp2_session_get_stream_user_data(ng, sid) : NULL;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct hconn *p = ud, *s;
	struct h2req *r;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s = http_stream_new(p->loop, p);
	r = s ? calloc(1, sizeof(*r)) : NULL;
	if (!r) {
		if (s)
			http_conn_close(p->loop, s, true);
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	s->h2 = r;
	r->sid = f->hd.stream_id;
	r->snext = SESS(p)->streams;
	if (r->snext)
		REQ(r->snext)->sprev = s;
	SESS(p)->streams = s;
	SESS(p)->n_streams++;
	p->loop->st.http_h2dn_streams++;
	nghttp2_session_set_stream_user_data(ng, r->sid, s);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	static const char *const pseudo[] = { ":method", ":path", ":authority", ":scheme" };
	struct hconn *s = stream_of(ng, f->hd.stream_id);
	struct h2req *r;
	struct hbuf *b;
	int err = 0;

	(void)flags;
	(void)ud;
	if (!s || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	r = REQ(s);
	if (nl && name[0] == ':') {
		for (unsigned i = 0; i < 4; i++)
			if (strlen(pseudo[i]) == nl && !memcmp(name, pseudo[i], nl))
				err |= hb_put(&r->pseudo[i], value, vl);
		return err ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
	}
	b = f->headers.cat == NGHTTP2_HCAT_REQUEST ? &r->hdrs : &r->trailers;
	if (b == &r->hdrs && nl == 14 && !memcmp(name, "content-length", 14))
		r->has_cl = true;
	if (b == &r->hdrs && nl == 4 && !memcmp(name, "host", 4))
		r->has_host = true;
	err |= hb_put(b, name, nl);
	err |= hb_put(b, ": ", 2);
	err |= hb_put(b, value, vl);
	err |= hb_put(b, "\r\n", 2);
	return err ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

/* The request head as HTTP/1.1 (RFC 9113 8.3.1: Host from :authority). */
static int req_head(struct hconn *s, bool end_stream)
{
	struct h2req *r = REQ(s);
	struct hbuf *m = &r->pseudo[0], *path = &r->pseudo[1], *auth = &r->pseudo[2];
	int err = 0;

	err |= m->len ? rx_put(&s->rx, m->p, m->len) : rx_put(&s->rx, "GET", 3);
	err |= rx_put(&s->rx, " ", 1);
	if (path->len)
		err |= rx_put(&s->rx, path->p, path->len);
	else if (auth->len) /* CONNECT: refused by http.c with 405 */
		err |= rx_put(&s->rx, auth->p, auth->len);
	else
		err |= rx_put(&s->rx, "/", 1);
	err |= rx_put(&s->rx, " HTTP/1.1\r\n", 11);
	if (!r->has_host && auth->len) {
		err |= rx_put(&s->rx, "host: ", 6);
		err |= rx_put(&s->rx, auth->p, auth->len);
		err |= rx_put(&s->rx, "\r\n", 2);
	}
	if (r->hdrs.len)
		err |= rx_put(&s->rx, r->hdrs.p, r->hdrs.len);
	if (!end_stream && !r->has_cl) {
		err |= rx_put(&s->rx, "transfer-encoding: chunked\r\n", 28);
		r->chunked = true;
	}
	err |= rx_put(&s->rx, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

static int req_end(struct hconn *s)
{
	struct h2req *r = REQ(s);

	if (r->ended)
		return 0;
	r->ended = true;
	return h2x_put_end(&s->rx, r->chunked, &r->trailers);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct hconn *s = stream_of(ng, f->hd.stream_id);
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
	int err = 0;

	(void)ud;
	if (!s)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
		err = req_head(s, end);
	if (!err && end && (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA))
		err = req_end(s);
	req_event(s);
	return err ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	struct hconn *s = stream_of(ng, sid);
	int err;

	(void)flags;
	(void)ud;
	if (!s) {
		nghttp2_session_consume(ng, sid, len);
		return 0;
	}
	err = h2x_put_data(&s->rx, REQ(s)->chunked, data, len);
	REQ(s)->unconsumed += len;
	req_event(s);
	return err ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *ud)
{
	struct hconn *s = stream_of(ng, sid);
	struct h2req *r;

	(void)code;
	(void)ud;
	if (!s)
		return 0;
	r = REQ(s);
	r->closed = true;
	if (r->unconsumed)
		nghttp2_session_consume_connection(ng, r->unconsumed);
	r->unconsumed = 0;
	nghttp2_session_set_stream_user_data(ng, sid, NULL);
	if (!r->out_done) {
		/* the client gave up on it: the exchange ends (its upstream attempt too) */
		r->reset = true;
		req_event(s);
	}
	return 0;
}

/* The response body as DATA: from the stream's sbuf, de-chunked, trailers at the end. */
static ssize_t read_resp(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct hconn *s = stream_of(ng, sid);
	struct h2req *r;
	size_t used, out;

	(void)src;
	(void)ud;
	if (!s)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	r = REQ(s);
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
	return h2x_data_result(ng, sid, &r->rs, out, flags, &r->deferred);
}

/* ---- the stream's response: sbuf -> frames ---- */

void h2dn_output(struct loop *lp, struct hconn *s)
{
	struct h2req *r = REQ(s);
	struct hconn *p = s->h2p;
	struct h1_limits lim = { .max_head = 1 << 20, .max_line = 1 << 20 };
	nghttp2_data_provider prd = { .read_callback = read_resp };

	if (!r || !p || r->closed || r->out_done) {
		s->soff = s->slen = 0; /* nobody to read it */
		return;
	}
	while (!r->resp_sent && s->soff < s->slen) {
		struct h1_response resp;
		nghttp2_nv nv[H2DN_MAX_NV];
		char status[4], lbuf[H1_DEFAULT_MAX_HEAD];
		int n = h1_parse_response(s->sbuf + s->soff, s->slen - s->soff, &lim, &resp);
		long long cl;
		bool chunked, bodyless;
		size_t k = 0;

		if (n == 0)
			return;
		if (n < 0 || h1_body_framing(resp.headers, resp.n_headers, &cl, &chunked)) {
			nghttp2_submit_rst_stream(SESS(p)->ng, NGHTTP2_FLAG_NONE, r->sid, NGHTTP2_INTERNAL_ERROR);
			r->out_done = true;
			s->soff = s->slen = 0;
			sess_dirty(lp, p);
			return;
		}
		snprintf(status, sizeof(status), "%03d", resp.status);
		nv[k++] = h2x_nv(":status", 7, status, 3);
		k += h2x_nv_from_h1(resp.headers, resp.n_headers, nv + k, H2DN_MAX_NV - k, lbuf);
		s->soff += (size_t)n;
		if (resp.status < 200) {
			nghttp2_submit_headers(SESS(p)->ng, NGHTTP2_FLAG_NONE, r->sid, NULL, nv, k, NULL);
			continue;
		}
		bodyless = s->is_head || resp.status == 204 || resp.status == 304;
		r->rs.mode = chunked ? H2X_CHUNKED : cl >= 0 ? H2X_CL : H2X_EOF;
		r->rs.left = cl > 0 ? cl : 0;
		r->rs.done = bodyless || (!chunked && cl == 0);
		r->resp_sent = true;
		nghttp2_submit_response(SESS(p)->ng, r->sid, nv, k, r->rs.done ? NULL : &prd);
		if (r->rs.done) {
			r->out_done = true;
			s->soff = s->slen; /* a body hermesd wrote for a HEAD request */
			req_event(s);
		}
	}
	if (s->soff == s->slen)
		s->soff = s->slen = 0;
	if (r->resp_sent && r->deferred) {
		r->deferred = false;
		nghttp2_session_resume_data(SESS(p)->ng, r->sid);
	}
	sess_dirty(lp, p);
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
	nghttp2_session_consume(SESS(s->h2p)->ng, r->sid, k);
	sess_dirty(lp, s->h2p);
}

bool h2dn_out_done(const struct hconn *s)
{
	const struct h2req *r = REQ(s);

	return !r || !s->h2p || r->closed || r->out_done;
}

/* ---- the connection ---- */

int h2dn_start(struct loop *lp, struct hconn *x)
{
	static const struct h2x_callbacks cb = { .begin_headers = on_begin_headers, .header = on_header,
						 .frame_recv = on_frame_recv, .data = on_data,
						 .stream_close = on_stream_close };
	struct h2sess *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	if (h2x_session_new(&h->ng, true, x, &cb, H2DN_MAX_STREAMS, H2DN_STREAM_WIN, H2DN_CONN_WIN)) {
		free(h);
		return -ENOMEM;
	}
	h->idle_since_ms = lp->now_ms;
	x->h2 = h;
	x->state = HC_H2;
	x->head_start_ms = 0;
	lp->st.http_h2dn_conns++;
	log_debug("http conn %llu: HTTP/2 (h2c prior knowledge)", (unsigned long long)x->id);
	return 0;
}

void h2dn_input(struct loop *lp, struct hconn *x)
{
	struct h2sess *h = SESS(x);
	size_t avail = x->rx.len - x->rx.off;

	if (avail) {
		ssize_t rv = nghttp2_session_mem_recv(h->ng, (const uint8_t *)x->rx.p + x->rx.off, avail);

		if (rv < 0) {
			log_info("http conn %llu: HTTP/2: %s", (unsigned long long)x->id, nghttp2_strerror((int)rv));
			http_conn_close(lp, x, true);
			return;
		}
		x->rx.off = x->rx.len;
		h->idle_since_ms = lp->now_ms;
		sess_events(lp, x);
	}
	if (x->state != HC_H2)
		return;
	if (x->client_eof) {
		http_conn_close(lp, x, false);
		return;
	}
	sess_dirty(lp, x);
}

static void sess_flush(struct loop *lp, struct hconn *x)
{
	struct h2sess *h = SESS(x);

	if (x->state != HC_H2)
		return;
	for (;;) {
		size_t room = http_conn_room(x), k;
		const uint8_t *d;
		ssize_t n;

		if (!room)
			break;
		if (h->over.len) {
			k = h->over.len < room ? h->over.len : room;
			http_conn_out(x, h->over.p, k);
			memmove(h->over.p, h->over.p + k, h->over.len - k);
			h->over.len -= k;
			continue;
		}
		n = nghttp2_session_mem_send(h->ng, &d);
		if (n < 0) {
			http_conn_close(lp, x, true);
			return;
		}
		if (!n)
			break;
		k = (size_t)n < room ? (size_t)n : room;
		http_conn_out(x, d, k);
		if (k < (size_t)n && hb_put(&h->over, d + k, (size_t)n - k)) {
			http_conn_close(lp, x, true);
			return;
		}
	}
	http_conn_kick(lp, x);
	sess_events(lp, x);
	if (x->state == HC_H2 && !nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng) &&
	    !h->over.len && x->soff == x->slen)
		http_conn_close(lp, x, false);
}

void h2dn_flush_dirty(struct loop *lp)
{
	for (int guard = 0; lp->http->h2dn_dirty && guard < 100000; guard++) {
		struct hconn *x = lp->http->h2dn_dirty;

		lp->http->h2dn_dirty = SESS(x)->dnext;
		SESS(x)->dirty = false;
		SESS(x)->dnext = NULL;
		sess_flush(lp, x);
	}
}

/* x is closing: a connection takes its streams along; a stream leaves its connection
 * (reset unless its response went out whole). */
void h2dn_closing(struct loop *lp, struct hconn *x)
{
	if (x->state == HC_H2 || (x->fd >= 0 && x->h2)) {
		struct h2sess *h = SESS(x);

		if (h->dirty) {
			for (struct hconn **pp = &lp->http->h2dn_dirty; *pp; pp = &SESS(*pp)->dnext)
				if (*pp == x) {
					*pp = h->dnext;
					break;
				}
			h->dirty = false;
		}
		while (h->pending) {
			struct hconn *s = h->pending;

			h->pending = REQ(s)->pnext;
			REQ(s)->pending = false;
		}
		while (h->streams) {
			struct hconn *s = h->streams;

			h->streams = REQ(s)->snext;
			REQ(s)->snext = REQ(s)->sprev = NULL;
			REQ(s)->closed = true;
			s->h2p = NULL;
			http_conn_close(lp, s, true);
		}
		h->n_streams = 0;
		return;
	}
	if (x->h2 && x->h2p) {
		struct h2req *r = REQ(x);
		struct h2sess *h = SESS(x->h2p);

		if (r->pending) {
			for (struct hconn **pp = &h->pending; *pp; pp = &REQ(*pp)->pnext)
				if (*pp == x) {
					*pp = r->pnext;
					break;
				}
			r->pending = false;
		}
		if (r->sprev)
			REQ(r->sprev)->snext = r->snext;
		else
			h->streams = r->snext;
		if (r->snext)
			REQ(r->snext)->sprev = r->sprev;
		h->n_streams--;
		if (!h->n_streams)
			h->idle_since_ms = lp->now_ms;
		if (!r->closed) {
			if (r->unconsumed)
				nghttp2_session_consume_connection(h->ng, r->unconsumed);
			nghttp2_session_set_stream_user_data(h->ng, r->sid, NULL);
			if (!r->out_done)
				nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, r->sid, NGHTTP2_INTERNAL_ERROR);
			else if (!r->ended)
				nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, r->sid, NGHTTP2_NO_ERROR);
			r->closed = true;
		}
		sess_dirty(lp, x->h2p);
		x->h2p = NULL;
	}
}

void h2dn_free(struct hconn *x)
{
	if (!x->h2)
		return;
	if (x->fd >= 0) {
		struct h2sess *h = SESS(x);

		nghttp2_session_del(h->ng);
		free(h->over.p);
		free(h);
	} else {
		struct h2req *r = REQ(x);

		for (unsigned i = 0; i < 4; i++)
			free(r->pseudo[i].p);
		free(r->hdrs.p);
		free(r->trailers.p);
		free(r->rs.tail.p);
		free(r);
	}
	x->h2 = NULL;
}

void h2dn_tick(struct loop *lp, struct hconn *x)
{
	struct h2sess *h = SESS(x);

	if (!h->n_streams &&
	    (lp->draining || lp->now_ms - h->idle_since_ms >= lp->cfg->http.keepalive_timeout_ms))
		http_conn_close(lp, x, false);
}
