/* cache_store.h: the HTTP cache's in-memory store (cache_store.c): stored responses (head
 * and body bytes, the Vary names and secondary key they were stored under, the times the
 * freshness rules need) in a hash of primary keys, several Vary variants under one key,
 * within a byte limit with least-recently-used eviction, and a per-object limit. A reader
 * holds a reference on the entry it sends; an entry evicted, replaced or purged meanwhile
 * is freed when its last reader lets go. Also the Range rule for serving a slice of a
 * complete stored response. No loop, socket or clock: times come from the caller.
 * Unit-tested in tests/unit/test_cache_store.c. Prefix cache_store_ / cache_entry_. */
#ifndef HERMES_CACHE_STORE_H
#define HERMES_CACHE_STORE_H

#include <stdint.h>

#include "cache-t.h"
#include "hmsg-t.h"
#include "siphash.h"

/* A body, shared by an entry and the one a 304 refreshed it into. */
struct cache_body {
	unsigned refs;
	size_t len, cap;
	char *data;
};

/* What the freshness rules need of a stored response, kept from when it was stored. */
struct cache_meta {
	struct cache_times t;
	int64_t initial_age; /* cache_initial_age at response_time */
	int64_t lifetime;    /* cache_lifetime */
};

/* A stored response. Readers use key, vary_names/vary_key, head, body and meta; the
 * rest is the store's. */
struct cache_entry {
	struct cache_entry *hnext;       /* hash chain */
	struct cache_entry *prev, *next; /* LRU list, most recently used first */
	unsigned refs;                   /* the store's while indexed, one per reader */
	bool linked;                     /* in the hash and the LRU list */
	uint64_t hash;
	size_t charge;                   /* bytes counted against the limit */
	const char *key, *vary_names, *vary_key, *head; /* inside the entry's allocation */
	size_t klen, vnlen, vklen, head_len;
	struct cache_body *body;
	struct cache_meta meta;
	/* the head as parsed when the entry was made (cache_entry_head): slices into head,
	 * so that a hit does not parse it again; head_ok false when it did not parse */
	bool head_ok;
	bool purged;                     /* left the store by a purge or an invalidation */
	int status, version_minor;
	struct h1_slice reason;
	unsigned n_hdrs;
	struct h1_header *hdrs;          /* inside the entry's allocation */
	/* the disk cache's (hdisk.c): the file holding this response (0: none), and for an
	 * entry of the disk's index, its body's length (the body is on disk) */
	uint64_t file_id;
	uint64_t file_body;
	struct cache_entry *disk;        /* the index entry of the same file, referenced
					  * (a memory entry written or read), or NULL */
	/* the fields a hit serves as HTTP/1.1 lines ready to send, made by the first hit
	 * sent to an HTTP/1.1 client (hcache.c; an entry's head never changes), or NULL;
	 * freed with the entry */
	char *h1_fields;
	size_t h1_fields_len;
	/* the stored head's Cache-Control (its slices into head), parsed by the first hit
	 * (hcache.c) when cc_ok */
	bool cc_ok;
	struct cache_cc cc;
};

/* Counters the caller turns into metrics. The store counts what it does; hits, misses,
 * revalidations and stale_served depend on the freshness rules' verdict, which the
 * caller reaches, so the caller counts them here. */
struct cache_stats {
	uint64_t hits, misses, revalidations, stale_served; /* the caller's */
	uint64_t stores, replaced, evictions, purged, too_big; /* events */
	uint64_t bytes, objects;                             /* indexed now */
};

struct cache_store {
	struct cache_entry **buckets;
	size_t nbuckets;                 /* a power of two */
	struct cache_entry *lru_head, *lru_tail;
	uint64_t max_bytes, max_object_bytes;
	struct cache_stats stats;
	struct siphash_key seed;         /* the buckets' hash key, drawn at init */
	bool bare;                       /* entries keep no parsed head (an index whose
					  * heads are only copied, never served from) */
	/* A second tier (the disk cache's index: hdisk.c), or NULL: a purge or an
	 * invalidation of keys removes them there too. */
	struct cache_store *below;
	uint64_t purge_runs;             /* purge and purge_if calls (a tier's writer can tell
					  * that one ran while it wrote) */
	/* Told when an entry comes into the store (inserted) and when one leaves it
	 * (evicted, replaced, purged; not at cache_store_free), with hook_arg. */
	void (*on_insert)(struct cache_store *st, struct cache_entry *e);
	void (*on_drop)(struct cache_store *st, struct cache_entry *e);
	void *hook_arg;
};

