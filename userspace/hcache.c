/* hcache.c: the http action's HTTP cache glue (section `cache`): looks a request up in
 * the store (cache_store.c) and answers it from there when the rules (cache_policy.c)
 * say the stored response may be used, copies a storable response into a new entry as
 * it passes, and removes what an unsafe request invalidates. The rules take the time as
 * seconds of the wall clock, which HTTP dates are in. A stored response that must be
 * validated goes upstream with its validators (If-None-Match, If-Modified-Since): a 304
 * refreshes it and it answers; an error (5xx, or no answer) lets it answer within a
 * stale-if-error window; anything else replaces it. A storable response of known length
 * is stored as it arrives by a filler of its own (store-and-forward, hfill.c); clients,
 * its own and later ones asking the same (collapsed forwarding), follow it. Within a
 * stale-while-revalidate window the stale response answers at once and is revalidated
 * once in the background (hfill_revalidate); a HEAD's 200 freshens the stored GET
 * response it validated (RFC 9111 4.3.5). An http route's cache settings (its cache:,
 * the cache section's by default) turn it on or off and set the rules' settings and
 * object limit per request; the store is one, made at start or by the first request of
 * a route that turns the cache on. Purge by URL
 * (hcache_purge: the admin's POST /cache/purge, `hermesctl cache purge`). A Range is served from a whole stored 200 as a 206 (one range; others
 * get the whole 200, and so does a Range whose If-Range names another validator); a
 * client's If-None-Match / If-Modified-Since that hold for a usable stored response get
 * a 304 from it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "cache_key.h"
#include "cache_policy.h"
#include "cache_store.h"
#include "cache_text.h"
#include "hcache-int.h"
#include "h2x.h"
#include "exch.h"
#include "hcache.h"
#include "hdisk.h"
#include "hmsg.h"
#include "hreq.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "overload.h"

/* The rules as a shared cache; heuristic freshness as RFC 9111 4.2.2 suggests (10% of
 * the time since Last-Modified), at most a day, unless the route says otherwise. */
static const struct cache_conf hcache_conf = { .shared = true, .heuristic_percent = 10, .heuristic_max_s = 86400 };

/* v in decimal into b (room for 20 digits); returns the digits' count. The served head's
 * numbers, on every hit: cheaper than snprintf. */
static size_t dec(char *b, uint64_t v)
{
	char t[20];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		b[i] = t[n - 1 - i];
	return n;
}

/* The rules' settings and the object limit for x: its route's cache settings, else the
 * cache section's. */
static void route_conf(const struct hconn *x, const struct cache_store *st, struct hcache_req *c)
{
	const struct cfg_route_cache *rc = x->r ? &x->r->cache : NULL;

	c->cf = hcache_conf;
	c->max_object = st->max_object_bytes;
	if (!rc)
		return;
	if (!rc->heuristic)
		c->cf.heuristic_percent = 0;
	else
		c->cf.default_ttl_s = rc->default_ttl_s;
	c->cf.no_set_cookie = !rc->store_set_cookie;
	if (((uint64_t)rc->max_object_kb << 10) < c->max_object)
		c->max_object = (uint64_t)rc->max_object_kb << 10;
}

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

/* The store's counts as metrics (gauges, and its own events). */
void hcache_sync(struct loop *lp)
{
	const struct cache_stats *s = &lp->http->cache->stats;

	lp->st.http_cache_stores = s->stores;
	lp->st.http_cache_evictions = s->evictions;
	lp->st.http_cache_bytes = s->bytes;
	lp->st.http_cache_objects = s->objects;
	lp->st.overload_cache_bytes = s->bytes + lp->st.overload_cache_fill_bytes;
}

/* The store, made at start (cache.enabled) or when the first request of a route that
 * turns the cache on comes. */
static int store_make(struct loop *lp)
{
	const struct cfg_cache *c = &lp->cfg->cache;
	struct cache_store *st = calloc(1, sizeof(*st));

	if (!st || cache_store_init(st, (uint64_t)c->max_size_mb << 20, (uint64_t)c->max_object_kb << 10)) {
		free(st);
		return -ENOMEM;
	}
	lp->http->cache = st;
	return hdisk_init(lp, st);
}

int hcache_init(struct loop *lp)
{
	return lp->cfg->cache.enabled ? store_make(lp) : 0;
}

void hcache_fini(struct loop *lp)
{
	if (!lp->http->cache)
		return;
	hdisk_fini(lp);
	cache_store_free(lp->http->cache);
	free(lp->http->cache);
	lp->http->cache = NULL;
}

