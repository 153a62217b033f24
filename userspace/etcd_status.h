/* etcd_status.h: the node's status in etcd (etcd_status.c), the key PREFIX/status/NODE,
 * bound to a lease of ETCD_STATUS_TTL seconds that a thread of its own keeps alive, so
 * that the key goes by itself when hermesd (or its host) does. Its value, JSON:
 *   {"node", "address", "admin", "version", "applied_revision", "applied_at" (unix ms),
 *    "health" ("ok" or "degraded: REASON"), "config_error" (the last refusal, or null),
 *    "pid"}
 * rewritten whenever one of them changes (an apply, a refusal, health); a lease that
 * expired (etcd away longer than the TTL) is granted again and the key written again.
 * `hermesctl overlay status` reads these keys. Prefix etcd_status_. */
#ifndef HERMES_ETCD_STATUS_H
#define HERMES_ETCD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-t.h"

#define ETCD_STATUS_TTL 10          /* seconds */
#define ETCD_STATUS_KEEPALIVE_MS 3000 /* a third of it: two keepalives may fail before it expires */

struct etcd_status;

/* What the key says; the loop's side of it. */
struct etcd_status_info {
	int64_t applied_rev;     /* etcd_src.h's applied revision (0: none yet) */
	uint64_t applied_at_ms;  /* when it was applied, ms since the epoch (0: never) */
	char health[256];        /* "ok" or "degraded: REASON" */
	char config_error[512];  /* the last refusal; "" when the last document applied */
};

struct etcd_status_stats {
	uint64_t writes;   /* the key written */
	uint64_t failures; /* grants, writes and keepalives that failed */
	uint64_t grants;   /* leases granted (the first, and again after one expired) */
	bool up;           /* the key was written and its lease renewed within the TTL */
};

/* The status of the node e->node, reached as e says; address and admin: how an operator
 * reaches it ("" when not). 0 or -ENOMEM. */
int etcd_status_new(const struct cfg_etcd *e, const char *address, const char *admin, struct etcd_status **out);
int etcd_status_start(struct etcd_status *st);
/* The key's new content (written by the thread soon, when it differs). */
void etcd_status_set(struct etcd_status *st, const struct etcd_status_info *in);
void etcd_status_get(struct etcd_status *st, struct etcd_status_info *out);
void etcd_status_get_stats(const struct etcd_status *st, struct etcd_status_stats *out);
/* Stops the thread (within a second) and ends the lease, so that the key goes now (a
 * clean stop is not a node down). NULL is a no-op. */
void etcd_status_free(struct etcd_status *st);

/* How an operator reaches a listener bound to a (len 0: "" ): "HOST:PORT", the host
 * name for an unspecified address (0.0.0.0, ::). */
void etcd_status_addr(const struct cfg_sockaddr *a, char *buf, size_t len);
/* The key's JSON for in (malloc'ed; NULL: out of memory). */
char *etcd_status_json(const char *node, const char *address, const char *admin, long pid,
		       const struct etcd_status_info *in);

#endif
