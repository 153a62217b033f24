/* config.c: hermesd's configuration: the embedded defaults, and the YAML file
 * (/etc/hermes/hermes.yaml; etc/hermes.yaml documents every key) parsed with the
 * libyaml document API. Every key is optional; unknown or duplicate keys, wrong
 * node types and bad or out-of-range values are errors reported once, as
 * "FILE:LINE:COL: what is wrong (what is expected)".
 *
 * Each YAML mapping is walked by parse_map() against a table of struct key, whose
 * setter converts one value into a field of the object being filled (the config,
 * a policy rule or an endpoint set). The same tables say what a SIGHUP does with each
 * key of the config (RELOAD or RESTART, see "reload" below): there is no other list. */
#include <errno.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_SOURCE "<embedded default>"
#define DEFAULT_PIN_ROOT "/sys/fs/bpf/hermes"
#define DEFAULT_LISTEN "127.0.0.1:15001"
#define DEFAULT_LISTEN6 "[::1]:15001"
#define DEFAULT_ADMIN "127.0.0.1:15000"
#define DEFAULT_INBOUND "0.0.0.0:15006"
#define DEFAULT_MARK 0x484d /* "HM" */

#define MAX_KEYS 24      /* largest key table */
#define QNAME_LEN 64     /* "section.key" */
#define SHOW_LEN 80      /* a value quoted in a message */

struct ctx {
	const char *path;
	yaml_document_t *doc;
	struct hermes_config *cfg; /* parse_map records where its keys were set */
	char *err;
	size_t errlen;
	char shown[SHOW_LEN]; /* show() */
	char names[256];      /* key_names() */
};

struct key;
/* Converts value node v of key k into obj (+ k->off). qname is "section.key". */
typedef int (*key_set_fn)(struct ctx *c, const struct key *k, const char *qname,
			  yaml_node_t *v, void *obj);

/* Key flags. */
#define KEY_HEX 0x1 /* number: show the range in hex (0x accepted everywhere) */
#define KEY_V4  0x2 /* address: IPv4 only */
#define KEY_V6  0x4 /* address: IPv6 only */
#define KEY_OFF 0x8 /* address: the word "off" means none (len 0) */
#define KEY_OPT 0x10 /* list entries: the key may be left out */

struct key {
	const char *name;
	key_set_fn set;
	size_t off;              /* field offset in the object */
	size_t size;             /* strings: buffer size */
	uint32_t min, max;       /* numbers: inclusive range */
	unsigned flags;          /* KEY_* */
	const char *expect;      /* for messages: what a good value looks like */
	const struct key *sub;   /* sections: their keys */
	size_t nsub;
	/* keys of the config itself (top level and sections): */
	enum cfg_apply apply;    /* what a SIGHUP does with it; every leaf key has one */
	size_t span;             /* bytes of the config from off that hold its value (0: a list
				  * the config points to, which a reload always replaces) */
};

#define RELOAD .apply = CFG_APPLY_RELOAD
#define RESTART .apply = CFG_APPLY_RESTART

/* ---- messages ---- */

static int __attribute__((format(printf, 3, 4)))
fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	int off;

	off = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->path,
		       n->start_mark.line + 1, n->start_mark.column + 1);
	if (off >= 0 && (size_t)off < c->errlen) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(c->err + off, c->errlen - off, fmt, ap);
		va_end(ap);
	}
	/* one line whatever the file holds */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

/* A value as it can be quoted in a message: shortened (fail() masks control bytes). */
static const char *show(struct ctx *c, const char *s)
{
	size_t i;

	for (i = 0; i < SHOW_LEN - 4 && s[i]; i++)
		c->shown[i] = s[i];
	if (s[i]) {
		memcpy(c->shown + i, "...", 3);
		i += 3;
	}
	c->shown[i] = 0;
	return c->shown;
}

static const char *node_kind(const yaml_node_t *n)
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
static const char *key_names(struct ctx *c, const struct key *keys, size_t n)
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
static bool is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* The text of a non-null scalar value. */
static int get_scalar(struct ctx *c, const char *qname, const yaml_node_t *v,
		      const char *expect, const char **out)
{
	const char *s = (const char *)v->data.scalar.value;

	if (v->type != YAML_SCALAR_NODE)
		return fail(c, v, "'%s' must be a single value, not %s (expected %s)",
			    qname, node_kind(v), expect);
	if (is_null(v))
		return fail(c, v, "'%s' has no value (expected %s)", qname, expect);
	if (strlen(s) != v->data.scalar.length)
		return fail(c, v, "'%s' contains a NUL character (expected %s)", qname, expect);
	*out = s;
	return 0;
}

/* Decimal, or hex with 0x. Only digits: no sign, space, suffix or second prefix.
 * -EINVAL for junk, -ERANGE outside min..max. */
static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
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

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	struct hermes_addr ha, hb;

	if (addr_to_hermes(a, &ha) || addr_to_hermes(b, &hb))
		return false;
	return ha.family == hb.family && ha.port == hb.port &&
	       !memcmp(ha.addr, hb.addr, ha.family == HERMES_FAMILY_V4 ? 4 : 16);
}

