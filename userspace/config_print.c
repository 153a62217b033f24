/* config_print.c: config_print (hermesd --check --print): the effective configuration
 * written as a hermes.yaml that config_load reads back into the same configuration, every
 * key with its value, defaults included. Every string is double-quoted, so that values
 * like "[::1]:15001", "off" or "yes" read back as the strings they are. */
#include <stdbool.h>
#include <stdio.h>

#include "addr.h"
#include "cfg_http.h"
#include "config.h"
#include "log.h"
#include "policy.h"

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
	for (unsigned j = 0; j < ARRAY_SIZE(cfghttp_retry_on_names); j++) {
		if (r->on & (1u << j)) {
			fprintf(f, "%s%s", sep, cfghttp_retry_on_names[j]);
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
	if (r->upstream_proxy)
		fprintf(f, "    upstream_proxy: true\n");
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
	/* the cache settings in effect, given by the route or taken from the cache section */
	fprintf(f, "    cache:\n      enabled: %s\n      max_object_kb: %u\n      heuristic: %s\n      default_ttl_s: %u\n"
		"      store_set_cookie: %s\n", bool_word(r->cache.enabled), r->cache.max_object_kb,
		bool_word(r->cache.heuristic), r->cache.default_ttl_s, bool_word(r->cache.store_set_cookie));
}

/* only what is set: the section has no defaults, and an empty path is not one */
static void print_etcd(FILE *f, const struct cfg_etcd *e)
{
	const struct { const char *name, *v; } str[] = {
		{ "prefix", e->prefix }, { "node", e->node }, { "cert", e->cert }, { "key", e->key }, { "ca", e->ca },
		{ "state_file", e->state_file },
	};
	bool any = e->n_endpoints > 0;

	for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++)
		any |= str[i].v[0] != 0;
	if (!any)
		return;
	fprintf(f, "etcd:\n");
	if (e->n_endpoints) {
		fprintf(f, "  endpoints: [");
		for (int i = 0; i < e->n_endpoints; i++) {
			fprintf(f, "%s", i ? ", " : "");
			print_str(f, e->endpoints[i]);
		}
		fprintf(f, "]\n");
	}
	for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
		if (!str[i].v[0])
			continue;
		fprintf(f, "  %s: ", str[i].name);
		print_str(f, str[i].v);
		fprintf(f, "\n");
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
	fprintf(f, "  admin_timeout_ms: %u\n", cfg->admin_timeout_ms);
	fprintf(f, "proxy:\n  connect_timeout_ms: %u\n  connect_attempts: %u\n  backoff_base_ms: %u\n"
		   "  backoff_max_ms: %u\n  idle_timeout_ms: %u\n  drain_timeout_ms: %u\n  relay: %s\n  sk_msg: %s\n"
		   "  relay_buffers: %u\n  buffers_per_socket: %u\n",
		cfg->connect_timeout_ms, cfg->connect_attempts, cfg->backoff_base_ms, cfg->backoff_max_ms,
		cfg->idle_timeout_ms, cfg->drain_timeout_ms, config_relay_name(cfg->relay), bool_word(cfg->sk_msg),
		cfg->relay_buffers, cfg->buffers_per_socket);

	fprintf(f, "policy:%s\n", cfg->n_rules ? "" : " []");
	for (int i = 0; i < cfg->n_rules; i++) {
		const struct cfg_rule *r = &cfg->rules[i];

		/* the UDP twin of a `both` rule is made again from the rule */
		if (r->key.proto == HERMES_PROTO_UDP && r->protos == (POL_PROTO_TCP | POL_PROTO_UDP))
			continue;
		fprintf(f, "  - match: ");
		print_match(f, &r->key);
		fprintf(f, "\n    action: %s\n", pol_action_name(r->val.action));
		if (r->protos & POL_PROTO_UDP)
			fprintf(f, "    protocol: %s\n", pol_protos_name(r->protos));
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
		print_kv_str(f, "  ", "ciphersuites", cfg->tls.ciphersuites);
	}
	fprintf(f, "tunnel:\n  h2_max_streams: %u\n  h2_pool_mbps: %u\n  h2_stream_window_bytes: %u\n"
		"  h2_conn_window_bytes: %u\n  allow_cleartext: %s\n  head_timeout_ms: %u\n",
		cfg->h2_max_streams, cfg->h2_pool_mbps, cfg->h2_stream_window, cfg->h2_conn_window,
		bool_word(cfg->tunnel_allow_cleartext), cfg->tunnel_head_timeout_ms);
	print_kv_str(f, "  ", "post_path", cfg->tunnel_post_path);
	fprintf(f, "  max_hops: %u\n  stream_buffer_bytes: %u\n  conn_buffer_bytes: %u\n  total_buffer_mb: %u\n"
		"  client_connects_per_second: %u\n  client_resets_per_second: %u\n  max_client_connections: %u\n",
		cfg->tunnel_max_hops, cfg->tunnel_stream_buffer, cfg->tunnel_conn_buffer, cfg->tunnel_total_buffer_mb,
		cfg->tunnel_connect_rate, cfg->tunnel_reset_rate, cfg->tunnel_client_conns);
	fprintf(f, "  stream_fd_headroom_percent: %u\n", cfg->tunnel_fd_headroom_pct);
	fprintf(f, "  optimistic_data: %s\n", bool_word(cfg->tunnel_optimistic));
	fprintf(f, "  udp_max_datagram_bytes: %u\n  udp_idle_timeout_ms: %u\n", cfg->tunnel_udp_max_dgram,
		cfg->tunnel_udp_idle_ms);
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
	fprintf(f, "http2:\n  max_header_list_bytes: %u\n  max_header_fields: %u\n  max_continuations: %u\n"
		   "  max_concurrent_streams: %u\n  reset_burst: %u\n  reset_rate: %u\n  max_pending_acks: %u\n"
		   "  idle_timeout_ms: %u\n",
		cfg->http2.max_header_list, cfg->http2.max_header_fields, cfg->http2.max_continuations,
		cfg->http2.max_streams, cfg->http2.reset_burst, cfg->http2.reset_rate, cfg->http2.max_pending_acks,
		cfg->http2.idle_timeout_ms);
	fprintf(f, "outlier:\n  consecutive_failures: %u\n  base_ejection_ms: %u\n  max_ejection_ms: %u\n  http_5xx: %s\n",
		cfg->outlier.consecutive_failures, cfg->outlier.base_ejection_ms, cfg->outlier.max_ejection_ms,
		bool_word(cfg->outlier.http_5xx));
	fprintf(f, "overload:\n  max_buffer_mb: %u\n  stop_reading_percent: %u\n  refuse_streams_percent: %u\n"
		   "  refuse_connections_percent: %u\n  hysteresis_percent: %u\n",
		cfg->overload.max_buffer_mb, cfg->overload.stop_reading_pct, cfg->overload.refuse_streams_pct,
		cfg->overload.refuse_conns_pct, cfg->overload.hysteresis_pct);
	fprintf(f, "udp:\n  relay: %s\n  ipv6: %s\n  kernel_path: %s\n  idle_timeout_ms: %u\n  max_flows: %u\n"
		"  max_datagram: %u\n  tunnel_queue_bytes: %u\n", bool_word(cfg->udp.relay), bool_word(cfg->udp.ipv6),
		bool_word(cfg->udp.kernel_path),
		cfg->udp.idle_timeout_ms, cfg->udp.max_flows, cfg->udp.max_datagram, cfg->udp.tunnel_queue_bytes);
	fprintf(f, "cache:\n  enabled: %s\n  max_size_mb: %u\n  max_object_kb: %u\n  fill_stall_ms: %u\n",
		bool_word(cfg->cache.enabled), cfg->cache.max_size_mb, cfg->cache.max_object_kb, cfg->cache.fill_stall_ms);
	if (cfg->cache.disk_path[0]) /* only when set: an empty path is not one */
		fprintf(f, "  disk_path: \"%s\"\n", cfg->cache.disk_path);
	fprintf(f, "  disk_max_size_mb: %u\n", cfg->cache.disk_max_size_mb);
	fprintf(f, "http_routes:%s\n", cfg->n_http_routes ? "" : " []");
	for (int i = 0; i < cfg->n_http_routes; i++)
		print_http_route(f, &cfg->http_routes[i]);
	print_etcd(f, &cfg->etcd);
}
