/* test_cache_store.c: unit tests (no root) for userspace/cache_store.c, the HTTP cache's
 * in-memory store: store and find, Vary variants under one key, replacement, the
 * least-recently-used eviction order under the byte limit, an entry read across its
 * eviction, replacement and purge (freed only when the reader lets go: the SAN build's
 * leak and use-after-free checks watch this), the per-object limit, a 304 refresh sharing
 * the body, the counters, many keys (the hash growing), the head parsed once when an entry
 * is made, two tiers (a purge reaching the one below, the hooks the disk tier uses, a
 * hit keeping the lower copy recently used, an older copy not replacing a newer one),
 * and the Range rule. Exit 0 when every check passes, 1 otherwise. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cache_key.h"
#include "cache_store.h"
#include "check.h"
#include "http1.h"

static char arena[1 << 16];
static size_t arena_used;

static struct hmsg req(const char *fields)
{
	struct hmsg m;
	char *p = arena + arena_used;
	int n, len = snprintf(p, sizeof(arena) - arena_used, "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n", fields);

	arena_used += (size_t)len + 1;
	n = h1_parse_request(p, (size_t)len, NULL, &m);
	check_at(n == len, __FILE__, __LINE__, "parse \"%s\": %d", p, n);
	return m;
}

static const struct hmsg *no_fields(void)
{
	static struct hmsg m;
	static bool done;

	if (!done) {
		m = req("");
		done = true;
	}
	return &m;
}

/* A stored response under key with vary names and the secondary key req gives them,
 * head "H:<key>" and body of n bytes of fill, stored at response time t. */
static struct cache_entry *make(struct cache_store *st, const char *key, const char *vary, const struct hmsg *r,
				size_t n, char fill, int64_t t)
{
	char vk[256], head[64], body[4096];
	struct cache_meta m = { .t = { .request_time = t, .response_time = t }, .lifetime = 60 };
	struct cache_entry *e;
	int vkl = cache_vary_key(vary, strlen(vary), r, vk, sizeof(vk));

	snprintf(head, sizeof(head), "H:%s", key);
	e = cache_entry_new(st, key, strlen(key), vary, strlen(vary), vk, (size_t)vkl, head, strlen(head), &m);
	if (!e)
		return NULL;
	memset(body, fill, sizeof(body));
	for (size_t done = 0; done < n;) {
		size_t c = n - done < sizeof(body) ? n - done : sizeof(body);

		int rc = cache_entry_append(st, e, body, c);

		if (rc) {
			cache_entry_put(st, e);
			errno = -rc;
			return NULL;
		}
		done += c;
	}
	return e;
}

static int put_new(struct cache_store *st, const char *key, size_t n, char fill, int64_t t)
{
	struct cache_entry *e = make(st, key, "", no_fields(), n, fill, t);

	return e ? cache_store_insert(st, e) : -errno;
}

static bool present(struct cache_store *st, const char *key)
{
	struct cache_entry *e = cache_store_get(st, key, strlen(key), no_fields());

	cache_entry_put(st, e);
	return e != NULL;
}

static bool test_store_get(void)
{
	struct cache_store st;
	struct cache_entry *e;

	ASSERT_EQ(cache_store_init(&st, 1 << 20, 1 << 16), 0, "init");
	ASSERT_TRUE(!cache_store_get(&st, "http://a/", 9, no_fields()), "empty");
	ASSERT_EQ(put_new(&st, "http://a/", 100, 'x', 1), 0, "insert");
	e = cache_store_get(&st, "http://a/", 9, no_fields());
	ASSERT_TRUE(e, "found");
	if (!e)
		return false;
	ASSERT_STREQ(e->key, "http://a/", "key");
	ASSERT_STREQ(e->head, "H:http://a/", "head");
	ASSERT_EQ(e->body->len, 100, "body length");
	ASSERT_TRUE(e->body->data[0] == 'x' && e->body->data[99] == 'x', "body bytes");
	ASSERT_EQ(e->meta.lifetime, 60, "meta kept");
	ASSERT_EQ(e->refs, 2, "the store's and ours");
	cache_entry_put(&st, e);
	ASSERT_TRUE(!cache_store_get(&st, "http://a/x", 10, no_fields()), "another key");
	ASSERT_TRUE(!cache_store_get(&st, "http://a", 8, no_fields()), "a prefix is another key");
	ASSERT_EQ(st.stats.objects, 1, "objects");
	ASSERT_EQ(st.stats.bytes, sizeof(struct cache_entry) + 9 + 11 + 4 + 100, "bytes: entry, key, head, NULs, body");

	ASSERT_EQ(put_new(&st, "http://a/", 50, 'y', 2), 0, "the same key again");
	ASSERT_EQ(st.stats.objects, 1, "replaced, not added");
	ASSERT_EQ(st.stats.replaced, 1, "counted");
	e = cache_store_get(&st, "http://a/", 9, no_fields());
	ASSERT_TRUE(e && e->body->len == 50 && e->body->data[0] == 'y', "the new one");
	cache_entry_put(&st, e);
	cache_store_free(&st);
	return true;
}

