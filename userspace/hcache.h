/* hcache.h: the http action's use of the HTTP cache (hcache.c), the section `cache`: a
 * GET or HEAD whose stored response is fresh for it is answered from the store (with
 * Age), without an upstream attempt; on a miss, a storable response to a GET is stored
 * as it arrives (one of known length by a filler of its own at the upstream's pace,
 * hfill.c; others copied as their body passes to the client) and kept when it ends
 * whole; a non-error response to an unsafe request removes the stored responses of its
 * URL. The rules are cache_policy.h and cache_key.h, the store cache_store.h; this file
 * only reads the request and the response where hreq.c and exch.c have them. The
 * stall functions (hcache_fill_cut, hcache_attempt, hcache_head_stalled) are hfill.c's. */
#ifndef HERMES_HCACHE_H
#define HERMES_HCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "hmsg-t.h"

struct loop;
struct hconn;
struct hreq_out;

/* The store, when the cache section enables it (http_init; else the first request of
 * a route whose cache: turns it on makes it). 0 or -ENOMEM. */
int hcache_init(struct loop *lp);
void hcache_fini(struct loop *lp);

/* A request without a body, routed and ready for its first attempt: true when it was
 * answered from the store (x is in HC_RESP, its body sent by hcache_send), answered 504
 * for only-if-cached, or waits for its stored response's read from the disk tier (x is
 * in HC_BACKOFF; decided when the read ends, hdisk.h); false to go upstream (x
 * remembers the key to store under or invalidate). The upstream request (x->out) is
 * built from o (hreq_out) only where it may be sent or revalidated with: a hit does
 * not build it. On false, o->err set means it could not be built. */
bool hcache_lookup(struct loop *lp, struct hconn *x, const struct hmsg *req, struct hreq_out *o);
/* HC_RESP of an answer from the store: its body into the send buffer as room allows.
 * False when x is not one (the upstream's body goes on). */
bool hcache_send(struct loop *lp, struct hconn *x);
/* The final response head from upstream: invalidation for an unsafe request; for a GET
 * whose response may be stored, a new entry that the body is copied into; a HEAD's 200
 * freshens the stored GET response it validated (RFC 9111 4.3.5). */
void hcache_resp_head(struct loop *lp, struct hconn *x, const struct hmsg *resp);
/* The final response head from upstream to a request that went with a stored
 * response's validators: a 304 that selects it refreshes it, which then answers (x is
 * in HC_RESP, as after a hit; the upstream connection is free; a background
 * revalidation answers nobody). 1 then, 0 when this is not such a 304 (the response
 * goes on; a 304 to the client's own conditionals freshens the stored response it
 * selects), -errno for a 304 that cannot be used. */
int hcache_revalidated(struct loop *lp, struct hconn *x, const struct hmsg *resp);
/* The origin failed (status 0: no answer, after the retries) or answered 500, 502, 503
 * or 504: true when a stored response the request had to validate answers instead,
 * within a stale-if-error window (RFC 5861 4; x is in HC_RESP, as after a hit). */
bool hcache_stale_on_error(struct loop *lp, struct hconn *x, int status);
/* Body bytes (the payload, without chunked framing) as they go to the client. */
void hcache_resp_body(struct hconn *x, const char *p, size_t n);
/* The response ended whole: its entry into the store. */
void hcache_resp_end(struct loop *lp, struct hconn *x);
/* x's upstream failed (why: enum hup_fail) in HC_RESP: true when x fills a response
 * being stored and asks again for the rest (a retry), false to reset as before. */
bool hcache_fill_cut(struct loop *lp, struct hconn *x, int why);
/* An attempt of x started (x->up): a GET the cache may store, over HTTP/2, gets its
 * upstream's silence checked while it waits for the head (hcache_head_stalled). */
void hcache_attempt(struct loop *lp, struct hconn *x);
/* x->stall_at_ms passed in HC_WAIT: true when the attempt's connection has received
 * nothing (not even the answer to a PING) for cache.fill_stall_ms (the connection then
 * takes no new streams; the caller cuts the attempt and retries it when the policy
 * allows); else false with the next check scheduled. */
bool hcache_head_stalled(struct loop *lp, struct hconn *x);
/* Every stored response of url (an absolute http or https URI, normalised as the
 * cache's keys are), every Vary variant under every route and destination, removed
 * (freed when their last reader lets go); a response still being stored is not stored
 * nor followed by new requests. Returns how many, -EINVAL (not an absolute http(s) URI),
 * -ENAMETOOLONG or -ENODEV (the cache is off). */
int hcache_purge(struct loop *lp, const char *url, size_t len);
/* The request ends (or x is freed): an entry being read or filled is let go. */
void hcache_release(struct hconn *x);

#endif
