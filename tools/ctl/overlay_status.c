/* overlay_status.c: `hermesctl overlay status`: every node of the overlay and whether it
 * runs its documents. One read of the whole prefix (one revision, so the nodes'
 * documents, the shared ones and the status keys agree): a node's documents are
 * PREFIX/nodes/NODE and the shared documents it lists (the merge hermesd makes,
 * etcd_merge.c, says which and their newest revision); what it runs is its status key,
 * PREFIX/status/NODE (etcd_status.c), which its lease removes when hermesd is gone.
 * A node is in sync when its applied revision is at least its documents' revision,
 * behind when not, down without a status key. The exit status says whether all are in
 * sync, for scripts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd.h"
#include "ctl.h"
#include "ctl_etcd.h"
#include "etcd_merge.h"

/* a node behind, down or without a document */
#define EXIT_NOT_IN_SYNC 3

enum node_state { ST_IN_SYNC, ST_BEHIND, ST_DOWN, ST_NO_DOCUMENT };
static const char *const state_word[] = { "in_sync", "behind", "down", "no_document" };

struct node {
	char name[ETCD_MERGE_NAME_MAX];
	const struct etcd_kv *doc;    /* PREFIX/nodes/NAME (NULL: none) */
	json_t *status;               /* PREFIX/status/NAME parsed (NULL: none) */
	int64_t doc_rev;              /* the newest of its documents */
	char doc_err[512];            /* its documents do not merge: why */
	int64_t applied;
	enum node_state state;
};

static struct node *node_get(struct node **nodes, size_t *n, const char *name)
{
	struct node *p;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*nodes)[i].name, name))
			return &(*nodes)[i];
	if (strlen(name) >= ETCD_MERGE_NAME_MAX || !(p = realloc(*nodes, (*n + 1) * sizeof(*p))))
		return NULL;
	*nodes = p;
	p = &p[(*n)++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->name, ((const struct node *)b)->name);
}

static const char *jstr(const json_t *o, const char *k, const char *dflt)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static int64_t jnum(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* The revision a node's documents are at (the merge's; its error kept). */
static void node_docs(struct node *nd, const struct etcd_range *r, const char *prefix)
{
	char key[512], shared[300];
	struct etcd_docset d;
	struct etcd_merged m;

	snprintf(key, sizeof(key), "%s/nodes/%s", prefix, nd->name);
	snprintf(shared, sizeof(shared), "%s/shared/", prefix);
	etcd_docset_init(&d, key, shared);
	for (size_t i = 0; i < r->n; i++)
		etcd_docset_put(&d, r->kvs[i].key, r->kvs[i].value, r->kvs[i].value_len, r->kvs[i].mod_rev);
	if (!etcd_docset_merge(&d, &m, nd->doc_err, sizeof(nd->doc_err)))
		nd->doc_err[0] = 0;
	nd->doc_rev = m.doc_rev ? m.doc_rev : nd->doc->mod_rev;
	etcd_merged_free(&m);
	etcd_docset_free(&d);
}

static void lag_text(const struct node *nd, char *buf, size_t len)
{
	switch (nd->state) {
	case ST_IN_SYNC: snprintf(buf, len, "in sync"); break;
	case ST_BEHIND: snprintf(buf, len, "behind by %" PRId64 " revisions", nd->doc_rev - nd->applied); break;
	case ST_DOWN: snprintf(buf, len, "down (no status)"); break;
	default: snprintf(buf, len, "no document"); break;
	}
}

static void print_json(const struct node *nodes, size_t n, int64_t rev, bool all_in_sync)
{
	printf("{\"revision\": %" PRId64 ", \"in_sync\": %s, \"nodes\": [", rev, all_in_sync ? "true" : "false");
	for (size_t i = 0; i < n; i++) {
		const struct node *nd = &nodes[i];
		char *st = nd->status ? json_dumps(nd->status, JSON_COMPACT) : NULL;

		printf("%s\n  {\"node\": ", i ? "," : "");
		json_str(stdout, nd->name);
		printf(", \"state\": \"%s\", \"doc_revision\": %" PRId64 ", \"applied_revision\": %" PRId64
		       ", \"behind\": %" PRId64 ", \"documents_error\": ", state_word[nd->state], nd->doc_rev, nd->applied,
		       nd->state == ST_BEHIND ? nd->doc_rev - nd->applied : 0);
		if (nd->doc_err[0])
			json_str(stdout, nd->doc_err);
		else
			printf("null");
		printf(", \"status\": %s}", st ? st : "null");
		free(st);
	}
	printf("%s]}\n", n ? "\n" : "");
}

