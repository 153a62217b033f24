/* etcd_merge.c: a node's documents in etcd and their merge into one configuration
 * (etcd_merge.h). The merge works on libyaml's document trees, not on text: the node's
 * document and each shared one are parsed, their top-level pairs copied into a new tree
 * (a list met again gets the later entries appended), and the tree written out as YAML
 * for the config loader, which then checks it as it checks a file. Copies are counted
 * against the loader's own limits (CFG_MAX_NODES, CFG_MAX_DEPTH), since an alias in a
 * document is copied as often as it is used.
 *
 * So that a message of the loader about the merged text can name the document and line
 * the value came from, the text is laid out one line per top-level entry: each list
 * entry, and each other top-level value, is written in flow style on one line (a line
 * break inside a string is written as \n in double quotes, and lines are never folded),
 * so that the merged line of an entry says where it came from (etcd_merged.lines). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config-t.h"
#include "etcd_merge.h"

void etcd_docset_init(struct etcd_docset *d, const char *node_key, const char *shared_prefix)
{
	memset(d, 0, sizeof(*d));
	d->node_key = node_key;
	d->shared_prefix = shared_prefix;
}

void etcd_docset_clear(struct etcd_docset *d)
{
	free(d->node);
	d->node = NULL;
	d->node_len = 0;
	d->node_rev = 0;
	for (size_t i = 0; i < d->n_shared; i++)
		free(d->shared[i].value);
	d->n_shared = 0;
}

void etcd_docset_free(struct etcd_docset *d)
{
	etcd_docset_clear(d);
	free(d->shared);
	d->shared = NULL;
	d->cap = 0;
}

/* The shared document's name in key, or NULL when key is not PREFIX/shared/NAME. */
static const char *shared_name(const struct etcd_docset *d, const char *key)
{
	size_t n = strlen(d->shared_prefix);

	if (strncmp(key, d->shared_prefix, n) || !key[n] || strchr(key + n, '/') ||
	    strlen(key + n) >= ETCD_MERGE_NAME_MAX)
		return NULL;
	return key + n;
}

static struct etcd_shared_doc *find_shared(const struct etcd_docset *d, const char *name)
{
	for (size_t i = 0; i < d->n_shared; i++)
		if (!strcmp(d->shared[i].name, name))
			return &d->shared[i];
	return NULL;
}

int etcd_docset_put(struct etcd_docset *d, const char *key, const char *value, size_t len, int64_t rev)
{
	const char *name = shared_name(d, key);
	struct etcd_shared_doc *s;
	char *copy;

	if (rev > d->rev)
		d->rev = rev;
	if (strcmp(key, d->node_key) && !name)
		return 0;
	if (!(copy = malloc(len + 1)))
		return -ENOMEM;
	memcpy(copy, value, len);
	copy[len] = 0;
	if (!name) {
		free(d->node);
		d->node = copy;
		d->node_len = len;
		d->node_rev = rev;
		return 0;
	}
	if (!(s = find_shared(d, name))) {
		if (d->n_shared == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 8;
			struct etcd_shared_doc *p = realloc(d->shared, cap * sizeof(*p));

			if (!p) {
				free(copy);
				return -ENOMEM;
			}
			d->shared = p;
			d->cap = cap;
		}
		s = &d->shared[d->n_shared++];
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->value = NULL;
	}
	free(s->value);
	s->value = copy;
	s->len = len;
	s->rev = rev;
	return 0;
}

void etcd_docset_delete(struct etcd_docset *d, const char *key, int64_t rev)
{
	const char *name = shared_name(d, key);
	struct etcd_shared_doc *s;

	if (rev > d->rev)
		d->rev = rev;
	if (!strcmp(key, d->node_key)) {
		free(d->node);
		d->node = NULL;
		d->node_len = 0;
		d->node_rev = rev;
	} else if (name && (s = find_shared(d, name))) {
		free(s->value);
		*s = d->shared[--d->n_shared];
	}
}

void etcd_merged_free(struct etcd_merged *m)
{
	free(m->doc);
	m->doc = NULL;
	free(m->lines);
	m->lines = NULL;
	free(m->srcs);
	m->srcs = NULL;
}

