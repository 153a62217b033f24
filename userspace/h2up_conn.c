/* h2up_conn.c: the http action's HTTP/2 upstream connections (h2up.c has the overview
 * and the streams): a connection's set-up (TLS for `h2`, nghttp2 on memory), its bytes
 * in (through OpenSSL over TLS) and frames out within H2UP_OUT_HIGH of the socket, the
 * batch flush, the idle tick, and its death, which every stream's exchange hears. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "h2mux.h"
#include "h2up-int.h"
#include "http.h"
#include "log.h"
#include "ring.h"
#include "tls.h"

#define H2UP_STREAM_WIN (256 * 1024)
#define H2UP_CONN_WIN (1 << 30)
#define H2UP_OUT_HIGH (256 * 1024) /* frames produced ahead of the socket at most */

static void on_goaway(struct h2mux *m)
{
	CONN(MC(m))->goaway = true;
}

/* ---- connections ---- */

/* Frames (encrypted over TLS) go into wq, at most H2UP_OUT_HIGH ahead of the socket,
 * and only once the handshake is done. */
static size_t out_room(struct h2mux *m)
{
	struct hup *c = MC(m);

	if (c->tls && !c->tls->x.hs_done)
		return 0;
	return c->wq.len < H2UP_OUT_HIGH ? H2UP_OUT_HIGH - c->wq.len : 0;
}

static int out_put(struct h2mux *m, const uint8_t *p, size_t n)
{
	struct hup *c = MC(m);

	return c->tls ? tls_xprt_write(&c->tls->x, p, n) : hb_put(&c->wq, p, n);
}

static const struct h2mux_ops conn_ops = {
	.goaway = on_goaway,
	.room = out_room,
	.output = out_put,
};

int h2up_conn_init(struct loop *lp, struct hup *c, const struct hconn *x)
{
	/* no streams towards us (no push): a stream limit of 0 */
	struct h2mux_cfg cfg = { .max_streams_set = true, .max_streams = 0, .stream_win = H2UP_STREAM_WIN,
				 .conn_win = H2UP_CONN_WIN };
	struct h2conn *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->c = c;
	list_init(&h->streams);
	c->h2 = h;
	if (x->proto == HPROTO_H2) {
		int err = hup_tls_start(c, x->rt->tls_client, x->tls_name, "h2");

		if (err)
			return err;
	}
	if (h2mux_init(&h->m, &cfg, &conn_ops))
		return -ENOMEM;
	lp->st.http_h2up_conns++;
	return 0;
}

/* The connection died: every stream's exchange hears it. */
static void conn_fail(struct loop *lp, struct hup *c, int why, int err)
{
	struct h2conn *h = CONN(c);
	struct list fail;
	struct h2stream *s;

	if (c->state == HUP_CLOSING)
		return;
	log_debug("http: h2 upstream connection failed (%s), %u stream(s)", strerror(-err), h->n_streams);
	/* what the connection delivered before it died goes first (complete responses) */
	h2mux_events(&h->m);
	if (c->state == HUP_CLOSING)
		return;
	list_init(&fail);
	while ((s = list_first(&h->streams, struct h2stream, link))) {
		struct hup *u = s->u;

		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): a stream on h->streams has its conn: h2up_stream_detach takes it off */
		h2up_stream_detach(u);
		s->closed = true;
		if (s->released || !u->x) {
			h2up_stream_maybe_free(u);
			continue;
		}
		list_add(&fail, &s->link);
	}
	hup_close(lp, c);
	while ((s = list_first(&fail, struct h2stream, link))) {
		struct hup *u = s->u;
		struct hconn *x = u->x;
		/* a request whose HEADERS never left was not processed anywhere */
		int kind = why == HUP_F_RESET && !s->submitted ? HUP_F_REFUSED : why;

		list_del(&s->link);
		u->x = NULL;
		s->released = true;
		h2up_stream_maybe_free(u);
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): http_up_failed compares u (which attempt), never reads it */
		http_up_failed(lp, x, u, kind, err);
	}
}

void h2up_conn_free(struct loop *lp, struct hup *c)
{
	struct h2conn *h = CONN(c);
	struct h2stream *s;

	(void)lp;
	if (!h)
		return;
	h2mux_unqueue_all(&h->m);
	while ((s = list_first(&h->streams, struct h2stream, link))) {
		struct hup *u = s->u;

		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): a stream on h->streams has its conn: h2up_stream_detach takes it off */
		h2up_stream_detach(u);
		ST(u)->released = true;
		if (u->x)
			http_up_gone(u->x, u);
		h2up_stream_free(u);
	}
	list_del(&c->pool);
	list_del(&h->dirty);
	h2mux_fini(&h->m);
	free(h);
	c->h2 = NULL;
}

/* TLS: the ciphertext in rx[0..n) through OpenSSL, the plaintext into nghttp2. 0, or
 * -errno (-ECONNRESET after the origin's close_notify; -EPROTO, logged, for a failed
 * handshake or a bad record). */
