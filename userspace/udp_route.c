/* udp_route.c: the local route that makes the IPv6 slot addresses of a relay port
 * (fd48:72::PORT:0/112, include/hermes/udp.h) this host's own, so that the UDP relay can
 * receive datagrams sent to them and answer from them. IPv4 has 127.0.0.0/8 on lo for
 * that; IPv6 has only ::1. For port 15001 the route is what
 * `ip -6 route add local fd48:72::3a99:0/112 dev lo table local` makes
 * (AnyIP: no address is configured, nothing answers neighbour discovery, no other
 * interface sees it); hermesd adds it in its own network namespace at start and removes
 * it at exit. One rtnetlink exchange each way, acknowledged. */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "hermes/udp.h"
#include "udp_route.h"

/* rtm_protocol of the route: hermesd's own, so `ip -6 route show proto 72` lists it */
#define UDP_ROUTE_PROTO 72

static int route_msg(int type, int flags, uint16_t port)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} q;
	union {
		struct nlmsghdr nh;
		char buf[512];
	} a;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct rtattr *ra;
	__u32 w[4], oif = if_nametoindex("lo");
	int fd, err;
	ssize_t n;

	if (!oif)
		return -ENODEV;
	memset(&q, 0, sizeof(q));
	q.nh.nlmsg_type = (__u16)type;
	q.nh.nlmsg_flags = (__u16)(NLM_F_REQUEST | NLM_F_ACK | flags);
	q.nh.nlmsg_len = NLMSG_LENGTH(sizeof(q.rt));
	q.rt.rtm_family = AF_INET6;
	q.rt.rtm_dst_len = HERMES_UDP_NET6_PLEN;
	q.rt.rtm_table = RT_TABLE_LOCAL;
	q.rt.rtm_protocol = UDP_ROUTE_PROTO;
	q.rt.rtm_scope = RT_SCOPE_HOST;
	q.rt.rtm_type = RTN_LOCAL;
	hermes_udp_slot_ip6(0, port, w);
	for (int i = 0; i < 4; i++)
		w[i] = htonl(w[i]);
	ra = (struct rtattr *)((char *)&q + NLMSG_ALIGN(q.nh.nlmsg_len));
	ra->rta_type = RTA_DST;
	ra->rta_len = RTA_LENGTH(16);
	memcpy(RTA_DATA(ra), w, 16);
	q.nh.nlmsg_len = NLMSG_ALIGN(q.nh.nlmsg_len) + RTA_ALIGN(ra->rta_len);
	ra = (struct rtattr *)((char *)&q + q.nh.nlmsg_len);
	ra->rta_type = RTA_OIF;
	ra->rta_len = RTA_LENGTH(sizeof(oif));
	memcpy(RTA_DATA(ra), &oif, sizeof(oif));
	q.nh.nlmsg_len += RTA_ALIGN(ra->rta_len);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &q, q.nh.nlmsg_len, 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	n = recv(fd, &a, sizeof(a), 0);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || a.nh.nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	return ((struct nlmsgerr *)NLMSG_DATA(&a.nh))->error;
}

int udp_route6_add(uint16_t port)
{
	/* replace: a route a hermesd that crashed left behind is taken over */
	return route_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, port);
}

int udp_route6_del(uint16_t port)
{
	return route_msg(RTM_DELROUTE, 0, port);
}