void etcd_merged_explain(const struct etcd_merged *m, const char *name, const char *err, char *out, size_t len)
{
	size_t nl = strlen(name);
	const struct etcd_merged_line *l;
	long line = 0;
	char *end;

	if (m->lines && !strncmp(err, name, nl) && err[nl] == ':') {
		line = strtol(err + nl + 1, &end, 10);
		if (*end == ':')
			strtol(end + 1, &end, 10); /* the merged column: the entry's own is given */
		if (*end == ':' && end[1] == ' ' && line >= 1 && (size_t)line <= m->n_lines &&
		    (l = &m->lines[line - 1])->src >= 0) {
			snprintf(out, len, "%s revision %" PRId64 ":%d:%d: %s (the entry on line %ld of the merged "
				 "document)", m->srcs[l->src].key, m->srcs[l->src].rev, l->line, l->col, end + 2, line);
			return;
		}
	}
	snprintf(out, len, "%s", err);
}

/* ---- the merge ---- */

struct src {
	yaml_document_t doc;
	bool loaded;
	char key[320]; /* its etcd key */
	int64_t rev;
};

/* A top-level key of the merged tree: where its value is and which document set it. */
struct top {
	const char *name; /* in the source's tree */
	int value;        /* node id in the merged tree */
	bool list;
	int src;
};

/* Where an entry of the merged tree came from (indexed by its node id). */
struct origin {
	int src; /* index into srcs + 1 (0: none recorded) */
	int line, col;
};

struct mctx {
	yaml_document_t out;
	struct origin *orig; /* by node id of the merged tree */
	size_t n_orig;
	struct src *srcs;
	struct top *tops;
	size_t n_tops, cap_tops;
	size_t nodes;
	int64_t doc_rev; /* the newest of the documents found so far */
	char *err;
	size_t errlen;
};

