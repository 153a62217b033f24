/* overlay_compile.c: the overlay's routes into each node's document (overlay.h). Tunnels
 * go hop by hop (docs/tunnels.md): a route `from: [A] to: [D] via: [R, E]` is, by hand,
 * a tunnel route for D at A whose peer is R's tunnel listener, one at R whose peer is E's,
 * and nothing at E, which dials D itself. Alternate paths become further peers in order.
 * The node's document is its own config verbatim followed by what its routes give it
 * (routes, policy rules with steer, its shared list), or, when its config holds routes or
 * policy itself, the two merged into one document. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay.h"
#include "policy.h"

/* What one route gives one node: its next hops, in order of preference. */
struct hop_set {
	int peers[OV_MAX_PATHS];
	int n;
	bool exit; /* the last hop of one of the route's paths: it dials */
};

struct cctx {
	const struct overlay *ov;
	struct hop_set *hops; /* [route][node] */
	char *err;
	size_t errlen;
	long steps;
};

__attribute__((format(printf, 4, 5))) static int fail(struct cctx *c, int line, int rc, const char *fmt, ...)
{
	va_list ap;
	int o = snprintf(c->err, c->errlen, "%s:%d: ", c->ov->path, line);

	va_start(ap, fmt);
	if (o > 0 && (size_t)o < c->errlen)
		vsnprintf(c->err + o, c->errlen - (size_t)o, fmt, ap);
	va_end(ap);
	return rc;
}

static struct hop_set *hs(struct cctx *c, int r, int n)
{
	return &c->hops[(size_t)r * (size_t)c->ov->n_nodes + (size_t)n];
}

static int add_peer(struct cctx *c, int r, int at, int peer)
{
	struct hop_set *h = hs(c, r, at);
	const struct ov_route *rt = &c->ov->routes[r];

	for (int i = 0; i < h->n; i++)
		if (h->peers[i] == peer)
			return 0;
	if (h->n >= OV_MAX_PATHS)
		return fail(c, rt->line, -EINVAL, "route '%s' gives node '%s' more than %d next hops (hermesd's peers)",
			    rt->name, c->ov->nodes[at].name, OV_MAX_PATHS);
	h->peers[h->n++] = peer;
	return 0;
}

static int need_role(struct cctx *c, const struct ov_route *r, int n, unsigned role, const char *as)
{
	char have[64];

	if (c->ov->nodes[n].roles & role)
		return 0;
	return fail(c, r->line, -EINVAL, "route '%s' uses node '%s' as %s, but its roles are %s (line %d; add the role "
		    "or change the route)", r->name, c->ov->nodes[n].name, as,
		    ov_role_names(c->ov->nodes[n].roles, have, sizeof(have)), c->ov->nodes[n].line);
}

/* The hops of route r at every node, with its roles checked. */
static int route_hops(struct cctx *c, int r)
{
	const struct ov_route *rt = &c->ov->routes[r];
	int rc;

	for (int f = 0; f < rt->n_from; f++) {
		if ((rc = need_role(c, rt, rt->from[f], OV_ROLE_CLIENT, "a client (from)")))
			return rc;
		for (int p = 0; p < rt->n_paths; p++)
			if ((rc = add_peer(c, r, rt->from[f], rt->paths[p][0])))
				return rc;
	}
	for (int p = 0; p < rt->n_paths; p++) {
		int len = rt->path_len[p];

		for (int k = 0; k < len; k++) {
			const struct ov_node *n = &c->ov->nodes[rt->paths[p][k]];

			if (!n->tunnel[0])
				return fail(c, rt->line, -EINVAL, "route '%s' goes through node '%s', which has no tunnel "
					    "address (line %d; expected tunnel: IP:PORT, its tunnel listener)", rt->name,
					    n->name, n->line);
			if (k < len - 1 && ((rc = need_role(c, rt, rt->paths[p][k], OV_ROLE_RELAY, "a relay (a middle hop of via)")) ||
					    (rc = add_peer(c, r, rt->paths[p][k], rt->paths[p][k + 1]))))
				return rc;
			if (k == len - 1) {
				if ((rc = need_role(c, rt, rt->paths[p][k], OV_ROLE_EGRESS, "the egress (the last hop of via)")))
					return rc;
				hs(c, r, rt->paths[p][k])->exit = true;
			}
		}
	}
	for (int n = 0; n < c->ov->n_nodes; n++)
		if (hs(c, r, n)->exit && hs(c, r, n)->n)
			return fail(c, rt->line, -EINVAL, "route '%s': node '%s' is the last hop of one path (it dials the "
				    "destination) and passes the flow on in another (expected one role per node and route)",
				    rt->name, c->ov->nodes[n].name);
	return 0;
}

