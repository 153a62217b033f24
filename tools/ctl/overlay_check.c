/* overlay_check.c: each node's document checked as hermesd will take it (overlay.h,
 * ov_check_node): the document apply writes for the node and its shared documents merged
 * by hermesd's own merge (userspace/etcd_merge.c: one merge, so that the check cannot
 * disagree with the nodes), then hermesd's own loader (config_load_mem) on the result,
 * so that what apply writes is what every node accepts. The merge says which document and
 * line each merged entry came from: a fault is reported at the overlay file's line when
 * its text is there as written (a literal block), else quoted from the generated text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "etcd_merge.h"
#include "overlay.h"

struct piece {
	const char *text;
	size_t len;
	char name[160];               /* whose it is, for messages */
	const struct ov_text *where;  /* its place in the overlay file; NULL: generated */
	int start;                    /* its first line in the joined text */
};

static int lines(const char *s, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n + (len && s[len - 1] != '\n');
}

/* Line n (1-based) of s, for quoting. */
static void quote_line(const char *s, int n, char *out, size_t cap)
{
	const char *p = s;

	for (int i = 1; i < n && p; i++)
		if ((p = strchr(p, '\n')))
			p++;
	snprintf(out, cap, "%.*s", p ? (int)strcspn(p, "\n") : 0, p ? p : "");
}

/* The fault's text after its "@:LINE:COL: ", "@:LINE: " or "@: ", and where (0: not said). */
static const char *fault_text(const char *msg, int *line, int *col)
{
	int used = 0;

	*line = *col = 0;
	if (sscanf(msg, "@:%d:%d: %n", line, col, &used) >= 2 && used)
		return msg + used;
	*col = 0;
	if (sscanf(msg, "@:%d: %n", line, &used) >= 1 && used)
		return msg + used;
	*line = 0;
	return !strncmp(msg, "@: ", 3) ? msg + 3 : msg;
}

/* The loader's message "@:LINE:COL: what" (or "@: what") rewritten to name the piece;
 * who: "node 'NAME': " or "". */
static void map_error(const struct overlay *ov, const struct piece *ps, int n, const char *joined, bool merged,
		      const char *who, const char *msg, char *err, size_t errlen)
{
	int line, col, k;
	const char *what;
	char q[160], at[16] = "";

	what = fault_text(msg, &line, &col);
	if (!line) {
		snprintf(err, errlen, "%s: %s%s", ov->path, who, what);
		return;
	}
	for (k = n - 1; k > 0 && ps[k].start > line; k--)
		;
	quote_line(joined, line, q, sizeof(q));
	if (merged || !ps[k].where) {
		snprintf(err, errlen, "%s: %sline %d of %s (`%s`): %s", ov->path, who, line,
			 merged ? "its merged document (its config, routes and shared documents)" : ps[k].name, q, what);
		return;
	}
	if (!ps[k].where->first_line) {
		snprintf(err, errlen, "%s:%d: %s%s, its line %d (`%s`): %s", ov->path, ps[k].where->key_line, who,
			 ps[k].name, line - ps[k].start + 1, q, what);
		return;
	}
	if (col)
		snprintf(at, sizeof(at), ":%d", col + ps[k].where->indent);
	snprintf(err, errlen, "%s:%d%s: %s%s: %s", ov->path, ps[k].where->first_line + line - ps[k].start, at, who,
		 ps[k].name, what);
}

/* Where a line of node i's merged configuration came from, as hermesd's merge
 * (etcd_merge.c) says: the node's document (src 0) or a shared one. The node's document
 * is what apply writes (overlay_compile.c): its header line, then its config as written
 * (unless merged with the routes: a key in both), then the compiled routes and its
 * shared list. */
struct where {
	const struct overlay *ov;
	const struct ov_out *out;
	int i;
	const char *doc; /* the node's document */
	size_t len;
	int cfg_start;   /* the config's first line in it; 0: not as written */
	int comp_start;  /* the routes' first line in it; 0: none or merged */
};

/* "what" of a message of etcd_merge.c, its "KEY revision R" named as hermesctl names
 * the documents */
