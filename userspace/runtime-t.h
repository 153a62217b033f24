/* runtime-t.h: the runtime snapshot of hermesd: one loaded config (policy rules, tunnel
 * routes, tunnel_access, http routes, limits) with the TLS contexts made from its tls
 * section. A SIGHUP builds a whole new one and the loop swaps its pointer; whatever
 * started under a snapshot (an http request, a proxy or tunnel flow) holds a reference
 * and keeps reading that one, so a reload never frees what is in use. Functions in
 * runtime.h. */
#ifndef HERMES_RUNTIME_T_H
#define HERMES_RUNTIME_T_H

#include <stdint.h>

#include "config-t.h"

/* Immutable once installed, but for the routes' round-robin positions (cfg_http_route
 * rr), which belong to the snapshot and start again with each reload. */
struct runtime {
	unsigned refs;             /* the loop's (while current) + one per holder */
	uint64_t gen;              /* 1 for the config read at start, then one more per reload */
	struct hermes_config *cfg; /* owned (heap) */
	void *tls_server, *tls_client; /* SSL_CTX *, NULL without a tls section; an SSL made
					* from one holds its own reference */
};

#endif