void hcache_release(struct hconn *x)
{
	struct hcache_req *c = x->cache;

	if (!c)
		return;
	if (c->follow)
		list_del(&c->rlink);
	if (c->bg)
		list_del(&c->blink);
	if (c->own)
		hfill_end(x->loop, c->own);
	cache_entry_put(c->st, c->hit);
	cache_entry_put(c->st, c->fill);
	cache_entry_put(c->st, c->stale);
	free(c);
	x->cache = NULL;
}

/* The stored head of e parsed (slices into e): parsed once, when e was made. 0 or
 * -EBADMSG. */
int hcache_stored_head(const struct cache_entry *e, struct hmsg *h)
{
	return cache_entry_head(e, h);
}

/* The slice of a 200's body of len bytes the request's Range asks for: true with
 * [*first, *last], false for the whole body (no Range, one not satisfiable or several:
 * RFC 9110 14.2 lets a server ignore it). */
static bool hcache_slice(const struct hconn *x, const struct hmsg *sh, size_t len, int64_t *first, int64_t *last)
{
	struct hmsg r = { .n_headers = 1 };

	const char *ir = x->cache->if_range;
	const struct h1_header *v;

	if (!x->cache->range[0] || x->is_head || sh->status != 200)
		return false;
	/* If-Range (RFC 9110 13.1.5): the Range holds only for the validator it names */
	if (ir[0] && (!(v = hfill_if_range(sh)) || v->value.len != strlen(ir) || memcmp(v->value.p, ir, v->value.len)))
		return false;
	r.headers[0] = (struct h1_header){ .name = { "Range", 5 },
					   .value = { x->cache->range, strlen(x->cache->range) } };
	return cache_range(&r, (int64_t)len, first, last) == 1;
}

/* The Cache-Control of e's stored head sh, parsed once and kept in e (a head never
 * changes: a 304 refreshes into a new entry). */
static void stored_cc(struct cache_entry *e, const struct hmsg *sh, struct cache_cc *cc)
{
	if (!e->cc_ok) {
		cache_cc_head(sh, false, &e->cc);
		e->cc_ok = true;
	}
	*cc = e->cc;
}

/* The fields a hit of e serves (cache_served_fields of its head sh) as HTTP/1.1 lines,
 * made once and kept in e (and counted in the store's bytes): each hit then copies one
 * block. False when out of memory (the caller writes them field by field). */
static bool h1_fields(struct cache_store *st, struct cache_entry *e, const struct hmsg *sh)
{
	struct hmsg out;
	size_t n = 0;
	char *p;

	if (e->h1_fields)
		return true;
	cache_served_fields(sh, &out);
	for (unsigned i = 0; i < out.n_headers; i++)
		n += out.headers[i].name.len + out.headers[i].value.len + 4;
	if (!(p = malloc(n + 1)))
		return false;
	e->h1_fields = p;
	e->h1_fields_len = n;
	cache_store_charge(st, e, n + 1);
	for (unsigned i = 0; i < out.n_headers; i++) {
		const struct h1_header *h = &out.headers[i];

		memcpy(p, h->name.p, h->name.len);
		p += h->name.len;
		memcpy(p, ": ", 2);
		memcpy(p + 2, h->value.p, h->value.len);
		p += 2 + h->value.len;
		memcpy(p, "\r\n", 2);
		p += 2;
	}
	return true;
}

/* Answer x from e (stored head sh) with Age, or the slice its Range asks for as a 206;
 * false when the head would not fit now. */
