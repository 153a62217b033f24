/* cfg_net.c: the sections of hermes.yaml about where flows go and how: listeners, proxy,
 * inbound (protected ingress), the lists policy, endpoints, routes (tunnel peers) and
 * tunnel_access, and the sections tls and tunnel: their key tables (with each key's
 * reload mark), setters and checks, and the look-ups over what they hold (the route,
 * endpoint set and access rule of a destination). config.c's top-level table names the
 * sections; the walker is cfg_parse.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "addr.h"
#include "cfg_net.h"
#include "cfg_parse.h"
#include "config.h"
#include "policy.h"

#define DEFAULT_INBOUND "0.0.0.0:15006"

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	struct hermes_addr ha, hb;

	if (addr_to_hermes(a, &ha) || addr_to_hermes(b, &hb))
		return false;
	return ha.family == hb.family && ha.port == hb.port &&
	       !memcmp(ha.addr, hb.addr, ha.family == HERMES_FAMILY_V4 ? 4 : 16);
}

/* The same CIDR[:PORT] (whatever the protocol) */
static bool same_match(const struct hermes_policy_key *a, const struct hermes_policy_key *b)
{
	return a->prefixlen == b->prefixlen && a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static const char *const relay_names[] = { [RELAY_URING] = "uring", [RELAY_SPLICE] = "splice",
					    [RELAY_AUTO] = "auto", [RELAY_KERNEL] = "kernel" };

int config_parse_relay(const char *s, enum relay_engine *out)
{
	for (unsigned i = 0; i < ARRAY_SIZE(relay_names); i++) {
		if (!strcmp(s, relay_names[i])) {
			*out = (enum relay_engine)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *config_relay_name(enum relay_engine r)
{
	return (unsigned)r < ARRAY_SIZE(relay_names) ? relay_names[r] : "?";
}

static int set_relay(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	unsigned i;
	int ret = cfgp_get_word(c, k, qname, v, relay_names, ARRAY_SIZE(relay_names), &i);

	if (!ret)
		*(enum relay_engine *)((char *)obj + k->off) = (enum relay_engine)i;
	return ret;
}

/* policy rule keys, into struct cfg_rule */
static int set_rule_match(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname,
			  yaml_node_t *v, void *obj)
{
	struct cfg_rule *r = obj;
	char why[160];
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	why[0] = 0;
	if (pol_parse_match_err(s, &r->key, why, sizeof(why)) == 0)
		return 0;
	/* why names the token and the fault, and sometimes already what is expected */
	if (strstr(why, "expected"))
		return cfgp_fail(c, v, "'%s': %s", qname, why);
	return cfgp_fail(c, v, "'%s': %s (expected %s)", qname, why[0] ? why : "bad match", k->expect);
}

static int set_rule_action(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname,
			   yaml_node_t *v, void *obj)
{
	struct cfg_rule *r = obj;
	enum hermes_action act;
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	ret = pol_parse_action(s, &act);
	if (ret == -EOPNOTSUPP)
		return cfgp_fail(c, v, "action '%s' is not implemented yet (expected %s)",
				 cfgp_show(c, s), k->expect);
	if (ret)
		return cfgp_fail(c, v, "unknown %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	r->val.action = act;
	return 0;
}

static int set_rule_protocol(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname,
			     yaml_node_t *v, void *obj)
{
	struct cfg_rule *r = obj;
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (pol_parse_protos(s, &r->protos))
		return cfgp_fail(c, v, "unknown %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	return 0;
}

/* endpoint set keys, into struct cfg_endpoint_set */
static int set_alternates(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname,
			  yaml_node_t *v, void *obj)
{
	struct cfg_endpoint_set *set = obj;

	return cfgp_parse_addr_list(c, k, qname, v, 1, CFG_MAX_ALTERNATES, set->alternates, &set->n_alternates);
}

const struct cfgp_key cfgnet_listener_keys[] = {
	{ .name = "outbound", .set = cfgp_set_addr, CFGP_FIELD(listen), CFGP_RESTART, .flags = CFGP_V4,
	  .expect = "IPv4:PORT, e.g. " CFGNET_DEFAULT_LISTEN },
	{ .name = "outbound6", .set = cfgp_set_addr, CFGP_FIELD(listen6), CFGP_RESTART, .flags = CFGP_V6 | CFGP_OFF,
	  .expect = "[IPv6]:PORT, e.g. " CFGNET_DEFAULT_LISTEN6 ", or off" },
	{ .name = "admin", .set = cfgp_set_addr, CFGP_FIELD(admin), CFGP_RESTART, .flags = CFGP_OFF,
	  .expect = "IP:PORT or [IPv6]:PORT, e.g. " CFGNET_DEFAULT_ADMIN ", or off" },
	{ .name = "tunnel", .set = cfgp_set_addr, CFGP_FIELD(tunnel), CFGP_RESTART, .flags = CFGP_OFF,
	  .expect = "IP:PORT or [IPv6]:PORT, e.g. 10.0.0.1:15008, or off" },
	{ .name = "metrics", .set = cfgp_set_addr, CFGP_FIELD(metrics), CFGP_RESTART, .flags = CFGP_OFF,
	  .expect = "IP:PORT or [IPv6]:PORT serving only /metrics and /ready, e.g. 0.0.0.0:15020, or off" },
	/* slow clients (slowloris) on the admin and metrics ports: the whole exchange */
	{ .name = "admin_timeout_ms", .set = cfgp_set_u32, CFGP_FIELD(admin_timeout_ms), .min = 100, .max = 600000,
	  CFGP_RELOAD },
};

/* inbound: protected ingress */
static int protect_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_inbound *in = &((struct hermes_config *)obj)->inbound;
	uint32_t port;

	(void)i;
	if (cfgp_parse_u32(s, 1, 65535, &port))
		return cfgp_fail(c, a, "bad port '%s' in '%s' (expected a port 1..65535)", cfgp_show(c, s), qname);
	for (int j = 0; j < in->n_protect; j++)
		if (in->protect[j] == port)
			return 0;
	in->protect[in->n_protect++] = (uint16_t)port;
	return 0;
}

static int set_protect(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct hermes_config *)obj)->inbound.n_protect = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, 0, CFG_MAX_PROTECT, "a port 1..65535", protect_item, obj);
}

static int allow_from_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_inbound *in = &((struct hermes_config *)obj)->inbound;
	char why[160] = "";

	if (pol_parse_match_err(s, &in->allow_from[i], why, sizeof(why)))
		return cfgp_fail(c, a, "'%s': %s", qname, why[0] ? why : "bad CIDR");
	if (in->allow_from[i].port)
		return cfgp_fail(c, a, "'%s': '%s' has a port (expected a CIDR without port: peers are matched "
				 "on their address)", qname, cfgp_show(c, s));
	in->n_allow_from = i + 1;
	return 0;
}

static int set_allow_from(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct hermes_config *)obj)->inbound.n_allow_from = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, 0, CFG_MAX_ALLOW_FROM, "a CIDR", allow_from_item, obj);
}

