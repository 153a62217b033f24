/* hfill.c: responses stored as they arrive (store-and-forward, section `cache`). Once a
 * storable response of known length has its head, the upstream side of the exchange
 * moves to a filler (an hconn without a client: fd -1, no HTTP/2 connection) that
 * reads the body into the entry at the upstream's pace; the client, and later requests
 * for the same key (collapsed forwarding), follow the entry as readers. A filler whose
 * upstream stalls (no body bytes for cache.fill_stall_ms) or fails mid-body asks again
 * for the rest with Range and If-Range, as a retry of the route's policy; while a GET
 * the cache may store waits for its head over HTTP/2, a connection silent for that long
 * (a PING unanswered) is cut and the attempt retried (hcache_head_stalled). The bytes
 * of responses being stored are counted in the memory budget (overload.h). Also the
 * background revalidation of stale-while-revalidate (RFC 5861 3): a request of its own
 * without a client, as a filler is, sent with the stored response's validators; its
 * 304 refreshes the entry, a storable 200 goes on to a filler like any miss's (later
 * misses follow it), anything else leaves the entry as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_key.h"
#include "cache_policy.h"
#include "cache_store.h"
#include "exch.h"
#include "hcache.h"
#include "hcache-int.h"
#include "hmsg.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "overload.h"
#include "ring.h"
#include "runtime.h"

/* The bytes of responses being stored, in the memory budget (overload.c reads the
 * gauge): what fl holds now, or 0 once it is stored or fails. */
static void hfill_count(struct loop *lp, struct hcache_fill *fl, size_t now)
{
	lp->st.overload_cache_fill_bytes += (uint64_t)now - (uint64_t)fl->counted; /* wraps back when smaller */
	lp->st.overload_cache_bytes += (uint64_t)now - (uint64_t)fl->counted;
	fl->counted = now;
}

/* The filler is done: its readers go on from what the entry holds when it was stored
 * whole; else they are reset, as when a passing response is cut. */
void hfill_end(struct loop *lp, struct hcache_fill *fl)
{
	struct hcache_req *r, *t;

	hfill_count(lp, fl, 0);
	if (!fl->done) {
		list_del(&fl->link); /* a no-op once purged took it off */
		cache_entry_put(lp->http->cache, fl->e);
	}
	hb_free(&fl->req);
	list_for_each_safe(r, t, &fl->readers, rlink) {
		list_del(&r->rlink);
		r->follow = NULL;
		r->cut = !fl->done;
		if (r->cut && r->x->state != HC_CLOSING) {
			log_info("http conn %llu: %s %s: the response being stored was cut: reset",
				 (unsigned long long)r->x->id, r->x->method, r->x->path);
			http_conn_close(lp, r->x, true);
		}
	}
	free(fl);
}

/* A fill of key whose Vary names give req the secondary key it is stored under. */
struct hcache_fill *hfill_find(struct loop *lp, const char *key, size_t kl, const struct hmsg *req)
{
	struct hcache_fill *fl;
	char vkey[4096];

	list_for_each(fl, &lp->http->fills, link) {
		const struct cache_entry *e = fl->e;
		int vl;

		if (e->klen != kl || memcmp(e->key, key, kl))
			continue;
		vl = cache_vary_key(e->vary_names, e->vnlen, req, vkey, sizeof(vkey));
		if (vl == (int)e->vklen && !memcmp(vkey, e->vary_key, e->vklen))
			return fl;
	}
	return NULL;
}

/* Its readers have bytes to send (or the end). */
static void fill_wake(struct loop *lp, struct hcache_fill *fl)
{
	struct hcache_req *r, *t;

	list_for_each_safe(r, t, &fl->readers, rlink)
		http_stream_progress(lp, r->x);
}

/* The validator an If-Range may carry for e's response (RFC 9110 13.1.5): its ETag when
 * strong, else its Last-Modified when at least a second before its Date. */
const struct h1_header *hfill_if_range(const struct hmsg *sh)
{
	const struct h1_header *v = h1_find(sh->headers, sh->n_headers, "etag");
	const struct h1_header *d = h1_find(sh->headers, sh->n_headers, "date");
	int64_t lm, date;

	if (v && v->value.len > 2 && v->value.p[0] == '"')
		return v;
	if (v)
		return NULL; /* weak: no If-Range may carry it */
	v = h1_find(sh->headers, sh->n_headers, "last-modified");
	if (!v || !d || cache_date_parse(v->value, &lm) || cache_date_parse(d->value, &date) || date - lm < 1)
		return NULL;
	return v;
}