static bool hcache_serve(struct loop *lp, struct hconn *x, struct cache_entry *e, const struct hmsg *sh, int64_t age)
{
	/* an entry being filled: its whole length, the bytes come as they arrive */
	size_t whole = x->cache->follow ? x->cache->follow->total : e->body->len;
	size_t len = whole, need = e->head_len + e->n_hdrs + 256;
	int64_t first = 0, last = (int64_t)len - 1;
	bool slice = !x->cache->not_modified && hcache_slice(x, sh, len, &first, &last);
	int status = x->cache->not_modified ? 304 : slice ? 206 : sh->status;
	struct hmsg out;
	struct hmsg_w w;
	char num[80];
	int n;

	if (need > http_conn_room(x))
		return false;
	x->status = status;
	x->no_body = x->is_head || status == 204 || status == 304;
	x->req_done = x->buffered = true;
	if (slice) {
		len = (size_t)(last - first + 1);
		http_head_begin(x, &w, 206, (struct h1_slice){ "Partial Content", 15 });
		n = snprintf(num, sizeof(num), "bytes %lld-%lld/%zu", (long long)first, (long long)last, whole);
		http_head_field(x, &w, "Content-Range", 13, num, (size_t)n);
	} else if (status == 304) {
		http_head_begin(x, &w, 304, (struct h1_slice){ "Not Modified", 12 });
	} else {
		http_head_begin(x, &w, sh->status, sh->reason);
	}
	if (!w.b && h1_fields(x->cache->st, e, sh)) {
		http_conn_out(x, e->h1_fields, e->h1_fields_len);
	} else {
		cache_served_fields(sh, &out);
		for (unsigned i = 0; i < out.n_headers; i++)
			http_head_field(x, &w, out.headers[i].name.p, out.headers[i].name.len, out.headers[i].value.p,
					out.headers[i].value.len);
	}
	if (status != 204 && status != 304)
		http_head_field(x, &w, "Content-Length", 14, num, dec(num, len));
	http_head_field(x, &w, "Age", 3, num, dec(num, (uint64_t)cache_age_value(age)));
	http_head_hermes(lp, x, &w);
	http_head_end(lp, x, &w, H2X_CL, x->no_body ? 0 : (long long)len, x->no_body || !len);
	http_count_status(lp, x, status);
	x->cache->hit = e;
	x->cache->sent = (size_t)first;
	x->cache->end = (size_t)first + len;
	x->resp_done = x->no_body || !len;
	x->state = HC_RESP;
	log_debug("http conn %llu: %s %s -> %d from the cache (age %llds)", (unsigned long long)x->id, x->method,
		  x->path, status, (long long)age);
	return true;
}

/* x answered from e as cache_use said (u): fresh or stale-if-error served and counted,
 * or, with swr (the request may go as it is: no conditionals of its own, no Range, no
 * fill to follow), within stale-while-revalidate served now and revalidated in the
 * background. false: not answered from the store (u says otherwise, or no room now). */
static bool hcache_answer(struct loop *lp, struct hconn *x, struct cache_entry *e, const struct hmsg *sh, int64_t age,
			  enum cache_use u, bool swr)
{
	struct cache_store *st = x->cache->st;

	if (u == CACHE_USE_SWR && swr && hcache_serve(lp, x, e, sh, age)) {
		lp->st.http_cache_hits++;
		lp->st.http_cache_swr_served++;
		st->stats.hits++;
		st->stats.stale_served++;
		hfill_revalidate(lp, x, e, sh);
		return true;
	}
	if ((u != CACHE_USE_FRESH && u != CACHE_USE_STALE) || !hcache_serve(lp, x, e, sh, age))
		return false;
	lp->st.http_cache_hits++;
	st->stats.hits++;
	if (u == CACHE_USE_STALE)
		st->stats.stale_served++;
	return true;
}

/* x->out's end mark is its last two bytes, "\r\n" or the empty record. */
int hcache_add_validators(struct hconn *x, const struct hmsg *stored)
{
	struct h1_header v[2];
	unsigned n = cache_conditional(stored, v, 2);
	struct hmsg_w w = { .b = &x->out, .rec = x->proto == HPROTO_H2C || x->proto == HPROTO_H2 };

	if (!n || x->out.len < 2)
		return -EINVAL;
	x->out.len -= 2;
	for (unsigned i = 0; i < n; i++)
		hmsg_w_field(&w, v[i].name.p, v[i].name.len, v[i].value.p, v[i].value.len);
	return hmsg_w_end(&w);
}

/* Where the request goes, written before its URI in the store's key: a Host field names
 * the origin only as far as the route or the original destination agree with it, so a
 * client that sends "Host: a.example" to another address cannot store responses that
 * others asking a.example would get (poisoning through a transparent proxy). */
static int origin_tag(const struct hconn *x, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	char a[ADDR_STRLEN];

	char t[ADDR_STRLEN + 8];
	size_t n = 0, l;

	/* the text snprintf would make ("route NAME ", "dst A.B.C.D:PORT "), on every lookup
	 * without it: the keys, also those on disk, stay the same */
	if (x->r) {
		l = strlen(x->r->name);
		if (6 + l + 1 >= cap)
			return (int)(6 + l + 1);
		memcpy(out, "route ", 6);
		memcpy(out + 6, x->r->name, l);
		out[6 + l] = ' ';
		out[7 + l] = 0;
		return (int)(7 + l);
	}
	if (x->dst.family == HERMES_FAMILY_V4) {
		memcpy(t, "dst ", 4);
		n = 4;
		for (int i = 0; i < 4; i++) {
			n += dec(t + n, x->dst.addr[i]);
			t[n++] = i < 3 ? '.' : ':';
		}
		n += dec(t + n, ntohs(x->dst.port));
		t[n++] = ' ';
		if (n >= cap)
			return (int)n;
		memcpy(out, t, n);
		out[n] = 0;
		return (int)n;
	}
	addr_from_hermes(&x->dst, &ss);
	return snprintf(out, cap, "dst %s ", addr_fmt((struct sockaddr *)&ss, a, sizeof(a)));
}

