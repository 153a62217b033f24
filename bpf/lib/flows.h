/* flows.h: the kernel flow table. Every TCP socket of the enabled cgroup (and hermesd's
 * own) gets an entry keyed by socket cookie: the connect hooks record who dialled what,
 * sockops callbacks (established, retransmits, state changes) and the readers' refresh
 * iterator keep the counters current, and the entry stays after the close (end_ns)
 * until the LRU or the reader ages it out. No callback runs per packet: RTT samples,
 * which come with nearly every ACK, are not asked for (their hash lookup was most of
 * the table's cost on a request-response load). */
#ifndef HERMES_BPF_FLOWS_H
#define HERMES_BPF_FLOWS_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
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
 * did not see: accepted ones, hermesd's), and ask for the callbacks that keep the entry
 * exact at state changes. */
static __always_inline void flow_established(struct bpf_sock_ops *skops, __u8 flags)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct hermes_flow *f = bpf_map_lookup_elem(&hermes_flows, &cookie);
	struct hermes_sock_key k;

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
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG |
						 BPF_SOCK_OPS_RETRANS_CB_FLAG);
}

/* State changes, retransmits. */
static __always_inline void flow_update(struct bpf_sock_ops *skops, int closing)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct hermes_flow *f = bpf_map_lookup_elem(&hermes_flows, &cookie);

	if (!f)
		return;
	flow_counters(skops, f);
	flow_engine_fill(f, cookie);
	if (closing) {
		f->state = BPF_TCP_CLOSE;
		f->flags |= HERMES_FLOW_CLOSED;
		f->end_ns = f->last_ns;
	}
}

/* Run by whoever reads the pinned HERMES_PIN_FLOWS_REFRESH, over the TCP sockets of
 * the reader's network namespace (the one hermesd's listeners and admin API are in, so
 * hermes-top's): the live counters of every socket with an open entry, as
 * flow_counters takes them from sockops. last_ns, the last activity, moves only when
 * segments did: it is as precise as the reader's interval. Writes nothing to the
 * reader. (A socket-storage iterator would visit only the table's sockets, whatever
 * their namespace, but this kernel refuses to load one: EPERM, as for kpath.h's.) */
SEC("iter/tcp")
int hermes_flows_refresh(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct hermes_flow *f;
	struct tcp_sock *tp;
	__u32 segs_in, segs_out;
	__u64 cookie;

	if (!skc)
		return 0;
	/* 0 until someone asked for it: sockops did for every socket with an entry */
	cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	if (!cookie)
		return 0;
	f = bpf_map_lookup_elem(&hermes_flows, &cookie);
	if (!f || (f->flags & HERMES_FLOW_CLOSED))
		return 0;
	tp = bpf_skc_to_tcp_sock(skc); /* NULL for time-wait and request sockets */
	if (!tp)
		return 0;
	segs_in = tp->segs_in;
	segs_out = tp->segs_out;
	if (segs_in != f->segs_in || segs_out != f->segs_out)
		f->last_ns = bpf_ktime_get_ns();
	f->bytes_in = tp->bytes_received;
	f->bytes_out = tp->bytes_acked + f->skmsg_out;
	f->segs_in = segs_in;
	f->segs_out = segs_out;
	f->srtt_us = tp->srtt_us >> 3;
	f->retrans = tp->total_retrans;
	f->state = (hermes_tcp_state_t)skc->skc_state;
	flow_engine_fill(f, cookie);
	return 0;
}

#endif
