/* h2mux.c: the one HTTP/2 integration of hermesd. nghttp2 runs on memory: the owner of a
 * connection feeds it the bytes it received (h2mux_feed) and takes the frames it
 * produces (h2mux_produce, as far as the owner's output has room); nothing here touches
 * a socket or TLS. Every stream carries its own ops (struct h2mux_stream, the nghttp2
 * stream user data, embedded in the owner's stream object), so one connection can carry
 * streams of different kinds: a tunnel session's CONNECT streams (sess_h2.c) beside the
 * explicit proxy requests it hands to the http action (h2dn.c). The owners decide what
 * their callbacks may do: the http action's only record events and acts on them once
 * nghttp2 returned.
 *
 * A server session also holds its peer to the limits of the section http2, once for
 * every owner: each header or trailer section is counted field by field as HPACK
 * decodes it (RFC 9113 6.5.2's size: name + value + 32), so that a few bytes of
 * references to one large field cannot make us hold megabytes; a request head over the
 * limits is answered 431 here, trailers over them reset the stream
 * (ENHANCE_YOUR_CALM). RST_STREAM frames pass a token bucket of our own (nghttp2's
 * answers INTERNAL_ERROR) and a CONTINUATION or acknowledgement flood, which nghttp2
 * ends without a word, gets its GOAWAY(ENHANCE_YOUR_CALM) here. */
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <time.h>

#include "config-t.h"
#include "buf.h"
#include "h2mux.h"

#define MUX(ud) ((struct h2mux *)(ud))

struct h2mux_stream *h2mux_stream_at(struct h2mux *m, int32_t sid)
{
	return sid > 0 ? nghttp2_session_get_stream_user_data(m->ng, sid) : NULL;
}

void h2mux_attach(struct h2mux *m, int32_t sid, struct h2mux_stream *st)
{
	nghttp2_session_set_stream_user_data(m->ng, sid, st);
}

void h2mux_event(struct h2mux *m, struct h2mux_stream *st)
{
	if (!list_linked(&st->pending))
		list_add(&m->pending, &st->pending);
}

void h2mux_events(struct h2mux *m)
{
	for (int guard = 0; !list_empty(&m->pending) && guard < 100000; guard++) {
		struct h2mux_stream *st = list_first(&m->pending, struct h2mux_stream, pending);

		list_del(&st->pending);
		st->ops->event(m, st);
	}
}

void h2mux_unqueue(struct h2mux *m, struct h2mux_stream *st)
{
	(void)m;
	list_del(&st->pending);
}

void h2mux_unqueue_all(struct h2mux *m)
{
	struct h2mux_stream *st;

	while ((st = list_first(&m->pending, struct h2mux_stream, pending)))
		list_del(&st->pending);
}

/* ---- the callback table: session events to the owner, stream events to the stream ---- */

static void hit(struct h2mux *m, enum h2mux_limit l)
{
	if (m->hits)
		m->hits[l]++;
}

/* GOAWAY(ENHANCE_YOUR_CALM): the peer is told why, no new stream is taken, and the
 * session ends once it is out (nghttp2 stops reading). */
static void calm_down(struct h2mux *m, enum h2mux_limit l)
{
	if (m->calm)
		return;
	m->calm = true;
	hit(m, l);
	nghttp2_session_terminate_session(m->ng, NGHTTP2_ENHANCE_YOUR_CALM);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One RST_STREAM from the peer takes a token: reset_burst of them at most, reset_rate
 * more each second. false: none left. */
static bool reset_token(struct h2mux *m)
{
	uint64_t now = now_ms(), cap = (uint64_t)m->reset_burst * 1000;

	m->reset_tokens += (now - m->reset_ms) * m->reset_rate;
	m->reset_ms = now;
	if (m->reset_tokens > cap)
		m->reset_tokens = cap;
	if (m->reset_tokens < 1000)
		return false;
	m->reset_tokens -= 1000;
	return true;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct h2mux_stream *st;

	(void)ng;
	if (f->hd.type == NGHTTP2_HEADERS)
		MUX(ud)->hblock_ms = now_ms() | 1;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST && MUX(ud)->ops->begin)
		MUX(ud)->ops->begin(MUX(ud), f);
	/* each section (a request head, then trailers) is held to the limits on its own */
	if (f->hd.type == NGHTTP2_HEADERS && (st = h2mux_stream_at(MUX(ud), f->hd.stream_id))) {
		st->hl_bytes = 0;
		st->hl_fields = 0;
		st->hl_over = false;
	}
	return 0;
}

/* st's section went over the limits: its further fields are decoded (HPACK's state
 * needs it) but dropped. A request head is answered 431 once it ends; trailers reset
 * the stream now. */
