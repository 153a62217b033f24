/* udp.h: transparent UDP steering (include/hermes/udp.h). connect4/6 and sendmsg4/6 of
 * the enabled cgroup's UDP sockets decide per policy (proto udp): pass, deny (EPERM),
 * proxy or tunnel, which send the datagram to the flow's slot address at hermesd's UDP
 * port (hermesd looks the action up again when it opens the flow);
 * recvmsg4/6 show a reply from a slot address as coming from the original destination. */
#ifndef HERMES_BPF_UDP_H
#define HERMES_BPF_UDP_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "hermes/udp.h"
#include "lib/maps.h"

/* Slot -> flow (original destination, app socket): what hermesd and recvmsg read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HERMES_UDP_SLOTS);
	__type(key, __u32);
	__type(value, struct hermes_udp_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_udp_slots SEC(".maps");

/* (app socket, destination) -> slot, so that a flow keeps its slot; LRU as a backstop. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HERMES_UDP_FLOWS_MAX);
	__type(key, struct hermes_udp_fkey);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_udp_flows SEC(".maps");

/* hermesd's UDP relay port and slot idle time, and the slot cursor. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hermes_udp_conf);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_udp_conf SEC(".maps");

#define SOCK_DGRAM_ 2
#define IPPROTO_UDP_ 17
#define BPF_F_CURRENT_NETNS_UDP (-1L)

/* What the steering of one UDP send or connect came to (UDP_KPATH: unchanged, marked). */
enum udp_verdict { UDP_GO, UDP_EPERM, UDP_STEER, UDP_KPATH };

static __always_inline int is_udp(const struct bpf_sock_addr *ctx)
{
	return ctx->type == SOCK_DGRAM_ && ctx->protocol == IPPROTO_UDP_;
}

static __always_inline __u32 udp_slot_ip4(__u32 slot)
{
	return bpf_htonl(hermes_udp_slot_ip(slot));
}

/* The slot address of family for slot of the relay on port (network order, as is the
 * result; IPv4: ip[0] only). */
static __always_inline void udp_slot_addr(__u32 slot, int family, __u16 port, __u32 ip[4])
{
	if (family != HERMES_FAMILY_V6) {
		ip[0] = udp_slot_ip4(slot);
		return;
	}
	hermes_udp_slot_ip6(slot, bpf_ntohs(port), ip);
	ip[0] = bpf_htonl(ip[0]);
	ip[3] = bpf_htonl(ip[3]);
}

/* The slot a reply's source address names, or -1. */
static __always_inline int udp_ip4_slot(__u32 ip4_be)
{
	return hermes_udp_ip_slot(bpf_ntohl(ip4_be));
}

/* ... of an IPv6 reply from port (network order) */
static __always_inline int udp_ip6_slot(const __u32 ip6_be[4], __u16 port)
{
	__u32 w[4] = { bpf_ntohl(ip6_be[0]), bpf_ntohl(ip6_be[1]), bpf_ntohl(ip6_be[2]), bpf_ntohl(ip6_be[3]) };

	return hermes_udp_ip6_slot(w, bpf_ntohs(port));
}

static __always_inline int udp_addr_eq(const struct hermes_addr *a, const struct hermes_addr *b)
{
	__u32 x[4], y[4];

	__builtin_memcpy(x, a->addr, 16);
	__builtin_memcpy(y, b->addr, 16);
	return a->family == b->family && a->port == b->port && x[0] == y[0] && x[1] == y[1] && x[2] == y[2] &&
	       x[3] == y[3];
}

#include "lib/udp_kpath.h"

