/* ep_udp.h: the UDP endpoint of a CONNECT-UDP flow (ep_udp.c). */
#ifndef HERMES_EP_UDP_H
#define HERMES_EP_UDP_H

#include "ep-t.h"
#include "loop-t.h"

/* A UDP socket (SO_MARK) connected to dst on io_uring: `up` once connected. Its byte
 * stream is the Capsule Protocol: what the flow writes to it are capsules, each DATAGRAM
 * (context 0) of at most tunnel.udp_max_datagram_bytes becoming one UDP datagram, and
 * what it reads are DATAGRAM capsules, one per datagram received. NULL with *err. */
struct ep *ep_udp_open(struct loop *lp, const struct hermes_addr *dst, const struct ep_owner_ops *own, void *owner,
		       int side, int *err);
/* Counts its datagrams each way and its drops into t from now on (the owner's, which
 * outlives the endpoint: read for the flow's access line after the endpoint is freed). */
void ep_udp_tally(struct ep *e, struct udp_tally *t);

/* App mode (the tunnel client's side of a UDP flow): where the datagrams the stream
 * brings go, and who hears that the endpoint is gone (freed with its flow). */
struct ep_udp_sink {
	int (*send)(void *arg, const void *p, size_t n); /* 0 or -errno (counted send_error) */
	void (*gone)(void *arg);
	void *arg;                                       /* NULL: detached, nothing is called */
};
/* The same endpoint without a socket: datagrams come in with ep_udp_push (each one a
 * DATAGRAM capsule toward the stream, queued up to udp.tunnel_queue_bytes until the
 * stream takes them),
 * those from the stream go to sink. Needs no `up`. NULL with *err. */
struct ep *ep_udp_app(struct loop *lp, const struct ep_udp_sink *sink, const struct ep_owner_ops *own, void *owner,
		      int side, int *err);
/* One datagram from the app: 0, or -errno when dropped (counted: oversize, queue full;
 * or the stream is ending). */
int ep_udp_push(struct ep *e, const void *p, size_t n);
/* The sink is not called any more (its owner goes first). */
void ep_udp_detach(struct ep *e);
/* The owner's tick: the queue toward the stream, when empty, gives its memory back. */
void ep_udp_idle(struct ep *e);

#endif
