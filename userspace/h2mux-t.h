/* h2mux-t.h: types of the one HTTP/2 integration of hermesd (h2mux.c): an nghttp2
 * session on memory (struct h2mux, embedded in the connection object of its owner) and
 * the per-stream hook each stream object embeds (struct h2mux_stream). The tunnel
 * sessions (sess_h2.c), the http action's HTTP/2 clients (h2dn.c) and its HTTP/2
 * upstreams (h2up.c) all run on it. Functions and the ops tables in h2mux.h. */
#ifndef HERMES_H2MUX_T_H
#define HERMES_H2MUX_T_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"

struct nghttp2_session;
struct h2mux_ops;
struct h2mux_stream_ops;

struct h2mux_stream;

/* One HTTP/2 connection's nghttp2 session. ng is NULL until h2mux_init succeeded and
 * after h2mux_fini. */
struct h2mux {
	struct nghttp2_session *ng;
	const struct h2mux_ops *ops;
	struct list pending;      /* streams with events to act on (h2mux_events), the latest first */
	uint32_t frame_max;       /* largest DATA payload we produce */
	int ng_err;               /* nghttp2's error code behind the last -EPROTO */
};

/* The stream user data of every nghttp2 stream: embedded in the owner's stream object,
 * which it finds again with loop_container_of. Its ops receive the stream's frames. */
struct h2mux_stream {
	const struct h2mux_stream_ops *ops;
	struct list pending;          /* on the mux's pending list */
};

#endif
