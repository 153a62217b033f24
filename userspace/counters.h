/* counters.h: the labelled counters of hermesd's modules (counters.c). */
#ifndef HERMES_COUNTERS_H
#define HERMES_COUNTERS_H

#include "loop-t.h"

/* The label sets of the per-route and per-peer counters follow lp->cfg (at start and
 * after each reload). 0 or -ENOMEM (the old sets stay). */
int metrics_config(struct loop *lp);
/* A response with status went to a client of the http action, on route ("-": none). */
void metrics_http_response(struct loop *lp, const char *route, int status);
/* A tunnel client's attempt at peer (NULL: not a tunnel) ended: err 0 (the peer's 200)
 * or the -errno the attempt failed with. */
void metrics_peer_attempt(struct loop *lp, const struct cfg_peer *peer, int err);

/* An attempt on target o (kind, addr) ended: ok, or failed because of why. Feeds its
 * failure memory (lp->cfg->outlier), and counts and logs (info) an ejection and a
 * return. */
void metrics_outlier_outcome(struct loop *lp, enum outlier_kind kind, const struct hermes_addr *addr,
			     struct outlier *o, bool ok, const char *why);
/* An attempt goes to o, forced (every target of its set was ejected) or not: its probe
 * claimed when its time is up; the forced pick logged once per ejection. */
void metrics_outlier_attempt(struct loop *lp, enum outlier_kind kind, const struct hermes_addr *addr,
			     struct outlier *o, bool forced);

#endif