static void section_over(struct h2mux *m, struct h2mux_stream *st, const nghttp2_frame *f)
{
	st->hl_over = true;
	hit(m, H2L_HEADER_LIST);
	if (f->headers.cat != NGHTTP2_HCAT_REQUEST)
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_ENHANCE_YOUR_CALM);
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	struct h2mux *m = MUX(ud);
	struct h2mux_stream *st = h2mux_stream_at(m, f->hd.stream_id);
	int rv;

	(void)ng;
	(void)flags;
	if (!st || f->hd.type != NGHTTP2_HEADERS || st->hl_over)
		return 0;
	if (m->max_hl) {
		st->hl_bytes += nl + vl + 32;
		if (++st->hl_fields > m->max_fields || st->hl_bytes > m->max_hl) {
			section_over(m, st, f);
			return 0;
		}
	}
	if (!st->ops->header)
		return 0;
	rv = st->ops->header(m, st, f, name, nl, value, vl);
	if (rv == H2MUX_TOO_LARGE) {
		section_over(m, st, f);
		return 0;
	}
	return rv;
}

/* A request head over the limits, complete: 431 with no body, the stream taken from its
 * owner (who hears it closed) and, if the client would go on sending its body, ended. */
static void answer_431(struct h2mux *m, struct h2mux_stream *st, const nghttp2_frame *f)
{
	static const nghttp2_nv nv[] = { { (uint8_t *)":status", (uint8_t *)"431", 7, 3, NGHTTP2_NV_FLAG_NONE } };
	int32_t sid = f->hd.stream_id;

	if (st->ops->close)
		st->ops->close(m, st, sid, NGHTTP2_REFUSED_STREAM);
	h2mux_attach(m, sid, NULL);
	nghttp2_submit_response(m->ng, sid, nv, 1, NULL);
	if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, sid, NGHTTP2_NO_ERROR);
}

/* A frame nghttp2 refused (a malformed request head, ...): its header block is over too. */
static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *f, int lib_error, void *ud)
{
	(void)ng;
	(void)f;
	(void)lib_error;
	MUX(ud)->hblock_ms = 0;
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct h2mux *m = MUX(ud);
	struct h2mux_stream *st;

	(void)ng;
	m->hblock_ms = 0; /* a whole frame: no header block is open (it ended, or was refused) */
	if (f->hd.type == NGHTTP2_GOAWAY) {
		if (m->ops->goaway)
			m->ops->goaway(m);
		return 0;
	}
	if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK) && m->ops->settings) {
		m->ops->settings(m);
		return 0;
	}
	if (f->hd.type == NGHTTP2_RST_STREAM && m->reset_burst && !reset_token(m))
		calm_down(m, H2L_RESETS); /* rapid reset (CVE-2023-44487) */
	st = h2mux_stream_at(m, f->hd.stream_id);
	if (st && st->hl_over && f->hd.type == NGHTTP2_HEADERS) {
		if (f->headers.cat == NGHTTP2_HCAT_REQUEST)
			answer_431(m, st, f);
		return 0; /* trailers: the stream's reset is on its way */
	}
	return st && st->ops->frame_recv ? st->ops->frame_recv(m, st, f) : 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	struct h2mux_stream *st = h2mux_stream_at(MUX(ud), sid);

	(void)flags;
	if (!st) {
		/* nobody reads it: its window opens at once */
		nghttp2_session_consume(ng, sid, len);
		return 0;
	}
	return st->ops->data ? st->ops->data(MUX(ud), st, sid, data, len) : 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct h2mux_stream *st = h2mux_stream_at(MUX(ud), f->hd.stream_id);

	(void)ng;
	if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code != NGHTTP2_NO_ERROR && !MUX(ud)->goaway_code) {
		size_t n = f->goaway.opaque_data_len < sizeof(MUX(ud)->goaway_why) - 1 ? f->goaway.opaque_data_len :
			   sizeof(MUX(ud)->goaway_why) - 1;

		MUX(ud)->goaway_code = f->goaway.error_code;
		if (n)
			memcpy(MUX(ud)->goaway_why, f->goaway.opaque_data, n);
		MUX(ud)->goaway_why[n] = 0;
	}
	/* nghttp2 refuses streams over SETTINGS_MAX_CONCURRENT_STREAMS, owners theirs */
	if (f->hd.type == NGHTTP2_RST_STREAM && f->rst_stream.error_code == NGHTTP2_REFUSED_STREAM && MUX(ud)->max_hl)
		hit(MUX(ud), H2L_STREAMS);
	return st && st->ops->frame_sent ? st->ops->frame_sent(MUX(ud), st, f) : 0;
}

