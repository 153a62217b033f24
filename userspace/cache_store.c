/* cache_store.c: the HTTP cache's in-memory store: a chained hash of entries by primary
 * key (SipHash-keyed: the keys are URLs clients choose), Vary variants side by side in a
 * chain, an LRU list for eviction under a byte limit, reference counts so that an entry
 * being sent outlives its eviction, and the Range rule for slices of a stored body. The
 * disk cache's index is a store too (entries whose body is in a file). API in
 * cache_store.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cache_key.h"
#include "cache_store.h"
#include "http1.h"
#include "siphash.h"


int cache_store_init(struct cache_store *st, uint64_t max_bytes, uint64_t max_object_bytes)
{
	*st = (struct cache_store){ .nbuckets = 64, .max_bytes = max_bytes, .max_object_bytes = max_object_bytes };
	if (getrandom(&st->seed, sizeof(st->seed), 0) != (ssize_t)sizeof(st->seed))
		return errno ? -errno : -EIO;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
	return st->buckets ? 0 : -ENOMEM;
}

static uint64_t key_hash(const struct cache_store *st, const char *key, size_t klen)
{
	return siphash24(&st->seed, key, klen);
}

static void body_put(struct cache_body *b)
{
	if (b && !--b->refs) {
		free(b->data);
		free(b);
	}
}

static void entry_free(struct cache_entry *e)
{
	body_put(e->body);
	cache_entry_put(NULL, e->disk);
	free(e->h1_fields);
	free(e);
}

void cache_entry_rewind(struct cache_entry *e)
{
	e->charge -= e->body->len;
	e->body->len = 0;
}

void cache_entry_get(struct cache_entry *e)
{
	e->refs++;
}

void cache_entry_put(struct cache_store *st, struct cache_entry *e)
{
	(void)st;
	if (e && !--e->refs)
		entry_free(e);
}

/* Out of the hash and the LRU list; the store's reference is dropped. */
static void unlink_entry(struct cache_store *st, struct cache_entry *e)
{
	struct cache_entry **pp = &st->buckets[e->hash & (st->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		st->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		st->lru_tail = e->prev;
	e->hnext = e->prev = e->next = NULL;
	e->linked = false;
	st->stats.bytes -= e->charge;
	st->stats.objects--;
	if (st->on_drop)
		st->on_drop(st, e);
	cache_entry_put(st, e);
}

void cache_store_charge(struct cache_store *st, struct cache_entry *e, size_t n)
{
	e->charge += n;
	if (!e->linked)
		return; /* counted if it is inserted later, nothing to take back at its unlink */
	st->stats.bytes += n;
	while (st->stats.bytes > st->max_bytes) {
		struct cache_entry *v = st->lru_tail == e ? e->prev : st->lru_tail;

		if (!v)
			break; /* e alone: it stays, over the limit by its own fields */
		unlink_entry(st, v);
		st->stats.evictions++;
	}
}

void cache_store_remove(struct cache_store *st, struct cache_entry *e)
{
	if (e->linked) {
		e->purged = true;
		unlink_entry(st, e);
	}
}

void cache_store_free(struct cache_store *st)
{
	st->on_drop = NULL; /* a stop is no eviction: the disk keeps its files */
	while (st->lru_head)
		unlink_entry(st, st->lru_head);
	free(st->buckets);
	st->buckets = NULL;
}

struct cache_entry *cache_entry_new(struct cache_store *st, const char *key, size_t klen, const char *vary_names,
				    size_t vnlen, const char *vary_key, size_t vklen, const char *head, size_t head_len,
				    const struct cache_meta *meta)
{
	struct h1_limits lim = { .max_head = head_len + 1, .max_line = head_len + 1, .max_headers = H1_HEADERS_CAP };
	struct hmsg h;
	bool ok = !st->bare && h1_parse_response(head, head_len, &lim, &h) == (int)head_len;
	size_t nh = ok ? h.n_headers : 0;
	size_t extra = nh * sizeof(struct h1_header) + klen + vnlen + vklen + head_len + 4;
	struct cache_entry *e;
	char *p;

	if (sizeof(*e) + extra > st->max_object_bytes) {
		st->stats.too_big++;
		errno = EFBIG;
		return NULL;
	}
	e = calloc(1, sizeof(*e) + extra);
	if (!e || !(e->body = calloc(1, sizeof(*e->body)))) {
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	e->body->refs = 1;
	e->hdrs = (struct h1_header *)(e + 1); /* first: aligned as the entry is */
	p = (char *)(e->hdrs + nh);
	/* each string NUL-terminated, so that a key can be printed or compared as one */
#define COPY(dst, len, src, n)              \
	do {                                \
		memcpy(p, src, n);          \
		p[n] = 0;                   \
		dst = p, len = n, p += n + 1; \
	} while (0)
	COPY(e->key, e->klen, key, klen);
	COPY(e->vary_names, e->vnlen, vary_names, vnlen);
	COPY(e->vary_key, e->vklen, vary_key, vklen);
	COPY(e->head, e->head_len, head, head_len);
#undef COPY
	if (ok) { /* the parse's slices moved into the entry's copy of the head */
#define REBASE(s) ((s).p = (s).p ? e->head + ((s).p - head) : NULL)
		e->head_ok = true;
		e->status = h.status;
		e->version_minor = h.version_minor;
		e->reason = h.reason;
		REBASE(e->reason);
		e->n_hdrs = (unsigned)nh;
		for (size_t i = 0; i < nh; i++) {
			e->hdrs[i] = h.headers[i];
			REBASE(e->hdrs[i].name);
			REBASE(e->hdrs[i].value);
		}
#undef REBASE
	}
	e->refs = 1;
	e->hash = key_hash(st, key, klen);
	e->charge = sizeof(*e) + extra;
	e->meta = *meta;
	return e;
}

int cache_entry_append(struct cache_store *st, struct cache_entry *e, const void *p, size_t n)
{
	struct cache_body *b = e->body;

	if (e->charge + n > st->max_object_bytes) {
		st->stats.too_big++;
		return -EFBIG;
	}
	if (!n) /* nothing: no buffer to offset yet (NULL + 0 is undefined) */
		return 0;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	e->charge += n;
	return 0;
}

static bool same_variant(const struct cache_entry *a, const struct cache_entry *b)
{
	return a->hash == b->hash && a->klen == b->klen && !memcmp(a->key, b->key, a->klen) && a->vklen == b->vklen &&
	       !memcmp(a->vary_key, b->vary_key, a->vklen);
}

/* Twice the buckets once there are more objects than buckets: chains stay short. */
static void grow(struct cache_store *st)
{
	size_t n = st->nbuckets * 2;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct cache_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct cache_entry *e = st->buckets[i], *next; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = n;
}

int cache_store_insert(struct cache_store *st, struct cache_entry *e)
{
	struct cache_entry **bucket;

	if (e->charge > st->max_bytes) {
		st->stats.too_big++;
		cache_entry_put(st, e);
		return -EFBIG;
	}
	for (struct cache_entry *o = st->buckets[e->hash & (st->nbuckets - 1)], *next; o; o = next) {
		next = o->hnext;
		if (same_variant(o, e)) {
			unlink_entry(st, o);
			st->stats.replaced++;
		}
	}
	while (st->stats.bytes + e->charge > st->max_bytes && st->lru_tail) {
		unlink_entry(st, st->lru_tail);
		st->stats.evictions++;
	}
	if (st->stats.objects + 1 > st->nbuckets)
		grow(st);
	bucket = &st->buckets[e->hash & (st->nbuckets - 1)];
	e->hnext = *bucket;
	*bucket = e;
	e->prev = NULL;
	e->next = st->lru_head;
	if (st->lru_head)
		st->lru_head->prev = e;
	else
		st->lru_tail = e;
	st->lru_head = e;
	e->linked = true;
	st->stats.bytes += e->charge;
	st->stats.objects++;
	st->stats.stores++;
	if (st->on_insert)
		st->on_insert(st, e);
	return 0;
}

int cache_entry_head(const struct cache_entry *e, struct hmsg *h)
{
	if (!e->head_ok)
		return -EBADMSG;
	h->method = h->target = h->scheme = h->authority = (struct h1_slice){ 0 };
	h->status = e->status;
	h->reason = e->reason;
	h->version_minor = e->version_minor;
	h->h2 = false;
	h->body = HMSG_BODY_UNSET;
	h->length = 0;
	memcpy(h->headers, e->hdrs, e->n_hdrs * sizeof(*e->hdrs));
	h->n_headers = e->n_hdrs;
	return 0;
}

bool cache_store_newer(struct cache_store *st, const struct cache_entry *e)
{
	for (const struct cache_entry *o = st->buckets[e->hash & (st->nbuckets - 1)]; o; o = o->hnext)
		if (o != e && same_variant(o, e) && o->meta.t.response_time > e->meta.t.response_time)
			return true;
	return false;
}

static void to_front(struct cache_store *st, struct cache_entry *e)
{
	if (e == st->lru_head)
		return;
	e->prev->next = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		st->lru_tail = e->prev;
	e->prev = NULL;
	e->next = st->lru_head;
	st->lru_head->prev = e;
	st->lru_head = e;
}

void cache_store_touch(struct cache_store *st, struct cache_entry *e)
{
	if (e->linked)
		to_front(st, e);
}

struct cache_entry *cache_store_get(struct cache_store *st, const char *key, size_t klen, const struct hmsg *req)
{
	uint64_t h = key_hash(st, key, klen);
	struct cache_entry *best = NULL;
	char vk[CACHE_KEY_MAX];

	for (struct cache_entry *e = st->buckets[h & (st->nbuckets - 1)]; e; e = e->hnext) {
		int n;

		if (e->hash != h || e->klen != klen || memcmp(e->key, key, klen))
			continue;
		n = cache_vary_key(e->vary_names, e->vnlen, req, vk, sizeof(vk));
		if (n < 0 || (size_t)n != e->vklen || memcmp(vk, e->vary_key, e->vklen))
			continue;
		if (!best || e->meta.t.response_time > best->meta.t.response_time)
			best = e;
	}
	if (!best)
		return NULL;
	to_front(st, best);
	if (st->below && best->disk) /* the file's recency follows the hits */
		cache_store_touch(st->below, best->disk);
	best->refs++;
	return best;
}

int cache_store_refresh(struct cache_store *st, struct cache_entry *e, const char *head, size_t head_len,
			const struct cache_meta *meta, struct cache_entry **fresh)
{
	int err;

	struct cache_entry *n = cache_entry_new(st, e->key, e->klen, e->vary_names, e->vnlen, e->vary_key, e->vklen,
						head, head_len, meta);

	if (!n)
		return -errno;
	if (n->charge + e->body->len > st->max_object_bytes) {
		st->stats.too_big++;
		cache_entry_put(st, n);
		return -EFBIG;
	}
	body_put(n->body);
	n->body = e->body;
	n->body->refs++;
	n->charge += n->body->len;
	n->refs++; /* kept across the insert, which may free an entry larger than the store */
	err = cache_store_insert(st, n);
	if (!err && fresh)
		*fresh = n;
	else
		cache_entry_put(st, n);
	return err;
}

/* An object in both tiers counts once: the larger of the two counts. */
static int tiers(int n, int below)
{
	return below > n ? below : n;
}

int cache_store_purge(struct cache_store *st, const char *key, size_t klen)
{
	uint64_t h = key_hash(st, key, klen);
	int n = 0;

	st->purge_runs++;
	for (struct cache_entry *e = st->buckets[h & (st->nbuckets - 1)], *next; e; e = next) {
		next = e->hnext;
		if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen)) {
			e->purged = true;
			unlink_entry(st, e);
			n++;
		}
	}
	st->stats.purged += (uint64_t)n;
	return st->below ? tiers(n, cache_store_purge(st->below, key, klen)) : n;
}

int cache_store_purge_if(struct cache_store *st, bool (*match)(const char *key, size_t klen, void *arg), void *arg)
{
	int n = 0;

	st->purge_runs++;
	for (struct cache_entry *e = st->lru_head, *next; e; e = next) {
		next = e->next;
		if (match(e->key, e->klen, arg)) {
			e->purged = true;
			unlink_entry(st, e);
			n++;
		}
	}
	st->stats.purged += (uint64_t)n;
	return st->below ? tiers(n, cache_store_purge_if(st->below, match, arg)) : n;
}

/* ---- Range ---- */

/* digits at *p (at most 18, which no length reaches), -1 when there are none */
static int64_t digits(const char **p, const char *end)
{
	int64_t v = 0;
	const char *s = *p;

	while (*p < end && **p >= '0' && **p <= '9' && *p - s < 18)
		v = v * 10 + (*(*p)++ - '0');
	return *p == s || (*p < end && **p >= '0' && **p <= '9') ? -1 : v;
}

int cache_range(const struct hmsg *req, int64_t length, int64_t *first, int64_t *last)
{
	const struct h1_header *h = h1_find(req->headers, req->n_headers, "range");
	const char *p, *end;
	int64_t a = -1, b = -1;

	if (!h || h1_find_after(req->headers, req->n_headers, h, "range") || length <= 0)
		return 0;
	p = h->value.p;
	end = p + h->value.len;
	if (end - p < 6 || strncasecmp(p, "bytes=", 6))
		return 0;
	p += 6;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p != '-' && (a = digits(&p, end)) < 0)
		return 0;
	if (p == end || *p++ != '-')
		return 0;
	if (p < end && *p >= '0' && *p <= '9' && (b = digits(&p, end)) < 0)
		return 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end || (a < 0 && b < 0) || (a >= 0 && b >= 0 && b < a))
		return 0; /* several ranges (a comma), or not a range: the whole body */
	if (a < 0) { /* the last b bytes */
		if (!b)
			return -ERANGE;
		*first = b >= length ? 0 : length - b;
		*last = length - 1;
		return 1;
	}
	if (a >= length)
		return -ERANGE;
	*first = a;
	*last = b < 0 || b >= length ? length - 1 : b;
	return 1;
}