static bool test_vary_variants(void)
{
	struct cache_store st;
	struct hmsg gz = req("Accept-Encoding: gzip\r\n"), br = req("Accept-Encoding: br\r\n");
	struct hmsg gz2 = req("Accept-Encoding:  gzip \r\n"), none = req("");
	struct cache_entry *e;

	cache_store_init(&st, 1 << 20, 1 << 16);
	ASSERT_EQ(cache_store_insert(&st, make(&st, "http://a/v", "accept-encoding\n", &gz, 10, 'g', 1)), 0, "gzip");
	ASSERT_EQ(cache_store_insert(&st, make(&st, "http://a/v", "accept-encoding\n", &br, 10, 'b', 1)), 0, "br");
	ASSERT_EQ(st.stats.objects, 2, "two variants side by side");
	e = cache_store_get(&st, "http://a/v", 10, &gz2);
	ASSERT_TRUE(e && e->body->data[0] == 'g', "gzip variant, whitespace normalised");
	cache_entry_put(&st, e);
	e = cache_store_get(&st, "http://a/v", 10, &br);
	ASSERT_TRUE(e && e->body->data[0] == 'b', "br variant");
	cache_entry_put(&st, e);
	ASSERT_TRUE(!cache_store_get(&st, "http://a/v", 10, &none), "no Accept-Encoding matches neither");
	ASSERT_EQ(cache_store_insert(&st, make(&st, "http://a/v", "accept-encoding\n", &none, 10, 'n', 1)), 0, "none");
	e = cache_store_get(&st, "http://a/v", 10, &none);
	ASSERT_TRUE(e && e->body->data[0] == 'n', "the variant without the field");
	cache_entry_put(&st, e);
	/* RFC 9111 4.1: of several matching responses, the most recent */
	ASSERT_EQ(cache_store_insert(&st, make(&st, "http://a/v", "", &none, 10, 'p', 5)), 0, "no Vary, newer");
	e = cache_store_get(&st, "http://a/v", 10, &gz);
	ASSERT_TRUE(e && e->body->data[0] == 'p', "the newest match");
	cache_entry_put(&st, e);
	ASSERT_EQ(cache_store_purge(&st, "http://a/v", 10), 4, "purge takes every variant");
	ASSERT_EQ(st.stats.objects, 0, "none left");
	ASSERT_EQ(st.stats.bytes, 0, "no bytes left");
	ASSERT_EQ(st.stats.purged, 4, "counted");
	ASSERT_EQ(cache_store_purge(&st, "http://a/v", 10), 0, "nothing to purge");
	cache_store_free(&st);
	return true;
}

/* st made with room for three 1000-byte entries and a half, holding http://a/1, 2 and 3
 * (1 the least recently used); what one such entry is charged. */
static size_t three_stored(struct cache_store *st)
{
	size_t one;

	cache_store_init(st, 1 << 20, 1 << 20);
	put_new(st, "http://a/1", 1000, '1', 1);
	one = st->stats.bytes;
	cache_store_free(st);
	cache_store_init(st, 3 * one + one / 2, 1 << 20);
	put_new(st, "http://a/1", 1000, '1', 1);
	put_new(st, "http://a/2", 1000, '2', 1);
	put_new(st, "http://a/3", 1000, '3', 1);
	return one;
}

