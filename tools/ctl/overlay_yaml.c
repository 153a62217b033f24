/* overlay_yaml.c: the YAML documents of overlay.h: the top-level keys of a document of
 * reload keys, and the merge of several into one (the node's keys, its compiled routes,
 * its shared documents) with libyaml's document API and emitter, which quotes what needs
 * quoting. Only used when the texts share a key: otherwise the texts are kept verbatim. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "etcd_merge.h"
#include "overlay.h"

/* text as a document; its root (NULL for an empty document) must be a mapping. */
static int load(const char *text, size_t len, const char *name, yaml_document_t *doc, yaml_node_t **root, char *err,
		size_t errlen)
{
	yaml_parser_t p;
	int ok;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	ok = yaml_parser_load(&p, doc);
	if (!ok) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", name, p.problem_mark.line + 1, p.problem_mark.column + 1,
			 p.problem ? p.problem : "not YAML");
		yaml_parser_delete(&p);
		return -EINVAL;
	}
	yaml_parser_delete(&p);
	*root = yaml_document_get_root_node(doc);
	if (*root && (*root)->type == YAML_SCALAR_NODE && !(*root)->data.scalar.length)
		*root = NULL;
	if (*root && (*root)->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "%s:%zu:%zu: the document is not a mapping of keys (expected key: value lines, "
			 "as in hermes.yaml)", name, (*root)->start_mark.line + 1, (*root)->start_mark.column + 1);
		yaml_document_delete(doc);
		return -EINVAL;
	}
	return 0;
}

void ov_keys_free(struct ov_keys *k)
{
	free(k->names);
	free(k->is_list);
	memset(k, 0, sizeof(*k));
}

int ov_top_keys(const char *text, size_t len, struct ov_keys *k, char *err, size_t errlen)
{
	yaml_document_t doc;
	yaml_node_t *root;
	int rc = load(text, len, "document", &doc, &root, err, errlen);
	size_t n;

	memset(k, 0, sizeof(*k));
	if (rc)
		return rc;
	n = root ? (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start) : 0;
	k->names = calloc(n + 1, sizeof(*k->names));
	k->is_list = calloc(n + 1, sizeof(*k->is_list));
	if (!k->names || !k->is_list) {
		ov_keys_free(k);
		yaml_document_delete(&doc);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_pair_t *pr = root->data.mapping.pairs.start + i;
		yaml_node_t *key = yaml_document_get_node(&doc, pr->key), *v = yaml_document_get_node(&doc, pr->value);

		if (key->type == YAML_SCALAR_NODE)
			snprintf(k->names[k->n], sizeof(k->names[0]), "%.*s", (int)key->data.scalar.length,
				 (const char *)key->data.scalar.value);
		k->is_list[k->n++] = v->type == YAML_SEQUENCE_NODE;
	}
	yaml_document_delete(&doc);
	return 0;
}

/* A copy of node id of src into dst: its id there, 0 when out of memory. */
static int copy(yaml_document_t *dst, yaml_document_t *src, int id)
{
	yaml_node_t *n = yaml_document_get_node(src, id);
	int out = 0;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		return yaml_document_add_scalar(dst, NULL, n->data.scalar.value, (int)n->data.scalar.length,
						n->data.scalar.style);
	case YAML_SEQUENCE_NODE:
		out = yaml_document_add_sequence(dst, NULL, YAML_BLOCK_SEQUENCE_STYLE);
		for (yaml_node_item_t *it = n->data.sequence.items.start; out && it < n->data.sequence.items.top; it++) {
			int c = copy(dst, src, *it);

			if (!c || !yaml_document_append_sequence_item(dst, out, c))
				return 0;
		}
		return out;
	case YAML_MAPPING_NODE:
		out = yaml_document_add_mapping(dst, NULL, n->data.mapping.style);
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; out && p < n->data.mapping.pairs.top; p++) {
			int k = copy(dst, src, p->key), v = k ? copy(dst, src, p->value) : 0;

			if (!v || !yaml_document_append_mapping_pair(dst, out, k, v))
				return 0;
		}
		return out;
	default:
		return 0;
	}
}