/* f->out: the first request again, asking for the rest with Range and If-Range when the
 * stored head has a validator for it, else the whole response. 0 or -ENOMEM. */
static int fill_request(struct hconn *f, struct hcache_fill *fl)
{
	struct hmsg_w w = { .b = &f->out, .rec = f->proto == HPROTO_H2C || f->proto == HPROTO_H2 };
	const struct h1_header *v = NULL;
	size_t have = fl->e->body->len;
	struct hmsg sh;
	char range[48];
	int n;

	f->out.len = 0;
	if (fl->req.len < 2 || hb_put(&f->out, fl->req.p, fl->req.len - 2))
		return -ENOMEM;
	if (have && !hcache_stored_head(fl->e, &sh))
		v = hfill_if_range(&sh);
	fl->from = v ? have : 0;
	if (v) {
		n = snprintf(range, sizeof(range), "bytes=%zu-", have);
		hmsg_w_field(&w, "Range", 5, range, (size_t)n);
		hmsg_w_field(&w, "If-Range", 8, v->value.p, v->value.len);
	}
	return hmsg_w_end(&w);
}

/* The filler's upstream stalled or failed mid-body: asked again for the rest, as a
 * retry of the route's policy. An attempt that brought bytes resets the count of
 * retries (a fill moving on in short windows is not failing). False: no retry left. */
static bool fill_resume(struct loop *lp, struct hconn *f, int why, const char *what)
{
	struct hcache_fill *fl = f->cache->own;
	char w[192];

	if (fl->done || fl->bad)
		return false;
	if (fl->e->body->len > fl->got_at_try)
		f->retries = 0;
	fl->got_at_try = fl->e->body->len;
	if (fill_request(f, fl))
		return false;
	f->stall_at_ms = 0;
	if (f->up && f->up->kind == HUP_K_STREAM)
		h2up_shun(f->up); /* its connection may be stalled too: the next one is new */
	snprintf(w, sizeof(w), "%s after %zu of %zu body bytes of a response being stored: asking for the rest",
		 what, fl->e->body->len, fl->total);
	if (!exch_refetch(lp, f, why, w))
		return false;
	lp->st.http_cache_fill_resumes++;
	return true;
}

void hcache_attempt(struct loop *lp, struct hconn *x)
{
	x->stall_at_ms = 0;
	if (x->cache && x->cache->follow && !x->cache->hit) {
		/* waited for a disk read longer than it may (hcache_park): a miss */
		list_del(&x->cache->rlink);
		x->cache->follow = NULL;
		lp->st.http_cache_misses++;
		x->cache->st->stats.misses++;
	}
	if (!x->cache || !x->cache->get || x->up->kind != HUP_K_STREAM)
		return;
	x->stall_since_ms = lp->now_ms;
	x->stall_at_ms = lp->now_ms + lp->cfg->cache.fill_stall_ms / 2;
}

bool hcache_head_stalled(struct loop *lp, struct hconn *x)
{
	uint32_t stall = lp->cfg->cache.fill_stall_ms;
	uint64_t q;

	x->stall_at_ms = 0;
	if (!x->up || x->up->kind != HUP_K_STREAM)
		return false;
	q = h2up_quiet_ms(lp, x->up, x->stall_since_ms, stall);
	if (q >= stall) {
		log_info("http conn %llu: %s %s: the upstream connection received nothing for %llu ms, a PING "
			 "unanswered: cut", (unsigned long long)x->id, x->method, x->path, (unsigned long long)q);
		h2up_shun(x->up);
		return true;
	}
	x->stall_at_ms = lp->now_ms + (q < stall / 2 ? stall / 2 - q : stall - q) + 1;
	return false;
}

bool hcache_fill_cut(struct loop *lp, struct hconn *x, int why)
{
	return x->cache && x->cache->own && fill_resume(lp, x, why, "upstream failed");
}

/* The answer to a resumed fill's request (x->resp_left is its Content-Length): a 206
 * with the Content-Range asked for continues it; a 200 of the same length starts it
 * over (readers that got bytes already are reset); anything else fails it. */