static int fail(struct mctx *m, const struct src *s, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct mctx *m, const struct src *s, const yaml_node_t *n, const char *fmt, ...)
{
	size_t l;
	va_list ap;

	l = (size_t)snprintf(m->err, m->errlen, "%s revision %" PRId64 ":%zu:%zu: ", s->key, s->rev,
			     n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1);
	if (l < m->errlen) {
		va_start(ap, fmt);
		vsnprintf(m->err + l, m->errlen - l, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int oom(struct mctx *m)
{
	snprintf(m->err, m->errlen, "out of memory while merging the shared documents");
	return -ENOMEM;
}

/* Node id of src's tree copied into the merged one: > 0, or -errno. flow: collections in
 * flow style and strings on one line (an entry written on one line). */
static int copy_node(struct mctx *m, struct src *s, int id, int depth, bool flow)
{
	yaml_node_t *n = yaml_document_get_node(&s->doc, id);
	int out = 0, k, v;

	if (!n)
		return fail(m, s, NULL, "a node the YAML parser did not make");
	if (++m->nodes > CFG_MAX_NODES || depth > CFG_MAX_DEPTH) {
		fail(m, s, n, "the merged configuration has more than %d keys, values and list entries, or nests "
		     "deeper than %d (aliases count each time they are used)", CFG_MAX_NODES, CFG_MAX_DEPTH);
		return -E2BIG;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		out = yaml_document_add_scalar(&m->out, n->tag, n->data.scalar.value, (int)n->data.scalar.length,
					       flow && memchr(n->data.scalar.value, '\n', n->data.scalar.length) ?
						       YAML_DOUBLE_QUOTED_SCALAR_STYLE : n->data.scalar.style);
		break;
	case YAML_SEQUENCE_NODE:
		out = yaml_document_add_sequence(&m->out, n->tag, flow ? YAML_FLOW_SEQUENCE_STYLE : n->data.sequence.style);
		for (yaml_node_item_t *i = n->data.sequence.items.start; out && i < n->data.sequence.items.top; i++) {
			if ((v = copy_node(m, s, *i, depth + 1, flow)) < 0)
				return v;
			/* n may have moved: the source tree is not written to, so it has not */
			if (!yaml_document_append_sequence_item(&m->out, out, v))
				return oom(m);
		}
		break;
	case YAML_MAPPING_NODE:
		out = yaml_document_add_mapping(&m->out, n->tag, flow ? YAML_FLOW_MAPPING_STYLE : n->data.mapping.style);
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; out && p < n->data.mapping.pairs.top; p++) {
			if ((k = copy_node(m, s, p->key, depth + 1, flow)) < 0)
				return k;
			if ((v = copy_node(m, s, p->value, depth + 1, flow)) < 0)
				return v;
			if (!yaml_document_append_mapping_pair(&m->out, out, k, v))
				return oom(m);
		}
		break;
	default:
		return fail(m, s, n, "an empty YAML node");
	}
	return out ? out : oom(m);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Records that node id of the merged tree comes from srcs[src] at n's position. */
static int note(struct mctx *m, int id, int src, const yaml_node_t *n)
{
	if ((size_t)id >= m->n_orig) {
		size_t cap = (size_t)id * 2 + 64;
		struct origin *o = realloc(m->orig, cap * sizeof(*o));

		if (!o)
			return oom(m);
		memset(o + m->n_orig, 0, (cap - m->n_orig) * sizeof(*o));
		m->orig = o;
		m->n_orig = cap;
	}
	m->orig[id] = (struct origin){ src + 1, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1 };
	return 0;
}

/* The entries of srcs[i]'s list vn appended to the merged list seq, each on a line. */
static int append_items(struct mctx *m, int i, yaml_node_t *vn, int seq)
{
	struct src *s = &m->srcs[i];
	int v, rc;

	for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
		if ((v = copy_node(m, s, *it, 2, true)) < 0)
			return v;
		if ((rc = note(m, v, i, yaml_document_get_node(&s->doc, *it))))
			return rc;
		if (!yaml_document_append_sequence_item(&m->out, seq, v))
			return oom(m);
	}
	return 0;
}

/* The top-level pairs of srcs[i] into the merged tree. */
static int merge_one(struct mctx *m, int i, int root)
{
	struct src *s = &m->srcs[i];
	yaml_node_t *r = yaml_document_get_root_node(&s->doc);

	if (!r || (r->type == YAML_SCALAR_NODE && !r->data.scalar.length))
		return 0; /* empty: no keys */
	if (r->type != YAML_MAPPING_NODE)
		return fail(m, s, r, "the top level is not a mapping (expected the same keys as hermes.yaml's that "
			    "a reload may change, e.g. routes: [...])");
	for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(&s->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(&s->doc, p->value);
		const char *name = scalar(kn);
		struct top *t = NULL;
		int k, v, rc;

		if (!name || !vn)
			return fail(m, s, kn, "a top-level key that is not a single word");
		if (!strcmp(name, "shared")) {
			if (i == 0)
				continue;
			return fail(m, s, kn, "a shared document cannot name shared documents ('shared' belongs in a "
				    "node's document, PREFIX/nodes/NODE)");
		}
		for (size_t j = 0; j < m->n_tops && !t; j++)
			if (!strcmp(m->tops[j].name, name))
				t = &m->tops[j];
		if (t && t->list && vn->type == YAML_SEQUENCE_NODE) {
			if ((rc = append_items(m, i, vn, t->value)))
				return rc;
			continue;
		}
		if (t)
			return fail(m, s, kn, "'%s' is set here and in %s revision %" PRId64 ": a single value or a "
				    "mapping is set in one document only (lists are joined, the node's entries first)",
				    name, m->srcs[t->src].key, m->srcs[t->src].rev);
		if ((k = copy_node(m, s, p->key, 1, true)) < 0)
			return k;
		if (vn->type == YAML_SEQUENCE_NODE) {
			/* block style: one line per entry */
			if (!(v = yaml_document_add_sequence(&m->out, vn->tag, YAML_BLOCK_SEQUENCE_STYLE)))
				return oom(m);
			if ((rc = append_items(m, i, vn, v)))
				return rc;
		} else if ((v = copy_node(m, s, p->value, 1, true)) < 0) {
			return v;
		}
		if ((rc = note(m, k, i, kn)))
			return rc;
		if (!yaml_document_append_mapping_pair(&m->out, root, k, v))
			return oom(m);
		if (m->n_tops == m->cap_tops) {
			size_t cap = m->cap_tops ? m->cap_tops * 2 : 32;
			struct top *nt = realloc(m->tops, cap * sizeof(*nt));

			if (!nt)
				return oom(m);
			m->tops = nt;
			m->cap_tops = cap;
		}
		/* the name stays valid: the source trees live until the merge ends */
		m->tops[m->n_tops++] = (struct top){ name, v, vn->type == YAML_SEQUENCE_NODE, i };
	}
	return 0;
}

/* Parses text into s; a syntax error is the merge's error (the shared document is not
 * what the loader reads, so it could not name it). */
static int parse(struct mctx *m, struct src *s, const char *text, size_t len)
{
	yaml_parser_t p;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return oom(m);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &s->doc)) {
		snprintf(m->err, m->errlen, "%s revision %" PRId64 ":%zu:%zu: YAML syntax error: %s (expected "
			 "well-formed YAML)", s->key, s->rev, p.problem_mark.line + 1, p.problem_mark.column + 1,
			 p.problem ? p.problem : "unknown problem");
		rc = p.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	} else {
		s->loaded = true;
	}
	yaml_parser_delete(&p);
	return rc;
}