/* Policy decision for a UDP destination: the action, unsupported ones folded into deny. */
static __always_inline int udp_action(const struct hermes_addr *dst)
{
	struct hermes_policy_key key = {};
	const struct hermes_policy_val *val;
	__u16 port = dst->port;
	int action;

	key.family = dst->family;
	key.proto = (hermes_proto_t)HERMES_PROTO_UDP;
	key.port = port;
	__builtin_memcpy(key.addr, dst->addr, 16);
	key.prefixlen = HERMES_POLICY_PREFIX_BASE + (dst->family == HERMES_FAMILY_V4 ? 32 : 128);
	val = bpf_map_lookup_elem(&hermes_policy, &key);
	if (!val) {
		key.port = 0;
		val = bpf_map_lookup_elem(&hermes_policy, &key);
	}
	action = val ? val->action : HERMES_ACT_PASS;
	if (action == HERMES_ACT_PASS) {
		count(HERMES_CNT_UDP_PASS);
		return action;
	}
	if (action == HERMES_ACT_PROXY || action == HERMES_ACT_TUNNEL)
		return action;
	/* fail closed: http, a value hermes does not know */
	if (action != HERMES_ACT_DENY)
		count(HERMES_CNT_UDP_UNSUPPORTED);
	count(HERMES_CNT_UDP_DENY);
	return HERMES_ACT_DENY;
}

/* hermesd's UDP relay socket of family is bound in this netns: proxy fails open without
 * it. hermesd opens its IPv6 one only once the IPv6 slot addresses are local. */
static __always_inline int udp_relay_alive(struct bpf_sock_addr *ctx, __u16 port, int family)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 ip[4] = {};

	udp_slot_addr(0, family, port, ip);
	if (family == HERMES_FAMILY_V6) {
		t.ipv6.saddr[3] = bpf_htonl(1);
		__builtin_memcpy(t.ipv6.daddr, ip, 16);
		t.ipv6.dport = port;
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS_UDP, 0);
	} else {
		t.ipv4.saddr = bpf_htonl(0x7f000001);
		t.ipv4.daddr = ip[0];
		t.ipv4.dport = port;
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS_UDP, 0);
	}
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

/* Takes the next cursor value: one sender only ever sees each, so no two claim a slot at once. */
static __always_inline __u32 udp_cursor_next(struct hermes_udp_conf *conf)
{
	__u32 c;

	bpf_spin_lock(&conf->lock);
	c = conf->cursor++;
	bpf_spin_unlock(&conf->lock);
	return c;
}

/* The flow's slot (kept, or a free one claimed), or -1 when none is free. */
static __always_inline int udp_slot_get(struct bpf_sock_addr *ctx, struct hermes_udp_conf *conf,
					const struct hermes_addr *dst, int action)
{
	struct hermes_udp_fkey fk = {};
	struct hermes_udp_slot *s;
	__u64 now = bpf_ktime_get_ns();
	__u32 *idx, i;

	fk.cookie = bpf_get_socket_cookie(ctx);
	fk.dst = *dst;
	idx = bpf_map_lookup_elem(&hermes_udp_flows, &fk);
	if (idx) {
		__u32 k = *idx;

		s = bpf_map_lookup_elem(&hermes_udp_slots, &k);
		if (s && s->cookie == fk.cookie && udp_addr_eq(&s->dst, dst)) {
			s->last_ns = now;
			s->action = (__u8)action;
			return (int)k;
		}
	}
	for (i = 0; i < HERMES_UDP_PROBES; i++) {
		__u32 k = udp_cursor_next(conf) & (HERMES_UDP_SLOTS - 1);
		__u64 ug;

		s = bpf_map_lookup_elem(&hermes_udp_slots, &k);
		if (!s || (s->cookie && now - s->last_ns <= conf->idle_ns))
			continue;
		s->dst = *dst;
		s->cookie = fk.cookie;
		s->last_ns = now;
		s->action = (__u8)action;
		s->pid = bpf_get_current_pid_tgid() >> 32;
		ug = bpf_get_current_uid_gid();
		s->uid = (__u32)ug;
		s->gid = (__u32)(ug >> 32);
		s->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(s->comm, sizeof(s->comm));
		bpf_map_update_elem(&hermes_udp_flows, &fk, &k, BPF_ANY);
		return (int)k;
	}
	return -1;
}

