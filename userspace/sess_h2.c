/* sess_h2.c: HTTP/2 CONNECT streams on tunnel connections (nghttp2 on memory), each
 * the endpoint of a flow, and the pool of client connections per peer.
 *
 * Server side: each CONNECT stream (RFC 9113 8.5) becomes a flow (struct conn) whose
 * client endpoint is the stream; its head is turned into the HTTP/1.1 form so that
 * tunnel.c validates, authorizes and routes it exactly as a CONNECT over TCP. A stream
 * whose method is not CONNECT (an explicit proxy request: `GET` with :scheme http and
 * :authority IP:PORT) is handed to the http action once its head is complete (h2dn.c),
 * which then hears of its frames through h2dn_callbacks: the two kinds of stream share
 * the connection and its windows.
 *
 * Client side: the `tunnel` action's flows to an h2 peer become streams on a pooled
 * connection per peer (a new one when the stream limit or the bandwidth threshold is
 * reached). A connect or TLS failure fails every waiting stream, whose flow moves to
 * the route's next peer before the application notices.
 *
 * Flow control is per stream: a stream's window is its receive ring (EP_RING_SIZE),
 * opened again only as the bytes leave (nghttp2_session_consume), so a slow reader
 * holds back its own stream and nothing else; the connection window is large. The end
 * of a direction is END_STREAM both ways; a reset is RST_STREAM(CONNECT_ERROR) and back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "addr.h"
#include "config.h"
#include "ep.h"
#include "h2x.h"
#include "http.h"
#include "log.h"
#include "ring.h"
#include "sess-int.h"

#define SESS_CONN_WINDOW (1 << 30)  /* per-stream windows do the limiting */
#define SERVER_MAX_STREAMS 10000
#define SESS_FRAME_MAX (256 * 1024) /* DATA frame payloads we send and accept (SETTINGS) */

#define NG(s) ((nghttp2_session *)(s)->ng)
#define ST(e) loop_container_of(e, struct sstream, e)

static int stream_attach(struct loop *lp, struct sstream *st, const struct cfg_peer *p);
static int submit_request(struct sess *s, struct sstream *st);

/* The flow stream of sid: NULL for none, and for an http stream (h2dn.c's). */
static struct sstream *stream_of(nghttp2_session *ng, int32_t sid)
{
	void *ud = nghttp2_session_get_stream_user_data(ng, sid);

	return h2dn_is_stream(ud) ? NULL : ud;
}

/* st leaves its session's stream sid (its user data no longer points at it). */
static void stream_off(struct sstream *st)
{
	struct sess *s = st->s;

	if (!s)
		return;
	if (s->ng && st->sid > 0)
		nghttp2_session_set_stream_user_data(NG(s), st->sid, NULL);
	sess_unlink(st);
}

void sess_stream_gone(struct sstream *st, int err)
{
	struct loop *lp = st->s ? st->s->loop : NULL;

	stream_off(st);
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

static ssize_t data_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud);

static void h2s_reply(struct ep *e, int status, const char *h1, size_t h1_len)
{
	struct sstream *st = ST(e);
	struct sess *s = st->s;
	char sts[8];
	nghttp2_nv nv[] = {
		{ (uint8_t *)":status", (uint8_t *)sts, 7, 0, NGHTTP2_NV_FLAG_NONE },
	};
	nghttp2_data_provider prd = { .read_callback = data_read };

	(void)h1;
	(void)h1_len;
	if (!s || st->sid <= 0)
		return;
	snprintf(sts, sizeof(sts), "%d", status);
	nv[0].valuelen = strlen(sts);
	/* 200 keeps the stream open for the tunnel's DATA; an error ends it */
	if (nghttp2_submit_response(NG(s), st->sid, nv, 1, status == 200 ? &prd : NULL))
		log_debug("tunnel session %llu: cannot answer stream %d", (unsigned long long)s->id, st->sid);
	if (status != 200)
		e->shut = true;
	sess_dirty(s);
}

static void h2s_consume(struct ep *e, size_t n)
{
	struct sstream *st = ST(e);

	ep_ring_consume(&st->rx, n);
	if (!st->s || !st->s->ng || st->sid <= 0)
		return;
	nghttp2_session_consume(NG(st->s), st->sid, n);
	sess_dirty(st->s);
}

/* Bytes (or the source's end) for the stream: its data source reads them when the
 * frames are produced. */
