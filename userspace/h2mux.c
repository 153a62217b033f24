/* h2mux.c: the one HTTP/2 integration of hermesd. nghttp2 runs on memory: the owner of a
 * connection feeds it the bytes it received (h2mux_feed) and takes the frames it
 * produces (h2mux_produce, as far as the owner's output has room); nothing here touches
 * a socket or TLS. Every stream carries its own ops (struct h2mux_stream, the nghttp2
 * stream user data, embedded in the owner's stream object), so one connection can carry
 * streams of different kinds: a tunnel session's CONNECT streams (sess_h2.c) beside the
 * explicit proxy requests it hands to the http action (h2dn.c). The owners decide what
 * their callbacks may do: the http action's only record events and acts on them once
 * nghttp2 returned. */
#include <errno.h>

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

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	(void)ng;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST && MUX(ud)->ops->begin)
		MUX(ud)->ops->begin(MUX(ud), f);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	struct h2mux_stream *st = h2mux_stream_at(MUX(ud), f->hd.stream_id);

	(void)ng;
	(void)flags;
	if (!st || !st->ops->header || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	return st->ops->header(MUX(ud), st, f, name, nl, value, vl);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct h2mux_stream *st;

	(void)ng;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		if (MUX(ud)->ops->goaway)
			MUX(ud)->ops->goaway(MUX(ud));
		return 0;
	}
	st = h2mux_stream_at(MUX(ud), f->hd.stream_id);
	return st && st->ops->frame_recv ? st->ops->frame_recv(MUX(ud), st, f) : 0;
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

int h2mux_init(struct h2mux *m, const struct h2mux_cfg *cfg, const struct h2mux_ops *ops)
{
	nghttp2_settings_entry iv[4];
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	size_t n = 0;
	int rv;

	m->ng = NULL;
	m->ops = ops;
	list_init(&m->pending);
	m->frame_max = cfg->frame_max;
	m->ng_err = 0;
	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
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
	rv = cfg->server ? nghttp2_session_server_new2(&m->ng, cb, m, opt) : nghttp2_session_client_new2(&m->ng, cb, m, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (rv) {
		m->ng = NULL;
		return -ENOMEM;
	}
	if (cfg->max_streams_set)
		iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_streams };
	iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg->stream_win };
	if (cfg->frame_max)
		iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, cfg->frame_max };
	iv[n++] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 };
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
	ssize_t rv = nghttp2_session_mem_recv(m->ng, p, n);

	if (rv < 0) {
		m->ng_err = (int)rv;
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
