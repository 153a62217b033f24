/* cache_policy.h: the HTTP cache's rules (cache_policy.c), RFC 9111 for a shared cache and
 * RFC 5861: Cache-Control parsing, which requests may be answered from the store and which
 * responses may be stored, freshness lifetime and age, what a request may be answered
 * with, stale-if-error, the conditional request and the 304 merge, and the fields a
 * stored and a served head keep. Pure functions: the caller passes the parsed heads, the
 * settings and the time (seconds), and keeps the store, the counters and the log.
 * Unit-tested in tests/unit/test_cache_policy.c. Types in cache-t.h. Prefix cache_. */
#ifndef HERMES_CACHE_POLICY_H
#define HERMES_CACHE_POLICY_H

#include "cache-t.h"
#include "hmsg-t.h"

/* ---- Cache-Control ---- */
/* One Cache-Control field value at p[0..len), merged into cc (a head's fields in turn;
 * start from cache_cc_init). Directive names are case-insensitive, arguments tokens or
 * quoted strings, unknown directives ignored; of a repeated directive the first value
 * counts; an argument that is not delta-seconds reads as 0 (stale, RFC 9111 4.2.1),
 * one too large as CACHE_DELTA_MAX. Returns len, or -EBADMSG for a quoted string
 * without its end (CACHE_CC_BAD is set, the directives before it kept). */
int cache_cc_parse(const char *p, size_t len, struct cache_cc *cc);
void cache_cc_init(struct cache_cc *cc);
/* Every Cache-Control field of m into cc; for a request (req), Pragma: no-cache counts
 * as no-cache when no Cache-Control came (RFC 9111 5.4). */
void cache_cc_head(const struct hmsg *m, bool req, struct cache_cc *cc);
/* The next non-empty element of a comma-separated list, trimmed of whitespace, taken off
 * the front of *rest (quoted commas are not looked at: field names and tokens). */
bool cache_list_next(struct h1_slice *rest, struct h1_slice *elem);
/* Does a comma-separated field-name list (a qualified no-cache or private) name `name`? */
bool cache_list_has(struct h1_slice list, struct h1_slice name);

/* ---- HTTP dates (RFC 9110 5.6.7) ---- */
/* IMF-fixdate, and the obsolete RFC 850 and asctime forms, into *t (seconds since the
 * epoch, UTC). 0 or -EINVAL. */
int cache_date_parse(struct h1_slice s, int64_t *t);
/* IMF-fixdate of t into out (30 bytes with the NUL); returns 29, or -ERANGE for a
 * year outside 0..9999. */
int cache_date_fmt(int64_t t, char out[30]);

/* ---- storing and answering ---- */
/* May the request be answered from the store? GET and HEAD (a HEAD from a stored GET
 * response, RFC 9110 9.3.2). A request's no-store forbids storing, not reuse. */
bool cache_lookup_ok(const struct hmsg *req);
/* Does the cache know what status means for caching (RFC 9111 3: final, understood)?
 * 206 and 304 are not stored whole responses. cache_storable asks it only under
 * must-understand: any other final status may be stored with an explicit lifetime. */
bool cache_status_understood(int status);
/* Heuristically cacheable by default (RFC 9110 15.1). */
bool cache_status_heuristic(int status);
/* May resp, the answer to req, be stored (RFC 9111 3, 3.5, 5.2)? rcc and cc are their
 * directives; with cf->no_set_cookie not one with Set-Cookie. Returns CACHE_STORE_OK or
 * why not. */
enum cache_nostore cache_storable(const struct cache_conf *cf, const struct hmsg *req, const struct cache_cc *rcc,
				  const struct hmsg *resp, const struct cache_cc *cc);
/* The fields of resp a store keeps (RFC 9111 3.1): not Connection or those it names,
 * the hop-by-hop ones (Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade,
 * Trailer), the proxy's own (Proxy-Authenticate, Proxy-Authentication-Info,
 * Proxy-Authorization), nor the fields a qualified no-cache or private names. out gets
 * the status line's values and those fields (slices into resp's buffer). */
void cache_stored_fields(const struct hmsg *resp, const struct cache_cc *cc, struct hmsg *out);
/* Could the store have written head m: a final status it stores (not 1xx, 206 or 304)
 * and no field cache_stored_fields drops (Transfer-Encoding, the hop-by-hop ones)? A
 * head read back from a file must be one (hdisk.c: anything else is not served). */