static int tls_input(struct loop *lp, struct hup *c, size_t n)
{
	struct tls_xprt *t = &c->tls->x;
	uint8_t buf[16384];
	char what[160], why[320];

	tls_xprt_input(t, c->rx.p, n);
	if (!t->hs_done) {
		if (hup_tls_handshake(lp, c))
			return -EPROTO;
		if (!t->hs_done)
			return 0;
	}
	for (;;) {
		long r = tls_xprt_read(t, buf, sizeof(buf), why, sizeof(why));

		if (r > 0) {
			if (h2mux_feed(&CONN(c)->m, buf, (size_t)r))
				return -EPROTO;
			continue;
		}
		if (r == -EAGAIN)
			return 0;
		if (r == 0)
			return -ECONNRESET;
		log_info("http: TLS from origin %s: %s", hup_what(c, what, sizeof(what)), why);
		return -EPROTO;
	}
}

/* Frames out (encrypted over TLS): into wq while a send is in flight, then swapped into
 * wbuf. */
static void conn_flush(struct loop *lp, struct hup *c)
{
	struct h2conn *h = CONN(c);

	int err;

	if (c->state != HUP_OPEN)
		return;
	if ((err = h2mux_produce(&h->m))) {
		conn_fail(lp, c, HUP_F_RESET, err);
		return;
	}
	hup_send_queued(lp, c);
	h2mux_events(&CONN(c)->m);
	if (c->state == HUP_OPEN && !h->n_streams && h2mux_finished(&h->m) && c->woff == c->wlen)
		hup_close(lp, c);
}

void h2up_flush_dirty(struct loop *lp)
{
	for (int guard = 0; !list_empty(&lp->http->h2up_dirty) && guard < 100000; guard++) {
		struct h2conn *h = list_first(&lp->http->h2up_dirty, struct h2conn, dirty);

		list_del(&h->dirty);
		conn_flush(lp, h->c);
	}
}

void h2up_on_connect(struct loop *lp, struct hup *c, int res)
{
	if (c->state == HUP_CLOSING)
		return;
	if (res < 0) {
		conn_fail(lp, c, HUP_F_CONNECT, res == -ECANCELED ? -ETIMEDOUT : res);
		return;
	}
	c->state = HUP_OPEN;
	if (c->tls && hup_tls_handshake(lp, c)) { /* the ClientHello */
		conn_fail(lp, c, HUP_F_TLS, -EPROTO);
		return;
	}
	hup_arm_recv(lp, c);
	conn_dirty(lp, c);
}

void h2up_on_recv(struct loop *lp, struct hup *c, int res)
{
	c->recv_armed = false;
	if (c->state == HUP_CLOSING)
		return;
	if (res <= 0) {
		/* a connection that never finished its handshake never carried a request */
		bool hs = c->tls && !c->tls->x.hs_done;

		if (hs)
			hup_tls_lost(lp, c, res);
		conn_fail(lp, c, hs ? HUP_F_TLS : HUP_F_RESET, res ? res : -ECONNRESET);
		return;
	}
	buf_touch(&c->rx_touched, (size_t)res); /* the recv wrote rx[0..res) */
	CONN(c)->rx_ms = lp->now_ms;
	if (c->tls) {
		bool was_done = c->tls->x.hs_done;
		int err = tls_input(lp, c, (size_t)res);

		if (err) {
			conn_fail(lp, c, was_done ? HUP_F_RESET : HUP_F_TLS, err);
			return;
		}
	} else if (h2mux_feed(&CONN(c)->m, (const uint8_t *)c->rx.p, (size_t)res)) {
		conn_fail(lp, c, HUP_F_RESET, -EPROTO);
		return;
	}
	c->rx.off = c->rx.len = 0;
	c->idle_since_ms = lp->now_ms;
	h2mux_events(&CONN(c)->m);
	if (c->state == HUP_OPEN) {
		hup_arm_recv(lp, c);
		conn_dirty(lp, c);
	}
}

void h2up_on_send(struct loop *lp, struct hup *c, int res)
{
	c->send_inflight = false;
	if (c->state == HUP_CLOSING)
		return;
	if (res < 0) {
		conn_fail(lp, c, HUP_F_RESET, res);
		return;
	}
	c->woff += (size_t)res;
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
	else
		hup_kick_send(lp, c);
	conn_dirty(lp, c);
}

void h2up_tick(struct loop *lp, struct hup *c)
{
	struct h2conn *h = CONN(c);

	if (hup_tls_overdue(lp, c)) {
		conn_fail(lp, c, HUP_F_TLS, -ETIMEDOUT);
		return;
	}
	if (c->state != HUP_OPEN || h->n_streams)
		return;
	if (lp->draining || h->goaway || lp->now_ms - c->idle_since_ms >= lp->cfg->http.pool_idle_timeout_ms) {
		nghttp2_session_terminate_session(h->m.ng, NGHTTP2_NO_ERROR);
		h->goaway = true;
		conn_dirty(lp, c);
	}
}