void hfill_resumed(struct loop *lp, struct hconn *f, const struct hmsg *resp)
{
	struct hcache_fill *fl = f->cache->own;
	const struct h1_header *cr = h1_find(resp->headers, resp->n_headers, "content-range");
	bool framed = !f->no_body && !f->resp_chunked && !f->until_close && !f->resp_stream;
	char want[96];
	int n = snprintf(want, sizeof(want), "bytes %zu-%zu/%zu", fl->from, fl->total - 1, fl->total);
	struct hcache_req *r, *t;

	fl->got_at_try = fl->e->body->len;
	if (fl->from && resp->status == 206 && framed && cr && cr->value.len == (size_t)n &&
	    !memcmp(cr->value.p, want, (size_t)n) && f->resp_left == (long long)(fl->total - fl->from))
		return;
	if (resp->status == 200 && framed && f->resp_left == (long long)fl->total) {
		cache_entry_rewind(fl->e);
		fl->got_at_try = 0;
		list_for_each_safe(r, t, &fl->readers, rlink)
			if (r->sent > 0 && r->x->state != HC_CLOSING)
				http_conn_close(lp, r->x, true);
		return;
	}
	log_info("http conn %llu: %s %s: asked for the rest of a response being stored, got %d: the fill fails",
		 (unsigned long long)f->id, f->method, f->path, resp->status);
	fl->bad = true;
}

/* The filler f: what the upstream has sent goes into the entry, whatever the clients
 * do; stored when whole. An upstream that sends nothing for fill_stall_ms, or closes
 * mid-body, is asked again for the rest (fill_resume); without a retry left the fill
 * fails (f closed with a reset). */
void hfill_pump(struct loop *lp, struct hconn *f)
{
	struct hcache_req *c = f->cache;
	struct hcache_fill *fl = c->own;
	uint64_t now = loop_now_ms();
	bool more = false;

	if (fl->bad) {
		http_conn_close(lp, f, true);
		return;
	}
	if (f->up && f->stall_at_ms && now >= f->stall_at_ms) {
		char why[64];

		snprintf(why, sizeof(why), "no body bytes for %u ms", lp->cfg->cache.fill_stall_ms);
		if (fl->e->body->len > fl->got_at_try)
			f->retries = 0; /* it moved on since its attempt started */
		fl->got_at_try = fl->e->body->len;
		if (!exch_may_retry(lp, f, HUP_F_RESET)) {
			/* no retry now (count or budget): the stalled attempt goes on */
			f->stall_at_ms = now + lp->cfg->cache.fill_stall_ms;
			return;
		}
		if (!fill_resume(lp, f, HUP_F_RESET, why))
			http_conn_close(lp, f, true);
		return;
	}
	while (f->up && f->resp_left > 0) {
		const char *p;
		size_t avail, n;

		hup_data(f->up, &p, &avail);
		if (!avail) {
			if (!f->up->eof)
				break;
			if (!fill_resume(lp, f, HUP_F_RESET, "upstream closed"))
				http_conn_close(lp, f, true);
			if (more)
				fill_wake(lp, fl);
			return;
		}
		n = avail < (unsigned long long)f->resp_left ? avail : (size_t)f->resp_left;
		if (cache_entry_append(c->st, fl->e, p, n)) {
			http_conn_close(lp, f, true);
			return;
		}
		hup_consumed(lp, f->up, n);
		f->resp_left -= (long long)n;
		more = true;
	}
	if (more || !f->stall_at_ms)
		f->stall_at_ms = now + lp->cfg->cache.fill_stall_ms;
	hfill_count(lp, fl, fl->done || !f->resp_left ? 0 : fl->e->body->len);
	if (!f->resp_left && !fl->done) {
		fl->done = f->resp_done = true;
		list_del(&fl->link);
		exch_drop_upstream(lp, f, f->resp_reusable && f->up && !hup_pending(f->up));
		if (fl->purged)
			cache_entry_put(c->st, fl->e); /* readers keep theirs; nothing stored */
		else
			(void)cache_store_insert(c->st, fl->e); /* the filler's reference passes to the store */
		hcache_sync(lp);
		log_debug("http conn %llu: %s %s: stored whole (%zu body bytes)", (unsigned long long)f->id, f->method,
			  f->path, fl->total);
	}
	if (more)
		fill_wake(lp, fl);
}

/* A request of its own without a client (fd -1, no HTTP/2 connection: what it would
 * send is dropped), routed as x and using the cache as x (its key and settings, none of
 * its entries). NULL without memory. */
static struct hconn *hfill_clone(struct loop *lp, struct hconn *x)
{
	struct hcache_req *c = x->cache, *fc = malloc(sizeof(*c) + c->klen + 1);
	struct hconn *f = fc ? http_stream_new(lp, NULL, &x->peer, &x->dst, x->fwd) : NULL;