/* A key (an origin tag, then the URI) whose URI is arg's: the URI is the key's last
 * word, as a URI key holds no space, so every route and destination matches. */
struct purge_uri {
	const char *p;
	size_t len;
};

static bool purge_match(const char *key, size_t klen, void *arg)
{
	const struct purge_uri *u = arg;

	return klen > u->len && key[klen - u->len - 1] == ' ' && !memcmp(key + klen - u->len, u->p, u->len);
}

int hcache_purge(struct loop *lp, const char *url, size_t len)
{
	struct cache_store *st = lp->http ? lp->http->cache : NULL;
	char key[CACHE_KEY_MAX];
	struct purge_uri u = { .p = key };
	struct hcache_fill *fl, *t;
	int kl, n;

	if (!st)
		return -ENODEV;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return -EINVAL;
	kl = cache_key_uri((struct h1_slice){ .p = url, .len = len }, key, sizeof(key));
	if (kl < 0)
		return kl;
	u.len = (size_t)kl;
	n = cache_store_purge_if(st, purge_match, &u);
	/* a response still being stored: its readers go on, but no new request follows it
	 * and it is not stored when it ends (hfill_pump) */
	list_for_each_safe(fl, t, &lp->http->fills, link) {
		if (!fl->purged && purge_match(fl->e->key, fl->e->klen, &u)) {
			fl->purged = true;
			list_del(&fl->link);
			n++;
		}
	}
	lp->st.http_cache_purged += (uint64_t)n;
	hcache_sync(lp);
	return n;
}

/* ---- the disk tier's reads (hdisk.c) ---- */

/* A disk read that takes longer than this: the request goes upstream instead. */
#define HCACHE_DISK_WAIT_MS 2000

/* x waits, in HC_BACKOFF, for fl: a stored response being read from disk (a fill
 * without a filler). Decided by hcache_loaded once fl is whole, as a lookup decides;
 * sent upstream if the read takes longer than HCACHE_DISK_WAIT_MS (its backoff ends:
 * hcache_attempt lets go of fl). What the lookup needs of req is kept now. */
static bool hcache_park(struct loop *lp, struct hconn *x, struct hcache_fill *fl, const struct hmsg *req, bool cond)
{
	struct hcache_req *c = x->cache;
	struct hmsg sh;

	c->cond = cond;
	c->not_modified = cond && !hcache_stored_head(fl->e, &sh) && cache_not_modified(req, &sh);
	c->follow = fl;
	list_add(&fl->readers, &c->rlink);
	x->req_done = x->buffered = true; /* as hreq.c would before the first attempt */
	x->req_left = -1;
	x->backoff_until_ms = lp->now_ms + HCACHE_DISK_WAIT_MS;
	x->state = HC_BACKOFF;
	log_debug("http conn %llu: %s %s: waits for the stored response's read from disk", (unsigned long long)x->id,
		  x->method, x->path);
	return true;
}

void hcache_loaded(struct loop *lp, struct hconn *x, struct cache_entry *e)
{
	struct hcache_req *c = x->cache;
	struct cache_store *st = c->st;
	struct cache_cc cc;
	struct hmsg sh;

	if (x->state != HC_BACKOFF)
		return;
	http_hold(x);
	if (e && !hcache_stored_head(e, &sh)) {
		int64_t age = cache_current_age(e->meta.initial_age, &e->meta.t, wall_s());
		enum cache_use u;

		stored_cc(e, &sh, &cc);
		u = cache_use(&c->cf, &c->rcc, &cc, e->meta.lifetime, age);
		if (hcache_answer(lp, x, e, &sh, age, u, !c->cond && !c->range[0])) {
			cache_entry_get(e); /* c->hit's */
			goto out;
		}
		c->not_modified = false;
		if (u == CACHE_USE_VALIDATE || u == CACHE_USE_SWR) {
			c->validators = !c->cond && !hcache_add_validators(x, &sh);
			cache_entry_get(e);
			c->stale = e;
		}
	}
	lp->st.http_cache_misses++;
	st->stats.misses++;
	if (c->rcc.flags & CACHE_CC_ONLY_IF_CACHED)
		http_reply(lp, x, 504, "only-if-cached and no stored response may be used", false);
	else
		exch_attempt(lp, x);
out:
	http_stream_progress(lp, x);
	http_unhold(lp, x);
}