/* The route node n uses for destination t: the longest match covering it; -1: none. */
static int lookup(struct cctx *c, int n, const struct hermes_policy_key *t)
{
	int best = -1;
	__u32 best_len = 0;

	for (int r = 0; r < c->ov->n_routes; r++) {
		const struct ov_route *rt = &c->ov->routes[r];

		if (!hs(c, r, n)->n)
			continue;
		for (int i = 0; i < rt->n_to; i++)
			if (pol_key_covers(&rt->to_key[i], t) && (best < 0 || rt->to_key[i].prefixlen > best_len)) {
				best = r;
				best_len = rt->to_key[i].prefixlen;
			}
	}
	return best;
}

/* Every walk from stack[depth - 1] for destination to: loops and over-long paths. */
static int walk(struct cctx *c, const char *to, const struct hermes_policy_key *t, int *stack, int *via, int depth)
{
	int at = stack[depth - 1], r = lookup(c, at, t);

	if (r < 0)
		return 0;
	if (++c->steps > 1000000)
		return fail(c, c->ov->routes[r].line, -E2BIG, "too many paths to check for %s (more than a million walks)", to);
	via[depth - 1] = r;
	for (int i = 0; i < hs(c, r, at)->n; i++) {
		int next = hs(c, r, at)->peers[i], rc;

		for (int k = 0; k < depth; k++)
			if (stack[k] == next) {
				char path[1024] = "";

				for (int j = k; j < depth; j++)
					snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s (route %s) -> ",
						 c->ov->nodes[stack[j]].name, c->ov->routes[via[j]].name);
				return fail(c, c->ov->routes[r].line, -ELOOP, "the routes loop for %s: %s%s", to, path,
					    c->ov->nodes[next].name);
			}
		if (depth >= OV_MAX_PATH_LEN)
			return fail(c, c->ov->routes[r].line, -EINVAL, "a flow to %s from node '%s' would cross more than "
				    "%d hops (tunnel.max_hops refuses it with 508)", to, c->ov->nodes[stack[0]].name,
				    OV_MAX_PATH_LEN);
		stack[depth] = next;
		if ((rc = walk(c, to, t, stack, via, depth + 1)))
			return rc;
	}
	return 0;
}

static int check_loops(struct cctx *c)
{
	int stack[OV_MAX_PATH_LEN + 1], via[OV_MAX_PATH_LEN + 1], rc;

	for (int r = 0; r < c->ov->n_routes; r++) {
		const struct ov_route *rt = &c->ov->routes[r];

		for (int t = 0; t < rt->n_to; t++)
			for (int f = 0; f < rt->n_from; f++) {
				stack[0] = rt->from[f];
				if ((rc = walk(c, rt->to[t], &rt->to_key[t], stack, via, 1)))
					return rc;
			}
	}
	return 0;
}

/* ---- the text ---- */

