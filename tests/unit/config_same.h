/* config_same.h: "do two loaded configurations say the same?" for the tests that load a
 * file, print it with config_print and load the print again (test_config.c and
 * tests/fuzz/fuzz_config.c): what legitimately differs between a file and its print
 * (the source, the lines keys were set on, the flags that only say whether a key was
 * written) is cleared first. Header-only, static. */
#ifndef HERMES_TEST_CONFIG_SAME_H
#define HERMES_TEST_CONFIG_SAME_H

#include <string.h>

#include "config.h"

/* Clears in cfg what a print does not keep (cfg stays valid for config_free). */
static inline void config_strip_lines(struct hermes_config *cfg)
{
	memset(cfg->source, 0, sizeof(cfg->source));
	memset(cfg->key_lines, 0, sizeof(cfg->key_lines));
	cfg->n_key_lines = 0;
	for (int i = 0; i < cfg->n_rules; i++)
		cfg->rules[i].line = 0;
	for (int i = 0; i < cfg->n_endpoints; i++)
		cfg->endpoints[i].line = 0;
	/* and the flags that only say whether a key was written (resolved at load) */
	for (int i = 0; i < cfg->n_routes; i++) {
		cfg->routes[i].line = 0;
		for (int j = 0; j < cfg->routes[i].n_peers; j++)
			cfg->routes[i].peers[j].proto_set = cfg->routes[i].peers[j].tls_set = false;
	}
	for (int i = 0; i < cfg->n_access; i++)
		cfg->access[i].line = 0;
	for (int i = 0; i < cfg->n_http_routes; i++) {
		cfg->http_routes[i].line = 0;
		cfg->http_routes[i].tls_set = cfg->http_routes[i].has_retry = false;
	}
}

#define CONFIG_SAME_ARRAY(a, b, f, n) \
	((a)->n == (b)->n && (!(a)->n || !memcmp((a)->f, (b)->f, sizeof(*(a)->f) * (size_t)(a)->n)))

/* NULL when a and b (both stripped) hold the same configuration, else the name of
 * the first part that differs. */
static inline const char *config_differs(const struct hermes_config *a, const struct hermes_config *b)
{
	static struct hermes_config sa, sb;

	if (!CONFIG_SAME_ARRAY(a, b, rules, n_rules))
		return "rules";
	if (!CONFIG_SAME_ARRAY(a, b, endpoints, n_endpoints))
		return "endpoints";
	if (!CONFIG_SAME_ARRAY(a, b, routes, n_routes))
		return "routes";
	if (!CONFIG_SAME_ARRAY(a, b, access, n_access))
		return "access";
	if (!CONFIG_SAME_ARRAY(a, b, http_routes, n_http_routes))
		return "http_routes";
	/* everything else: the structs with their arrays' pointers taken out */
	sa = *a;
	sb = *b;
	sa.rules = sb.rules = NULL;
	sa.endpoints = sb.endpoints = NULL;
	sa.routes = sb.routes = NULL;
	sa.access = sb.access = NULL;
	sa.http_routes = sb.http_routes = NULL;
	/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): padding can only make two equal configurations differ (a failure to look at), never hide a difference */
	return memcmp(&sa, &sb, sizeof(sa)) ? "settings" : NULL;
}

#endif