/* libyaml's emitter writes through this: the text grows in b, NUL-terminated. */
int etcd_yaml_out(void *arg, unsigned char *data, size_t n)
{
	struct etcd_yaml_buf *b = arg;

	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
	return 1;
}

/* The merged text's lines as emit() lays them out (a comment, then per top-level key a
 * line "KEY: VALUE", or "KEY:" and a line per entry of a list that has some), each with
 * where it came from. */
static int line_map(struct mctx *m, int root, int n_srcs, struct etcd_merged *out)
{
	yaml_node_t *r = yaml_document_get_node(&m->out, root);
	size_t n = 1, at = 0;

	for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top; p++) {
		yaml_node_t *v = yaml_document_get_node(&m->out, p->value);

		n += 1 + (v->type == YAML_SEQUENCE_NODE ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start) :
							   0);
	}
	out->lines = calloc(n, sizeof(*out->lines));
	out->srcs = calloc((size_t)n_srcs, sizeof(*out->srcs));
	if (!out->lines || !out->srcs)
		return oom(m);
	for (int i = 0; i < n_srcs; i++) {
		snprintf(out->srcs[i].key, sizeof(out->srcs[i].key), "%s", m->srcs[i].key);
		out->srcs[i].rev = m->srcs[i].rev;
	}
	out->lines[at++].src = -1;
	for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top; p++) {
		yaml_node_t *v = yaml_document_get_node(&m->out, p->value);
		const struct origin *o = (size_t)p->key < m->n_orig ? &m->orig[p->key] : NULL;

		out->lines[at++] = (struct etcd_merged_line){ o ? o->src - 1 : -1, o ? o->line : 0, o ? o->col : 0 };
		if (v->type != YAML_SEQUENCE_NODE)
			continue;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			o = (size_t)*it < m->n_orig ? &m->orig[*it] : NULL;
			out->lines[at++] = (struct etcd_merged_line){ o ? o->src - 1 : -1, o ? o->line : 0, o ? o->col : 0 };
		}
	}
	out->n_lines = n;
	return 0;
}

/* The merged tree as YAML after a comment naming its documents. Consumes m->out. */
static int emit(struct mctx *m, const char *head, struct etcd_merged *out)
{
	struct etcd_yaml_buf b = { 0 };
	yaml_emitter_t em;
	int ok;

	if (!etcd_yaml_out(&b, (unsigned char *)head, strlen(head)) || !yaml_emitter_initialize(&em)) {
		yaml_document_delete(&m->out);
		free(b.p);
		return oom(m);
	}
	yaml_emitter_set_output(&em, etcd_yaml_out, &b);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	/* the dump consumes the tree, even when it fails */
	ok = yaml_emitter_open(&em);
	if (!ok)
		yaml_document_delete(&m->out);
	ok = ok && yaml_emitter_dump(&em, &m->out) && yaml_emitter_close(&em);
	if (!ok)
		snprintf(m->err, m->errlen, "cannot write the merged configuration as YAML: %s",
			 em.problem ? em.problem : "out of memory");
	yaml_emitter_delete(&em);
	if (!ok) {
		free(b.p);
		return -ENOMEM;
	}
	out->doc = b.p;
	out->len = b.len;
	return 0;
}

/* The node's `shared` list, or NULL (none, or a document the loader will judge). */
static yaml_node_t *shared_list(struct src *node)
{
	yaml_node_t *r = yaml_document_get_root_node(&node->doc);

	if (!r || r->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(&node->doc, p->key));

		if (k && !strcmp(k, "shared"))
			return yaml_document_get_node(&node->doc, p->value);
	}
	return NULL;
}

