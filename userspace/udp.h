/* udp.h: hermesd's relay of the UDP flows the policy proxies (udp.c). The BPF programs
 * send a proxied datagram to its flow's slot address (include/hermes/udp.h) at the
 * outbound listener's port; the relay sends it on to the original destination from a
 * marked socket of the flow's own and sends the replies back from the slot address. */
#ifndef HERMES_UDP_US_H
#define HERMES_UDP_US_H

#include <netinet/in.h>
#include <stdbool.h>

#include "loop-t.h"

/* Binds the relay socket (udp.relay; the outbound listener's IPv4 port on every address,
 * so that each 127.72.X.Y reaches it) and arms its reads. 0 or -errno (logged). */
int udp_init(struct loop *lp);
/* Once a second: forgets idle flows, keeps the slots of live ones from being reused. */
void udp_tick(struct loop *lp);
/* One relayed UDP flow as /flows shows it. */
struct udp_flow_info {
	uint64_t id;
	const struct sockaddr *app;   /* the app socket as the relay sees it (IPv4 or IPv6) */
	struct hermes_addr dst;       /* the original destination */
	int upstream_fd;              /* for its local address */
	uint64_t bytes_up, bytes_down; /* payload relayed each way */
	uint64_t age_ms, idle_ms;
	uint32_t pid, uid;            /* who first sent (the slot's) */
	const char *comm;             /* its command name when the flow opened, "" unknown */
	uint32_t slot;
	uint8_t action;               /* enum hermes_action: proxy, or tunnel (upstream_fd -1) */
	bool kernel;                  /* a kernel-path flow (udp_kpath.c): no relay, no slot */
};
/* Calls cb for each flow (none while the relay is off). */
void udp_flows_foreach(struct loop *lp, void (*cb)(const struct udp_flow_info *, void *), void *arg);
/* Closes every flow and the relay socket (at exit: the ring goes with them). */
void udp_fini(struct loop *lp);

#endif
