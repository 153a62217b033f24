/* cache-t.h: types of the HTTP cache (RFC 9111, RFC 5861): the settings its rules read,
 * a message's Cache-Control directives as parsed, the times a stored response keeps and
 * the verdicts of the rules. The rules are pure functions in cache_policy.h (what may be
 * stored, how fresh it is, what a request may be answered with) and cache_key.h (the
 * key, Vary, invalidation); the in-memory store is cache_store.h. */
#ifndef HERMES_CACHE_T_H
#define HERMES_CACHE_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1-t.h"

/* Every delta-seconds value is capped here (RFC 9111 1.2.2: a value too large, or an
 * overflowing sum, is taken as 2^31). */
#define CACHE_DELTA_MAX 2147483648LL

/* What the rules read of the configuration (the cache: section, and an http route's
 * cache: settings). */
struct cache_conf {
	bool shared;                /* a shared cache (a proxy's: private, s-maxage and
				     * Authorization apply); false only for tests of the
				     * private-cache rules */
	uint32_t heuristic_percent; /* heuristic lifetime: this % of Date - Last-Modified
				     * (0: no heuristic lifetime) */
	int64_t heuristic_max_s;    /* ... capped at this many seconds */
	int64_t default_ttl_s;      /* > 0: the heuristic lifetime is this instead, with or
				     * without Last-Modified (a route's default_ttl_s) */
	bool no_set_cookie;         /* a response with Set-Cookie is not stored (a route's
				     * store_set_cookie: false) */
};

/* Cache-Control directives (RFC 9111 5.2), request or response: CACHE_CC_* flags, and
 * the values of the ones that take delta-seconds (-1: absent). Field-name lists of
 * no-cache and private point into the parsed head. */
enum {
	CACHE_CC_NO_STORE = 1u << 0,
	CACHE_CC_NO_CACHE = 1u << 1,        /* unqualified: every reuse needs validation */
	CACHE_CC_PRIVATE = 1u << 2,         /* unqualified */
	CACHE_CC_PUBLIC = 1u << 3,
	CACHE_CC_MUST_REVALIDATE = 1u << 4,
	CACHE_CC_PROXY_REVALIDATE = 1u << 5,
	CACHE_CC_ONLY_IF_CACHED = 1u << 6,
	CACHE_CC_MUST_UNDERSTAND = 1u << 7,
	CACHE_CC_NO_TRANSFORM = 1u << 8,
	CACHE_CC_IMMUTABLE = 1u << 9,
	CACHE_CC_MAX_STALE_ANY = 1u << 10,  /* max-stale without a value */
	CACHE_CC_BAD = 1u << 11,            /* a malformed field value (a quoted string
					     * without its end): a response is not stored */
	CACHE_CC_PRAGMA_NO_CACHE = 1u << 12, /* request Pragma: no-cache, no Cache-Control */
};

struct cache_cc {
	uint32_t flags;
	int64_t max_age, s_maxage, max_stale, min_fresh;
	int64_t stale_while_revalidate, stale_if_error; /* RFC 5861 */
	struct h1_slice no_cache_fields, private_fields; /* qualified forms' lists */
};

/* The times a stored response keeps (seconds since the epoch): when its request went
 * out and when its response came (RFC 9111 4.2.3 request_time, response_time). */
struct cache_times {
	int64_t request_time, response_time;
};

/* Why a response is not stored (0: it is): cache_storable. */
enum cache_nostore {
	CACHE_STORE_OK = 0,
	CACHE_NS_METHOD,        /* not GET */
	CACHE_NS_STATUS,        /* not a final status the cache understands, or 206/304 */
	CACHE_NS_NO_STORE,      /* no-store in the request or the response */
	CACHE_NS_PRIVATE,       /* private (a shared cache) */
	CACHE_NS_AUTHORIZATION, /* Authorization without public, s-maxage or must-revalidate */
	CACHE_NS_NOT_CACHEABLE, /* nothing makes it cacheable: no explicit lifetime, public,
				 * or heuristically cacheable status */
	CACHE_NS_VARY_STAR,     /* Vary: * never matches a later request */
	CACHE_NS_BAD,           /* a malformed Cache-Control */
	CACHE_NS_SET_COOKIE,    /* Set-Cookie, and the settings say not to store it */
};

/* What a request may be answered with, given a stored response: cache_use. */
enum cache_use {
	CACHE_USE_FRESH = 1, /* fresh enough for the request: serve it */
	CACHE_USE_STALE,     /* stale, but the request's max-stale accepts it */
	CACHE_USE_SWR,       /* stale within stale-while-revalidate: serve it, revalidate
			      * in the background */
	CACHE_USE_VALIDATE,  /* forward the request (conditional when validators exist) */
	CACHE_USE_504,       /* only-if-cached and nothing usable: answer 504 */
};

#endif
