/* sess_h2cb.c: what nghttp2 reports on a tunnel connection's HTTP/2 session (sess_h2.c
 * has the streams as endpoints, DATA out and the connection's life; the overview is
 * there). Server side: a stream begins (or is refused: draining, overload, the buffer
 * and descriptor limits), its request head is gathered and becomes a flow (a CONNECT, or
 * an h2-post request to our path) or goes to the http action (h2dn.c). Client side: our
 * CONNECT's answer opens the tunnel or fails the attempt, with what it means for the
 * optimistic bytes; sess_h2_open makes such a stream. Both: DATA received, END_STREAM,
 * a stream's close or reset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "ep.h"
#include "fdres.h"
#include "h2mux.h"
#include "http.h"
#include "log.h"
#include "overload.h"
#include "ring.h"
#include "sess-int.h"

#define NG(s) ((s)->mux.ng)
#define MST(m) loop_container_of(m, struct sstream, ms)
#define SESS(m) loop_container_of(m, struct sess, mux)

static const struct h2mux_stream_ops stream_ops;

/* ---- server: CONNECT streams ---- */

/* The request head, gathered as HTTP/1.1 lines: pseudo-header fields first as
 * ":name: value" lines. */
static int hbuf_add(struct sstream *st, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
	struct hbuf *b = &st->head;

	/* one allocation of the most a head may take: the puts below never grow it */
	if (!b->p && hb_reserve(b, TUNNEL_HEAD_MAX))
		return -ENOMEM;
	if (b->len + nlen + vlen + 4 > TUNNEL_HEAD_MAX - 64)
		return -EMSGSIZE;
	return hb_put(b, name, nlen) | hb_put(b, ": ", 2) | hb_put(b, value, vlen) | hb_put(b, "\r\n", 2);
}

static const char *hbuf_pseudo(const struct sstream *st, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (size_t off = 0; off < st->head.len;) {
		const char *line = st->head.p + off;
		const char *end = memmem(line, st->head.len - off, "\r\n", 2);

		if (!end)
			break;
		if ((size_t)(end - line) > nl + 1 && !memcmp(line, name, nl) && line[nl] == ':' && line[nl + 1] == ' ') {
			*len = (size_t)(end - line) - nl - 2;
			return line + nl + 2;
		}
		off = (size_t)(end - st->head.p) + 2;
	}
	*len = 0;
	return NULL;
}

/* The head as "METHOD AUTHORITY HTTP/1.1" + the regular fields, into out. An extended
 * CONNECT (RFC 8441: :protocol, with :scheme and :path, which nghttp2 checked) becomes
 * the HTTP/1.1 Upgrade request of the same protocol (RFC 9298 3.2 for connect-udp),
 * `GET SCHEME://AUTHORITY/PATH` in absolute form, which tunnel.c reads as such. */
static size_t head_text(const struct sstream *st, const char *m, size_t ml, char *out)
{
	size_t al, n, pl, sl, xl;
	const char *a = hbuf_pseudo(st, ":authority", &al), *proto = hbuf_pseudo(st, ":protocol", &xl);

	if (proto) {
		const char *path = hbuf_pseudo(st, ":path", &pl), *scheme = hbuf_pseudo(st, ":scheme", &sl);

		n = (size_t)snprintf(out, TUNNEL_HEAD_MAX, "GET %.*s://%.*s%.*s HTTP/1.1\r\nHost: %.*s\r\n"
				     "Upgrade: %.*s\r\nConnection: Upgrade\r\n", (int)sl, scheme ? scheme : "-",
				     (int)al, a ? a : "-", (int)pl, path ? path : "/", (int)al, a ? a : "-", (int)xl, proto);
	} else {
		n = (size_t)snprintf(out, TUNNEL_HEAD_MAX, "%.*s %.*s HTTP/1.1\r\n", (int)ml, m ? m : "-", (int)al,
				     a ? a : "-");
	}
	if (n >= TUNNEL_HEAD_MAX - 2)
		n = 0; /* too long to be a request: the parser refuses what is left */
	for (size_t off = 0; off < st->head.len;) {
		const char *line = st->head.p + off;
		const char *end = memmem(line, st->head.len - off, "\r\n", 2);
		size_t len = (size_t)(end - line) + 2;

		if (line[0] != ':' && n + len < TUNNEL_HEAD_MAX - 2) {
			memcpy(out + n, line, len);
			n += len;
		}
		off += len;
	}
	memcpy(out + n, "\r\n", 2);
	return n + 2;
}

