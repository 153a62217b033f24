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

/* The limits of a server session that a peer can trigger (section http2), counted under
 * hermes_http2_limits_total{limit} in this order (stats-t.h). */
enum h2mux_limit {
	H2L_HEADER_LIST,   /* a header or trailer section over its bytes or fields: 431 or RST_STREAM */
	H2L_CONTINUATIONS, /* too many CONTINUATION frames: GOAWAY ENHANCE_YOUR_CALM */
	H2L_RESETS,        /* RST_STREAM faster than the bucket allows: GOAWAY ENHANCE_YOUR_CALM */
	H2L_FLOOD,         /* acknowledgements queued for a peer that does not read: GOAWAY ENHANCE_YOUR_CALM */
	H2L_STREAMS,       /* a stream refused (REFUSED_STREAM) */
	H2L_IDLE,          /* no stream for http2.idle_timeout_ms: GOAWAY NO_ERROR */
	H2L_N,
};

/* One HTTP/2 connection's nghttp2 session. ng is NULL until h2mux_init succeeded and
 * after h2mux_fini. */
struct h2mux {
	struct nghttp2_session *ng;
	const struct h2mux_ops *ops;
	struct list pending;      /* streams with events to act on (h2mux_events), the latest first */
	uint32_t frame_max;       /* largest DATA payload we produce */
	int ng_err;               /* nghttp2's error code behind the last -EPROTO */
	/* a server session's limits (0: none, a client session) */
	uint32_t max_hl, max_fields, reset_burst, reset_rate;
	uint64_t reset_tokens;    /* thousandths of a RST_STREAM */
	uint64_t reset_ms;        /* when reset_tokens was last topped up */
	bool calm;                /* GOAWAY ENHANCE_YOUR_CALM queued */
	uint64_t hblock_ms;       /* when the peer's header block being received began (0: none):
				   * no other frame may come until it ends (h2mux_head_stalled) */
	uint64_t *hits;           /* [H2L_N] counters (NULL: none) */
	/* the GOAWAY we sent with an error code, and nghttp2's reason in its debug data (its
	 * own protocol errors end a session without a word to the owner otherwise) */
	uint32_t goaway_code;
	char goaway_why[64];
};

/* The stream user data of every nghttp2 stream: embedded in the owner's stream object,
 * which it finds again with loop_container_of. Its ops receive the stream's frames. */
struct h2mux_stream {
	const struct h2mux_stream_ops *ops;
	struct list pending;          /* on the mux's pending list */
	bool hl_over;                 /* its header section went over the limits: no more fields */
	uint32_t hl_fields;           /* of the header section being received */
	uint64_t hl_bytes;
};

#endif
