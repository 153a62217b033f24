/* ep-t.h: a flow's endpoint: one side of a proxied or tunnelled flow, a byte stream
 * with half-close and reset, whatever carries it: an io_uring socket (ep_sock.c), TLS
 * over a socket (sess_h1.c: HTTP/1.1 CONNECT over TLS) or an HTTP/2 stream (sess_h2.c).
 * The flow (conn.c) and the relay (relay.c) hold two of them and never ask which kind
 * they hold: they call the ops and hear back through the owner callbacks. Functions in
 * ep.h. */
#ifndef HERMES_EP_T_H
#define HERMES_EP_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

struct ep;

/* How an endpoint is left. */
enum ep_end {
	EP_END_CLEAN,  /* both directions ended: close normally */
	EP_END_CANCEL, /* the flow gave up on it: close (an HTTP/2 stream: RST_STREAM CANCEL) */
	EP_END_RESET,  /* the other side was reset: reset this one too (TCP RST, RST_STREAM
			* CONNECT_ERROR, RFC 9113 8.5) */
};

/* What an endpoint does; every op but read/write/reply may be called in any state. */
struct ep_ops {
	const char *kind; /* "socket", "tls", "h2-stream": log lines only */
	/* The relay starts: from now on the endpoint reads on its own, as fast as its
	 * buffers empty (before, one read at a time with `read`). 0 or -errno. */
	int (*start)(struct ep *e);
	/* Setup: one more read (a request head or a CONNECT answer still incomplete). */
	void (*read)(struct ep *e);
	/* Setup: a few hundred bytes (a CONNECT request) sent as they are. 0 or -errno. */
	int (*write)(struct ep *e, const void *p, size_t n);
	/* Tunnel server: the answer to the CONNECT that arrived on e; 200 opens the stream,
	 * anything else ends e's write side. h1 is the answer as HTTP/1.1 text, for
	 * endpoints that speak it. */
	void (*reply)(struct ep *e, int status, const char *h1, size_t h1_len);
	/* Bytes received and not passed on yet: the first contiguous run, and all of them. */
	void (*peek)(const struct ep *e, const uint8_t **p, size_t *n);
	size_t (*avail)(const struct ep *e);
	/* n bytes from peek were passed on: their buffers go back, the window opens. */
	void (*consume)(struct ep *e, size_t n);
	/* e->src has bytes (or its EOF) for e: send them, pulling with ep_peek/ep_consume,
	 * and after the last one of an ended source end e's write side (then `drained`). */
	void (*kick)(struct ep *e);
	/* End its write side after the last byte of its ended source (FIN, END_STREAM,
	 * close_notify); e->shut and `drained` once done. */
	void (*shutdown)(struct ep *e);
	/* The owner lets go of e: what is in flight is cancelled. With `orphan`, e frees
	 * itself once nothing is in flight; without, the owner frees it with `free` once
	 * `busy` says nothing is (a socket's send may still read its source's buffers, so
	 * a relay frees its two endpoints together), and hears `settled` when it goes idle. */
	void (*close)(struct ep *e, enum ep_end how, bool orphan);
	bool (*busy)(const struct ep *e);
	void (*free)(struct ep *e);
	/* The socket under e, for the splice engine (which moves a socket pair's bytes in
	 * the kernel), or -1. */
	int (*sock)(const struct ep *e);
};

/* What an endpoint tells its owner. */
struct ep_owner_ops {
	void (*up)(struct ep *e);             /* dialled, or its tunnel established */
	void (*data)(struct ep *e);           /* bytes (or the EOF, e->eof) to read */
	void (*drained)(struct ep *e);        /* sent bytes of its source; e->shut once it
					       * ended its write side after the source's EOF */
	void (*error)(struct ep *e, int err); /* failed (-errno): refused, reset, timed out; a
					       * tunnel peer's answer maps to -ETIMEDOUT (504),
					       * -EACCES (403) or -ECONNREFUSED */
	void (*settled)(struct ep *e);        /* closed, and its last op completed */
};

/* Bytes received on a stream (HTTP/2 DATA, TLS plaintext) until passed on: also the
 * stream's flow-control window, so a slow receiver holds back only its own stream. */
#define EP_RING_SIZE (1024 * 1024)
struct ep_ring {
	uint8_t *p;             /* allocated on first use, freed at the tick after it went
				 * empty unless written since */
	uint32_t head, len;
	uint32_t touched;       /* bytes of p written so far (resident): counted in buf_held */
	struct list idle;       /* on ep.c's rings that went empty (p kept until the tick) */
	bool used;              /* written since that tick */
};

struct ep {
	const struct ep_ops *ops;
	const struct ep_owner_ops *own;
	void *owner;            /* the owner's object (struct conn) */
	struct ep *src;         /* where bytes written to e come from (the other endpoint) */
	int side;               /* the owner's index for e (conn: 0 client, 1 upstream) */
	bool eof;               /* read side ended: nothing after the bytes queued */
	bool ending;            /* shutdown asked for */
	bool shut;              /* write side ended (FIN, END_STREAM, close_notify) */
	bool closed;            /* the owner let go */
	uint64_t bytes;         /* bytes received (pre included) */
	/* bytes to read before the endpoint's own (read with a tunnel's head); owned here */
	char *pre;
	uint32_t pre_off, pre_len;
};

#endif