static int on_not_send(nghttp2_session *ng, const nghttp2_frame *f, int lib_error, void *ud)
{
	struct h2mux_stream *st = h2mux_stream_at(MUX(ud), f->hd.stream_id);

	(void)ng;
	return st && st->ops->not_sent ? st->ops->not_sent(MUX(ud), st, f, lib_error) : 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *ud)
{
	struct h2mux_stream *st = h2mux_stream_at(MUX(ud), sid);

	(void)ng;
	return st && st->ops->close ? st->ops->close(MUX(ud), st, sid, code) : 0;
}

static int on_send_data(nghttp2_session *ng, nghttp2_frame *f, const uint8_t *framehd, size_t len,
			nghttp2_data_source *src, void *ud)
{
	struct h2mux_stream *st = h2mux_stream_at(MUX(ud), f->hd.stream_id);

	(void)ng;
	(void)src;
	if (!st || !st->ops->send_data)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return st->ops->send_data(MUX(ud), st, framehd, len);
}

/* DATA frames as large as the windows, the peer's frame size and ours allow. */
static ssize_t on_read_length(nghttp2_session *ng, uint8_t type, int32_t sid, int32_t conn_win, int32_t stream_win,
			      uint32_t max_frame, void *ud)
{
	int32_t n = conn_win < stream_win ? conn_win : stream_win;

	(void)ng;
	(void)type;
	(void)sid;
	if ((uint32_t)n > max_frame)
		n = (int32_t)max_frame;
	if ((uint32_t)n > MUX(ud)->frame_max)
		n = (int32_t)MUX(ud)->frame_max;
	return n > 0 ? n : 1;
}

static ssize_t body_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct h2mux_stream *st = h2mux_stream_at(MUX(ud), sid);

	(void)ng;
	(void)src;
	if (!st || !st->ops->read)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return st->ops->read(MUX(ud), st, sid, buf, len, flags);
}

const nghttp2_data_provider h2mux_body = { .read_callback = body_read };

/* ---- the session ---- */

/* nghttp2's own allocations (its streams, HPACK tables, frames queued) counted in
 * buf_held, by the size malloc gave: one call per allocation and free. */
static void *ng_malloc(size_t n, void *ud)
{
	void *p = malloc(n);

	(void)ud;
	if (p)
		buf_account((long long)malloc_usable_size(p));
	return p;
}

static void ng_free(void *p, void *ud)
{
	(void)ud;
	if (p)
		buf_account(-(long long)malloc_usable_size(p));
	free(p);
}

static void *ng_calloc(size_t nmemb, size_t n, void *ud)
{
	void *p = calloc(nmemb, n);

	(void)ud;
	if (p)
		buf_account((long long)malloc_usable_size(p));
	return p;
}

static void *ng_realloc(void *p, size_t n, void *ud)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *np = realloc(p, n);

	(void)ud;
	if (np)
		buf_account((long long)malloc_usable_size(np) - (long long)old);
	else if (!n)
		buf_account(-(long long)old);
	return np;
}

static nghttp2_mem ng_mem = { NULL, ng_malloc, ng_free, ng_calloc, ng_realloc };

int h2mux_init(struct h2mux *m, const struct h2mux_cfg *cfg, const struct h2mux_ops *ops)
{
	nghttp2_settings_entry iv[6];
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	size_t n = 0;
	int rv;

	m->ng = NULL;
	m->ops = ops;
	list_init(&m->pending);
	m->frame_max = cfg->frame_max;
	m->ng_err = 0;
	m->max_hl = m->max_fields = m->reset_burst = m->reset_rate = 0;
	m->calm = false;
	m->hits = cfg->hits;
	m->goaway_code = 0;
	m->goaway_why[0] = 0;
	if (cfg->lim) {
		m->max_hl = cfg->lim->max_header_list;
		m->max_fields = cfg->lim->max_header_fields;
		m->reset_burst = cfg->lim->reset_burst;
		m->reset_rate = cfg->lim->reset_rate;
		m->reset_tokens = (uint64_t)m->reset_burst * 1000;
		m->reset_ms = now_ms();
	}
	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_not_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_send_data_callback(cb, on_send_data);
	/* without it nghttp2 keeps DATA at 16 KiB */
	if (cfg->frame_max)
		nghttp2_session_callbacks_set_data_source_read_length_callback(cb, on_read_length);
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		return -ENOMEM;
	}
	/* windows open as bytes leave, not as they arrive */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* until the peer's SETTINGS say otherwise */
	nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
	if (cfg->lim) {
		nghttp2_option_set_max_continuations(opt, cfg->lim->max_continuations);
		nghttp2_option_set_max_outbound_ack(opt, cfg->lim->max_pending_acks);
		/* ours answers first (ENHANCE_YOUR_CALM); nghttp2's (INTERNAL_ERROR) stays behind it */
		nghttp2_option_set_stream_reset_rate_limit(opt, (uint64_t)cfg->lim->reset_burst * 2,
							   (uint64_t)cfg->lim->reset_rate * 2);
	}
	rv = cfg->server ? nghttp2_session_server_new3(&m->ng, cb, m, opt, &ng_mem) :
			   nghttp2_session_client_new3(&m->ng, cb, m, opt, &ng_mem);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (rv) {
		m->ng = NULL;
		return -ENOMEM;
	}
	if (cfg->lim)
		iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->lim->max_streams };
	else if (cfg->max_streams_set)
		iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_streams };
	/* advisory (RFC 9113 6.5.2): what a section may decode to before it is refused */
	if (cfg->lim)
		iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, cfg->lim->max_header_list };
	iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg->stream_win };
	if (cfg->frame_max)
		iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, cfg->frame_max };
	iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 };
	/* nghttp2 then takes :protocol (and hands it to on_header like any field) */
	if (cfg->connect_protocol)
		iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1 };
	nghttp2_submit_settings(m->ng, NGHTTP2_FLAG_NONE, iv, n);
	nghttp2_session_set_local_window_size(m->ng, NGHTTP2_FLAG_NONE, 0, cfg->conn_win);
	return 0;
}

