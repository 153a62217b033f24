/* test_config_reload.c: unit test of what a SIGHUP does with each config key
 * (the RELOAD / RESTART marks of the key tables in userspace/config.c, cfg_net.c and
 * cfg_http.c; config_keys, config_key_apply and config_reload_merge in config_reload.c,
 * which loop.c's reload runs before it swaps the new config in). Every key the loader
 * takes must carry a mark, and this file must
 * hold a sample value for it: then, for each key, a running config of defaults is
 * "reloaded" with a file setting only that key, and the merged config must show the new
 * value (RELOAD) or stay byte-for-byte as it ran with the key reported (RESTART).
 * Command-line options hold their keys over the file. Needs no privilege.
 * Exit 0 pass, 1 fail. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

/* One file per key, setting that key (and what it needs) to a value that is not its
 * default. A key added to a key table without a line here fails test_samples_cover. */
static const struct sample {
	const char *key;
	const char *yaml;
} samples[] = {
	{ "cgroup", "cgroup: /sys/fs/cgroup/elsewhere\n" },
	{ "pin_root", "pin_root: /sys/fs/bpf/hermes-elsewhere\n" },
	{ "log_level", "log_level: warn\n" },
	{ "log_format", "log_format: json\n" },
	{ "log_bpf", "log_bpf: debug\n" },
	{ "access_log", "access_log: off\n" },
	{ "user", "user: nobody\n" },
	{ "mark", "mark: 7\n" },
	{ "flow_table", "flow_table: false\n" },
	{ "detach_on_exit", "detach_on_exit: true\n" },
	{ "tc_interfaces", "tc_interfaces: [lo]\n" },
	{ "listeners.outbound", "listeners: {outbound: 127.0.0.2:15001}\n" },
	{ "listeners.outbound6", "listeners: {outbound6: off}\n" },
	{ "listeners.admin", "listeners: {admin: 127.0.0.1:15099}\n" },
	{ "listeners.tunnel", "listeners: {tunnel: 127.0.0.1:15008}\n" },
	{ "listeners.metrics", "listeners: {metrics: 127.0.0.1:15020}\n" },
	{ "proxy.connect_timeout_ms", "proxy: {connect_timeout_ms: 1234}\n" },
	{ "proxy.connect_attempts", "proxy: {connect_attempts: 5}\n" },
	{ "proxy.backoff_base_ms", "proxy: {backoff_base_ms: 10}\n" },
	{ "proxy.backoff_max_ms", "proxy: {backoff_max_ms: 2000}\n" },
	{ "proxy.idle_timeout_ms", "proxy: {idle_timeout_ms: 60000}\n" },
	{ "proxy.drain_timeout_ms", "proxy: {drain_timeout_ms: 100}\n" },
	{ "proxy.relay", "proxy: {relay: uring}\n" },
	{ "proxy.sk_msg", "proxy: {sk_msg: true}\n" },
	{ "proxy.relay_buffers", "proxy: {relay_buffers: 1024}\n" },
	{ "proxy.buffers_per_socket", "proxy: {buffers_per_socket: 2}\n" },
	{ "policy", "policy: [{match: 10.0.0.0/8, action: deny}]\n" },
	{ "endpoints", "endpoints: [{match: 10.0.0.1:80, alternates: [10.0.0.2:80]}]\n" },
	{ "routes", "routes: [{name: r, match: [10.0.3.0/24], protocol: h2c, peers: [10.0.1.2:15008]}]\n" },
	{ "tunnel_access", "tunnel_access: [{match: 10.0.3.0/24, action: deny}]\n" },
	{ "tls.cert", "tls: {cert: /etc/hermes/tls/a.crt, key: /etc/hermes/tls/host.key, ca: /etc/hermes/tls/ca.crt}\n" },
	{ "tls.key", "tls: {cert: /etc/hermes/tls/host.crt, key: /etc/hermes/tls/a.key, ca: /etc/hermes/tls/ca.crt}\n" },
	{ "tls.ca", "tls: {cert: /etc/hermes/tls/host.crt, key: /etc/hermes/tls/host.key, ca: /etc/hermes/tls/a.crt}\n" },
	{ "tls.ciphersuites", "tls: {cert: /etc/hermes/tls/host.crt, key: /etc/hermes/tls/host.key, "
	  "ca: /etc/hermes/tls/ca.crt, ciphersuites: TLS_AES_256_GCM_SHA384}\n" },
	{ "tunnel.h2_max_streams", "tunnel: {h2_max_streams: 7}\n" },
	{ "tunnel.h2_pool_mbps", "tunnel: {h2_pool_mbps: 100}\n" },
	{ "tunnel.h2_stream_window_bytes", "tunnel: {h2_stream_window_bytes: 1048576}\n" },
	{ "tunnel.h2_conn_window_bytes", "tunnel: {h2_conn_window_bytes: 16777216}\n" },
	{ "tunnel.post_path", "tunnel: {post_path: /elsewhere}\n" },
	{ "tunnel.allow_cleartext", "tunnel: {allow_cleartext: true}\n" },
	{ "tunnel.max_hops", "tunnel: {max_hops: 3}\n" },
	{ "tunnel.optimistic_data", "tunnel: {optimistic_data: false}\n" },
	{ "tunnel.udp_max_datagram_bytes", "tunnel: {udp_max_datagram_bytes: 9000}\n" },
	{ "tunnel.udp_idle_timeout_ms", "tunnel: {udp_idle_timeout_ms: 5000}\n" },
	{ "tunnel.stream_buffer_bytes", "tunnel: {stream_buffer_bytes: 65536}\n" },
	{ "tunnel.conn_buffer_bytes", "tunnel: {conn_buffer_bytes: 1048576}\n" },
	{ "tunnel.total_buffer_mb", "tunnel: {total_buffer_mb: 64}\n" },
	{ "tunnel.client_connects_per_second", "tunnel: {client_connects_per_second: 10}\n" },
	{ "tunnel.client_resets_per_second", "tunnel: {client_resets_per_second: 10}\n" },
	{ "tunnel.max_client_connections", "tunnel: {max_client_connections: 4}\n" },
	{ "tunnel.head_timeout_ms", "tunnel: {head_timeout_ms: 1000}\n" },
	{ "listeners.admin_timeout_ms", "listeners: {admin_timeout_ms: 1000}\n" },
	{ "tunnel.stream_fd_headroom_percent", "tunnel: {stream_fd_headroom_percent: 30}\n" },
	{ "inbound", "inbound: {}\n" },
	{ "inbound.listen", "inbound: {listen: 0.0.0.0:15007}\n" },
	{ "inbound.listen6", "inbound: {listen6: \"[::]:15006\"}\n" },
	{ "inbound.protect", "inbound: {protect: [80]}\n" },
	{ "inbound.allow_from", "inbound: {allow_from: [10.0.1.0/24]}\n" },
	{ "inbound.allow_init_netns", "inbound: {allow_init_netns: true}\n" },
	{ "http.max_head_bytes", "http: {max_head_bytes: 8192}\n" },
	{ "http.max_line_bytes", "http: {max_line_bytes: 4096}\n" },
	{ "http.max_headers", "http: {max_headers: 32}\n" },
	{ "http.max_idle", "http: {max_idle: 8}\n" },
	{ "http.pool_idle_timeout_ms", "http: {pool_idle_timeout_ms: 1000}\n" },
	{ "http.keepalive_timeout_ms", "http: {keepalive_timeout_ms: 1000}\n" },
	{ "http.head_timeout_ms", "http: {head_timeout_ms: 1000}\n" },
	{ "http.unhealthy_ms", "http: {unhealthy_ms: 100}\n" },
	{ "http.via", "http: {via: false}\n" },
	{ "http.retry", "http: {retry: {num_retries: 2}}\n" },
	{ "http_routes", "http_routes: [{name: a, endpoints: [10.0.0.1:80]}]\n" },
	{ "http2.max_header_list_bytes", "http2: {max_header_list_bytes: 4096}\n" },
	{ "http2.max_header_fields", "http2: {max_header_fields: 16}\n" },
	{ "http2.max_continuations", "http2: {max_continuations: 2}\n" },
	{ "http2.max_concurrent_streams", "http2: {max_concurrent_streams: 10}\n" },
	{ "http2.reset_burst", "http2: {reset_burst: 10}\n" },
	{ "http2.reset_rate", "http2: {reset_rate: 5}\n" },
	{ "http2.max_pending_acks", "http2: {max_pending_acks: 100}\n" },
	{ "http2.idle_timeout_ms", "http2: {idle_timeout_ms: 5000}\n" },
	{ "outlier.consecutive_failures", "outlier: {consecutive_failures: 5}\n" },
	{ "outlier.base_ejection_ms", "outlier: {base_ejection_ms: 1000}\n" },
	{ "outlier.max_ejection_ms", "outlier: {max_ejection_ms: 60000}\n" },
	{ "outlier.http_5xx", "outlier: {http_5xx: true}\n" },
	{ "overload.max_buffer_mb", "overload: {max_buffer_mb: 64}\n" },
	{ "overload.stop_reading_percent", "overload: {stop_reading_percent: 50}\n" },
	{ "overload.refuse_streams_percent", "overload: {refuse_streams_percent: 95}\n" },
	{ "overload.refuse_connections_percent", "overload: {refuse_connections_percent: 99}\n" },
	{ "overload.hysteresis_percent", "overload: {hysteresis_percent: 10}\n" },
	{ "udp.relay", "udp: {relay: false}\n" },
	{ "udp.ipv6", "udp: {ipv6: false}\n" },
	{ "udp.kernel_path", "udp: {kernel_path: true}\n" },
	{ "udp.idle_timeout_ms", "udp: {idle_timeout_ms: 5000}\n" },
	{ "udp.max_flows", "udp: {max_flows: 10}\n" },
	{ "udp.max_datagram", "udp: {max_datagram: 1500}\n" },
	{ "udp.tunnel_queue_bytes", "udp: {tunnel_queue_bytes: 65536}\n" },
	{ "cache.enabled", "cache: {enabled: true}\n" },
	{ "cache.max_size_mb", "cache: {max_size_mb: 8}\n" },
	{ "cache.max_object_kb", "cache: {max_object_kb: 64}\n" },
	{ "etcd.endpoints", "etcd: {endpoints: [http://127.0.0.1:2379], prefix: /hermes/t, node: a}\n" },
	{ "etcd.prefix", "etcd: {endpoints: [http://127.0.0.1:2379], prefix: /hermes/u, node: a}\n" },
	{ "etcd.node", "etcd: {endpoints: [http://127.0.0.1:2379], prefix: /hermes/t, node: b}\n" },
	{ "etcd.cert", "etcd: {cert: /etc/hermes/etcd.pem}\n" },
	{ "etcd.key", "etcd: {key: /etc/hermes/etcd.key}\n" },
	{ "etcd.ca", "etcd: {ca: /etc/hermes/etcd-ca.pem}\n" },
	{ "etcd.state_file", "etcd: {state_file: /var/lib/hermes/etcd.yaml}\n" },
	{ "cache.fill_stall_ms", "cache: {fill_stall_ms: 500}\n" },
	{ "cache.disk_path", "cache: {disk_path: /var/cache/hermes}\n" },
	{ "cache.disk_max_size_mb", "cache: {disk_max_size_mb: 10}\n" },
};

