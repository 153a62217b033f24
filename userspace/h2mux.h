/* h2mux.h: the one HTTP/2 integration (h2mux.c): session setup, the nghttp2 callback
 * table, per-stream dispatch, feeding received bytes and producing frames. Its users
 * submit requests, responses and resets with nghttp2's own submit_* calls on m->ng and
 * give their streams h2mux_body as data provider. Types in h2mux-t.h. */
#ifndef HERMES_H2MUX_H
#define HERMES_H2MUX_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "h2mux-t.h"

/* What the owner of a connection hears and provides. */
struct h2mux_ops {
	/* A peer's request HEADERS opens a stream (server sessions): the owner attaches a
	 * stream to it (h2mux_attach) or resets it. NULL: nothing to do. */
	void (*begin)(struct h2mux *m, const nghttp2_frame *f);
	/* The peer sent GOAWAY. NULL: nothing to do. */
	void (*goaway)(struct h2mux *m);
	/* The peer's SETTINGS (not an ACK) took effect. NULL: nothing to do. */
	void (*settings)(struct h2mux *m);
	/* How many more bytes the output takes now (0: stop producing until later). */
	size_t (*room)(struct h2mux *m);
	/* Frame bytes produced (all of them taken, or -errno). */
	int (*output)(struct h2mux *m, const uint8_t *p, size_t n);
};

/* What a stream hears. Each may be NULL (ignored). Return 0, or an nghttp2 error code
 * for nghttp2 to act on (NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE resets the stream). */
struct h2mux_stream_ops {
	/* A field of a HEADERS block (a server session's within http2's limits: h2mux.c
	 * counts them). H2MUX_TOO_LARGE: the owner cannot hold the section, which is then
	 * answered like one over the limits (431, or RST_STREAM for trailers). */
	int (*header)(struct h2mux *m, struct h2mux_stream *st, const nghttp2_frame *f, const uint8_t *name,
		      size_t nl, const uint8_t *value, size_t vl);
	/* Any frame received on the stream (after its fields and data). */
	int (*frame_recv)(struct h2mux *m, struct h2mux_stream *st, const nghttp2_frame *f);
	/* DATA payload bytes: the stream's window opens only as it calls nghttp2_session_consume. */
	int (*data)(struct h2mux *m, struct h2mux_stream *st, int32_t sid, const uint8_t *p, size_t n);
	int (*frame_sent)(struct h2mux *m, struct h2mux_stream *st, const nghttp2_frame *f);
	int (*not_sent)(struct h2mux *m, struct h2mux_stream *st, const nghttp2_frame *f, int lib_error);
	/* nghttp2 closed the stream (code: the HTTP/2 error code); it no longer points at st. */
	int (*close)(struct h2mux *m, struct h2mux_stream *st, int32_t sid, uint32_t code);
	/* The body (h2mux_body): as a data source read callback. */
	ssize_t (*read)(struct h2mux *m, struct h2mux_stream *st, int32_t sid, uint8_t *buf, size_t len,
			uint32_t *flags);
	/* A NO_COPY DATA frame: its 9-byte header, then len payload bytes, to the output. */
	int (*send_data)(struct h2mux *m, struct h2mux_stream *st, const uint8_t *framehd, size_t len);
	/* Outside nghttp2 (h2mux_events): act on what the callbacks above recorded
	 * (h2mux_event). It may call nghttp2 and free the stream. */
	void (*event)(struct h2mux *m, struct h2mux_stream *st);
};

#define H2MUX_TOO_LARGE 1

struct cfg_http2;

/* A session's settings. */
struct h2mux_cfg {
	bool server;
	bool max_streams_set;   /* send SETTINGS_MAX_CONCURRENT_STREAMS */
	bool connect_protocol;  /* a server that takes extended CONNECT (RFC 8441: CONNECT-UDP) */
	uint32_t max_streams;
	uint32_t stream_win;    /* SETTINGS_INITIAL_WINDOW_SIZE: our receive window per stream */
	int32_t conn_win;       /* our connection receive window */
	uint32_t frame_max;     /* 0: nghttp2's default DATA size (16 KiB), no
				 * SETTINGS_MAX_FRAME_SIZE; else sent, and DATA as large */
	/* a server's limits on its peer (copied; max_streams then is lim's) and the
	 * counters of what triggered them (stats-t.h http2_limits); NULL: none */
	const struct cfg_http2 *lim;
	uint64_t *hits;
};

/* Windows open by hand only (nghttp2_session_consume), no push, the peer's stream limit
 * 100 until its SETTINGS come; our SETTINGS and connection window queued. 0 or -ENOMEM. */
int h2mux_init(struct h2mux *m, const struct h2mux_cfg *cfg, const struct h2mux_ops *ops);
void h2mux_fini(struct h2mux *m);

/* Received bytes into nghttp2 (callbacks run inside). 0, or -EPROTO (m->ng_err set:
 * a GOAWAY is queued, nghttp2's or, for the errors it leaves without one and for a
 * rapid reset, ours, e.g. ENHANCE_YOUR_CALM for a CONTINUATION flood: worth producing
 * before the close; input after that is dropped). */
int h2mux_feed(struct h2mux *m, const uint8_t *p, size_t n);
/* Frames to the output while it has room. 0, -EPROTO (m->ng_err set), or the
 * output's -errno. */
int h2mux_produce(struct h2mux *m);
/* Both sides are done with the connection (GOAWAY both ways, nothing open). */
bool h2mux_finished(const struct h2mux *m);
/* A peer that began a header block (HEADERS without END_HEADERS) and has not ended it
 * for limit_ms, which also holds every other stream of the connection (slowloris):
 * GOAWAY ENHANCE_YOUR_CALM queued and m->ng_err set, so the owner closes as after an
 * error; true then (once). A block whose stream was refused ends at the next frame. */
bool h2mux_head_stalled(struct h2mux *m, uint32_t limit_ms);
/* A new server session refused over the memory budget: GOAWAY(ENHANCE_YOUR_CALM, last
 * stream 0, debug data why) behind our SETTINGS. Last stream 0 says no stream was
 * processed, so a client may retry them later or elsewhere (RFC 9113 6.8); nghttp2
 * reads nothing more once it is out and no stream is open, and the owner closes then
 * (h2mux_finished). */
void h2mux_refuse(struct h2mux *m, const char *why);
/* A server session with no stream for http2.idle_timeout_ms: GOAWAY(NO_ERROR) queued
 * (counted); the owner closes once it is out (h2mux_finished). true: a GOAWAY ending
 * the session was queued before and has not gone out (a client that does not read):
 * the owner closes now. */
bool h2mux_idle(struct h2mux *m);

/* Events recorded inside nghttp2, acted on once it returned, so that a stream's owner is
 * never re-entered from a call it made: h2mux_event (inside a callback) queues st once,
 * h2mux_events (after h2mux_feed/h2mux_produce) calls each queued stream's ops->event,
 * most recent first. A stream that goes away leaves the queue (h2mux_unqueue; all of
 * them: h2mux_unqueue_all). */
void h2mux_event(struct h2mux *m, struct h2mux_stream *st);
void h2mux_events(struct h2mux *m);
void h2mux_unqueue(struct h2mux *m, struct h2mux_stream *st);
void h2mux_unqueue_all(struct h2mux *m);

/* The stream user data of sid: st (NULL: none). */
void h2mux_attach(struct h2mux *m, int32_t sid, struct h2mux_stream *st);
struct h2mux_stream *h2mux_stream_at(struct h2mux *m, int32_t sid);

/* The data provider whose reads go to the stream's ops->read. */
extern const nghttp2_data_provider h2mux_body;

#endif