bool hcache_lookup(struct loop *lp, struct hconn *x, const struct hmsg *req, struct hreq_out *o)
{
	struct cache_store *st = lp->http->cache;
	char key[CACHE_KEY_MAX];
	struct cache_entry *e;
	struct cache_cc rcc, cc;
	struct hmsg sh;
	struct hcache_fill *fl;
	bool get, unsafe, cond;
	int64_t now;
	int kl, tl;

	/* the cache is off (for the route, or no route and no cache section): no work on
	 * the request's path */
	if (x->r ? !x->r->cache.enabled : !lp->cfg->cache.enabled)
		return false;
	if (!st && (store_make(lp) || !(st = lp->http->cache)))
		return false;
	get = cache_lookup_ok(req);
	unsafe = cache_method_unsafe(req->method);
	if (!get && !unsafe)
		return false;
	now = wall_s();
	tl = origin_tag(x, key, sizeof(key));
	kl = tl < 0 || (size_t)tl >= sizeof(key) ? -1 : cache_key(req, x->fwd_tls, key + tl, sizeof(key) - (size_t)tl);
	if (kl < 0)
		return false;
	kl += tl;
	x->cache = calloc(1, sizeof(*x->cache) + (size_t)kl + 1);
	if (!x->cache)
		return false;
	*x->cache = (struct hcache_req){ .st = st, .x = x, .req_time = now, .get = get, .unsafe = unsafe, .klen = (size_t)kl,
					 .tlen = (size_t)tl };
	memcpy(x->cache->key, key, (size_t)kl + 1);
	route_conf(x, st, x->cache);
	if (!get || x->has_body)
		return false;
	cond = h1_find(req->headers, req->n_headers, "if-none-match") ||
	       h1_find(req->headers, req->n_headers, "if-modified-since");
	/* a Range is served from a whole stored 200 (hcache_slice); a long one goes upstream */
	{
		const struct h1_header *r = h1_find(req->headers, req->n_headers, "range");
		const struct h1_header *ir = h1_find(req->headers, req->n_headers, "if-range");

		if ((r && r->value.len >= sizeof(x->cache->range)) || (ir && ir->value.len >= sizeof(x->cache->if_range)))
			return false;
		if (r)
			memcpy(x->cache->range, r->value.p, r->value.len);
		if (r && ir)
			memcpy(x->cache->if_range, ir->value.p, ir->value.len);
	}
	cache_cc_head(req, true, &rcc);
	x->cache->rcc = rcc;
	x->cache->rcc.no_cache_fields = x->cache->rcc.private_fields = (struct h1_slice){ 0 }; /* into req */
	e = cache_store_get(st, key, (size_t)kl, req);
	fl = e ? NULL : hfill_find(lp, key, (size_t)kl, req);
	if (!e && !fl) /* the disk tier's copy, read into memory */
		fl = hdisk_find(lp, key, (size_t)kl, req);
	if (fl && !fl->filler) /* being read from disk: the request waits for it whole */
		return !hreq_out(x, o) && hcache_park(lp, x, fl, req, cond);
	if (fl) {
		/* being filled: served as it grows (collapsed forwarding) */
		e = fl->e;
		cache_entry_get(e);
		x->cache->follow = fl;
	}
	if (e && !hcache_stored_head(e, &sh)) {
		int64_t age = cache_current_age(e->meta.initial_age, &e->meta.t, now);
		enum cache_use u;

		stored_cc(e, &sh, &cc);
		u = cache_use(&x->cache->cf, &rcc, &cc, e->meta.lifetime, age);
		x->cache->not_modified = cond && cache_not_modified(req, &sh);
		/* a background revalidation (stale-while-revalidate) starts from x->out */
		if (u == CACHE_USE_SWR && hreq_out(x, o)) {
			x->cache->follow = NULL;
			cache_entry_put(st, e);
			return false;
		}
		/* within stale-while-revalidate, one that cannot go as it is (the client's own
		 * conditionals, a Range) goes to the origin at once */
		if (hcache_answer(lp, x, e, &sh, age, u, !fl && !cond && !x->cache->range[0])) {
			if (fl) {
				list_add(&fl->readers, &x->cache->rlink);
				lp->st.http_cache_collapsed++;
				log_debug("http conn %llu: %s %s: follows the response being stored", (unsigned long long)x->id,
					  x->method, x->path);
			}
			return true;
		}
		x->cache->not_modified = false; /* only for an answer from the store now */
		/* the origin may say it has not changed (304), or fail (stale-if-error):
		 * kept for those answers */
		if (!fl && (u == CACHE_USE_VALIDATE || u == CACHE_USE_SWR)) {
			/* a client's own conditionals go as they are: the origin's 304 is theirs */
			x->cache->validators = !cond && !hreq_out(x, o) && !hcache_add_validators(x, &sh);
			x->cache->stale = e;
			e = NULL;
		}
	}
	x->cache->follow = NULL;
	cache_entry_put(st, e);
	lp->st.http_cache_misses++;
	st->stats.misses++;
	if (rcc.flags & CACHE_CC_ONLY_IF_CACHED) {
		x->req_done = true;
		http_reply(lp, x, 504, "only-if-cached and no stored response may be used", false);
		return true;
	}
	return false;
}

