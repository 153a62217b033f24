/* overlay_parse.c: the overlay file (overlay.h, etc/overlay.yaml) into its model, with
 * every fault reported as FILE:LINE:COL. What can be checked key by key is checked here
 * (names, addresses, references); what needs the whole (roles, loops) is the compiler's. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "addr.h"
#include "overlay.h"
#include "policy.h"

struct pctx {
	struct overlay *ov;
	yaml_document_t *doc;
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int o = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->ov->path, n ? n->start_mark.line + 1 : 1,
			 n ? n->start_mark.column + 1 : 1);

	va_start(ap, fmt);
	if (o > 0 && (size_t)o < c->errlen)
		vsnprintf(c->err + o, c->errlen - (size_t)o, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static yaml_node_t *node(struct pctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a single value";
}

/* The text of scalar v (expect: what a good one is), at most cap - 1 bytes. */
static int scalar(struct pctx *c, const char *what, yaml_node_t *v, const char *expect, char *out, size_t cap)
{
	if (v->type != YAML_SCALAR_NODE || !v->data.scalar.length)
		return fail(c, v, "'%s' must be %s, got %s", what, expect, v->type == YAML_SCALAR_NODE ? "nothing" : kind(v));
	if (v->data.scalar.length >= cap)
		return fail(c, v, "'%s' is too long (at most %zu characters; expected %s)", what, cap - 1, expect);
	memcpy(out, v->data.scalar.value, v->data.scalar.length);
	out[v->data.scalar.length] = 0;
	return 0;
}

static bool name_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

static int name(struct pctx *c, const char *what, yaml_node_t *v, char *out, size_t cap)
{
	int rc = scalar(c, what, v, "a name (letters, digits, '.', '_', '-')", out, cap);

	if (!rc && !name_ok(out))
		return fail(c, v, "'%s' '%s' has a character a name cannot hold (expected letters, digits, '.', '_', '-')",
			    what, out);
	return rc;
}

/* v as a list of scalars (a single scalar is a list of one): calls item for each. */
static int each(struct pctx *c, const char *what, yaml_node_t *v, int max, int (*item)(struct pctx *, yaml_node_t *, void *),
		void *arg)
{
	int n = 0, rc;

	if (v->type == YAML_SCALAR_NODE)
		return item(c, v, arg);
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "'%s' must be a value or a list of values, got %s", what, kind(v));
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		if (++n > max)
			return fail(c, node(c, *it), "'%s' has more than %d entries", what, max);
		if ((rc = item(c, node(c, *it), arg)))
			return rc;
	}
	if (!n)
		return fail(c, v, "'%s' is an empty list", what);
	return 0;
}

/* The pairs of mapping m against keys[0..n): vals[i] their values; unknown and repeated
 * keys are errors. */
static int pairs(struct pctx *c, const char *what, yaml_node_t *m, const char *const *keys, int n, yaml_node_t **vals)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): vals is an array of n pointers */
	memset(vals, 0, sizeof(*vals) * (size_t)n);
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "%s must be a mapping, got %s", what, kind(m));
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		int i;

		for (i = 0; i < n && strcmp(keys[i], ks); i++)
			;
		if (i == n) {
			char list[256] = "";

			for (int j = 0; j < n; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", j ? ", " : "", keys[j]);
			return fail(c, k, "unknown key '%s' in %s (expected %s)", ks, what, list);
		}
		if (vals[i])
			return fail(c, k, "key '%s' given twice in %s (first on line %zu)", ks, what,
				    vals[i]->start_mark.line + 1);
		vals[i] = node(c, p->value);
	}
	return 0;
}

/* A verbatim YAML text: a string (a literal block keeps its lines), or a mapping written
 * out as one. */
