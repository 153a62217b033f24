/* overlay_check.c: each node's document checked as hermesd will take it (overlay.h,
 * ov_check_node): the node's config, its compiled routes and its shared documents made
 * one document the contract's way, then hermesd's own loader (config_load_mem) on it,
 * so that what apply writes is what every node accepts. When the pieces share no key they
 * are joined as text, so that a fault's line maps back to the overlay file; otherwise they
 * are merged and the fault is shown in the merged document. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "overlay.h"

#define MAX_PIECES (2 + OV_MAX_NODE_SHARED)

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

/* A line of its own that begins or ends a YAML document: joined texts would be two. */
static bool has_doc_marker(const char *s, size_t len)
{
	for (size_t i = 0; i + 3 <= len; i++)
		if ((i == 0 || s[i - 1] == '\n') && (!strncmp(s + i, "---", 3) || !strncmp(s + i, "...", 3)))
			return true;
	return false;
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

/* A merged document's fault that one of its pieces has alone (a bad value, not two
 * pieces at odds) is reported at that piece's line of the overlay file: true if so. */
static bool own_fault(const struct overlay *ov, const struct piece *ps, int n, struct hermes_config *cfg,
		      const char *merged_err, const char *who, char *err, size_t errlen)
{
	char e[1024];
	int line, col;

	for (int k = 0; k < n; k++) {
		struct piece one = ps[k];

		if (!one.where || !config_load_mem("@", one.text, one.len, cfg, e, sizeof(e))) {
			if (one.where)
				config_free(cfg);
			continue;
		}
		if (strcmp(fault_text(e, &line, &col), fault_text(merged_err, &line, &col)))
			continue;
		one.start = 1;
		map_error(ov, &one, 1, one.text, false, who, e, err, errlen);
		return true;
	}
	return false;
}

int ov_check_node(const struct overlay *ov, const struct ov_out *out, int i, char *err, size_t errlen)
{
	const struct ov_node *node = &ov->nodes[i];
	char who[OV_NAME_MAX + 16];
	struct piece ps[MAX_PIECES];
	struct ov_keys keys[MAX_PIECES];
	struct hermes_config *cfg = NULL;
	char *joined = NULL, e[1024];
	size_t jlen = 0;
	bool merged = false;
	int n = 0, rc = 0, line = 1;

	snprintf(who, sizeof(who), "node '%s': ", node->name);
	if (node->config.text) {
		ps[n] = (struct piece){ node->config.text, node->config.len, "", &node->config, 0 };
		snprintf(ps[n++].name, sizeof(ps[0].name), "its config");
	}
	if (out->comp_lens[i]) {
		ps[n] = (struct piece){ out->comp[i], out->comp_lens[i], "", NULL, 0 };
		snprintf(ps[n++].name, sizeof(ps[0].name), "the routes the overlay gives it (overlay apply --dry-run "
			 "--show %s prints them)", node->name);
	}
	for (int s = 0; s < node->n_shared; s++) {
		const struct ov_shared *sh = &ov->shared[node->shared[s]];

		ps[n] = (struct piece){ sh->doc.text, sh->doc.len, "", &sh->doc, 0 };
		snprintf(ps[n++].name, sizeof(ps[0].name), "shared document '%s'", sh->name);
	}
	memset(keys, 0, sizeof(keys));
	for (int k = 0; k < n && !rc; k++) {
		if ((rc = ov_top_keys(ps[k].text, ps[k].len, &keys[k], e, sizeof(e)))) {
			/* e: "document:LINE:COL: ..." in the piece's own lines */
			char msg[1100];

			snprintf(msg, sizeof(msg), "@%s", e + strlen("document"));
			ps[k].start = 1;
			map_error(ov, &ps[k], 1, ps[k].text, false, who, msg, err, errlen);
			goto out;
		}
		merged |= has_doc_marker(ps[k].text, ps[k].len);
		for (int j = 0; j < k; j++)
			for (int a = 0; a < keys[k].n; a++)
				for (int b = 0; b < keys[j].n; b++)
					merged |= !strcmp(keys[k].names[a], keys[j].names[b]);
	}
	if (merged) {
		const char *texts[MAX_PIECES], *names[MAX_PIECES];
		size_t lens[MAX_PIECES];

		for (int k = 0; k < n; k++) {
			texts[k] = ps[k].text;
			lens[k] = ps[k].len;
			names[k] = ps[k].name;
		}
		if ((rc = ov_merge(texts, lens, names, n, NULL, &joined, &jlen, e, sizeof(e)))) {
			snprintf(err, errlen, "%s:%d: node '%s': %s", ov->path, node->line, node->name, e);
			goto out;
		}
	} else {
		for (int k = 0; k < n; k++)
			jlen += ps[k].len + 1;
		if (!(joined = malloc(jlen + 1))) {
			rc = -ENOMEM;
			goto out;
		}
		jlen = 0;
		for (int k = 0; k < n; k++) {
			ps[k].start = line;
			line += lines(ps[k].text, ps[k].len);
			memcpy(joined + jlen, ps[k].text, ps[k].len);
			jlen += ps[k].len;
			if (ps[k].len && ps[k].text[ps[k].len - 1] != '\n')
				joined[jlen++] = '\n';
		}
		joined[jlen] = 0;
	}
	if (!(cfg = malloc(sizeof(*cfg)))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = config_load_mem("@", joined, jlen, cfg, e, sizeof(e));
	if (!rc)
		config_free(cfg);
	else if (!merged || !own_fault(ov, ps, n, cfg, e, who, err, errlen))
		map_error(ov, ps, n, joined, merged, who, e, err, errlen);
out:
	for (int k = 0; k < n; k++)
		ov_keys_free(&keys[k]);
	free(joined);
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
