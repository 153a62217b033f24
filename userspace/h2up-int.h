/* h2up-int.h: what the two files of the http action's HTTP/2 upstream share (h2up.c the
 * streams, h2up_conn.c the connections): their state, and the steps each takes on the
 * other's. No other file includes it. */
#ifndef HERMES_H2UP_INT_H
#define HERMES_H2UP_INT_H

#include "h2mux.h"
#include "h2x.h"
#include "http.h"
#include "list.h"

/* An HTTP/2 connection's state (hup->h2 of a HUP_K_H2). */
struct h2conn {
	struct h2mux m;
	struct hup *c;            /* the connection it is the state of */
	struct list streams;      /* its streams (struct h2stream), attached until closed or released */
	unsigned n_streams;
	bool goaway;              /* received or sent: no new streams */
	struct list dirty;        /* on lp->http->h2up_dirty */
	uint64_t rx_ms;           /* bytes last came in */
	uint64_t ping_ms;         /* a PING last went out (h2up_quiet_ms) */
};

/* A stream's state (hup->h2 of a HUP_K_STREAM). */
struct h2stream {
	struct h2mux_stream ms;   /* the nghttp2 stream user data */
	struct hup *u;            /* the stream it is the state of */
	struct hup *conn;         /* NULL once the stream is off its connection */
	struct list link;         /* on its connection's streams, then conn_fail's list */
	bool released;            /* its exchange is done with it */
	bool closed;              /* nghttp2 closed it (or never opened it) */
	bool submitted, deferred;
	int fail_why, fail_err;   /* to report to the exchange */
	int32_t sid;
	bool is_head;
	struct h2x_body rq;       /* the request body, from wbuf */
	bool body_end;            /* an unframed body (H2X_EOF) is all in wbuf */
	struct hbuf rqtr;         /* ... and its trailers, records */
	/* the response: heads as field records in rsh[rsh_off..) (hup_head), the body's
	 * DATA into rx as they are, its trailers as records (hup_trailers) */
	struct hbuf rsh, trailers;
	size_t rsh_off;
	int status;               /* of the head being received (0: not a 3-digit :status) */
	bool final;               /* the final head is done: fields now are trailers */
	bool has_cl, stream, body_none;
	bool ended;
	size_t unconsumed;        /* DATA bytes in rx not given back to the window yet */
};

#define CONN(u) ((struct h2conn *)(u)->h2)
#define ST(u) ((struct h2stream *)(u)->h2)
#define MC(m) (loop_container_of(m, struct h2conn, m)->c)

/* c has frames to produce: it joins the batch flushed once per loop turn
 * (h2up_flush_dirty). */
static inline void conn_dirty(struct loop *lp, struct hup *c)
{
	struct h2conn *h = CONN(c);

	if (list_linked(&h->dirty) || c->state == HUP_CLOSING)
		return;
	list_add(&lp->http->h2up_dirty, &h->dirty);
}

/* h2up.c */
/* u leaves its connection (no longer one of its streams or nghttp2's user data). */
void h2up_stream_detach(struct hup *u);
/* u and its buffers go (detached first). */
void h2up_stream_free(struct hup *u);
/* Frees u once nobody needs it: released by its exchange and closed (or off its
 * connection), and not waiting on the pending list. */
void h2up_stream_maybe_free(struct hup *u);

/* h2up_conn.c */
/* c's HTTP/2 state (TLS first for an `h2` route of x's). 0 or -errno. */
int h2up_conn_init(struct loop *lp, struct hup *c, const struct hconn *x);

#endif