/* A complete request head: a CONNECT (or an h2-post request to our path) becomes a
 * flow whose client endpoint is the stream; any other method is an explicit proxy
 * request, handed to the http action. */
static void server_request_done(struct sess *s, struct sstream *st)
{
	struct loop *lp = s->loop;
	size_t ml, pl;
	const char *m = hbuf_pseudo(st, ":method", &ml), *p = hbuf_pseudo(st, ":path", &pl);
	char *out;

	if (m && ml == 4 && !memcmp(m, "POST", 4) && p && lp->cfg->tunnel_post_path[0] &&
	    pl == strlen(lp->cfg->tunnel_post_path) && !memcmp(p, lp->cfg->tunnel_post_path, pl))
		m = "CONNECT", ml = 7;
	if (m && !(ml == 7 && !memcmp(m, "CONNECT", 7))) {
		int32_t sid = st->sid;

		/* the stream becomes h2dn's (it attaches its own stream to sid) */
		sess_h2_stream_off(st);
		h2dn_tunnel_stream(lp, &s->host, sid, st->head.p, st->head.len, st->e.eof);
		sess_stream_free(st);
		return;
	}
	out = malloc(TUNNEL_HEAD_MAX);
	if (out) {
		size_t n = head_text(st, m, ml, out);

		hb_free(&st->head);
		/* counted once known to be a tunnel (a proxy request counts as the http action's) */
		lp->st.h2_streams++;
		if (!lp->sess_acc->stream(lp, &st->e, &s->paddr, out, n))
			return;
		free(out);
	}
	nghttp2_submit_rst_stream(NG(s), NGHTTP2_FLAG_NONE, st->sid, NGHTTP2_INTERNAL_ERROR);
	sess_h2_stream_off(st);
	sess_stream_free(st);
}

/* A stream (CONNECT or proxy request) opens an upstream socket with no accept of its
 * own: refused while descriptors are short (fdres_stream_room), before anything of it
 * exists, so that accepts, flows already open and the admin port keep theirs. */
static bool stream_fd_refused(struct loop *lp)
{
	if (fdres_stream_room(lp))
		return false;
	if (!lp->st.tunnel_fd_refused)
		log_warn("tunnel listener: refusing new HTTP/2 streams while descriptors are short (the last "
			 "%u%% of RLIMIT_NOFILE %d is kept for accepts and the admin port; raise LimitNOFILE, or lower "
			 "tunnel.stream_fd_headroom_percent; hermes_stream_descriptor_refusals_total counts them)",
			 lp->cfg->tunnel_fd_headroom_pct, lp->fd_limit);
	lp->st.tunnel_fd_refused++;
	return true;
}

