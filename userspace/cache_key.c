/* cache_key.c: the keys of the HTTP cache as pure functions: a request's target URI
 * normalised into the primary key, the Vary secondary key, and the keys an unsafe
 * request's response invalidates. API in cache_key.h. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "cache_key.h"
#include "cache_policy.h"
#include "http1.h"

/* A key being written into out[0..cap), NUL kept room for; err once it would not fit. */
struct kw {
	char *p;
	size_t len, cap;
	int err;
};

static void put(struct kw *w, const char *s, size_t n, bool lower)
{
	if (w->err || w->len + n + 1 > w->cap) {
		w->err = -ENAMETOOLONG;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w->p[w->len + i] = lower && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] | 0x20) : s[i];
	w->len += n;
	w->p[w->len] = 0;
}

static int done(struct kw *w)
{
	return w->err ? w->err : (int)w->len;
}

/* scheme://authority path as a key: userinfo refused, the host lowercased, an empty or
 * default port dropped, an empty path "/", a fragment cut */
static int build(char *out, size_t cap, bool tls, struct h1_slice a, struct h1_slice path)
{
	struct kw w = { .p = out, .cap = cap };
	const char *c = a.p + a.len, *hash, *host_end = c;

	if (!a.len || memchr(a.p, '@', a.len))
		return -EINVAL;
	while (c > a.p && c[-1] >= '0' && c[-1] <= '9')
		c--;
	if (c > a.p && c[-1] == ':' && (a.p[0] != '[' || (c - 1 > a.p && c[-2] == ']'))) {
		struct h1_slice port = { .p = c, .len = (size_t)(a.p + a.len - c) };

		host_end = c - 1;
		if (!port.len || h1_slice_eq(port, tls ? "443" : "80"))
			a.len = (size_t)(c - 1 - a.p);
	}
	/* no ':' in the host but an IPv6 address's, in brackets: "h::" and "h:443:" would
	 * be keys that read as other keys ("h:", "h:443") */
	if (host_end == a.p ||
	    (a.p[0] == '[' ? host_end[-1] != ']' : memchr(a.p, ':', (size_t)(host_end - a.p)) != NULL))
		return -EINVAL;
	hash = path.len ? memchr(path.p, '#', path.len) : NULL;
	if (hash)
		path.len = (size_t)(hash - path.p);
	put(&w, tls ? "https://" : "http://", tls ? 8 : 7, false);
	put(&w, a.p, a.len, true);
	if (!path.len || path.p[0] != '/')
		put(&w, "/", 1, false);
	put(&w, path.p, path.len, false);
	return done(&w);
}

int cache_key_uri(struct h1_slice uri, char *out, size_t cap)
{
	bool tls = false;
	size_t s = h1_abs_scheme(uri, &tls);
	const char *a, *e, *end = uri.p + uri.len;

	if (!s)
		return -EINVAL;
	a = uri.p + s;
	for (e = a; e < end && *e != '/' && *e != '?' && *e != '#'; e++)
		;
	return build(out, cap, tls, (struct h1_slice){ .p = a, .len = (size_t)(e - a) },
		     (struct h1_slice){ .p = e, .len = (size_t)(end - e) });
}

int cache_key(const struct hmsg *req, bool tls, char *out, size_t cap)
{
	struct h1_slice a = req->authority;
	bool dummy;

	if (h1_abs_scheme(req->target, &dummy))
		return cache_key_uri(req->target, out, cap);
	if (!req->target.len || req->target.p[0] != '/')
		return -EINVAL;
	if (req->scheme.len)
		tls = h1_slice_caseeq(req->scheme, "https");
	if (!a.len) {
		const struct h1_header *h = h1_find(req->headers, req->n_headers, "host");

		if (!h)
			return -EINVAL;
		a = h->value;
	}
	return build(out, cap, tls, a, req->target);
}

/* ---- Vary ---- */

int cache_vary_names(const struct hmsg *resp, char *out, size_t cap)
{
	struct kw w = { .p = out, .cap = cap };

	if (cap)
		out[0] = 0;
	for (unsigned i = 0; i < resp->n_headers; i++) {
		struct h1_slice rest = resp->headers[i].value, e;

		if (!h1_slice_caseeq(resp->headers[i].name, "vary"))
			continue;
		while (cache_list_next(&rest, &e)) {
			if (h1_slice_eq(e, "*"))
				return -EINVAL;
			put(&w, e.p, e.len, true);
			put(&w, "\n", 1, false);
		}
	}
	return done(&w);
}