static bool same_policy_key(const struct hermes_policy_key *a, const struct hermes_policy_key *b)
{
	return a->prefixlen == b->prefixlen && a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* ---- setters (struct key.set) ---- */

static int set_path(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
		    void *obj)
{
	char *dst = (char *)obj + k->off;
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (s[0] != '/')
		return fail(c, v, "'%s' must be an absolute path, got '%s' (expected %s)",
			    qname, show(c, s), k->expect);
	if (strlen(s) >= k->size)
		return fail(c, v, "'%s' is too long (expected at most %zu characters)",
			    qname, k->size - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int set_string(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
		      void *obj)
{
	char *dst = (char *)obj + k->off;
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (strlen(s) >= k->size)
		return fail(c, v, "'%s' is too long, %zu characters (expected %s)",
			    qname, strlen(s), k->expect);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int set_log_level(struct ctx *c, const struct key *k, const char *qname,
			 yaml_node_t *v, void *obj)
{
	enum log_level *dst = (enum log_level *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (log_parse_level(s, dst))
		return fail(c, v, "unknown %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return 0;
}

static int set_u32(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
		   void *obj)
{
	uint32_t *dst = (uint32_t *)((char *)obj + k->off);
	char expect[96];
	const char *s;
	int ret;

	if (k->flags & KEY_HEX)
		snprintf(expect, sizeof(expect), "a whole number in %#x..%#x, decimal or 0x hex",
			 k->min, k->max);
	else
		snprintf(expect, sizeof(expect), "a whole number in %u..%u", k->min, k->max);
	ret = get_scalar(c, qname, v, expect, &s);
	if (ret)
		return ret;
	ret = parse_u32(s, k->min, k->max, dst);
	if (ret == -ERANGE)
		return fail(c, v, "'%s' value %s is out of range (expected %s)",
			    qname, show(c, s), expect);
	if (ret)
		return fail(c, v, "'%s' value '%s' is not a number (expected %s)",
			    qname, show(c, s), expect);
	return 0;
}

static int set_addr(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
		    void *obj)
{
	struct cfg_sockaddr *dst = (struct cfg_sockaddr *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if ((k->flags & KEY_OFF) && !strcmp(s, "off")) {
		memset(dst, 0, sizeof(*dst));
		return 0;
	}
	if (addr_parse(s, dst) ||
	    ((k->flags & KEY_V4) && dst->ss.ss_family != AF_INET) ||
	    ((k->flags & KEY_V6) && dst->ss.ss_family != AF_INET6))
		return fail(c, v, "bad address '%s' for '%s' (expected %s)",
			    show(c, s), qname, k->expect);
	return 0;
}

static const char *const relay_names[] = { [RELAY_URING] = "uring", [RELAY_SPLICE] = "splice",
					    [RELAY_AUTO] = "auto" };

int config_parse_relay(const char *s, enum relay_engine *out)
{
	for (unsigned i = 0; i < sizeof(relay_names) / sizeof(relay_names[0]); i++) {
		if (!strcmp(s, relay_names[i])) {
			*out = (enum relay_engine)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *config_relay_name(enum relay_engine r)
{
	return (unsigned)r < sizeof(relay_names) / sizeof(relay_names[0]) ? relay_names[r] : "?";
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

static int set_relay(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
		     void *obj)
{
	enum relay_engine *dst = (enum relay_engine *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (config_parse_relay(s, dst))
		return fail(c, v, "unknown %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return 0;
}

static int set_bool(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	bool *dst = (bool *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (config_parse_bool(s, dst))
		return fail(c, v, "bad %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return 0;
}

static int parse_map(struct ctx *c, yaml_node_t *map, const struct key *keys, size_t n,
		     const char *section, void *obj, yaml_node_t **vals);

/* A list of scalars: checks that v is a list of min..max entries (k->expect says what),
 * then hands each entry's text to item(), with its index. Returns 0 or the first error. */
typedef int (*scalar_item_fn)(struct ctx *c, const char *qname, yaml_node_t *node, const char *s, void *obj,
			      int i);

static int parse_scalar_list(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, size_t min,
			     size_t max, const char *item_expect, scalar_item_fn item, void *obj)
{
	yaml_node_item_t *it;
	size_t n;
	int i = 0;

	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "'%s' must be a list, not %s (expected %s)", qname, node_kind(v), k->expect);
	n = v->data.sequence.items.top - v->data.sequence.items.start;
	if (n < min || n > max)
		return fail(c, v, "'%s' has %zu entries (expected %s)", qname, n, k->expect);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *a = yaml_document_get_node(c->doc, *it);
		const char *s;
		int ret = get_scalar(c, qname, a, item_expect, &s);

		if (ret || (ret = item(c, qname, a, s, obj, i++)))
			return ret;
	}
	return 0;
}

int config_add_tc_iface(struct hermes_config *cfg, const char *name)
{
	if (!*name || strlen(name) >= sizeof(cfg->tc_ifaces[0]) || strchr(name, '/') || strchr(name, ' '))
		return -EINVAL;
	if (cfg->n_tc_ifaces >= CFG_MAX_TC_IFACES)
		return -E2BIG;
	for (int i = 0; i < cfg->n_tc_ifaces; i++)
		if (!strcmp(cfg->tc_ifaces[i], name))
			return 0;
	snprintf(cfg->tc_ifaces[cfg->n_tc_ifaces++], sizeof(cfg->tc_ifaces[0]), "%s", name);
	return 0;
}

static int tc_iface_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	(void)i;
	if (config_add_tc_iface(obj, s))
		return fail(c, a, "bad interface name '%s' in '%s' (expected at most 15 characters, no '/' or space)",
			    show(c, s), qname);
	return 0;
}

static int set_tc_ifaces(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct hermes_config *)obj)->n_tc_ifaces = 0;
	return parse_scalar_list(c, k, qname, v, 0, CFG_MAX_TC_IFACES, "an interface name", tc_iface_item, obj);
}

/* A mapping of k->sub keys filling the same object; nothing after "key:" is fine. */
static int parse_section(struct ctx *c, const struct key *k, const char *qname,
			 yaml_node_t *v, void *obj, yaml_node_t **vals)
{
	if (is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return fail(c, v, "'%s' must be a mapping, not %s (expected keys %s)", qname,
			    node_kind(v), key_names(c, k->sub, k->nsub));
	return parse_map(c, v, k->sub, k->nsub, qname, obj, vals);
}

static int set_section(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
		       void *obj)
{
	return parse_section(c, k, qname, v, obj, NULL);
}

/* policy rule keys, into struct cfg_rule */
static int set_rule_match(struct ctx *c, const struct key *k, const char *qname,
			  yaml_node_t *v, void *obj)
{
	struct cfg_rule *r = obj;
	char why[160];
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	why[0] = 0;
	if (pol_parse_match_err(s, &r->key, why, sizeof(why)) == 0)
		return 0;
	/* why names the token and the fault, and sometimes already what is expected */
	if (strstr(why, "expected"))
		return fail(c, v, "'%s': %s", qname, why);
	return fail(c, v, "'%s': %s (expected %s)", qname, why[0] ? why : "bad match", k->expect);
}

static int set_rule_action(struct ctx *c, const struct key *k, const char *qname,
			   yaml_node_t *v, void *obj)
{
	struct cfg_rule *r = obj;
	enum hermes_action act;
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	ret = pol_parse_action(s, &act);
	if (ret == -EOPNOTSUPP)
		return fail(c, v, "action '%s' is not implemented yet (expected %s)",
			    show(c, s), k->expect);
	if (ret)
		return fail(c, v, "unknown %s '%s' (expected %s)", qname, show(c, s), k->expect);
	r->val.action = act;
	return 0;
}

/* endpoint set keys, into struct cfg_endpoint_set */
static int alternate_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_endpoint_set *set = obj;

	if (addr_parse(s, &set->alternates[i]))
		return fail(c, a, "bad address '%s' in '%s' (expected IP:PORT or [IPv6]:PORT)", show(c, s), qname);
	set->n_alternates = i + 1;
	return 0;
}

static int set_alternates(struct ctx *c, const struct key *k, const char *qname,
			  yaml_node_t *v, void *obj)
{
	((struct cfg_endpoint_set *)obj)->n_alternates = 0;
	return parse_scalar_list(c, k, qname, v, 1, CFG_MAX_ALTERNATES, "IP:PORT or [IPv6]:PORT", alternate_item,
				 obj);
}

#define CFG_FIELD(f) .off = offsetof(struct hermes_config, f), .span = sizeof(((struct hermes_config *)0)->f)
#define CFG_STRING(f) CFG_FIELD(f), .size = sizeof(((struct hermes_config *)0)->f)
/* an array of the config and its count, declared right after it */
#define CFG_ARRAY(arr, count) .off = offsetof(struct hermes_config, arr), \
	.span = offsetof(struct hermes_config, count) + sizeof(int) - offsetof(struct hermes_config, arr)

static const struct key listener_keys[] = {
	{ .name = "outbound", .set = set_addr, CFG_FIELD(listen), RESTART, .flags = KEY_V4,
	  .expect = "IPv4:PORT, e.g. " DEFAULT_LISTEN },
	{ .name = "outbound6", .set = set_addr, CFG_FIELD(listen6), RESTART, .flags = KEY_V6 | KEY_OFF,
	  .expect = "[IPv6]:PORT, e.g. " DEFAULT_LISTEN6 ", or off" },
	{ .name = "admin", .set = set_addr, CFG_FIELD(admin), RESTART, .flags = KEY_OFF,
	  .expect = "IP:PORT or [IPv6]:PORT, e.g. " DEFAULT_ADMIN ", or off" },
	{ .name = "tunnel", .set = set_addr, CFG_FIELD(tunnel), RESTART, .flags = KEY_OFF,
	  .expect = "IP:PORT or [IPv6]:PORT, e.g. 10.0.0.1:15008, or off" },
	{ .name = "metrics", .set = set_addr, CFG_FIELD(metrics), RESTART, .flags = KEY_OFF,
	  .expect = "IP:PORT or [IPv6]:PORT serving only /metrics and /ready, e.g. 0.0.0.0:15020, or off" },
};

/* inbound: protected ingress */
static int protect_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_inbound *in = &((struct hermes_config *)obj)->inbound;
	uint32_t port;

	(void)i;
	if (parse_u32(s, 1, 65535, &port))
		return fail(c, a, "bad port '%s' in '%s' (expected a port 1..65535)", show(c, s), qname);
	for (int j = 0; j < in->n_protect; j++)
		if (in->protect[j] == port)
			return 0;
	in->protect[in->n_protect++] = (uint16_t)port;
	return 0;
}

static int set_protect(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct hermes_config *)obj)->inbound.n_protect = 0;
	return parse_scalar_list(c, k, qname, v, 0, CFG_MAX_PROTECT, "a port 1..65535", protect_item, obj);
}

static int allow_from_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_inbound *in = &((struct hermes_config *)obj)->inbound;
	char why[160] = "";

	if (pol_parse_match_err(s, &in->allow_from[i], why, sizeof(why)))
		return fail(c, a, "'%s': %s", qname, why[0] ? why : "bad CIDR");
	if (in->allow_from[i].port)
		return fail(c, a, "'%s': '%s' has a port (expected a CIDR without port: peers are matched "
			    "on their address)", qname, show(c, s));
	in->n_allow_from = i + 1;
	return 0;
}

static int set_allow_from(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct hermes_config *)obj)->inbound.n_allow_from = 0;
	return parse_scalar_list(c, k, qname, v, 0, CFG_MAX_ALLOW_FROM, "a CIDR", allow_from_item, obj);
}

static const struct key inbound_keys[] = {
	{ .name = "listen", .set = set_addr, CFG_FIELD(inbound.listen), .flags = KEY_V4 | KEY_OFF, RESTART,
	  .expect = "IPv4:PORT, e.g. " DEFAULT_INBOUND ", or off" },
	{ .name = "listen6", .set = set_addr, CFG_FIELD(inbound.listen6), .flags = KEY_V6 | KEY_OFF, RESTART,
	  .expect = "[IPv6]:PORT, e.g. \"[::]:15006\", or off" },
	{ .name = "protect", .set = set_protect, CFG_ARRAY(inbound.protect, inbound.n_protect), RESTART,
	  .expect = "a list of at most 64 local ports reachable only through hermesd, e.g. [80, 8443]" },
	{ .name = "allow_from", .set = set_allow_from, CFG_ARRAY(inbound.allow_from, inbound.n_allow_from), RESTART,
	  .expect = "a list of at most 64 CIDRs whose direct connections hermesd lets through, e.g. [10.0.1.0/24]" },
	{ .name = "allow_init_netns", .set = set_bool, CFG_FIELD(inbound.allow_init_netns), RESTART,
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
static int set_inbound(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	config_inbound_on(obj);
	return parse_section(c, k, qname, v, obj, NULL);
}

enum { PX_CONNECT_TIMEOUT, PX_ATTEMPTS, PX_BACKOFF_BASE, PX_BACKOFF_MAX, PX_IDLE, PX_DRAIN,
       PX_RELAY, PX_SK_MSG, PX_NKEYS };

#define U32_KEY(f, lo, hi) { .name = #f, .set = set_u32, CFG_FIELD(f), .min = (lo), .max = (hi), RELOAD }

static const struct key proxy_keys[PX_NKEYS] = {
	[PX_CONNECT_TIMEOUT] = U32_KEY(connect_timeout_ms, 1, 600000),
	[PX_ATTEMPTS] = U32_KEY(connect_attempts, 1, 100),
	[PX_BACKOFF_BASE] = U32_KEY(backoff_base_ms, 0, 60000),
	[PX_BACKOFF_MAX] = U32_KEY(backoff_max_ms, 0, 600000),
	[PX_IDLE] = U32_KEY(idle_timeout_ms, 1000, 86400000),
	[PX_DRAIN] = U32_KEY(drain_timeout_ms, 0, 600000),
	/* both choose BPF programs and check each other at start (main.c) */
	[PX_RELAY] = { .name = "relay", .set = set_relay, CFG_FIELD(relay), RESTART,
		       .expect = "uring, splice or auto" },
	[PX_SK_MSG] = { .name = "sk_msg", .set = set_bool, CFG_FIELD(sk_msg), RESTART, .expect = "true or false" },
};

/* proxy: a section plus the backoff_base_ms <= backoff_max_ms check, made against
 * the default for whichever of the two the file leaves out. */
static int set_proxy(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
		     void *obj)
{
	yaml_node_t *vals[PX_NKEYS] = { NULL };
	const struct hermes_config *cfg = obj;
	yaml_node_t *base, *max;
	int ret;

	ret = parse_section(c, k, qname, v, obj, vals);
	if (ret || cfg->backoff_max_ms >= cfg->backoff_base_ms)
		return ret;
	base = vals[PX_BACKOFF_BASE];
	max = vals[PX_BACKOFF_MAX];
	if (max)
		return fail(c, max, "'%s.backoff_max_ms' (%u) is less than backoff_base_ms (%u%s) "
			    "(expected backoff_max_ms >= backoff_base_ms)", qname,
			    cfg->backoff_max_ms, cfg->backoff_base_ms, base ? "" : ", the default");
	return fail(c, base, "'%s.backoff_base_ms' (%u) is more than backoff_max_ms (%u, the "
		    "default) (expected backoff_base_ms <= backoff_max_ms, or set backoff_max_ms too)",
		    qname, cfg->backoff_base_ms, cfg->backoff_max_ms);
}

#define RULE_EXPECT "match: CIDR[:PORT] and action: pass|deny|proxy|tunnel|http"
#define ROUTE_EXPECT "name: NAME, match: [CIDR[:PORT], ...] and peers: [IP:PORT, ...]"
#define ENDPOINT_EXPECT "match: IP:PORT and alternates: [IP:PORT, ...]"

static const struct key rule_keys[] = {
	{ .name = "match", .set = set_rule_match, .expect = "CIDR[:PORT] with port 1..65535, "
	  "e.g. 10.0.0.0/8, 10.0.2.0/24:80, [fd00::/64]:443" },
	{ .name = "action", .set = set_rule_action, .expect = "pass, deny, proxy, tunnel or http" },
};

static int set_route_name(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_route *r = obj;
	const char *s;
	int ret = get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (!*s || strlen(s) >= sizeof(r->name) || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
							     "0123456789._-") != strlen(s))
		return fail(c, v, "bad %s '%s' (expected %s)", qname, show(c, s), k->expect);
	snprintf(r->name, sizeof(r->name), "%s", s);
	return 0;
}

static int route_match_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_route *r = obj;
	char why[160] = "";

	if (pol_parse_match_err(s, &r->match[i], why, sizeof(why)))
		return fail(c, a, "'%s': %s", qname, why[0] ? why : "bad match");
	r->n_match = i + 1;
	return 0;
}

static int set_route_match(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_route *)obj)->n_match = 0;
	return parse_scalar_list(c, k, qname, v, 1, CFG_MAX_ROUTE_MATCH, "CIDR[:PORT]", route_match_item, obj);
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

static int set_peer_addr(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_peer *p = obj;
	const char *s;
	int ret = get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (addr_parse(s, &p->addr))
		return fail(c, v, "bad %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return 0;
}

static int set_peer_proto(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_peer *p = obj;
	const char *s;
	bool h2c;
	int ret = get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (parse_proto(s, &p->proto, &h2c))
		return fail(c, v, "unknown %s '%s' (expected %s)", qname, show(c, s), k->expect);
	p->proto_set = true;
	if (h2c) {
		if (p->tls_set && p->tls)
			return fail(c, v, "'%s' h2c is HTTP/2 without TLS, but tls: true is given "
				    "(expected h2 with TLS)", qname);
		p->tls = false;
		p->tls_set = true;
	}
	return 0;
}

static int set_peer_tls(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_peer *p = obj;
	int ret;

	if (p->tls_set)
		return fail(c, v, "'%s' contradicts protocol h2c (expected no tls key with h2c)", qname);
	ret = set_bool(c, k, qname, v, obj);
	if (!ret)
		p->tls_set = true;
	return ret;
}

static int set_peer_path(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_peer *p = obj;
	int ret = set_string(c, k, qname, v, obj);

	if (!ret && (p->path[0] != '/' || strpbrk(p->path, " \t\r\n")))
		return fail(c, v, "bad %s '%s' (expected %s)", qname, show(c, p->path), k->expect);
	return ret;
}

static const struct key peer_keys[] = {
	{ .name = "address", .set = set_peer_addr, .expect = "IP:PORT or [IPv6]:PORT of the peer's tunnel listener" },
	{ .name = "protocol", .set = set_peer_proto, .flags = KEY_OPT, .expect = PROTO_EXPECT },
	{ .name = "tls", .set = set_peer_tls, .off = offsetof(struct cfg_peer, tls), .flags = KEY_OPT,
	  .expect = "true or false" },
	{ .name = "name", .set = set_string, .off = offsetof(struct cfg_peer, name),
	  .size = sizeof(((struct cfg_peer *)0)->name), .flags = KEY_OPT,
	  .expect = "the DNS name the peer's certificate carries, at most 63 characters" },
	{ .name = "path", .set = set_peer_path, .off = offsetof(struct cfg_peer, path),
	  .size = sizeof(((struct cfg_peer *)0)->path), .flags = KEY_OPT,
	  .expect = "an absolute request path for h2-post, e.g. /hermes/tunnel" },
};

#define PEER_EXPECT "IP:PORT, or a mapping address: IP:PORT with optional protocol, tls, name, path"

/* A peer is "IP:PORT" (the route's protocol) or a mapping of peer_keys. */
static int set_route_peers(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_route *r = obj;
	yaml_node_item_t *it;
	size_t n;

	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "'%s' must be a list, not %s (expected %s)", qname, node_kind(v), k->expect);
	n = v->data.sequence.items.top - v->data.sequence.items.start;
	if (n < 1 || n > CFG_MAX_PEERS)
		return fail(c, v, "'%s' has %zu entries (expected %s)", qname, n, k->expect);
	r->n_peers = 0;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *a = yaml_document_get_node(c->doc, *it);
		yaml_node_t *vals[MAX_KEYS] = { NULL };
		struct cfg_peer *p = &r->peers[r->n_peers];
		int ret;

		memset(p, 0, sizeof(*p));
		if (a->type == YAML_MAPPING_NODE) {
			ret = parse_map(c, a, peer_keys, ARRAY_SIZE(peer_keys), qname, p, vals);
			if (ret)
				return ret;
			if (!vals[0])
				return fail(c, a, "'%s' entry has no 'address' (expected %s)", qname, PEER_EXPECT);
			if (p->proto == TPROTO_H2_POST && !p->path[0])
				return fail(c, a, "'%s' entry with protocol h2-post has no 'path' (expected the "
					    "request path the peer serves, e.g. /hermes/tunnel)", qname);
		} else {
			const char *s;

			ret = get_scalar(c, qname, a, PEER_EXPECT, &s);
			if (ret)
				return ret;
			if (addr_parse(s, &p->addr))
				return fail(c, a, "bad peer '%s' in '%s' (expected %s)", show(c, s), qname, PEER_EXPECT);
		}
		r->n_peers++;
	}
	return 0;
}

static int set_route_proto(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_route *r = obj;
	const char *s;
	int ret = get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (parse_proto(s, &r->proto, &r->h2c) || r->proto == TPROTO_H2_POST)
		return fail(c, v, "unknown %s '%s' (expected h2, h2c or h1; h2-post is set per peer, with its path)",
			    qname, show(c, s));
	return 0;
}

static const struct key route_keys[] = {
	{ .name = "name", .set = set_route_name,
	  .expect = "a name of at most 31 letters, digits, '.', '_' or '-'" },
	{ .name = "match", .set = set_route_match, .expect = "a list of 1..8 CIDR[:PORT], e.g. [10.0.3.0/24]" },
	{ .name = "peers", .set = set_route_peers,
	  .expect = "a list of 1..8 tunnel peers, each IP:PORT or {address: IP:PORT, protocol: h2|h2c|h1|h2-post, "
		    "tls: BOOL, name: CERTNAME, path: /PATH}" },
	{ .name = "protocol", .set = set_route_proto, .flags = KEY_OPT,
	  .expect = "h2 (default), h2c or h1: the protocol of peers written as IP:PORT" },
};

#define ACCESS_EXPECT "match: CIDR[:PORT], action: allow|deny, and optionally from: CIDR, uid: N, comm: NAME, san: NAME"

static int set_access_match(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_access *a = obj;
	struct hermes_policy_key *dst = k->off ? &a->from : &a->match;
	char why[160] = "";
	const char *s;
	int ret = get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (pol_parse_match_err(s, dst, why, sizeof(why)))
		return fail(c, v, "'%s': %s", qname, why[0] ? why : "bad match");
	if (k->off)
		a->has_from = true;
	return 0;
}

static int set_access_action(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_access *a = obj;
	const char *s;
	int ret = get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (strcmp(s, "allow") && strcmp(s, "deny"))
		return fail(c, v, "unknown %s '%s' (expected %s)", qname, show(c, s), k->expect);
	a->allow = !strcmp(s, "allow");
	return 0;
}

static int set_access_uid(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_access *a = obj;
	int ret = set_u32(c, k, qname, v, obj);

	if (!ret)
		a->has_uid = true;
	return ret;
}

static int set_access_comm(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_access *a = obj;
	int ret = set_string(c, k, qname, v, obj);

	if (!ret && !a->comm[0])
		return fail(c, v, "'%s' is empty (expected %s)", qname, k->expect);
	return ret;
}

static const struct key access_keys[] = {
	{ .name = "match", .set = set_access_match, .expect = "the destination, CIDR[:PORT]" },
	{ .name = "action", .set = set_access_action, .expect = "allow or deny" },
	{ .name = "from", .set = set_access_match, .off = 1, .flags = KEY_OPT,
	  .expect = "the requesting peer's address, CIDR" },
	{ .name = "uid", .set = set_access_uid, .off = offsetof(struct cfg_access, uid), .min = 0,
	  .max = 0xffffffff, .flags = KEY_OPT },
	{ .name = "comm", .set = set_access_comm, .off = offsetof(struct cfg_access, comm),
	  .size = sizeof(((struct cfg_access *)0)->comm), .flags = KEY_OPT,
	  .expect = "a command name of at most 15 characters" },
	{ .name = "san", .set = set_string, .off = offsetof(struct cfg_access, san),
	  .size = sizeof(((struct cfg_access *)0)->san), .flags = KEY_OPT,
	  .expect = "a DNS name or URI the peer's TLS certificate carries (subjectAltName), at most 127 characters" },
};

static const struct key endpoint_keys[] = {
	{ .name = "match", .set = set_addr, .off = offsetof(struct cfg_endpoint_set, match),
	  .expect = "IP:PORT or [IPv6]:PORT, the exact dialled destination" },
	{ .name = "alternates", .set = set_alternates,
	  .expect = "1..8 addresses IP:PORT or [IPv6]:PORT" },
};

/* Walks a list whose entries are mappings of `keys`, all required, into an array
 * of `size`-byte objects; *arr and *count are the config's (freed by config_free
 * on error). check_entry() validates entry i against 0..i-1. */
static int parse_list(struct ctx *c, const char *qname, yaml_node_t *v, const char *expect,
		      const struct key *keys, size_t nkeys, size_t size, size_t max,
		      void **arr, int *count,
		      int (*check_entry)(struct ctx *, void *arr, int i, yaml_node_t *item,
					 yaml_node_t **vals))
{
	yaml_node_item_t *it;
	size_t n;

	if (is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "'%s' must be a list, not %s (expected entries %s)",
			    qname, node_kind(v), expect);
	n = v->data.sequence.items.top - v->data.sequence.items.start;
	if (n > max)
		return fail(c, v, "'%s' has %zu entries (expected at most %zu)", qname, n, max);
	if (!n)
		return 0;
	*arr = calloc(n, size);
	if (!*arr) {
		fail(c, v, "out of memory for %zu '%s' entries", n, qname);
		return -ENOMEM;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);
		yaml_node_t *vals[MAX_KEYS] = { NULL };
		void *obj = (char *)*arr + (size_t)*count * size;
		int ret;

		if (item->type != YAML_MAPPING_NODE)
			return fail(c, item, "each '%s' entry must be a mapping, not %s (expected %s)",
				    qname, node_kind(item), expect);
		ret = parse_map(c, item, keys, nkeys, qname, obj, vals);
		if (ret)
			return ret;
		for (size_t i = 0; i < nkeys; i++)
			if (!vals[i] && !(keys[i].flags & KEY_OPT))
				return fail(c, item, "'%s' entry has no '%s' (expected %s)",
					    qname, keys[i].name, expect);
		ret = check_entry(c, *arr, *count, item, vals);
		if (ret)
			return ret;
		(*count)++;
	}
	return 0;
}

static int check_rule(struct ctx *c, void *arr, int i, yaml_node_t *item, yaml_node_t **vals)
{
	struct cfg_rule *rules = arr, *r = &rules[i];
	char canon[ADDR_STRLEN];

	r->val.origin = HERMES_ORIGIN_CONFIG;
	r->val.route_id = 0;
	r->line = item->start_mark.line + 1;
	for (int j = 0; j < i; j++) {
		if (!same_policy_key(&rules[j].key, &r->key))
			continue;
		if (pol_fmt_match(&r->key, canon, sizeof(canon)))
			snprintf(canon, sizeof(canon), "?");
		return fail(c, vals[0], "duplicate policy match %s: line %d and line %d have "
			    "the same match (expected one rule per match)",
			    canon, rules[j].line, r->line);
	}
	return 0;
}

static int check_endpoint(struct ctx *c, void *arr, int i, yaml_node_t *item,
			  yaml_node_t **vals)
{
	struct cfg_endpoint_set *sets = arr, *s = &sets[i];
	char buf[ADDR_STRLEN];

	s->line = item->start_mark.line + 1;
	for (int j = 0; j < i; j++) {
		if (!same_addr((struct sockaddr *)&sets[j].match.ss, (struct sockaddr *)&s->match.ss))
			continue;
		return fail(c, vals[0], "duplicate endpoints match %s: line %d and line %d "
			    "(expected one entry per destination)",
			    addr_fmt((struct sockaddr *)&s->match.ss, buf, sizeof(buf)),
			    sets[j].line, s->line);
	}
	return 0;
}

static int set_policy(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
		      void *obj)
{
	struct hermes_config *cfg = obj;

	(void)k;
	return parse_list(c, qname, v, RULE_EXPECT, rule_keys, ARRAY_SIZE(rule_keys),
			  sizeof(struct cfg_rule), HERMES_POLICY_MAX_RULES,
			  (void **)&cfg->rules, &cfg->n_rules, check_rule);
}

static int check_access(struct ctx *c, void *arr, int i, yaml_node_t *item, yaml_node_t **vals)
{
	struct cfg_access *a = &((struct cfg_access *)arr)[i];

	(void)c;
	(void)vals;
	a->line = item->start_mark.line + 1;
	return 0;
}

static int set_tunnel_access(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct hermes_config *cfg = obj;

	(void)k;
	return parse_list(c, qname, v, ACCESS_EXPECT, access_keys, ARRAY_SIZE(access_keys), sizeof(struct cfg_access),
			  1024, (void **)&cfg->access, &cfg->n_access, check_access);
}

static int check_route(struct ctx *c, void *arr, int i, yaml_node_t *item, yaml_node_t **vals)
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
			return fail(c, vals[2], "route '%s': an h2-post peer needs a path", r->name);
	}
	for (int j = 0; j < i; j++)
		if (!strcmp(routes[j].name, r->name))
			return fail(c, vals[0], "duplicate route name '%s': line %d and line %d", r->name,
				    routes[j].line, r->line);
	return 0;
}

