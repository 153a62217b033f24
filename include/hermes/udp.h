/* udp.h: the contract of transparent UDP steering between the BPF programs and hermesd.
 * A datagram the policy proxies is sent to a per-flow local address at hermesd's UDP
 * port, 127.72.X.Y for an IPv4 destination and fd48:72::PORT:SLOT for an IPv6 one, whose low
 * 16 bits name a slot of hermes_udp_slots: the flow's original destination and the app
 * socket's cookie. hermesd's UDP sockets learn the slot from each datagram's destination
 * (IP_PKTINFO, IPV6_PKTINFO) and answer from that same address, which recvmsg4/6 turn
 * back into the original destination. */
#ifndef HERMES_UDP_H
#define HERMES_UDP_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#include "hermes/origdst.h"

/* Slot addresses are 127.72.0.0/16: 127.0.0.0/8 is local on lo without any setup. */
#define HERMES_UDP_NET_A 127
#define HERMES_UDP_NET_B 72
#define HERMES_UDP_SLOTS 65536

/* The address of slot (host byte order), and the slot an address names or -1: the one
 * encoding the programs and hermesd's relay both read and write. */
static inline __u32 hermes_udp_slot_ip(__u32 slot)
{
	return (HERMES_UDP_NET_A << 24) | (HERMES_UDP_NET_B << 16) | (slot & 0xffff);
}

static inline int hermes_udp_ip_slot(__u32 ip)
{
	if ((ip >> 16) != ((HERMES_UDP_NET_A << 8) | HERMES_UDP_NET_B))
		return -1;
	return (int)(ip & 0xffff);
}
/* IPv6 slot addresses are fd48:72::PORT:SLOT, in the /112 of the relay's port (PORT in
 * hex: 15001 is 3a99), a ULA prefix: IPv6 has no loopback range beyond ::1, so hermesd
 * makes its /112 local (a `local` route on lo in the local table, as 127.0.0.0/8 is for
 * IPv4) while its IPv6 relay socket is open, and removes the route at exit. Each relay
 * port has a /112 of its own, so two hermesd in one network namespace (on two ports)
 * never remove each other's route. */
#define HERMES_UDP_NET6_W0 0xfd480072u
#define HERMES_UDP_NET6_PLEN 112

/* The IPv6 address of slot for the relay on port (host order), and the slot a v6
 * address names for that port, or -1 (words in host order: the callers convert with
 * their own htonl/ntohl). */
static inline void hermes_udp_slot_ip6(__u32 slot, __u16 port, __u32 w[4])
{
	w[0] = HERMES_UDP_NET6_W0;
	w[1] = 0;
	w[2] = 0;
	w[3] = ((__u32)port << 16) | (slot & 0xffff);
}

static inline int hermes_udp_ip6_slot(const __u32 w[4], __u16 port)
{
	if (w[0] != HERMES_UDP_NET6_W0 || w[1] || w[2] || (w[3] >> 16) != port)
		return -1;
	return (int)(w[3] & 0xffff);
}

/* Slots a new flow looks at before giving up (counted HERMES_CNT_UDP_NOSLOT, EPERM). */
#define HERMES_UDP_PROBES 16

/* hermes_udp_slots value (array, index = slot). A slot is free when cookie is 0 or
 * nothing used it for idle_ns (struct hermes_udp_conf): hermesd forgets its flows after
 * the same idle time. */
struct hermes_udp_slot {
	struct hermes_addr dst; /* what the application sent to */
	__u32 pid;              /* tgid that first sent (or connected) */
	__u64 cookie;           /* socket cookie of the application's socket; 0 = free */
	__u64 last_ns;          /* bpf_ktime_get_ns of the last send through BPF or relay by hermesd */
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;        /* its cgroup v2 id, for the flow's access line */
	char comm[16];          /* its command name (not NUL-terminated when full) */
	__u8 action;            /* HERMES_ACT_PROXY or _TUNNEL: what the programs decided at the
				 * last send, so that hermesd's relay never decides it again */
	__u8 pad[7];
};
_Static_assert(sizeof(struct hermes_udp_slot) == 80, "hermes_udp_slot layout is ABI");

