/* admin-int.h: what admin.c and admin_metrics.c share: the response being written. */
#ifndef HERMES_ADMIN_INT_H
#define HERMES_ADMIN_INT_H

#include <stdbool.h>

#include "buf.h"
#include "loop-t.h"

/* A response being written: printf after printf, a failure checked once at the end. */
struct sbuf {
	struct hbuf h;
	bool oom;
};

void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* GET /metrics (and /stats): every family of HERMES_STATS (stats-t.h), in its order
 * (admin_metrics.c). */
void admin_metrics_body(struct loop *lp, struct sbuf *b);

#endif
