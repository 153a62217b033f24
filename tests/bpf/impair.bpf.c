/* impair.bpf.c: TEST-ONLY TC program that cuts a link in bursts (this kernel has no netem).
 * Never loaded by hermesd: tests/bin/impair attaches it to an interface inside a test
 * network namespace. Time is cut into periods of impair_cfg.period_ns starting at
 * start_ns; the first outage_ns of each period is an outage in which drop_pct percent of
 * the IP packets are dropped (100: the link is down); the rest of the period passes all.
 * Non-IP frames (ARP) always pass, so neighbour resolution adds no timers of its own to
 * what a test measures. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "impair.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* impair_cfg: the burst pattern, written by `impair set` (one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct impair_conf);
} impair_cfg SEC(".maps");

/* impair_stats: what was dropped and passed, read by `impair stats` (one entry per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct impair_counters);
} impair_stats SEC(".maps");

static __always_inline int in_outage(const struct impair_conf *c, __u64 now)
{
	if (!c->enabled || !c->period_ns || now < c->start_ns)
		return 0;
	return (now - c->start_ns) % c->period_ns < c->outage_ns;
}

SEC("tc")
int impair_tc(struct __sk_buff *skb)
{
	__u32 zero = 0, segs = skb->gso_segs ? skb->gso_segs : 1;
	struct impair_conf *c = bpf_map_lookup_elem(&impair_cfg, &zero);
	struct impair_counters *st = bpf_map_lookup_elem(&impair_stats, &zero);
	int drop = 0;

	if (!c || !st)
		return TC_ACT_OK;
	if ((skb->protocol == bpf_htons(ETH_P_IP) || skb->protocol == bpf_htons(ETH_P_IPV6)) &&
	    in_outage(c, bpf_ktime_get_ns()))
		drop = c->drop_pct >= 100 || bpf_get_prandom_u32() % 100 < c->drop_pct;
	if (drop) {
		st->dropped_pkts += segs;
		st->dropped_bytes += skb->len;
		return TC_ACT_SHOT;
	}
	st->passed_pkts += segs;
	st->passed_bytes += skb->len;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