static void print_table(const struct node *nodes, size_t n, int64_t rev)
{
	printf("%-16s %-24s %-10s %8s %8s  %-26s %s\n", "NODE", "ADDRESS", "VERSION", "APPLIED", "DOCS", "LAG",
	       "HEALTH");
	for (size_t i = 0; i < n; i++) {
		const struct node *nd = &nodes[i];
		const char *err = nd->status ? jstr(nd->status, "config_error", NULL) : NULL;
		char lag[64], applied[24] = "-", docs[24] = "-";

		lag_text(nd, lag, sizeof(lag));
		if (nd->status)
			snprintf(applied, sizeof(applied), "%" PRId64, nd->applied);
		if (nd->doc)
			snprintf(docs, sizeof(docs), "%" PRId64, nd->doc_rev);
		printf("%-16s %-24s %-10s %8s %8s  %-26s %s\n", nd->name,
		       nd->status ? jstr(nd->status, "address", "-") : "-",
		       nd->status ? jstr(nd->status, "version", "-") : "-", applied, docs, lag,
		       nd->status ? jstr(nd->status, "health", "?") : "-");
		if (err)
			printf("    refused: %s\n", err);
		if (nd->doc_err[0])
			printf("    documents: %s\n", nd->doc_err);
	}
	printf("(etcd revision %" PRId64 ")\n", rev);
}

int cmd_overlay_status(const struct ctl *c, int argc, char **argv)
{
	char *rest[argc > 0 ? argc : 1], key[300], err[512];
	struct node *nodes = NULL;
	struct ctl_etcd x;
	struct etcd_range r;
	size_t n = 0, plen;
	bool json = c->json, all = true;
	int n_rest, rc;

	/* argv: "overlay" "status" [options] */
	if ((rc = ctl_etcd_parse(argc - 1, argv + 1, "overlay status", &x, rest, &n_rest)))
		return rc;
	for (int i = 0; i < n_rest; i++) {
		if (strcmp(rest[i], "--json"))
			return usage_error("overlay status: unexpected argument '%s' (expected --json and the etcd "
					   "options)", rest[i]);
		json = true;
	}
	if ((rc = ctl_etcd_open(&x, "overlay status")))
		return rc;
	snprintf(key, sizeof(key), "%s/", x.e.prefix);
	plen = strlen(key);
	if (etcd_range(&x.cl, key, true, &r, err, sizeof(err))) {
		errmsg("overlay status: cannot read %s from etcd (%d endpoint%s tried): %s: check that etcd is up and "
		       "that --etcd (or the file's etcd.endpoints) gives its client URLs", key, x.e.n_endpoints,
		       x.e.n_endpoints > 1 ? "s" : "", err);
		ctl_etcd_close(&x);
		return EXIT_RUNTIME;
	}
	for (size_t i = 0; i < r.n; i++) {
		const struct etcd_kv *kv = &r.kvs[i];
		const char *k = kv->key + plen, *name;
		bool is_node = !strncmp(k, "nodes/", 6), is_status = !strncmp(k, "status/", 7);
		struct node *nd;

		if (strncmp(kv->key, key, plen) || (!is_node && !is_status))
			continue;
		name = k + (is_node ? 6 : 7);
		if (!name[0] || strchr(name, '/') || !(nd = node_get(&nodes, &n, name)))
			continue;
		if (is_node) {
			nd->doc = kv;
		} else {
			json_decref(nd->status);
			nd->status = json_loadb(kv->value, kv->value_len, 0, NULL);
			if (!nd->status) /* not hermesd's: shown as down, with what it holds */
				snprintf(nd->doc_err, sizeof(nd->doc_err), "the status key is not JSON: %.80s", kv->value);
		}
	}
	if (n) /* no node: nodes is NULL, and qsort(NULL, 0, ...) undefined (a UBSan abort) */
		qsort(nodes, n, sizeof(*nodes), by_name);
	for (size_t i = 0; i < n; i++) {
		struct node *nd = &nodes[i];

		if (nd->doc)
			node_docs(nd, &r, x.e.prefix);
		nd->applied = nd->status ? jnum(nd->status, "applied_revision") : 0;
		nd->state = !nd->doc ? ST_NO_DOCUMENT : !nd->status ? ST_DOWN :
			    nd->applied >= nd->doc_rev ? ST_IN_SYNC : ST_BEHIND;
		all = all && nd->state == ST_IN_SYNC;
	}
	if (json)
		print_json(nodes, n, r.revision, all);
	else if (!n)
		printf("no node under %snodes/ nor %sstatus/ (etcd revision %" PRId64 ")\n", key, key, r.revision);
	else
		print_table(nodes, n, r.revision);
	for (size_t i = 0; i < n; i++)
		json_decref(nodes[i].status);
	free(nodes);
	etcd_range_free(&r);
	ctl_etcd_close(&x);
	return all ? EXIT_OK : EXIT_NOT_IN_SYNC;
}
