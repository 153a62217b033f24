/* sess_h2.c: HTTP/2 CONNECT streams on tunnel connections (nghttp2 on memory), each
 * the endpoint of a flow, and the pool of client connections per peer.
 *
 * Server side: each CONNECT stream (RFC 9113 8.5) becomes a flow (struct conn) whose
 * client endpoint is the stream; its head is turned into the HTTP/1.1 form so that
 * tunnel.c validates, authorizes and routes it exactly as a CONNECT over TCP. A stream
 * whose method is not CONNECT (an explicit proxy request: `GET` with :scheme http and
 * :authority IP:PORT) is handed to the http action once its head is complete (h2dn.c):
 * from then on the stream carries h2dn's stream ops, so its frames go straight there
 * (h2mux.c dispatches by stream); the two kinds of stream share the connection and its
 * windows.
 *
 * Client side: the `tunnel` action's flows to an h2 peer become streams on a pooled
 * connection per peer (a new one when the stream limit or the bandwidth threshold is
 * reached). A connect or TLS failure fails every waiting stream, whose flow moves to
 * the route's next peer before the application notices.
 *
 * DATA received over TLS is decrypted straight into the stream's receive ring
 * (sess_h2rx.c): on_data_chunk then only counts it in.
 *
 * This file has the stream as a flow's endpoint (sess_h2_ops), DATA out straight from
 * the source endpoint's buffers, and the connection's life; what nghttp2 reports (a
 * stream's head, answer, DATA, close) is sess_h2cb.c's, the pool sess_h2pool.c's.
 *
 * Flow control is per stream: a stream's window is the most its receive ring holds,
 * opened again only as the bytes leave (nghttp2_session_consume), so a slow reader
 * holds back its own stream and nothing else. A window is a bandwidth-delay product
 * (one flow moves at most a window per round trip), set per side: on the tunnel
 * listener tunnel.stream_buffer_bytes and tunnel.conn_buffer_bytes, also what a client
 * can make it hold for targets that do not read (over tunnel.total_buffer_mb held by
 * all, new streams are refused); on our pooled connections tunnel.h2_stream_window_bytes
 * and h2_conn_window_bytes. The ring grows only as bytes wait in it. The end of a
 * direction is END_STREAM both ways; a reset is RST_STREAM(CONNECT_ERROR) and back. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ep.h"
#include "h2mux.h"
#include "http.h"
#include "log.h"
#include "overload.h"
#include "ring.h"
#include "sess-int.h"

#define SESS_FRAME_MAX (256 * 1024) /* DATA frame payloads we send and accept (SETTINGS) */

#define NG(s) ((s)->mux.ng)
#define ST(e) loop_container_of(e, struct sstream, e)
#define MST(m) loop_container_of(m, struct sstream, ms)
#define SESS(m) loop_container_of(m, struct sess, mux)

void sess_h2_stream_off(struct sstream *st)
{
	struct sess *s = st->s;

	if (!s)
		return;
	if (s->mux.ng && st->sid > 0)
		h2mux_attach(&s->mux, st->sid, NULL);
	/* bytes it received that nobody will pass on (a refused CONNECT's optimistic DATA, a
	 * reset): the connection's window gets them back, else each would shrink it for good */
	if (s->mux.ng && st->rx.len && s->state != SESS_CLOSING) {
		nghttp2_session_consume_connection(NG(s), st->rx.len);
		sess_dirty(s);
	}
	s->held -= st->held; /* its bytes no longer hold the connection's window */
	sess_unlink(st);
}

/* A stream of s leaves, told err (its owner hears it unless it closed it). */
static void sess_stream_gone(struct sstream *st, int err)
{
	struct loop *lp = st->s ? st->s->loop : NULL;

	sess_h2_stream_off(st);
	if (!st->e.own) { /* a request head still coming in: nobody else holds it */
		sess_stream_free(st);
		return;
	}
	if (st->started && lp)
		lp->st.h2_resets++;
	ep_error(&st->e, err);
}

/* ---- the endpoint ---- */

static void h2s_read(struct ep *e)
{
	(void)e; /* DATA arrives as the window allows */
}

static int h2s_write(struct ep *e, const void *p, size_t n)
{
	(void)e;
	(void)p;
	(void)n;
	return -EOPNOTSUPP; /* a stream's setup is its HEADERS */
}