static int set_routes(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct hermes_config *cfg = obj;

	(void)k;
	return parse_list(c, qname, v, ROUTE_EXPECT, route_keys, ARRAY_SIZE(route_keys), sizeof(struct cfg_route),
			  256, (void **)&cfg->routes, &cfg->n_routes, check_route);
}

static int set_endpoints(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v,
			 void *obj)
{
	struct hermes_config *cfg = obj;

	(void)k;
	return parse_list(c, qname, v, ENDPOINT_EXPECT, endpoint_keys, ARRAY_SIZE(endpoint_keys),
			  sizeof(struct cfg_endpoint_set), INT_MAX,
			  (void **)&cfg->endpoints, &cfg->n_endpoints, check_endpoint);
}


/* ---- the http action: section `http` and list `http_routes` ---- */

static const char *const retry_on_names[] = { "connect-failure", "reset", "refused-stream", "5xx", "gateway-error",
					      "retriable-status-codes" };
#define RETRY_ON_EXPECT "a list of connect-failure, reset, refused-stream, 5xx, gateway-error, retriable-status-codes"

/* A policy given in the file starts from these (Envoy's defaults where it has them). */
static void retry_defaults(struct cfg_http_retry *r)
{
	memset(r, 0, sizeof(*r));
	r->on = RETRY_CONNECT_FAILURE | RETRY_RESET;
	r->num_retries = 1;
	r->timeout_ms = 15000;
	r->backoff_base_ms = 25;
	r->backoff_max_ms = 250;
	r->budget_percent = 20;
	r->budget_min_retries = 3;
	r->max_buffered_body = 65536;
}

