/* config.c: hermesd's configuration: the embedded defaults, and the YAML file
 * (/etc/hermes/hermes.yaml; etc/hermes.yaml documents every key) parsed with the
 * libyaml document API. Every key is optional; unknown or duplicate keys, wrong
 * node types and bad or out-of-range values are errors reported once, as
 * "FILE:LINE:COL: what is wrong (what is expected)".
 *
 * Here: reading the file (once; it is parsed twice, first for the limits of the file), the
 * document walk from the top-level key table below, the top-level keys' own setters, the
 * defaults, and the lines where keys were set. The top-level table names the tables of
 * the sections, which live with their setters: cfg_net.c (listeners, proxy, inbound,
 * policy, endpoints, routes, tunnel_access, tls, tunnel) and cfg_http.c (http,
 * http_routes); the walker that applies a table to a YAML mapping is cfg_parse.c. The
 * same tables say what a SIGHUP does with each key (RELOAD or RESTART; config_reload.c):
 * there is no other list. config_print.c writes a configuration back as YAML. */
#include <errno.h>
#include <mntent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "addr.h"
#include "cfg_http.h"
#include "cfg_net.h"
#include "cfg_parse.h"
#include "config.h"
#include "log.h"

#define DEFAULT_SOURCE "<embedded default>"
#define DEFAULT_PIN_ROOT "/sys/fs/bpf/hermes"
#define DEFAULT_MARK 0x484d /* "HM" */

/* ---- the top level: its own setters and the table ---- */