static int text(struct pctx *c, const char *what, yaml_node_t *k, yaml_node_t *v, struct ov_text *t)
{
	t->key_line = (int)k->start_mark.line + 1;
	if (v->type == YAML_MAPPING_NODE)
		return ov_emit_node(c->doc, (int)(v - c->doc->nodes.start) + 1, &t->text, &t->len);
	if (v->type != YAML_SCALAR_NODE)
		return fail(c, v, "'%s' must be the YAML of reload keys: a literal block ('%s: |' and the keys indented "
			    "below) or a mapping, got %s", what, what, kind(v));
	t->text = malloc(v->data.scalar.length + 1);
	if (!t->text)
		return -ENOMEM;
	memcpy(t->text, v->data.scalar.value, v->data.scalar.length);
	t->text[v->data.scalar.length] = 0;
	t->len = v->data.scalar.length;
	if (v->data.scalar.style == YAML_LITERAL_SCALAR_STYLE) {
		/* the block starts on the line after its indicator; its indent is that of its
		 * first line with text */
		size_t off = v->start_mark.index;

		while (off < c->len && c->buf[off] != '\n')
			off++;
		for (;;) {
			size_t sp = 0;

			off++;
			while (off + sp < c->len && c->buf[off + sp] == ' ')
				sp++;
			if (off + sp >= c->len || c->buf[off + sp] != '\n') {
				t->indent = (int)sp;
				break;
			}
			off += sp;
		}
		t->first_line = (int)v->start_mark.line + 2;
	}
	return 0;
}

static int find_node(const struct overlay *ov, const char *name)
{
	for (int i = 0; i < ov->n_nodes; i++)
		if (!strcmp(ov->nodes[i].name, name))
			return i;
	return -1;
}

/* ---- nodes ---- */

struct addr_arg {
	struct ov_node *n;
	const char *what;
};

static int node_addr(struct pctx *c, yaml_node_t *v, void *arg)
{
	struct ov_node *n = ((struct addr_arg *)arg)->n;
	unsigned char b[16];
	char *a;
	int rc;

	if (n->n_addrs >= OV_MAX_ADDRS)
		return fail(c, v, "node '%s' has more than %d addresses", n->name, OV_MAX_ADDRS);
	a = n->addrs[n->n_addrs];
	if ((rc = scalar(c, "address", v, "an IPv4 or IPv6 address", a, sizeof(n->addrs[0]))))
		return rc;
	if (inet_pton(AF_INET, a, b) != 1 && inet_pton(AF_INET6, a, b) != 1)
		return fail(c, v, "bad address '%s' of node '%s' (expected an IPv4 or IPv6 address, no port)", a, n->name);
	for (int i = 0; i < c->ov->n_nodes; i++)
		for (int j = 0; j < c->ov->nodes[i].n_addrs; j++)
			if (!strcmp(c->ov->nodes[i].addrs[j], a))
				return fail(c, v, "address %s of node '%s' is also node '%s''s (line %d)", a, n->name,
					    c->ov->nodes[i].name, c->ov->nodes[i].line);
	for (int j = 0; j < n->n_addrs; j++)
		if (!strcmp(n->addrs[j], a))
			return fail(c, v, "address %s given twice for node '%s'", a, n->name);
	n->n_addrs++;
	return 0;
}

static const char *const role_names[] = { "client", "relay", "egress", "ingress" };

const char *ov_role_names(unsigned roles, char *buf, size_t len)
{
	buf[0] = 0;
	for (unsigned i = 0; i < 4; i++)
		if (roles & (1u << i))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "", role_names[i]);
	return buf;
}

static int node_role(struct pctx *c, yaml_node_t *v, void *arg)
{
	struct ov_node *n = ((struct addr_arg *)arg)->n;
	char r[16];
	int rc = scalar(c, "roles", v, "client, relay, egress or ingress", r, sizeof(r));

	for (unsigned i = 0; !rc && i < 4; i++)
		if (!strcmp(r, role_names[i])) {
			n->roles |= 1u << i;
			return 0;
		}
	return rc ? rc : fail(c, v, "unknown role '%s' of node '%s' (expected client, relay, egress or ingress)", r, n->name);
}