const struct cfgp_key cfgnet_inbound_keys[] = {
	{ .name = "listen", .set = cfgp_set_addr, CFGP_FIELD(inbound.listen), .flags = CFGP_V4 | CFGP_OFF, CFGP_RESTART,
	  .expect = "IPv4:PORT, e.g. " DEFAULT_INBOUND ", or off" },
	{ .name = "listen6", .set = cfgp_set_addr, CFGP_FIELD(inbound.listen6), .flags = CFGP_V6 | CFGP_OFF,
	  CFGP_RESTART,
	  .expect = "[IPv6]:PORT, e.g. \"[::]:15006\", or off" },
	{ .name = "protect", .set = set_protect, CFGP_ARRAY(inbound.protect, inbound.n_protect), CFGP_RESTART,
	  .expect = "a list of at most 64 local ports reachable only through hermesd, e.g. [80, 8443]" },
	{ .name = "allow_from", .set = set_allow_from, CFGP_ARRAY(inbound.allow_from, inbound.n_allow_from),
	  CFGP_RESTART,
	  .expect = "a list of at most 64 CIDRs whose direct connections hermesd lets through, e.g. [10.0.1.0/24]" },
	{ .name = "allow_init_netns", .set = cfgp_set_bool, CFGP_FIELD(inbound.allow_init_netns), CFGP_RESTART,
	  .expect = "true or false" },
};

void config_inbound_on(struct hermes_config *cfg)
{
	if (cfg->inbound.on)
		return;
	cfg->inbound.on = true;
	(void)addr_parse(DEFAULT_INBOUND, &cfg->inbound.listen); /* constant: cannot fail */
}

/* inbound: a section that also turns protected ingress on (with its default listener) */
int cfgnet_set_inbound(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	config_inbound_on(obj);
	return cfgp_parse_section(c, k, qname, v, obj, NULL);
}

enum { PX_CONNECT_TIMEOUT, PX_ATTEMPTS, PX_BACKOFF_BASE, PX_BACKOFF_MAX, PX_IDLE, PX_DRAIN,
       PX_RELAY, PX_SK_MSG, PX_BUFFERS, PX_SOCK_BUFFERS, PX_NKEYS };

#define U32_KEY(f, lo, hi) { .name = #f, .set = cfgp_set_u32, CFGP_FIELD(f), .min = (lo), .max = (hi), CFGP_RELOAD }