static bool test_lru(void)
{
	struct cache_store st;

	three_stored(&st);
	ASSERT_EQ(st.stats.objects, 3, "three fit");
	ASSERT_TRUE(present(&st, "http://a/1"), "use 1: 2 is now the least recently used");
	put_new(&st, "http://a/4", 1000, '4', 1);
	ASSERT_EQ(st.stats.evictions, 1, "one evicted");
	ASSERT_TRUE(!present(&st, "http://a/2"), "2 went");
	ASSERT_TRUE(present(&st, "http://a/1") && present(&st, "http://a/3") && present(&st, "http://a/4"),
		    "1, 3, 4 stay");
	/* order now (most recent first): 4 3 1; a double-size entry evicts 1 and 3 */
	ASSERT_EQ(put_new(&st, "http://a/5", 2000, '5', 1), 0, "a larger one");
	ASSERT_TRUE(!present(&st, "http://a/1") && !present(&st, "http://a/3"), "1 and 3 went, oldest first");
	ASSERT_TRUE(present(&st, "http://a/4") && present(&st, "http://a/5"), "4 and 5 stay");
	ASSERT_EQ(st.stats.evictions, 3, "three evicted in all");
	ASSERT_TRUE(st.stats.bytes <= st.max_bytes, "within the limit");
	cache_store_free(&st);
	return true;
}

/* Bytes kept with an entry after it was stored (a hit's ready-made fields) count against
 * the limit: the least recently used others go, never the entry itself, and its unlink
 * takes them back. */
static bool test_charge(void)
{
	struct cache_store st;
	struct cache_entry *e;
	size_t one;

	one = three_stored(&st);
	e = cache_store_get(&st, "http://a/3", 10, no_fields());
	ASSERT_TRUE(e != NULL, "3 found");
	cache_store_charge(&st, e, one / 4);
	ASSERT_EQ(st.stats.bytes, 3 * one + one / 4, "counted, still within the limit");
	ASSERT_EQ(st.stats.evictions, 0, "nothing evicted yet");
	cache_store_charge(&st, e, one / 2);
	ASSERT_EQ(st.stats.evictions, 1, "over the limit: one evicted");
	ASSERT_TRUE(!present(&st, "http://a/1") && present(&st, "http://a/2"), "the least recently used went");
	ASSERT_TRUE(st.stats.bytes <= st.max_bytes, "within the limit");
	/* 2 was just used: 3, the charged one, is the least recently used and stays */
	cache_store_charge(&st, e, 2 * one);
	ASSERT_TRUE(!present(&st, "http://a/2"), "2 went too");
	ASSERT_EQ(st.stats.objects, 1, "the charged entry itself stays");
	cache_store_remove(&st, e);
	ASSERT_EQ(st.stats.bytes, 0, "its unlink takes back all it was charged");
	cache_entry_put(&st, e);
	cache_store_free(&st);
	return true;
}

/* A reader keeps its entry across eviction, replacement and purge; the bytes are freed
 * at its put (ASan: no use after free, no leak). */