static void on_begin(struct h2mux *m, const nghttp2_frame *f)
{
	struct sess *s = SESS(m);
	struct sstream *st;

	if (!s->server)
		return;
	if (s->loop->draining) {
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return;
	}
	if (overload_shed(s->loop, OVL_REFUSE_STREAMS, OVL_ACT_REFUSE_STREAM)) {
		/* over the memory budget (stage 2): the client may retry elsewhere or later */
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return;
	}
	if (s->loop->st.tunnel_buffered >= (uint64_t)s->loop->cfg->tunnel_total_buffer_mb << 20) {
		/* the listener holds all the bytes it may for targets that do not read: no new
		 * streams until they do (REFUSED_STREAM: the client may retry elsewhere) */
		s->loop->st.tunnel_limited[TUNNEL_LIMIT_TOTAL_BUFFER]++;
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return;
	}
	if (stream_fd_refused(s->loop)) {
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return;
	}
	if (!(st = calloc(1, sizeof(*st)))) {
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	ep_init(&st->e, &sess_h2_ops, NULL, NULL, 0);
	st->ms.ops = &stream_ops;
	st->sid = f->hd.stream_id;
	st->gauge = &s->loop->st.tunnel_buffered;
	st->fds = &s->loop->st.tunnel_stream_fds;
	s->loop->st.tunnel_stream_fds++;
	sess_link(s, st);
	h2mux_attach(m, f->hd.stream_id, &st->ms);
}

static int on_header(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f, const uint8_t *name,
		     size_t nlen, const uint8_t *value, size_t vlen)
{
	struct sess *s = SESS(m);
	struct sstream *st = MST(ms);

	if (s->server && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		int err = hbuf_add(st, name, nlen, value, vlen);

		if (err)
			return err == -EMSGSIZE ? H2MUX_TOO_LARGE : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	} else if (!s->server && nlen == 7 && !memcmp(name, ":status", 7)) {
		st->resp_status = 0;
		for (size_t i = 0; i < vlen && i < 3; i++)
			st->resp_status = st->resp_status * 10 + (value[i] - '0');
	}
	return 0;
}

/* ---- client: CONNECT streams to a peer ---- */

/* A refusal the peer did not act on (an answer other than 2xx: RFC 9110 9.3.6, the
 * tunnel was not made; REFUSED_STREAM: RFC 9113 8.7, the stream was not processed): the
 * optimistic bytes were dropped and are still in the source, unconsumed. */
static void early_refused(struct sess *s, struct sstream *st)
{
	if (st->early_sent)
		s->loop->st.tunnel_optimistic[TUNNEL_OPT_REFUSED]++;
	st->early_sent = 0;
	st->early = false;
}

/* The peer's answer to our CONNECT: 200 opens the tunnel; 504, 403, 508 and the rest map
 * to the errors the flow's retries tell apart. */
static void client_response(struct sess *s, struct sstream *st)
{
	char name[ADDR_STRLEN];

	if (st->answered || st->resp_status / 100 == 1)
		return;
	st->answered = true;
	st->early = false;
	if (st->resp_status != 200) {
		log_info("tunnel peer %s answered %d to CONNECT%s", sess_name(s, name, sizeof(name)), st->resp_status,
			 st->early_sent ? " (it drops the optimistic bytes; they stay for the next attempt)" : "");
		early_refused(s, st);
		ep_error(&st->e, st->resp_status == 504 ? -ETIMEDOUT : st->resp_status == 403 ? -EACCES :
				 st->resp_status == 508 ? -ELOOP : -ECONNREFUSED);
		return;
	}
	/* the peer took the optimistic bytes: they leave the source now, and the relay goes
	 * on from the next one */
	if (st->early_sent && st->e.src)
		ep_consume(st->e.src, st->early_sent);
	st->early_sent = 0;
	ep_up(&st->e);
}

static void on_goaway(struct h2mux *m)
{
	SESS(m)->goaway = true;
}

static int on_frame_recv(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f)
{
	struct sess *s = SESS(m);
	struct sstream *st = MST(ms);

	if (f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS) {
		if (s->server && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
			if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
				st->e.eof = true;
			server_request_done(s, st);
			return 0;
		}
		if (!s->server && f->headers.cat == NGHTTP2_HCAT_RESPONSE) {
			client_response(s, st);
			/* a refusal moved the flow on: the stream is not its any more */
			if (h2mux_stream_at(m, f->hd.stream_id) != ms)
				return 0;
		}
	}
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
		st->e.eof = true;
		ep_data(&st->e);
	}
	return 0;
}

static int on_data_chunk(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, const uint8_t *data, size_t len)
{
	struct sstream *st = MST(ms);
	uint8_t *tail;
	size_t room;
	int err = 0;

	st->rx.max = SESS(m)->stream_win; /* the window its session announced */
	/* decrypted in place (sess_h2_rx_place): already where it belongs */
	if (!ep_ring_tail(&st->rx, &tail, &room) && data == tail && len <= room) {
		ep_ring_commit(&st->rx, len);
		SESS(m)->loop->st.tunnel_rx_data[0] += len;
	} else {
		err = ep_ring_put(&st->rx, data, len);
		if (!err)
			SESS(m)->loop->st.tunnel_rx_data[1] += len;
	}
	if (err == -ENOMEM)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (err) {
		/* more than the window we gave: a flow-control violation */
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, sid, NGHTTP2_FLOW_CONTROL_ERROR);
		return 0;
	}
	st->e.bytes += len;
	if (st->gauge) {
		struct sess *s = SESS(m);
		struct loop *lp = s->loop;

		st->held += len;
		*st->gauge += len;
		s->held += len;
		/* the window shut: the sender waits until the target reads */
		if (st->rx.len >= s->stream_win && st->rx.len - len < s->stream_win)
			lp->st.tunnel_limited[TUNNEL_LIMIT_STREAM_BUFFER]++;
		/* the connection's window shut (bytes held, or passed on but not yet announced
		 * in a WINDOW_UPDATE): counted once until it opens again */
		if (nghttp2_session_get_local_window_size(m->ng) > 0) {
			s->conn_full = false;
		} else if (!s->conn_full) {
			s->conn_full = true;
			lp->st.tunnel_limited[TUNNEL_LIMIT_CONN_BUFFER]++;
		}
	}
	/* its owner hears it once the read ends (sess_rx_ready) */
	if (st->s && !list_linked(&st->rx_ready))
		list_add_tail(&st->s->rx_ready, &st->rx_ready);
	return 0;
}