#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

/* Loads YAML text from an anonymous memory file (no temporary file to clean up). */
static int load_yaml(const char *text, struct hermes_config *cfg)
{
	char path[64], err[512];
	size_t len = strlen(text);
	int fd = memfd_create("hermes-test-reload", MFD_CLOEXEC), ret;

	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror("memfd");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = config_load(path, cfg, err, sizeof(err));
	if (ret)
		fprintf(stderr, "  cannot load \"%s\": %s\n", text, err);
	close(fd);
	return ret;
}

/* The effective configuration as --check --print writes it, without its first line
 * (which names the source file). The caller frees it. */
static char *printed(const struct hermes_config *cfg)
{
	char *buf = NULL, *body;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		exit(1);
	config_print(cfg, f);
	fclose(f);
	body = strchr(buf, '\n');
	body = strdup(body ? body + 1 : "");
	free(buf);
	return body;
}

/* Is key one of the items of the comma-separated list? */
static bool listed(const char *list, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = list; (p = strstr(p, key)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

static const struct sample *sample_of(const char *key)
{
	for (size_t i = 0; i < N_SAMPLES; i++)
		if (!strcmp(samples[i].key, key))
			return &samples[i];
	return NULL;
}

struct cover {
	int keys, marked, missing;
};

static void cover_key(const char *qname, enum cfg_apply apply, bool section, void *arg)
{
	struct cover *c = arg;

	c->keys++;
	/* a section may go unmarked (its keys carry the marks); nothing else may */
	if (!section)
		ASSERT_TRUE(apply == CFG_APPLY_RELOAD || apply == CFG_APPLY_RESTART,
			    "key %s has no reload/restart mark in its key table", qname);
	if (apply == CFG_APPLY_NONE)
		return;
	c->marked++;
	if (!ASSERT_TRUE(sample_of(qname) != NULL, "key %s has no sample in test_config_reload.c", qname))
		c->missing++;
}

/* Every key the loader takes has a mark and a sample here; every sample names a key. */
static bool test_samples_cover(void)
{
	struct cover c = { 0 };
	int before = check_failures;

	config_keys(cover_key, &c);
	ASSERT_TRUE(c.keys >= 50, "config_keys names every key (got %d)", c.keys);
	ASSERT_EQ(c.marked, (int)N_SAMPLES, "marked keys = samples");
	for (size_t i = 0; i < N_SAMPLES; i++)
		ASSERT_TRUE(config_key_apply(samples[i].key) > 0, "sample %s names a marked key of the loader",
			    samples[i].key);
	ASSERT_EQ(config_key_apply("tunnel.post_path"), CFG_APPLY_RELOAD, "tunnel.post_path reloads");
	ASSERT_EQ(config_key_apply("tunnel.h2_max_streams"), CFG_APPLY_RELOAD, "tunnel.h2_max_streams reloads");
	ASSERT_EQ(config_key_apply("listeners.admin"), CFG_APPLY_RESTART, "listeners.admin is restart-only");
	ASSERT_EQ(config_key_apply("proxy"), CFG_APPLY_NONE, "a section has no mark of its own");
	ASSERT_EQ(config_key_apply("tunnel.nope"), -ENOENT, "an unknown key");
	ASSERT_EQ(config_key_apply("policy.match"), -ENOENT, "a list entry's key belongs to its list");
	return check_failures == before;
}

/* Each sample, loaded as a reload over a running config of defaults: a RELOAD key's new
 * value is what the merged config holds, a RESTART key's is not (the merged config prints
 * exactly as the running one) and the report names it. */
static bool test_each_key(const struct sample *s)
{
	static struct hermes_config run, next;
	struct cfg_reload_report rep;
	int apply = config_key_apply(s->key);
	char *before, *file, *after;
	bool ok = true;

	if (load_yaml("", &run) || load_yaml(s->yaml, &next))
		return false;
	ok &= ASSERT_TRUE(config_key_line(&next, s->key) > 0, "the sample sets %s", s->key);
	before = printed(&run);
	file = printed(&next);
	ok &= ASSERT_TRUE(strcmp(before, file) != 0, "the sample of %s is not the default", s->key);
	config_reload_merge(&run, &next, &rep);
	after = printed(&next);
	if (apply == CFG_APPLY_RELOAD) {
		ok &= ASSERT_STREQ(after, file, "a reload applies the new value of the reload key");
		ok &= ASSERT_EQ(rep.n_restart, 0, "nothing waits for a restart");
	} else {
		ok &= ASSERT_STREQ(after, before, "a reload keeps the running value of the restart-only key");
		ok &= ASSERT_TRUE(listed(rep.restart, s->key), "the report names %s (got \"%s\")", s->key,
				  rep.restart);
	}
	ok &= ASSERT_EQ(rep.n_cmdline, 0, "no command-line option involved");
	free(before);
	free(file);
	free(after);
	config_free(&run);
	config_free(&next);
	return ok;
}

/* A file reloaded unchanged reports nothing, whatever it sets. */
static bool test_unchanged(void)
{
	static const char yaml[] = "cgroup: /sys/fs/cgroup/x\nmark: 9\ntc_interfaces: [lo, eth0]\n"
				   "listeners: {admin: off, tunnel: 127.0.0.1:15008}\n"
				   "inbound: {protect: [80, 443], allow_from: [10.0.0.0/8]}\n"
				   "http: {max_head_bytes: 4096}\nproxy: {relay: splice}\n";
	static struct hermes_config run, next;
	struct cfg_reload_report rep;
	bool ok = true;

	if (load_yaml(yaml, &run) || load_yaml(yaml, &next))
		return false;
	config_reload_merge(&run, &next, &rep);
	ok &= ASSERT_EQ(rep.n_restart, 0, "no restart-only key changed");
	ok &= ASSERT_STREQ(rep.restart, "", "empty list");
	ok &= ASSERT_EQ(rep.n_cmdline, 0, "no command-line key");
	config_free(&run);
	config_free(&next);
	return ok;
}

/* What an option set stays over the file, at this reload and the next (the mark is
 * carried into the new config), whether the key reloads or not; without a change in
 * the file nothing is reported. */
static bool test_cmdline(void)
{
	static struct hermes_config run, next;
	struct cfg_reload_report rep;
	struct cfg_sockaddr admin;
	bool ok = true;

	if (load_yaml("log_level: info\n", &run) ||
	    load_yaml("log_level: warn\nlisteners: {admin: 127.0.0.1:15099}\nmark: 5\n", &next))
		return false;
	run.log_level = LOG_DEBUG; /* as main.c does for --log-level debug */
	config_key_overridden(&run, "log_level");
	admin = run.admin;
	config_key_overridden(&run, "listeners.admin");
	config_reload_merge(&run, &next, &rep);
	ok &= ASSERT_EQ(next.log_level, LOG_DEBUG, "--log-level holds over the file's log_level");
	ok &= ASSERT_EQ(config_key_line(&next, "log_level"), -1, "and holds at the next reload");
	/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): padding can only make equal addresses differ (a reported failure), never hide a difference */
	ok &= ASSERT_TRUE(!memcmp(&next.admin, &admin, sizeof(admin)), "--admin holds over the file");
	ok &= ASSERT_EQ(next.mark, run.mark, "mark (restart-only) keeps its running value");
	ok &= ASSERT_STREQ(rep.cmdline, "log_level, listeners.admin", "the option-held keys the file changed");
	ok &= ASSERT_EQ(rep.n_cmdline, 2, "two of them");
	ok &= ASSERT_STREQ(rep.restart, "mark", "an option-held key is not reported as restart-only");
	config_free(&next);

	/* the file agrees with the option: nothing to say */
	if (load_yaml("log_level: debug\n", &next))
		return false;
	config_reload_merge(&run, &next, &rep);
	ok &= ASSERT_EQ(rep.n_cmdline, 0, "the file's value equals the option's");
	config_free(&run);
	config_free(&next);
	return ok;
}

int main(void)
{
	RUN(test_samples_cover);
	for (size_t i = 0; i < N_SAMPLES; i++)
		RUN_TEST(test_each_key(&samples[i]), "%s %s", samples[i].key,
			 config_key_apply(samples[i].key) == CFG_APPLY_RESTART ? "restart" : "reload");
	RUN(test_unchanged);
	RUN(test_cmdline);
	return check_summary("test_config_reload");
}