static bool test_refcounted_reads(void)
{
	struct cache_store st;
	struct cache_entry *e, *f, *g;
	size_t one;

	cache_store_init(&st, 1 << 20, 1 << 20);
	put_new(&st, "http://a/1", 3000, '1', 1);
	one = st.stats.bytes;
	cache_store_free(&st);
	cache_store_init(&st, one + one / 2, 1 << 20);
	put_new(&st, "http://a/1", 3000, '1', 1);
	e = cache_store_get(&st, "http://a/1", 10, no_fields());
	ASSERT_TRUE(e, "reading 1");
	if (!e)
		return false;
	put_new(&st, "http://a/2", 3000, '2', 1);
	ASSERT_TRUE(!present(&st, "http://a/1"), "1 evicted from the index");
	ASSERT_TRUE(!e->linked && e->refs == 1, "only the reader holds it");
	ASSERT_TRUE(e->body->data[0] == '1' && e->body->data[2999] == '1', "its bytes still readable");
	cache_entry_put(&st, e);

	f = cache_store_get(&st, "http://a/2", 10, no_fields());
	g = cache_store_get(&st, "http://a/2", 10, no_fields());
	ASSERT_TRUE(f && f == g && f->refs == 3, "two readers");
	put_new(&st, "http://a/2", 10, 'n', 2);
	ASSERT_TRUE(f && !f->linked && f->body->data[2999] == '2', "replaced, still readable");
	cache_entry_put(&st, f);
	ASSERT_TRUE(g->refs == 1 && g->body->len == 3000, "one reader left");
	cache_entry_put(&st, g);

	f = cache_store_get(&st, "http://a/2", 10, no_fields());
	ASSERT_EQ(cache_store_purge(&st, "http://a/2", 10), 1, "purged while read");
	ASSERT_TRUE(f && f->body->data[9] == 'n', "still readable");
	cache_entry_put(&st, f);
	ASSERT_EQ(st.stats.objects, 0, "empty");
	cache_store_free(&st);
	return true;
}

static bool ends_with(const char *key, size_t klen, void *arg)
{
	size_t n = strlen(arg);

	return klen >= n && !memcmp(key + klen - n, arg, n);
}

/* purge by a predicate: every origin tag of one URL */
static bool test_purge_if(void)
{
	struct cache_store st;

	cache_store_init(&st, 1 << 20, 1 << 16);
	put_new(&st, "dst 10.0.0.1:80 http://a/x", 10, '1', 1);
	put_new(&st, "route web http://a/x", 10, '2', 1);
	put_new(&st, "dst 10.0.0.1:80 http://a/y", 10, '3', 1);
	ASSERT_EQ(cache_store_purge_if(&st, ends_with, " http://a/x"), 2, "both tags of http://a/x");
	ASSERT_TRUE(present(&st, "dst 10.0.0.1:80 http://a/y"), "another URL stays");
	ASSERT_EQ(st.stats.objects, 1, "one left");
	ASSERT_EQ(st.stats.purged, 2, "counted");
	ASSERT_EQ(cache_store_purge_if(&st, ends_with, " http://a/x"), 0, "nothing left to purge");
	cache_store_free(&st);
	return true;
}

static bool test_limits(void)
{
	struct cache_store st;
	struct cache_entry *e;
	char big[2048] = { 0 };

	cache_store_init(&st, 1 << 20, sizeof(struct cache_entry) + 1000);
	ASSERT_EQ(put_new(&st, "http://a/ok", 900, 'o', 1), 0, "under the object limit");
	ASSERT_EQ(put_new(&st, "http://a/big", 1000, 'b', 1), -EFBIG, "over it while the body passes");
	ASSERT_EQ(st.stats.too_big, 1, "counted");
	ASSERT_TRUE(!present(&st, "http://a/big"), "not stored");
	errno = 0;
	e = cache_entry_new(&st, "k", 1, "", 0, "", 0, big, sizeof(big), &(struct cache_meta){ 0 });
	ASSERT_TRUE(!e && errno == EFBIG, "a head over the limit");
	cache_store_free(&st);

	cache_store_init(&st, sizeof(struct cache_entry) + 100, 1 << 20);
	ASSERT_EQ(put_new(&st, "http://a/1", 50, '1', 1), 0, "fits the store");
	ASSERT_EQ(put_new(&st, "http://a/2", 500, '2', 1), -EFBIG, "larger than the whole store");
	ASSERT_TRUE(present(&st, "http://a/1"), "and evicted nothing");
	cache_store_free(&st);
	return true;
}