/* Emits doc (and deletes it) as text. */
static int emit(yaml_document_t *doc, char **out, size_t *len)
{
	yaml_emitter_t e;
	struct etcd_yaml_buf s = { 0 };
	int ok;

	if (!yaml_emitter_initialize(&e)) {
		yaml_document_delete(doc);
		return -ENOMEM;
	}
	yaml_emitter_set_output(&e, etcd_yaml_out, &s);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, 100);
	ok = yaml_emitter_open(&e) && yaml_emitter_dump(&e, doc) && yaml_emitter_close(&e);
	yaml_emitter_delete(&e);
	if (!ok) {
		yaml_document_delete(doc);
		free(s.p);
		return -ENOMEM;
	}
	*out = s.p ? s.p : strdup("");
	*len = s.len;
	return *out ? 0 : -ENOMEM;
}

int ov_emit_node(yaml_document_t *src, int id, char **out, size_t *len)
{
	yaml_document_t dst;

	if (!yaml_document_initialize(&dst, NULL, NULL, NULL, 1, 1))
		return -ENOMEM;
	/* the copy's first node, its root, is the copied node */
	if (!copy(&dst, src, id)) {
		yaml_document_delete(&dst);
		return -ENOMEM;
	}
	return emit(&dst, out, len);
}

struct key_slot {
	char name[64];
	int node;   /* its value in the merged document */
	int from;   /* which text set it first */
};

int ov_merge(const char *const *texts, const size_t *lens, const char *const *names, int n, const char *skip,
	     char **out, size_t *out_len, char *err, size_t errlen)
{
	yaml_document_t dst, *src = calloc((size_t)n, sizeof(*src));
	struct key_slot *slots = NULL;
	int n_slots = 0, cap = 0, root, loaded = 0, rc = 0;

	if (!src)
		return -ENOMEM;
	if (!yaml_document_initialize(&dst, NULL, NULL, NULL, 1, 1)) {
		free(src);
		return -ENOMEM;
	}
	root = yaml_document_add_mapping(&dst, NULL, YAML_BLOCK_MAPPING_STYLE);
	for (int t = 0; t < n && !rc && root; t++, loaded++) {
		yaml_node_t *r;

		if ((rc = load(texts[t], lens[t], names[t], &src[t], &r, err, errlen)))
			break;
		for (yaml_node_pair_t *p = r ? r->data.mapping.pairs.start : NULL; r && p < r->data.mapping.pairs.top;
		     p++) {
			yaml_node_t *k = yaml_document_get_node(&src[t], p->key), *v = yaml_document_get_node(&src[t], p->value);
			char key[64];
			int s;

			snprintf(key, sizeof(key), "%.*s", k->type == YAML_SCALAR_NODE ? (int)k->data.scalar.length : 0,
				 k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "");
			if (skip && !strcmp(key, skip))
				continue;
			for (s = 0; s < n_slots && strcmp(slots[s].name, key); s++)
				;
			if (s < n_slots) {
				yaml_node_t *have = yaml_document_get_node(&dst, slots[s].node);

				if (have->type != YAML_SEQUENCE_NODE || v->type != YAML_SEQUENCE_NODE) {
					snprintf(err, errlen, "'%s' is set by %s and by %s (a list section such as "
						 "routes or policy may be in both and is joined; any other key in one "
						 "place only)", key, names[slots[s].from], names[t]);
					rc = -EINVAL;
					break;
				}
				for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
				     it++) {
					int c = copy(&dst, &src[t], *it);

					if (!c || !yaml_document_append_sequence_item(&dst, slots[s].node, c)) {
						rc = -ENOMEM;
						break;
					}
				}
				continue;
			}
			if (n_slots == cap) {
				struct key_slot *ns = realloc(slots, (size_t)(cap = cap ? cap * 2 : 16) * sizeof(*ns));

				if (!ns) {
					rc = -ENOMEM;
					break;
				}
				slots = ns;
			}
			snprintf(slots[n_slots].name, sizeof(slots[0].name), "%s", key);
			slots[n_slots].from = t;
			slots[n_slots].node = copy(&dst, &src[t], p->value);
			s = copy(&dst, &src[t], p->key);
			if (!slots[n_slots].node || !s || !yaml_document_append_mapping_pair(&dst, root, s, slots[n_slots].node)) {
				rc = -ENOMEM;
				break;
			}
			n_slots++;
		}
	}
	for (int t = 0; t < loaded; t++)
		yaml_document_delete(&src[t]);
	free(src);
	free(slots);
	if (!root && !rc)
		rc = -ENOMEM;
	if (rc) {
		yaml_document_delete(&dst);
		return rc;
	}
	return emit(&dst, out, out_len);
}
