/* udp_kpath.h: the kernel path of UDP `proxy` flows (udp.kernel_path; include/hermes/udp.h).
 * connect4/6 and sendmsg4/6 leave the destination alone, put hermesd's mark on the app's
 * socket and record the flow; the cgroup_skb programs count each flow's datagrams both
 * ways and give each datagram the skb mark of its flow (hermesd's) or of the socket's
 * own (a datagram that is no kernel-path flow's). Replies come straight from the
 * destination: recvmsg and getpeername have nothing to rewrite. Part of lib/udp.h, which
 * includes it once its own helpers (udp_addr_eq) are defined. */
#ifndef HERMES_BPF_UDP_KPATH_H
#define HERMES_BPF_UDP_KPATH_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "hermes/udp.h"
#include "lib/maps.h"

#define SOL_SOCKET_ 1
#define SO_MARK_ 36
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define IPPROTO_UDP_K 17

/* (app socket, destination) -> the flow's owner and counters: hermesd's flow table of
 * kernel-path flows; hermesd deletes idle ones, LRU as a backstop. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HERMES_UDP_KFLOWS_MAX);
	__type(key, struct hermes_udp_fkey);
	__type(value, struct hermes_udp_kflow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_udp_kflows SEC(".maps");

/* App sockets the kernel path marked, and the mark each had before: freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hermes_udp_ksk);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_udp_ksk SEC(".maps");

/* The socket carries hermesd's mark because the kernel path put it there (so it is not
 * one of hermesd's own, which the programs leave alone). */
static __always_inline int udp_kpath_marked(struct bpf_sock *sk)
{
	struct hermes_udp_ksk *ks = bpf_sk_storage_get(&hermes_udp_ksk, sk, 0, 0);

	return ks && ks->marked;
}

/* A proxy flow's send or connect to dst: the socket gets the mark, the flow an entry
 * (for a connect, kept on the socket too). */
static __always_inline void udp_kpath_take(struct bpf_sock_addr *ctx, struct bpf_sock *sk,
					   const struct hermes_bpf_config *cfg, const struct hermes_addr *dst, int connect)
{
	struct hermes_udp_fkey fk = {};
	struct hermes_udp_ksk *ks;
	int mark = (int)cfg->mark;

	ks = bpf_sk_storage_get(&hermes_udp_ksk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (ks && !ks->marked) {
		ks->app_mark = sk->mark;
		ks->marked = 1;
	}
	if (mark && sk->mark != (__u32)mark)
		bpf_setsockopt(ctx, SOL_SOCKET_, SO_MARK_, &mark, sizeof(mark));
	fk.cookie = bpf_get_socket_cookie(ctx);
	fk.dst = *dst;
	if (!connect && bpf_map_lookup_elem(&hermes_udp_kflows, &fk))
		return;
	{
		struct hermes_udp_kflow f = {};
		__u64 ug = bpf_get_current_uid_gid();

		f.pid = bpf_get_current_pid_tgid() >> 32;
		f.uid = (__u32)ug;
		f.gid = (__u32)(ug >> 32);
		f.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(f.comm, sizeof(f.comm));
		f.last_ns = bpf_ktime_get_ns();
		bpf_map_update_elem(&hermes_udp_kflows, &fk, &f, BPF_NOEXIST);
		if (connect && ks) {
			ks->conn_dst = *dst;
			ks->conn = f;
		}
	}
}

/* A connect() somewhere that is no kernel-path flow: the socket's own mark back, so
 * that its route is chosen as without hermes. */
static __always_inline void udp_kpath_unmark(struct bpf_sock_addr *ctx, struct bpf_sock *sk)
{
	struct hermes_udp_ksk *ks;
	int mark;

	ks = bpf_sk_storage_get(&hermes_udp_ksk, sk, 0, 0);
	if (!ks || !ks->marked)
		return;
	mark = (int)ks->app_mark;
	bpf_setsockopt(ctx, SOL_SOCKET_, SO_MARK_, &mark, sizeof(mark));
	ks->marked = 0;
	ks->conn_dst.family = 0;
}

/* The UDP header's offset in skb (which starts at the network header) and the peer's
 * address (the destination on egress, the source on ingress) and the app's; 0 when the
 * skb is no UDP datagram (IPv6 extension headers included). */
static __always_inline __u32 udp_kpath_parse(struct __sk_buff *skb, int egress, struct hermes_addr *peer,
					     struct hermes_addr *app)
{
	struct udphdr uh;
	__u32 off;

	if (skb->protocol == bpf_htons(ETH_P_IP_)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP_K)
			return 0;
		off = (__u32)ip.ihl * 4;
		peer->family = app->family = HERMES_FAMILY_V4;
		__builtin_memcpy(peer->addr, egress ? &ip.daddr : &ip.saddr, 4);
		__builtin_memcpy(app->addr, egress ? &ip.saddr : &ip.daddr, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6_)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) || ip6.nexthdr != IPPROTO_UDP_K)
			return 0;
		off = sizeof(ip6);
		peer->family = app->family = HERMES_FAMILY_V6;
		__builtin_memcpy(peer->addr, egress ? &ip6.daddr : &ip6.saddr, 16);
		__builtin_memcpy(app->addr, egress ? &ip6.saddr : &ip6.daddr, 16);
	} else {
		return 0;
	}
	if (bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)))
		return 0;
	peer->port = egress ? uh.dest : uh.source;
	app->port = egress ? uh.source : uh.dest;
	return off;
}

