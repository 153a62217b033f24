/* etcd_src.h: hermesd's configuration from etcd (the `etcd` section). The node's
 * document, the key PREFIX/nodes/NODE, holds the same YAML as the file for the keys a
 * SIGHUP may change, and may name shared documents (PREFIX/shared/NAME) merged with it
 * (etcd_merge.h); a thread of its own (etcd.c's blocking client) reads them, watches them
 * and hands each new merge to the loop through an eventfd, and the loop builds and
 * applies it on the SIGHUP path (rt_build off the loop, reload_apply on it). The last
 * applied (merged) document is kept in state_file for a start without etcd. The source
 * also keeps the node's status key, PREFIX/status/NODE (etcd_status.h), up to date with
 * what the loop reports. Prefix etcd_src_. */
#ifndef HERMES_ETCD_SRC_H
#define HERMES_ETCD_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-t.h"
#include "etcd_state.h" /* the state file's first line */

struct etcd_src;

/* What the source did, for /metrics (read on the loop; the thread's fields are
 * atomics). */
struct etcd_src_stats {
	int64_t applied_rev;    /* the revision of the document in use (0: none yet) */
	double last_contact;    /* when etcd last answered or the watch was known open,
				 * seconds since the epoch (0: never) */
	uint64_t reconnects;    /* watches opened again after a failure or an end */
	uint64_t refused;       /* documents refused (bad YAML or keys, TLS files, policy map) */
	/* the status key (etcd_status.h) */
	bool status_up;
	uint64_t status_writes, status_failures, lease_grants;
};

/* What the thread hands the loop: a document to build (doc set), or a refusal of the
 * thread's own (doc NULL, err set: a merge of shared documents that failed). */
struct etcd_src_doc {
	char *doc;
	size_t len;
	int64_t rev;     /* the newest change of the watched keys it includes */
	char name[400];  /* "PREFIX/nodes/NODE revision N[ with PREFIX/shared/A revision M, ...]" */
	char err[1024];
};

/* The source for e (copied), not started; address and admin: how an operator reaches
 * this node, for its status key ("" when not). 0, -ENOMEM. */
int etcd_src_new(const struct cfg_etcd *e, const char *address, const char *admin, struct etcd_src **out);
/* At start, before the loop: the document to start from: the node's key in etcd (a
 * range of up to a few seconds over the endpoints), or when etcd cannot be reached or
 * has no such key, the state file. 0 and *doc (malloc'ed, NUL-terminated), *len, *rev
 * and *from ("etcd" or the state file's path); -ENOENT when neither has one (err says
 * why). */
int etcd_src_first(struct etcd_src *s, char **doc, size_t *len, int64_t *rev, const char **from, char *err,
		   size_t errlen);
/* The state file's document alone (a first document from etcd was refused). */
int etcd_src_state(struct etcd_src *s, char **doc, size_t *len, int64_t *rev, const char **from, char *err,
		   size_t errlen);
/* At start, after the command line: cfg (the file) takes the reload keys of the first
 * document (etcd's, else the state file's; one that does not load is refused and the
 * next source tried), as a SIGHUP would: the file's restart keys and the command line
 * stay. No document: cfg stays the file's (a warn line says so). *used: a copy of the
 * document applied (malloc'ed; NULL: none), with its length and revision. 0 or -ENOMEM. */
int etcd_src_first_config(struct etcd_src *s, struct hermes_config *cfg, char **used, size_t *used_len,
			  int64_t *used_rev);
/* Starts the thread: it watches the key from the first document's revision on (or
 * reads it in full first when there was none). 0 or -errno. */
int etcd_src_start(struct etcd_src *s);
/* The eventfd the loop reads: it counts documents handed over. */
int etcd_src_fd(const struct etcd_src *s);
/* The newest document the thread handed over since the last take (older ones were
 * dropped), or false when none waits. out->doc becomes the caller's. */
bool etcd_src_take(struct etcd_src *s, struct etcd_src_doc *out);
/* What became of a document taken: rc 0 applied (the thread writes it to the state file,
 * write then rename), else refused (counted; why: the reason, for the status key). doc
 * becomes the source's (NULL allowed). */
void etcd_src_result(struct etcd_src *s, char *doc, size_t len, int64_t rev, int rc, const char *why);
/* A document taken was the one in use: nothing to build, rev is applied. */
void etcd_src_unchanged(struct etcd_src *s, int64_t rev);
/* The node's health for its status key: "ok" or "degraded: REASON" (the loop, once a
 * second; the key is written when it changes). */
void etcd_src_health(struct etcd_src *s, const char *health);
void etcd_src_get_stats(const struct etcd_src *s, struct etcd_src_stats *st);
/* The node's key, PREFIX/nodes/NODE. */
const char *etcd_src_key(const struct etcd_src *s);
/* Stops the thread (it is woken within a second) and frees s. NULL is a no-op. */
void etcd_src_free(struct etcd_src *s);

#endif