static int retry_on_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_http_retry *r = obj;

	(void)i;
	for (unsigned j = 0; j < ARRAY_SIZE(retry_on_names); j++) {
		if (!strcmp(s, retry_on_names[j])) {
			r->on |= 1u << j;
			return 0;
		}
	}
	return fail(c, a, "unknown retry condition '%s' in '%s' (expected %s)", show(c, s), qname, RETRY_ON_EXPECT);
}

static int set_retry_on(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_http_retry *)obj)->on = 0;
	return parse_scalar_list(c, k, qname, v, 0, ARRAY_SIZE(retry_on_names), "a retry condition", retry_on_item, obj);
}

static int code_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_http_retry *r = obj;
	uint32_t code;

	if (parse_u32(s, 100, 599, &code))
		return fail(c, a, "bad status '%s' in '%s' (expected an HTTP status 100..599)", show(c, s), qname);
	r->codes[i] = (uint16_t)code;
	r->n_codes = i + 1;
	return 0;
}

static int set_retry_codes(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_http_retry *)obj)->n_codes = 0;
	return parse_scalar_list(c, k, qname, v, 0, CFG_HTTP_MAX_CODES, "an HTTP status", code_item, obj);
}

#define RETRY_U32(f, lo, hi) { .name = #f, .set = set_u32, .off = offsetof(struct cfg_http_retry, f), .min = (lo), .max = (hi) }

static const struct key retry_keys[] = {
	{ .name = "retry_on", .set = set_retry_on, .expect = RETRY_ON_EXPECT },
	{ .name = "retriable_status_codes", .set = set_retry_codes, .expect = "a list of at most 16 HTTP statuses" },
	RETRY_U32(num_retries, 0, CFG_HTTP_MAX_RETRIES),
	RETRY_U32(per_try_timeout_ms, 0, 600000),
	{ .name = "hedge_on_per_try_timeout", .set = set_bool, .off = offsetof(struct cfg_http_retry, hedge_on_per_try_timeout),
	  .expect = "true or false" },
	RETRY_U32(timeout_ms, 0, 3600000),
	RETRY_U32(backoff_base_ms, 0, 60000),
	RETRY_U32(backoff_max_ms, 0, 600000),
	RETRY_U32(budget_percent, 0, 100),
	RETRY_U32(budget_min_retries, 0, 1000000),
	RETRY_U32(max_buffered_body, 0, 16 << 20),
};

/* A retry policy (k->off: where in obj): the defaults above, then the file's keys. */
static int set_retry(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_http_retry *r = (struct cfg_http_retry *)((char *)obj + k->off);
	int ret;

	retry_defaults(r);
	if (is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return fail(c, v, "'%s' must be a mapping, not %s (expected keys %s)", qname, node_kind(v),
			    key_names(c, retry_keys, ARRAY_SIZE(retry_keys)));
	ret = parse_map(c, v, retry_keys, ARRAY_SIZE(retry_keys), qname, r, NULL);
	if (!ret && r->backoff_max_ms < r->backoff_base_ms)
		return fail(c, v, "'%s': backoff_max_ms (%u) is less than backoff_base_ms (%u) (expected max >= base)",
			    qname, r->backoff_max_ms, r->backoff_base_ms);
	/* hedging starts at a per-try timeout and makes a retry: without either it never would */
	if (!ret && r->hedge_on_per_try_timeout && !r->per_try_timeout_ms)
		return fail(c, v, "'%s': hedge_on_per_try_timeout needs per_try_timeout_ms (hedging starts when an "
			    "attempt's per-try timeout passes; expected per_try_timeout_ms > 0)", qname);
	if (!ret && r->hedge_on_per_try_timeout && !(r->on & (RETRY_RESET | RETRY_5XX | RETRY_GATEWAY_ERROR)))
		return fail(c, v, "'%s': hedge_on_per_try_timeout needs a retry_on condition that covers per-try "
			    "timeouts (expected reset, 5xx or gateway-error in retry_on)", qname);
	return ret;
}

#define HTTP_U32(f, lo, hi) { .name = #f, .set = set_u32, CFG_FIELD(http.f), .min = (lo), .max = (hi), RELOAD }

static const struct key http_keys[] = {
	/* restart: connections size their buffers by it, and a larger limit would outgrow
	 * the buffers of those opened before */
	{ .name = "max_head_bytes", .set = set_u32, CFG_FIELD(http.max_head), .min = 256, .max = 1 << 20, RESTART },
	{ .name = "max_line_bytes", .set = set_u32, CFG_FIELD(http.max_line), .min = 64, .max = 1 << 20, RELOAD },
	HTTP_U32(max_headers, 1, 64),
	HTTP_U32(max_idle, 0, 10000),
	HTTP_U32(pool_idle_timeout_ms, 100, 3600000),
	HTTP_U32(keepalive_timeout_ms, 100, 3600000),
	HTTP_U32(head_timeout_ms, 100, 600000),
	HTTP_U32(unhealthy_ms, 0, 3600000),
	{ .name = "via", .set = set_bool, CFG_FIELD(http.via), RELOAD, .expect = "true or false" },
	{ .name = "retry", .set = set_retry, CFG_FIELD(http.retry), RELOAD },
};

static bool header_name_ok(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~") ==
			     strlen(s);
}

static bool header_value_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

/* A mapping of header name -> value (k->off: the cfg_kv array; the count follows it). */
static int set_headers_map(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_kv *kv = (struct cfg_kv *)((char *)obj + k->off);
	int *n = (int *)(kv + CFG_HTTP_MAX_HDRS);
	yaml_node_pair_t *p;

	*n = 0;
	if (v->type != YAML_MAPPING_NODE)
		return fail(c, v, "'%s' must be a mapping, not %s (expected %s)", qname, node_kind(v), k->expect);
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *name, *val;
		int ret;

		if (*n >= CFG_HTTP_MAX_HDRS)
			return fail(c, kn, "'%s' has more than %d headers (expected %s)", qname, CFG_HTTP_MAX_HDRS, k->expect);
		if ((ret = get_scalar(c, qname, kn, "a header name", &name)) ||
		    (ret = get_scalar(c, qname, vn, "a header value", &val)))
			return ret;
		if (!header_name_ok(name) || strlen(name) >= sizeof(kv->name))
			return fail(c, kn, "bad header name '%s' in '%s' (expected a token of at most 63 characters)",
				    show(c, name), qname);
		if (!header_value_ok(val) || strlen(val) >= sizeof(kv->value))
			return fail(c, vn, "bad value for header '%s' in '%s' (expected at most 191 characters, no control "
				    "characters)", name, qname);
		snprintf(kv[*n].name, sizeof(kv->name), "%s", name);
		snprintf(kv[*n].value, sizeof(kv->value), "%s", val);
		(*n)++;
	}
	return 0;
}

_Static_assert(offsetof(struct cfg_http_route, n_match_headers) ==
		       offsetof(struct cfg_http_route, match_headers) + sizeof(struct cfg_kv) * CFG_HTTP_MAX_HDRS,
	       "set_headers_map finds the count after the array");