struct txt {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void put(struct txt *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->oom || n < 0)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->len + (size_t)n + 1) * 2;
		char *p = realloc(t->p, cap);

		if (!p) {
			t->oom = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* What node n's routes give it, as YAML (with_shared: its shared list too). Every value
 * written was checked by the parser (names, addresses, CIDRs): quoting them is enough
 * (and keeps a name such as "true", "null" or "1e3" a string). */
static void compiled(struct cctx *c, int n, bool with_shared, struct txt *t)
{
	const struct overlay *ov = c->ov;
	bool any = false;

	for (int r = 0; r < ov->n_routes; r++) {
		const struct ov_route *rt = &ov->routes[r];
		const struct hop_set *h = hs(c, r, n);

		if (!h->n)
			continue;
		if (!any)
			put(t, "routes:\n");
		any = true;
		put(t, "  - name: \"%s\"\n    match: [", rt->name);
		for (int i = 0; i < rt->n_to; i++)
			put(t, "%s\"%s\"", i ? ", " : "", rt->to[i]);
		put(t, "]\n    protocol: %s\n    peers:\n", rt->protocol);
		for (int i = 0; i < h->n; i++) {
			const struct ov_node *p = &ov->nodes[h->peers[i]];

			if (p->tls_name[0])
				put(t, "      - {address: \"%s\", name: \"%s\"}   # node %s\n", p->tunnel, p->tls_name, p->name);
			else
				put(t, "      - \"%s\"   # node %s\n", p->tunnel, p->name);
		}
	}
	any = false;
	for (int r = 0; r < ov->n_routes; r++) {
		const struct ov_route *rt = &ov->routes[r];
		bool from = false;

		for (int f = 0; f < rt->n_from; f++)
			from |= rt->from[f] == n;
		if (!from || !rt->steer)
			continue;
		if (!any)
			put(t, "policy:\n");
		any = true;
		for (int i = 0; i < rt->n_to; i++)
			put(t, "  - {match: \"%s\", action: tunnel, protocol: %s}   # route %s\n", rt->to[i],
			    pol_protos_name(rt->steer), rt->name);
	}
	if (with_shared && ov->nodes[n].n_shared) {
		put(t, "shared: [");
		for (int i = 0; i < ov->nodes[n].n_shared; i++)
			put(t, "%s\"%s\"", i ? ", " : "", ov->shared[ov->nodes[n].shared[i]].name);
		put(t, "]\n");
	}
}

/* Whether two documents share a top-level key (then they must be merged, not joined). */
static int shares_key(const char *a, size_t alen, const char *b, size_t blen, bool *shared, char *err, size_t errlen)
{
	struct ov_keys ka, kb;
	int rc;

	*shared = false;
	if ((rc = ov_top_keys(a, alen, &ka, err, errlen)))
		return rc;
	if ((rc = ov_top_keys(b, blen, &kb, err, errlen))) {
		ov_keys_free(&ka);
		return rc;
	}
	for (int i = 0; i < ka.n; i++)
		for (int j = 0; j < kb.n; j++)
			*shared |= !strcmp(ka.names[i], kb.names[j]);
	ov_keys_free(&ka);
	ov_keys_free(&kb);
	return 0;
}

static int node_doc(struct cctx *c, int n, char **doc, size_t *len)
{
	const struct ov_node *node = &c->ov->nodes[n];
	struct txt comp = { 0 }, out = { 0 };
	struct ov_keys k;
	bool merge = false;
	int rc = 0;

	compiled(c, n, true, &comp);
	put(&out, "# node %s of overlay %s, written by hermesctl overlay apply: change the overlay file, not this key\n",
	    node->name, c->ov->name);
	if (node->config.text) {
		char e[512];

		if ((rc = ov_top_keys(node->config.text, node->config.len, &k, e, sizeof(e))))
			goto bad_config;
		for (int i = 0; i < k.n; i++)
			if (!strcmp(k.names[i], "shared")) {
				ov_keys_free(&k);
				rc = fail(c, node->config.key_line, -EINVAL, "node '%s': its config sets 'shared' (expected "
					  "the node's own shared: key in the overlay, which writes it)", node->name);
				goto out;
			}
		ov_keys_free(&k);
		if (comp.len && (rc = shares_key(node->config.text, node->config.len, comp.p, comp.len, &merge, e, sizeof(e))))
			goto bad_config;
		if (merge) {
			const char *texts[2] = { node->config.text, comp.p }, *names[2] = { "its config", "its routes" };
			size_t lens[2] = { node->config.len, comp.len };
			char *m;
			size_t mlen;

			if ((rc = ov_merge(texts, lens, names, 2, NULL, &m, &mlen, e, sizeof(e)))) {
				rc = fail(c, node->config.key_line, rc, "node '%s': %s", node->name, e);
				goto out;
			}
			put(&out, "%s", m);
			free(m);
		} else {
			put(&out, "%s%s", node->config.text,
			    node->config.len && node->config.text[node->config.len - 1] != '\n' ? "\n" : "");
		}
		goto compiled;
bad_config:
		rc = fail(c, node->config.key_line, rc, "node '%s''s config: %s", node->name, e);
		goto out;
	}
compiled:
	if (!merge && comp.len)
		put(&out, "%s", comp.p);
	if (out.oom || comp.oom)
		rc = -ENOMEM;
out:
	free(comp.p);
	if (rc) {
		free(out.p);
		return rc;
	}
	*doc = out.p;
	*len = out.len;
	return 0;
}

int ov_compile(const struct overlay *ov, struct ov_out *out, char *err, size_t errlen)
{
	struct cctx c = { ov, NULL, err, errlen, 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	c.hops = calloc((size_t)(ov->n_routes ? ov->n_routes : 1) * (size_t)(ov->n_nodes ? ov->n_nodes : 1), sizeof(*c.hops));
	out->docs = calloc((size_t)ov->n_nodes + 1, sizeof(*out->docs));
	out->lens = calloc((size_t)ov->n_nodes + 1, sizeof(*out->lens));
	if (!c.hops || !out->docs || !out->lens)
		rc = -ENOMEM;
	for (int r = 0; !rc && r < ov->n_routes; r++)
		rc = route_hops(&c, r);
	if (!rc)
		rc = check_loops(&c);
	for (int n = 0; !rc && n < ov->n_nodes; n++)
		rc = node_doc(&c, n, &out->docs[n], &out->lens[n]);
	if (!rc) {
		/* ov_check_node wants the compiled part alone: kept beside the documents */
		out->comp = calloc((size_t)ov->n_nodes + 1, sizeof(*out->comp));
		out->comp_lens = calloc((size_t)ov->n_nodes + 1, sizeof(*out->comp_lens));
		if (!out->comp || !out->comp_lens)
			rc = -ENOMEM;
		for (int n = 0; !rc && n < ov->n_nodes; n++) {
			struct txt t = { 0 };

			compiled(&c, n, false, &t);
			if (t.oom)
				rc = -ENOMEM;
			out->comp[n] = t.p;
			out->comp_lens[n] = t.len;
		}
	}
	free(c.hops);
	if (rc)
		ov_out_free(ov, out);
	return rc;
}

void ov_out_free(const struct overlay *ov, struct ov_out *out)
{
	for (int n = 0; n < ov->n_nodes; n++) {
		if (out->docs)
			free(out->docs[n]);
		if (out->comp)
			free(out->comp[n]);
	}
	free(out->docs);
	free(out->lens);
	free(out->comp);
	free(out->comp_lens);
	memset(out, 0, sizeof(*out));
}
