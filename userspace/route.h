/* route.h: where a request of the http action goes (route.c): the http route it matches,
 * the endpoint of each attempt among the route's, and the destination an explicit proxy
 * request names. Pure functions over the config and the parsed head (no loop, no I/O),
 * so that tests/unit/test_route.c checks them without root. */
#ifndef HERMES_ROUTE_H
#define HERMES_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "config-t.h"
#include "hermes/origdst.h"
#include "http1-t.h"

/* What the endpoint choice reads of one endpoint. */
struct route_ep {
	unsigned active; /* requests with an attempt on it now */
	bool healthy;    /* it has not failed within unhealthy_ms */
	bool ejected;    /* outlier ejection (outlier.h): picked only when every one is */
	uint64_t back_ms; /* ... then the one whose ejection ends soonest */
};

/* Does the request (req, its Host field or NULL) match r: Host (without a port in r, any
 * port matches; case-insensitive), path prefix (of the origin-form path, also for an
 * absolute-form target), and every match_headers entry (a field of that name with exactly
 * that value)? */
bool route_match(const struct cfg_http_route *r, const struct h1_request *req, const struct h1_header *host);

/* The first of routes[0..n) the request matches, or -1 (the flow's original destination). */
int route_find(const struct cfg_http_route *routes, int n, const struct h1_request *req,
	       const struct h1_header *host);

/* The endpoint of the next attempt among eps[0..n): of those not ejected, untried and
 * healthy first, then untried, then healthy, then any; within a class the first from
 * index start on (round robin: start is the route's turn plus the attempts made), or with
 * BALANCE_LEAST_REQUEST the one with the fewest active requests (the earliest from start
 * on a tie). With every one ejected, the one with the smallest back_ms. tried: bit i set
 * when eps[i] was tried by this request. -1 when n is 0. */
int route_pick(const struct route_ep *eps, unsigned n, unsigned start, uint32_t tried, int balance);

/* An absolute-form target http[s]://AUTHORITY[/path][?query] split for a forward: *auth
 * (the Host to send), *path (origin form; *slash when a "/" must go before it), the
 * address (port 80, or 443 for https) and *tls for https. 0, -EINVAL when malformed
 * (userinfo, fragment, bad port, empty host), or -EHOSTUNREACH for a host name: hermesd
 * has no resolver. */
int route_fwd_target(struct h1_slice t, struct h1_slice *auth, struct h1_slice *path, bool *slash,
		     struct hermes_addr *dst, bool *tls);

#endif