static void name_docs(const struct where *w, const char *what, char *out, size_t len)
{
	const struct ov_node *node = &w->ov->nodes[w->i];
	size_t o = 0;

	while (*what && o + 1 < len) {
		const char *label = NULL;
		char key[OV_NAME_MAX + 32], lab[OV_NAME_MAX + 32];
		size_t kl = 0;

		snprintf(key, sizeof(key), "nodes/%s revision 0", node->name);
		if (!strncmp(what, key, strlen(key))) {
			label = "its document";
			kl = strlen(key);
		}
		for (int s = 0; !label && s < node->n_shared; s++) {
			const char *name = w->ov->shared[node->shared[s]].name;

			snprintf(key, sizeof(key), "shared/%s revision 0", name);
			if (!strncmp(what, key, strlen(key))) {
				snprintf(lab, sizeof(lab), "shared document '%s'", name);
				label = lab;
				kl = strlen(key);
			}
		}
		if (label) {
			o += (size_t)snprintf(out + o, len - o, "%s", label);
			what += kl;
		} else {
			out[o++] = *what++;
		}
	}
	out[o < len ? o : len - 1] = 0;
}

/* The node's config merged with its routes (a key in both) is not in its document as
 * written: a fault it has alone (a bad value, not a clash) is found at its own line by
 * loading it alone. true and *line, *col when the config alone fails with what. */
static bool own_config_fault(const struct ov_node *node, const char *what, int *line, int *col)
{
	struct hermes_config *cfg = malloc(sizeof(*cfg));
	char e[1024];
	const char *own;
	bool same = false;

	if (!cfg)
		return false;
	if (config_load_mem("@", node->config.text, node->config.len, cfg, e, sizeof(e))) {
		own = fault_text(e, line, col);
		same = *line && !strncmp(what, own, strlen(own));
	} else {
		config_free(cfg);
	}
	free(cfg);
	return same;
}

/* err: "node 'NAME': ... what", at line, col (col 0: not known) of src (0 the node's
 * document, k its k-th shared one): at the overlay file's line when the text is there as
 * written, else quoted from the generated document */
static void place(const struct where *w, int src, int line, int col, const char *what, char *err, size_t errlen)
{
	const struct ov_node *node = &w->ov->nodes[w->i];
	struct piece one = { 0 };
	char q[160], msg[1200], who[OV_NAME_MAX + 16];
	int nc = w->out->comp_lens[w->i] ? lines(w->out->comp[w->i], w->out->comp_lens[w->i]) : 0;

	snprintf(who, sizeof(who), "node '%s': ", node->name);
	if (src > 0) {
		const struct ov_shared *sh = &w->ov->shared[node->shared[src - 1]];

		one = (struct piece){ sh->doc.text, sh->doc.len, "", &sh->doc, 1 };
		snprintf(one.name, sizeof(one.name), "shared document '%s'", sh->name);
	} else if (w->cfg_start && line >= w->cfg_start && line < w->cfg_start + lines(node->config.text, node->config.len)) {
		one = (struct piece){ node->config.text, node->config.len, "its config", &node->config, 1 };
		line -= w->cfg_start - 1;
	} else if (w->comp_start && line >= w->comp_start && line < w->comp_start + nc) {
		one = (struct piece){ w->out->comp[w->i], w->out->comp_lens[w->i], "", NULL, 1 };
		snprintf(one.name, sizeof(one.name), "the routes the overlay gives it (overlay apply --dry-run --show %s "
			 "prints them)", node->name);
		line -= w->comp_start - 1;
	} else if (src == 0 && !w->cfg_start && node->config.text && own_config_fault(node, what, &line, &col)) {
		one = (struct piece){ node->config.text, node->config.len, "its config", &node->config, 1 };
	} else {
		quote_line(w->doc, line, q, sizeof(q));
		snprintf(err, errlen, "%s: %sline %d of its document (overlay apply --dry-run --show %s prints it) (`%s`): "
			 "%s", w->ov->path, who, line, node->name, q, what);
		return;
	}
	if (col)
		snprintf(msg, sizeof(msg), "@:%d:%d: %s", line, col, what);
	else
		snprintf(msg, sizeof(msg), "@:%d: %s", line, what);
	map_error(w->ov, &one, 1, one.text, false, who, msg, err, errlen);
}

/* A message "KEY revision 0:L:C: what" of etcd_merge.c placed */
static void place_merge_error(const struct where *w, const char *e, char *err, size_t errlen)
{
	const struct ov_node *node = &w->ov->nodes[w->i];
	char key[OV_NAME_MAX + 32], what[1024];
	int src = -1, line = 0, col = 0, used = 0;

	for (int k = 0; k <= node->n_shared && src < 0; k++) {
		if (k)
			snprintf(key, sizeof(key), "shared/%s revision 0:", w->ov->shared[node->shared[k - 1]].name);
		else
			snprintf(key, sizeof(key), "nodes/%s revision 0:", node->name);
		if (!strncmp(e, key, strlen(key)) && sscanf(e + strlen(key), "%d:%d: %n", &line, &col, &used) >= 2 && used) {
			src = k;
			e += strlen(key) + (size_t)used;
		}
	}
	name_docs(w, e, what, sizeof(what));
	if (src < 0)
		snprintf(err, errlen, "%s:%d: node '%s': %s", w->ov->path, node->line, node->name, what);
	else
		place(w, src, line, col, what, err, errlen);
}

