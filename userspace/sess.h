/* sess.h: tunnel connections, both ways: the transport (sess.c), HTTP/2 CONNECT
 * streams (sess_h2.c) and HTTP/1.1 CONNECT over TLS (sess_h1.c). Each flow on them is
 * an endpoint (ep-t.h) of a struct conn. */
#ifndef HERMES_SESS_H
#define HERMES_SESS_H

#include "ep-t.h"
#include "loop-t.h"
#include "sess-t.h"

/* What the tunnel listener's connections hand over to the flows (tunnel.c has one). */
struct sess_acceptor {
	/* HTTP/1.1 in clear text (a CONNECT or a proxy request): the socket goes over */
	void (*socket)(struct loop *lp, int fd);
	/* a CONNECT stream whose head is known, as HTTP/1.1 text in head[0..len) (taken over
	 * on success): 0, or -errno (the stream is reset) */
	int (*stream)(struct loop *lp, struct ep *e, const struct hermes_addr *peer, char *head, size_t len);
	/* a byte stream (HTTP/1.1 over TLS) that carries its CONNECT head: 0 or -errno */
	int (*flow)(struct loop *lp, struct ep *e, const struct hermes_addr *peer);
};

int sess_init(struct loop *lp, const struct sess_acceptor *acc);
void sess_fini(struct loop *lp);
/* A connection accepted on the tunnel listener: TLS, h2c or (handed to tunnel_accept)
 * HTTP/1.1 CONNECT, told apart by its first byte. */
void sess_accept(struct loop *lp, int fd);
/* Sends what the sessions marked during this batch of completions have to send. */
void sess_flush_dirty(struct loop *lp);
void sess_tick(struct loop *lp);
void sess_close_all(struct loop *lp);

/* A CONNECT (or h2-post) to target through peer p as a stream on a pooled HTTP/2
 * connection (opened if none has room): the endpoint is `up` once the peer answered
 * 200, else `error`. udp: a CONNECT-UDP (extended CONNECT, capsules on the stream),
 * sent once the peer's SETTINGS allow it (-EPROTONOSUPPORT when they do not). ident:
 * Hermes-* lines sent with it, kept by the owner. NULL with *err when nothing could be
 * started. */
struct ep *sess_h2_open(struct loop *lp, const struct cfg_peer *p, const struct hermes_addr *target, bool udp,
			const char *ident, const struct ep_owner_ops *own, void *owner, int *err);
/* Optimistic data: e's CONNECT (from sess_h2_open) carries the first contiguous run of
 * src's bytes as DATA before the peer's answer, so that a request pays the path's round
 * trip once. They stay in src until the 200 (then consumed): a refusal the peer did not
 * act on (an answer other than 2xx, REFUSED_STREAM) leaves them there for the next
 * attempt, exactly. */
void sess_h2_early(struct ep *e, struct ep *src);
/* Bytes e sent before an answer that never came (a reset stream or connection, a
 * timeout): the peer may have passed them on, so they cannot be sent elsewhere. */
size_t sess_h2_early_unsettled(const struct ep *e);
/* A TLS connection (ALPN http/1.1) to peer p as a byte endpoint, `up` once the
 * handshake is done: the owner sends its CONNECT through it. */
struct ep *sess_h1_dial(struct loop *lp, const struct cfg_peer *p, const struct ep_owner_ops *own, void *owner,
			int *err);
/* An upstream connect for a client of the tunnel listener (its address: peer), taken
 * from its tunnel.client_connects_per_second: 0, or -EAGAIN (counted) over that rate or
 * while it is over tunnel.client_resets_per_second. */
int sess_client_connect(struct loop *lp, const struct hermes_addr *peer);
/* The client reset a CONNECT stream before its tunnel was up: one of its resets. */
void sess_client_reset(struct loop *lp, const struct hermes_addr *peer);
/* The tunnel connection a flow's client endpoint came on (its peer certificate, its
 * protocol), or NULL when e is not on one. */
const struct sess *sess_of(const struct ep *e);

#endif
