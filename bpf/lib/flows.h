/* flows.h: the kernel flow table. Every TCP socket of the enabled cgroup (and hermesd's
 * own) gets an entry keyed by socket cookie: the connect hooks record who dialled what,
 * sockops callbacks (established, RTT samples, retransmits, state changes) keep the
 * counters current, and the entry stays after the close (end_ns) until the LRU or the
 * reader ages it out. */
#ifndef HERMES_BPF_FLOWS_H
#define HERMES_BPF_FLOWS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "hermes/flow.h"
#include "lib/maps.h"
#include "lib/sockkey.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HERMES_FLOWS_MAX);
	__type(key, __u64);
	__type(value, struct hermes_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_flows SEC(".maps");

/* Relay engine of a steered app flow (cookie -> enum hermes_flow_engine), written by
 * hermesd. It is a map of its own because a user-space rewrite of a hermes_flows entry
 * would lose the counter updates BPF makes to it meanwhile; the programs copy it into
 * the entry at their next update. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HERMES_FLOWS_MAX);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_flow_engine SEC(".maps");

/* The RTT-sample throttle of each socket with a flow entry (struct hermes_sk_flow): RTT
 * samples come with nearly every ACK, and a hash lookup in hermes_flows for each was
 * most of the flow table's per-packet cost. Freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hermes_sk_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_sk_flow SEC(".maps");

/* whether the entry still waits for hermesd to name its relay engine */
static __always_inline int flow_engine_pending(const struct hermes_flow *f)
{
	return !f->engine && (f->action == HERMES_ACT_PROXY || f->action == HERMES_ACT_TUNNEL || f->action == HERMES_ACT_HTTP);
}

static __always_inline void flow_engine_fill(struct hermes_flow *f, __u64 cookie)
{
	__u32 *e;

	if (!flow_engine_pending(f))
		return;
	e = bpf_map_lookup_elem(&hermes_flow_engine, &cookie);
	if (e)
		f->engine = (hermes_engine_t)*e;
}

/* Connect time: who dials what, with which decision. */
static __always_inline void flow_connect(struct bpf_sock_addr *ctx, const struct hermes_addr *dst, int action)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct hermes_flow f = {};

	f.orig_dst = *dst;
	f.remote = *dst;
	f.action = (hermes_action_t)action;
	f.state = BPF_TCP_SYN_SENT;
	f.pid = bpf_get_current_pid_tgid() >> 32;
	f.uid = (__u32)bpf_get_current_uid_gid();
	f.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(f.comm, sizeof(f.comm));
	f.start_ns = f.last_ns = bpf_ktime_get_ns();
	if (action == HERMES_ACT_DENY) {
		/* never becomes a connection: show it as a closed attempt */
		f.state = BPF_TCP_CLOSE;
		f.flags = HERMES_FLOW_CLOSED;
		f.end_ns = f.start_ns;
	}
	bpf_map_update_elem(&hermes_flows, &cookie, &f, BPF_ANY);
}

/* proxy wanted but hermesd absent: the flow went direct */
static __always_inline void flow_failopen(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct hermes_flow *f = bpf_map_lookup_elem(&hermes_flows, &cookie);

	if (f)
		f->action = (hermes_action_t)HERMES_ACT_PASS;
}

static __always_inline void flow_counters(struct bpf_sock_ops *skops, struct hermes_flow *f)
{
	f->bytes_in = skops->bytes_received;
	f->bytes_out = skops->bytes_acked + f->skmsg_out;
	f->segs_in = skops->segs_in;
	f->segs_out = skops->segs_out;
	f->srtt_us = skops->srtt_us >> 3; /* the kernel keeps 8 x srtt */
	f->retrans = skops->total_retrans;
	f->state = (hermes_tcp_state_t)skops->state;
	f->last_ns = bpf_ktime_get_ns();
}

/* Established: fill the addresses (creating the entry for sockets the connect hooks
 * did not see: accepted ones, hermesd's), and ask for the callbacks that keep it fresh. */
static __always_inline void flow_established(struct bpf_sock_ops *skops, __u8 flags)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct hermes_flow *f = bpf_map_lookup_elem(&hermes_flows, &cookie);
	struct hermes_sock_key k;
	struct bpf_sock *sk;

	if (!f) {
		struct hermes_flow nf = {};

		nf.start_ns = bpf_ktime_get_ns();
		nf.action = (hermes_action_t)HERMES_ACT_PASS;
		bpf_map_update_elem(&hermes_flows, &cookie, &nf, BPF_NOEXIST);
		f = bpf_map_lookup_elem(&hermes_flows, &cookie);
		if (!f)
			return;
	}
	sockops_key(skops, &k);
	f->local.family = f->remote.family = k.family;
	__builtin_memcpy(f->local.addr, k.local, 16);
	__builtin_memcpy(f->remote.addr, k.remote, 16);
	f->local.port = bpf_htons(k.local_port);
	f->remote.port = bpf_htons(k.remote_port);
	/* an accepted socket was dialled at its own address */
	if (!f->orig_dst.family)
		f->orig_dst = (flags & HERMES_FLOW_PASSIVE) ? f->local : f->remote;
	f->flags |= flags;
	flow_counters(skops, f);
	sk = skops->sk;
	if (sk) {
		/* hermesd names the engine of a steered flow once it accepted it: until then
		 * (at most one throttle interval) every RTT sample looks for it */
		struct hermes_sk_flow *t = bpf_sk_storage_get(&hermes_sk_flow, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);

		if (t) {
			t->next_ns = 0;
			t->eager_ns = bpf_ktime_get_coarse_ns() + HERMES_FLOW_RTT_EVERY_NS;
		}
	}
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG |
						 BPF_SOCK_OPS_RTT_CB_FLAG | BPF_SOCK_OPS_RETRANS_CB_FLAG);
}

/* State changes, retransmits: the entry is refreshed every time. Returns the entry. */
static __always_inline struct hermes_flow *flow_update(struct bpf_sock_ops *skops, int closing)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct hermes_flow *f = bpf_map_lookup_elem(&hermes_flows, &cookie);

	if (!f)
		return NULL;
	flow_counters(skops, f);
	flow_engine_fill(f, cookie);
	if (closing) {
		f->state = BPF_TCP_CLOSE;
		f->flags |= HERMES_FLOW_CLOSED;
		f->end_ns = f->last_ns;
	}
	return f;
}

/* An RTT sample: refreshes the entry at most once per HERMES_FLOW_RTT_EVERY_NS (the
 * others cost a socket-storage read and a coarse clock read). A socket without its
 * storage (not made: out of memory) refreshes on every sample, as it always did. */
static __always_inline void flow_rtt(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct hermes_sk_flow *t = NULL;
	struct hermes_flow *f;
	__u64 now = 0;

	if (sk) {
		t = bpf_sk_storage_get(&hermes_sk_flow, sk, 0, 0);
		if (t) {
			now = bpf_ktime_get_coarse_ns();
			if (now < t->next_ns)
				return;
		}
	}
	f = flow_update(skops, 0);
	if (t)
		t->next_ns = f && flow_engine_pending(f) && now < t->eager_ns ? 0 : now + HERMES_FLOW_RTT_EVERY_NS;
}

#endif