static int set_log_level(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname,
			 yaml_node_t *v, void *obj)
{
	enum log_level *dst = (enum log_level *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (log_parse_level(s, dst))
		return cfgp_fail(c, v, "unknown %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	return 0;
}

static int set_log_format(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	enum log_format *dst = (enum log_format *)((char *)obj + k->off);
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (log_parse_format(s, dst))
		return cfgp_fail(c, v, "unknown %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
	return 0;
}

static int set_access_log(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	const char *s;
	int ret;

	ret = cfgp_get_scalar(c, qname, v, k->expect, &s);
	if (ret)
		return ret;
	if (!strcmp(s, "off") || !strcmp(s, "stderr") || (s[0] == '/' && strlen(s) < k->size)) {
		snprintf((char *)obj + k->off, k->size, "%s", s);
		return 0;
	}
	return cfgp_fail(c, v, "bad %s '%s' (expected %s)", qname, cfgp_show(c, s), k->expect);
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

static int tc_iface_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj, int i)
{
	(void)i;
	if (config_add_tc_iface(obj, s))
		return cfgp_fail(c, a,
				 "bad interface name '%s' in '%s' (expected at most 15 characters, no '/' or space)",
				 cfgp_show(c, s), qname);
	return 0;
}

static int set_tc_ifaces(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	((struct hermes_config *)obj)->n_tc_ifaces = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, 0, k->entries, "an interface name", tc_iface_item, obj);
}

static int etcd_endpoint_item(struct cfgp_ctx *c, const char *qname, yaml_node_t *a, const char *s, void *obj,
			      int i)
{
	struct cfg_etcd *e = &((struct hermes_config *)obj)->etcd;

	if ((strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) || strlen(s) >= sizeof(e->endpoints[0]))
		return cfgp_fail(c, a, "bad etcd endpoint '%s' in '%s' (expected a URL http://HOST:PORT or "
				 "https://HOST:PORT, etcd's client URL)", cfgp_show(c, s), qname);
	snprintf(e->endpoints[i], sizeof(e->endpoints[i]), "%s", s);
	e->n_endpoints = i + 1;
	return 0;
}

static int set_etcd_endpoints(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			      void *obj)
{
	((struct hermes_config *)obj)->etcd.n_endpoints = 0;
	return cfgp_parse_scalar_list(c, k, qname, v, 1, CFG_ETCD_MAX_ENDPOINTS, "an etcd client URL",
				      etcd_endpoint_item, obj);
}

/* endpoints need the prefix, which names the overlay; the node (no '/') may also come
 * from --etcd-node */
static int set_etcd(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj)
{
	const struct cfg_etcd *e = &((struct hermes_config *)obj)->etcd;
	int ret = cfgp_parse_section(c, k, qname, v, obj, NULL);

	if (ret || ((!e->n_endpoints || e->prefix[0]) && !strchr(e->node, '/')))
		return ret;
	return cfgp_fail(c, v, "'%s': endpoints need a prefix, and a node name has no '/' (expected e.g. "
			 "prefix: /hermes/lab and node: host-a: the node's document is PREFIX/nodes/NODE)", qname);
}

/* restart: the source of the configuration is chosen at start (etcd_src.c) */
static const struct cfgp_key etcd_keys[] = {
	{ .name = "endpoints", .set = set_etcd_endpoints, CFGP_ARRAY(etcd.endpoints, etcd.n_endpoints), CFGP_RESTART,
	  .expect = "a list of 1 to 8 etcd client URLs, e.g. [http://10.0.0.1:2379, http://10.0.0.2:2379]" },
	{ .name = "prefix", .set = cfgp_set_path, CFGP_STRING(etcd.prefix), CFGP_RESTART,
	  .expect = "the overlay's key prefix, beginning with '/', e.g. /hermes/lab" },
	{ .name = "node", .set = cfgp_set_string, CFGP_STRING(etcd.node), CFGP_RESTART,
	  .expect = "this node's name (at most 63 characters): its document is PREFIX/nodes/NODE" },
	{ .name = "cert", .set = cfgp_set_path, CFGP_STRING(etcd.cert), CFGP_RESTART,
	  .expect = "an absolute path to the PEM client certificate etcd asks for" },
	{ .name = "key", .set = cfgp_set_path, CFGP_STRING(etcd.key), CFGP_RESTART,
	  .expect = "an absolute path to the client certificate's PEM private key" },
	{ .name = "ca", .set = cfgp_set_path, CFGP_STRING(etcd.ca), CFGP_RESTART,
	  .expect = "an absolute path to the PEM CA certificate that signs etcd's server certificates" },
	{ .name = "state_file", .set = cfgp_set_path, CFGP_STRING(etcd.state_file), CFGP_RESTART,
	  .expect = "an absolute path where the last applied document is kept, e.g. /var/lib/hermes/etcd-state.yaml" },
};

/* reload: the stage is worked out from the keys in force at each look */
#define OVERLOAD_PCT(f, key) { .name = key, .set = cfgp_set_u32, CFGP_FIELD(overload.f), .min = 1, .max = 100, CFGP_RELOAD }
static const struct cfgp_key overload_keys[] = {
	{ .name = "max_buffer_mb", .set = cfgp_set_u32, CFGP_FIELD(overload.max_buffer_mb), .min = 0, .max = 1 << 20,
	  CFGP_RELOAD },
	OVERLOAD_PCT(stop_reading_pct, "stop_reading_percent"),
	OVERLOAD_PCT(refuse_streams_pct, "refuse_streams_percent"),
	OVERLOAD_PCT(refuse_conns_pct, "refuse_connections_percent"),
	{ .name = "hysteresis_percent", .set = cfgp_set_u32, CFGP_FIELD(overload.hysteresis_pct), .min = 0, .max = 50,
	  CFGP_RELOAD },
};

/* restart: the relay socket, the flow table and the BPF slot idle time are set up at start */
static const struct cfgp_key udp_keys[] = {
	{ .name = "relay", .set = cfgp_set_bool, CFGP_FIELD(udp.relay), CFGP_RESTART, .expect = "true or false" },
	{ .name = "ipv6", .set = cfgp_set_bool, CFGP_FIELD(udp.ipv6), CFGP_RESTART, .expect = "true or false" },
	{ .name = "kernel_path", .set = cfgp_set_bool, CFGP_FIELD(udp.kernel_path), CFGP_RESTART,
	  .expect = "true or false" },
	{ .name = "idle_timeout_ms", .set = cfgp_set_u32, CFGP_FIELD(udp.idle_timeout_ms), .min = 1000, .max = 3600000,
	  CFGP_RESTART },
	{ .name = "max_flows", .set = cfgp_set_u32, CFGP_FIELD(udp.max_flows), .min = 1, .max = 65536, CFGP_RESTART },
	{ .name = "max_datagram", .set = cfgp_set_u32, CFGP_FIELD(udp.max_datagram), .min = 512, .max = 65535,
	  CFGP_RESTART },
	/* read as each tunnel flow's stream starts: a reload applies to new streams */
	{ .name = "tunnel_queue_bytes", .set = cfgp_set_u32, CFGP_FIELD(udp.tunnel_queue_bytes), .min = 16384,
	  .max = 64 << 20, CFGP_RELOAD },
};

/* restart: the store is made at start, its size with it */
static const struct cfgp_key cache_keys[] = {
	{ .name = "enabled", .set = cfgp_set_bool, CFGP_FIELD(cache.enabled), CFGP_RESTART, .expect = "true or false" },
	{ .name = "max_size_mb", .set = cfgp_set_u32, CFGP_FIELD(cache.max_size_mb), .min = 1, .max = 1 << 20,
	  CFGP_RESTART },
	{ .name = "max_object_kb", .set = cfgp_set_u32, CFGP_FIELD(cache.max_object_kb), .min = 1, .max = 1 << 20,
	  CFGP_RESTART },
	/* read by each fill as it goes */
	{ .name = "fill_stall_ms", .set = cfgp_set_u32, CFGP_FIELD(cache.fill_stall_ms), .min = 50, .max = 3600000,
	  CFGP_RELOAD },
	/* the disk tier: its files are indexed at start, by a thread made then */
	{ .name = "disk_path", .set = cfgp_set_path, CFGP_STRING(cache.disk_path), CFGP_RESTART,
	  .expect = "an absolute path to a directory only the cache uses, e.g. /var/cache/hermes" },
	{ .name = "disk_max_size_mb", .set = cfgp_set_u32, CFGP_FIELD(cache.disk_max_size_mb), .min = 1,
	  .max = 1 << 24, CFGP_RESTART },
};

/* The stages rise in order: each threshold at least the one before. */
static int overload_check(struct cfgp_ctx *c, const struct hermes_config *cfg)
{
	const struct cfg_overload *o = &cfg->overload;

	if (o->stop_reading_pct <= o->refuse_streams_pct && o->refuse_streams_pct <= o->refuse_conns_pct)
		return 0;
	snprintf(c->err, c->errlen, "%s: overload: the thresholds must rise in their order: stop_reading_percent (%u) "
		 "<= refuse_streams_percent (%u) <= refuse_connections_percent (%u)", c->path, o->stop_reading_pct,
		 o->refuse_streams_pct, o->refuse_conns_pct);
	return -EINVAL;
}

const struct cfgp_key config_top_keys[] = {
	{ .name = "cgroup", .set = cfgp_set_path, CFGP_STRING(cgroup), CFGP_RESTART,
	  .expect = "an absolute path to a cgroup v2 directory, e.g. /sys/fs/cgroup/myapps" },
	{ .name = "pin_root", .set = cfgp_set_path, CFGP_STRING(pin_root), CFGP_RESTART,
	  .expect = "an absolute path on bpffs, e.g. " DEFAULT_PIN_ROOT },
	{ .name = "log_level", .set = set_log_level, CFGP_FIELD(log_level), CFGP_RELOAD,
	  .expect = "debug, info, warn or error" },
	{ .name = "log_format", .set = set_log_format, CFGP_FIELD(log_format), CFGP_RELOAD,
	  .expect = "auto, text, json or journal" },
	{ .name = "log_bpf", .set = set_log_level, CFGP_FIELD(log_bpf), CFGP_RELOAD,
	  .expect = "debug, info, warn or error: the least severe of libbpf's messages to log" },
	{ .name = "access_log", .set = set_access_log, CFGP_STRING(access_log), CFGP_RELOAD,
	  .expect = "off, stderr or an absolute file path" },
	{ .name = "user", .set = cfgp_set_string, CFGP_STRING(user), CFGP_RESTART,
	  .expect = "a user name of at most 63 characters" },
	{ .name = "mark", .set = cfgp_set_u32, CFGP_FIELD(mark), CFGP_RESTART, .min = 1, .max = 0xffffffff,
	  .flags = CFGP_HEX },
	{ .name = "flow_table", .set = cfgp_set_bool, CFGP_FIELD(flow_table), CFGP_RESTART, .expect = "true or false" },
	{ .name = "detach_on_exit", .set = cfgp_set_bool, CFGP_FIELD(detach_on_exit), CFGP_RELOAD,
	  .expect = "true or false" },
	{ .name = "tc_interfaces", .set = set_tc_ifaces, CFGP_ARRAY(tc_ifaces, n_tc_ifaces), CFGP_RESTART,
	  .entries = CFG_MAX_TC_IFACES,
	  .expect = "a list of at most 8 interface names (at most 15 characters each)" },
	{ .name = "listeners", .set = cfgp_set_section, .sub = cfgnet_listener_keys,
	  .nsub = CFGNET_N_LISTENER_KEYS },
	{ .name = "proxy", .set = cfgnet_set_proxy, .sub = cfgnet_proxy_keys, .nsub = CFGNET_N_PROXY_KEYS },
	{ .name = "policy", .set = cfgnet_set_policy, CFGP_RELOAD, .entries = HERMES_POLICY_MAX_RULES },
	{ .name = "endpoints", .set = cfgnet_set_endpoints, CFGP_RELOAD, .entries = CFG_MAX_ENDPOINTS },
	{ .name = "routes", .set = cfgnet_set_routes, CFGP_RELOAD, .entries = CFG_MAX_ROUTES },
	{ .name = "tunnel_access", .set = cfgnet_set_tunnel_access, CFGP_RELOAD, .entries = CFG_MAX_ACCESS },
	{ .name = "tls", .set = cfgp_set_section, .sub = cfgnet_tls_keys, .nsub = CFGNET_N_TLS_KEYS },
	{ .name = "tunnel", .set = cfgp_set_section, .sub = cfgnet_tunnel_keys, .nsub = CFGNET_N_TUNNEL_KEYS },
	/* the section's presence turns protected ingress on: a restart, as its keys */
	{ .name = "inbound", .set = cfgnet_set_inbound, .sub = cfgnet_inbound_keys, .nsub = CFGNET_N_INBOUND_KEYS,
	  CFGP_FIELD(inbound.on), CFGP_RESTART },
	{ .name = "http", .set = cfgp_set_section, .sub = cfghttp_keys, .nsub = CFGHTTP_N_KEYS },
	{ .name = "http_routes", .set = cfghttp_set_routes, CFGP_RELOAD, .entries = CFG_HTTP_MAX_ROUTES },
	{ .name = "http2", .set = cfgp_set_section, .sub = cfghttp2_keys, .nsub = CFGHTTP2_N_KEYS },
	{ .name = "outlier", .set = cfghttp_set_outlier, .sub = cfghttp_outlier_keys, .nsub = CFGHTTP_N_OUTLIER_KEYS },
	{ .name = "overload", .set = cfgp_set_section, .sub = overload_keys, .nsub = ARRAY_SIZE(overload_keys) },
	{ .name = "udp", .set = cfgp_set_section, .sub = udp_keys, .nsub = ARRAY_SIZE(udp_keys) },
	{ .name = "cache", .set = cfgp_set_section, .sub = cache_keys, .nsub = ARRAY_SIZE(cache_keys) },
	{ .name = "etcd", .set = set_etcd, .sub = etcd_keys, .nsub = ARRAY_SIZE(etcd_keys) },
};

const size_t config_n_top_keys = ARRAY_SIZE(config_top_keys);

_Static_assert(ARRAY_SIZE(config_top_keys) <= CFGP_MAX_KEYS, "raise CFGP_MAX_KEYS");
_Static_assert(ARRAY_SIZE(config_top_keys) + CFGNET_N_LISTENER_KEYS + CFGNET_N_PROXY_KEYS + CFGNET_N_TLS_KEYS +
		       CFGNET_N_TUNNEL_KEYS + CFGNET_N_INBOUND_KEYS + CFGHTTP_N_KEYS + CFGHTTP2_N_KEYS +
		       CFGHTTP_N_OUTLIER_KEYS + ARRAY_SIZE(overload_keys) + ARRAY_SIZE(udp_keys) +
		       ARRAY_SIZE(cache_keys) + ARRAY_SIZE(etcd_keys) <=
		       CFG_MAX_KEY_LINES,
	       "raise CFG_MAX_KEY_LINES");
_Static_assert(CFGNET_N_PROXY_KEYS <= CFGP_MAX_KEYS, "raise CFGP_MAX_KEYS");
/* the first pass refuses a list below the top level longer than CFGP_MAX_NESTED */
_Static_assert(CFG_MAX_PROTECT <= CFGP_MAX_NESTED && CFG_MAX_ALLOW_FROM <= CFGP_MAX_NESTED &&
		       CFG_MAX_ALTERNATES <= CFGP_MAX_NESTED && CFG_MAX_ROUTE_MATCH <= CFGP_MAX_NESTED &&
		       CFG_MAX_PEERS <= CFGP_MAX_NESTED && CFG_HTTP_MAX_CODES <= CFGP_MAX_NESTED &&
		       CFG_HTTP_MAX_EPS <= CFGP_MAX_NESTED && CFG_HTTP_MAX_HDRS <= CFGP_MAX_NESTED,
	       "raise CFGP_MAX_NESTED");

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

/* The memory.max of this process's cgroup (cgroup v2), 0 when it has none ("max", no
 * memory controller there, or no cgroup2 mount). */
static uint64_t cgroup_memory_max(void)
{
	char root[512], line[1024], path[1600];
	unsigned long long v = 0;
	FILE *f;

	find_cgroup2_root(root, sizeof(root));
	if (!root[0] || !(f = fopen("/proc/self/cgroup", "re")))
		return 0;
	path[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(path, sizeof(path), "%s%s/memory.max", root, line + 3);
			break;
		}
	fclose(f);
	if (!path[0] || !(f = fopen(path, "re")))
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0; /* "max" */
	fclose(f);
	return v;
}

/* The memory budget's default (overload.max_buffer_mb): a quarter of the memory hermesd
 * may use, the host's or its cgroup's memory.max if lower, at least 64 MB. The count
 * follows hermesd's RSS growth closely (docs: "Memory budget"), so a quarter leaves the
 * rest of the process (small fixed structures, the allocator's slack) and the host its
 * share, while an attack that grows without bound stops long before the OOM killer. */
static uint32_t overload_default_mb(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t mem = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 4ULL << 30, lim = cgroup_memory_max();

	if (lim && lim < mem)
		mem = lim;
	mem = (mem >> 20) / 4;
	return mem < 64 ? 64 : mem > (1 << 20) ? 1 << 20 : (uint32_t)mem;
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
	snprintf(cfg->tls.ciphersuites, sizeof(cfg->tls.ciphersuites), "%s", CFG_TLS_DEFAULT_CIPHERSUITES);
	/* constant, well-formed strings: these cannot fail */
	(void)addr_parse(CFGNET_DEFAULT_LISTEN, &cfg->listen);
	(void)addr_parse(CFGNET_DEFAULT_LISTEN6, &cfg->listen6);
	(void)addr_parse(CFGNET_DEFAULT_ADMIN, &cfg->admin);
	cfg->mark = DEFAULT_MARK;
	cfg->connect_timeout_ms = 3000;
	cfg->connect_attempts = 3;
	cfg->backoff_base_ms = 25;
	cfg->backoff_max_ms = 1000;
	cfg->idle_timeout_ms = 3600000;
	cfg->drain_timeout_ms = 5000;
	cfg->relay_buffers = 8192;
	cfg->buffers_per_socket = 8;
	cfg->h2_max_streams = 100;
	/* one flow at 2 Gbit/s across 100 ms (a window per round trip, refilled at half) */
	cfg->h2_stream_window = 32 << 20;
	cfg->h2_conn_window = 1 << 30;
	cfg->tunnel_max_hops = 8;
	cfg->tunnel_stream_buffer = 32 << 20;
	cfg->tunnel_conn_buffer = 64 << 20;
	cfg->tunnel_total_buffer_mb = 256;
	cfg->tunnel_connect_rate = 20000;
	cfg->tunnel_reset_rate = 100;
	cfg->tunnel_client_conns = 1024;
	cfg->tunnel_head_timeout_ms = 10000;
	cfg->admin_timeout_ms = 5000;
	cfg->tunnel_fd_headroom_pct = 10;
	cfg->tunnel_optimistic = true;
	/* an Ethernet frame's worth (see docs: what every UDP application we carry sends) */
	cfg->tunnel_udp_max_dgram = 1500;
	cfg->tunnel_udp_idle_ms = 60000;
	snprintf(cfg->tunnel_post_path, sizeof(cfg->tunnel_post_path), "/hermes/tunnel");
	cfg->relay = RELAY_AUTO;
	/* off by default: a non-blocking bulk sender gets ENOMEM from send() once hermesd's
	 * receive memory is full (docs/architecture.md, "Kernel acceleration") */
	cfg->sk_msg = false;
	cfg->flow_table = true;
	/* UDP rules are opt-in (protocol: udp|both): the relay only binds its port */
	cfg->udp.relay = true;
	cfg->udp.ipv6 = true;
	cfg->udp.idle_timeout_ms = 60000;
	cfg->udp.max_flows = 4096;
	cfg->udp.max_datagram = 65535;
	/* 35 ms at 1 Gb/s: what a loop that did not run for a while leaves to send at once
	 * (1 MiB lost up to 0.4% of a 1 Gb/s flow to three 20 ms stops of the loop) */
	cfg->udp.tunnel_queue_bytes = 4 << 20;
	cfg->cache.max_size_mb = 64;
	cfg->cache.max_object_kb = 1024;
	cfg->cache.fill_stall_ms = 1000;
	cfg->cache.disk_max_size_mb = 1024;
	cfg->http.max_head = 16384;
	cfg->http.max_line = 8192;
	cfg->http.max_headers = 64;
	cfg->http.max_idle = 1024; /* as many as a busy client set keeps busy: closing them costs a connect per request */
	cfg->http.pool_idle_timeout_ms = 30000;
	cfg->http.keepalive_timeout_ms = 60000;
	cfg->http.head_timeout_ms = 10000;
	cfg->http.unhealthy_ms = 5000;
	cfg->http.via = true;
	cfg->http2.max_header_list = 32768;
	cfg->http2.max_header_fields = 128;
	cfg->http2.max_continuations = 8;
	cfg->http2.max_streams = 100;
	cfg->http2.reset_burst = 100;
	cfg->http2.reset_rate = 20;
	cfg->http2.max_pending_acks = 1000;
	cfg->http2.idle_timeout_ms = 30000;
	/* 3: one stray reset or refusal does not eject a target, and a black hole costs
	 * at most 3 attempts a connect timeout each before new flows skip it. 10 s doubling
	 * to 5 min: Envoy's max_ejection_time (its base is 30 s: a dead peer is probed
	 * sooner here, a probe costing one flow at most a failover). */
	cfg->outlier.consecutive_failures = 3;
	cfg->outlier.base_ejection_ms = 10000;
	cfg->outlier.max_ejection_ms = 300000;
	cfg->outlier.http_5xx = false;
	cfg->overload.max_buffer_mb = overload_default_mb();
	cfg->overload.stop_reading_pct = 80;
	cfg->overload.refuse_streams_pct = 90;
	cfg->overload.refuse_conns_pct = 95;
	cfg->overload.hysteresis_pct = 5;
	/* no route, no retry section: plain forwarding */
	cfghttp_retry_defaults(&cfg->http.retry);
	cfg->http.retry.num_retries = 0;
}

/* libyaml's own error (syntax, bad UTF-8, ...) as one message. */
static int yaml_fail(struct cfgp_ctx *c, const yaml_parser_t *p)
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

static int load_doc(struct cfgp_ctx *c, yaml_parser_t *parser, struct hermes_config *cfg)
{
	yaml_document_t extra;
	yaml_node_t *root, *extra_root;
	int ret;

	root = yaml_document_get_root_node(c->doc);
	if (!root || cfgp_is_null(root))
		ret = 0; /* empty file (or only comments): the defaults */
	else if (root->type != YAML_MAPPING_NODE)
		ret = cfgp_fail(c, root, "the top level is %s (expected a mapping of keys %s)",
				cfgp_node_kind(root), cfgp_key_names(c, config_top_keys, config_n_top_keys));
	else
		ret = cfgp_parse_map(c, root, config_top_keys, config_n_top_keys, NULL, cfg, NULL);
	if (ret)
		return ret;
	ret = cfgnet_check(c, cfg);
	if (!ret)
		ret = overload_check(c, cfg);
	if (!ret)
		ret = cfghttp_resolve(c, cfg);
	if (ret)
		return ret;

	/* a second document would be silently ignored: refuse it */
	if (!yaml_parser_load(parser, &extra))
		return yaml_fail(c, parser);
	extra_root = yaml_document_get_root_node(&extra);
	if (extra_root)
		ret = cfgp_fail(c, extra_root, "a second YAML document starts here "
				"(expected one document per file)");
	yaml_document_delete(&extra);
	return ret;
}

/* ---- the first pass: limits checked as libyaml's events arrive ----
 *
 * libyaml builds a whole document before the key tables see it: 150,000 list entries cost
 * 251 MB before their list's maximum was checked, and its scanner costs the square of the
 * flow nesting depth (an 80,000-deep file took half a minute). So the input goes through
 * the event parser first, which holds nothing but the open collections, and stops at the
 * first limit passed: nesting (CFG_MAX_DEPTH), entries of a top-level list (its key's
 * `entries`), of a deeper list (CFGP_MAX_NESTED) and keys of a mapping (CFGP_MAX_KEYS),
 * and nodes in all (CFG_MAX_NODES). Only then is the document built. */

/* An open collection of the first pass. */
struct scan_level {
	bool map;      /* a mapping: its nodes alternate key, value */
	bool at_value; /* mapping: the next node is a value */
	bool top_list; /* a list of the top level: max is its key's own */
	size_t n, max; /* entries (a mapping's keys) so far, and at most */
	char key[32];  /* mapping: the key of the value that comes next */
	char qname[CFGP_QNAME_LEN]; /* where it is: "routes.peers", "" for the top level */
};

/* The most entries of the list under top-level key name; 0 when name holds no list. */
static size_t top_list_max(const char *name)
{
	for (size_t i = 0; i < config_n_top_keys; i++)
		if (config_top_keys[i].entries && !strcmp(config_top_keys[i].name, name))
			return config_top_keys[i].entries;
	return 0;
}

/* dst (CFGP_QNAME_LEN bytes): "up.key", or up (key NULL), cut to fit. */
static void scan_name(char *dst, const char *up, const char *key)
{
	size_t n = strnlen(up, CFGP_QNAME_LEN - 1);

	memmove(dst, up, n);
	if (key && n + 1 < CFGP_QNAME_LEN) {
		size_t k = strnlen(key, CFGP_QNAME_LEN - 2 - n);

		if (n)
			dst[n++] = '.';
		memcpy(dst + n, key, k);
		n += k;
	}
	dst[n] = 0;
}

/* "'routes.peers'" or "the top level", for messages (valid until the next call). */
static const char *scan_where(struct cfgp_ctx *c, const struct scan_level *l)
{
	if (!l->qname[0])
		return "the top level";
	snprintf(c->shown, sizeof(c->shown), "'%s'", l->qname);
	return c->shown;
}

/* Counts node ev (at levels lv[0..depth)) where it belongs; opens a level for a
 * collection. 0 or -E2BIG with the message. */
static int scan_node(struct cfgp_ctx *c, struct scan_level *lv, int *depth, const yaml_event_t *ev, size_t *nodes)
{
	struct scan_level *up = *depth ? &lv[*depth - 1] : NULL, *l;
	bool open = ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT;
	const char *key = NULL; /* the key whose value this node is */

	if (++*nodes > CFG_MAX_NODES) {
		cfgp_fail_at(c, &ev->start_mark, "more than %d keys, values and list entries in all (expected a "
			     "hermes.yaml of at most %d)", CFG_MAX_NODES, CFG_MAX_NODES);
		return -E2BIG;
	}
	/* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Branch): libyaml's events nest (no END before its START): depth never goes below 0 */
	if (up && up->map && !up->at_value) { /* a key */
		if (++up->n > up->max) {
			cfgp_fail_at(c, &ev->start_mark, "%s has more than %zu keys (expected each of its "
				     "keys once)", scan_where(c, up), up->max);
			return -E2BIG;
		}
		snprintf(up->key, sizeof(up->key), "%s", ev->type == YAML_SCALAR_EVENT ?
			 (const char *)ev->data.scalar.value : "?");
		up->at_value = true;
	} else if (up && up->map) {
		up->at_value = false;
		key = up->key;
	} else if (up && ++up->n > up->max) {
		cfgp_fail_at(c, &ev->start_mark, "%s has more than %zu entries (expected at most %zu%s)",
			     scan_where(c, up), up->max, up->max,
			     up->top_list ? "" : ": no list of hermes.yaml but those of the top level holds more");
		return -E2BIG;
	}
	if (!open)
		return 0;
	if (*depth == CFG_MAX_DEPTH) {
		cfgp_fail_at(c, &ev->start_mark, "YAML nested more than %d levels deep (expected hermes.yaml's "
			     "keys, which nest 5 levels at most)", CFG_MAX_DEPTH);
		return -E2BIG;
	}
	l = &lv[(*depth)++];
	memset(l, 0, sizeof(*l));
	l->map = ev->type == YAML_MAPPING_START_EVENT;
	if (up) /* a list's entries go by its name */
		scan_name(l->qname, up->qname, key);
	l->top_list = !l->map && *depth == 2 && key && top_list_max(key);
	l->max = l->map ? CFGP_MAX_KEYS : l->top_list ? top_list_max(key) : CFGP_MAX_NESTED;
	return 0;
}

/* 0, or -E2BIG when the input passes a limit. A syntax error ends the pass quietly: the
 * loading pass reports it as it always has. */
static int scan(struct cfgp_ctx *c, yaml_parser_t *p)
{
	struct scan_level lv[CFG_MAX_DEPTH];
	size_t nodes = 0;
	int depth = 0, ret = 0;

	for (;;) {
		yaml_event_t ev;
		yaml_event_type_t type;

		if (!yaml_parser_parse(p, &ev))
			return 0;
		type = ev.type;
		switch (type) {
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			ret = scan_node(c, lv, &depth, &ev, &nodes);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (ret || type == YAML_STREAM_END_EVENT)
			return ret;
	}
}

/* The YAML in buf[0..len) into cfg: the first pass (limits), then the document. */
static int load_input(struct cfgp_ctx *c, const char *buf, size_t len, struct hermes_config *cfg)
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
			ret = scan(c, &parser);
		} else if (!yaml_parser_load(&parser, &doc)) {
			ret = yaml_fail(c, &parser);
		} else {
			/* cppcheck-suppress autoVariables ; c->doc is read only inside load_doc, below */
			c->doc = &doc;
			ret = load_doc(c, &parser, cfg);
			yaml_document_delete(&doc);
		}
		yaml_parser_delete(&parser);
	}
	return ret;
}