bool hcache_send(struct loop *lp, struct hconn *x)
{
	struct hcache_req *c = x->cache;
	size_t left, room, n, have;

	if (c && c->hand_over && x->up && hfill_start(lp, x)) {
		http_conn_close(lp, x, true);
		return true;
	}
	if (c && c->bg && c->follow) {
		/* a background revalidation whose response goes on being stored by its filler:
		 * nobody to send it to, it ends here */
		list_del(&c->rlink);
		c->follow = NULL;
		x->resp_done = true;
		return true;
	}
	if (c && c->own) {
		hfill_pump(lp, x);
		return true;
	}
	if (!c || !c->hit)
		return false;
	if (!x->resp_done) {
		/* an entry being filled: as far as it has come */
		have = c->follow && c->hit->body->len < c->end ? c->hit->body->len : c->end;
		if (have <= c->sent)
			return true;
		left = have - c->sent;
		/* a whole stored body goes from the entry itself (x holds it until sent: a
		 * purge or replacement meanwhile does not free it); one still growing may
		 * move (its buffer grows), so it is copied */
		if (!c->follow && !c->cut && c->hit->body->len >= c->end &&
		    http_conn_out_entry(x, c->hit, c->hit->body->data + c->sent, left)) {
			c->sent = c->end;
			x->resp_done = true;
			return true;
		}
		room = http_conn_room(x);
		n = left < room ? left : room;
		http_conn_out(x, c->hit->body->data + c->sent, n);
		c->sent += n;
		x->resp_done = c->sent == c->end;
	}
	return true;
}

/* The request as it went upstream (x->out: HTTP/1.1 text, or records for an HTTP/2
 * upstream), for what a response's storing reads of it. */
static int sent_request(const struct hconn *x, struct hmsg *rq)
{
	struct h1_limits lim = { .max_head = x->out.len, .max_line = x->out.len, .max_headers = H1_HEADERS_CAP };
	int n = x->proto == HPROTO_H2C || x->proto == HPROTO_H2 ? hmsg_from_rec(x->out.p, x->out.len, rq)
							       : h1_parse_request(x->out.p, x->out.len, &lim, rq);

	return n > 0 ? 0 : -EBADMSG;
}

/* A non-error response to an unsafe request: its URL's stored responses go, and the
 * Location's and Content-Location's of the same origin (RFC 9111 4.4). */
static void hcache_invalidate(struct loop *lp, struct hconn *x, const struct hmsg *resp)
{
	static char keys[3][CACHE_KEY_MAX], key[CACHE_KEY_MAX + 256];
	struct hcache_req *c = x->cache;
	struct hmsg rq = { .method = { x->method, strlen(x->method) } };
	int n = cache_invalidated(&rq, resp, c->key + c->tlen, keys, 3);

	for (int i = 0; i < n; i++) {
		int kl = snprintf(key, sizeof(key), "%.*s%s", (int)c->tlen, c->key, keys[i]);
		int k = kl > 0 && (size_t)kl < sizeof(key) ? cache_store_purge(c->st, key, (size_t)kl) : 0;

		lp->st.http_cache_invalidations += (uint64_t)k;
	}
	hcache_sync(lp);
}

/* c->stale freshened by resp, a 304 or a HEAD's 200 that selects it (RFC 9111 4.3.4,
 * 4.3.5): its fields updated by resp's (not Content-Length), its freshness from now; the
 * new entry replaces it in the store, *fresh the caller's reference. 0, -ESRCH (resp
 * selects nothing), -EBADMSG, -ENOMEM or -EFBIG. */
