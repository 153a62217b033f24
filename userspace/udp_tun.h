/* udp_tun.h: the tunnel action for UDP flows (udp_tun.c), the backend the UDP relay
 * (udp.c) hands a flow to when its rule says `tunnel`: a CONNECT-UDP stream (RFC 9298)
 * through the route's next hop instead of a socket of the relay's own. */
#ifndef HERMES_UDP_TUN_H
#define HERMES_UDP_TUN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "hermes/origdst.h"
#include "loop-t.h"
#include "udp_addr.h"

struct udp_tun;

/* The relay's flow as the tunnel sees it. */
struct udp_tun_app {
	union udp_sa app;           /* the app socket as the relay socket sees it */
	struct hermes_addr dst;     /* the original destination: the CONNECT-UDP's target */
	uint64_t cookie;            /* the app socket's */
	uint32_t pid, uid, gid;     /* who first sent: the identity fields */
	/* a datagram from the peer for the app (sent from the flow's slot address): 0 or -errno */
	int (*to_app)(void *arg, const void *p, size_t n);
	void *arg;
};

/* A tunnel for the flow: its stream to the route's next hop is opened at once (no route:
 * logged, and its datagrams dropped, counted no_stream). NULL without memory. */
struct udp_tun *udp_tun_open(struct loop *lp, const struct udp_tun_app *app);
/* One datagram from the app: a DATAGRAM capsule on the stream, queued until the peer's
 * answer. A flow whose stream failed opens another one, at most one a second. 0, or
 * -errno when the datagram was dropped (counted). */
int udp_tun_send(struct udp_tun *t, const void *p, size_t n);
/* The peer the flow's stream goes to, for its access line: false when it has none now. */
bool udp_tun_peer(const struct udp_tun *t, struct hermes_addr *peer);
/* The relay's tick: what the flow's stream holds idle goes back. */
void udp_tun_tick(struct udp_tun *t);
/* The flow is forgotten (idle, or hermesd stops): its stream ends, t is freed. */
void udp_tun_close(struct udp_tun *t);

#endif
