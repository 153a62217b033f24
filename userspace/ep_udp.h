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

#endif
