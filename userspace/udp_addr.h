/* udp_addr.h: the addresses of the UDP relay (udp_addr.c): an application socket's
 * address of either family, the slot addresses of both families (include/hermes/udp.h)
 * as the relay's packet info reads and writes them, and the check that a new flow's
 * sender is the socket its slot was given to. port is the relay's, network order. */
#ifndef HERMES_UDP_ADDR_H
#define HERMES_UDP_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* An application socket's address as a relay socket sees it (sin_port and sin6_port are
 * at the same place). */
union udp_sa {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

socklen_t udp_sa_len(const union udp_sa *a);
bool udp_sa_eq(const union udp_sa *a, const union udp_sa *b);
/* The address of slot: 127.72.X.Y, or fd48:72::PORT:SLOT when v6. */
void udp_slot_sa(bool v6, uint16_t port, uint32_t slot, union udp_sa *out);
/* The slot a received datagram was sent to (its IP_PKTINFO or IPV6_PKTINFO; an IPv6 one
 * in the /112 of port), or -1. */
int udp_pktinfo_slot(struct msghdr *m, uint16_t port);
/* The control message (in out's msg_control, room for an in6_pktinfo) that makes a
 * reply leave from slot's address; msg_controllen set. */
void udp_pktinfo_set(struct msghdr *out, bool v6, uint16_t port, uint32_t slot);
/* Whether the socket a reply from slot's address to app would reach is the one with
 * cookie (diag_fd: a NETLINK_SOCK_DIAG socket; false when it is -1). */
bool udp_owner_ok(int diag_fd, bool v6, uint16_t port, const union udp_sa *app, uint32_t slot, uint64_t cookie);

#endif