_Static_assert(offsetof(struct cfg_http_route, n_add) ==
		       offsetof(struct cfg_http_route, add) + sizeof(struct cfg_kv) * CFG_HTTP_MAX_HDRS,
	       "set_headers_map finds the count after the array");

static int set_host(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	int ret = set_string(c, k, qname, v, obj);
	const char *s = (const char *)obj + k->off;

	if (!ret && (!*s || strpbrk(s, " \t/@")))
		return fail(c, v, "bad %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return ret;
}

static int set_path_prefix(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	int ret = set_string(c, k, qname, v, obj);
	const char *s = (const char *)obj + k->off;

	if (!ret && (s[0] != '/' || strpbrk(s, " \t")))
		return fail(c, v, "bad %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return ret;
}

#define HR_STRING(f) .off = offsetof(struct cfg_http_route, f), .size = sizeof(((struct cfg_http_route *)0)->f)

static const struct key http_match_keys[] = {
	{ .name = "host", .set = set_host, HR_STRING(host),
	  .expect = "a host as in the Host header, e.g. api.example or api.example:8080, at most 127 characters" },
	{ .name = "path_prefix", .set = set_path_prefix, HR_STRING(path_prefix),
	  .expect = "a path starting with /, e.g. /v1, at most 127 characters" },
	{ .name = "headers", .set = set_headers_map, .off = offsetof(struct cfg_http_route, match_headers),
	  .expect = "a mapping of at most 8 header names to exact values, e.g. {user: alice}" },
};

static int set_http_match(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	return parse_section(c, k, qname, v, obj, NULL);
}

static int http_ep_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_http_route *r = obj;

	if (addr_parse(s, &r->eps[i]))
		return fail(c, a, "bad address '%s' in '%s' (expected IP:PORT or [IPv6]:PORT)", show(c, s), qname);
	r->n_eps = i + 1;
	return 0;
}

static int set_http_eps(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_http_route *)obj)->n_eps = 0;
	return parse_scalar_list(c, k, qname, v, 1, CFG_HTTP_MAX_EPS, "IP:PORT or [IPv6]:PORT", http_ep_item, obj);
}

static int set_balance(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_http_route *r = obj;
	const char *s;
	int ret = get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (!strcmp(s, "round_robin"))
		r->balance = BALANCE_ROUND_ROBIN;
	else if (!strcmp(s, "least_request"))
		r->balance = BALANCE_LEAST_REQUEST;
	else
		return fail(c, v, "unknown %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return 0;
}

static int set_upstream_protocol(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_http_route *r = obj;
	const char *s;
	int ret = get_scalar(c, qname, v, k->expect, &s);

	if (ret)
		return ret;
	if (!strcmp(s, "h1"))
		r->proto = HPROTO_H1;
	else if (!strcmp(s, "h2c"))
		r->proto = HPROTO_H2C;
	else if (!strcmp(s, "h2"))
		r->proto = HPROTO_H2;
	else
		return fail(c, v, "unknown %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return 0;
}

static int set_upstream_tls(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	int ret = set_bool(c, k, qname, v, obj);

	if (!ret)
		((struct cfg_http_route *)obj)->tls_set = true;
	return ret;
}

static int remove_item(struct ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_http_route *r = obj;

	if (!header_name_ok(s) || strlen(s) >= sizeof(r->remove[0]))
		return fail(c, a, "bad header name '%s' in '%s' (expected a token of at most 63 characters)", show(c, s),
			    qname);
	snprintf(r->remove[i], sizeof(r->remove[0]), "%s", s);
	r->n_remove = i + 1;
	return 0;
}

static int set_remove_headers(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_http_route *)obj)->n_remove = 0;
	return parse_scalar_list(c, k, qname, v, 0, CFG_HTTP_MAX_HDRS, "a header name", remove_item, obj);
}

static int set_route_retry(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_http_route *)obj)->has_retry = true;
	return set_retry(c, k, qname, v, obj);
}

_Static_assert(offsetof(struct cfg_http_route, name) == offsetof(struct cfg_route, name) &&
		       sizeof(((struct cfg_http_route *)0)->name) == sizeof(((struct cfg_route *)0)->name),
	       "set_route_name fills both kinds of route");

#define HTTP_ROUTE_EXPECT "name: NAME, endpoints: [IP:PORT, ...], and optionally match, balance, upstream_protocol, " \
			  "upstream_tls, tls_name, retry, add_headers, remove_headers"

static const struct key http_route_keys[] = {
	{ .name = "name", .set = set_route_name,
	  .expect = "a name of at most 31 letters, digits, '.', '_' or '-'" },
	{ .name = "endpoints", .set = set_http_eps, .expect = "a list of 1..16 IP:PORT or [IPv6]:PORT" },
	{ .name = "match", .set = set_http_match, .flags = KEY_OPT, .sub = http_match_keys,
	  .nsub = ARRAY_SIZE(http_match_keys) },
	{ .name = "balance", .set = set_balance, .flags = KEY_OPT, .expect = "round_robin or least_request" },
	{ .name = "upstream_protocol", .set = set_upstream_protocol, .flags = KEY_OPT,
	  .expect = "h1 (the default), h2c (HTTP/2 with prior knowledge) or h2 (HTTP/2 over TLS)" },
	{ .name = "upstream_tls", .set = set_upstream_tls, .off = offsetof(struct cfg_http_route, tls), .flags = KEY_OPT,
	  .expect = "true or false (true with upstream_protocol h1: HTTP/1.1 over TLS)" },
	{ .name = "tls_name", .set = set_string, .off = offsetof(struct cfg_http_route, tls_name),
	  .size = sizeof(((struct cfg_http_route *)0)->tls_name), .flags = KEY_OPT,
	  .expect = "the DNS name (or IP address) the origin's certificate carries, SNI for a name, at most 63 characters" },
	{ .name = "retry", .set = set_route_retry, .off = offsetof(struct cfg_http_route, retry), .flags = KEY_OPT },
	{ .name = "add_headers", .set = set_headers_map, .off = offsetof(struct cfg_http_route, add), .flags = KEY_OPT,
	  .expect = "a mapping of at most 8 header names to values, e.g. {x-hermes: \"1\"}" },
	{ .name = "remove_headers", .set = set_remove_headers, .flags = KEY_OPT,
	  .expect = "a list of at most 8 header names" },
};

static int check_http_route(struct ctx *c, void *arr, int i, yaml_node_t *item, yaml_node_t **vals)
{
	struct cfg_http_route *routes = arr, *r = &routes[i];

	r->line = item->start_mark.line + 1;
	for (int j = 0; j < i; j++)
		if (!strcmp(routes[j].name, r->name))
			return fail(c, vals[0], "duplicate http route name '%s': line %d and line %d", r->name,
				    routes[j].line, r->line);
	return 0;
}

static int set_http_routes(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct hermes_config *cfg = obj;

	(void)k;
	return parse_list(c, qname, v, HTTP_ROUTE_EXPECT, http_route_keys, ARRAY_SIZE(http_route_keys),
			  sizeof(struct cfg_http_route), 256, (void **)&cfg->http_routes, &cfg->n_http_routes,
			  check_http_route);
}

static const struct key tls_keys[] = {
	{ .name = "cert", .set = set_path, CFG_STRING(tls.cert), RELOAD,
	  .expect = "an absolute path to this host's PEM certificate (chain)" },
	{ .name = "key", .set = set_path, CFG_STRING(tls.key), RELOAD,
	  .expect = "an absolute path to the certificate's PEM private key" },
	{ .name = "ca", .set = set_path, CFG_STRING(tls.ca), RELOAD,
	  .expect = "an absolute path to the PEM CA certificate(s) that sign peers" },
};

static const struct key tunnel_keys[] = {
	U32_KEY(h2_max_streams, 1, 100000),
	U32_KEY(h2_pool_mbps, 0, 1000000),
	{ .name = "post_path", .set = set_path, CFG_STRING(tunnel_post_path), RELOAD,
	  .expect = "the path the tunnel listener serves h2-post tunnels on, e.g. /hermes/tunnel" },
	{ .name = "allow_cleartext", .set = set_bool, CFG_FIELD(tunnel_allow_cleartext), RELOAD,
	  .expect = "true or false (true: the tunnel listener serves clear text although tls is set)" },
};

