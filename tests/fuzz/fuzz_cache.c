/* fuzz_cache.c: libFuzzer target for the HTTP cache's rules and store as the http action
 * uses them (userspace/cache_policy.c, cache_key.c, cache_store.c): a client's request and
 * an origin's response, both untrusted, through the path hcache.c takes. The input is
 * one byte of settings (TLS, a private cache, store_set_cookie, default_ttl_s), two of
 * time (the response's delay and the age at the lookup), then a request head, a
 * response head, its body, and optionally a second response (a 304) after a line
 * "--304--". Aborts when a contract breaks:
 *   - the pure parsers on the raw bytes: cache_cc_parse returns len or -EBADMSG (with
 *     CACHE_CC_BAD), cache_date_parse's time formats (cache_date_fmt) back to the same
 *     time, cache_range's slice lies inside the body;
 *   - the primary key: NUL-terminated, its length, http:// or https://, its origin is
 *     the request's authority; as a URI it is its own key (normalising twice changes
 *     nothing);
 *   - a stored response (cache_storable said yes) is written as hcache.c writes it
 *     (kept fields, a Date added), and that head parses again in full: an entry whose
 *     head does not parse is stored and never served. The store finds it again with
 *     the same request (its Vary key), and its head is the one stored;
 *   - the head served from it (served fields, Content-Length, Age) parses again, frames
 *     exactly the body sent (no Transfer-Encoding, one Content-Length) and carries the
 *     stored status (served.h);
 *   - the age and lifetime are never negative, and a 304 merged into the stored head
 *     parses again too and refreshes the entry;
 *   - the keys an unsafe request invalidates are distinct and of the request's origin.
 * Leaks, out-of-bounds access and undefined behaviour abort through the sanitizers.
 * Built and run by tests/fuzz/run.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cache_key.h"
#include "cache_policy.h"
#include "cache_store.h"
#include "cache_text.h"
#include "fuzz.h"
#include "hmsg.h"
#include "http1.h"
#include "served.h"

#define BASE_TIME 1765000000LL /* December 2025 */

static struct cache_store store;

static void check_raw(const uint8_t *p, size_t n)
{
	struct cache_cc cc;
	struct h1_slice s = { (const char *)p, n };
	int64_t t, t2;
	char date[30];
	int r;

	cache_cc_init(&cc);
	r = cache_cc_parse(s.p, n, &cc);
	CHECK(r == (int)n || (r == -EBADMSG && (cc.flags & CACHE_CC_BAD)));
	CHECK(cc.max_age >= -1 && cc.max_age <= CACHE_DELTA_MAX && cc.s_maxage >= -1 && cc.s_maxage <= CACHE_DELTA_MAX);
	CHECK(cc.no_cache_fields.len <= n && cc.private_fields.len <= n);
	if (n < 64 && !cache_date_parse(s, &t)) {
		r = cache_date_fmt(t, date);
		if (r > 0) {
			CHECK(r == 29 && strlen(date) == 29);
			CHECK(!cache_date_parse((struct h1_slice){ date, 29 }, &t2) && t2 == t);
		}
	}
	if (n < 64) {
		struct hmsg rq = { .n_headers = 1 };
		int64_t first = -1, last = -1, len = n ? p[0] : 0;

		rq.headers[0] = (struct h1_header){ .name = { "Range", 5 }, .value = s };
		r = cache_range(&rq, len, &first, &last);
		CHECK(r == 0 || r == 1 || r == -ERANGE);
		if (r == 1)
			CHECK(first >= 0 && first <= last && last < len);
	}
}

static void check_key(const struct hmsg *req, bool tls, const char *key, int kl)
{
	char again[CACHE_KEY_MAX];
	const char *origin;
	int r;

	CHECK(kl > 0 && (size_t)kl < CACHE_KEY_MAX && strlen(key) == (size_t)kl);
	CHECK(!strncmp(key, "http://", 7) || !strncmp(key, "https://", 8));
	origin = strstr(key, "://") + 3;
	CHECK(*origin && *origin != '/');
	/* an origin that ends before a '?' or '#' (Host: a?b) reads otherwise as a URI */
	if (strcspn(origin, "?#") < strcspn(origin, "/"))
		return;
	r = cache_key_uri((struct h1_slice){ key, (size_t)kl }, again, sizeof(again));
	if (r != kl || strcmp(again, key)) {
		fprintf(stderr, "key %s is %s (%d) as a URI\n", key, r > 0 ? again : "nothing", r);
		CHECK(!"a key is its own key");
	}
	(void)req, (void)tls;
}