static bool test_refresh(void)
{
	struct cache_store st;
	struct cache_entry *e, *n, *f = NULL;
	struct cache_meta m = { .t = { 10, 11 }, .initial_age = 1, .lifetime = 600 };

	cache_store_init(&st, 1 << 20, 1 << 16);
	put_new(&st, "http://a/r", 700, 'r', 1);
	e = cache_store_get(&st, "http://a/r", 10, no_fields());
	if (!ASSERT_TRUE(e, "stored"))
		return false;
	ASSERT_EQ(cache_store_refresh(&st, e, "NEWHEAD", 7, &m, &f), 0, "refreshed by a 304");
	n = cache_store_get(&st, "http://a/r", 10, no_fields());
	ASSERT_TRUE(n && n != e, "a new entry");
	ASSERT_TRUE(n && f == n && n->refs == 3, "handed back with a reference: the store's, f's and n's");
	cache_entry_put(&st, f);
	ASSERT_TRUE(n && n->body == e->body && n->body->refs == 2, "sharing the body");
	ASSERT_TRUE(n && !strcmp(n->head, "NEWHEAD") && n->meta.lifetime == 600 && n->meta.t.response_time == 11,
		    "new head and meta");
	ASSERT_EQ(st.stats.objects, 1, "the old one replaced");
	ASSERT_TRUE(!e->linked, "the old one out");
	cache_entry_put(&st, e);
	ASSERT_TRUE(n && n->body->refs == 1 && n->body->data[699] == 'r', "the body outlives the old entry");
	cache_entry_put(&st, n);
	cache_store_free(&st);

	/* a head that makes the object too large: the old entry stays, nothing handed back */
	cache_store_init(&st, 1 << 20, sizeof(struct cache_entry) + 800);
	put_new(&st, "http://a/r", 700, 'r', 1);
	e = cache_store_get(&st, "http://a/r", 10, no_fields());
	if (!ASSERT_TRUE(e, "stored"))
		return false;
	f = NULL;
	{
		char big[200];

		memset(big, 'h', sizeof(big));
		ASSERT_EQ(cache_store_refresh(&st, e, big, sizeof(big), &m, &f), -EFBIG, "the merged head is too large");
	}
	ASSERT_TRUE(!f && e->linked && st.stats.objects == 1, "the old entry stays in the store");
	cache_entry_put(&st, e);
	cache_store_free(&st);
	return true;
}

static bool test_many(void)
{
	struct cache_store st;
	char key[64];
	bool all = true;

	cache_store_init(&st, 1 << 26, 1 << 16);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "http://a/%d", i);
		if (put_new(&st, key, 10, 'm', 1))
			all = false;
	}
	ASSERT_TRUE(all, "5000 stored");
	ASSERT_TRUE(st.nbuckets >= 4096, "the hash grew: %zu buckets", st.nbuckets);
	for (int i = 0; i < 5000; i += 7) {
		snprintf(key, sizeof(key), "http://a/%d", i);
		all &= present(&st, key);
	}
	ASSERT_TRUE(all, "every one found after growing");
	ASSERT_EQ(st.stats.objects, 5000, "objects");
	cache_store_free(&st);
	return true;
}

static int range(const char *value, int64_t len, int64_t *a, int64_t *b)
{
	char f[256];
	struct hmsg r;

	snprintf(f, sizeof(f), "Range: %s\r\n", value);
	r = req(f);
	*a = *b = -7;
	return cache_range(&r, len, a, b);
}