static int on_frame_send(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f)
{
	struct sstream *st = MST(ms);

	(void)m;
	if ((f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	st->e.shut = true;
	ep_drained(&st->e);
	return 0;
}

static int on_stream_close(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint32_t err)
{
	struct sess *s = SESS(m);
	struct sstream *st = MST(ms);

	sess_h2_stream_off(st);
	st->sid = -1;
	if (!st->e.own) {
		sess_stream_free(st);
		return 0;
	}
	if (st->client && !st->answered) {
		/* refused (REFUSED_STREAM, or no answer) before the tunnel was up: next peer,
		 * unless optimistic bytes went out and the peer may have passed them on
		 * (sess_h2_early_unsettled: the flow is reset) */
		st->early = false;
		if (err == NGHTTP2_REFUSED_STREAM)
			early_refused(s, st);
		ep_error(&st->e, err == NGHTTP2_REFUSED_STREAM ? -ECONNREFUSED : -ECONNRESET);
		return 0;
	}
	if (s->server && !st->started && err != NGHTTP2_NO_ERROR)
		sess_client_reset(s->loop, &s->paddr); /* its upstream connect may be made already */
	if (err != NGHTTP2_NO_ERROR || !st->e.eof || !st->e.shut) {
		/* reset (RST_STREAM), or closed before both directions ended */
		log_debug("tunnel session %llu: stream %d closed: %s", (unsigned long long)s->id, sid,
			  nghttp2_http2_strerror(err));
		s->loop->st.h2_resets++;
		ep_error(&st->e, -ECONNRESET);
		return 0;
	}
	ep_drained(&st->e);
	return 0;
}

static int on_not_send(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f, int err)
{
	struct sess *s = SESS(m);
	struct sstream *st = MST(ms);

	if (f->hd.type != NGHTTP2_HEADERS || s->server || st->answered)
		return 0;
	/* e.g. the peer's stream limit shrank or GOAWAY: this stream never left */
	sess_h2_stream_off(st);
	log_debug("tunnel session %llu: CONNECT not sent: %s", (unsigned long long)s->id, nghttp2_strerror(err));
	ep_error(&st->e, -ECONNREFUSED);
	return 0;
}

static const struct h2mux_stream_ops stream_ops = {
	.header = on_header,
	.frame_recv = on_frame_recv,
	.data = on_data_chunk,
	.frame_sent = on_frame_send,
	.not_sent = on_not_send,
	.close = on_stream_close,
	.read = sess_h2_data_read,
	.send_data = sess_h2_send_data,
};

/* sid's tunnel stream on s (NULL: none, or one of h2dn.c's http streams). */
struct sstream *sess_h2_stream(struct sess *s, int32_t sid)
{
	struct h2mux_stream *ms = s->mux.ng ? h2mux_stream_at(&s->mux, sid) : NULL;

	return ms && ms->ops == &stream_ops ? MST(ms) : NULL;
}

/* ---- the session's callbacks ---- */

static size_t out_room(struct h2mux *m)
{
	size_t len = sess_out_len(SESS(m));

	return len < SESS_OBUF_MAX ? SESS_OBUF_MAX - len : 0;
}

static int out_put(struct h2mux *m, const uint8_t *p, size_t n)
{
	struct sess *s = SESS(m);

	s->bytes += (uint64_t)n;
	return sess_out(s, p, n);
}

const struct h2mux_ops sess_h2_mux_ops = {
	.begin = on_begin,
	.goaway = on_goaway,
	.settings = sess_h2_settings,
	.room = out_room,
	.output = out_put,
};

struct ep *sess_h2_open(struct loop *lp, const struct cfg_peer *p, const struct hermes_addr *target, bool udp,
			const char *ident, const struct ep_owner_ops *own, void *owner, int *err)
{
	struct sstream *st = calloc(1, sizeof(*st));

	if (!st) {
		*err = -ENOMEM;
		return NULL;
	}
	ep_init(&st->e, &sess_h2_ops, own, owner, 1);
	st->ms.ops = &stream_ops;
	st->client = true;
	st->udp = udp;
	st->target = *target;
	st->ident = ident;
	if ((*err = sess_h2_attach(lp, st, p))) {
		sess_stream_free(st);
		return NULL;
	}
	return &st->e;
}