const struct cfgp_key cfgnet_proxy_keys[PX_NKEYS] = {
	[PX_CONNECT_TIMEOUT] = U32_KEY(connect_timeout_ms, 1, 600000),
	[PX_ATTEMPTS] = U32_KEY(connect_attempts, 1, 100),
	[PX_BACKOFF_BASE] = U32_KEY(backoff_base_ms, 0, 60000),
	[PX_BACKOFF_MAX] = U32_KEY(backoff_max_ms, 0, 600000),
	[PX_IDLE] = U32_KEY(idle_timeout_ms, 1000, 86400000),
	[PX_DRAIN] = U32_KEY(drain_timeout_ms, 0, 600000),
	/* both choose BPF programs and check each other at start (main.c) */
	[PX_RELAY] = { .name = "relay", .set = set_relay, CFGP_FIELD(relay), CFGP_RESTART,
		       .expect = "uring, splice, kernel or auto" },
	[PX_SK_MSG] = { .name = "sk_msg", .set = cfgp_set_bool, CFGP_FIELD(sk_msg), CFGP_RESTART,
			.expect = "true or false" },
	/* the pool is mapped and registered with the ring once, at start */
	[PX_BUFFERS] = { .name = "relay_buffers", .set = cfgp_set_u32, CFGP_FIELD(relay_buffers), .min = 16,
			 .max = 32768, CFGP_RESTART },
	/* read at each recv */
	[PX_SOCK_BUFFERS] = U32_KEY(buffers_per_socket, 1, 256),
};

/* proxy: a section plus the backoff_base_ms <= backoff_max_ms check, made against
 * the default for whichever of the two the file leaves out. */
int cfgnet_set_proxy(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
		     void *obj)
{
	yaml_node_t *vals[PX_NKEYS] = { NULL };
	const struct hermes_config *cfg = obj;
	yaml_node_t *base, *max;
	int ret;

	ret = cfgp_parse_section(c, k, qname, v, obj, vals);
	if (ret || cfg->backoff_max_ms >= cfg->backoff_base_ms)
		return ret;
	base = vals[PX_BACKOFF_BASE];
	max = vals[PX_BACKOFF_MAX];
	if (max)
		return cfgp_fail(c, max, "'%s.backoff_max_ms' (%u) is less than backoff_base_ms (%u%s) "
				 "(expected backoff_max_ms >= backoff_base_ms)", qname,
				 cfg->backoff_max_ms, cfg->backoff_base_ms, base ? "" : ", the default");
	return cfgp_fail(c, base, "'%s.backoff_base_ms' (%u) is more than backoff_max_ms (%u, the "
			 "default) (expected backoff_base_ms <= backoff_max_ms, or set backoff_max_ms too)",
			 qname, cfg->backoff_base_ms, cfg->backoff_max_ms);
}

#define RULE_EXPECT "match: CIDR[:PORT], action: pass|deny|proxy|tunnel|http and optionally protocol: tcp|udp|both"
#define ROUTE_EXPECT "name: NAME, match: [CIDR[:PORT], ...] and peers: [IP:PORT, ...]"
#define ENDPOINT_EXPECT "match: IP:PORT and alternates: [IP:PORT, ...]"

static const struct cfgp_key rule_keys[] = {
	{ .name = "match", .set = set_rule_match, .expect = "CIDR[:PORT] with port 1..65535, "
	  "e.g. 10.0.0.0/8, 10.0.2.0/24:80, [fd00::/64]:443" },
	{ .name = "action", .set = set_rule_action, .expect = "pass, deny, proxy, tunnel or http" },
	{ .name = "protocol", .set = set_rule_protocol, .flags = CFGP_OPT,
	  .expect = "tcp (the default), udp or both" },
};

int cfgnet_set_route_name(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_route *r = obj;
	const char *s;
	int ret = cfgp_get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (!*s || strlen(s) >= sizeof(r->name) || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
							     "0123456789._-") != strlen(s))
		return cfgp_fail(c, v, "bad %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	snprintf(r->name, sizeof(r->name), "%s", s);
	return 0;
}

static int route_match_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_route *r = obj;
	char why[160] = "";

	if (pol_parse_match_err(s, &r->match[i], why, sizeof(why)))
		return cfgp_fail(c, a, "'%s': %s", qname, why[0] ? why : "bad match");
	r->n_match = i + 1;
	return 0;
}

static int set_route_match(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_route *)obj)->n_match = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, 1, CFG_MAX_ROUTE_MATCH, "CIDR[:PORT]", route_match_item, obj);
}

static int parse_proto(const char *s, uint8_t *proto, bool *h2c)
{
	*h2c = false;
	if (!strcmp(s, "h2"))
		*proto = TPROTO_H2;
	else if (!strcmp(s, "h2c"))
		*proto = TPROTO_H2, *h2c = true;
	else if (!strcmp(s, "h1"))
		*proto = TPROTO_H1;
	else if (!strcmp(s, "h2-post"))
		*proto = TPROTO_H2_POST;
	else
		return -EINVAL;
	return 0;
}

#define PROTO_EXPECT "h2 (HTTP/2 CONNECT over TLS), h2c (HTTP/2 CONNECT, no TLS), h1 (HTTP/1.1 CONNECT) or h2-post"