/* hermes_udp_flows key: an app socket and a destination; value: its slot (__u32). */
struct hermes_udp_fkey {
	__u64 cookie;
	struct hermes_addr dst;
	__u32 pad;
};
_Static_assert(sizeof(struct hermes_udp_fkey) == 32, "hermes_udp_fkey layout is ABI");

#define HERMES_UDP_FLOWS_MAX HERMES_UDP_SLOTS

/* hermes_udp_conf value (one slot), written by hermesd: port 0 = no UDP relay (proxy
 * rules for UDP then fail open, as TCP's do without a listener). */
struct hermes_udp_conf {
#ifdef __BPF__
	struct bpf_spin_lock lock; /* guards cursor */
#else
	__u32 lock;
#endif
	__u32 cursor;  /* next slot to look at: each value is handed to one sender only */
	__u16 port;    /* hermesd's UDP relay port, network order */
	__u16 kpath;   /* 1: proxy flows take the kernel path (udp.kernel_path, below) */
	__u32 pad2;
	__u64 idle_ns; /* a slot unused this long may be given to another flow */
};
_Static_assert(sizeof(struct hermes_udp_conf) == 24, "hermes_udp_conf layout is ABI");

/* The kernel path of `proxy` flows (udp.kernel_path): the programs leave the destination
 * alone and put hermesd's mark on the application's socket instead (bpf_setsockopt
 * SO_MARK from connect4/6 and sendmsg4/6), record the flow in hermes_udp_kflows, and
 * cgroup_skb egress/ingress programs on the same cgroup count its datagrams each way and
 * set each datagram's skb mark (the socket's mark routes all of its sends; the first
 * datagram of an unconnected socket's flow was routed before the mark was set). hermesd
 * reads the map for its flow table and access lines, and deletes a flow idle for
 * udp.idle_timeout_ms; it never sees the datagrams. */
#define HERMES_UDP_KFLOWS_MAX 65536

/* hermes_udp_kflows value, keyed by struct hermes_udp_fkey (app socket cookie and the
 * original destination). Counters are added to with atomic adds by both programs. */
struct hermes_udp_kflow {
	struct hermes_addr app; /* the app socket's address as its first datagram left; family 0 until then */
	__u32 pid;              /* tgid that first sent (or connected) */
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	char comm[16];          /* not NUL-terminated when full */
	__u64 last_ns;          /* bpf_ktime_get_ns of the last datagram either way (or of the entry) */
	__u64 dgrams[2];        /* [0] app -> destination, [1] back */
	__u64 bytes[2];         /* UDP payload bytes, the same directions */
};
_Static_assert(sizeof(struct hermes_udp_kflow) == 96, "hermes_udp_kflow layout is ABI");

/* hermes_udp_ksk: per-socket storage of an app socket the kernel path marked. */
struct hermes_udp_ksk {
	__u32 app_mark; /* the socket's own mark before hermes set its own: the mark of its
			 * datagrams that are not a kernel-path flow's, and what a connect()
			 * to a destination that is not proxied restores */
	__u32 marked;   /* 1 while the socket carries hermesd's mark because of the kernel path */
	struct hermes_addr conn_dst; /* the kernel-path flow it is connect()ed to; family 0: none */
	__u32 pad;
	struct hermes_udp_kflow conn; /* that flow's entry as connect() made it: the cgroup_skb
				       * programs put it back when a datagram of the connected
				       * socket finds none (hermesd ended the flow idle; the
				       * sends of a connected socket never pass sendmsg4) */
};
_Static_assert(sizeof(struct hermes_udp_ksk) == 128, "hermes_udp_ksk layout is ABI");

#endif