/* cgroup_skb egress and ingress: a kernel-path flow's datagram counted (and on egress
 * given hermesd's skb mark); any other datagram of a marked socket leaves with the
 * socket's own mark. Always lets the skb through. */
static __always_inline int udp_kpath_skb(struct __sk_buff *skb, int egress)
{
	const struct hermes_bpf_config *cfg;
	struct hermes_udp_fkey fk = {};
	struct hermes_udp_kflow *f;
	struct hermes_udp_ksk *ks;
	struct hermes_addr app = {};
	struct bpf_sock *sk = skb->sk;
	__u32 off, dir = egress ? 0 : 1;
	__u64 segs;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_UDP_K)
		return 1;
	ks = bpf_sk_storage_get(&hermes_udp_ksk, sk, 0, 0);
	if (!ks)
		return 1;
	off = udp_kpath_parse(skb, egress, &fk.dst, &app);
	if (!off)
		return 1;
	fk.cookie = bpf_get_socket_cookie(skb);
	f = bpf_map_lookup_elem(&hermes_udp_kflows, &fk);
	if (!f && ks->conn_dst.family && udp_addr_eq(&ks->conn_dst, &fk.dst)) {
		/* the connected flow again, after hermesd ended it idle: a new flow of the same owner */
		bpf_map_update_elem(&hermes_udp_kflows, &fk, &ks->conn, BPF_NOEXIST);
		f = bpf_map_lookup_elem(&hermes_udp_kflows, &fk);
	}
	cfg = bpf_config();
	if (!f) {
		if (egress && ks->marked && cfg && cfg->mark && skb->mark == cfg->mark)
			skb->mark = ks->app_mark;
		return 1;
	}
	if (egress) {
		if (cfg && cfg->mark)
			skb->mark = cfg->mark;
		if (!f->app.family)
			f->app = app;
	}
	/* a UDP_SEGMENT (GSO) send is one skb of many datagrams under one header */
	segs = skb->gso_segs ? skb->gso_segs : 1;
	__sync_fetch_and_add(&f->dgrams[dir & 1], segs);
	__sync_fetch_and_add(&f->bytes[dir & 1], skb->len - off - 8);
	f->last_ns = bpf_ktime_get_ns();
	return 1;
}

#endif