int ov_check_node(const struct overlay *ov, const struct ov_out *out, int i, char *err, size_t errlen)
{
	const struct ov_node *node = &ov->nodes[i];
	struct where w = { ov, out, i, out->docs[i], out->lens[i], 0, 0 };
	struct etcd_docset set;
	struct etcd_merged m = { 0 };
	struct hermes_config *cfg = NULL;
	char key[OV_NAME_MAX + 16], e[1024];
	const char *nl = memchr(w.doc, '\n', w.len);
	size_t at = nl ? (size_t)(nl - w.doc) + 1 : w.len;
	int rc, line, col;

	/* where the config and the routes sit in the node's document (after its header) */
	if (node->config.text && w.len - at >= node->config.len && !memcmp(w.doc + at, node->config.text, node->config.len)) {
		w.cfg_start = 2;
		at += node->config.len + (node->config.len && node->config.text[node->config.len - 1] != '\n');
	}
	if (out->comp_lens[i] && (w.cfg_start || !node->config.text) && w.len - at >= out->comp_lens[i] &&
	    !memcmp(w.doc + at, out->comp[i], out->comp_lens[i]))
		w.comp_start = 2 + (w.cfg_start ? lines(node->config.text, node->config.len) : 0);
	/* hermesd's merge of the documents as etcd will hold them (the keys are for the
	 * messages only) */
	snprintf(key, sizeof(key), "nodes/%s", node->name);
	etcd_docset_init(&set, key, "shared/");
	rc = etcd_docset_put(&set, key, w.doc, w.len, 0);
	for (int s = 0; !rc && s < node->n_shared; s++) {
		const struct ov_shared *sh = &ov->shared[node->shared[s]];
		char sk[OV_NAME_MAX + 16];

		snprintf(sk, sizeof(sk), "shared/%s", sh->name);
		rc = etcd_docset_put(&set, sk, sh->doc.text, sh->doc.len, 0);
	}
	if (!rc && (rc = etcd_docset_merge(&set, &m, e, sizeof(e))) && rc != -ENOMEM)
		place_merge_error(&w, e, err, errlen);
	if (!rc && !(cfg = malloc(sizeof(*cfg))))
		rc = -ENOMEM;
	if (!rc && (rc = config_load_mem("@", m.doc, m.len, cfg, e, sizeof(e)))) {
		const char *what = fault_text(e, &line, &col);
		const struct etcd_merged_line *l;

		if (!line) {
			snprintf(err, errlen, "%s: node '%s': %s", ov->path, node->name, what);
		} else if (!m.n_shared) {
			place(&w, 0, line, col, what, err, errlen);
		} else if (line >= 1 && (size_t)line <= m.n_lines && (l = &m.lines[line - 1])->src >= 0) {
			char q[160], msg[1200];

			/* the entry's own line and column in its document */
			quote_line(m.doc, line, q, sizeof(q));
			snprintf(msg, sizeof(msg), "%s (merged with its shared documents: `%s`)", what, q);
			place(&w, l->src, l->line, l->col, msg, err, errlen);
		} else {
			snprintf(err, errlen, "%s: node '%s': line %d of its merged configuration: %s", ov->path,
				 node->name, line, what);
		}
	} else if (!rc) {
		config_free(cfg);
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: node '%s': out of memory", ov->path, node->name);
	etcd_merged_free(&m);
	etcd_docset_free(&set);
	free(cfg);
	return rc;
}

int ov_check_shared(const struct overlay *ov, int i, char *err, size_t errlen)
{
	const struct ov_shared *sh = &ov->shared[i];
	struct piece one = { sh->doc.text, sh->doc.len, "", &sh->doc, 1 };
	struct hermes_config *cfg = malloc(sizeof(*cfg));
	char e[1024];
	int rc;

	if (!cfg)
		return -ENOMEM;
	snprintf(one.name, sizeof(one.name), "shared document '%s' (no node uses it)", sh->name);
	rc = config_load_mem("@", one.text, one.len, cfg, e, sizeof(e));
	if (rc)
		map_error(ov, &one, 1, one.text, false, "", e, err, errlen);
	else
		config_free(cfg);
	free(cfg);
	return rc;
}
