/* etcd_merge.h: the documents a node's configuration is made of in etcd, and their merge
 * (etcd_merge.c). The node's document PREFIX/nodes/NODE may name shared documents,
 * `shared: [NAME, ...]`, each the key PREFIX/shared/NAME holding the same kinds of reload
 * keys; the configuration is the node's document, then each shared one in the listed
 * order: a list (policy, routes, tunnel_access, http_routes, ...) set in several is joined,
 * node first; a single value or a mapping set in two is an error naming both; a shared
 * document that does not exist is an error too. The set holds what a watch of the node's
 * key range handed (puts and deletes), so the merge needs no read of its own. Pure: no
 * I/O, unit-tested (tests/unit/test_etcd_merge.c). Prefix etcd_docset_. */
#ifndef HERMES_ETCD_MERGE_H
#define HERMES_ETCD_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_MERGE_MAX_SHARED 32 /* names in one node's `shared` list */
#define ETCD_MERGE_NAME_MAX 64   /* a shared document's name, its NUL included */

struct etcd_shared_doc {
	char name[ETCD_MERGE_NAME_MAX];
	char *value;
	size_t len;
	int64_t rev; /* its mod_revision */
};

struct etcd_docset {
	const char *node_key;      /* PREFIX/nodes/NODE (not copied) */
	const char *shared_prefix; /* PREFIX/shared/ (not copied) */
	char *node;                /* the node's document; NULL: none */
	size_t node_len;
	int64_t node_rev;
	struct etcd_shared_doc *shared; /* every shared document seen, listed or not */
	size_t n_shared, cap;
	int64_t rev; /* the newest change seen among the keys the set was fed */
};

/* A line of the merged text: which document (index into srcs; -1: none) and where in it. */
struct etcd_merged_line {
	int src;
	int line, col;
};

struct etcd_merged_src {
	char key[320];
	int64_t rev;
};

/* What a merge made. */
struct etcd_merged {
	char *doc;       /* malloc'ed, NUL-terminated: the YAML the config loader reads */
	size_t len;
	int64_t doc_rev; /* the newest mod_revision among the documents used (after a failure:
			  * among the node's and the shared ones found before it) */
	int n_shared;    /* shared documents used (0: doc is the node's document as written) */
	char used[512];  /* " with PREFIX/shared/A revision N, ..." ("" without shared documents) */
	/* with shared documents: each line of doc, and the documents (the node's first) */
	struct etcd_merged_line *lines;
	size_t n_lines;
	struct etcd_merged_src *srcs;
};

void etcd_docset_init(struct etcd_docset *d, const char *node_key, const char *shared_prefix);
/* Forgets every document (before a full read); keeps the keys. */
void etcd_docset_clear(struct etcd_docset *d);
void etcd_docset_free(struct etcd_docset *d);
/* A key put at rev: kept when it is the node's or a shared document's (others only
 * advance d->rev). 0 or -ENOMEM. */
int etcd_docset_put(struct etcd_docset *d, const char *key, const char *value, size_t len, int64_t rev);
void etcd_docset_delete(struct etcd_docset *d, const char *key, int64_t rev);
/* The configuration of the set. 0 and *out; -ENOENT when there is no node document;
 * -EINVAL (err: which document, its revision and what is wrong), -E2BIG (the merge
 * passes the loader's node or nesting limits) or -ENOMEM. A node document that is not a
 * YAML mapping, or has no `shared` key, is handed as it is (the loader says what is
 * wrong with it, line and column). */
int etcd_docset_merge(const struct etcd_docset *d, struct etcd_merged *out, char *err, size_t errlen);
void etcd_merged_free(struct etcd_merged *m);
/* A message of the config loader about m->doc loaded under name ("NAME:L:C: what"),
 * told of the document and the entry the merged line L came from ("KEY revision R:L:C:
 * what (the entry on line L of the merged document)"); any other message as it is. */
void etcd_merged_explain(const struct etcd_merged *m, const char *name, const char *err, char *out, size_t len);

/* A text libyaml's emitter writes (yaml_emitter_set_output(e, etcd_yaml_out, &buf)):
 * p NUL-terminated, len bytes; free(p) after. */
struct etcd_yaml_buf {
	char *p;
	size_t len, cap;
};
int etcd_yaml_out(void *arg, unsigned char *data, size_t n);

#endif