static int node_shared(struct pctx *c, yaml_node_t *v, void *arg)
{
	struct ov_node *n = ((struct addr_arg *)arg)->n;
	char s[OV_NAME_MAX];
	int rc = name(c, "shared", v, s, sizeof(s)), i;

	if (rc)
		return rc;
	for (i = 0; i < c->ov->n_shared && strcmp(c->ov->shared[i].name, s); i++)
		;
	if (i == c->ov->n_shared)
		return fail(c, v, "node '%s' names shared document '%s', which the overlay's shared section does not have",
			    n->name, s);
	for (int j = 0; j < n->n_shared; j++)
		if (n->shared[j] == i)
			return fail(c, v, "shared document '%s' listed twice for node '%s'", s, n->name);
	if (n->n_shared >= OV_MAX_NODE_SHARED)
		return fail(c, v, "node '%s' lists more than %d shared documents", n->name, OV_MAX_NODE_SHARED);
	n->shared[n->n_shared++] = i;
	return 0;
}

static int parse_node(struct pctx *c, yaml_node_t *m)
{
	static const char *const keys[] = { "name", "address", "tunnel", "tls_name", "roles", "shared", "config" };
	yaml_node_t *v[7];
	struct ov_node *n = &c->ov->nodes[c->ov->n_nodes];
	struct addr_arg a = { n, NULL };
	struct cfg_sockaddr sa;
	int rc;

	memset(n, 0, sizeof(*n));
	if ((rc = pairs(c, "a node", m, keys, 7, v)))
		return rc;
	n->line = (int)m->start_mark.line + 1;
	if (!v[0])
		return fail(c, m, "a node without a name (expected name: NAME)");
	if ((rc = name(c, "name", v[0], n->name, sizeof(n->name))))
		return rc;
	if (find_node(c->ov, n->name) >= 0)
		return fail(c, v[0], "node '%s' is declared twice (first on line %d)", n->name,
			    c->ov->nodes[find_node(c->ov, n->name)].line);
	if (v[1] && (rc = each(c, "address", v[1], OV_MAX_ADDRS, node_addr, &a)))
		return rc;
	if (v[2]) {
		if ((rc = scalar(c, "tunnel", v[2], "IP:PORT, the node's tunnel listener", n->tunnel, sizeof(n->tunnel))))
			return rc;
		if (addr_parse(n->tunnel, &sa))
			return fail(c, v[2], "bad tunnel address '%s' of node '%s' (expected IP:PORT or [IPv6]:PORT, its "
				    "listeners.tunnel as its peers reach it)", n->tunnel, n->name);
	}
	if (v[3]) {
		if ((rc = scalar(c, "tls_name", v[3], "the DNS name its certificate carries", n->tls_name,
				 sizeof(n->tls_name))))
			return rc;
		if (strpbrk(n->tls_name, "\"\\ \t'#,{}[]"))
			return fail(c, v[3], "bad tls_name '%s' of node '%s' (expected a DNS name or URI)", n->tls_name,
				    n->name);
	}
	if (!v[4])
		return fail(c, m, "node '%s' has no roles (expected roles: [client, relay, egress, ingress], any of them)",
			    n->name);
	if ((rc = each(c, "roles", v[4], 4, node_role, &a)))
		return rc;
	if (v[5] && (rc = each(c, "shared", v[5], OV_MAX_NODE_SHARED, node_shared, &a)))
		return rc;
	if (v[6]) {
		yaml_node_pair_t *p;

		for (p = m->data.mapping.pairs.start; node(c, p->value) != v[6]; p++)
			;
		if ((rc = text(c, "config", node(c, p->key), v[6], &n->config)))
			return rc;
	}
	c->ov->n_nodes++;
	return 0;
}

/* ---- routes ---- */

struct route_arg {
	struct ov_route *r;
	int path;
};