/* RFC 9110 14.1.2, 14.2 */
static bool test_range(void)
{
	int64_t a, b;
	struct hmsg r;

	ASSERT_EQ(range("bytes=0-99", 1000, &a, &b), 1, "first-last");
	ASSERT_TRUE(a == 0 && b == 99, "0-99");
	ASSERT_EQ(range("bytes=500-", 1000, &a, &b), 1, "first-");
	ASSERT_TRUE(a == 500 && b == 999, "500-999");
	ASSERT_EQ(range("bytes=-100", 1000, &a, &b), 1, "suffix");
	ASSERT_TRUE(a == 900 && b == 999, "900-999");
	ASSERT_EQ(range("bytes=-5000", 1000, &a, &b), 1, "a suffix longer than the body");
	ASSERT_TRUE(a == 0 && b == 999, "the whole body");
	ASSERT_EQ(range("bytes=900-5000", 1000, &a, &b), 1, "last past the end");
	ASSERT_TRUE(a == 900 && b == 999, "clamped");
	ASSERT_EQ(range("BYTES=1-1", 1000, &a, &b), 1, "the unit is case-insensitive");
	ASSERT_EQ(range("bytes=1000-", 1000, &a, &b), -ERANGE, "first at the end: 416");
	ASSERT_EQ(range("bytes=-0", 1000, &a, &b), -ERANGE, "empty suffix: 416");
	ASSERT_EQ(range("bytes=5-1", 1000, &a, &b), 0, "last before first: invalid, ignored");
	ASSERT_EQ(range("bytes=0-1,5-6", 1000, &a, &b), 0, "several ranges: 200");
	ASSERT_EQ(range("items=0-1", 1000, &a, &b), 0, "another unit");
	ASSERT_EQ(range("bytes=a-b", 1000, &a, &b), 0, "not numbers");
	ASSERT_EQ(range("bytes=-", 1000, &a, &b), 0, "neither number");
	ASSERT_EQ(range("bytes=0-1", 0, &a, &b), 0, "an empty body");
	ASSERT_EQ(range("bytes=99999999999999999999-", 1000, &a, &b), 0, "a number too long");
	ASSERT_TRUE(a == -7 && b == -7, "untouched when there is no slice");
	r = req("Range: bytes=0-1\r\nRange: bytes=2-3\r\n");
	ASSERT_EQ(cache_range(&r, 1000, &a, &b), 0, "two Range fields");
	ASSERT_EQ(cache_range(no_fields(), 1000, &a, &b), 0, "no Range");
	return true;
}

static bool test_parsed_head(void)
{
	static const char head[] = "HTTP/1.1 203 Fine Here\r\nCache-Control: max-age=9\r\nX-A: one two\r\n\r\n";
	struct cache_meta m = { .lifetime = 60 };
	struct cache_store st;
	struct cache_entry *e, *bad;
	struct hmsg h, want;

	cache_store_init(&st, 1 << 20, 1 << 16);
	e = cache_entry_new(&st, "k", 1, "", 0, "", 0, head, strlen(head), &m);
	ASSERT_TRUE(e, "made");
	if (!e)
		return false;
	ASSERT_EQ(h1_parse_response(head, strlen(head), NULL, &want), (int)strlen(head), "parses");
	memset(&h, 0x55, sizeof(h)); /* whatever the caller's struct held before */
	ASSERT_EQ(cache_entry_head(e, &h), 0, "the kept parse");
	ASSERT_EQ(h.status, 203, "status");
	ASSERT_TRUE(h.reason.len == 9 && !memcmp(h.reason.p, "Fine Here", 9), "reason");
	ASSERT_EQ(h.n_headers, want.n_headers, "fields");
	for (unsigned i = 0; i < h.n_headers && i < want.n_headers; i++) {
		ASSERT_TRUE(h.headers[i].name.len == want.headers[i].name.len &&
				    !memcmp(h.headers[i].name.p, want.headers[i].name.p, h.headers[i].name.len),
			    "name %u", i);
		ASSERT_TRUE(h.headers[i].value.len == want.headers[i].value.len &&
				    !memcmp(h.headers[i].value.p, want.headers[i].value.p, h.headers[i].value.len),
			    "value %u", i);
		ASSERT_TRUE(h.headers[i].name.p >= e->head && h.headers[i].name.p < e->head + e->head_len,
			    "field %u points into the entry, not the caller's head", i);
	}
	ASSERT_TRUE(!h.method.len && !h.target.len && !h.h2, "the request's parts empty");
	bad = cache_entry_new(&st, "k", 1, "", 0, "", 0, "not a head", 10, &m);
	ASSERT_TRUE(bad && cache_entry_head(bad, &h) == -EBADMSG, "a head that does not parse");
	cache_entry_put(&st, bad);
	cache_entry_put(&st, e);
	cache_store_free(&st);
	return true;
}

static int inserted, dropped;
static void on_insert(struct cache_store *st, struct cache_entry *e)
{
	(void)st, (void)e;
	inserted++;
}
static void on_drop(struct cache_store *st, struct cache_entry *e)
{
	(void)st, (void)e;
	dropped++;
}

