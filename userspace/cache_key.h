/* cache_key.h: what the HTTP cache stores a response under (cache_key.c): the primary key
 * (the target URI, RFC 9111 4), the secondary key of a response with Vary (RFC 9111 4.1)
 * and the URIs an unsafe request invalidates (RFC 9111 4.4). Pure functions, unit-tested
 * in tests/unit/test_cache_policy.c. Prefix cache_. */
#ifndef HERMES_CACHE_KEY_H
#define HERMES_CACHE_KEY_H

#include <stdbool.h>

#include "cache-t.h"
#include "hmsg-t.h"

/* Longest key cache_key writes (with its NUL). */
#define CACHE_KEY_MAX 8192

/* The primary key of req: its target URI as scheme://host[:port]/path?query, scheme and
 * host lowercased, a default port (80 for http, 443 for https) left out, an empty path
 * as "/". The authority comes from an absolute-form target, else :authority (HTTP/2),
 * else Host; the scheme from the absolute form, else :scheme, else tls. The method is
 * not in the key: only GET responses are stored, and a HEAD is answered from them.
 * Writes a NUL-terminated key into out; returns its length, -EINVAL (no authority, an
 * authority with userinfo, a target that is neither origin- nor absolute-form) or
 * -ENAMETOOLONG. */
int cache_key(const struct hmsg *req, bool tls, char *out, size_t cap);
/* An absolute URI (http or https) as a key, normalised as above; same returns. */
int cache_key_uri(struct h1_slice uri, char *out, size_t cap);

/* The field names resp's Vary lists, lowercased, in order, each followed by '\n', into
 * out (empty: no Vary). Returns the length, -EINVAL for Vary: * (matches nothing) or
 * -ENAMETOOLONG. */
int cache_vary_names(const struct hmsg *resp, char *out, size_t cap);
/* req's secondary key under the Vary names (cache_vary_names' form): per name
 * "name:value\n" with the request's field lines of that name combined with ", " and
 * the whitespace around commas dropped, or "name!\n" when the request has none (an
 * absent field matches only its absence). Returns the length or -ENAMETOOLONG. */
int cache_vary_key(const char *names, size_t nlen, const struct hmsg *req, char *out, size_t cap);

/* Is the method unsafe, or of unknown safety (RFC 9110 9.2.1)? GET, HEAD, OPTIONS and
 * TRACE are safe. */
bool cache_method_unsafe(struct h1_slice method);
/* The keys a response to req invalidates (RFC 9111 4.4): none unless req's method is
 * unsafe and the status is non-error (2xx, 3xx); then the target URI (key, from
 * cache_key) and the Location and Content-Location of the same scheme and authority
 * (absolute URIs, network-path and absolute-path references; other relative references
 * are left alone). Writes up to max distinct keys into out; returns how many. */
int cache_invalidated(const struct hmsg *req, const struct hmsg *resp, const char *key, char (*out)[CACHE_KEY_MAX],
		      int max);

#endif