static void check_invalidated(const struct hmsg *req, const struct hmsg *resp, const char *key)
{
	static char out[3][CACHE_KEY_MAX];
	const char *slash = strchr(strstr(key, "://") + 3, '/');
	size_t ol = slash ? (size_t)(slash - key) : strlen(key);
	int n = cache_invalidated(req, resp, key, out, 3);

	CHECK(n >= 0 && n <= 3);
	for (int i = 0; i < n; i++) {
		CHECK(strlen(out[i]) < CACHE_KEY_MAX && !strncmp(out[i], key, ol));
		CHECK(out[i][ol] == 0 || out[i][ol] == '/');
		for (int j = 0; j < i; j++)
			CHECK(strcmp(out[i], out[j]));
	}
}

/* A 304 for the stored entry e: merged as hcache.c's freshen does, stored again. */
static void check_304(const struct cache_conf *cf, const struct hmsg *req, struct cache_entry *e, const struct hmsg *sh,
		      const struct hmsg *r304, int64_t now, const char *key, int kl)
{
	struct hmsg merged;
	struct cache_cc cc;
	struct cache_meta m;
	struct hbuf head = { 0 };
	struct cache_entry *fresh = NULL;
	int r;

	(void)cache_304_selects(sh, r304);
	if (cache_merge_304(sh, r304, &merged))
		return;
	cache_cc_head(&merged, false, &cc);
	m.t = (struct cache_times){ .request_time = now, .response_time = now };
	m.initial_age = cache_initial_age(r304, &m.t);
	m.lifetime = cache_lifetime(cf, &merged, &cc, &m.t);
	CHECK(m.initial_age >= 0 && m.lifetime >= 0);
	CHECK(!cache_stored_text(&merged, &cc, now, &head));
	r = cache_store_refresh(&store, e, head.p, head.len, &m, &fresh);
	if (!r) {
		struct cache_entry *g = cache_store_get(&store, key, (size_t)kl, req);
		struct hmsg h;

		CHECK(fresh && fresh->body == e->body);
		if (!fresh->head_ok) {
			fprintf(stderr, "a refreshed head does not parse:\n%.*s\n", (int)head.len, head.p);
			CHECK(!"the refreshed head parses");
		}
		CHECK(g == fresh);
		CHECK(!cache_entry_head(g, &h) && h.status == sh->status);
		check_served(g, &h, 0);
		cache_entry_put(&store, g);
		cache_entry_put(&store, fresh);
	}
	buf_free(head.p, head.cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hmsg req, resp, r304, sh;
	struct cache_conf cf = { .shared = true, .heuristic_percent = 10, .heuristic_max_s = 86400 };
	struct cache_cc rcc, cc;
	struct cache_meta m;
	struct hbuf head = { 0 };
	char key[CACHE_KEY_MAX], names[1024], vkey[4096];
	const char *p, *end, *sep;
	int64_t now, age;
	bool tls;
	int rl, sl, kl, nl, vl, r;
	struct cache_entry *e, *g;

	check_raw(data, size);
	if (size < 3)
		return 0;
	if (!store.buckets)
		CHECK(!cache_store_init(&store, 1 << 20, 1 << 18));
	tls = data[0] & 1;
	cf.shared = !(data[0] & 2);
	cf.no_set_cookie = data[0] & 4;
	cf.default_ttl_s = data[0] & 8 ? 60 : 0;
	p = (const char *)data + 3;
	end = (const char *)data + size;
	rl = h1_parse_request(p, (size_t)(end - p), NULL, &req);
	if (rl <= 0)
		return 0;
	p += rl;
	/* the second response, if any, after the body */
	sep = memmem(p, (size_t)(end - p), "--304--\r\n", 9);
	sl = h1_parse_response(p, (size_t)((sep ? sep : end) - p), NULL, &resp);
	cache_cc_head(&req, true, &rcc);
	{
		/* hreq.c refuses these Host values before the cache sees the request */
		const struct h1_header *host = h1_find(req.headers, req.n_headers, "host");

		if (host && (!host->value.len || memchr(host->value.p, ' ', host->value.len) ||
			     memchr(host->value.p, '/', host->value.len) || memchr(host->value.p, '@', host->value.len)))
			return 0;
	}
	kl = cache_key(&req, tls, key, sizeof(key));
	CHECK(kl > 0 || kl == -EINVAL || kl == -ENAMETOOLONG);
	if (kl < 0)
		return 0;
	check_key(&req, tls, key, kl);
	if (sl <= 0 || resp.status < 200)
		return 0;
	check_invalidated(&req, &resp, key);
	cache_cc_head(&resp, false, &cc);
	m.t = (struct cache_times){ .request_time = BASE_TIME, .response_time = BASE_TIME + data[1] };
	m.initial_age = cache_initial_age(&resp, &m.t);
	m.lifetime = cache_lifetime(&cf, &resp, &cc, &m.t);
	CHECK(m.initial_age >= 0 && m.lifetime >= 0);
	if (cache_storable(&cf, &req, &rcc, &resp, &cc) != CACHE_STORE_OK)
		return 0;
	CHECK(cache_lookup_ok(&req));
	nl = cache_vary_names(&resp, names, sizeof(names));
	vl = nl < 0 ? nl : cache_vary_key(names, (size_t)nl, &req, vkey, sizeof(vkey));
	if (vl < 0)
		return 0;
	CHECK(!cache_stored_text(&resp, &cc, m.t.response_time, &head));
	e = cache_entry_new(&store, key, (size_t)kl, names, (size_t)nl, vkey, (size_t)vl, head.p, head.len, &m);
	if (!e) {
		buf_free(head.p, head.cap);
		return 0;
	}
	if (!e->head_ok) {
		fprintf(stderr, "a stored head does not parse:\n%.*s\n", (int)head.len, head.p);
		CHECK(!"the stored head parses");
	}
	buf_free(head.p, head.cap);
	p += sl;
	if (cache_entry_append(&store, e, p, (size_t)((sep ? sep : end) - p))) {
		cache_entry_put(&store, e);
		return 0;
	}
	cache_entry_get(e);
	r = cache_store_insert(&store, e);
	if (r) {
		CHECK(r == -EFBIG);
		cache_entry_put(&store, e);
		return 0;
	}
	g = cache_store_get(&store, key, (size_t)kl, &req);
	CHECK(g == e);
	CHECK(!cache_entry_head(g, &sh));
	CHECK(sh.status == resp.status && sh.n_headers <= H1_HEADERS_CAP);
	now = BASE_TIME + data[1] + data[2];
	age = cache_current_age(g->meta.initial_age, &g->meta.t, now);
	CHECK(age >= g->meta.initial_age);
	{
		struct cache_cc scc;
		enum cache_use u;

		cache_cc_head(&sh, false, &scc);
		u = cache_use(&cf, &rcc, &scc, g->meta.lifetime, age);
		CHECK(u >= CACHE_USE_FRESH && u <= CACHE_USE_504);
		(void)cache_stale_if_error(&cf, &rcc, &scc, g->meta.lifetime, age, 502);
		(void)cache_not_modified(&req, &sh);
	}
	{
		struct h1_header v[2];
		unsigned nv = cache_conditional(&sh, v, 2);

		CHECK(nv <= 2);
		for (unsigned i = 0; i < nv; i++)
			CHECK(v[i].value.p >= g->head && v[i].value.p + v[i].value.len <= g->head + g->head_len);
	}
	{
		int64_t first, last;

		r = cache_range(&req, (int64_t)g->body->len, &first, &last);
		CHECK(r == 0 || r == 1 || r == -ERANGE);
		if (r == 1)
			CHECK(first >= 0 && first <= last && last < (int64_t)g->body->len);
	}
	check_served(g, &sh, age);
	if (sep && h1_parse_response(sep + 9, (size_t)(end - sep - 9), NULL, &r304) > 0)
		check_304(&cf, &req, g, &sh, &r304, now, key, kl);
	cache_entry_put(&store, g);
	cache_entry_put(&store, e);
	/* one input's entries never meet the next input's */
	CHECK(cache_store_purge(&store, key, (size_t)kl) >= 0);
	return 0;
}