static void h2s_kick(struct ep *e)
{
	struct sstream *st = ST(e);

	if (!st->s || !st->s->ng || st->sid <= 0 || e->shut)
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
		if (s->ng && st->sid > 0 && err && !(e->shut && e->eof) && nghttp2_session_find_stream(NG(s), st->sid))
			nghttp2_submit_rst_stream(NG(s), NGHTTP2_FLAG_NONE, st->sid, err);
		stream_off(st);
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

/* How much the source holds; the bytes themselves are copied once, straight into the
 * output, by send_data (NO_COPY). */
static ssize_t data_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct sstream *st = stream_of(ng, sid);
	struct ep *from;
	size_t avail;

	(void)src;
	(void)buf;
	(void)ud;
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (!st->started || !(from = st->e.src))
		return NGHTTP2_ERR_DEFERRED;
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

static int send_data(nghttp2_session *ng, nghttp2_frame *f, const uint8_t *framehd, size_t len,
		     nghttp2_data_source *src, void *ud)
{
	struct sess *s = ud;
	struct sstream *st = stream_of(ng, f->hd.stream_id);

	(void)src;
	if (!st || !st->e.src)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	/* the 9-byte header, then the bytes straight from the source's buffers: over TLS the
	 * header is a record of its own, which costs less than copying a frame (up to
	 * SESS_FRAME_MAX) together just to seal it in one piece */
	if (sess_out(s, framehd, 9))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	s->bytes += 9 + len;
	while (len) {
		const uint8_t *p;
		size_t n;

		ep_peek(st->e.src, &p, &n);
		if (!n)
			return NGHTTP2_ERR_CALLBACK_FAILURE; /* data_read promised more */
		if (n > len)
			n = len;
		if (sess_out(s, p, n))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		ep_consume(st->e.src, n);
		len -= n;
	}
	return 0;
}

/* DATA frames as large as the windows and the peer's frame size allow. */
static ssize_t data_len(nghttp2_session *ng, uint8_t type, int32_t sid, int32_t conn_win, int32_t stream_win,
			uint32_t max_frame, void *ud)
{
	int32_t n = conn_win < stream_win ? conn_win : stream_win;

	(void)ng;
	(void)type;
	(void)sid;
	(void)ud;
	if ((uint32_t)n > max_frame)
		n = (int32_t)max_frame;
	if (n > SESS_FRAME_MAX)
		n = SESS_FRAME_MAX;
	return n > 0 ? n : 1;
}

/* ---- server: CONNECT streams ---- */

/* The request head, gathered as HTTP/1.1 lines: pseudo-header fields first as
 * ":name: value" lines. */
static int hbuf_add(struct sstream *st, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
	if (!st->hbuf && !(st->hbuf = malloc(TUNNEL_HEAD_MAX)))
		return -ENOMEM;
	if (st->hlen + nlen + vlen + 4 > TUNNEL_HEAD_MAX - 64)
		return -EMSGSIZE;
	memcpy(st->hbuf + st->hlen, name, nlen);
	st->hlen += nlen;
	memcpy(st->hbuf + st->hlen, ": ", 2);
	st->hlen += 2;
	memcpy(st->hbuf + st->hlen, value, vlen);
	st->hlen += vlen;
	memcpy(st->hbuf + st->hlen, "\r\n", 2);
	st->hlen += 2;
	return 0;
}

static const char *hbuf_pseudo(const struct sstream *st, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (size_t off = 0; off < st->hlen;) {
		const char *line = st->hbuf + off;
		const char *end = memmem(line, st->hlen - off, "\r\n", 2);

		if (!end)
			break;
		if ((size_t)(end - line) > nl + 1 && !memcmp(line, name, nl) && line[nl] == ':' && line[nl + 1] == ' ') {
			*len = (size_t)(end - line) - nl - 2;
			return line + nl + 2;
		}
		off = (size_t)(end - st->hbuf) + 2;
	}
	*len = 0;
	return NULL;
}

/* The head as "METHOD AUTHORITY HTTP/1.1" + the regular fields, into out. */
static size_t head_text(const struct sstream *st, const char *m, size_t ml, char *out)
{
	size_t al, n;
	const char *a = hbuf_pseudo(st, ":authority", &al);

	n = (size_t)snprintf(out, TUNNEL_HEAD_MAX, "%.*s %.*s HTTP/1.1\r\n", (int)ml, m ? m : "-", (int)al,
			     a ? a : "-");
	for (size_t off = 0; off < st->hlen;) {
		const char *line = st->hbuf + off;
		const char *end = memmem(line, st->hlen - off, "\r\n", 2);
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

		stream_off(st);
		h2dn_tunnel_stream(lp, &s->host, sid, st->hbuf, st->hlen, st->e.eof);
		sess_stream_free(st);
		return;
	}
	out = malloc(TUNNEL_HEAD_MAX);
	if (out) {
		size_t n = head_text(st, m, ml, out);

		free(st->hbuf);
		st->hbuf = NULL;
		st->hlen = 0;
		/* counted once known to be a tunnel (a proxy request counts as the http action's) */
		lp->st.h2_streams++;
		if (!lp->sess_acc->stream(lp, &st->e, &s->paddr, out, n))
			return;
		free(out);
	}
	nghttp2_submit_rst_stream(NG(s), NGHTTP2_FLAG_NONE, st->sid, NGHTTP2_INTERNAL_ERROR);
	stream_off(st);
	sess_stream_free(st);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct sess *s = ud;
	struct sstream *st;

	if (!s->server || f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (s->loop->draining) {
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	if (!(st = loop_zalloc(sizeof(*st)))) {
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	ep_init(&st->e, &sess_h2_ops, NULL, NULL, 0);
	st->sid = f->hd.stream_id;
	sess_link(s, st);
	nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, st);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct sess *s = ud;
	void *sud = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
	struct sstream *st = sud;

	if (h2dn_is_stream(sud))
		return h2dn_callbacks.header(ng, f, name, nlen, value, vlen, flags, ud);
	if (!st || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (s->server && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		if (hbuf_add(st, name, nlen, value, vlen))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* too large: the stream is reset */
	} else if (!s->server && nlen == 7 && !memcmp(name, ":status", 7)) {
		st->resp_status = 0;
		for (size_t i = 0; i < vlen && i < 3; i++)
			st->resp_status = st->resp_status * 10 + (value[i] - '0');
	}
	return 0;
}

/* ---- client: CONNECT streams to a peer ---- */

/* The peer's answer to our CONNECT: 200 opens the tunnel; 504, 403 and the rest map to
 * the errors the flow's retries tell apart. */
static void client_response(struct sess *s, struct sstream *st)
{
	char name[ADDR_STRLEN];

	if (st->answered || st->resp_status / 100 == 1)
		return;
	st->answered = true;
	if (st->resp_status != 200) {
		log_info("tunnel peer %s answered %d to CONNECT", sess_name(s, name, sizeof(name)), st->resp_status);
		ep_error(&st->e, st->resp_status == 504 ? -ETIMEDOUT : st->resp_status == 403 ? -EACCES : -ECONNREFUSED);
		return;
	}
	ep_up(&st->e);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct sess *s = ud;
	void *sud;
	struct sstream *st;

	if (f->hd.type == NGHTTP2_GOAWAY) {
		s->goaway = true;
		return 0;
	}
	if (f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS)
		return 0;
	sud = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
	if (h2dn_is_stream(sud))
		return h2dn_callbacks.frame_recv(ng, f, ud);
	if (!(st = sud))
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
			if (stream_of(ng, f->hd.stream_id) != st)
				return 0;
		}
	}
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
		st->e.eof = true;
		ep_data(&st->e);
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	struct sess *s = ud;
	void *sud = nghttp2_session_get_stream_user_data(ng, sid);
	struct sstream *st = sud;
	int err;

	if (h2dn_is_stream(sud))
		return h2dn_callbacks.data(ng, flags, sid, data, len, ud);
	if (!st) {
		nghttp2_session_consume(ng, sid, len);
		return 0;
	}
	err = ep_ring_put(&st->rx, data, len);
	if (err == -ENOMEM)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (err) {
		/* more than the window we gave: a flow-control violation */
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, sid, NGHTTP2_FLOW_CONTROL_ERROR);
		return 0;
	}
	st->e.bytes += len;
	(void)s;
	ep_data(&st->e);
	return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct sstream *st;

	(void)ud;
	if ((f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if (!(st = stream_of(ng, f->hd.stream_id)))
		return 0;
	st->e.shut = true;
	ep_drained(&st->e);
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t err, void *ud)
{
	struct sess *s = ud;
	void *sud = nghttp2_session_get_stream_user_data(ng, sid);
	struct sstream *st = sud;

	if (h2dn_is_stream(sud))
		return h2dn_callbacks.stream_close(ng, sid, err, ud);
	if (!st)
		return 0;
	stream_off(st);
	st->sid = -1;
	if (!st->e.own) {
		sess_stream_free(st);
		return 0;
	}
	if (st->client && !st->answered) {
		/* refused (REFUSED_STREAM, or no answer) before the tunnel was up: next peer */
		ep_error(&st->e, err == NGHTTP2_REFUSED_STREAM ? -ECONNREFUSED : -ECONNRESET);
		return 0;
	}
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

static int on_not_send(nghttp2_session *ng, const nghttp2_frame *f, int err, void *ud)
{
	struct sess *s = ud;
	struct sstream *st;

	if (f->hd.type != NGHTTP2_HEADERS || s->server)
		return 0;
	if (!(st = stream_of(ng, f->hd.stream_id)) || st->answered)
		return 0;
	/* e.g. the peer's stream limit shrank or GOAWAY: this stream never left */
	stream_off(st);
	log_debug("tunnel session %llu: CONNECT not sent: %s", (unsigned long long)s->id, nghttp2_strerror(err));
	ep_error(&st->e, -ECONNREFUSED);
	return 0;
}

/* An http stream of s (h2dn.c's) has frames to produce. */
static void host_kick(struct h2dn_host *h)
{
	sess_dirty(loop_container_of(h, struct sess, host));
}

int sess_h2_start(struct sess *s)
{
	struct loop *lp = s->loop;
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_session *ng = NULL;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->server ? SERVER_MAX_STREAMS : 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, EP_RING_SIZE },
		{ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, SESS_FRAME_MAX },
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
	};
	int rv;

	if (nghttp2_session_callbacks_new(&cb))
		goto nomem;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_not_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_send_data_callback(cb, send_data);
	nghttp2_session_callbacks_set_data_source_read_length_callback(cb, data_len);
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		goto nomem;
	}
	/* windows open as bytes leave, not as they arrive */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
	rv = s->server ? nghttp2_session_server_new2(&ng, cb, s, opt) : nghttp2_session_client_new2(&ng, cb, s, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (rv)
		goto nomem;
	s->ng = ng;
	s->host.ng = ng;
	s->host.kick = host_kick;
	s->host.peer = s->paddr;
	s->host.id = s->id;
	s->host.sans = (const char (*)[128])s->sans;
	s->host.n_sans = s->n_sans;
	/* a client never opens a stream to us: 0 is "none" (and skipped for servers' sake) */
	nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, s->server ? iv : iv + 1, s->server ? 4 : 3);
	nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0, SESS_CONN_WINDOW);
	s->state = SESS_OPEN;
	lp->st.sess_opened++;
	if (!s->server) {
		struct sstream *st = s->streams, *next;
		int err;

		/* the streams that waited for the connection */
		for (; st; st = next) {
			next = st->next;
			if (!st->sid && (err = submit_request(s, st))) {
				stream_off(st);
				ep_error(&st->e, err);
			}
		}
	}
	sess_dirty(s);
	return 0;
nomem:
	sess_close(s, -ENOMEM, "out of memory for HTTP/2");
	return -ENOMEM;
}

