/* cfg_parse.c: the configuration loader's key-table walker. Each YAML mapping of the file
 * is walked by cfgp_parse_map() against a table of struct cfgp_key, whose setter converts
 * one value into a field of the object being filled (the config, a policy rule, a route,
 * ...). Here: the one-line messages "FILE:LINE:COL: what is wrong (what is expected)",
 * the scalar readers, the setters every table shares (paths, strings, numbers,
 * addresses, booleans, sections) and the walkers of mappings, lists of scalars and
 * lists of mappings. The tables themselves live with their sections: config.c (the top
 * level), cfg_net.c, cfg_http.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "addr.h"
#include "cfg_parse.h"
#include "config.h"

/* ---- messages ---- */

static int vfail(struct cfgp_ctx *c, const yaml_mark_t *m, const char *fmt, va_list ap)
{
	int off;

	off = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->path, m->line + 1, m->column + 1);
	if (off >= 0 && (size_t)off < c->errlen)
		vsnprintf(c->err + off, c->errlen - off, fmt, ap);
	/* one line whatever the file holds */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

int cfgp_fail(struct cfgp_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(c, &n->start_mark, fmt, ap);
	va_end(ap);
	return ret;
}

int cfgp_fail_at(struct cfgp_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(c, m, fmt, ap);
	va_end(ap);
	return ret;
}

/* A value as it can be quoted in a message: shortened (cfgp_fail() masks control bytes). */
const char *cfgp_show(struct cfgp_ctx *c, const char *s)
{
	size_t i;

	for (i = 0; i < CFGP_SHOW_LEN - 4 && s[i]; i++)
		c->shown[i] = s[i];
	if (s[i]) {
		memcpy(c->shown + i, "...", 3);
		i += 3;
	}
	c->shown[i] = 0;
	return c->shown;
}

const char *cfgp_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a single value";
	}
}

/* "a, b, c" from a key table. */
const char *cfgp_key_names(struct cfgp_ctx *c, const struct cfgp_key *keys, size_t n)
{
	char *buf = c->names;
	size_t used = 0, len = sizeof(c->names);

	buf[0] = 0;
	for (size_t i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", keys[i].name);

		if (w < 0)
			break;
		used += w;
	}
	return buf;
}

/* ---- scalars ---- */

/* An empty plain scalar (as in "key:" with nothing after it), ~ or null. */
bool cfgp_is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* The text of a non-null scalar value. */
int cfgp_get_scalar(struct cfgp_ctx *c, const char *qname, const yaml_node_t *v, const char *expect, const char **out)
{
	const char *s = (const char *)v->data.scalar.value;

	/* set on every return: clang's analyzer does not see that cfgp_fail never returns 0 */
	*out = "";
	if (v->type != YAML_SCALAR_NODE)
		return cfgp_fail(c, v, "'%s' must be a single value, not %s (expected %s)",
				 qname, cfgp_node_kind(v), expect);
	if (cfgp_is_null(v))
		return cfgp_fail(c, v, "'%s' has no value (expected %s)", qname, expect);
	if (strlen(s) != v->data.scalar.length)
		return cfgp_fail(c, v, "'%s' contains a NUL character (expected %s)", qname, expect);
	*out = s;
	return 0;
}

/* Decimal, or hex with 0x. Only digits: no sign, space, suffix or second prefix.
 * -EINVAL for junk, -ERANGE outside min..max. */
int cfgp_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	const char *digits = "0123456789";
	unsigned long long v;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = "0123456789abcdefABCDEF";
		base = 16;
		s += 2;
	}
	if (!*s || s[strspn(s, digits)])
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* ---- setters (struct cfgp_key.set) ---- */

