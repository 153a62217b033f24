// SPDX-License-Identifier: GPL-2.0
/* steer.bpf.c: takes new TCP connections and UDP datagrams of the enabled cgroup over.
 * connect4/6 decide per policy (pass, deny, proxy, tunnel, http) and rewrite steered connects to
 * hermesd's outbound listener; sockops re-keys the original destination by the app's
 * local address once established; getpeername4/6 show the app what it dialled;
 * getsockopt answers SO_ORIGINAL_DST on hermesd's accepted sockets. UDP (lib/udp.h):
 * connect4/6 and sendmsg4/6 steer, recvmsg4/6 map replies back; with the kernel path
 * (lib/udp_kpath.h) proxy flows go direct, marked, counted by two cgroup_skb programs. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/accel.h"
#include "lib/splice.h"
#include "lib/tc.h"
#include "lib/flows.h"
#include "lib/maps.h"
#include "lib/ownsk.h"
#include "lib/udp.h"

char LICENSE[] SEC("license") = "GPL";

#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define SOL_IP 0
#define SOL_IPV6 41
#define SO_ORIGINAL_DST 80
#define BPF_F_CURRENT_NETNS_ (-1L)

/* Actions whose connections go to hermesd's outbound listener. */
static __always_inline int steered(int action)
{
	return action == HERMES_ACT_PROXY || action == HERMES_ACT_TUNNEL || action == HERMES_ACT_HTTP;
}

/* Connect hook verdicts: 1 lets connect() go on, 0 makes it fail with EPERM. */
#define CONNECT_OK 1
#define CONNECT_EPERM 0

static __always_inline const struct hermes_policy_val *policy_lookup(struct hermes_policy_key *key)
{
	const struct hermes_policy_val *val;
	__u16 port = key->port;

	/* exact-port rules first: their prefix covers the port, so only they match here */
	val = bpf_map_lookup_elem(&hermes_policy, key);
	if (val)
		return val;
	key->port = 0;
	val = bpf_map_lookup_elem(&hermes_policy, key);
	key->port = port;
	return val;
}

/* Fail-open: proxy only while hermesd's listener exists in this netns. */
static __always_inline int listener_alive4(struct bpf_sock_addr *ctx, const struct hermes_bpf_config *cfg)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	if (!cfg->listen4_port || cfg->draining)
		return 0;
	__builtin_memcpy(&t.ipv4.daddr, cfg->listen4, 4);
	t.ipv4.saddr = t.ipv4.daddr;
	t.ipv4.dport = cfg->listen4_port;
	sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS_, 0);
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

static __always_inline int listener_alive6(struct bpf_sock_addr *ctx, const struct hermes_bpf_config *cfg)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	if (!cfg->listen6_port || cfg->draining)
		return 0;
	__builtin_memcpy(t.ipv6.daddr, cfg->listen6, 16);
	__builtin_memcpy(t.ipv6.saddr, cfg->listen6, 16);
	t.ipv6.dport = cfg->listen6_port;
	sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS_, 0);
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

#define is_v4mapped ip6_is_v4mapped

/* Shared decision for both families. dst is what the app dialled (v4-mapped folded to
 * v4). Returns the action; for proxy also records the original destination. */
static __always_inline int decide(struct bpf_sock_addr *ctx, const struct hermes_addr *dst,
				  const struct hermes_bpf_config *cfg)
{
	struct hermes_policy_key key = {};
	const struct hermes_policy_val *val;
	struct hermes_origdst *od;
	int action = HERMES_ACT_PASS;

	key.family = dst->family;
	key.port = dst->port;
	__builtin_memcpy(key.addr, dst->addr, 16);
	key.prefixlen = HERMES_POLICY_PREFIX_BASE + (dst->family == HERMES_FAMILY_V4 ? 32 : 128);
	val = policy_lookup(&key);
	if (val) {
		action = val->action;
		/* fail closed: a value hermes does not know (bpftool, a newer hermes) must
		 * not pass, least of all as a port rule under a covering deny */
		if (action >= HERMES_ACT_MAX) {
			count(HERMES_CNT_UNKNOWN_ACTION);
			action = HERMES_ACT_DENY;
		}
	}
	count(action);
	if (cfg->flows)
		flow_connect(ctx, dst, action);
	if (!steered(action))
		return action;

	od = bpf_sk_storage_get(&hermes_sk_dst, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!od)
		return HERMES_ACT_PASS;
	od->dst = *dst;
	od->action = (hermes_action_t)action;
	od->route_id = val ? val->route_id : 0;
	od->cookie = bpf_get_socket_cookie(ctx);
	od->pid = bpf_get_current_pid_tgid() >> 32;
	{
		__u64 ug = bpf_get_current_uid_gid();

		od->uid = (__u32)ug;
		od->gid = (__u32)(ug >> 32);
	}
	return action;
}