static bool test_tiers(void)
{
	struct cache_store mem, disk;
	struct cache_entry *e, *d, *old;

	cache_store_init(&mem, 1 << 20, 1 << 16);
	cache_store_init(&disk, 1 << 20, 1 << 16);
	ASSERT_TRUE(memcmp(&mem.seed, &disk.seed, sizeof(mem.seed)), "each store draws its own hash key");
	mem.below = &disk;
	mem.on_insert = on_insert;
	disk.on_drop = on_drop;
	ASSERT_EQ(put_new(&mem, "http://a/1", 10, 'm', 5), 0, "in memory");
	ASSERT_EQ(inserted, 1, "the upper tier's insert hook");
	ASSERT_EQ(put_new(&disk, "http://a/1", 10, 'd', 5), 0, "its copy below");
	ASSERT_EQ(put_new(&disk, "http://a/2", 10, 'd', 5), 0, "below only");
	ASSERT_EQ(put_new(&disk, "http://a/3", 10, 'd', 5), 0, "below only");
	ASSERT_EQ(dropped, 0, "nothing dropped yet");
	/* a hit in memory keeps the copy below recently used */
	e = cache_store_get(&mem, "http://a/1", 10, no_fields());
	d = cache_store_get(&disk, "http://a/1", 10, no_fields());
	ASSERT_TRUE(e && d, "both found");
	if (!e || !d)
		return false;
	cache_entry_get(d);
	e->disk = d; /* the memory entry's reference, dropped when it is freed */
	ASSERT_TRUE(disk.lru_head == d, "the get made it the most recent below");
	ASSERT_EQ(put_new(&disk, "http://a/4", 10, 'd', 5), 0, "another below");
	ASSERT_TRUE(disk.lru_head != d, "no longer the most recent");
	cache_entry_put(&mem, cache_store_get(&mem, "http://a/1", 10, no_fields()));
	ASSERT_TRUE(disk.lru_head == d, "a memory hit touched it");
	/* a purge: both tiers, an object in both counted once */
	ASSERT_EQ(cache_store_purge(&mem, "http://a/1", 10), 1, "purged once");
	ASSERT_TRUE(mem.purge_runs == 1 && disk.purge_runs == 1, "a purge run counted in both tiers");
	ASSERT_TRUE(!present(&mem, "http://a/1") && !present(&disk, "http://a/1"), "gone from both");
	ASSERT_TRUE(e->purged && d->purged, "marked purged");
	ASSERT_EQ(dropped, 1, "the lower tier's drop hook (its file goes)");
	ASSERT_EQ(cache_store_purge(&mem, "http://a/2", 10), 1, "an object below only");
	ASSERT_EQ(dropped, 2, "dropped");
	cache_entry_put(&mem, e);
	cache_entry_put(&disk, d);
	/* an older copy found later does not replace a newer one */
	old = make(&disk, "http://a/3", "", no_fields(), 10, 'o', 1);
	ASSERT_TRUE(old && cache_store_newer(&disk, old), "a newer one is there");
	cache_entry_put(&disk, old);
	old = make(&disk, "http://a/3", "", no_fields(), 10, 'n', 9);
	ASSERT_TRUE(old && !cache_store_newer(&disk, old), "a later one is not older");
	ASSERT_EQ(cache_store_insert(&disk, old), 0, "replaces");
	ASSERT_EQ(dropped, 3, "the replaced one dropped");
	cache_store_remove(&disk, old);
	ASSERT_EQ(dropped, 4, "removed");
	ASSERT_TRUE(!present(&disk, "http://a/3"), "gone");
	cache_store_free(&mem);
	cache_store_free(&disk);
	ASSERT_EQ(dropped, 4, "a store freed drops nothing (its files stay for the next start)");
	return true;
}

int main(void)
{
	RUN(test_store_get);
	RUN(test_vary_variants);
	RUN(test_lru);
	RUN(test_charge);
	RUN(test_refcounted_reads);
	RUN(test_purge_if);
	RUN(test_limits);
	RUN(test_refresh);
	RUN(test_many);
	RUN(test_range);
	RUN(test_parsed_head);
	RUN(test_tiers);
	return check_summary("test_cache_store");
}