static int set_log_format(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	enum log_format *dst = (enum log_format *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (log_parse_format(s, dst))
		return fail(c, v, "unknown %s '%s' (expected %s)", qname, show(c, s), k->expect);
	return 0;
}

static int set_access_log(struct ctx *c, const struct key *k, const char *qname, yaml_node_t *v, void *obj)
{
	const char *s;
	int ret;

	ret = get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (!strcmp(s, "off") || !strcmp(s, "stderr") || (s[0] == '/' && strlen(s) < k->size)) {
		snprintf((char *)obj + k->off, k->size, "%s", s);
		return 0;
	}
	return fail(c, v, "bad %s '%s' (expected %s)", qname, show(c, s), k->expect);
}

static const struct key top_keys[] = {
	{ .name = "cgroup", .set = set_path, CFG_STRING(cgroup), RESTART,
	  .expect = "an absolute path to a cgroup v2 directory, e.g. /sys/fs/cgroup/myapps" },
	{ .name = "pin_root", .set = set_path, CFG_STRING(pin_root), RESTART,
	  .expect = "an absolute path on bpffs, e.g. " DEFAULT_PIN_ROOT },
	{ .name = "log_level", .set = set_log_level, CFG_FIELD(log_level), RELOAD,
	  .expect = "debug, info, warn or error" },
	{ .name = "log_format", .set = set_log_format, CFG_FIELD(log_format), RELOAD,
	  .expect = "auto, text, json or journal" },
	{ .name = "log_bpf", .set = set_log_level, CFG_FIELD(log_bpf), RELOAD,
	  .expect = "debug, info, warn or error: the least severe of libbpf's messages to log" },
	{ .name = "access_log", .set = set_access_log, CFG_STRING(access_log), RELOAD,
	  .expect = "off, stderr or an absolute file path" },
	{ .name = "user", .set = set_string, CFG_STRING(user), RESTART,
	  .expect = "a user name of at most 63 characters" },
	{ .name = "mark", .set = set_u32, CFG_FIELD(mark), RESTART, .min = 1, .max = 0xffffffff,
	  .flags = KEY_HEX },
	{ .name = "flow_table", .set = set_bool, CFG_FIELD(flow_table), RESTART, .expect = "true or false" },
	{ .name = "detach_on_exit", .set = set_bool, CFG_FIELD(detach_on_exit), RELOAD, .expect = "true or false" },
	{ .name = "tc_interfaces", .set = set_tc_ifaces, CFG_ARRAY(tc_ifaces, n_tc_ifaces), RESTART,
	  .expect = "a list of at most 8 interface names (at most 15 characters each)" },
	{ .name = "listeners", .set = set_section, .sub = listener_keys,
	  .nsub = ARRAY_SIZE(listener_keys) },
	{ .name = "proxy", .set = set_proxy, .sub = proxy_keys, .nsub = PX_NKEYS },
	{ .name = "policy", .set = set_policy, RELOAD },
	{ .name = "endpoints", .set = set_endpoints, RELOAD },
	{ .name = "routes", .set = set_routes, RELOAD },
	{ .name = "tunnel_access", .set = set_tunnel_access, RELOAD },
	{ .name = "tls", .set = set_section, .sub = tls_keys, .nsub = ARRAY_SIZE(tls_keys) },
	{ .name = "tunnel", .set = set_section, .sub = tunnel_keys, .nsub = ARRAY_SIZE(tunnel_keys) },
	/* the section's presence turns protected ingress on: a restart, as its keys */
	{ .name = "inbound", .set = set_inbound, .sub = inbound_keys, .nsub = ARRAY_SIZE(inbound_keys),
	  CFG_FIELD(inbound.on), RESTART },
	{ .name = "http", .set = set_section, .sub = http_keys, .nsub = ARRAY_SIZE(http_keys) },
	{ .name = "http_routes", .set = set_http_routes, RELOAD },
};

_Static_assert(ARRAY_SIZE(top_keys) <= MAX_KEYS, "raise MAX_KEYS");
_Static_assert(ARRAY_SIZE(top_keys) + ARRAY_SIZE(listener_keys) + PX_NKEYS + ARRAY_SIZE(tls_keys) +
		       ARRAY_SIZE(tunnel_keys) + ARRAY_SIZE(inbound_keys) + ARRAY_SIZE(http_keys) <= CFG_MAX_KEY_LINES,
	       "raise CFG_MAX_KEY_LINES");
_Static_assert(ARRAY_SIZE(proxy_keys) <= MAX_KEYS, "raise MAX_KEYS");

/* Applies every pair of `map` through the table `keys` (n entries) to obj. section is
 * the dotted name of the mapping (NULL at top level). vals[i], if given, receives the
 * value node of keys[i] (NULL when absent). */
static int parse_map(struct ctx *c, yaml_node_t *map, const struct key *keys, size_t n,
		     const char *section, void *obj, yaml_node_t **vals)
{
	yaml_node_t *seen[MAX_KEYS] = { NULL };
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		char qname[QNAME_LEN];
		const char *name;
		size_t i;
		int ret;

		if (kn->type != YAML_SCALAR_NODE)
			return fail(c, kn, "a key%s%s%s is %s (expected a plain word, one of %s)",
				    section ? " in '" : "", section ? section : "", section ? "'" : "",
				    node_kind(kn), key_names(c, keys, n));
		name = (const char *)kn->data.scalar.value;
		for (i = 0; i < n && strcmp(name, keys[i].name); i++)
			;
		if (i == n) {
			if (!section)
				return fail(c, kn, "unknown top-level key '%s' (expected %s)",
					    show(c, name), key_names(c, keys, n));
			return fail(c, kn, "unknown key '%s' in '%s' (expected %s)", show(c, name),
				    section, key_names(c, keys, n));
		}
		snprintf(qname, sizeof(qname), "%s%s%s", section ? section : "", section ? "." : "",
			 name);
		if (seen[i])
			return fail(c, kn, "duplicate key '%s', already given at line %zu "
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

/* ---- API ---- */

/* The first cgroup2 mount point, "" if none. */
static void find_cgroup2_root(char *buf, size_t len)
{
	struct mntent ent;
	char line[4096];
	FILE *f;

	buf[0] = 0;
	f = setmntent("/proc/self/mounts", "re");
	if (!f)
		return;
	while (getmntent_r(f, &ent, line, sizeof(line))) {
		if (!strcmp(ent.mnt_type, "cgroup2") && strlen(ent.mnt_dir) < len) {
			memcpy(buf, ent.mnt_dir, strlen(ent.mnt_dir) + 1);
			break;
		}
	}
	endmntent(f);
}

void config_defaults(struct hermes_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->source, sizeof(cfg->source), "%s", DEFAULT_SOURCE);
	find_cgroup2_root(cfg->cgroup, sizeof(cfg->cgroup));
	snprintf(cfg->pin_root, sizeof(cfg->pin_root), "%s", DEFAULT_PIN_ROOT);
	cfg->log_level = LOG_INFO;
	cfg->log_format = LOG_FMT_AUTO;
	cfg->log_bpf = LOG_WARN;
	snprintf(cfg->access_log, sizeof(cfg->access_log), "stderr");
	/* constant, well-formed strings: these cannot fail */
	(void)addr_parse(DEFAULT_LISTEN, &cfg->listen);
	(void)addr_parse(DEFAULT_LISTEN6, &cfg->listen6);
	(void)addr_parse(DEFAULT_ADMIN, &cfg->admin);
	cfg->mark = DEFAULT_MARK;
	cfg->connect_timeout_ms = 3000;
	cfg->connect_attempts = 3;
	cfg->backoff_base_ms = 25;
	cfg->backoff_max_ms = 1000;
	cfg->idle_timeout_ms = 3600000;
	cfg->drain_timeout_ms = 5000;
	cfg->h2_max_streams = 100;
	snprintf(cfg->tunnel_post_path, sizeof(cfg->tunnel_post_path), "/hermes/tunnel");
	cfg->relay = RELAY_AUTO;
	/* off by default: a non-blocking bulk sender gets ENOMEM from send() once hermesd's
	 * receive memory is full (docs/architecture.md, "Kernel acceleration") */
	cfg->sk_msg = false;
	cfg->flow_table = true;
	cfg->http.max_head = 16384;
	cfg->http.max_line = 8192;
	cfg->http.max_headers = 64;
	cfg->http.max_idle = 1024; /* as many as a busy client set keeps busy: closing them costs a connect per request */
	cfg->http.pool_idle_timeout_ms = 30000;
	cfg->http.keepalive_timeout_ms = 60000;
	cfg->http.head_timeout_ms = 10000;
	cfg->http.unhealthy_ms = 5000;
	cfg->http.via = true;
	/* no route, no retry section: plain forwarding */
	retry_defaults(&cfg->http.retry);
	cfg->http.retry.num_retries = 0;
}

/* libyaml's own error (syntax, bad UTF-8, ...) as one message. */
static int yaml_fail(struct ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown problem";

	if (p->error == YAML_MEMORY_ERROR) {
		snprintf(c->err, c->errlen, "%s: out of memory while parsing YAML", c->path);
		return -ENOMEM;
	}
	if (p->error == YAML_READER_ERROR) {
		snprintf(c->err, c->errlen, "%s: byte %zu: cannot read as YAML: %s "
			 "(expected UTF-8 text)", c->path, p->problem_offset, problem);
		return -EINVAL;
	}
	if (p->context)
		snprintf(c->err, c->errlen, "%s:%zu:%zu: YAML syntax error: %s, %s at line %zu "
			 "(expected well-formed YAML)", c->path, p->problem_mark.line + 1,
			 p->problem_mark.column + 1, problem, p->context, p->context_mark.line + 1);
	else
		snprintf(c->err, c->errlen, "%s:%zu:%zu: YAML syntax error: %s "
			 "(expected well-formed YAML)", c->path, p->problem_mark.line + 1,
			 p->problem_mark.column + 1, problem);
	return -EINVAL;
}

static int load_doc(struct ctx *c, yaml_parser_t *parser, struct hermes_config *cfg)
{
	yaml_document_t extra;
	yaml_node_t *root, *extra_root;
	int ret;

	root = yaml_document_get_root_node(c->doc);
	if (!root || is_null(root))
		ret = 0; /* empty file (or only comments): the defaults */
	else if (root->type != YAML_MAPPING_NODE)
		ret = fail(c, root, "the top level is %s (expected a mapping of keys %s)",
			   node_kind(root), key_names(c, top_keys, ARRAY_SIZE(top_keys)));
	else
		ret = parse_map(c, root, top_keys, ARRAY_SIZE(top_keys), NULL, cfg, NULL);
	if (ret)
		return ret;
	if ((cfg->tls.cert[0] || cfg->tls.key[0] || cfg->tls.ca[0]) &&
	    !(cfg->tls.cert[0] && cfg->tls.key[0] && cfg->tls.ca[0])) {
		snprintf(c->err, c->errlen, "%s: 'tls' needs all of cert, key and ca (mutual TLS)", c->path);
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

	for (int i = 0; i < cfg->n_http_routes; i++) {
		struct cfg_http_route *r = &cfg->http_routes[i];

		/* upstream_tls as the tunnel peers' tls: h2 is always over TLS, h2c never */
		if (r->tls_set && r->tls != (r->proto != HPROTO_H2C) && r->proto != HPROTO_H1) {
			snprintf(c->err, c->errlen, "%s:%d: http route '%s': upstream_tls: %s contradicts upstream_protocol "
				 "%s (expected %s)", c->path, r->line, r->name, r->tls ? "true" : "false",
				 r->proto == HPROTO_H2 ? "h2" : "h2c",
				 r->proto == HPROTO_H2 ? "h2c for HTTP/2 without TLS" : "h2 for HTTP/2 over TLS");
			return -EINVAL;
		}
		if (r->proto == HPROTO_H1 && r->tls)
			r->proto = HPROTO_H1_TLS;
		/* resolved, so that a route reads the same however it was written */
		r->tls = r->proto == HPROTO_H2 || r->proto == HPROTO_H1_TLS;
		if ((r->proto == HPROTO_H2 || r->proto == HPROTO_H1_TLS) && !cfg->tls.cert[0]) {
			snprintf(c->err, c->errlen, "%s:%d: http route '%s': %s needs the 'tls' section (tls: {cert, key, "
				 "ca}; the origin is verified against ca)", c->path, r->line, r->name,
				 r->proto == HPROTO_H2 ? "upstream_protocol h2 (HTTP/2 over TLS)" : "upstream_tls");
			return -EINVAL;
		}
		if (r->tls_name[0] && r->proto != HPROTO_H2 && r->proto != HPROTO_H1_TLS) {
			snprintf(c->err, c->errlen, "%s:%d: http route '%s': tls_name is only for TLS upstreams "
				 "(upstream_protocol h2, or h1 with upstream_tls: true)", c->path, r->line, r->name);
			return -EINVAL;
		}
	}
	/* routes without their own retry policy take the http section's */
	for (int i = 0; i < cfg->n_http_routes; i++)
		if (!cfg->http_routes[i].has_retry)
			cfg->http_routes[i].retry = cfg->http.retry;

	/* a second document would be silently ignored: refuse it */
	if (!yaml_parser_load(parser, &extra))
		return yaml_fail(c, parser);
	extra_root = yaml_document_get_root_node(&extra);
	if (extra_root)
		ret = fail(c, extra_root, "a second YAML document starts here "
			   "(expected one document per file)");
	yaml_document_delete(&extra);
	return ret;
}

/* Deeper than this is no hermes.yaml (its keys nest 5 levels at most). libyaml's scanner
 * costs the square of the flow nesting depth (an 80,000-deep file took half a minute), so
 * the depth is checked on the event stream, which stops at the limit, before the document
 * is built. */
#define MAX_DEPTH 64

/* 0, or -EINVAL when the input nests deeper than MAX_DEPTH. A syntax error ends the
 * check quietly: the loading pass reports it as it always has. */
static int check_depth(struct ctx *c, yaml_parser_t *p)
{
	int depth = 0, ret = 0;

	for (;;) {
		yaml_event_t ev;
		yaml_event_type_t type;

		if (!yaml_parser_parse(p, &ev))
			return 0;
		type = ev.type;
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++depth > MAX_DEPTH) {
				snprintf(c->err, c->errlen, "%s:%zu:%zu: YAML nested more than %d levels deep "
					 "(expected hermes.yaml's keys, which nest 5 levels at most)", c->path,
					 ev.start_mark.line + 1, ev.start_mark.column + 1, MAX_DEPTH);
				ret = -EINVAL;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		yaml_event_delete(&ev);
		if (ret || type == YAML_STREAM_END_EVENT)
			return ret;
	}
}

/* The YAML in buf[0..len) into cfg: the depth check, then the document. */
static int load_input(struct ctx *c, const char *buf, size_t len, struct hermes_config *cfg)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret = 0;

	for (int pass = 0; pass < 2 && !ret; pass++) {
		if (!yaml_parser_initialize(&parser)) {
			snprintf(c->err, c->errlen, "%s: out of memory", c->path);
			return -ENOMEM;
		}
		yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
		if (pass == 0) {
			ret = check_depth(c, &parser);
		} else if (!yaml_parser_load(&parser, &doc)) {
			ret = yaml_fail(c, &parser);
		} else {
			c->doc = &doc;
			ret = load_doc(c, &parser, cfg);
			yaml_document_delete(&doc);
		}
		yaml_parser_delete(&parser);
	}
	return ret;
}

/* The file at c->path, whole, into *buf (*len bytes; the caller frees it): read once, as
 * a pipe or a FIFO can be, and parsed twice. */
static int read_file(struct ctx *c, char **buf, size_t *len)
{
	size_t cap = 0;
	struct stat st;
	FILE *f;
	int ret = 0;

	*buf = NULL;
	*len = 0;
	f = fopen(c->path, "re");
	if (!f) {
		ret = -errno;
		snprintf(c->err, c->errlen, "%s: cannot open: %s", c->path, strerror(-ret));
		return ret;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(c->err, c->errlen, "%s: is a directory (expected a YAML file)", c->path);
		return -EISDIR;
	}
	for (;;) {
		if (*len == cap) {
			char *nb = realloc(*buf, cap = cap ? cap * 2 : 16384);

			if (!nb) {
				snprintf(c->err, c->errlen, "%s: out of memory", c->path);
				ret = -ENOMEM;
				break;
			}
			*buf = nb;
		}
		*len += fread(*buf + *len, 1, cap - *len, f);
		if (*len < cap)
			break;
	}
	if (!ret && ferror(f)) {
		ret = -EIO;
		snprintf(c->err, c->errlen, "%s: cannot read: %s", c->path, strerror(errno));
	}
	fclose(f);
	if (ret) {
		free(*buf);
		*buf = NULL;
	}
	return ret;
}

/* config_load (buf NULL: the file at path) and config_load_mem. */
static int load(const char *path, const char *buf, size_t len, struct hermes_config *cfg, char *err, size_t errlen)
{
	char dummy[1], *file = NULL;
	struct ctx c = { .path = path, .cfg = cfg, .err = errlen ? err : dummy,
			 .errlen = errlen ? errlen : sizeof(dummy) };
	int ret;

	c.err[0] = 0;
	config_defaults(cfg);
	if (!buf) {
		ret = read_file(&c, &file, &len);
		if (ret)
			return ret;
		buf = file;
	}
	ret = load_input(&c, buf, len, cfg);
	free(file);
	if (ret) {
		config_free(cfg);
		config_defaults(cfg);
		return ret;
	}
	snprintf(cfg->source, sizeof(cfg->source), "%s", path);
	return 0;
}

int config_load(const char *path, struct hermes_config *cfg, char *err, size_t errlen)
{
	return load(path, NULL, 0, cfg, err, errlen);
}

int config_load_mem(const char *name, const char *buf, size_t len, struct hermes_config *cfg, char *err,
		    size_t errlen)
{
	return load(name, buf ? buf : "", len, cfg, err, errlen);
}

void config_free(struct hermes_config *cfg)
{
	free(cfg->rules);
	cfg->rules = NULL;
	cfg->n_rules = 0;
	free(cfg->endpoints);
	cfg->endpoints = NULL;
	cfg->n_endpoints = 0;
	free(cfg->routes);
	cfg->routes = NULL;
	cfg->n_routes = 0;
	free(cfg->access);
	cfg->access = NULL;
	cfg->n_access = 0;
	free(cfg->http_routes);
	cfg->http_routes = NULL;
	cfg->n_http_routes = 0;
}

/* Does the policy-style key `m` (CIDR[:PORT]) cover destination d? */
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

/* ---- key lines and the effective configuration ---- */

int config_key_line(const struct hermes_config *cfg, const char *key)
{
	for (int i = 0; i < cfg->n_key_lines; i++)
		if (!strcmp(cfg->key_lines[i].key, key))
			return cfg->key_lines[i].line;
	return 0;
}

void config_key_overridden(struct hermes_config *cfg, const char *key)
{
	for (int i = 0; i < cfg->n_key_lines; i++) {
		if (!strcmp(cfg->key_lines[i].key, key)) {
			cfg->key_lines[i].line = -1;
			return;
		}
	}
	if (cfg->n_key_lines < CFG_MAX_KEY_LINES) {
		snprintf(cfg->key_lines[cfg->n_key_lines].key, sizeof(cfg->key_lines[0].key), "%s", key);
		cfg->key_lines[cfg->n_key_lines++].line = -1;
	}
}

/* ---- reload: what a SIGHUP does with each key (the marks in the key tables) ---- */

typedef void (*key_visit_fn)(const struct key *k, const char *qname, void *arg);

/* The config's keys: top level, then each section's after the section itself. */
static void visit_keys(key_visit_fn fn, void *arg)
{
	char q[QNAME_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(top_keys); i++) {
		const struct key *t = &top_keys[i];

		fn(t, t->name, arg);
		for (size_t j = 0; j < t->nsub; j++) {
			snprintf(q, sizeof(q), "%s.%s", t->name, t->sub[j].name);
			fn(&t->sub[j], q, arg);
		}
	}
}

struct keys_arg {
	void (*fn)(const char *qname, enum cfg_apply apply, bool section, void *arg);
	void *arg;
};

static void keys_visit(const struct key *k, const char *qname, void *arg)
{
	struct keys_arg *a = arg;

	a->fn(qname, k->apply, k->nsub > 0, a->arg);
}

void config_keys(void (*fn)(const char *qname, enum cfg_apply apply, bool section, void *arg), void *arg)
{
	struct keys_arg a = { fn, arg };

	visit_keys(keys_visit, &a);
}

struct apply_arg {
	const char *qname;
	int apply;
};

static void apply_visit(const struct key *k, const char *qname, void *arg)
{
	struct apply_arg *a = arg;

	if (!strcmp(qname, a->qname))
		a->apply = (int)k->apply;
}

int config_key_apply(const char *qname)
{
	struct apply_arg a = { qname, -ENOENT };

	visit_keys(apply_visit, &a);
	return a.apply;
}

struct merge_arg {
	const struct hermes_config *run;
	struct hermes_config *next;
	struct cfg_reload_report *rep;
};

static void list_add(char *list, size_t len, int *n, const char *qname)
{
	size_t used = strlen(list);

	snprintf(list + used, len - used, "%s%s", *n ? ", " : "", qname);
	(*n)++;
}

static void merge_visit(const struct key *k, const char *qname, void *arg)
{
	struct merge_arg *m = arg;
	const char *was = (const char *)m->run + k->off;
	char *now = (char *)m->next + k->off;
	bool differs, cmdline = config_key_line(m->run, qname) < 0;

	if (!k->span || (k->apply != CFG_APPLY_RESTART && !cmdline))
		return;
	/* strings compare as strings: the bytes after the NUL are not the value */
	differs = k->size ? strcmp(was, now) != 0 : memcmp(was, now, k->span) != 0;
	memcpy(now, was, k->span);
	if (cmdline) {
		/* worth a word only when the file itself gives another value */
		if (differs && config_key_line(m->next, qname) > 0)
			list_add(m->rep->cmdline, sizeof(m->rep->cmdline), &m->rep->n_cmdline, qname);
		config_key_overridden(m->next, qname);
	} else if (differs) {
		list_add(m->rep->restart, sizeof(m->rep->restart), &m->rep->n_restart, qname);
	}
}

void config_reload_merge(const struct hermes_config *running, struct hermes_config *next,
			 struct cfg_reload_report *report)
{
	struct merge_arg m = { running, next, report };

	memset(report, 0, sizeof(*report));
	visit_keys(merge_visit, &m);
}

/* A YAML double-quoted scalar: every string is quoted, so that "[::1]:15001", "off"
 * or "yes" read back as the same string. */
static void print_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void print_kv_str(FILE *f, const char *indent, const char *key, const char *s)
{
	fprintf(f, "%s%s: ", indent, key);
	print_str(f, s);
	fputc('\n', f);
}

static void print_addr(FILE *f, const char *indent, const char *key, const struct cfg_sockaddr *a)
{
	char buf[ADDR_STRLEN];

	print_kv_str(f, indent, key, a->len ? addr_fmt((const struct sockaddr *)&a->ss, buf, sizeof(buf)) : "off");
}

static void print_match(FILE *f, const struct hermes_policy_key *k)
{
	char buf[ADDR_STRLEN + 16];

	if (pol_fmt_match(k, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	print_str(f, buf);
}

static const char *bool_word(bool b) { return b ? "true" : "false"; }

static void print_retry(FILE *f, const char *indent, const struct cfg_http_retry *r)
{
	const char *sep = "";

	fprintf(f, "%sretry_on: [", indent);
	for (unsigned j = 0; j < ARRAY_SIZE(retry_on_names); j++) {
		if (r->on & (1u << j)) {
			fprintf(f, "%s%s", sep, retry_on_names[j]);
			sep = ", ";
		}
	}
	fprintf(f, "]\n%sretriable_status_codes: [", indent);
	for (int j = 0; j < r->n_codes; j++)
		fprintf(f, "%s%u", j ? ", " : "", r->codes[j]);
	fprintf(f, "]\n");
	fprintf(f, "%snum_retries: %u\n%sper_try_timeout_ms: %u\n%shedge_on_per_try_timeout: %s\n", indent,
		r->num_retries, indent, r->per_try_timeout_ms, indent, bool_word(r->hedge_on_per_try_timeout));
	fprintf(f, "%stimeout_ms: %u\n%sbackoff_base_ms: %u\n%sbackoff_max_ms: %u\n", indent, r->timeout_ms, indent,
		r->backoff_base_ms, indent, r->backoff_max_ms);
	fprintf(f, "%sbudget_percent: %u\n%sbudget_min_retries: %u\n%smax_buffered_body: %u\n", indent,
		r->budget_percent, indent, r->budget_min_retries, indent, r->max_buffered_body);
}

static void print_headers(FILE *f, const char *indent, const char *key, const struct cfg_kv *kv, int n)
{
	fprintf(f, "%s%s:%s\n", indent, key, n ? "" : " {}");
	for (int j = 0; j < n; j++) {
		fprintf(f, "%s  ", indent);
		print_str(f, kv[j].name);
		fprintf(f, ": ");
		print_str(f, kv[j].value);
		fputc('\n', f);
	}
}

static void print_peer(FILE *f, const struct cfg_peer *p)
{
	char buf[ADDR_STRLEN];
	const char *proto = p->proto == TPROTO_H1 ? "h1" : p->proto == TPROTO_H2_POST ? "h2-post" : "h2";

	fprintf(f, "      - address: ");
	print_str(f, addr_fmt((const struct sockaddr *)&p->addr.ss, buf, sizeof(buf)));
	/* HTTP/2 without TLS is spelled h2c: "h2" with "tls: false" is the same */
	if (p->proto == TPROTO_H2 && !p->tls)
		fprintf(f, "\n        protocol: h2c\n");
	else
		fprintf(f, "\n        protocol: %s\n        tls: %s\n", proto, bool_word(p->tls));
	if (p->name[0])
		print_kv_str(f, "        ", "name", p->name);
	if (p->path[0] && p->proto == TPROTO_H2_POST)
		print_kv_str(f, "        ", "path", p->path);
}

static void print_http_route(FILE *f, const struct cfg_http_route *r)
{
	static const char *const proto[] = { [HPROTO_H1] = "h1", [HPROTO_H2C] = "h2c", [HPROTO_H2] = "h2",
					     [HPROTO_H1_TLS] = "h1" };
	char buf[ADDR_STRLEN];

	fprintf(f, "  - name: ");
	print_str(f, r->name);
	fprintf(f, "\n    endpoints: [");
	for (int j = 0; j < r->n_eps; j++) {
		fprintf(f, "%s", j ? ", " : "");
		print_str(f, addr_fmt((const struct sockaddr *)&r->eps[j].ss, buf, sizeof(buf)));
	}
	fprintf(f, "]\n");
	if (r->host[0] || r->path_prefix[0] || r->n_match_headers) {
		fprintf(f, "    match:\n");
		if (r->host[0])
			print_kv_str(f, "      ", "host", r->host);
		if (r->path_prefix[0])
			print_kv_str(f, "      ", "path_prefix", r->path_prefix);
		if (r->n_match_headers)
			print_headers(f, "      ", "headers", r->match_headers, r->n_match_headers);
	}
	fprintf(f, "    balance: %s\n", r->balance == BALANCE_LEAST_REQUEST ? "least_request" : "round_robin");
	fprintf(f, "    upstream_protocol: %s\n", proto[r->proto]);
	if (r->proto == HPROTO_H1 || r->proto == HPROTO_H1_TLS)
		fprintf(f, "    upstream_tls: %s\n", bool_word(r->proto == HPROTO_H1_TLS));
	if (r->tls_name[0])
		print_kv_str(f, "    ", "tls_name", r->tls_name);
	/* the retry policy in effect, whether the route gave it or took the http section's */
	fprintf(f, "    retry:\n");
	print_retry(f, "      ", &r->retry);
	if (r->n_add)
		print_headers(f, "    ", "add_headers", r->add, r->n_add);
	if (r->n_remove) {
		fprintf(f, "    remove_headers: [");
		for (int j = 0; j < r->n_remove; j++) {
			fprintf(f, "%s", j ? ", " : "");
			print_str(f, r->remove[j]);
		}
		fprintf(f, "]\n");
	}
}

void config_print(const struct hermes_config *cfg, FILE *f)
{
	char buf[ADDR_STRLEN];

	fprintf(f, "# effective configuration of hermesd (from %s, command-line options applied)\n", cfg->source);
	print_kv_str(f, "", "cgroup", cfg->cgroup);
	print_kv_str(f, "", "pin_root", cfg->pin_root);
	fprintf(f, "log_level: %s\nlog_format: %s\nlog_bpf: %s\n", log_level_name(cfg->log_level),
		log_format_name(cfg->log_format), log_level_name(cfg->log_bpf));
	print_kv_str(f, "", "access_log", cfg->access_log);
	if (cfg->user[0])
		print_kv_str(f, "", "user", cfg->user);
	fprintf(f, "mark: %#x\nflow_table: %s\ndetach_on_exit: %s\ntc_interfaces: [", cfg->mark,
		bool_word(cfg->flow_table), bool_word(cfg->detach_on_exit));
	for (int i = 0; i < cfg->n_tc_ifaces; i++) {
		fprintf(f, "%s", i ? ", " : "");
		print_str(f, cfg->tc_ifaces[i]);
	}
	fprintf(f, "]\nlisteners:\n");
	print_addr(f, "  ", "outbound", &cfg->listen);
	print_addr(f, "  ", "outbound6", &cfg->listen6);
	print_addr(f, "  ", "admin", &cfg->admin);
	print_addr(f, "  ", "tunnel", &cfg->tunnel);
	print_addr(f, "  ", "metrics", &cfg->metrics);
	fprintf(f, "proxy:\n  connect_timeout_ms: %u\n  connect_attempts: %u\n  backoff_base_ms: %u\n"
		   "  backoff_max_ms: %u\n  idle_timeout_ms: %u\n  drain_timeout_ms: %u\n  relay: %s\n  sk_msg: %s\n",
		cfg->connect_timeout_ms, cfg->connect_attempts, cfg->backoff_base_ms, cfg->backoff_max_ms,
		cfg->idle_timeout_ms, cfg->drain_timeout_ms, config_relay_name(cfg->relay), bool_word(cfg->sk_msg));

	fprintf(f, "policy:%s\n", cfg->n_rules ? "" : " []");
	for (int i = 0; i < cfg->n_rules; i++) {
		fprintf(f, "  - match: ");
		print_match(f, &cfg->rules[i].key);
		fprintf(f, "\n    action: %s\n", pol_action_name(cfg->rules[i].val.action));
	}
	fprintf(f, "endpoints:%s\n", cfg->n_endpoints ? "" : " []");
	for (int i = 0; i < cfg->n_endpoints; i++) {
		const struct cfg_endpoint_set *e = &cfg->endpoints[i];

		fprintf(f, "  - match: ");
		print_str(f, addr_fmt((const struct sockaddr *)&e->match.ss, buf, sizeof(buf)));
		fprintf(f, "\n    alternates: [");
		for (int j = 0; j < e->n_alternates; j++) {
			fprintf(f, "%s", j ? ", " : "");
			print_str(f, addr_fmt((const struct sockaddr *)&e->alternates[j].ss, buf, sizeof(buf)));
		}
		fprintf(f, "]\n");
	}
	fprintf(f, "routes:%s\n", cfg->n_routes ? "" : " []");
	for (int i = 0; i < cfg->n_routes; i++) {
		const struct cfg_route *r = &cfg->routes[i];

		fprintf(f, "  - name: ");
		print_str(f, r->name);
		fprintf(f, "\n    match: [");
		for (int j = 0; j < r->n_match; j++) {
			fprintf(f, "%s", j ? ", " : "");
			print_match(f, &r->match[j]);
		}
		fprintf(f, "]\n    protocol: %s\n    peers:\n", r->h2c ? "h2c" : r->proto == TPROTO_H1 ? "h1" : "h2");
		for (int j = 0; j < r->n_peers; j++)
			print_peer(f, &r->peers[j]);
	}
	fprintf(f, "tunnel_access:%s\n", cfg->n_access ? "" : " []");
	for (int i = 0; i < cfg->n_access; i++) {
		const struct cfg_access *a = &cfg->access[i];

		fprintf(f, "  - match: ");
		print_match(f, &a->match);
		fprintf(f, "\n    action: %s\n", a->allow ? "allow" : "deny");
		if (a->has_from) {
			fprintf(f, "    from: ");
			print_match(f, &a->from);
			fputc('\n', f);
		}
		if (a->has_uid)
			fprintf(f, "    uid: %u\n", a->uid);
		if (a->comm[0])
			print_kv_str(f, "    ", "comm", a->comm);
		if (a->san[0])
			print_kv_str(f, "    ", "san", a->san);
	}
	if (cfg->tls.cert[0]) {
		fprintf(f, "tls:\n");
		print_kv_str(f, "  ", "cert", cfg->tls.cert);
		print_kv_str(f, "  ", "key", cfg->tls.key);
		print_kv_str(f, "  ", "ca", cfg->tls.ca);
	}
	fprintf(f, "tunnel:\n  h2_max_streams: %u\n  h2_pool_mbps: %u\n  allow_cleartext: %s\n", cfg->h2_max_streams,
		cfg->h2_pool_mbps, bool_word(cfg->tunnel_allow_cleartext));
	print_kv_str(f, "  ", "post_path", cfg->tunnel_post_path);
	if (cfg->inbound.on) {
		const struct cfg_inbound *in = &cfg->inbound;

		fprintf(f, "inbound:\n");
		print_addr(f, "  ", "listen", &in->listen);
		print_addr(f, "  ", "listen6", &in->listen6);
		fprintf(f, "  protect: [");
		for (int i = 0; i < in->n_protect; i++)
			fprintf(f, "%s%u", i ? ", " : "", in->protect[i]);
		fprintf(f, "]\n  allow_from: [");
		for (int i = 0; i < in->n_allow_from; i++) {
			fprintf(f, "%s", i ? ", " : "");
			print_match(f, &in->allow_from[i]);
		}
		fprintf(f, "]\n  allow_init_netns: %s\n", bool_word(in->allow_init_netns));
	}
	fprintf(f, "http:\n  max_head_bytes: %u\n  max_line_bytes: %u\n  max_headers: %u\n  max_idle: %u\n"
		   "  pool_idle_timeout_ms: %u\n  keepalive_timeout_ms: %u\n  head_timeout_ms: %u\n  unhealthy_ms: %u\n"
		   "  via: %s\n  retry:\n",
		cfg->http.max_head, cfg->http.max_line, cfg->http.max_headers, cfg->http.max_idle,
		cfg->http.pool_idle_timeout_ms, cfg->http.keepalive_timeout_ms, cfg->http.head_timeout_ms,
		cfg->http.unhealthy_ms, bool_word(cfg->http.via));
	print_retry(f, "    ", &cfg->http.retry);
	fprintf(f, "http_routes:%s\n", cfg->n_http_routes ? "" : " []");
	for (int i = 0; i < cfg->n_http_routes; i++)
		print_http_route(f, &cfg->http_routes[i]);
}