/* The destination of a UDP connect or send (v4-mapped folded to IPv4). */
static __always_inline void udp_dst(struct bpf_sock_addr *ctx, int v6, struct hermes_addr *dst)
{
	__builtin_memset(dst, 0, sizeof(*dst));
	dst->port = (__u16)ctx->user_port;
	if (!v6) {
		dst->family = HERMES_FAMILY_V4;
		__builtin_memcpy(dst->addr, &ctx->user_ip4, 4);
		return;
	}
	{
		__u32 ip6[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };

		if (is_v4mapped(ip6)) {
			dst->family = HERMES_FAMILY_V4;
			__builtin_memcpy(dst->addr, &ip6[3], 4);
		} else {
			dst->family = HERMES_FAMILY_V6;
			__builtin_memcpy(dst->addr, ip6, 16);
		}
	}
}

/* Sends to the slot address ip (udp_slot_addr, of dst's family) instead: an IPv6 one, or
 * an IPv4 one (a dual-stack socket reaches it v4-mapped). */
static __always_inline void udp_rewrite(struct bpf_sock_addr *ctx, int v6, const struct hermes_addr *dst,
					const __u32 ip[4], __u16 port)
{
	if (dst->family == HERMES_FAMILY_V6) {
		ctx->user_ip6[0] = ip[0];
		ctx->user_ip6[1] = ip[1];
		ctx->user_ip6[2] = ip[2];
		ctx->user_ip6[3] = ip[3];
	} else if (v6) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = ip[0];
	} else {
		ctx->user_ip4 = ip[0];
	}
	ctx->user_port = port;
}

/* connect() of a UDP socket: steered like a send; getpeername shows the original
 * destination from hermes_sk_dst, as for TCP. */
