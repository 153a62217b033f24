/* admin.h: the admin HTTP endpoint (admin.c): /ready, /metrics, /flows, /routes, ... */
#ifndef HERMES_ADMIN_H
#define HERMES_ADMIN_H

#include "loop-t.h"

void admin_accept(struct loop *lp, int fd);
/* A connection to the metrics-only address: /metrics (or /stats) and /ready, 404 else. */
void admin_accept_metrics(struct loop *lp, int fd);
void admin_tick(struct loop *lp);

#endif
