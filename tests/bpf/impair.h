/* impair.h: TEST-ONLY. The config and counters of tests/bpf/impair.bpf.c, shared with its
 * loader tests/bin/impair.c. Include after vmlinux.h (BPF) or <linux/types.h>. */
#ifndef HERMES_TEST_IMPAIR_H
#define HERMES_TEST_IMPAIR_H

struct impair_conf {
	__u64 start_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns): the first outage starts here */
	__u64 period_ns; /* one outage and one good window */
	__u64 outage_ns; /* the outage at the start of each period */
	__u32 drop_pct;  /* share of IP packets dropped during an outage, 0..100 */
	__u32 enabled;   /* 0: everything passes */
};

/* Packets count GSO segments as the wire will (one dropped GSO skb is many wire packets). */
struct impair_counters {
	__u64 passed_pkts;
	__u64 passed_bytes;
	__u64 dropped_pkts;
	__u64 dropped_bytes;
};

#endif
