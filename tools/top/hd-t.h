/* hd-t.h: types of what hermes-top learns from hermesd's admin endpoint (hd.c): the
 * counters of GET /stats and the flows of GET /flows. Functions live in hd.h. */
#ifndef HERMES_TOP_HD_T_H
#define HERMES_TOP_HD_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hermes/flow.h"
#include "hermes/origdst.h"

/* What /stats says (each value only when present). */
struct hd_stats {
	bool has_retries, has_active, has_flows;
	uint64_t retries, active, flows_uring, flows_splice;
};

/* One flow as hermesd's /flows reports it. */
struct hd_flow {
	uint64_t id, app_cookie, bytes_up, bytes_down, age_ms;
	uint64_t idle_ms;         /* UDP relay flows: since the last datagram either way */
	bool has_idle;
	bool udp;                 /* "protocol": "udp" (a relay flow or a CONNECT-UDP stream) */
	bool tunnel;              /* "action": "tunnel": a relay flow carried by CONNECT-UDP */
	uint32_t pid, uid;
	struct hermes_addr client, upstream_local, orig_dst; /* normalized; family 0 when absent */
	char engine[12], state[16];
	char comm[HERMES_COMM_LEN + 1]; /* UDP relay flows: hermesd read it when the flow opened */
};

/* hermesd's side of a sample. */
struct hd_view {
	bool reachable;
	char detail[192];     /* why not reachable, or a problem with /flows */
	struct hd_stats st;
	bool have_flows;      /* /flows answered (older hermesd: 404) */
	struct hd_flow *flows;
	size_t n_flows;
};

#endif