static __always_inline int udp_connect(struct bpf_sock_addr *ctx, int v6)
{
	struct bpf_sock *sk = ctx->sk;
	struct hermes_addr dst;
	struct hermes_origdst *od;
	__u32 ip[4] = {};
	__u16 port = 0;
	enum udp_verdict v;

	if (!sk)
		return CONNECT_OK;
	udp_dst(ctx, v6, &dst);
	v = udp_steer(ctx, sk, &dst, ip, &port, 1);
	if (v == UDP_EPERM)
		return CONNECT_EPERM;
	if (v != UDP_STEER) {
		/* connected anew somewhere not steered: no stale original destination */
		bpf_sk_storage_delete(&hermes_sk_dst, sk);
		return CONNECT_OK;
	}
	od = bpf_sk_storage_get(&hermes_sk_dst, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (od) {
		od->dst = dst;
		od->action = (hermes_action_t)HERMES_ACT_PROXY;
		od->cookie = bpf_get_socket_cookie(ctx);
	}
	udp_rewrite(ctx, v6, &dst, ip, port);
	return CONNECT_OK;
}

static __always_inline int udp_sendmsg(struct bpf_sock_addr *ctx, int v6)
{
	struct hermes_addr dst;
	__u32 ip[4] = {};
	__u16 port = 0;
	enum udp_verdict v;

	if (!is_udp(ctx))
		return 1;
	udp_dst(ctx, v6, &dst);
	v = udp_steer(ctx, ctx->sk, &dst, ip, &port, 0);
	if (v == UDP_EPERM)
		return 0;
	if (v == UDP_STEER)
		udp_rewrite(ctx, v6, &dst, ip, port);
	return 1;
}

SEC("cgroup/sendmsg4")
int hermes_sendmsg4(struct bpf_sock_addr *ctx)
{
	return udp_sendmsg(ctx, 0);
}

SEC("cgroup/sendmsg6")
int hermes_sendmsg6(struct bpf_sock_addr *ctx)
{
	return udp_sendmsg(ctx, 1);
}

/* A reply from a slot address shows as from the flow's original destination. */
SEC("cgroup/recvmsg4")
int hermes_recvmsg4(struct bpf_sock_addr *ctx)
{
	const struct hermes_udp_slot *s;

	if (!ctx->sk)
		return 1;
	s = udp_reply_slot(ctx, udp_ip4_slot(ctx->user_ip4), (__u16)ctx->user_port, HERMES_FAMILY_V4);
	if (!s)
		return 1;
	__builtin_memcpy(&ctx->user_ip4, s->dst.addr, 4);
	ctx->user_port = s->dst.port;
	return 1;
}

SEC("cgroup/recvmsg6")
int hermes_recvmsg6(struct bpf_sock_addr *ctx)
{
	const struct hermes_udp_slot *s;
	__u32 ip6[4];

	if (!ctx->sk)
		return 1;
	ip6[0] = ctx->user_ip6[0];
	ip6[1] = ctx->user_ip6[1];
	ip6[2] = ctx->user_ip6[2];
	ip6[3] = ctx->user_ip6[3];
	if (!is_v4mapped(ip6)) {
		/* an IPv6 flow's reply, from its fd48:72::PORT:SLOT slot address */
		s = udp_reply_slot(ctx, udp_ip6_slot(ip6, (__u16)ctx->user_port), (__u16)ctx->user_port,
				   HERMES_FAMILY_V6);
		if (!s)
			return 1;
		__builtin_memcpy(ip6, s->dst.addr, 16);
		ctx->user_ip6[0] = ip6[0];
		ctx->user_ip6[1] = ip6[1];
		ctx->user_ip6[2] = ip6[2];
		ctx->user_ip6[3] = ip6[3];
		ctx->user_port = s->dst.port;
		return 1;
	}
	s = udp_reply_slot(ctx, udp_ip4_slot(ip6[3]), (__u16)ctx->user_port, HERMES_FAMILY_V4);
	if (!s)
		return 1;
	__builtin_memcpy(&ip6[3], s->dst.addr, 4);
	ctx->user_ip6[3] = ip6[3];
	ctx->user_port = s->dst.port;
	return 1;
}

/* The kernel path's datagram counters (udp_kpath.h), attached with udp.kernel_path only. */
SEC("cgroup_skb/egress")
int hermes_udp_kegress(struct __sk_buff *skb)
{
	return udp_kpath_skb(skb, 1);
}

SEC("cgroup_skb/ingress")
int hermes_udp_kingress(struct __sk_buff *skb)
{
	return udp_kpath_skb(skb, 0);
}

SEC("cgroup/connect4")
int hermes_connect4(struct bpf_sock_addr *ctx)
{
	const struct hermes_bpf_config *cfg = bpf_config();
	struct hermes_addr dst = {};
	struct bpf_sock *sk = ctx->sk;
	int action;

	if (is_udp(ctx))
		return udp_connect(ctx, 0);
	if (!cfg || !sk || ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return CONNECT_OK;
	if (cfg->mark && sk->mark == cfg->mark) {
		count(HERMES_CNT_OWN);
		return CONNECT_OK;
	}
	dst.family = HERMES_FAMILY_V4;
	dst.port = (__u16)ctx->user_port;
	__builtin_memcpy(dst.addr, &ctx->user_ip4, 4);
	action = decide(ctx, &dst, cfg);
	if (action == HERMES_ACT_DENY)
		return CONNECT_EPERM;
	if (!steered(action))
		return CONNECT_OK;
	if (!listener_alive4(ctx, cfg)) {
		bpf_sk_storage_delete(&hermes_sk_dst, ctx->sk);
		count(HERMES_CNT_FAILOPEN);
		flow_failopen(ctx);
		return CONNECT_OK;
	}
	__builtin_memcpy(&ctx->user_ip4, cfg->listen4, 4);
	ctx->user_port = cfg->listen4_port;
	return CONNECT_OK;
}

SEC("cgroup/connect6")
int hermes_connect6(struct bpf_sock_addr *ctx)
{
	const struct hermes_bpf_config *cfg = bpf_config();
	struct hermes_addr dst = {};
	struct bpf_sock *sk = ctx->sk;
	__u32 ip6[4];
	int mapped, action;

	if (is_udp(ctx))
		return udp_connect(ctx, 1);
	if (!cfg || !sk || ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return CONNECT_OK;
	if (cfg->mark && sk->mark == cfg->mark) {
		count(HERMES_CNT_OWN);
		return CONNECT_OK;
	}
	ip6[0] = ctx->user_ip6[0];
	ip6[1] = ctx->user_ip6[1];
	ip6[2] = ctx->user_ip6[2];
	ip6[3] = ctx->user_ip6[3];
	mapped = is_v4mapped(ip6);
	dst.port = (__u16)ctx->user_port;
	if (mapped) {
		dst.family = HERMES_FAMILY_V4;
		__builtin_memcpy(dst.addr, &ip6[3], 4);
	} else {
		dst.family = HERMES_FAMILY_V6;
		__builtin_memcpy(dst.addr, ip6, 16);
	}
	action = decide(ctx, &dst, cfg);
	if (action == HERMES_ACT_DENY)
		return CONNECT_EPERM;
	if (!steered(action))
		return CONNECT_OK;
	if (mapped) {
		/* a dual-stack socket dialling IPv4 reaches the IPv4 listener, v4-mapped */
		if (!listener_alive4((void *)ctx, cfg))
			goto failopen;
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		__builtin_memcpy(&ip6[3], cfg->listen4, 4);
		ctx->user_ip6[3] = ip6[3];
		ctx->user_port = cfg->listen4_port;
		return CONNECT_OK;
	}
	if (!listener_alive6(ctx, cfg))
		goto failopen;
	__builtin_memcpy(ip6, cfg->listen6, 16);
	ctx->user_ip6[0] = ip6[0];
	ctx->user_ip6[1] = ip6[1];
	ctx->user_ip6[2] = ip6[2];
	ctx->user_ip6[3] = ip6[3];
	ctx->user_port = cfg->listen6_port;
	return CONNECT_OK;
failopen:
	bpf_sk_storage_delete(&hermes_sk_dst, ctx->sk);
	count(HERMES_CNT_FAILOPEN);
	flow_failopen(ctx);
	return CONNECT_OK;
}

/* The app's local address, which hermesd sees as the peer of its accepted socket. */
static __always_inline void sockops_local(struct bpf_sock_ops *skops, struct hermes_addr *a)
{
	__builtin_memset(a, 0, sizeof(*a));
	a->port = bpf_htons((__u16)skops->local_port);
	if (skops->family == AF_INET) {
		a->family = HERMES_FAMILY_V4;
		__builtin_memcpy(a->addr, &skops->local_ip4, 4);
		return;
	}
	{
		__u32 ip6[4] = { skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2],
				 skops->local_ip6[3] };

		if (is_v4mapped(ip6)) {
			a->family = HERMES_FAMILY_V4;
			__builtin_memcpy(a->addr, &ip6[3], 4);
		} else {
			a->family = HERMES_FAMILY_V6;
			__builtin_memcpy(a->addr, ip6, 16);
		}
	}
}

/* self: attached to hermesd's own cgroup, where every socket is hermesd's. */
static __always_inline int sockops_common(struct bpf_sock_ops *skops, int self)
{
	const struct hermes_bpf_config *cfg;
	struct hermes_origdst *od;
	struct hermes_addr local;
	struct bpf_sock *sk;
	int kp;

	if (skops->family != AF_INET && skops->family != AF_INET6)
		return 1;
	cfg = bpf_config();
	if (!cfg)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: {
		/* hermesd's end of a steered flow (this program is attached to hermesd's cgroup too) */
		int hop = is_listener_side(skops, cfg);

		if (cfg->flows)
			flow_established(skops, HERMES_FLOW_PASSIVE | (self ? HERMES_FLOW_HERMESD : 0));
		if ((cfg->sk_msg & HERMES_SKMSG_HOP) && hop)
			accel_add(skops);
		return 1;
	}
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		sk = skops->sk;
		if (!sk)
			return 1;
		if (cfg->flows)
			flow_established(skops, self || (cfg->mark && sk->mark == cfg->mark) ? HERMES_FLOW_HERMESD : 0);
		od = bpf_sk_storage_get(&hermes_sk_dst, sk, 0, 0);
		if (!od)
			return 1;
		/* the app's end: for the hop, and as the kernel path's destination (proxy
		 * flows only: a socket in a sockmap reads through tcp_bpf, see kpath.h) */
		kp = (cfg->sk_msg & HERMES_SKMSG_KPATH) && od->action == HERMES_ACT_PROXY;
		if ((cfg->sk_msg & HERMES_SKMSG_HOP) || kp)
			accel_add(skops);
		if (kp)
			kpath_established(skops);
		sockops_local(skops, &local);
		if (bpf_map_update_elem(&hermes_origdst, &local, od, BPF_ANY)) {
			count(HERMES_CNT_ORIGDST_MISS);
			return 1;
		}
		/* learn when the socket closes so the entry goes with it */
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		/* hermesd dialling out: its SYN must not be steered back to it (ownsk.h) */
		if (!self || !cfg->ingress)
			return 1;
		sockops_local(skops, &local);
		if (!bpf_map_update_elem(&hermes_ingress_own, &local, &(__u8){ 1 }, BPF_ANY))
			bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_RETRANS_CB:
		if (cfg->flows)
			flow_update(skops, 0);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (cfg->flows)
			flow_update(skops, skops->args[1] == BPF_TCP_CLOSE);
		if (skops->args[1] != BPF_TCP_CLOSE)
			return 1;
		sockops_local(skops, &local);
		bpf_map_delete_elem(&hermes_origdst, &local);
		if (self && cfg->ingress)
			bpf_map_delete_elem(&hermes_ingress_own, &local);
		break;
	}
	return 1;
}

SEC("sockops")
int hermes_sockops(struct bpf_sock_ops *skops)
{
	return sockops_common(skops, 0);
}

SEC("sockops")
int hermes_sockops_self(struct bpf_sock_ops *skops)
{
	return sockops_common(skops, 1);
}

SEC("cgroup/getpeername4")
int hermes_getpeername4(struct bpf_sock_addr *ctx)
{
	struct hermes_origdst *od;

	if (!ctx->sk)
		return 1;
	od = bpf_sk_storage_get(&hermes_sk_dst, ctx->sk, 0, 0);
	if (!od || od->dst.family != HERMES_FAMILY_V4)
		return 1;
	__builtin_memcpy(&ctx->user_ip4, od->dst.addr, 4);
	ctx->user_port = od->dst.port;
	return 1;
}

SEC("cgroup/getpeername6")
int hermes_getpeername6(struct bpf_sock_addr *ctx)
{
	struct hermes_origdst *od;
	__u32 ip6[4] = {};

	if (!ctx->sk)
		return 1;
	od = bpf_sk_storage_get(&hermes_sk_dst, ctx->sk, 0, 0);
	if (!od)
		return 1;
	if (od->dst.family == HERMES_FAMILY_V4) {
		ip6[2] = bpf_htonl(0xffff);
		__builtin_memcpy(&ip6[3], od->dst.addr, 4);
	} else {
		__builtin_memcpy(ip6, od->dst.addr, 16);
	}
	ctx->user_ip6[0] = ip6[0];
	ctx->user_ip6[1] = ip6[1];
	ctx->user_ip6[2] = ip6[2];
	ctx->user_ip6[3] = ip6[3];
	ctx->user_port = od->dst.port;
	return 1;
}

/* SO_ORIGINAL_DST for hermesd's accepted sockets (and any tool in its cgroup): the
 * peer of such a socket is the app's local address, the hermes_origdst key. */
SEC("cgroup/getsockopt")
int hermes_getsockopt(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct hermes_origdst *od;
	struct hermes_addr peer = {};
	void *end = ctx->optval_end;
	int len = 0;

	if (ctx->optname != SO_ORIGINAL_DST || !sk)
		return 1;
	if (ctx->level != SOL_IP && ctx->level != SOL_IPV6)
		return 1;
	peer.port = sk->dst_port;
	if (sk->family == AF_INET) {
		peer.family = HERMES_FAMILY_V4;
		__builtin_memcpy(peer.addr, &sk->dst_ip4, 4);
	} else {
		__u32 ip6[4] = { sk->dst_ip6[0], sk->dst_ip6[1], sk->dst_ip6[2], sk->dst_ip6[3] };

		if (is_v4mapped(ip6)) {
			peer.family = HERMES_FAMILY_V4;
			__builtin_memcpy(peer.addr, &ip6[3], 4);
		} else {
			peer.family = HERMES_FAMILY_V6;
			__builtin_memcpy(peer.addr, ip6, 16);
		}
	}
	od = bpf_map_lookup_elem(&hermes_origdst, &peer);
	if (!od)
		return 1;
	/* one store site for optlen/retval: clang merges duplicated ctx stores into a
	 * modified ctx pointer, which the verifier rejects */
	if (ctx->level == SOL_IP && od->dst.family == HERMES_FAMILY_V4) {
		struct sockaddr_in *sin = ctx->optval;

		if ((void *)(sin + 1) > end)
			return 1;
		__builtin_memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = od->dst.port;
		__builtin_memcpy(&sin->sin_addr, od->dst.addr, 4);
		len = sizeof(*sin);
	} else if (ctx->level == SOL_IPV6 && od->dst.family == HERMES_FAMILY_V6) {
		struct sockaddr_in6 *sin6 = ctx->optval;

		if ((void *)(sin6 + 1) > end)
			return 1;
		__builtin_memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = od->dst.port;
		__builtin_memcpy(&sin6->sin6_addr, od->dst.addr, 16);
		len = sizeof(*sin6);
	}
	if (len) {
		ctx->optlen = len;
		ctx->retval = 0;
	}
	return 1;
}