static void h2s_reply(struct ep *e, int status, const char *h1, size_t h1_len)
{
	struct sstream *st = ST(e);
	struct sess *s = st->s;
	char sts[8];
	nghttp2_nv nv[] = {
		{ (uint8_t *)":status", (uint8_t *)sts, 7, 0, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"capsule-protocol", (uint8_t *)"?1", 16, 2, NGHTTP2_NV_FLAG_NONE },
	};
	/* a CONNECT-UDP answer (tunnel.c's HTTP/1.1 101 says it): capsules follow (RFC 9297 3.4) */
	bool capsules = status == 200 && h1 && memmem(h1, h1_len, "\r\nCapsule-Protocol: ?1\r\n", 24);

	if (!s || st->sid <= 0)
		return;
	snprintf(sts, sizeof(sts), "%d", status);
	nv[0].valuelen = strlen(sts);
	/* 200 keeps the stream open for the tunnel's DATA; an error ends it */
	if (nghttp2_submit_response(NG(s), st->sid, nv, capsules ? 2 : 1, status == 200 ? &h2mux_body : NULL))
		log_debug("tunnel session %llu: cannot answer stream %d", (unsigned long long)s->id, st->sid);
	if (status != 200)
		e->shut = true;
	sess_dirty(s);
}

static void h2s_consume(struct ep *e, size_t n)
{
	struct sstream *st = ST(e);

	ep_ring_consume(&st->rx, n);
	if (st->gauge) {
		size_t d = n < st->held ? n : st->held;

		st->held -= d;
		*st->gauge -= d;
		if (st->s)
			st->s->held -= d;
	}
	if (!st->s || !st->s->mux.ng || st->sid <= 0)
		return;
	nghttp2_session_consume(NG(st->s), st->sid, n);
	sess_dirty(st->s);
}

/* Bytes (or the source's end) for the stream: its data source reads them when the
 * frames are produced. */
static void h2s_kick(struct ep *e)
{
	struct sstream *st = ST(e);

	if (!st->s || !st->s->mux.ng || st->sid <= 0 || e->shut)
		return;
	nghttp2_session_resume_data(NG(st->s), st->sid);
	sess_dirty(st->s);
}

static void h2s_close(struct ep *e, enum ep_end how, bool orphan)
{
	struct sstream *st = ST(e);
	struct sess *s = st->s;
	uint32_t err = how == EP_END_RESET ? NGHTTP2_CONNECT_ERROR : how == EP_END_CANCEL ? NGHTTP2_CANCEL : 0;

	if (s) {
		/* both directions ended, or ours did with nothing wrong (an error reply): the
		 * stream closes by itself; a reset could overtake the reply */
		if (s->mux.ng && st->sid > 0 && err && !(e->shut && e->eof) && nghttp2_session_find_stream(NG(s), st->sid))
			nghttp2_submit_rst_stream(NG(s), NGHTTP2_FLAG_NONE, st->sid, err);
		sess_h2_stream_off(st);
		sess_dirty(s);
	}
	if (orphan)
		sess_stream_free(st);
}

const struct ep_ops sess_h2_ops = {
	.kind = "h2-stream",
	.start = sess_stream_start,
	.read = h2s_read,
	.write = h2s_write,
	.reply = h2s_reply,
	.peek = sess_stream_peek,
	.avail = sess_stream_avail,
	.consume = h2s_consume,
	.kick = h2s_kick,
	.shutdown = h2s_kick, /* the data source ends the stream once the source is empty */
	.close = h2s_close,
	.busy = sess_stream_busy,
	.free = sess_stream_free_ep,
	.sock = sess_stream_sock,
};

/* ---- DATA out: straight from the source endpoint's buffers ---- */

/* Optimistic data, before the peer's answer: the part of the source's first contiguous
 * run not sent yet. The run only grows while the flow waits (nothing consumes it), so an
 * offset into it stays valid; no END_STREAM before the answer (the relay sends it). */
static ssize_t early_read(struct sstream *st, struct ep *from, size_t len)
{
	const uint8_t *p;
	size_t n;

	if (!st->early)
		return NGHTTP2_ERR_DEFERRED;
	ep_peek(from, &p, &n);
	if (n <= st->early_sent)
		return NGHTTP2_ERR_DEFERRED;
	n -= st->early_sent;
	return (ssize_t)(n < len ? n : len);
}

/* How much the source holds; the bytes themselves are copied once, straight into the
 * output, by send_data (NO_COPY). */
