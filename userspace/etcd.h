/* etcd.h: a small etcd v3 client over etcd's JSON gateway (/v3/kv/range, /v3/kv/put,
 * /v3/watch, /v3/lease/grant, /v3/lease/keepalive), with libcurl for HTTP(S) and jansson
 * for JSON. Blocking calls, made from a thread of their own (etcd_src.c's), never from
 * the event loop. Keys and values are bytes (base64 in the JSON). Prefix etcd_. Every
 * call returns 0 or -errno and writes a message naming the endpoint and what failed
 * into err. The pure parts (base64, a prefix's range end, the watch stream's parser and
 * its resume revision) are unit-tested without a server (tests/unit/test_etcd.c). */
#ifndef HERMES_ETCD_H
#define HERMES_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-t.h"

#define ETCD_MAX_ENDPOINTS 8

struct etcd_opts {
	const char *endpoints[ETCD_MAX_ENDPOINTS]; /* URLs: http://HOST:PORT or https://HOST:PORT */
	int n_endpoints;
	const char *cert, *key, *ca; /* TLS client certificate, its key and the CA (NULL: none) */
	long connect_timeout_ms;     /* per endpoint tried */
	long request_timeout_ms;     /* a unary call, the connect included */
};

/* A client: the endpoints and which one is in use. A call that cannot reach the
 * endpoint in use (no connection, a timeout, a 5xx from the gateway) tries the next
 * ones in turn; the one that answered stays in use. One thread at a time per client. */
struct etcd {
	struct etcd_opts o;
	int cur; /* the endpoint in use */
	/* asked about once a second during every call (NULL: never): false ends the call
	 * (-ECANCELED), so that a thread blocked on an endpoint that does not answer can
	 * be stopped within a second */
	bool (*alive)(void *arg);
	void *alive_arg;
};

struct etcd_kv {
	char *key, *value; /* NUL-terminated copies (the bytes may hold NULs: use the lengths) */
	size_t key_len, value_len;
	int64_t create_rev, mod_rev, version, lease;
};

struct etcd_range {
	struct etcd_kv *kvs;
	size_t n;
	int64_t revision; /* the store's revision the answer was read at */
};

/* ETCD_EV_END (only for a watch with want_end): the events of one response were all
 * handed; kv.mod_rev is the revision of its last one (etcd sends every event of a
 * revision, a transaction's, in one response: the keys are consistent here). */
enum etcd_ev_type { ETCD_EV_PUT, ETCD_EV_DELETE, ETCD_EV_END };
struct etcd_event {
	enum etcd_ev_type type;
	struct etcd_kv kv; /* a delete carries the key and its mod_rev only; an end, mod_rev */
};

/* Called for each event of a watch, in order; a nonzero return stops the watch (the
 * call returns it). */
typedef int (*etcd_event_fn)(void *arg, const struct etcd_event *ev);

/* A watch's position, kept across reconnects: next_rev is the revision to watch from
 * (the revision after the last event seen), so that a new watch misses nothing and
 * repeats nothing. */
struct etcd_watch {
	int64_t next_rev;     /* 0: from now on */
	int64_t compact_rev;  /* set when the server said next_rev was compacted: the caller
			       * reads the keys in full (etcd_range) and watches from its
			       * revision + 1 */
	int64_t header_rev;   /* the store's revision in the last response */
	bool created;         /* the server confirmed the watch */
	const char *end;      /* set: the watch covers the keys [key, end) (prefix ignored) */
	bool want_end;        /* hand an ETCD_EV_END after each response that carried events */
	char err[256];        /* the server's error, when a response carried one */
	/* the stream's bytes not parsed yet (a JSON object cut by the network) */
	char *buf;
	size_t len, cap;
};

/* Once per process, before any thread starts (curl_global_init). 0 or -EIO. */
int etcd_global_init(void);
void etcd_global_fini(void);

/* The options of hermes.yaml's etcd section e (pointers into e, which must outlive
 * them), with the timeouts hermesd and hermesctl use: 1 s to connect, 3 s a call. */
void etcd_opts_from(struct etcd_opts *o, const struct cfg_etcd *e);
/* The client for o (the strings are not copied: they must outlive the client). */
void etcd_init(struct etcd *c, const struct etcd_opts *o);
/* Starts c at the endpoint a hash of NAME picks (the node's name), so that nodes sharing
 * one endpoint list spread their watches over the members instead of all sitting on the
 * first; failover still goes on in list order from there. */
void etcd_start_at(struct etcd *c, const char *name);
/* A node's client (hermesd's source and status threads): the options of e
 * (etcd_opts_from: pointers into e, which must outlive c), started at the endpoint e's
 * node name picks (etcd_start_at). */