/* The decision for a send or connect to dst (v4-mapped folded to IPv4); for UDP_STEER
 * ip (udp_slot_addr: of dst's family) and port are the slot address and hermesd's port
 * to send to instead. */
static __always_inline enum udp_verdict udp_decide(struct bpf_sock_addr *ctx, struct bpf_sock *sk,
						   const struct hermes_addr *dst, __u32 ip[4], __u16 *port, int connect)
{
	const struct hermes_bpf_config *cfg = bpf_config();
	struct hermes_udp_conf *conf;
	__u32 zero = 0;
	int action, slot;

	if (!cfg)
		return UDP_GO;
	/* an app socket the kernel path marked is still the app's */
	if (cfg->mark && sk->mark == cfg->mark && !udp_kpath_marked(sk)) {
		count(HERMES_CNT_OWN);
		return UDP_GO;
	}
	action = udp_action(dst);
	if (action == HERMES_ACT_PASS)
		return UDP_GO;
	if (action == HERMES_ACT_DENY)
		return UDP_EPERM;
	conf = bpf_map_lookup_elem(&hermes_udp_conf, &zero);
	if (!conf || !conf->port || cfg->draining) {
		count(HERMES_CNT_UDP_FAILOPEN);
		return UDP_GO;
	}
	if (action == HERMES_ACT_PROXY && conf->kpath) {
		/* straight to dst from the app's socket, marked and counted (udp_kpath.h) */
		count(HERMES_CNT_UDP_PROXY);
		udp_kpath_take(ctx, sk, cfg, dst, connect);
		return UDP_KPATH;
	}
	if (!udp_relay_alive(ctx, conf->port, dst->family)) {
		count(HERMES_CNT_UDP_FAILOPEN);
		return UDP_GO;
	}
	slot = udp_slot_get(ctx, conf, dst, action);
	if (slot < 0) {
		count(HERMES_CNT_UDP_NOSLOT);
		count(HERMES_CNT_UDP_DENY);
		return UDP_EPERM;
	}
	count(action == HERMES_ACT_TUNNEL ? HERMES_CNT_UDP_TUNNEL : HERMES_CNT_UDP_PROXY);
	udp_slot_addr((__u32)slot, dst->family, conf->port, ip);
	*port = conf->port;
	return UDP_STEER;
}

/* udp_decide for sk, the socket of ctx (read once by the caller: clang may otherwise keep
 * ctx's address of it, which the verifier refuses); a connect() that is no kernel-path
 * flow's gives the socket its own mark back (udp_kpath_unmark). */
static __always_inline enum udp_verdict udp_steer(struct bpf_sock_addr *ctx, struct bpf_sock *sk,
						  const struct hermes_addr *dst, __u32 ip[4], __u16 *port, int connect)
{
	enum udp_verdict v;

	if (!sk)
		return UDP_GO;
	v = udp_decide(ctx, sk, dst, ip, port, connect);
	if (connect && v != UDP_KPATH && v != UDP_EPERM)
		udp_kpath_unmark(ctx, sk);
	return v;
}

/* A reply from slot's address (of family) at port to this socket: the flow's original
 * destination. */
static __always_inline const struct hermes_udp_slot *udp_reply_slot(struct bpf_sock_addr *ctx, int slot, __u16 port,
								    int family)
{
	const struct hermes_udp_slot *s;
	struct hermes_udp_conf *conf;
	__u32 zero = 0, k;

	if (slot < 0)
		return NULL;
	conf = bpf_map_lookup_elem(&hermes_udp_conf, &zero);
	if (!conf || !conf->port || conf->port != port)
		return NULL;
	k = (__u32)slot;
	s = bpf_map_lookup_elem(&hermes_udp_slots, &k);
	if (!s || s->cookie != bpf_get_socket_cookie(ctx) || s->dst.family != family)
		return NULL;
	return s;
}

#endif