ssize_t sess_h2_data_read(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint8_t *buf, size_t len,
			  uint32_t *flags)
{
	struct sstream *st = MST(ms);
	struct ep *from;
	ssize_t early;
	size_t avail;

	(void)m;
	(void)sid;
	(void)buf;
	if (!(from = st->e.src))
		return NGHTTP2_ERR_DEFERRED;
	if (!st->started) {
		if ((early = early_read(st, from, len)) > 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
		return early;
	}
	avail = ep_avail(from);
	if (avail > len)
		avail = len;
	else if (from->eof)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	if (!avail && !(*flags & NGHTTP2_DATA_FLAG_EOF))
		return NGHTTP2_ERR_DEFERRED;
	if (avail)
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	return (ssize_t)avail;
}

/* A DATA payload's bytes. Over TLS a large one goes in records of its own, after the
 * frames gathered before them (sess_out), so that the receiving hermesd finds it at the
 * start of a record and decrypts it straight into its stream's buffer (sess_h2rx.c). A
 * small one (at most TLS_STAGE_SMALL: a short flow's messages, such as the steps of an
 * application's own TLS handshake) is gathered with its header and the turn's other
 * frames, every stream's, into one record: a record costs a few microseconds to seal
 * and again to open whatever its size, more than copying a small payload on each side. */
static int out_payload(struct sess *s, const uint8_t *p, size_t n, bool small)
{
	return s->tls && !small ? tls_xprt_write(&s->x, p, n) : sess_out(s, p, n);
}

int sess_h2_send_data(struct h2mux *m, struct h2mux_stream *ms, const uint8_t *framehd, size_t len)
{
	struct sess *s = SESS(m);
	struct sstream *st = MST(ms);
	bool small = len <= TLS_STAGE_SMALL;

	if (!st->e.src)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	/* h2mux_produce checks the room before each nghttp2 send, and one send can write
	 * several DATA frames through here: past SESS_OBUF_MAX the frame waits (nghttp2 calls
	 * again with the same frame once the output drained and h2mux_produce runs again), so
	 * the output holds at most SESS_OBUF_MAX and one frame */
	if (sess_out_len(s) >= SESS_OBUF_MAX)
		return NGHTTP2_ERR_WOULDBLOCK;
	/* the 9-byte header, then the bytes straight from the source's buffers: over TLS the
	 * header is sealed with the frames before it (sess_out), a large payload in records
	 * of its own, which costs less than copying a frame (up to SESS_FRAME_MAX) together
	 * just to seal it in one piece, and lets a receiving hermesd decrypt every record of
	 * the payload straight into its stream's ring (sess_h2_rx_place); a small payload
	 * joins the header (out_payload) */
	if (sess_out(s, framehd, 9))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	s->bytes += 9 + len;
	if (!st->started) {
		/* optimistic: copied from where the last one ended, left in the source */
		const uint8_t *p;
		size_t n;

		ep_peek(st->e.src, &p, &n);
		if (n < st->early_sent + len || out_payload(s, p + st->early_sent, len, small))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		if (!st->early_sent)
			s->loop->st.tunnel_optimistic[TUNNEL_OPT_SENT]++;
		st->early_sent += (uint32_t)len;
		return 0;
	}
	while (len) {
		const uint8_t *p;
		size_t n;

		ep_peek(st->e.src, &p, &n);
		if (!n)
			return NGHTTP2_ERR_CALLBACK_FAILURE; /* data_read promised more */
		if (n > len)
			n = len;
		if (out_payload(s, p, n, small))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		ep_consume(st->e.src, n);
		len -= n;
	}
	return 0;
}

/* ---- the connection ---- */

/* An http stream of s (h2dn.c's) has frames to produce. */
static void host_kick(struct h2dn_host *h)
{
	sess_dirty(loop_container_of(h, struct sess, host));
}

int sess_h2_start(struct sess *s)
{
	struct loop *lp = s->loop;
	/* a client never opens a stream to us: no stream limit to send (0 would be "none") */
	struct h2mux_cfg cfg = { .server = s->server, .connect_protocol = s->server, .stream_win = lp->cfg->h2_stream_window,
				 .conn_win = (int32_t)lp->cfg->h2_conn_window, .frame_max = SESS_FRAME_MAX,
				 .lim = s->server ? &lp->cfg->http2 : NULL, .hits = lp->st.http2_limits };

	if (s->server) {
		/* what a client may make the listener hold toward targets that do not read:
		 * per stream and per connection, by flow control (windows open as bytes leave) */
		cfg.stream_win = lp->cfg->tunnel_stream_buffer;
		cfg.conn_win = (int32_t)lp->cfg->tunnel_conn_buffer;
	}
	s->stream_win = cfg.stream_win;
	/* a client's first bytes are its preface, then frames */
	s->rx_pass = s->server ? 24 : 0;

	if (h2mux_init(&s->mux, &cfg, &sess_h2_mux_ops)) {
		sess_close(s, -ENOMEM, "out of memory for HTTP/2");
		return -ENOMEM;
	}
	s->host.mux = &s->mux;
	s->host.kick = host_kick;
	s->host.peer = s->paddr;
	s->host.id = s->id;
	s->host.sans = (const char (*)[128])s->sans;
	s->host.n_sans = s->n_sans;
	s->state = SESS_OPEN;
	lp->st.sess_opened++;
	/* over the memory budget (stage 3): a new connection is refused in HTTP/2 */
	if (s->server && overload_shed(lp, OVL_REFUSE_CONNS, OVL_ACT_GOAWAY))
		h2mux_refuse(&s->mux, OVL_REFUSE_WHY);
	if (!s->server) {
		struct sstream *st, *next;
		int err;

		/* the streams that waited for the connection */
		list_for_each_safe(st, next, &s->streams, link) {
			if (!st->sid && (err = sess_h2_submit(s, st))) {
				sess_h2_stream_off(st);
				ep_error(&st->e, err);
			}
		}
	}
	sess_dirty(s);
	return 0;
}

void sess_h2_feed(struct sess *s, const uint8_t *p, size_t n)
{
	int err;

	s->in_ng++;
	err = h2mux_feed(&s->mux, p, n);
	s->in_ng--;
	if (!err)
		h2mux_events(&s->mux); /* its http streams act on what they were told */
	if (err) {
		/* a GOAWAY is queued: the session closes once it is out (sess_tick if it cannot) */
		log_info("tunnel session %llu: HTTP/2 error: %s", (unsigned long long)s->id,
			 nghttp2_strerror(s->mux.ng_err));
		s->close_when_sent = true;
		s->idle_since_ms = s->loop->now_ms;
		sess_dirty(s);
	}
}

int sess_h2_produce(struct sess *s)
{
	int err;

	s->in_ng++;
	err = h2mux_produce(&s->mux);
	s->in_ng--;
	if (!err && s->tls && tls_xprt_seal(&s->x))
		err = -ENOMEM;
	if (err) {
		sess_close(s, err, err == -EPROTO ? nghttp2_strerror(s->mux.ng_err) : "out of memory for output");
		return err;
	}
	/* http streams whose response went out (or made room) go on */
	h2mux_events(&s->mux);
	return 0;
}

/* Both sides are done with the connection (GOAWAY both ways, nothing open). */
bool sess_h2_finished(const struct sess *s)
{
	return h2mux_finished(&s->mux);
}

void sess_h2_close(struct sess *s)
{
	struct sstream *st;

	while ((st = list_first(&s->streams, struct sstream, link)))
		sess_stream_gone(st, s->close_err);
	h2dn_tunnel_close(s->loop, &s->host);
}

void sess_h2_free(struct sess *s)
{
	h2dn_tunnel_free(&s->host);
	h2mux_fini(&s->mux);
}

bool sess_h2_idle(const struct sess *s)
{
	return !s->n_flows && !h2dn_tunnel_streams(&s->host);
}

/* GOAWAY: NO_ERROR, and no new streams (terminate: at once; notice: the open ones finish). */
void sess_h2_goaway(struct sess *s, bool terminate)
{
	if (terminate)
		nghttp2_session_terminate_session(NG(s), NGHTTP2_NO_ERROR);
	else
		nghttp2_submit_shutdown_notice(NG(s));
}

void sess_h2_early(struct ep *e, struct ep *src)
{
	struct sstream *st = ST(e);

	if (st->answered || st->started)
		return;
	st->early = true;
	e->src = src;
	h2s_kick(e);
}

size_t sess_h2_early_unsettled(const struct ep *e)
{
	return e && e->ops == &sess_h2_ops ? ST(e)->early_sent : 0;
}