static int freshen(struct hcache_req *c, const struct hmsg *resp, struct cache_entry **fresh, struct cache_meta *m)
{
	struct hmsg sh, merged, r = *resp;
	struct hbuf head = { 0 };
	struct cache_cc cc;
	int err;

	if (hcache_stored_head(c->stale, &sh))
		return -EBADMSG;
	/* a 304 to the conditional request made from this one stored response's
	 * validators answers about it, whatever validators it carries (as nginx takes it;
	 * RFC 9110 15.4.5 wants them repeated, which not every origin does): the stored
	 * ones stay. The strict selection of RFC 9111 4.3.4 is for the 304s to clients'
	 * own conditionals and HEADs. */
	if (!cache_304_selects(&sh, resp)) {
		if (!c->validators || resp->status != 304)
			return -ESRCH;
		r.n_headers = 0;
		for (unsigned i = 0; i < resp->n_headers; i++)
			if (!h1_slice_caseeq(resp->headers[i].name, "etag") &&
			    !h1_slice_caseeq(resp->headers[i].name, "last-modified"))
				r.headers[r.n_headers++] = resp->headers[i];
	}
	if (cache_merge_304(&sh, &r, &merged))
		return -EBADMSG;
	cache_cc_head(&merged, false, &cc);
	m->t = (struct cache_times){ .request_time = c->req_time, .response_time = wall_s() };
	m->initial_age = cache_initial_age(resp, &m->t);
	m->lifetime = cache_lifetime(&c->cf, &merged, &cc, &m->t);
	err = cache_stored_text(&merged, &cc, m->t.response_time, &head);
	if (!err)
		err = cache_store_refresh(c->st, c->stale, head.p, head.len, m, fresh);
	buf_free(head.p, head.cap);
	return err;
}

/* A response passed on to the client freshens the stored response the request had to
 * validate, when its validators select it (RFC 9111 4.3.4, 4.3.5): a 304 answering the
 * client's own conditionals, or a HEAD's 200. A HEAD's 200 of another length removes it
 * (it changed); anything else leaves it as it is. */
static void freshen_passing(struct loop *lp, struct hconn *x, const struct hmsg *resp)
{
	struct hcache_req *c = x->cache;
	const struct h1_header *cl = h1_find(resp->headers, resp->n_headers, "content-length");
	struct cache_entry *fresh = NULL;
	struct cache_meta m;
	char len[24];
	int n = snprintf(len, sizeof(len), "%zu", c->stale->body->len);

	if (resp->status == 200 && cl && (cl->value.len != (size_t)n || memcmp(cl->value.p, len, (size_t)n))) {
		lp->st.http_cache_invalidations += (uint64_t)cache_store_purge(c->st, c->key, c->klen);
		hcache_sync(lp);
		return;
	}
	if (freshen(c, resp, &fresh, &m))
		return;
	cache_entry_put(c->st, fresh);
	c->st->stats.revalidations++;
	lp->st.http_cache_revalidations++;
	hcache_sync(lp);
}

void hcache_resp_head(struct loop *lp, struct hconn *x, const struct hmsg *resp)
{
	struct hcache_req *c = x->cache;
	struct cache_cc rcc, cc;
	struct cache_meta m;
	struct hmsg rq;
	struct hbuf head = { 0 };
	char names[1024], vkey[4096];
	int nl, vl;

	if (!c)
		return;
	if (c->own) {
		hfill_resumed(lp, x, resp);
		return;
	}
	if (c->unsafe) {
		hcache_invalidate(lp, x, resp);
		return;
	}
	if (x->is_head && c->stale && resp->status == 200) {
		freshen_passing(lp, x, resp);
		return;
	}
	if (!c->get || x->is_head || sent_request(x, &rq))
		return;
	/* a transfer coding passed on undecoded: its bytes mean nothing without the field,
	 * which a store does not keep (RFC 9111 3.1) */
	if (!x->resp_chunked && h1_find(resp->headers, resp->n_headers, "transfer-encoding"))
		return;
	cache_cc_head(&rq, true, &rcc);
	cache_cc_head(resp, false, &cc);
	if (cache_storable(&c->cf, &rq, &rcc, resp, &cc) != CACHE_STORE_OK)
		return;
	m.t = (struct cache_times){ .request_time = c->req_time, .response_time = wall_s() };
	m.initial_age = cache_initial_age(resp, &m.t);
	m.lifetime = cache_lifetime(&c->cf, resp, &cc, &m.t);
	/* stale on arrival and nothing to revalidate it with: it could never be used */
	if (m.lifetime <= m.initial_age && !cache_conditional(resp, (struct h1_header[2]){ 0 }, 2))
		return;
	/* too large for the route: passed on */
	if (!x->no_body && !x->resp_chunked && !x->until_close && !x->resp_stream && x->resp_left > 0 &&
	    (uint64_t)x->resp_left > c->max_object) {
		c->st->stats.too_big++;
		return;
	}
	/* over the memory budget's first stage: the cache's fills go first, before any
	 * request is refused */
	if (overload_shed(lp, OVL_STOP_READING, OVL_ACT_CACHE_FILL))
		return;
	nl = cache_vary_names(resp, names, sizeof(names));
	vl = nl < 0 ? nl : cache_vary_key(names, (size_t)nl, &rq, vkey, sizeof(vkey));
	if (vl < 0 || cache_stored_text(resp, &cc, m.t.response_time, &head)) {
		buf_free(head.p, head.cap);
		return;
	}
	c->fill = cache_entry_new(c->st, c->key, c->klen, names, (size_t)nl, vkey, (size_t)vl, head.p, head.len, &m);
	buf_free(head.p, head.cap);
	/* of a known length that fits: stored at the upstream's pace, apart from the client */
	c->hand_over = c->fill && !x->no_body && !x->resp_chunked && !x->until_close && !x->resp_stream &&
		       x->resp_left > 0 && c->fill->head_len + (uint64_t)x->resp_left <= c->max_object;
}