bool cache_head_stored(const struct hmsg *m);

/* ---- freshness and age (RFC 9111 4.2) ---- */
/* The freshness lifetime in seconds: s-maxage (shared), max-age, Expires - Date (an
 * invalid Expires: already expired), else when the status is heuristically cacheable
 * or public says so, cf->default_ttl_s when set, else heuristic_percent of Date -
 * Last-Modified capped at heuristic_max_s; else 0. A missing Date reads as
 * response_time. */
int64_t cache_lifetime(const struct cache_conf *cf, const struct hmsg *resp, const struct cache_cc *cc,
		       const struct cache_times *t);
/* The corrected initial age at response_time (RFC 9111 4.2.3): the larger of the
 * apparent age (response_time - Date) and Age + the response delay, capped at
 * CACHE_DELTA_MAX as the current age is. */
int64_t cache_initial_age(const struct hmsg *resp, const struct cache_times *t);
/* The current age at now: the initial age plus the time resident. */
int64_t cache_current_age(int64_t initial_age, const struct cache_times *t, int64_t now);
/* How a request with directives rcc may use a stored response with directives cc,
 * lifetime and current age (RFC 9111 4.2, 5.2; RFC 5861 3): request no-cache, max-age,
 * min-fresh and max-stale, response no-cache, must-revalidate, proxy-revalidate and
 * s-maxage (no stale use), stale-while-revalidate; only-if-cached turns a
 * CACHE_USE_VALIDATE into CACHE_USE_504. */
enum cache_use cache_use(const struct cache_conf *cf, const struct cache_cc *rcc, const struct cache_cc *cc,
			 int64_t lifetime, int64_t age);
/* May a stale response be served when the origin fails (status 500, 502, 503, 504, or
 * status 0: no response) within a stale-if-error window, the response's or the
 * request's (RFC 5861 4)? Never when the response forbids serving it stale. */
bool cache_stale_if_error(const struct cache_conf *cf, const struct cache_cc *rcc, const struct cache_cc *cc,
			  int64_t lifetime, int64_t age, int status);

/* ---- validation (RFC 9111 4.3) ---- */
/* The conditional fields for revalidating stored: If-None-Match from its ETag and
 * If-Modified-Since from its Last-Modified, into out[0..max) (slices into stored's
 * buffer, names static). Returns how many (0: no validator). */
unsigned cache_conditional(const struct hmsg *stored, struct h1_header *out, unsigned max);
/* Does a 304 select this stored response (RFC 9111 4.3.4): a strong ETag of the 304
 * matches stored's strong one, a weak one matches stored's by weak comparison; else
 * without an ETag in the 304, its Last-Modified equals stored's; else neither validator
 * in the 304 and none in stored either. */
bool cache_304_selects(const struct hmsg *stored, const struct hmsg *r304);
/* stored's head updated by a 304 (RFC 9111 3.2): stored's status and fields, each
 * field the 304 carries replacing stored's of that name, except Content-Length,
 * Content-Range and the fields not kept (cache_stored_fields), into out. 0 or
 * -EMSGSIZE (more than H1_HEADERS_CAP fields). */
int cache_merge_304(const struct hmsg *stored, const struct hmsg *r304, struct hmsg *out);

/* Do a client's own conditionals, evaluated against a stored response it may use,
 * say "not modified" (RFC 9111 4.3.2, RFC 9110 13.2.2)? If-None-Match: one of its
 * entity tags (or *) matches stored's ETag by weak comparison; without If-None-Match,
 * If-Modified-Since: stored's Last-Modified (else its Date) is not later. Then the
 * client gets a 304 from the store. */
bool cache_not_modified(const struct hmsg *req, const struct hmsg *stored);

/* ---- serving ---- */
/* The Age value to send for a current age (capped at CACHE_DELTA_MAX). */
int64_t cache_age_value(int64_t age);
/* stored's fields as served: without Age and Content-Length, which the caller writes
 * (Age from cache_age_value, the length of the body it sends). */
void cache_served_fields(const struct hmsg *stored, struct hmsg *out);

#endif