int cfgp_set_path(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	char *dst = (char *)obj + k->off;
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (s[0] != '/')
		return cfgp_fail(c, v, "'%s' must be an absolute path, got '%s' (expected %s)",
				 qname, cfgp_show(c, s), k->expect);
	if (strlen(s) >= k->size)
		return cfgp_fail(c, v, "'%s' is too long (expected at most %zu characters)",
				 qname, k->size - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int cfgp_set_string(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	char *dst = (char *)obj + k->off;
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (strlen(s) >= k->size)
		return cfgp_fail(c, v, "'%s' is too long, %zu characters (expected %s)",
				 qname, strlen(s), k->expect);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int cfgp_set_u32(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	uint32_t *dst = (uint32_t *)((char *)obj + k->off);
	char expect[96];
	const char *s;
	int ret;

	if (k->flags & CFGP_HEX)
		snprintf(expect, sizeof(expect), "a whole number in %#x..%#x, decimal or 0x hex",
			 k->min, k->max);
	else
		snprintf(expect, sizeof(expect), "a whole number in %u..%u", k->min, k->max);
	ret = cfgp_get_scalar(c, qname, v, expect, &s);
	if (ret)
		return ret;
	ret = cfgp_parse_u32(s, k->min, k->max, dst);
	if (ret == -ERANGE)
		return cfgp_fail(c, v, "'%s' value %s is out of range (expected %s)",
				 qname, cfgp_show(c, s), expect);
	if (ret)
		return cfgp_fail(c, v, "'%s' value '%s' is not a number (expected %s)",
				 qname, cfgp_show(c, s), expect);
	return 0;
}

int cfgp_set_addr(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_sockaddr *dst = (struct cfg_sockaddr *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if ((k->flags & CFGP_OFF) && !strcmp(s, "off")) {
		memset(dst, 0, sizeof(*dst));
		return 0;
	}
	if (addr_parse(s, dst) ||
	    ((k->flags & CFGP_V4) && dst->ss.ss_family != AF_INET) ||
	    ((k->flags & CFGP_V6) && dst->ss.ss_family != AF_INET6))
		return cfgp_fail(c, v, "bad address '%s' for '%s' (expected %s)",
				 cfgp_show(c, s), qname, k->expect);
	return 0;
}

int cfgp_get_word(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
		  const char *const *words, unsigned n, unsigned *out)
{
	const char *s;
	int ret = cfgp_get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		if (!strcmp(s, words[i])) {
			*out = i;
			return 0;
		}
	}
	return cfgp_fail(c, v, "unknown %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "on", "yes" }, *const no[] = { "false", "off", "no" };

	for (unsigned i = 0; i < 3; i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*out = !strcmp(s, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

int cfgp_set_bool(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	bool *dst = (bool *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (config_parse_bool(s, dst))
		return cfgp_fail(c, v, "bad %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	return 0;
}

int cfgp_parse_scalar_list(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, size_t min,
			   size_t max, const char *item_expect, cfgp_item_fn item, void *obj)
{
	yaml_node_item_t *it;
	size_t n;
	int i = 0;

	if (v->type != YAML_SEQUENCE_NODE)
		return cfgp_fail(c, v, "'%s' must be a list, not %s (expected %s)", qname, cfgp_node_kind(v),
				 k->expect);
	n = v->data.sequence.items.top - v->data.sequence.items.start;
	if (n < min || n > max)
		return cfgp_fail(c, v, "'%s' has %zu entries (expected %s)", qname, n, k->expect);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *a = yaml_document_get_node(c->doc, *it);
		const char *s;
		int ret = cfgp_get_scalar(c, qname, a, item_expect, &s);

		if (ret || (ret = item(c, qname, a, s, obj, i++)))
			return ret;
	}
	return 0;
}

/* cfgp_parse_addr_list's entries: addresses into arr, their count into *n. */
struct addr_list {
	struct cfg_sockaddr *arr;
	int *n;
};

static int addr_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct addr_list *l = obj;

	if (addr_parse(s, &l->arr[i]))
		return cfgp_fail(c, a, "bad address '%s' in '%s' (expected IP:PORT or [IPv6]:PORT)", cfgp_show(c, s),
				 qname);
	*l->n = i + 1;
	return 0;
}

int cfgp_parse_addr_list(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			 size_t min, size_t max, struct cfg_sockaddr *arr, int *n)
{
	struct addr_list l = { arr, n };

	*n = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, min, max, "IP:PORT or [IPv6]:PORT", addr_item, &l);
}

/* A mapping of k->sub keys filling the same object; nothing after "key:" is fine. */
int cfgp_parse_section(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname,
		       yaml_node_t *v, void *obj, yaml_node_t **vals)
{
	if (cfgp_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return cfgp_fail(c, v, "'%s' must be a mapping, not %s (expected keys %s)", qname,
				 cfgp_node_kind(v), cfgp_key_names(c, k->sub, k->nsub));
	return cfgp_parse_map(c, v, k->sub, k->nsub, qname, obj, vals);
}

int cfgp_set_section(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	return cfgp_parse_section(c, k, qname, v, obj, NULL);
}

/* Walks a list whose entries are mappings of `keys`, all required, into an array
 * of `size`-byte objects; *arr and *count are the config's (freed by config_free
 * on error). check_entry() validates entry i against 0..i-1. */
int cfgp_parse_list(struct cfgp_ctx *c, const char *qname, yaml_node_t *v, const char *expect,
		    const struct cfgp_key *keys, size_t nkeys, size_t size, size_t max,
		    void **arr, int *count,
		    int (*check_entry)(struct cfgp_ctx *, void *arr, int i, yaml_node_t *item,
				       yaml_node_t **vals))
{
	yaml_node_item_t *it;
	size_t n;

	if (cfgp_is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return cfgp_fail(c, v, "'%s' must be a list, not %s (expected entries %s)",
				 qname, cfgp_node_kind(v), expect);
	n = v->data.sequence.items.top - v->data.sequence.items.start;
	if (n > max)
		return cfgp_fail(c, v, "'%s' has %zu entries (expected at most %zu)", qname, n, max);
	if (!n)
		return 0;
	*arr = calloc(n, size);
	if (!*arr) {
		cfgp_fail(c, v, "out of memory for %zu '%s' entries", n, qname);
		return -ENOMEM;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);
		yaml_node_t *vals[CFGP_MAX_KEYS] = { NULL };
		void *obj = (char *)*arr + (size_t)*count * size;
		int ret;

		if (item->type != YAML_MAPPING_NODE)
			return cfgp_fail(c, item, "each '%s' entry must be a mapping, not %s (expected %s)",
					 qname, cfgp_node_kind(item), expect);
		ret = cfgp_parse_map(c, item, keys, nkeys, qname, obj, vals);
		if (ret)
			return ret;
		for (size_t i = 0; i < nkeys; i++)
			if (!vals[i] && !(keys[i].flags & CFGP_OPT))
				return cfgp_fail(c, item, "'%s' entry has no '%s' (expected %s)",
						 qname, keys[i].name, expect);
		ret = check_entry(c, *arr, *count, item, vals);
		if (ret)
			return ret;
		(*count)++;
	}
	return 0;
}

/* Applies every pair of `map` through the table `keys` (n entries) to obj. section is
 * the dotted name of the mapping (NULL at top level). vals[i], if given, receives the
 * value node of keys[i] (NULL when absent). */
int cfgp_parse_map(struct cfgp_ctx *c, yaml_node_t *map, const struct cfgp_key *keys, size_t n,
		   const char *section, void *obj, yaml_node_t **vals)
{
	yaml_node_t *seen[CFGP_MAX_KEYS] = { NULL };
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		char qname[CFGP_QNAME_LEN];
		const char *name;
		size_t i;
		int ret;

		if (kn->type != YAML_SCALAR_NODE)
			return cfgp_fail(c, kn, "a key%s%s%s is %s (expected a plain word, one of %s)",
					 section ? " in '" : "", section ? section : "", section ? "'" : "",
					 cfgp_node_kind(kn), cfgp_key_names(c, keys, n));
		name = (const char *)kn->data.scalar.value;
		for (i = 0; i < n && strcmp(name, keys[i].name); i++)
			;
		if (i == n) {
			if (!section)
				return cfgp_fail(c, kn, "unknown top-level key '%s' (expected %s)",
						 cfgp_show(c, name), cfgp_key_names(c, keys, n));
			return cfgp_fail(c, kn, "unknown key '%s' in '%s' (expected %s)", cfgp_show(c, name),
					 section, cfgp_key_names(c, keys, n));
		}
		snprintf(qname, sizeof(qname), "%s%s%s", section ? section : "", section ? "." : "",
			 name);
		if (seen[i])
			return cfgp_fail(c, kn, "duplicate key '%s', already given at line %zu "
					 "(expected each key once)", qname, seen[i]->start_mark.line + 1);
		seen[i] = kn;
		if (vals)
			vals[i] = vn;
		ret = keys[i].set(c, &keys[i], qname, vn, obj);
		if (ret)
			return ret;
		if (obj == c->cfg && c->cfg->n_key_lines < CFG_MAX_KEY_LINES) {
			struct cfg_key_line *kl = &c->cfg->key_lines[c->cfg->n_key_lines++];

			snprintf(kl->key, sizeof(kl->key), "%s", qname);
			kl->line = (int)kn->start_mark.line + 1;
		}
	}
	return 0;
}