static int node_ref(struct pctx *c, yaml_node_t *v, const char *what, int *out)
{
	char s[OV_NAME_MAX];
	int rc = name(c, what, v, s, sizeof(s));

	if (rc)
		return rc;
	if ((*out = find_node(c->ov, s)) < 0)
		return fail(c, v, "route names node '%s' in '%s', which the overlay's nodes do not have", s, what);
	return 0;
}

static int route_from(struct pctx *c, yaml_node_t *v, void *arg)
{
	struct ov_route *r = ((struct route_arg *)arg)->r;
	int i, rc = node_ref(c, v, "from", &i);

	if (rc)
		return rc;
	for (int j = 0; j < r->n_from; j++)
		if (r->from[j] == i)
			return fail(c, v, "node '%s' is twice in the route's from", c->ov->nodes[i].name);
	r->from[r->n_from++] = i;
	return 0;
}

static int route_to_one(struct pctx *c, yaml_node_t *v, struct ov_route *r, const char *s)
{
	char e[256];

	if (r->n_to >= OV_MAX_TO)
		return fail(c, v, "route '%s' has more than %d destinations (hermesd's match holds at most %d; split it)",
			    r->name, OV_MAX_TO, OV_MAX_TO);
	if (pol_parse_match_err(s, &r->to_key[r->n_to], e, sizeof(e)))
		return fail(c, v, "route '%s': %s (expected CIDR[:PORT] or a node's name)", r->name, e);
	pol_fmt_match(&r->to_key[r->n_to], r->to[r->n_to], sizeof(r->to[0]));
	for (int j = 0; j < r->n_to; j++)
		if (!strcmp(r->to[j], r->to[r->n_to]))
			return fail(c, v, "route '%s' has destination %s twice", r->name, r->to[j]);
	r->n_to++;
	return 0;
}

static int route_to(struct pctx *c, yaml_node_t *v, void *arg)
{
	struct ov_route *r = ((struct route_arg *)arg)->r;
	char s[64];
	int rc = scalar(c, "to", v, "CIDR[:PORT] or a node's name", s, sizeof(s)), i;

	if (rc)
		return rc;
	if ((i = find_node(c->ov, s)) < 0)
		return route_to_one(c, v, r, s);
	if (!c->ov->nodes[i].n_addrs)
		return fail(c, v, "route '%s' goes to node '%s', which has no address", r->name, s);
	for (int j = 0; j < c->ov->nodes[i].n_addrs && !rc; j++)
		rc = route_to_one(c, v, r, c->ov->nodes[i].addrs[j]);
	return rc;
}

static int route_hop(struct pctx *c, yaml_node_t *v, void *arg)
{
	struct route_arg *a = arg;
	struct ov_route *r = a->r;
	int i, rc;

	if ((rc = node_ref(c, v, "via", &i)))
		return rc;
	r->paths[a->path][r->path_len[a->path]++] = i;
	return 0;
}

/* via: [A, B] (one path), or [[A, B], [C, B]] (alternates, in order of preference) */
static int route_via(struct pctx *c, struct ov_route *r, yaml_node_t *v)
{
	struct route_arg a = { r, 0 };
	bool nested = v->type == YAML_SEQUENCE_NODE && v->data.sequence.items.top > v->data.sequence.items.start &&
		      node(c, *v->data.sequence.items.start)->type == YAML_SEQUENCE_NODE;

	if (!nested) {
		r->n_paths = 1;
		/* at most OV_MAX_PATH_LEN hops: tunnel.max_hops' default refuses longer paths */
		return each(c, "via", v, OV_MAX_PATH_LEN, route_hop, &a);
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *p = node(c, *it);
		int rc;

		if (r->n_paths >= OV_MAX_PATHS)
			return fail(c, p, "route '%s' has more than %d alternate paths", r->name, OV_MAX_PATHS);
		if (p->type != YAML_SEQUENCE_NODE)
			return fail(c, p, "route '%s': via mixes paths (lists) and nodes (expected [A, B] or [[A, B], [C, B]])",
				    r->name);
		a.path = r->n_paths++;
		if ((rc = each(c, "via", p, OV_MAX_PATH_LEN, route_hop, &a)))
			return rc;
	}
	return 0;
}

