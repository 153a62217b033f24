/* udp_addr.c: the UDP relay's addresses (udp_addr.h): slot addresses of both families,
 * the packet info that names them, and the owner check of a new flow. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "hermes/udp.h"
#include "udp_addr.h"

socklen_t udp_sa_len(const union udp_sa *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->v6) : sizeof(a->v4);
}

bool udp_sa_eq(const union udp_sa *a, const union udp_sa *b)
{
	if (a->sa.sa_family != b->sa.sa_family || a->v4.sin_port != b->v4.sin_port)
		return false;
	if (a->sa.sa_family == AF_INET6)
		return !memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, 16);
	return a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
}

void udp_slot_sa(bool v6, uint16_t port, uint32_t slot, union udp_sa *out)
{
	uint32_t w[4];

	memset(out, 0, sizeof(*out));
	if (!v6) {
		out->v4.sin_family = AF_INET;
		out->v4.sin_addr.s_addr = htonl(hermes_udp_slot_ip(slot));
		return;
	}
	out->v6.sin6_family = AF_INET6;
	hermes_udp_slot_ip6(slot, ntohs(port), w);
	for (int i = 0; i < 4; i++)
		out->v6.sin6_addr.s6_addr32[i] = htonl(w[i]);
}

int udp_pktinfo_slot(struct msghdr *m, uint16_t port)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			const struct in_pktinfo *pi = (const void *)CMSG_DATA(c);

			return hermes_udp_ip_slot(ntohl(pi->ipi_addr.s_addr));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			const struct in6_pktinfo *pi = (const void *)CMSG_DATA(c);
			uint32_t w[4];

			for (int k = 0; k < 4; k++)
				w[k] = ntohl(pi->ipi6_addr.s6_addr32[k]);
			return hermes_udp_ip6_slot(w, ntohs(port));
		}
	}
	return -1;
}

void udp_pktinfo_set(struct msghdr *out, bool v6, uint16_t port, uint32_t slot)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(out);
	union udp_sa src;

	udp_slot_sa(v6, port, slot, &src);
	if (v6) {
		struct in6_pktinfo *pi = (void *)CMSG_DATA(c);

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(*pi));
		pi->ipi6_addr = src.v6.sin6_addr;
		pi->ipi6_ifindex = 0;
		out->msg_controllen = CMSG_SPACE(sizeof(*pi));
	} else {
		struct in_pktinfo *pi = (void *)CMSG_DATA(c);

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(*pi));
		memset(pi, 0, sizeof(*pi));
		pi->ipi_spec_dst = src.v4.sin_addr;
		out->msg_controllen = CMSG_SPACE(sizeof(*pi));
	}
}

/* A new flow's datagram must come from the very socket the slot was given to: the slot
 * addresses are open to every local process, and what reaches them leaves hermesd with
 * its mark. The kernel finds the socket a reply from the slot address to the sender would
 * reach (as ss does) and checks its cookie against the slot's: one netlink exchange per
 * new flow, none per datagram. */
bool udp_owner_ok(int diag_fd, bool v6, uint16_t port, const union udp_sa *app, uint32_t slot, uint64_t cookie)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} q = {
		.nh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_UDP, .idiag_states = ~0u },
	};
	union {
		struct nlmsghdr nh;
		char buf[512];
	} a;
	union udp_sa src;
	ssize_t n;

	if (diag_fd < 0)
		return false;
	/* the lookup takes a received packet's view: source = the slot, destination = the app */
	udp_slot_sa(v6, port, slot, &src);
	if (v6) {
		q.req.sdiag_family = AF_INET6;
		memcpy(q.req.id.idiag_src, &src.v6.sin6_addr, 16);
		memcpy(q.req.id.idiag_dst, &app->v6.sin6_addr, 16);
	} else {
		q.req.id.idiag_src[0] = src.v4.sin_addr.s_addr;
		q.req.id.idiag_dst[0] = app->v4.sin_addr.s_addr;
	}
	q.req.id.idiag_sport = port;
	q.req.id.idiag_dport = app->v4.sin_port;
	q.req.id.idiag_cookie[0] = (uint32_t)cookie;
	q.req.id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	if (send(diag_fd, &q, sizeof(q), 0) != (ssize_t)sizeof(q))
		return false;
	n = recv(diag_fd, &a, sizeof(a), 0);
	/* an error message (ENOENT: no such socket, ESTALE: another socket's cookie) or nothing */
	return n >= (ssize_t)sizeof(a.nh) && a.nh.nlmsg_type == SOCK_DIAG_BY_FAMILY;
}