/* An empty store of at most max_bytes, objects (head and body) of at most
 * max_object_bytes, its hash keyed from getrandom. 0, -ENOMEM, or getrandom's -errno. */
int cache_store_init(struct cache_store *st, uint64_t max_bytes, uint64_t max_object_bytes);
/* Drops every entry; readers must have let go of theirs. */
void cache_store_free(struct cache_store *st);

/* A new entry for a response being received, not yet in the store: its primary key,
 * Vary names and secondary key (cache_key.h), head bytes and meta copied. The caller
 * holds its one reference. NULL with errno EFBIG (already over max_object_bytes) or
 * ENOMEM. */
struct cache_entry *cache_entry_new(struct cache_store *st, const char *key, size_t klen, const char *vary_names,
				    size_t vnlen, const char *vary_key, size_t vklen, const char *head, size_t head_len,
				    const struct cache_meta *meta);
/* Body bytes as they pass. 0, -EFBIG (the object passed max_object_bytes: counted in
 * too_big; let go of the entry) or -ENOMEM. */
int cache_entry_append(struct cache_store *st, struct cache_entry *e, const void *p, size_t n);
/* A new entry's body emptied (its response starts over). */
void cache_entry_rewind(struct cache_entry *e);
/* The complete entry into the store, replacing the one with the same key and secondary
 * key, evicting the least recently used until it fits. The caller's reference passes to
 * the store. 0, or -EFBIG when it is larger than the whole store (the entry is freed). */
int cache_store_insert(struct cache_store *st, struct cache_entry *e);
/* The freshest (latest response_time) entry under key whose Vary names, applied to req,
 * give its secondary key; it becomes the most recently used and the caller holds a
 * reference (cache_entry_put). NULL when none. */
struct cache_entry *cache_store_get(struct cache_store *st, const char *key, size_t klen, const struct hmsg *req);
/* The stored head of e as parsed when e was made (slices into e): 0, or -EBADMSG when
 * it did not parse. Cheaper than parsing: only the fields are copied. */
int cache_entry_head(const struct cache_entry *e, struct hmsg *h);
/* n more bytes kept with e (its hits' ready-made fields) counted against the limit while
 * e is in st: the least recently used others go to make room. */
void cache_store_charge(struct cache_store *st, struct cache_entry *e, size_t n);
/* e (indexed) out of the store, as a purge would take it. */
void cache_store_remove(struct cache_store *st, struct cache_entry *e);
/* True when the store holds a response under e's key and secondary key that came later
 * than e's (a disk index read at start must not replace what was stored since). */
bool cache_store_newer(struct cache_store *st, const struct cache_entry *e);
/* e becomes the most recently used (a hit in the tier above). */
void cache_store_touch(struct cache_store *st, struct cache_entry *e);
/* One more reference on e (a second reader of an entry being filled). */
void cache_entry_get(struct cache_entry *e);
/* Let go of a reference (a reader's, or a new entry's that is not inserted). */
void cache_entry_put(struct cache_store *st, struct cache_entry *e);
/* e refreshed by a 304: a new entry with the merged head and new meta, sharing e's body,
 * replaces e in the store (if e is still there; it is inserted either way). The caller
 * keeps its reference on e, and gets one on the new entry in *fresh (when not NULL).
 * 0, -ENOMEM or -EFBIG. */
int cache_store_refresh(struct cache_store *st, struct cache_entry *e, const char *head, size_t head_len,
			const struct cache_meta *meta, struct cache_entry **fresh);
/* Every variant stored under key removed (purge by URL, invalidation). Returns how many. */
int cache_store_purge(struct cache_store *st, const char *key, size_t klen);
/* Every entry whose key match() accepts removed, the whole store walked (an operator's
 * purge, not the request path). Returns how many. */
int cache_store_purge_if(struct cache_store *st, bool (*match)(const char *key, size_t klen, void *arg), void *arg);

/* A Range request against a complete stored body of length bytes (RFC 9110 14.1.2,
 * 14.2): 1 with [*first, *last] for a single satisfiable "bytes=first-last",
 * "bytes=first-" or "bytes=-suffix" (the last byte clamped to length - 1); -ERANGE when
 * that one range is not satisfiable (416); 0 for no Range, one that is not understood or
 * malformed, several ranges, or an empty body: answer 200 with the whole body. */
int cache_range(const struct hmsg *req, int64_t length, int64_t *first, int64_t *last);

#endif
