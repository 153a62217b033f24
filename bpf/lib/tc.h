/* tc.h: per-interface packet and byte counters from clsact (TC) programs, so flows
 * that never touch hermesd are counted too. hermesd attaches them to the interfaces
 * named in its config; hermes-top reads hermes_ifstats. */
#ifndef HERMES_BPF_TC_H
#define HERMES_BPF_TC_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "hermes/flow.h"

#define TC_ACT_OK 0

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, HERMES_IFSTATS_MAX);
	__type(key, __u32); /* ifindex */
	__type(value, struct hermes_ifstats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_ifstats SEC(".maps");

static __always_inline int tc_count(struct __sk_buff *skb, int egress)
{
	__u32 ifindex = skb->ifindex;
	struct hermes_ifstats *st = bpf_map_lookup_elem(&hermes_ifstats, &ifindex);

	if (!st) {
		struct hermes_ifstats zero = {};

		bpf_map_update_elem(&hermes_ifstats, &ifindex, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&hermes_ifstats, &ifindex);
		if (!st)
			return TC_ACT_OK;
	}
	/* GSO skbs carry many segments: count them as the wire will */
	if (egress) {
		st->tx_packets += skb->gso_segs ? skb->gso_segs : 1;
		st->tx_bytes += skb->len;
	} else {
		st->rx_packets += skb->gso_segs ? skb->gso_segs : 1;
		st->rx_bytes += skb->len;
	}
	return TC_ACT_OK;
}

SEC("tc")
int hermes_tc_ingress(struct __sk_buff *skb)
{
	return tc_count(skb, 0);
}

SEC("tc")
int hermes_tc_egress(struct __sk_buff *skb)
{
	return tc_count(skb, 1);
}

#endif