	if (!f) {
		free(fc);
		return NULL;
	}
	memcpy(fc, c, sizeof(*c) + c->klen + 1);
	fc->x = f;
	fc->hit = fc->stale = fc->fill = NULL;
	fc->follow = fc->own = NULL;
	fc->hand_over = fc->bg = fc->validators = fc->not_modified = false;
	fc->range[0] = fc->if_range[0] = 0;
	f->cache = fc;
	f->req_done = true;
	f->req_start_ms = lp->now_ms;
	memcpy(f->method, x->method, sizeof(f->method));
	memcpy(f->path, x->path, sizeof(f->path));
	f->rt = rt_get(x->rt);
	f->r = x->r;
	f->rp = x->rp;
	memcpy(f->eps, x->eps, sizeof(f->eps));
	f->n_eps = x->n_eps;
	f->balance = x->balance;
	f->proto = x->proto;
	f->fwd_tls = x->fwd_tls;
	memcpy(f->fwd_name, x->fwd_name, sizeof(f->fwd_name));
	f->tls_name = x->tls_name == x->fwd_name ? f->fwd_name : x->tls_name;
	f->buffered = f->idempotent = true;
	return f;
}

void hfill_revalidate(struct loop *lp, struct hconn *x, struct cache_entry *e, const struct hmsg *sh)
{
	struct hcache_req *c = x->cache, *r;
	struct hconn *b;
	int err;

	list_for_each(r, &lp->http->revals, blink)
		if (r->klen == c->klen && !memcmp(r->key, c->key, c->klen))
			return; /* one at a time per key: collapsed */
	if (overload_shed(lp, OVL_STOP_READING, OVL_ACT_CACHE_FILL))
		return;
	b = hfill_clone(lp, x);
	if (!b)
		return;
	r = b->cache;
	/* without a validator it asks for the whole response, which replaces the entry */
	err = hb_put(&b->out, x->out.p, x->out.len) ? -ENOMEM : hcache_add_validators(b, sh);
	if (err && err != -EINVAL) {
		http_conn_close(lp, b, false); /* no memory: a later request tries again */
		return;
	}
	r->validators = !err;
	r->bg = true;
	b->is_head = x->is_head; /* a HEAD's 304 refreshes too; its 200 has no body to store */
	r->req_time = c->req_time;
	cache_entry_get(e);
	r->stale = e;
	list_add(&lp->http->revals, &r->blink);
	lp->st.http_cache_bg_revalidations++;
	log_debug("http conn %llu: %s %s: served stale (stale-while-revalidate), revalidated by conn %llu",
		  (unsigned long long)x->id, x->method, x->path, (unsigned long long)b->id);
	http_hold(b);
	exch_attempt(lp, b);
	http_progress(lp, b);
	http_unhold(lp, b);
}

/* x's response (a storable one of known length that fits) goes on from a filler of its
 * own, x following it as its first reader. 0, or -errno (x cannot go on). */
int hfill_start(struct loop *lp, struct hconn *x)
{
	struct hcache_req *c = x->cache;
	struct hcache_fill *fl = calloc(1, sizeof(*fl));
	struct hconn *f;

	c->hand_over = false;
	f = fl ? hfill_clone(lp, x) : NULL;
	if (!f) {
		free(fl);
		return -ENOMEM;
	}
	f->cache->own = fl;
	/* the upstream side of the exchange, and what a resumed fill needs of the request */
	f->state = HC_RESP;
	f->status = x->status;
	f->resp_left = x->resp_left;
	f->resp_reusable = x->resp_reusable;
	f->up = x->up;
	f->ep = x->ep;
	f->up->x = f;
	x->up = NULL;
	x->last_ep = x->ep->addr;
	x->ep = NULL;
	f->retries = x->retries;
	f->attempts = x->attempts;
	fl->e = c->fill;
	c->fill = NULL;
	if (hb_put(&fl->req, x->out.p, x->out.len))
		fl->bad = true; /* no memory to ask again: a stall fails it */
	fl->total = (size_t)x->resp_left;
	fl->filler = f;
	list_init(&fl->readers);
	list_add(&lp->http->fills, &fl->link);
	cache_entry_get(fl->e);
	c->hit = fl->e;
	c->sent = 0;
	c->end = fl->total;
	log_debug("http conn %llu: %s %s: stored as it arrives by conn %llu", (unsigned long long)x->id, x->method,
		  x->path, (unsigned long long)f->id);
	/* what already came, before x follows (its bytes are sent when this returns) */
	http_hold(f);
	hfill_pump(lp, f);
	if (f->state == HC_CLOSING) {
		http_unhold(lp, f);
		return -EIO;
	}
	c->follow = fl;
	list_add(&fl->readers, &c->rlink);
	http_progress(lp, f);
	http_unhold(lp, f);
	return 0;
}