static int protocol(struct pctx *c, yaml_node_t *v, char *out)
{
	int rc = scalar(c, "protocol", v, "h2, h2c or h1", out, 8);

	if (!rc && strcmp(out, "h2") && strcmp(out, "h2c") && strcmp(out, "h1"))
		return fail(c, v, "unknown protocol '%s' (expected h2: HTTP/2 over mutual TLS, h2c: HTTP/2 in clear text, "
			    "h1: HTTP/1.1 CONNECT)", out);
	return rc;
}

static int parse_route(struct pctx *c, yaml_node_t *m)
{
	static const char *const keys[] = { "name", "from", "to", "via", "protocol", "steer" };
	yaml_node_t *v[6];
	struct ov_route *r = &c->ov->routes[c->ov->n_routes];
	struct route_arg a = { r, 0 };
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = pairs(c, "a route", m, keys, 6, v)))
		return rc;
	r->line = (int)m->start_mark.line + 1;
	for (int i = 0; i < 4; i++)
		if (!v[i])
			return fail(c, m, "a route without '%s' (expected name, from, to and via)", keys[i]);
	if ((rc = name(c, "name", v[0], r->name, sizeof(r->name))))
		return rc;
	for (int i = 0; i < c->ov->n_routes; i++)
		if (!strcmp(c->ov->routes[i].name, r->name))
			return fail(c, v[0], "route '%s' is declared twice (first on line %d)", r->name, c->ov->routes[i].line);
	if ((rc = each(c, "from", v[1], OV_MAX_FROM, route_from, &a)) || (rc = each(c, "to", v[2], OV_MAX_TO, route_to, &a)) ||
	    (rc = route_via(c, r, v[3])))
		return rc;
	memcpy(r->protocol, c->ov->protocol, sizeof(r->protocol));
	if (v[4] && (rc = protocol(c, v[4], r->protocol)))
		return rc;
	if (v[5]) {
		char s[8];

		if ((rc = scalar(c, "steer", v[5], "tcp, udp, both or none", s, sizeof(s))))
			return rc;
		if (strcmp(s, "none") && pol_parse_protos(s, &r->steer))
			return fail(c, v[5], "unknown steer '%s' (expected tcp, udp, both: policy rules sending the route's "
				    "destinations to the tunnel action on its from nodes; or none, the default)", s);
	}
	c->ov->n_routes++;
	return 0;
}

/* ---- the file ---- */

static int parse_shared(struct pctx *c, yaml_node_t *m)
{
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "'shared' must be a mapping of NAME: | documents, got %s", kind(m));
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		struct ov_shared *s = &c->ov->shared[c->ov->n_shared];
		yaml_node_t *k = node(c, p->key);
		int rc;

		if (c->ov->n_shared >= OV_MAX_SHARED)
			return fail(c, k, "more than %d shared documents", OV_MAX_SHARED);
		memset(s, 0, sizeof(*s));
		if ((rc = name(c, "shared", k, s->name, sizeof(s->name))))
			return rc;
		for (int i = 0; i < c->ov->n_shared; i++)
			if (!strcmp(c->ov->shared[i].name, s->name))
				return fail(c, k, "shared document '%s' is declared twice", s->name);
		s->line = (int)k->start_mark.line + 1;
		if ((rc = text(c, s->name, k, node(c, p->value), &s->doc)))
			return rc;
		c->ov->n_shared++;
	}
	return 0;
}

static int list(struct pctx *c, const char *what, yaml_node_t *v, int max, int (*fn)(struct pctx *, yaml_node_t *))
{
	int rc;

	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "'%s' must be a list, got %s", what, kind(v));
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		if (it - v->data.sequence.items.start >= max)
			return fail(c, node(c, *it), "more than %d %s", max, what);
		if ((rc = fn(c, node(c, *it))))
			return rc;
	}
	return 0;
}