/* The "larger than CFG_MAX_FILE_BYTES" message; -EFBIG. */
static int too_big(struct cfgp_ctx *c)
{
	snprintf(c->err, c->errlen, "%s: larger than %u MiB (expected a hermes.yaml of at most %u bytes)", c->path,
		 CFG_MAX_FILE_BYTES >> 20, CFG_MAX_FILE_BYTES);
	return -EFBIG;
}

/* The file at c->path, whole, into *buf (*len bytes; the caller frees it): read once, as
 * a pipe or a FIFO can be, and parsed twice. A file larger than CFG_MAX_FILE_BYTES is
 * refused without reading it, a pipe as soon as it has given more. */
static int read_file(struct cfgp_ctx *c, char **buf, size_t *len)
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
	if (fstat(fileno(f), &st))
		st.st_mode = 0;
	if (S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(c->err, c->errlen, "%s: is a directory (expected a YAML file)", c->path);
		return -EISDIR;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)CFG_MAX_FILE_BYTES) {
		fclose(f);
		return too_big(c);
	}
	for (;;) {
		if (*len == cap) {
			/* one byte past the limit says that the file is larger */
			char *nb = realloc(*buf, cap = cap ? cap * 2 > CFG_MAX_FILE_BYTES + 1 ? CFG_MAX_FILE_BYTES + 1 :
							  cap * 2 : 16384);

			if (!nb) {
				snprintf(c->err, c->errlen, "%s: out of memory", c->path);
				ret = -ENOMEM;
				break;
			}
			*buf = nb;
		}
		*len += fread(*buf + *len, 1, cap - *len, f);
		if (*len > CFG_MAX_FILE_BYTES) {
			ret = too_big(c);
			break;
		}
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
	struct cfgp_ctx c = { .path = path, .cfg = cfg, .err = errlen ? err : dummy,
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
	ret = len > CFG_MAX_FILE_BYTES ? too_big(&c) : load_input(&c, buf, len, cfg);
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
