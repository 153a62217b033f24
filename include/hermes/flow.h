/* flow.h: the kernel flow table (hermes_flows) that hermes-top, hermesctl and hermesd's
 * /flows read: every TCP socket of the enabled cgroups (and hermesd's own), filled by
 * the connect hooks, sockops callbacks and the sk_msg program. Closed flows stay a few
 * seconds (end_ns set) so that short flows are seen; the LRU evicts the oldest.
 *
 * The counters of an open flow are refreshed by its state changes and retransmits, and
 * by whoever reads the table: reading the pinned iterator HERMES_PIN_FLOWS_REFRESH
 * (hermes-top does at every sample; `cat` does) copies the TCP counters of every open
 * socket of the reader's network namespace into its entry. Nothing runs per packet.
 * At the close they are exact. */
#ifndef HERMES_FLOW_H
#define HERMES_FLOW_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#include "hermes/origdst.h"

#define HERMES_FLOWS_MAX 65536
#define HERMES_COMM_LEN 16

/* Relay engine of a flow. hermesd writes it into hermes_flow_engine (key: the app
 * socket's cookie, value __u32) and the BPF programs copy it into the flow entry. */
enum hermes_flow_engine {
	HERMES_ENGINE_NONE = 0,   /* not relayed by hermesd (pass, or hermesd's own socket) */
	HERMES_ENGINE_URING = 1,
	HERMES_ENGINE_SPLICE = 2,
	HERMES_ENGINE_HTTP = 3,   /* hermesd's http action: requests parsed, not a byte relay */
};

/* Typed fields for bpftool (see hermes_action_t in policy.h): in the BPF objects the
 * engine and TCP state bytes are 1-byte enums named as hermes-top names them, so that
 * `bpftool map dump pinned .../hermes_flows` prints "engine": "splice", "state": "estab". */
#ifdef __BPF__
enum __attribute__((packed)) hermes_engine_btf {
	none = HERMES_ENGINE_NONE,
	uring = HERMES_ENGINE_URING,
	splice = HERMES_ENGINE_SPLICE,
	http_parser = HERMES_ENGINE_HTTP,
};
/* BPF_TCP_* values (the state argument of sockops callbacks) in ss(8)'s words */
enum __attribute__((packed)) hermes_tcp_state_btf {
	estab = BPF_TCP_ESTABLISHED,
	syn_sent = BPF_TCP_SYN_SENT,
	syn_recv = BPF_TCP_SYN_RECV,
	fin_wait1 = BPF_TCP_FIN_WAIT1,
	fin_wait2 = BPF_TCP_FIN_WAIT2,
	time_wait = BPF_TCP_TIME_WAIT,
	close = BPF_TCP_CLOSE,
	close_wait = BPF_TCP_CLOSE_WAIT,
	last_ack = BPF_TCP_LAST_ACK,
	listen = BPF_TCP_LISTEN,
	closing = BPF_TCP_CLOSING,
	new_syn_recv = BPF_TCP_NEW_SYN_RECV,
};
typedef enum hermes_engine_btf hermes_engine_t;
typedef enum hermes_tcp_state_btf hermes_tcp_state_t;
#else
typedef __u8 hermes_engine_t;
typedef __u8 hermes_tcp_state_t;
#endif
_Static_assert(sizeof(hermes_engine_t) == 1 && sizeof(hermes_tcp_state_t) == 1, "flow enum fields are one byte");

enum hermes_flow_flags {
	HERMES_FLOW_CLOSED = 1,   /* the socket is closed (end_ns set) */
	HERMES_FLOW_SKMSG = 2,    /* its sends take the sk_msg redirect path */
	HERMES_FLOW_PASSIVE = 4,  /* accepted (server side) socket */
	HERMES_FLOW_HERMESD = 8,  /* one of hermesd's own sockets */
};

/* hermes_flows value, keyed by socket cookie (__u64). Byte and segment counts are the
 * socket's own TCP counters plus what it moved through sk_msg (which TCP never sees). */
struct hermes_flow {
	struct hermes_addr local;    /* the socket's own address */
	struct hermes_addr remote;   /* its peer as TCP sees it (hermesd's listener if steered) */
	struct hermes_addr orig_dst; /* what the application dialled */
	hermes_action_t action;      /* enum hermes_action */
	hermes_engine_t engine;      /* enum hermes_flow_engine, from hermes_flow_engine */
	hermes_tcp_state_t state;    /* BPF_TCP_* (TCP state) */
	__u8 flags;                  /* enum hermes_flow_flags */
	__u32 pid;                   /* tgid that called connect() (0 if unknown) */
	__u32 uid;
	__u64 cgroup_id;
	char comm[HERMES_COMM_LEN];
	__u64 start_ns;              /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 last_ns;               /* last update */
	__u64 end_ns;                /* when it closed, 0 while open */
	__u64 bytes_in;              /* payload received */
	__u64 bytes_out;             /* payload sent and acknowledged, plus sk_msg bytes */
	__u32 segs_in;
	__u32 segs_out;
	__u32 srtt_us;               /* smoothed RTT, microseconds */
	__u32 retrans;               /* total retransmitted segments */
	__u64 skmsg_out;             /* bytes it sent through the sk_msg redirect (in bytes_out) */
};
_Static_assert(sizeof(struct hermes_flow) == 160, "hermes_flow layout is ABI");
_Static_assert(__builtin_offsetof(struct hermes_flow, flags) == 63 && __builtin_offsetof(struct hermes_flow, pid) == 64,
	       "hermes_flow layout is ABI");

/* hermes_ifstats value (per CPU), keyed by ifindex (__u32): what the TC programs saw
 * on the interfaces hermesd was told to watch. Packets count GSO segments. */
struct hermes_ifstats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
};
_Static_assert(sizeof(struct hermes_ifstats) == 32, "hermes_ifstats layout is ABI");

#define HERMES_IFSTATS_MAX 256

#endif