static int parse_doc(struct pctx *c, yaml_node_t *root)
{
	static const char *const keys[] = { "overlay", "prefix", "protocol", "shared", "nodes", "routes" };
	struct overlay *ov = c->ov;
	yaml_node_t *v[6];
	int rc;

	if (!root)
		return fail(c, NULL, "the file is empty (expected overlay, nodes and routes; see etc/overlay.yaml)");
	if ((rc = pairs(c, "the overlay file", root, keys, 6, v)))
		return rc;
	if (!v[0] || !v[4])
		return fail(c, root, "the file has no '%s' (expected overlay: NAME, nodes and routes)", v[0] ? "nodes" : "overlay");
	if ((rc = name(c, "overlay", v[0], ov->name, sizeof(ov->name))))
		return rc;
	if (v[1]) {
		if ((rc = scalar(c, "prefix", v[1], "the etcd key prefix, e.g. /hermes/lab", ov->prefix, sizeof(ov->prefix))))
			return rc;
		if (ov->prefix[0] != '/' || ov->prefix[strlen(ov->prefix) - 1] == '/')
			return fail(c, v[1], "bad prefix '%s' (expected /NAME[/NAME...], without a trailing '/', as "
				    "hermesd's etcd.prefix)", ov->prefix);
		ov->prefix_line = (int)v[1]->start_mark.line + 1;
	}
	strcpy(ov->protocol, "h2");
	if (v[2] && (rc = protocol(c, v[2], ov->protocol)))
		return rc;
	ov->nodes = calloc(OV_MAX_NODES, sizeof(*ov->nodes));
	ov->shared = calloc(OV_MAX_SHARED, sizeof(*ov->shared));
	ov->routes = calloc(OV_MAX_ROUTES, sizeof(*ov->routes));
	if (!ov->nodes || !ov->shared || !ov->routes)
		return -ENOMEM;
	if (v[3] && (rc = parse_shared(c, v[3])))
		return rc;
	if ((rc = list(c, "nodes", v[4], OV_MAX_NODES, parse_node)))
		return rc;
	if (v[5] && (rc = list(c, "routes", v[5], OV_MAX_ROUTES, parse_route)))
		return rc;
	return 0;
}

int ov_parse(const char *path, const char *buf, size_t len, struct overlay *ov, char *err, size_t errlen)
{
	struct pctx c;
	yaml_document_t doc;
	yaml_parser_t p;
	int rc;

	/* cleared before its pointer is kept (as config_reload_merge's report) */
	memset(ov, 0, sizeof(*ov));
	ov->path = path;
	c = (struct pctx){ ov, NULL, buf, len, err, errlen };
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s (expected YAML)", path, p.problem_mark.line + 1,
			 p.problem_mark.column + 1, p.problem ? p.problem : "not YAML");
		yaml_parser_delete(&p);
		return -EINVAL;
	}
	yaml_parser_delete(&p);
	c.doc = &doc;
	rc = parse_doc(&c, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	if (rc)
		ov_free(ov);
	return rc;
}

void ov_free(struct overlay *ov)
{
	for (int i = 0; ov->nodes && i < ov->n_nodes; i++)
		free(ov->nodes[i].config.text);
	for (int i = 0; ov->shared && i < ov->n_shared; i++)
		free(ov->shared[i].doc.text);
	/* the node being parsed when an error struck may hold its config already */
	if (ov->nodes && ov->n_nodes < OV_MAX_NODES)
		free(ov->nodes[ov->n_nodes].config.text);
	free(ov->nodes);
	free(ov->shared);
	free(ov->routes);
	ov->nodes = NULL;
	ov->shared = NULL;
	ov->routes = NULL;
	ov->n_nodes = ov->n_shared = ov->n_routes = 0;
}
