/* outlier.h: failure memory for the targets hermesd picks among (a tunnel route's peers,
 * an http route's endpoints), as Envoy's outlier detection: consecutive failures eject a
 * target for an ejection time that doubles with each ejection in a row (capped); new flows
 * skip it at once while another is usable; when its time is up one attempt goes through
 * as a probe, whose success brings it back and whose failure ejects it again, for longer.
 * Pure state and decisions (no loop, no I/O, no log), so that tests/unit/test_outlier.c
 * checks them without root; the callers (conn.c, exch.c) log, count and choose. */
#ifndef HERMES_OUTLIER_H
#define HERMES_OUTLIER_H

#include <stdbool.h>
#include <stdint.h>

#include "hermes/origdst.h"

/* What a target is, for the metrics' kind label (index of the outlier_* arrays of
 * stats-t.h) and the log. */
enum outlier_kind { OUTLIER_TUNNEL_PEER, OUTLIER_HTTP_ENDPOINT, OUTLIER_NKINDS };

/* Section `outlier` (reload: the next failure or ejection uses the new values). */
struct outlier_cfg {
	uint32_t consecutive_failures; /* failures in a row that eject a target; 0: never eject */
	uint32_t base_ejection_ms;     /* the first ejection in a row lasts this long ... */
	uint32_t max_ejection_ms;      /* ... each next one twice as long, up to this */
	bool http_5xx;                 /* an http endpoint's 5xx response counts as a failure */
};

/* One target's memory. Zeroed: usable, no failure known. */
struct outlier {
	uint32_t fails;     /* failures since the last success */
	uint32_t ejections; /* ejections in a row since the last success (0: not ejected) */
	uint64_t until_ms;  /* while ejected: new flows skip it until then */
	bool probing;       /* its time was up and an attempt went through as the probe */
	bool told;          /* the log said it was picked with every target ejected */
};

enum outlier_event {
	OUTLIER_NONE,
	OUTLIER_EJECTED,  /* this failure ejected it (again: ejections > 1 after a failed probe) */
	OUTLIER_RETURNED, /* this success ended its ejection */
};

/* May a new flow go to it now (not ejected, or its time is up and no probe is out)? */
bool outlier_usable(const struct outlier *o, uint64_t now_ms);

/* An attempt starts on it. When its ejection time is up this attempt is the probe: new
 * flows skip the target again while the probe is out, for as long as its last ejection
 * lasted (a probe whose outcome never comes does not keep it out for ever). True when
 * the attempt is a probe. */
bool outlier_attempt(struct outlier *o, const struct outlier_cfg *cfg, uint64_t now_ms);

/* An attempt on it failed. OUTLIER_EJECTED when the failure ejects it: the
 * consecutive_failures-th in a row, or its probe; *ms is then the ejection's length. A
 * failure of an attempt that began before the ejection (not the probe) changes nothing. */
enum outlier_event outlier_failure(struct outlier *o, const struct outlier_cfg *cfg, uint64_t now_ms, uint64_t *ms);

/* An attempt on it succeeded: the count starts again; OUTLIER_RETURNED when it was
 * ejected (a probe, or the pick when every target was ejected). */
enum outlier_event outlier_success(struct outlier *o);

/* When a new flow may go to it again: 0 when usable now. */
uint64_t outlier_back_ms(const struct outlier *o, uint64_t now_ms);

/* Which of v[0..n) the next attempt of a flow goes to: the first usable one not tried
 * (bit i of tried) from index start on; else, of those not tried (all of them once every
 * one was tried), the one whose ejection ends soonest (the earliest from start on a tie).
 * *forced is set when the pick is ejected (nothing usable was left). -1 when n is 0. */
int outlier_pick(const struct outlier *const *v, unsigned n, unsigned start, uint32_t tried, uint64_t now_ms,
		 bool *forced);

/* Targets known by address (tunnel peers, which a reload may rename or move between
 * routes): their memory outlives the config, for the process's life. */
struct outlier_target {
	struct hermes_addr addr;
	struct outlier o;
};
struct outlier_set {
	struct outlier_target *v;
	unsigned n, cap;
};

/* The memory of the target at addr, added zeroed when new; NULL when out of memory. */
struct outlier *outlier_find(struct outlier_set *s, const struct hermes_addr *addr);
void outlier_set_free(struct outlier_set *s);

#endif