/* The names of list into srcs[1..], each found in d; *n: how many. */
static int take_names(struct mctx *m, const struct etcd_docset *d, yaml_node_t *list, const char **texts,
		      size_t *lens, int *n)
{
	struct src *node = &m->srcs[0];

	*n = 0;
	if (list->type != YAML_SEQUENCE_NODE)
		return fail(m, node, list, "'shared' is not a list (expected the names of shared documents, e.g. "
			    "shared: [routes, base]: each is the key %sNAME)", d->shared_prefix);
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		yaml_node_t *in = yaml_document_get_node(&node->doc, *it);
		const char *name = scalar(in);
		const struct etcd_shared_doc *sd;

		if (!name || !name[0] || strchr(name, '/') || strlen(name) >= ETCD_MERGE_NAME_MAX)
			return fail(m, node, in, "'shared' entry %d is not a name (expected 1 to %d characters "
				    "without '/': the shared document is %sNAME)", *n + 1, ETCD_MERGE_NAME_MAX - 1,
				    d->shared_prefix);
		if (*n == ETCD_MERGE_MAX_SHARED)
			return fail(m, node, in, "'shared' names more than %d documents", ETCD_MERGE_MAX_SHARED);
		for (int j = 1; j <= *n; j++)
			if (!strcmp(m->srcs[j].key + strlen(d->shared_prefix), name))
				return fail(m, node, in, "'shared' names '%s' twice", name);
		if (!(sd = find_shared(d, name)))
			return fail(m, node, in, "the shared document '%s' does not exist: no key %s%s at revision "
				    "%" PRId64 " (write it, or take it off the list)", name, d->shared_prefix, name,
				    d->rev);
		snprintf(m->srcs[*n + 1].key, sizeof(m->srcs[0].key), "%s%s", d->shared_prefix, name);
		m->srcs[*n + 1].rev = sd->rev;
		if (sd->rev > m->doc_rev)
			m->doc_rev = sd->rev;
		texts[*n] = sd->value;
		lens[*n] = sd->len;
		(*n)++;
	}
	return 0;
}

int etcd_docset_merge(const struct etcd_docset *d, struct etcd_merged *out, char *err, size_t errlen)
{
	struct src srcs[ETCD_MERGE_MAX_SHARED + 1];
	struct mctx m = { .srcs = srcs, .err = err, .errlen = errlen };
	const char *texts[ETCD_MERGE_MAX_SHARED];
	size_t lens[ETCD_MERGE_MAX_SHARED], used = 0;
	yaml_node_t *list;
	char head[640];
	int n = 0, rc, root;

	memset(out, 0, sizeof(*out));
	memset(srcs, 0, sizeof(srcs));
	err[0] = 0;
	if (!d->node) {
		snprintf(err, errlen, "no key %s (revision %" PRId64 ")", d->node_key, d->rev);
		return -ENOENT;
	}
	snprintf(srcs[0].key, sizeof(srcs[0].key), "%s", d->node_key);
	srcs[0].rev = d->node_rev;
	out->doc_rev = m.doc_rev = d->node_rev;
	/* not YAML, or no shared list: as written, for the loader's own messages */
	if (parse(&m, &srcs[0], d->node, d->node_len) == -ENOMEM)
		return -ENOMEM;
	if (!srcs[0].loaded || !(list = shared_list(&srcs[0]))) {
		if (srcs[0].loaded)
			yaml_document_delete(&srcs[0].doc);
		err[0] = 0;
		if (!(out->doc = malloc(d->node_len + 1)))
			return oom(&m);
		memcpy(out->doc, d->node, d->node_len + 1);
		out->len = d->node_len;
		return 0;
	}
	rc = take_names(&m, d, list, texts, lens, &n);
	out->doc_rev = m.doc_rev;
	for (int i = 0; !rc && i < n; i++)
		rc = parse(&m, &srcs[i + 1], texts[i], lens[i]);
	if (!rc && !yaml_document_initialize(&m.out, NULL, NULL, NULL, 1, 1))
		rc = oom(&m);
	if (!rc) {
		root = yaml_document_add_mapping(&m.out, NULL, YAML_BLOCK_MAPPING_STYLE);
		rc = root ? 0 : oom(&m);
		for (int i = 0; !rc && i <= n; i++)
			rc = merge_one(&m, i, root);
		if (rc)
			yaml_document_delete(&m.out);
	}
	if (!rc) {
		for (int i = 1; i <= n; i++) {
			if (used < sizeof(out->used))
				used += (size_t)snprintf(out->used + used, sizeof(out->used) - used, "%s%s revision %" PRId64,
							 i == 1 ? " with " : ", ", srcs[i].key, srcs[i].rev);
		}
		out->n_shared = n;
		snprintf(head, sizeof(head), "# merged by hermesd: %s revision %" PRId64 "%s\n", d->node_key, d->node_rev,
			 out->used);
		rc = line_map(&m, root, n + 1, out);
		if (rc)
			yaml_document_delete(&m.out);
		else
			rc = emit(&m, head, out);
		if (rc)
			etcd_merged_free(out);
	}
	for (int i = 0; i <= n; i++)
		if (srcs[i].loaded)
			yaml_document_delete(&srcs[i].doc);
	free(m.tops);
	free(m.orig);
	return rc;
}