int cache_vary_key(const char *names, size_t nlen, const struct hmsg *req, char *out, size_t cap)
{
	struct kw w = { .p = out, .cap = cap };
	const char *p = names, *end = names + nlen;

	if (cap)
		out[0] = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct h1_slice n = { .p = p, .len = nl ? (size_t)(nl - p) : (size_t)(end - p) };
		bool any = false, wrote = false;

		p = nl ? nl + 1 : end;
		put(&w, n.p, n.len, false);
		for (unsigned i = 0; i < req->n_headers; i++) {
			struct h1_slice rest = req->headers[i].value, e;

			if (req->headers[i].name.len != n.len || strncasecmp(req->headers[i].name.p, n.p, n.len))
				continue;
			/* an empty field is present all the same: "name:" is not "name!" */
			if (!any)
				put(&w, ":", 1, false);
			any = true;
			while (cache_list_next(&rest, &e)) {
				if (wrote)
					put(&w, ",", 1, false);
				put(&w, e.p, e.len, false);
				wrote = true;
			}
		}
		put(&w, any ? "\n" : "!\n", any ? 1 : 2, false);
	}
	return done(&w);
}

/* ---- invalidation ---- */

bool cache_method_unsafe(struct h1_slice m)
{
	return !h1_slice_eq(m, "GET") && !h1_slice_eq(m, "HEAD") && !h1_slice_eq(m, "OPTIONS") &&
	       !h1_slice_eq(m, "TRACE");
}

/* The length of key's "scheme://authority" */
static size_t origin_len(const char *key)
{
	const char *a = strstr(key, "://"), *slash = a ? strchr(a + 3, '/') : NULL;

	return slash ? (size_t)(slash - key) : strlen(key);
}

/* ref (a Location or Content-Location value) against the target's key, into out:
 * 0 when it is a URI of the same origin, else -EINVAL */
static int resolve(const char *key, struct h1_slice ref, char *out, size_t cap)
{
	size_t ol = origin_len(key);
	bool dummy;
	int n;

	if (h1_abs_scheme(ref, &dummy)) {
		n = cache_key_uri(ref, out, cap);
	} else if (ref.len >= 2 && ref.p[0] == '/' && ref.p[1] == '/') {
		char buf[CACHE_KEY_MAX];
		size_t sl = (size_t)(strstr(key, "://") - key) + 1; /* "http:" */

		if (sl + ref.len + 1 > sizeof(buf))
			return -ENAMETOOLONG;
		memcpy(buf, key, sl);
		memcpy(buf + sl, ref.p, ref.len);
		n = cache_key_uri((struct h1_slice){ .p = buf, .len = sl + ref.len }, out, cap);
	} else if (ref.len && ref.p[0] == '/') {
		struct kw w = { .p = out, .cap = cap };
		const char *hash = memchr(ref.p, '#', ref.len);

		put(&w, key, ol, false);
		put(&w, ref.p, hash ? (size_t)(hash - ref.p) : ref.len, false);
		n = done(&w);
	} else {
		return -EINVAL;
	}
	if (n < 0)
		return n;
	return origin_len(out) == ol && !memcmp(out, key, ol) ? 0 : -EINVAL;
}

int cache_invalidated(const struct hmsg *req, const struct hmsg *resp, const char *key, char (*out)[CACHE_KEY_MAX],
		      int max)
{
	static const char *const refs[] = { "location", "content-location" };
	int n = 0;

	if (!cache_method_unsafe(req->method) || resp->status < 200 || resp->status >= 400 || max < 1 ||
	    strlen(key) >= CACHE_KEY_MAX)
		return 0;
	strcpy(out[n++], key);
	for (unsigned r = 0; r < 2 && n < max; r++) {
		const struct h1_header *h = h1_find(resp->headers, resp->n_headers, refs[r]);
		bool seen = false;

		if (!h || resolve(key, h->value, out[n], CACHE_KEY_MAX))
			continue;
		for (int i = 0; i < n; i++)
			seen |= !strcmp(out[i], out[n]);
		if (!seen)
			n++;
	}
	return n;
}
