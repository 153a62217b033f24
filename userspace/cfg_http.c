/* cfg_http.c: the http action's part of hermes.yaml: the section http (limits, Via, the
 * default retry policy) and the list http_routes (match, endpoints, balance, upstream
 * protocol and TLS, retry policy, header edits): their key tables (with each key's
 * reload mark), setters, and the resolution of each route's TLS and retry policy once
 * the whole file is read. config.c's top-level table names them; the walker is
 * cfg_parse.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "addr.h"
#include "cfg_http.h"
#include "cfg_net.h"
#include "cfg_parse.h"

const char *const cfghttp_retry_on_names[CFGHTTP_N_RETRY_ON] = { "connect-failure", "reset", "refused-stream",
								    "5xx", "gateway-error", "retriable-status-codes" };
#define RETRY_ON_EXPECT "a list of connect-failure, reset, refused-stream, 5xx, gateway-error, retriable-status-codes"

/* A policy given in the file starts from these (Envoy's defaults where it has them). */
void cfghttp_retry_defaults(struct cfg_http_retry *r)
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

static int retry_on_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_http_retry *r = obj;

	(void)i;
	for (unsigned j = 0; j < ARRAY_SIZE(cfghttp_retry_on_names); j++) {
		if (!strcmp(s, cfghttp_retry_on_names[j])) {
			r->on |= 1u << j;
			return 0;
		}
	}
	return cfgp_fail(c, a, "unknown retry condition '%s' in '%s' (expected %s)", cfgp_show(c, s), qname,
			 RETRY_ON_EXPECT);
}

static int set_retry_on(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_http_retry *)obj)->on = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, 0, ARRAY_SIZE(cfghttp_retry_on_names), "a retry condition", retry_on_item, obj);
}

static int code_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_http_retry *r = obj;
	uint32_t code;

	if (cfgp_parse_u32(s, 100, 599, &code))
		return cfgp_fail(c, a, "bad status '%s' in '%s' (expected an HTTP status 100..599)", cfgp_show(c, s),
				 qname);
	r->codes[i] = (uint16_t)code;
	r->n_codes = i + 1;
	return 0;
}

static int set_retry_codes(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_http_retry *)obj)->n_codes = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, 0, CFG_HTTP_MAX_CODES, "an HTTP status", code_item, obj);
}

#define RETRY_U32(f, lo, hi) { .name = #f, .set = cfgp_set_u32, .off = offsetof(struct cfg_http_retry, f), .min = (lo), .max = (hi) }

static const struct cfgp_key retry_keys[] = {
	{ .name = "retry_on", .set = set_retry_on, .expect = RETRY_ON_EXPECT },
	{ .name = "retriable_status_codes", .set = set_retry_codes, .expect = "a list of at most 16 HTTP statuses" },
	RETRY_U32(num_retries, 0, CFG_HTTP_MAX_RETRIES),
	RETRY_U32(per_try_timeout_ms, 0, 600000),
	{ .name = "hedge_on_per_try_timeout", .set = cfgp_set_bool, .off = offsetof(struct cfg_http_retry, hedge_on_per_try_timeout),
	  .expect = "true or false" },
	RETRY_U32(timeout_ms, 0, 3600000),
	RETRY_U32(backoff_base_ms, 0, 60000),
	RETRY_U32(backoff_max_ms, 0, 600000),
	RETRY_U32(budget_percent, 0, 100),
	RETRY_U32(budget_min_retries, 0, 1000000),
	RETRY_U32(max_buffered_body, 0, 16 << 20),
};