void sess_h2_feed(struct sess *s, const uint8_t *p, size_t n)
{
	ssize_t rv;

	s->in_ng++;
	rv = nghttp2_session_mem_recv(NG(s), p, n);
	s->in_ng--;
	if (rv >= 0)
		h2dn_tunnel_events(s->loop, &s->host);
	if (rv < 0) {
		char why[128];

		snprintf(why, sizeof(why), "HTTP/2 error: %s", nghttp2_strerror((int)rv));
		/* nghttp2 queued a GOAWAY: one last flush before the close */
		sess_h2_produce(s);
		sess_close(s, -EPROTO, why);
	}
}

int sess_h2_produce(struct sess *s)
{
	s->in_ng++;
	while (sess_out_len(s) < SESS_OBUF_MAX) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(NG(s), &data);

		if (n < 0) {
			s->in_ng--;
			sess_close(s, -EPROTO, nghttp2_strerror((int)n));
			return -EPROTO;
		}
		if (!n)
			break;
		s->bytes += (uint64_t)n;
		if (sess_out(s, data, (size_t)n)) {
			s->in_ng--;
			sess_close(s, -ENOMEM, "out of memory for output");
			return -ENOMEM;
		}
	}
	s->in_ng--;
	/* http streams whose response went out (or made room) go on */
	h2dn_tunnel_events(s->loop, &s->host);
	return 0;
}