static int set_peer_addr(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_peer *p = obj;
	const char *s;
	int ret = cfgp_get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (addr_parse(s, &p->addr))
		return cfgp_fail(c, v, "bad %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	return 0;
}

static int set_peer_proto(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_peer *p = obj;
	const char *s;
	bool h2c;
	int ret = cfgp_get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (parse_proto(s, &p->proto, &h2c))
		return cfgp_fail(c, v, "unknown %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	p->proto_set = true;
	if (h2c) {
		if (p->tls_set && p->tls)
			return cfgp_fail(c, v, "'%s' h2c is HTTP/2 without TLS, but tls: true is given "
					 "(expected h2 with TLS)", qname);
		p->tls = false;
		p->tls_set = true;
	}
	return 0;
}

static int set_peer_tls(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_peer *p = obj;
	int ret;

	if (p->tls_set)
		return cfgp_fail(c, v, "'%s' contradicts protocol h2c (expected no tls key with h2c)", qname);
	ret = cfgp_set_bool(c, k, qname, v, obj);
	if (!ret)
		p->tls_set = true;
	return ret;
}

static int set_peer_path(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_peer *p = obj;
	int ret = cfgp_set_string(c, k, qname, v, obj);

	if (!ret && (p->path[0] != '/' || strpbrk(p->path, " \t\r\n")))
		return cfgp_fail(c, v, "bad %s '%s' (expected %s)", qname, cfgp_show(c, p->path), k->expect);
	return ret;
}

static const struct cfgp_key peer_keys[] = {
	{ .name = "address", .set = set_peer_addr, .expect = "IP:PORT or [IPv6]:PORT of the peer's tunnel listener" },
	{ .name = "protocol", .set = set_peer_proto, .flags = CFGP_OPT, .expect = PROTO_EXPECT },
	{ .name = "tls", .set = set_peer_tls, .off = offsetof(struct cfg_peer, tls), .flags = CFGP_OPT,
	  .expect = "true or false" },
	{ .name = "name", .set = cfgp_set_string, .off = offsetof(struct cfg_peer, name),
	  .size = sizeof(((struct cfg_peer *)0)->name), .flags = CFGP_OPT,
	  .expect = "the DNS name the peer's certificate carries, at most 63 characters" },
	{ .name = "path", .set = set_peer_path, .off = offsetof(struct cfg_peer, path),
	  .size = sizeof(((struct cfg_peer *)0)->path), .flags = CFGP_OPT,
	  .expect = "an absolute request path for h2-post, e.g. /hermes/tunnel" },
};

#define PEER_EXPECT "IP:PORT, or a mapping address: IP:PORT with optional protocol, tls, name, path"

/* A peer is "IP:PORT" (the route's protocol) or a mapping of peer_keys. */
static int set_route_peers(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_route *r = obj;
	yaml_node_item_t *it;
	size_t n;

	if (v->type != YAML_SEQUENCE_NODE)
		return cfgp_fail(c, v, "'%s' must be a list, not %s (expected %s)", qname, cfgp_node_kind(v),
				 k->expect);
	n = v->data.sequence.items.top - v->data.sequence.items.start;
	if (n < 1 || n > CFG_MAX_PEERS)
		return cfgp_fail(c, v, "'%s' has %zu entries (expected %s)", qname, n, k->expect);
	r->n_peers = 0;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *a = yaml_document_get_node(c->doc, *it);
		yaml_node_t *vals[CFGP_MAX_KEYS] = { NULL };
		struct cfg_peer *p = &r->peers[r->n_peers];
		int ret;

		memset(p, 0, sizeof(*p));
		if (a->type == YAML_MAPPING_NODE) {
			ret = cfgp_parse_map(c, a, peer_keys, ARRAY_SIZE(peer_keys), qname, p, vals);
			if (ret)
				return ret;
			if (!vals[0])
				return cfgp_fail(c, a, "'%s' entry has no 'address' (expected %s)", qname, PEER_EXPECT);
			if (p->proto == TPROTO_H2_POST && !p->path[0])
				return cfgp_fail(c, a, "'%s' entry with protocol h2-post has no 'path' (expected the "
						 "request path the peer serves, e.g. /hermes/tunnel)", qname);
		} else {
			const char *s;

			ret = cfgp_get_scalar(c, qname, a, PEER_EXPECT, &s);
			if (ret)
				return ret;
			if (addr_parse(s, &p->addr))
				return cfgp_fail(c, a, "bad peer '%s' in '%s' (expected %s)", cfgp_show(c, s), qname, PEER_EXPECT);
		}
		r->n_peers++;
	}
	return 0;
}

static int set_route_proto(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_route *r = obj;
	const char *s;
	int ret = cfgp_get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (parse_proto(s, &r->proto, &r->h2c) || r->proto == TPROTO_H2_POST)
		return cfgp_fail(c, v,
				 "unknown %s '%s' (expected h2, h2c or h1; h2-post is set per peer, with its path)",
				 qname, cfgp_show(c, s));
	return 0;
}

static const struct cfgp_key route_keys[] = {
	{ .name = "name", .set = cfgnet_set_route_name,
	  .expect = "a name of at most 31 letters, digits, '.', '_' or '-'" },
	{ .name = "match", .set = set_route_match, .expect = "a list of 1..8 CIDR[:PORT], e.g. [10.0.3.0/24]" },
	{ .name = "peers", .set = set_route_peers,
	  .expect = "a list of 1..8 tunnel peers, each IP:PORT or {address: IP:PORT, protocol: h2|h2c|h1|h2-post, "
		    "tls: BOOL, name: CERTNAME, path: /PATH}" },
	{ .name = "protocol", .set = set_route_proto, .flags = CFGP_OPT,
	  .expect = "h2 (default), h2c or h1: the protocol of peers written as IP:PORT" },
};

#define ACCESS_EXPECT "match: CIDR[:PORT], action: allow|deny, and optionally from: CIDR, uid: N, comm: NAME, san: NAME"

static int set_access_match(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_access *a = obj;
	struct hermes_policy_key *dst = k->off ? &a->from : &a->match;
	char why[160] = "";
	const char *s;
	int ret = cfgp_get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (pol_parse_match_err(s, dst, why, sizeof(why)))
		return cfgp_fail(c, v, "'%s': %s", qname, why[0] ? why : "bad match");
	if (k->off)
		a->has_from = true;
	return 0;
}

static int set_access_action(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	static const char *const words[] = { "deny", "allow" };
	unsigned i;
	int ret = cfgp_get_word(c, k, qname, v, words, ARRAY_SIZE(words), &i);

	if (!ret)
		((struct cfg_access *)obj)->allow = i == 1;
	return ret;
}

static int set_access_uid(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_access *a = obj;
	int ret = cfgp_set_u32(c, k, qname, v, obj);

	if (!ret)
		a->has_uid = true;
	return ret;
}

static int set_access_comm(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_access *a = obj;
	int ret = cfgp_set_string(c, k, qname, v, obj);

	if (!ret && !a->comm[0])
		return cfgp_fail(c, v, "'%s' is empty (expected %s)", qname, k->expect);
	return ret;
}

static const struct cfgp_key access_keys[] = {
	{ .name = "match", .set = set_access_match, .expect = "the destination, CIDR[:PORT]" },
	{ .name = "action", .set = set_access_action, .expect = "allow or deny" },
	{ .name = "from", .set = set_access_match, .off = 1, .flags = CFGP_OPT,
	  .expect = "the requesting peer's address, CIDR" },
	{ .name = "uid", .set = set_access_uid, .off = offsetof(struct cfg_access, uid), .min = 0,
	  .max = 0xffffffff, .flags = CFGP_OPT },
	{ .name = "comm", .set = set_access_comm, .off = offsetof(struct cfg_access, comm),
	  .size = sizeof(((struct cfg_access *)0)->comm), .flags = CFGP_OPT,
	  .expect = "a command name of at most 15 characters" },
	{ .name = "san", .set = cfgp_set_string, .off = offsetof(struct cfg_access, san),
	  .size = sizeof(((struct cfg_access *)0)->san), .flags = CFGP_OPT,
	  .expect = "a DNS name or URI the peer's TLS certificate carries (subjectAltName), at most 127 characters" },
};

static const struct cfgp_key endpoint_keys[] = {
	{ .name = "match", .set = cfgp_set_addr, .off = offsetof(struct cfg_endpoint_set, match),
	  .expect = "IP:PORT or [IPv6]:PORT, the exact dialled destination" },
	{ .name = "alternates", .set = set_alternates,
	  .expect = "1..8 addresses IP:PORT or [IPv6]:PORT" },
};

static int check_rule(struct cfgp_ctx *c, void *arr, int i, yaml_node_t *item, yaml_node_t **vals)
{
	struct cfg_rule *rules = arr, *r = &rules[i];
	char canon[ADDR_STRLEN];

	r->val.origin = HERMES_ORIGIN_CONFIG;
	r->val.route_id = 0;
	r->line = item->start_mark.line + 1;
	if (!r->protos)
		r->protos = POL_PROTO_TCP;
	if ((r->protos & POL_PROTO_UDP) && pol_udp_refusal((enum hermes_action)r->val.action))
		return cfgp_fail(c, vals[1], "policy rule with protocol %s: %s",
				 pol_protos_name(r->protos),
				 pol_udp_refusal((enum hermes_action)r->val.action));
	/* a udp-only rule is its UDP entry; a `both` rule gets its twin in cfgnet_set_policy */
	r->key.proto = r->protos == POL_PROTO_UDP ? HERMES_PROTO_UDP : HERMES_PROTO_TCP;
	for (int j = 0; j < i; j++) {
		/* one rule per match and protocol: a tcp and a udp rule of one match may differ */
		if (!(rules[j].protos & r->protos) || !same_match(&rules[j].key, &r->key))
			continue;
		if (pol_fmt_match(&r->key, canon, sizeof(canon)))
			snprintf(canon, sizeof(canon), "?");
		return cfgp_fail(c, vals[0], "duplicate policy match %s: line %d and line %d have "
				 "the same match (expected one rule per match)",
				 canon, rules[j].line, r->line);
	}
	return 0;
}

static int check_endpoint(struct cfgp_ctx *c, void *arr, int i, yaml_node_t *item,
			  yaml_node_t **vals)
{
	struct cfg_endpoint_set *sets = arr, *s = &sets[i];
	char buf[ADDR_STRLEN];

	s->line = item->start_mark.line + 1;
	for (int j = 0; j < i; j++) {
		if (!same_addr((struct sockaddr *)&sets[j].match.ss, (struct sockaddr *)&s->match.ss))
			continue;
		return cfgp_fail(c, vals[0], "duplicate endpoints match %s: line %d and line %d "
				 "(expected one entry per destination)",
				 addr_fmt((struct sockaddr *)&s->match.ss, buf, sizeof(buf)),
				 sets[j].line, s->line);
	}
	return 0;
}

int cfgnet_set_policy(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
		      void *obj)
{
	struct hermes_config *cfg = obj;
	struct cfg_rule *rules;
	int ret, n_both = 0, n;

	ret = cfgp_parse_list(c, qname, v, RULE_EXPECT, rule_keys, ARRAY_SIZE(rule_keys),
			      sizeof(struct cfg_rule), k->entries,
			      (void **)&cfg->rules, &cfg->n_rules, check_rule);
	if (ret)
		return ret;
	/* a `both` rule is two map entries: its UDP twin goes at the end */
	for (int i = 0; i < cfg->n_rules; i++)
		n_both += cfg->rules[i].protos == (POL_PROTO_TCP | POL_PROTO_UDP);
	if (!n_both)
		return 0;
	n = cfg->n_rules;
	/* NOLINTNEXTLINE(bugprone-misplaced-widening-cast): n and n_both are at most k->entries: no int overflow */
	if ((size_t)(n + n_both) > k->entries)
		return cfgp_fail(c, v, "'%s': %d rules with protocol both make %d map entries, more than %zu",
				 qname, n_both, n + n_both, k->entries);
	rules = realloc(cfg->rules, (size_t)(n + n_both) * sizeof(*rules));
	if (!rules)
		return cfgp_fail(c, v, "out of memory for '%s'", qname);
	cfg->rules = rules;
	for (int i = 0; i < n; i++) {
		if (rules[i].protos != (POL_PROTO_TCP | POL_PROTO_UDP))
			continue;
		rules[cfg->n_rules] = rules[i];
		rules[cfg->n_rules].key.proto = HERMES_PROTO_UDP;
		cfg->n_rules++;
	}
	return 0;
}

static int check_access(struct cfgp_ctx *c, void *arr, int i, yaml_node_t *item, yaml_node_t **vals)
{
	struct cfg_access *a = &((struct cfg_access *)arr)[i];

	(void)c;
	(void)vals;
	a->line = item->start_mark.line + 1;
	return 0;
}

int cfgnet_set_tunnel_access(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct hermes_config *cfg = obj;

	return cfgp_parse_list(c, qname, v, ACCESS_EXPECT, access_keys, ARRAY_SIZE(access_keys),
			       sizeof(struct cfg_access), k->entries, (void **)&cfg->access, &cfg->n_access, check_access);
}

static int check_route(struct cfgp_ctx *c, void *arr, int i, yaml_node_t *item, yaml_node_t **vals)
{
	struct cfg_route *routes = arr, *r = &routes[i];

	r->line = item->start_mark.line + 1;
	for (int j = 0; j < r->n_peers; j++) {
		struct cfg_peer *p = &r->peers[j];

		if (!p->proto_set)
			p->proto = r->proto;
		if (!p->tls_set)
			p->tls = p->proto_set ? p->proto != TPROTO_H1 : p->proto != TPROTO_H1 && !r->h2c;
		if (p->proto == TPROTO_H2_POST && !p->path[0])
			return cfgp_fail(c, vals[2], "route '%s': an h2-post peer needs a path", r->name);
	}
	for (int j = 0; j < i; j++)
		if (!strcmp(routes[j].name, r->name))
			return cfgp_fail(c, vals[0], "duplicate route name '%s': line %d and line %d", r->name,
					 routes[j].line, r->line);
	return 0;
}

int cfgnet_set_routes(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct hermes_config *cfg = obj;

	return cfgp_parse_list(c, qname, v, ROUTE_EXPECT, route_keys, ARRAY_SIZE(route_keys), sizeof(struct cfg_route),
			       k->entries, (void **)&cfg->routes, &cfg->n_routes, check_route);
}

int cfgnet_set_endpoints(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			 void *obj)
{
	struct hermes_config *cfg = obj;

	return cfgp_parse_list(c, qname, v, ENDPOINT_EXPECT, endpoint_keys, ARRAY_SIZE(endpoint_keys),
			       sizeof(struct cfg_endpoint_set), k->entries,
			       (void **)&cfg->endpoints, &cfg->n_endpoints, check_endpoint);
}

/* The TLS 1.3 suites OpenSSL 3 knows (RFC 8446 B.4). Checked here, at load, because
 * SSL_CTX_set_ciphersuites skips a name it does not know without a word. */
static const char *const tls13_suites[] = {
	"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
	"TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
};

static int set_ciphersuites(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			    void *obj)
{
	struct hermes_config *cfg = obj;
	const char *p;
	int ret = cfgp_set_string(c, k, qname, v, obj);

	if (ret)
		return ret;
	p = cfg->tls.ciphersuites;
	if (!*p)
		return cfgp_fail(c, v, "'%s' is empty (expected %s)", qname, k->expect);
	for (;;) {
		size_t n = strcspn(p, ":");
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(tls13_suites); i++)
			known |= strlen(tls13_suites[i]) == n && !strncmp(p, tls13_suites[i], n);
		if (!known)
			return cfgp_fail(c, v, "%s '%s': '%.*s' is not a TLS 1.3 cipher suite (expected %s)", qname,
					 cfgp_show(c, cfg->tls.ciphersuites), (int)n, p, k->expect);
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

const struct cfgp_key cfgnet_tls_keys[] = {
	{ .name = "cert", .set = cfgp_set_path, CFGP_STRING(tls.cert), CFGP_RELOAD,
	  .expect = "an absolute path to this host's PEM certificate (chain)" },
	{ .name = "key", .set = cfgp_set_path, CFGP_STRING(tls.key), CFGP_RELOAD,
	  .expect = "an absolute path to the certificate's PEM private key" },
	{ .name = "ca", .set = cfgp_set_path, CFGP_STRING(tls.ca), CFGP_RELOAD,
	  .expect = "an absolute path to the PEM CA certificate(s) that sign peers" },
	/* the runtime snapshot a SIGHUP builds makes new contexts: new connections use it */
	{ .name = "ciphersuites", .set = set_ciphersuites, CFGP_STRING(tls.ciphersuites), CFGP_RELOAD,
	  .expect = "TLS 1.3 cipher suites separated by ':', most preferred first, from TLS_AES_128_GCM_SHA256, "
		    "TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256, "
		    "TLS_AES_128_CCM_8_SHA256" },
};

#define TUNNEL_KEY(n, f, lo, hi) { .name = n, .set = cfgp_set_u32, CFGP_FIELD(f), .min = (lo), .max = (hi), CFGP_RELOAD }

const struct cfgp_key cfgnet_tunnel_keys[] = {
	U32_KEY(h2_max_streams, 1, 100000),
	U32_KEY(h2_pool_mbps, 0, 1000000),
	/* the windows of our pooled connections (HTTP/2's limits: at least its initial
	 * 65535, at most 2^31-1); apply to connections opened after a reload */
	{ .name = "h2_stream_window_bytes", .set = cfgp_set_u32, CFGP_FIELD(h2_stream_window), .min = 65535,
	  .max = 0x7fffffff, CFGP_RELOAD },
	{ .name = "h2_conn_window_bytes", .set = cfgp_set_u32, CFGP_FIELD(h2_conn_window), .min = 65535,
	  .max = 0x7fffffff, CFGP_RELOAD },
	{ .name = "head_timeout_ms", .set = cfgp_set_u32, CFGP_FIELD(tunnel_head_timeout_ms), .min = 100, .max = 600000,
	  CFGP_RELOAD },
	{ .name = "post_path", .set = cfgp_set_path, CFGP_STRING(tunnel_post_path), CFGP_RELOAD,
	  .expect = "the path the tunnel listener serves h2-post tunnels on, e.g. /hermes/tunnel" },
	{ .name = "allow_cleartext", .set = cfgp_set_bool, CFGP_FIELD(tunnel_allow_cleartext), CFGP_RELOAD,
	  .expect = "true or false (true: the tunnel listener serves clear text although tls is set)" },
	/* limits of the tunnel listener; the windows apply to connections accepted after a reload */
	TUNNEL_KEY("max_hops", tunnel_max_hops, 1, 255),
	/* a stream's receive ring grows to its window (HTTP/2 allows up to 2^31-1) */
	TUNNEL_KEY("stream_buffer_bytes", tunnel_stream_buffer, 16384, 0x7fffffff),
	TUNNEL_KEY("conn_buffer_bytes", tunnel_conn_buffer, 65535, 0x7fffffff),
	TUNNEL_KEY("total_buffer_mb", tunnel_total_buffer_mb, 1, 1 << 20),
	TUNNEL_KEY("client_connects_per_second", tunnel_connect_rate, 0, 1000000),
	TUNNEL_KEY("client_resets_per_second", tunnel_reset_rate, 0, 1000000),
	TUNNEL_KEY("max_client_connections", tunnel_client_conns, 0, 1000000),
	/* the descriptors streams leave to accepts, /ready and the admin port (fdres_stream_room) */
	TUNNEL_KEY("stream_fd_headroom_percent", tunnel_fd_headroom_pct, 1, 90),
	/* read as each flow's attempt starts: a reload applies to the next CONNECT */
	{ .name = "optimistic_data", .set = cfgp_set_bool, CFGP_FIELD(tunnel_optimistic), CFGP_RELOAD,
	  .expect = "true or false (true: a flow's first bytes go to an HTTP/2 peer with its CONNECT, before the "
		    "peer's answer)" },
	/* CONNECT-UDP (ep_udp.c), read as each stream starts: a reload applies to new streams */
	TUNNEL_KEY("udp_max_datagram_bytes", tunnel_udp_max_dgram, 1, 65527),
	TUNNEL_KEY("udp_idle_timeout_ms", tunnel_udp_idle_ms, 1000, 3600000),
};

/* After the whole file: a tls section is all of cert, key and ca (ciphersuites alone
 * would do nothing), and a peer that uses TLS needs it. */
int cfgnet_check(struct cfgp_ctx *c, const struct hermes_config *cfg)
{
	if ((cfg->tls.cert[0] || cfg->tls.key[0] || cfg->tls.ca[0]) &&
	    !(cfg->tls.cert[0] && cfg->tls.key[0] && cfg->tls.ca[0])) {
		snprintf(c->err, c->errlen, "%s: 'tls' needs all of cert, key and ca (mutual TLS)", c->path);
		return -EINVAL;
	}
	if (!cfg->tls.cert[0] && strcmp(cfg->tls.ciphersuites, CFG_TLS_DEFAULT_CIPHERSUITES)) {
		snprintf(c->err, c->errlen, "%s: tls.ciphersuites is set but 'tls' has no cert, key and ca: "
			 "hermesd speaks no TLS without them (expected all of cert, key and ca, or no ciphersuites)",
			 c->path);
		return -EINVAL;
	}
	for (int i = 0; i < cfg->n_routes; i++)
		for (int j = 0; j < cfg->routes[i].n_peers; j++)
			if (cfg->routes[i].peers[j].tls && !cfg->tls.cert[0]) {
				char a[ADDR_STRLEN];

				snprintf(c->err, c->errlen, "%s:%d: route '%s': peer %s uses TLS (protocol h2 and h2-post "
					 "do by default) but there is no 'tls' section (expected tls: {cert, key, ca}, or "
					 "protocol h2c/h1, or tls: false on the peer)", c->path, cfg->routes[i].line,
					 cfg->routes[i].name,
					 addr_fmt((const struct sockaddr *)&cfg->routes[i].peers[j].addr.ss, a, sizeof(a)));
				return -EINVAL;
			}
	return 0;
}

/* The first rule whose destination matches and whose optional conditions (from, uid, comm,
 * san) all hold. */
const struct cfg_access *config_find_access(const struct hermes_config *cfg, const struct hermes_addr *dst,
					    const struct hermes_addr *from, const uint32_t *uid, const char *comm,
					    const char (*sans)[128], unsigned n_sans)
{
	for (int i = 0; i < cfg->n_access; i++) {
		const struct cfg_access *a = &cfg->access[i];

		if (!pol_key_matches(&a->match, dst))
			continue;
		if (a->has_from) {
			struct hermes_addr f = *from;

			f.port = 0;
			if (!pol_key_matches(&a->from, &f))
				continue;
		}
		if (a->has_uid && (!uid || *uid != a->uid))
			continue;
		if (a->comm[0] && (!comm || strcmp(comm, a->comm)))
			continue;
		if (a->san[0]) {
			unsigned j;

			for (j = 0; j < n_sans && strcmp(sans[j], a->san); j++)
				;
			if (j == n_sans)
				continue;
		}
		return a;
	}
	return NULL;
}

bool config_inbound_allowed(const struct hermes_config *cfg, const struct hermes_addr *peer)
{
	struct hermes_addr p = *peer;

	p.port = 0;
	for (int i = 0; i < cfg->inbound.n_allow_from; i++)
		if (pol_key_matches(&cfg->inbound.allow_from[i], &p))
			return true;
	return false;
}

const struct cfg_route *config_find_route(const struct hermes_config *cfg, const struct hermes_addr *dst)
{
	const struct cfg_route *best = NULL;
	unsigned best_len = 0;

	/* longest prefix wins; an entry with a port wins a tie */
	for (int i = 0; i < cfg->n_routes; i++) {
		for (int j = 0; j < cfg->routes[i].n_match; j++) {
			const struct hermes_policy_key *m = &cfg->routes[i].match[j];
			unsigned len = (m->prefixlen - HERMES_POLICY_PREFIX_BASE) * 2 + (m->port ? 1 : 0);

			if (pol_key_matches(m, dst) && (!best || len > best_len)) {
				best = &cfg->routes[i];
				best_len = len;
			}
		}
	}
	return best;
}

const struct cfg_endpoint_set *config_find_endpoints(const struct hermes_config *cfg,
						      const struct sockaddr *dst)
{
	for (int i = 0; i < cfg->n_endpoints; i++)
		if (same_addr((const struct sockaddr *)&cfg->endpoints[i].match.ss, dst))
			return &cfg->endpoints[i];
	return NULL;
}