int hcache_revalidated(struct loop *lp, struct hconn *x, const struct hmsg *resp)
{
	struct hcache_req *c = x->cache;
	struct cache_entry *fresh = NULL;
	struct hmsg nh;
	struct cache_meta m;
	int err;

	if (!c || !c->stale || resp->status != 304)
		return 0;
	if (!c->validators) {
		/* the client's own conditionals: the 304 is theirs, and freshens what it selects */
		freshen_passing(lp, x, resp);
		return 0;
	}
	err = freshen(c, resp, &fresh, &m); /* a 304 to the validators we sent selects */
	if (!err && hcache_stored_head(fresh, &nh))
		err = -EBADMSG;
	if (!err && c->bg) {
		/* a background revalidation: refreshed, nobody to answer */
		x->status = 304;
		x->no_body = x->req_done = x->resp_done = true;
		cache_entry_put(c->st, fresh);
		fresh = NULL;
	} else if (!err && !hcache_serve(lp, x, fresh, &nh, cache_current_age(m.initial_age, &m.t, m.t.response_time))) {
		err = -EMSGSIZE;
	}
	if (err) {
		cache_entry_put(c->st, fresh);
		return err;
	}
	cache_entry_put(c->st, c->stale);
	c->stale = NULL;
	c->st->stats.revalidations++;
	lp->st.http_cache_revalidations++;
	hcache_sync(lp);
	return 1;
}

bool hcache_stale_on_error(struct loop *lp, struct hconn *x, int status)
{
	struct hcache_req *c = x->cache;
	struct cache_entry *e = c ? c->stale : NULL;
	struct cache_cc cc;
	struct hmsg sh;
	int64_t age;

	if (!e || c->bg || hcache_stored_head(e, &sh))
		return false;
	cache_cc_head(&sh, false, &cc);
	age = cache_current_age(e->meta.initial_age, &e->meta.t, wall_s());
	if (!cache_stale_if_error(&c->cf, &c->rcc, &cc, e->meta.lifetime, age, status) ||
	    !hcache_serve(lp, x, e, &sh, age))
		return false;
	c->stale = NULL; /* it is c->hit now */
	c->st->stats.stale_served++;
	lp->st.http_cache_stale_if_error++;
	log_info("http conn %llu: %s %s: the origin %s: answered from the cache, stale by %llds (stale-if-error)",
		 (unsigned long long)x->id, x->method, x->path, status ? "answered 5xx" : "failed",
		 (long long)(age - e->meta.lifetime));
	return true;
}

void hcache_resp_body(struct hconn *x, const char *p, size_t n)
{
	struct hcache_req *c = x->cache;

	if (!c || !c->fill || !n)
		return;
	if (c->fill->head_len + c->fill->body->len + n > c->max_object) {
		c->st->stats.too_big++; /* the route's limit, below the store's */
		cache_entry_put(c->st, c->fill);
		c->fill = NULL;
		return;
	}
	if (cache_entry_append(c->st, c->fill, p, n)) {
		cache_entry_put(c->st, c->fill);
		c->fill = NULL;
	}
}

void hcache_resp_end(struct loop *lp, struct hconn *x)
{
	struct hcache_req *c = x->cache;

	if (!c || !c->fill)
		return;
	(void)cache_store_insert(c->st, c->fill);
	c->fill = NULL;
	hcache_sync(lp);
}
