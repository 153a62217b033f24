/* sample-t.h: types of hermes-top's sampler (sample.c): one application flow joined
 * from the kernel flow table and hermesd's view (struct row), one sample of them all
 * (struct snapshot), what the sampler keeps between samples (struct sampler), and the
 * policy rule shown in the detail view. Functions live in sample.h. */
#ifndef HERMES_TOP_SAMPLE_T_H
#define HERMES_TOP_SAMPLE_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cli.h"
#include "hd-t.h"
#include "hermes/flow.h"
#include "hermes/policy.h"

/* Who moves a flow's bytes, as the table shows it (names in util.h). */
enum engine { ENG_UNKNOWN, ENG_URING, ENG_SPLICE, ENG_DIRECT, ENG_NONE, ENG_HTTP, ENG_UDP, ENG_MAX };
enum hop { HOP_NA, HOP_SKMSG, HOP_TCP };

/* One application flow, joined and ready to show. */
struct row {
	uint64_t cookie;
	uint32_t pid, uid;
	char comm[HERMES_COMM_LEN + 1];
	bool incoming;               /* an accepted socket: src is the peer */
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], local[ADDR_STRLEN], remote[ADDR_STRLEN];
	struct hermes_addr dst_addr; /* normalized, for the dst sort and filters */
	struct hermes_addr src_addr; /* normalized, for filters */
	uint64_t cgroup_id;
	unsigned action;
	enum engine engine;
	enum hop hop;
	bool closed;
	bool udp;                    /* a UDP flow from hermesd's /flows (no kernel table entry) */
	uint64_t idle_ns;            /* UDP: since its last datagram either way (UINT64_MAX unknown) */
	uint8_t tcp_state;
	uint64_t bytes_in, bytes_out;
	double rate_in, rate_out;
	uint32_t rtt_us;
	bool rtt_upstream;
	uint32_t retrans;
	uint64_t start_ns, end_ns, age_ns;
	double start_wall, end_wall; /* the same as UNIX times (end_wall 0 while open) */
	char relay_state[16];        /* hermesd's connection state, "" if unknown */
};

/* One sample: every application flow, the counters and hermesd's view at one time. */
struct snapshot {
	uint64_t now_ns;             /* CLOCK_MONOTONIC, as bpf_ktime_get_ns */
	double wall;                 /* for the header and JSON "time" */
	bool rates_valid;            /* false on the first sample */
	struct row *rows;            /* every application flow in the table */
	size_t n;
	bool have_counters;
	uint64_t counters[HERMES_CNT_MAX];
	struct hd_view hd;
	char error[256];             /* a failed read, shown in the header */
};

/* A flow's byte counts at the previous sample, for its rates. */
struct prev_bytes {
	uint64_t cookie, in, out;
};

/* The maps a sampler reads and what it remembers between samples. */
struct sampler {
	int flows_fd, stats_fd, policy_fd; /* policy: for the detail view's rule, -1 without it */
	struct prev_bytes *prev;     /* sorted by cookie */
	size_t n_prev;
	uint64_t prev_ns;
	bool have_prev;
	/* set by sample_open */
	const char *pin_root;
	const struct admin_client *admin;
	struct hermes_addr admin_haddr; /* normalized: hermesd's own admin sockets are hidden */
};

/* The policy rule that applies to a destination now, as the BPF programs look it up
 * (pol_best_rule over every rule of the map): for the detail view. */
struct rule_info {
	bool read;          /* the map was read */
	bool found;         /* a rule matches (else the destination passes) */
	char match[80];
	unsigned action, origin;
	char error[128];
};

#endif