/* Both sides are done with the connection (GOAWAY both ways, nothing open). */
bool sess_h2_finished(const struct sess *s)
{
	return !nghttp2_session_want_read(NG(s)) && !nghttp2_session_want_write(NG(s));
}

void sess_h2_close(struct sess *s)
{
	while (s->streams)
		sess_stream_gone(s->streams, s->close_err);
	h2dn_tunnel_close(s->loop, &s->host);
}

void sess_h2_free(struct sess *s)
{
	h2dn_tunnel_free(&s->host);
	if (s->ng)
		nghttp2_session_del(s->ng);
	s->ng = NULL;
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

/* ---- client: the pool ---- */

static bool same_peer(const struct cfg_peer *a, const struct cfg_peer *b)
{
	return a->proto == b->proto && a->tls == b->tls && !strcmp(a->name, b->name) &&
	       a->addr.len == b->addr.len && !memcmp(&a->addr.ss, &b->addr.ss, a->addr.len);
}

static struct sess *pool_find(struct loop *lp, const struct cfg_peer *p)
{
	for (struct sess *s = lp->sessions; s; s = s->next) {
		uint32_t limit = lp->cfg->h2_max_streams;

		if (s->server || s->state == SESS_CLOSING || s->goaway || s->busy || !same_peer(&s->peer, p))
			continue;
		if (s->state == SESS_OPEN) {
			uint32_t remote = nghttp2_session_get_remote_settings(NG(s), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);

			if (remote < limit)
				limit = remote;
		}
		if (s->n_flows < limit)
			return s;
	}
	return NULL;
}

/* The flow's Hermes-* identity lines ("Name: value\r\n", copied into buf) as HTTP/2
 * fields (lower case). */
static size_t ident_nv(char *buf, nghttp2_nv *nv, size_t max)
{
	size_t n = 0;

	for (char *p = buf; *p && n < max;) {
		char *colon = strchr(p, ':'), *eol = strstr(p, "\r\n");

		if (!colon || !eol || colon > eol)
			break;
		for (char *q = p; q < colon; q++)
			*q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
		nv[n].name = (uint8_t *)p;
		nv[n].namelen = (size_t)(colon - p);
		nv[n].value = (uint8_t *)colon + 2;
		nv[n].valuelen = (size_t)(eol - colon - 2);
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
		n++;
		p = eol + 2;
	}
	return n;
}

/* Sends st's CONNECT (0), or -errno (the stream then failed: the caller reports it). */
static int submit_request(struct sess *s, struct sstream *st)
{
	struct loop *lp = s->loop;
	struct sockaddr_storage ss;
	char authority[ADDR_STRLEN], *ident = st->ident ? strdup(st->ident) : NULL;
	nghttp2_nv nv[24];
	nghttp2_data_provider prd = { .read_callback = data_read };
	size_t n = 0;
	int32_t sid;

	if (st->ident && !ident)
		return -ENOMEM;
#define NV(k, v) \
	nv[n++] = (nghttp2_nv){ (uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE }
	addr_from_hermes(&st->target, &ss);
	addr_fmt((struct sockaddr *)&ss, authority, sizeof(authority));
	if (s->peer.proto == TPROTO_H2_POST) {
		NV(":method", "POST");
		NV(":scheme", s->tls ? "https" : "http");
		NV(":path", s->peer.path);
		NV(":authority", authority);
	} else {
		NV(":method", "CONNECT");
		NV(":authority", authority);
	}
#undef NV
	if (ident)
		n += ident_nv(ident, nv + n, sizeof(nv) / sizeof(nv[0]) - n);
	sid = nghttp2_submit_request(NG(s), NULL, nv, n, &prd, st);
	free(ident);
	if (sid < 0) {
		/* this connection has no stream ids left: the stream goes to another one */
		s->goaway = true;
		sess_unlink(st);
		return stream_attach(lp, st, &s->peer);
	}
	st->sid = sid;
	lp->st.h2_streams++;
	sess_dirty(s);
	return 0;
}

/* st joins a pooled connection to p (a new one when none has room) and sends its
 * CONNECT once that is open. 0 or -errno. */
static int stream_attach(struct loop *lp, struct sstream *st, const struct cfg_peer *p)
{
	struct sess *s = pool_find(lp, p);
	int err = 0;

	if (!s && !(s = sess_connect(lp, p, &err)))
		return err;
	st->sid = 0;
	st->answered = false;
	st->resp_status = 0;
	sess_link(s, st);
	if (s->state == SESS_OPEN && (err = submit_request(s, st))) {
		stream_off(st);
		return err;
	}
	return 0;
}

struct ep *sess_h2_open(struct loop *lp, const struct cfg_peer *p, const struct hermes_addr *target,
			const char *ident, const struct ep_owner_ops *own, void *owner, int *err)
{
	struct sstream *st = loop_zalloc(sizeof(*st));

	if (!st) {
		*err = -ENOMEM;
		return NULL;
	}
	ep_init(&st->e, &sess_h2_ops, own, owner, 1);
	st->client = true;
	st->target = *target;
	st->ident = ident;
	if ((*err = stream_attach(lp, st, p))) {
		sess_stream_free(st);
		return NULL;
	}
	return &st->e;
}
