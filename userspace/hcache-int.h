/* hcache-int.h: what hcache.c (lookup, serving, storing) and hfill.c (responses stored
 * as they arrive: fillers, their readers, stalls and resuming) share; no other module
 * includes it. */
#ifndef HERMES_HCACHE_INT_H
#define HERMES_HCACHE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "cache-t.h"
#include "hmsg-t.h"
#include "list.h"

struct loop;
struct hconn;
struct cache_entry;
struct cache_store;

/* A response being stored as it arrives (store-and-forward): a filler of its own, an
 * hconn without a client (fd -1, no HTTP/2 connection: what it would send is dropped),
 * owns the upstream attempt and reads it into the entry at the upstream's pace; the
 * clients follow the entry as readers, each as fast as it takes the bytes. A client that
 * goes away leaves the fill running; a fill that fails resets the clients following it. */
struct hcache_fill {
	struct list link;          /* lp->http->fills, until it is stored whole */
	struct cache_entry *e;     /* the filler's reference */
	struct hconn *filler;
	struct list readers;       /* struct hcache_req.rlink */
	size_t total;              /* the body's length (its Content-Length) */
	bool done;                 /* stored whole */
	bool purged;               /* purged meanwhile (hcache_purge): off the list, not stored */
	bool bad;                  /* a resumed attempt's answer cannot continue it */
	struct hbuf req;           /* the request as first sent, to ask again for the rest */
	size_t from;               /* the resumed attempt asked from this byte (0: whole) */
	size_t got_at_try;         /* the body's length when the attempt started */
	size_t counted;            /* of its body, in the memory budget (hfill_count) */
};

/* A request's use of the cache (hconn.cache). */
struct hcache_req {
	struct cache_store *st;
	struct hconn *x;
	struct hcache_fill *own;    /* x is the filler of this fill */
	struct hcache_fill *follow; /* hit is this fill's entry, still growing */
	struct list rlink;          /* in follow->readers */
	bool hand_over;             /* fill is to go to a filler of its own (hcache_send) */
	bool cut;                   /* the fill it followed failed */
	struct cache_entry *hit;  /* being sent from the store */
	struct cache_entry *fill; /* being filled from the upstream's response */
	struct cache_entry *stale; /* must be validated: kept for a 304 (validators) and for
				    * stale-if-error */
	bool validators;          /* the request went with stale's validators */
	bool not_modified;        /* the client's own conditionals hold for the stored
				   * response it may use: a 304 answers */
	struct cache_cc rcc;      /* the request's directives (flags and values) */
	size_t sent, end;         /* of hit's body: the next byte and the end to send */
	char range[64];           /* the request's Range value ("": none) */
	char if_range[64];        /* its If-Range value ("": none) */
	int64_t req_time;         /* the request went out (RFC 9111 4.2.3 request_time) */
	bool get, unsafe;
	bool bg;                  /* x revalidates stale in the background (hfill_revalidate):
				   * no client, nothing served */
	struct list blink;        /* in lp->http->revals, when bg */
	struct cache_conf cf;     /* the rules' settings: the cache section's and the route's */
	uint64_t max_object;      /* bytes of the largest response stored (the route's) */
	bool cond;                /* the request has its own If-None-Match / If-Modified-Since
				   * (kept while it waits for a disk read: hcache_loaded) */
	size_t klen, tlen;        /* key: an origin tag of tlen bytes, then the URI */
	char key[];
};

/* hcache.c */
/* The store's counts as metrics. */
void hcache_sync(struct loop *lp);
/* The stored head of e parsed (slices into e). 0 or -EBADMSG. */
int hcache_stored_head(const struct cache_entry *e, struct hmsg *h);
/* The disk read x waited for ended (hdisk.c; x no longer follows it): e, whole, is
 * served or validated as a lookup would; NULL (the read failed, or was purged) sends x
 * upstream as a miss. */
void hcache_loaded(struct loop *lp, struct hconn *x, struct cache_entry *e);

/* hfill.c */
/* The filler's request ends: its readers go on (stored whole) or are reset. */
void hfill_end(struct loop *lp, struct hcache_fill *fl);
/* The fill of key whose Vary names give req the secondary key it stores, or NULL. */
struct hcache_fill *hfill_find(struct loop *lp, const char *key, size_t kl, const struct hmsg *req);
/* The validator an If-Range may carry for a stored head, or NULL. */
const struct h1_header *hfill_if_range(const struct hmsg *sh);
/* x's storable response of known length goes on from a filler of its own, x its first
 * reader. 0, or -errno (x cannot go on). */
int hfill_start(struct loop *lp, struct hconn *x);
/* The filler f reads what its upstream has (hcache_send). */
void hfill_pump(struct loop *lp, struct hconn *f);
/* The head answering a resumed fill's request (hcache_resp_head). */
void hfill_resumed(struct loop *lp, struct hconn *f, const struct hmsg *resp);
/* x was answered from e (stored head sh), stale within its stale-while-revalidate
 * window: e revalidated once in the background, by a request of its own without a client
 * (with e's validators when it has any; a 304 refreshes e, a storable response replaces
 * it, stored by a filler that new misses follow), unless one for x's key is under way
 * or hermesd is over its memory budget's first stage. */
void hfill_revalidate(struct loop *lp, struct hconn *x, struct cache_entry *e, const struct hmsg *sh);
/* The request to the origin (x->out, a head without a body) gets stored's validators.
 * 0, -EINVAL (none) or -ENOMEM. */
int hcache_add_validators(struct hconn *x, const struct hmsg *stored);

#endif
