/* cfg_net.c: the sections of hermes.yaml about where flows go and how: listeners, proxy,
 * inbound (protected ingress), and the lists policy and endpoints: their key tables (with
 * each key's reload mark), setters and checks, and the look-ups over what they hold (the
 * endpoint set of a destination, a peer allowed past protected ingress). The tunnels'
 * sections (routes, tunnel_access, tls, tunnel) are cfg_tunnel.c's. config.c's top-level
 * table names the sections; the walker is cfg_parse.c. */
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
#define ENDPOINT_EXPECT "match: IP:PORT and alternates: [IP:PORT, ...]"

static const struct cfgp_key rule_keys[] = {
	{ .name = "match", .set = set_rule_match, .expect = "CIDR[:PORT] with port 1..65535, "
	  "e.g. 10.0.0.0/8, 10.0.2.0/24:80, [fd00::/64]:443" },
	{ .name = "action", .set = set_rule_action, .expect = "pass, deny, proxy, tunnel or http" },
	{ .name = "protocol", .set = set_rule_protocol, .flags = CFGP_OPT,
	  .expect = "tcp (the default), udp or both" },
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

int cfgnet_set_endpoints(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			 void *obj)
{
	struct hermes_config *cfg = obj;

	return cfgp_parse_list(c, qname, v, ENDPOINT_EXPECT, endpoint_keys, ARRAY_SIZE(endpoint_keys),
			       sizeof(struct cfg_endpoint_set), k->entries,
			       (void **)&cfg->endpoints, &cfg->n_endpoints, check_endpoint);
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

const struct cfg_endpoint_set *config_find_endpoints(const struct hermes_config *cfg,
						      const struct sockaddr *dst)
{
	for (int i = 0; i < cfg->n_endpoints; i++)
		if (same_addr((const struct sockaddr *)&cfg->endpoints[i].match.ss, dst))
			return &cfg->endpoints[i];
	return NULL;
}