/* A retry policy (k->off: where in obj): the defaults above, then the file's keys. */
static int set_retry(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_http_retry *r = (struct cfg_http_retry *)((char *)obj + k->off);
	int ret;

	cfghttp_retry_defaults(r);
	if (cfgp_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return cfgp_fail(c, v, "'%s' must be a mapping, not %s (expected keys %s)", qname, cfgp_node_kind(v),
				 cfgp_key_names(c, retry_keys, ARRAY_SIZE(retry_keys)));
	ret = cfgp_parse_map(c, v, retry_keys, ARRAY_SIZE(retry_keys), qname, r, NULL);
	if (!ret && r->backoff_max_ms < r->backoff_base_ms)
		return cfgp_fail(c, v,
				 "'%s': backoff_max_ms (%u) is less than backoff_base_ms (%u) (expected max >= base)",
				 qname, r->backoff_max_ms, r->backoff_base_ms);
	/* hedging starts at a per-try timeout and makes a retry: without either it never would */
	if (!ret && r->hedge_on_per_try_timeout && !r->per_try_timeout_ms)
		return cfgp_fail(c, v,
				 "'%s': hedge_on_per_try_timeout needs per_try_timeout_ms (hedging starts when an "
				 "attempt's per-try timeout passes; expected per_try_timeout_ms > 0)", qname);
	if (!ret && r->hedge_on_per_try_timeout && !(r->on & (RETRY_RESET | RETRY_5XX | RETRY_GATEWAY_ERROR)))
		return cfgp_fail(c, v, "'%s': hedge_on_per_try_timeout needs a retry_on condition that covers per-try "
				 "timeouts (expected reset, 5xx or gateway-error in retry_on)", qname);
	return ret;
}

#define HTTP_U32(f, lo, hi) \
	{ .name = #f, .set = cfgp_set_u32, CFGP_FIELD(http.f), .min = (lo), .max = (hi), CFGP_RELOAD }

const struct cfgp_key cfghttp_keys[] = {
	/* restart: connections size their buffers by it, and a larger limit would outgrow
	 * the buffers of those opened before */
	{ .name = "max_head_bytes", .set = cfgp_set_u32, CFGP_FIELD(http.max_head), .min = 256, .max = 1 << 20,
	  CFGP_RESTART },
	{ .name = "max_line_bytes", .set = cfgp_set_u32, CFGP_FIELD(http.max_line), .min = 64, .max = 1 << 20,
	  CFGP_RELOAD },
	HTTP_U32(max_headers, 1, 64),
	HTTP_U32(max_idle, 0, 10000),
	HTTP_U32(pool_idle_timeout_ms, 100, 3600000),
	HTTP_U32(keepalive_timeout_ms, 100, 3600000),
	HTTP_U32(head_timeout_ms, 100, 600000),
	HTTP_U32(unhealthy_ms, 0, 3600000),
	{ .name = "via", .set = cfgp_set_bool, CFGP_FIELD(http.via), CFGP_RELOAD, .expect = "true or false" },
	{ .name = "retry", .set = set_retry, CFGP_FIELD(http.retry), CFGP_RELOAD },
};

/* reload: a session takes them when it starts (idle_timeout_ms: open ones too) */
#define HTTP2_U32(f, key, lo, hi) \
	{ .name = key, .set = cfgp_set_u32, CFGP_FIELD(http2.f), .min = (lo), .max = (hi), CFGP_RELOAD }
const struct cfgp_key cfghttp2_keys[] = {
	HTTP2_U32(max_header_list, "max_header_list_bytes", 1024, 1 << 24),
	HTTP2_U32(max_header_fields, "max_header_fields", 8, 100000),
	HTTP2_U32(max_continuations, "max_continuations", 1, 10000),
	HTTP2_U32(max_streams, "max_concurrent_streams", 1, 100000),
	HTTP2_U32(reset_burst, "reset_burst", 1, 1000000),
	HTTP2_U32(reset_rate, "reset_rate", 1, 1000000),
	HTTP2_U32(max_pending_acks, "max_pending_acks", 16, 1000000),
	HTTP2_U32(idle_timeout_ms, "idle_timeout_ms", 100, 3600000),
};

/* reload: the next failure or ejection uses them; targets keep their memory */
#define OUTLIER_U32(f, lo, hi) \
	{ .name = #f, .set = cfgp_set_u32, CFGP_FIELD(outlier.f), .min = (lo), .max = (hi), CFGP_RELOAD }
const struct cfgp_key cfghttp_outlier_keys[] = {
	OUTLIER_U32(consecutive_failures, 0, 1000),
	OUTLIER_U32(base_ejection_ms, 1, 3600000),
	OUTLIER_U32(max_ejection_ms, 1, 3600000),
	{ .name = "http_5xx", .set = cfgp_set_bool, CFGP_FIELD(outlier.http_5xx), CFGP_RELOAD,
	  .expect = "true or false" },
};

int cfghttp_set_outlier(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	const struct hermes_config *cfg = obj;
	int ret = cfgp_parse_section(c, k, qname, v, obj, NULL);

	if (ret || cfg->outlier.max_ejection_ms >= cfg->outlier.base_ejection_ms)
		return ret;
	return cfgp_fail(c, v, "'%s': max_ejection_ms (%u) is less than base_ejection_ms (%u) (expected max >= base; "
			 "the defaults are 300000 and 10000)", qname, cfg->outlier.max_ejection_ms,
			 cfg->outlier.base_ejection_ms);
}

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
static int set_headers_map(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_kv *kv = (struct cfg_kv *)((char *)obj + k->off);
	int *n = (int *)(kv + CFG_HTTP_MAX_HDRS);
	yaml_node_pair_t *p;

	*n = 0;
	if (v->type != YAML_MAPPING_NODE)
		return cfgp_fail(c, v, "'%s' must be a mapping, not %s (expected %s)", qname, cfgp_node_kind(v),
				 k->expect);
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *name, *val;
		int ret;

		if (*n >= CFG_HTTP_MAX_HDRS)
			return cfgp_fail(c, kn, "'%s' has more than %d headers (expected %s)", qname, CFG_HTTP_MAX_HDRS, k->expect);
		if ((ret = cfgp_get_scalar(c, qname, kn, "a header name", &name)) ||
		    (ret = cfgp_get_scalar(c, qname, vn, "a header value", &val)))
			return ret;
		if (!header_name_ok(name) || strlen(name) >= sizeof(kv->name))
			return cfgp_fail(c, kn,
					 "bad header name '%s' in '%s' (expected a token of at most 63 characters)",
					 cfgp_show(c, name), qname);
		if (!header_value_ok(val) || strlen(val) >= sizeof(kv->value))
			return cfgp_fail(c, vn, "bad value for header '%s' in '%s' (expected at most 191 characters, no control "
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

static int set_host(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	int ret = cfgp_set_string(c, k, qname, v, obj);
	const char *s = (const char *)obj + k->off;

	if (!ret && (!*s || strpbrk(s, " \t/@")))
		return cfgp_fail(c, v, "bad %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	return ret;
}

static int set_path_prefix(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	int ret = cfgp_set_string(c, k, qname, v, obj);
	const char *s = (const char *)obj + k->off;

	if (!ret && (s[0] != '/' || strpbrk(s, " \t")))
		return cfgp_fail(c, v, "bad %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	return ret;
}

#define HR_STRING(f) .off = offsetof(struct cfg_http_route, f), .size = sizeof(((struct cfg_http_route *)0)->f)

static const struct cfgp_key http_match_keys[] = {
	{ .name = "host", .set = set_host, HR_STRING(host),
	  .expect = "a host as in the Host header, e.g. api.example or api.example:8080, at most 127 characters" },
	{ .name = "path_prefix", .set = set_path_prefix, HR_STRING(path_prefix),
	  .expect = "a path starting with /, e.g. /v1, at most 127 characters" },
	{ .name = "headers", .set = set_headers_map, .off = offsetof(struct cfg_http_route, match_headers),
	  .expect = "a mapping of at most 8 header names to exact values, e.g. {user: alice}" },
};

static int set_http_match(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	return cfgp_parse_section(c, k, qname, v, obj, NULL);
}

static int set_http_eps(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_http_route *r = obj;

	return cfgp_parse_addr_list(c, k, qname, v, 1, CFG_HTTP_MAX_EPS, r->eps, &r->n_eps);
}

static int set_balance(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	static const char *const words[] = { [BALANCE_ROUND_ROBIN] = "round_robin",
					      [BALANCE_LEAST_REQUEST] = "least_request" };
	unsigned i;
	int ret = cfgp_get_word(c, k, qname, v, words, ARRAY_SIZE(words), &i);

	if (!ret)
		((struct cfg_http_route *)obj)->balance = (uint8_t)i;
	return ret;
}

/* h1 with upstream_tls: true becomes HPROTO_H1_TLS once the route is read (cfghttp_resolve) */
static int set_upstream_protocol(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
				 void *obj)
{
	static const char *const words[] = { [HPROTO_H1] = "h1", [HPROTO_H2C] = "h2c", [HPROTO_H2] = "h2" };
	unsigned i;
	int ret = cfgp_get_word(c, k, qname, v, words, ARRAY_SIZE(words), &i);

	if (!ret)
		((struct cfg_http_route *)obj)->proto = (uint8_t)i;
	return ret;
}

static int set_upstream_tls(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	int ret = cfgp_set_bool(c, k, qname, v, obj);

	if (!ret)
		((struct cfg_http_route *)obj)->tls_set = true;
	return ret;
}

static int remove_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	struct cfg_http_route *r = obj;

	if (!header_name_ok(s) || strlen(s) >= sizeof(r->remove[0]))
		return cfgp_fail(c, a, "bad header name '%s' in '%s' (expected a token of at most 63 characters)", cfgp_show(c, s),
				 qname);
	snprintf(r->remove[i], sizeof(r->remove[0]), "%s", s);
	r->n_remove = i + 1;
	return 0;
}

static int set_remove_headers(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			      void *obj)
{
	((struct cfg_http_route *)obj)->n_remove = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, 0, CFG_HTTP_MAX_HDRS, "a header name", remove_item, obj);
}

static int set_route_retry(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct cfg_http_route *)obj)->has_retry = true;
	return set_retry(c, k, qname, v, obj);
}

#define RCACHE(f) .off = offsetof(struct cfg_route_cache, f)
#define RCACHE_EXPECT "false, true, or a mapping of enabled, max_object_kb, heuristic, default_ttl_s, store_set_cookie"

/* An http route's cache settings: as nginx's per-location proxy_cache ones, what makes
 * sense per route; the store and its size stay the cache section's. */
static const struct cfgp_key route_cache_keys[] = {
	{ .name = "enabled", .set = cfgp_set_bool, RCACHE(enabled), .expect = "true or false" },
	{ .name = "max_object_kb", .set = cfgp_set_u32, RCACHE(max_object_kb), .min = 1, .max = 1 << 20 },
	{ .name = "heuristic", .set = cfgp_set_bool, RCACHE(heuristic),
	  .expect = "true or false (false: a response without an explicit lifetime is stored only to be revalidated)" },
	{ .name = "default_ttl_s", .set = cfgp_set_u32, RCACHE(default_ttl_s), .min = 0, .max = 31536000 },
	{ .name = "store_set_cookie", .set = cfgp_set_bool, RCACHE(store_set_cookie),
	  .expect = "true or false (false: a response with Set-Cookie is passed on, not stored)" },
};

static int set_route_cache(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct cfg_route_cache *rc = &((struct cfg_http_route *)obj)->cache;
	yaml_node_t *vals[ARRAY_SIZE(route_cache_keys)] = { 0 };
	const struct cfgp_key en = { .name = "cache", .set = cfgp_set_bool, RCACHE(enabled), .expect = RCACHE_EXPECT };
	int ret;

	(void)k;
	*rc = (struct cfg_route_cache){ .heuristic = true, .store_set_cookie = true, .given = CFG_RCACHE_SET };
	if (v->type == YAML_SCALAR_NODE) {
		rc->given |= CFG_RCACHE_ENABLED;
		return cfgp_set_bool(c, &en, qname, v, rc);
	}
	if (v->type != YAML_MAPPING_NODE)
		return cfgp_fail(c, v, "'%s' must be true, false or a mapping, not %s (expected %s)", qname,
				 cfgp_node_kind(v), RCACHE_EXPECT);
	ret = cfgp_parse_map(c, v, route_cache_keys, ARRAY_SIZE(route_cache_keys), qname, rc, vals);
	/* a mapping turns the cache on unless it says enabled: false */
	rc->given |= CFG_RCACHE_ENABLED | (vals[1] ? CFG_RCACHE_MAX_OBJECT : 0);
	if (!vals[0])
		rc->enabled = true;
	return ret;
}

_Static_assert(offsetof(struct cfg_http_route, name) == offsetof(struct cfg_route, name) &&
		       sizeof(((struct cfg_http_route *)0)->name) == sizeof(((struct cfg_route *)0)->name),
	       "cfgnet_set_route_name fills both kinds of route");

#define HTTP_ROUTE_EXPECT "name: NAME, endpoints: [IP:PORT, ...], and optionally match, balance, upstream_protocol, " \
			  "upstream_tls, upstream_proxy, tls_name, retry, add_headers, remove_headers, cache"

static const struct cfgp_key http_route_keys[] = {
	{ .name = "name", .set = cfgnet_set_route_name,
	  .expect = "a name of at most 31 letters, digits, '.', '_' or '-'" },
	{ .name = "endpoints", .set = set_http_eps, .expect = "a list of 1..16 IP:PORT or [IPv6]:PORT" },
	{ .name = "match", .set = set_http_match, .flags = CFGP_OPT, .sub = http_match_keys,
	  .nsub = ARRAY_SIZE(http_match_keys) },
	{ .name = "balance", .set = set_balance, .flags = CFGP_OPT, .expect = "round_robin or least_request" },
	{ .name = "upstream_protocol", .set = set_upstream_protocol, .flags = CFGP_OPT,
	  .expect = "h1 (the default), h2c (HTTP/2 with prior knowledge) or h2 (HTTP/2 over TLS)" },
	{ .name = "upstream_tls", .set = set_upstream_tls, .off = offsetof(struct cfg_http_route, tls),
	  .flags = CFGP_OPT,
	  .expect = "true or false (true with upstream_protocol h1: HTTP/1.1 over TLS)" },
	{ .name = "upstream_proxy", .set = cfgp_set_bool, .off = offsetof(struct cfg_http_route, upstream_proxy),
	  .flags = CFGP_OPT,
	  .expect = "true or false (true: the endpoints are HTTP proxies, e.g. the next hermesd's tunnel listener)" },
	{ .name = "tls_name", .set = cfgp_set_string, .off = offsetof(struct cfg_http_route, tls_name),
	  .size = sizeof(((struct cfg_http_route *)0)->tls_name), .flags = CFGP_OPT,
	  .expect = "the DNS name (or IP address) the origin's certificate carries, SNI for a name, at most 63 characters" },
	{ .name = "retry", .set = set_route_retry, .off = offsetof(struct cfg_http_route, retry), .flags = CFGP_OPT },
	{ .name = "add_headers", .set = set_headers_map, .off = offsetof(struct cfg_http_route, add), .flags = CFGP_OPT,
	  .expect = "a mapping of at most 8 header names to values, e.g. {x-hermes: \"1\"}" },
	{ .name = "remove_headers", .set = set_remove_headers, .flags = CFGP_OPT,
	  .expect = "a list of at most 8 header names" },
	{ .name = "cache", .set = set_route_cache, .flags = CFGP_OPT, .expect = RCACHE_EXPECT },
};

static int check_http_route(struct cfgp_ctx *c, void *arr, int i, yaml_node_t *item, yaml_node_t **vals)
{
	struct cfg_http_route *routes = arr, *r = &routes[i];

	r->line = item->start_mark.line + 1;
	for (int j = 0; j < i; j++)
		if (!strcmp(routes[j].name, r->name))
			return cfgp_fail(c, vals[0], "duplicate http route name '%s': line %d and line %d", r->name,
					 routes[j].line, r->line);
	return 0;
}

int cfghttp_set_routes(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	struct hermes_config *cfg = obj;

	return cfgp_parse_list(c, qname, v, HTTP_ROUTE_EXPECT, http_route_keys, ARRAY_SIZE(http_route_keys),
			       sizeof(struct cfg_http_route), k->entries, (void **)&cfg->http_routes, &cfg->n_http_routes,
			       check_http_route);
}

/* After the whole file: each http route's TLS resolved from upstream_protocol and
 * upstream_tls (and checked against the tls section), the http section's retry
 * policy given to the routes without their own, and the cache section's settings to
 * the routes' cache where they gave none. */
int cfghttp_resolve(struct cfgp_ctx *c, struct hermes_config *cfg)
{
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
	/* and the cache section's settings where they gave none */
	for (int i = 0; i < cfg->n_http_routes; i++) {
		struct cfg_http_route *r = &cfg->http_routes[i];
		struct cfg_route_cache *rc = &r->cache;

		if (!(rc->given & CFG_RCACHE_SET))
			*rc = (struct cfg_route_cache){ .heuristic = true, .store_set_cookie = true };
		if (!(rc->given & CFG_RCACHE_ENABLED))
			rc->enabled = cfg->cache.enabled;
		if (!(rc->given & CFG_RCACHE_MAX_OBJECT))
			rc->max_object_kb = cfg->cache.max_object_kb;
		if (rc->max_object_kb > cfg->cache.max_object_kb) {
			snprintf(c->err, c->errlen, "%s:%d: http route '%s': cache.max_object_kb %u is over the cache "
				 "section's max_object_kb (%u), the store's limit (expected at most %u)", c->path, r->line,
				 r->name, rc->max_object_kb, cfg->cache.max_object_kb, cfg->cache.max_object_kb);
			return -EINVAL;
		}
		rc->given = 0; /* only for the load: a route reads the same however it was written */
	}
	return 0;
}
