/* accel.h: sk_msg acceleration of the loopback hop between an application and hermesd.
 * sockops puts both established ends in hermes_sockhash; hermes_skmsg then moves each
 * sendmsg() of one end straight into the other end's receive queue (BPF_F_INGRESS),
 * skipping TCP/IP on loopback entirely. A socket whose peer is absent (hermesd gone,
 * sk_msg off when it connected) just sends normally. */
#ifndef HERMES_BPF_ACCEL_H
#define HERMES_BPF_ACCEL_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/flows.h"
#include "lib/kpath.h"
#include "lib/maps.h"

/* The key of the *other* end of msg's socket: local and remote swapped. */
static __always_inline void skmsg_peer_key(struct sk_msg_md *msg, struct hermes_sock_key *k)
{
	__u32 l6[4] = { msg->local_ip6[0], msg->local_ip6[1], msg->local_ip6[2], msg->local_ip6[3] };
	__u32 r6[4] = { msg->remote_ip6[0], msg->remote_ip6[1], msg->remote_ip6[2], msg->remote_ip6[3] };
	int v4 = 0;

	__builtin_memset(k, 0, sizeof(*k));
	key_addr(k->local, msg->family, msg->remote_ip4, r6, &v4);
	key_addr(k->remote, msg->family, msg->local_ip4, l6, &v4);
	k->family = v4 ? HERMES_FAMILY_V4 : HERMES_FAMILY_V6;
	k->local_port = (__u16)bpf_ntohl(msg->remote_port);
	k->remote_port = (__u16)msg->local_port;
}

static __always_inline void accel_add(struct bpf_sock_ops *skops)
{
	struct hermes_sock_key k;
	struct hermes_sk_accel *st;
	struct bpf_sock *sk = skops->sk;

	if (sk) {
		st = bpf_sk_storage_get(&hermes_sk_accel, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (st)
			st->cookie = bpf_get_socket_cookie(skops);
	}
	sockops_key(skops, &k);
	if (bpf_sock_hash_update(skops, &hermes_sockhash, &k, BPF_NOEXIST))
		count(HERMES_CNT_SKMSG_FAIL);
	else
		count(HERMES_CNT_SKMSG_SOCK);
}

static __always_inline __u32 load32(const __u8 *p)
{
	__u32 v;

	__builtin_memcpy(&v, p, 4);
	return v;
}

/* hermesd's accepted socket: its local address is the outbound listener. */
static __always_inline int is_listener_side(struct bpf_sock_ops *skops, const struct hermes_bpf_config *cfg)
{
	__u16 lport = (__u16)skops->local_port;
	__u32 l6[4];

	if (skops->family == AF_INET)
		return cfg->listen4_port && lport == bpf_ntohs(cfg->listen4_port) &&
		       skops->local_ip4 == load32(cfg->listen4);
	l6[0] = skops->local_ip6[0];
	l6[1] = skops->local_ip6[1];
	l6[2] = skops->local_ip6[2];
	l6[3] = skops->local_ip6[3];
	if (ip6_is_v4mapped(l6))
		return cfg->listen4_port && lport == bpf_ntohs(cfg->listen4_port) && l6[3] == load32(cfg->listen4);
	return cfg->listen6_port && lport == bpf_ntohs(cfg->listen6_port) && l6[0] == load32(cfg->listen6) &&
	       l6[1] == load32(cfg->listen6 + 4) && l6[2] == load32(cfg->listen6 + 8) &&
	       l6[3] == load32(cfg->listen6 + 12);
}

/* hermes_sk_accel values */
enum { ACCEL_UNDECIDED = 0, ACCEL_REDIRECT = 1, ACCEL_TCP = 2 };

/* Bytes a socket sent through TCP sit in the peer's receive queue, and the peer's
 * reads take redirected bytes first (tcp_bpf_recvmsg): mixing both paths on one socket
 * could reorder its stream. So the first send decides: redirected if the peer is in
 * the sockhash by then (sockops adds both ends at establishment, normally before the
 * app can send), TCP for the rest of the connection otherwise. */
SEC("sk_msg")
int hermes_skmsg(struct sk_msg_md *msg)
{
	const struct hermes_bpf_config *cfg = bpf_config();
	struct hermes_sk_kpath *kst = 0;
	struct hermes_sock_key peer;
	struct hermes_sk_accel *st;
	struct hermes_flow *f;
	long r;

	if (!msg->sk)
		return SK_PASS;
	st = bpf_sk_storage_get(&hermes_sk_accel, msg->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return SK_PASS;
	if (cfg && (cfg->sk_msg & HERMES_SKMSG_KPATH)) {
		/* made by sockops before the socket could send (kpath_established) */
		kst = bpf_sk_storage_get(&hermes_sk_kpath, msg->sk, 0, 0);
		if (kst && kpath_send(msg, st->cookie, kst)) {
			r = SK_PASS;
			goto account;
		}
		/* to hermesd's socket, one way or the other: the kernel path waits for these.
		 * Bytes the program sees twice (a partial send) are counted twice: that only
		 * delays the switch, whereas a count short of the truth could let a send
		 * overtake them. */
		if (kst)
			kst->to_hermesd += msg->size;
	}
	if (st->state == ACCEL_TCP)
		return SK_PASS;
	skmsg_peer_key(msg, &peer);
	r = bpf_msg_redirect_hash(msg, &hermes_sockhash, &peer, BPF_F_INGRESS);
	if (st->state == ACCEL_UNDECIDED) {
		st->state = r == SK_PASS ? ACCEL_REDIRECT : ACCEL_TCP;
		count(r == SK_PASS ? HERMES_CNT_SKMSG_REDIR : HERMES_CNT_SKMSG_TCP);
	}
account:
	if (r == SK_PASS && st->cookie) {
		/* TCP never sees these bytes: count them in the flow table here */
		f = bpf_map_lookup_elem(&hermes_flows, &st->cookie);
		if (f) {
			f->skmsg_out += msg->size;
			f->bytes_out += msg->size;
			f->flags |= HERMES_FLOW_SKMSG;
			f->last_ns = bpf_ktime_get_ns();
			flow_engine_fill(f, st->cookie);
		}
	}
	/* SK_DROP from the helper only means "no such peer" (it closed): send normally */
	return SK_PASS;
}

#endif