void etcd_init_node(struct etcd *c, const struct cfg_etcd *e);
const char *etcd_endpoint(const struct etcd *c);

/* One key (prefix false) or every key beginning with key (prefix true). */
int etcd_range(struct etcd *c, const char *key, bool prefix, struct etcd_range *out, char *err, size_t errlen);
void etcd_range_free(struct etcd_range *r);
/* Every key in [key, end) (end NULL: key alone), read at one revision. */
int etcd_range_end(struct etcd *c, const char *key, const char *end, struct etcd_range *out, char *err,
		   size_t errlen);
/* key = value[0..len), bound to lease (0: none); *rev (may be NULL): the put's revision. */
int etcd_put(struct etcd *c, const char *key, const void *value, size_t len, int64_t lease, int64_t *rev,
	     char *err, size_t errlen);
/* A lease of ttl seconds: *id, and the TTL granted. */
int etcd_lease_grant(struct etcd *c, int64_t ttl, int64_t *id, int64_t *granted, char *err, size_t errlen);
/* Renews lease id once: *ttl, its TTL now; -ENOENT when it has expired (TTL 0). */
int etcd_lease_keepalive(struct etcd *c, int64_t id, int64_t *ttl, char *err, size_t errlen);
/* Ends lease id now: the keys bound to it go at once. */
int etcd_lease_revoke(struct etcd *c, int64_t id, char *err, size_t errlen);

/* A transaction (etcd_txn.c): when every compare holds (the key's mod_revision equals
 * mod_rev, 0 meaning the key does not exist; or with ETCD_CMP_LESS is below it), every
 * op, in one revision; else none.
 * *succeeded says which, *rev is the store's revision after it. 0 or -errno (the call
 * failed: nothing is known to be written). etcd bounds the ops of one transaction
 * (--max-txn-ops, 128 by default) and its size (--max-request-bytes, 1.5 MiB). */
enum etcd_op_type { ETCD_OP_PUT, ETCD_OP_DELETE };
struct etcd_op {
	enum etcd_op_type type;
	const char *key;
	const char *value; /* ETCD_OP_PUT: value[0..len) */
	size_t len;
};
struct etcd_cmp {
	const char *key;
	int64_t mod_rev;
	enum { ETCD_CMP_EQUAL, ETCD_CMP_LESS } op;
};
int etcd_txn(struct etcd *c, const struct etcd_cmp *cmp, size_t n_cmp, const struct etcd_op *ops, size_t n_ops,
	     bool *succeeded, int64_t *rev, char *err, size_t errlen);

/* Watches key (or the prefix) from w->next_rev on the endpoint in use until the stream
 * ends, fn says stop, or alive(arg) returns false (asked about once a second, also while
 * the stream is idle; it may note the contact: the connection is up). Returns fn's
 * nonzero value, -ESTALE when the server compacted w->next_rev (w->compact_rev set),
 * -ECONNRESET when the stream ended, -ECANCELED when alive() said stop, else -errno
 * (on failure the next call uses the next endpoint). w->next_rev advances past every
 * event handed to fn. */
int etcd_watch(struct etcd *c, const char *key, bool prefix, struct etcd_watch *w, etcd_event_fn fn,
	       bool (*alive)(void *arg), void *arg, char *err, size_t errlen);
void etcd_watch_reset(struct etcd_watch *w); /* frees the buffer; keeps next_rev */

/* ---- the pure parts ---- */

/* base64 of in[0..len) into a malloc'ed NUL-terminated string; NULL: out of memory. */
char *etcd_b64_encode(const void *in, size_t len);
/* The bytes of a base64 string into a malloc'ed buffer (NUL-terminated, *len without
 * it). 0, -EINVAL (not base64) or -ENOMEM. */
int etcd_b64_decode(const char *in, char **out, size_t *len);
/* The range_end of a prefix: the prefix with its last byte below 0xff plus one, bytes
 * after it dropped; "\0" (every key) when every byte is 0xff. *end_len gets its length. */
void etcd_prefix_end(const char *prefix, size_t len, char *end, size_t *end_len);
/* Parses one JSON object of a watch stream at buf[0..len): its events go to fn (a
 * nonzero return is kept in *stop), w's state follows. Returns bytes consumed, 0 for
 * "need more", or -EINVAL (not JSON of a watch, or an event's revision negative or the
 * largest int64, which has no next), -ESTALE (compacted), -EIO (the server's error, in
 * w->err). */
long etcd_watch_parse(struct etcd_watch *w, const char *buf, size_t len, etcd_event_fn fn, void *arg, int *stop);

#endif