void h2mux_fini(struct h2mux *m)
{
	if (m->ng)
		nghttp2_session_del(m->ng);
	m->ng = NULL;
}

int h2mux_feed(struct h2mux *m, const uint8_t *p, size_t n)
{
	ssize_t rv;

	if (m->ng_err)
		return 0; /* the session failed: its GOAWAY is on its way, nothing more is read */
	rv = nghttp2_session_mem_recv(m->ng, p, n);
	if (rv < 0) {
		m->ng_err = (int)rv;
		/* nghttp2 ends these without a GOAWAY: the peer learns why */
		if (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
			calm_down(m, H2L_CONTINUATIONS);
		else if (rv == NGHTTP2_ERR_FLOODED)
			calm_down(m, H2L_FLOOD);
		else
			nghttp2_session_terminate_session(m->ng, rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? NGHTTP2_PROTOCOL_ERROR :
							  NGHTTP2_INTERNAL_ERROR);
		return -EPROTO;
	}
	if (m->calm) {
		/* a limit of ours ended the session (rapid reset): the owner closes it as
		 * after an error of nghttp2's, once the GOAWAY is out */
		m->ng_err = NGHTTP2_ERR_FLOODED;
		return -EPROTO;
	}
	return 0;
}

int h2mux_produce(struct h2mux *m)
{
	while (m->ops->room(m)) {
		const uint8_t *d;
		ssize_t n = nghttp2_session_mem_send(m->ng, &d);

		if (n < 0) {
			m->ng_err = (int)n;
			return -EPROTO;
		}
		if (!n)
			break;
		if (m->ops->output(m, d, (size_t)n))
			return -ENOMEM;
	}
	return 0;
}

bool h2mux_finished(const struct h2mux *m)
{
	return !nghttp2_session_want_read(m->ng) && !nghttp2_session_want_write(m->ng);
}

bool h2mux_head_stalled(struct h2mux *m, uint32_t limit_ms)
{
	uint64_t now = now_ms();

	/* hblock_ms is the clock | 1 (0: none), so it can be 1 ms ahead of a reading in the
	 * same (coarse, ~4 ms) tick: unchecked, now - hblock_ms wrapped to 2^64 - 1 and a
	 * header block that had begun in this very tick was "stalled", ending a busy
	 * session (GOAWAY ENHANCE_YOUR_CALM, every request on it reset) */
	if (!m->hblock_ms || now < m->hblock_ms || now - m->hblock_ms < limit_ms)
		return false;
	m->hblock_ms = 0;
	m->ng_err = NGHTTP2_ERR_PROTO;
	nghttp2_session_terminate_session(m->ng, NGHTTP2_ENHANCE_YOUR_CALM);
	return true;
}

void h2mux_refuse(struct h2mux *m, const char *why)
{
	nghttp2_submit_goaway(m->ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_ENHANCE_YOUR_CALM, (const uint8_t *)why, strlen(why));
}

bool h2mux_idle(struct h2mux *m)
{
	/* nghttp2 stops reading once a GOAWAY ending the session is queued */
	if (!nghttp2_session_want_read(m->ng))
		return true;
	hit(m, H2L_IDLE);
	nghttp2_session_terminate_session(m->ng, NGHTTP2_NO_ERROR);
	return false;
}
