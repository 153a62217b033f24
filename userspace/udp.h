/* udp.h: hermesd's relay of the UDP flows the policy proxies (udp.c). The BPF programs
 * send a proxied datagram to its flow's slot address (include/hermes/udp.h) at the
 * outbound listener's port; the relay sends it on to the original destination from a
 * marked socket of the flow's own and sends the replies back from the slot address. */
#ifndef HERMES_UDP_US_H
#define HERMES_UDP_US_H

#include "loop-t.h"

/* Binds the relay socket (udp.relay; the outbound listener's IPv4 port on every address,
 * so that each 127.72.X.Y reaches it) and arms its reads. 0 or -errno (logged). */
int udp_init(struct loop *lp);
/* Once a second: forgets idle flows, keeps the slots of live ones from being reused. */
void udp_tick(struct loop *lp);
/* Closes every flow and the relay socket (at exit: the ring goes with them). */
void udp_fini(struct loop *lp);

#endif
