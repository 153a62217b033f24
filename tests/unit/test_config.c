/* test_config.c: unit test of hermesd's YAML configuration (userspace/config.c):
 * the embedded defaults, a file setting every key, etc/hermes.yaml (as shipped and with
 * its commented examples uncommented),
 * config_find_endpoints, and one bad file per error class, each of which must give
 * -EINVAL with a message "FILE:LINE:COL: ..." naming the right line and key.
 * Needs no privilege. Exit 0 pass, 1 fail. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "check.h"
#include "config.h"
#include "config_same.h"

/* Writes text to a fresh /tmp file, loads it, removes it. path receives the name
 * (for comparing against the message). */
static int load_text(const char *text, struct hermes_config *cfg, char *path, size_t pathlen,
		     char *err, size_t errlen)
{
	char tmpl[] = "/tmp/hermes-test-config-XXXXXX";
	size_t len = strlen(text);
	int fd, ret;

	fd = mkstemp(tmpl);
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	if (write(fd, text, len) != (ssize_t)len) {
		perror("write");
		exit(1);
	}
	close(fd);
	snprintf(path, pathlen, "%s", tmpl);
	ret = config_load(tmpl, cfg, err, errlen);
	unlink(tmpl);
	return ret;
}

static bool sockaddr_is(const struct cfg_sockaddr *a, const char *want, const char *what,
			int line)
{
	char buf[ADDR_STRLEN];

	if (!a->len)
		return check_str_at("(off)", want, __FILE__, line, what);
	return check_str_at(addr_fmt((const struct sockaddr *)&a->ss, buf, sizeof(buf)), want, __FILE__, line, what);
}
#define ASSERT_ADDR(a, want, what) sockaddr_is(a, want, what, __LINE__)

/* The first cgroup2 mount point, parsed independently of config.c. */
static void cgroup2_root(char *buf, size_t len)
{
	char dev[256], dir[4096], type[64];
	FILE *f = fopen("/proc/self/mounts", "r");

	buf[0] = 0;
	if (!f)
		return;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			break;
		}
	}
	fclose(f);
}

static bool is_defaults(const struct hermes_config *cfg, const char *source)
{
	char cg[4096];
	int before = check_failures;

	cgroup2_root(cg, sizeof(cg));
	ASSERT_STREQ(cfg->source, source, "source");
	ASSERT_STREQ(cfg->cgroup, cg, "cgroup = first cgroup2 mount");
	ASSERT_STREQ(cfg->pin_root, "/sys/fs/bpf/hermes", "pin_root");
	ASSERT_STREQ(cfg->user, "", "user");
	ASSERT_EQ(cfg->log_level, LOG_INFO, "log_level");
	ASSERT_ADDR(&cfg->listen, "127.0.0.1:15001", "listen");
	ASSERT_ADDR(&cfg->listen6, "[::1]:15001", "listen6");
	ASSERT_ADDR(&cfg->admin, "127.0.0.1:15000", "admin");
	ASSERT_EQ(cfg->mark, 0x484d, "mark");
	ASSERT_EQ(cfg->mark, 18509, "mark (decimal)");
	ASSERT_EQ(cfg->connect_timeout_ms, 3000, "connect_timeout_ms");
	ASSERT_EQ(cfg->connect_attempts, 3, "connect_attempts");
	ASSERT_EQ(cfg->backoff_base_ms, 25, "backoff_base_ms");
	ASSERT_EQ(cfg->backoff_max_ms, 1000, "backoff_max_ms");
	ASSERT_EQ(cfg->idle_timeout_ms, 3600000, "idle_timeout_ms");
	ASSERT_EQ(cfg->outlier.consecutive_failures, 3, "outlier.consecutive_failures");
	ASSERT_EQ(cfg->outlier.base_ejection_ms, 10000, "outlier.base_ejection_ms");
	ASSERT_EQ(cfg->outlier.max_ejection_ms, 300000, "outlier.max_ejection_ms");
	ASSERT_EQ(cfg->outlier.http_5xx, false, "outlier.http_5xx");
	ASSERT_EQ(cfg->drain_timeout_ms, 5000, "drain_timeout_ms");
	ASSERT_EQ(cfg->relay, RELAY_AUTO, "relay");
	ASSERT_EQ(cfg->sk_msg, false, "sk_msg");
	ASSERT_EQ(cfg->relay_buffers, 8192, "relay_buffers");
	ASSERT_EQ(cfg->buffers_per_socket, 8, "buffers_per_socket");
	ASSERT_EQ(cfg->detach_on_exit, false, "detach_on_exit (links outlive hermesd)");
	ASSERT_EQ(cfg->log_format, LOG_FMT_AUTO, "log_format");
	ASSERT_EQ(cfg->log_bpf, LOG_WARN, "log_bpf");
	ASSERT_STREQ(cfg->access_log, "stderr", "access_log");
	ASSERT_EQ(cfg->n_rules, 0, "n_rules");
	ASSERT_TRUE(cfg->rules == NULL, "rules == NULL");
	ASSERT_EQ(cfg->n_endpoints, 0, "n_endpoints");
	ASSERT_TRUE(cfg->endpoints == NULL, "endpoints == NULL");
	return check_failures == before;
}

static bool test_defaults(void)
{
	struct hermes_config cfg;
	char path[64], err[512];
	int ret;
	bool ok;

	config_defaults(&cfg);
	ok = is_defaults(&cfg, "<embedded default>");

	/* empty, comment-only and bare "---" files are the defaults */
	static const char *const empties[] = { "", "# nothing here\n\n", "---\n", "---\n...\n" };
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		ret = load_text(empties[i], &cfg, path, sizeof(path), err, sizeof(err));
		ok &= ASSERT_EQ(ret, 0, "empty file loads");
		if (ret)
			fprintf(stderr, "  message: %s\n", err);
		ok &= is_defaults(&cfg, path);
		config_free(&cfg);
	}

	/* a missing file: -ENOENT and the file named */
	ret = config_load("/nonexistent/hermes.yaml", &cfg, err, sizeof(err));
	ok &= ASSERT_EQ(ret, -ENOENT, "missing file");
	ok &= ASSERT_HAS(err, "/nonexistent/hermes.yaml", "missing file message");
	ret = config_load("/tmp", &cfg, err, sizeof(err));
	ok &= ASSERT_EQ(ret, -EISDIR, "directory");
	config_free(&cfg);
	config_free(&cfg); /* twice is harmless */
	return ok;
}

static const char full_yaml[] =
	"# every key\n"
	"cgroup: /sys/fs/cgroup/unified/myapps\n"
	"pin_root: /sys/fs/bpf/hermes-test\n"
	"log_level: debug\n"
	"user: nobody\n"
	"mark: 0x1234abcd\n"
	"listeners:\n"
	"  outbound: 127.0.0.2:16001\n"
	"  outbound6: \"[::1]:16001\"\n"
	"  admin: \"[::1]:16000\"\n"
	"proxy:\n"
	"  connect_timeout_ms: 1500\n"
	"  connect_attempts: 5\n"
	"  backoff_base_ms: 10\n"
	"  backoff_max_ms: 2000\n"
	"  idle_timeout_ms: 60000\n"
	"  drain_timeout_ms: 0\n"
	"  relay: splice\n"
	"policy:\n"
	"  - match: 10.0.2.0/24:80\n"                 /* line 20 */
	"    action: proxy\n"
	"  - {match: 10.0.0.0/8, action: deny}\n"     /* line 22 */
	"  - match: \"[fd00::/64]:443\"\n"            /* line 23 */
	"    action: pass\n"
	"  - match: 10.0.3.0/24\n"                    /* line 25: differs only by prefix */
	"    action: proxy\n"
	"endpoints:\n"
	"  - match: 10.0.2.2:80\n"                    /* line 28 */
	"    alternates: [10.0.2.3:80, \"[fd00::3]:80\"]\n"
	"  - match: \"[fd00::2]:443\"\n"              /* line 30 */
	"    alternates:\n"
	"      - \"[fd00::4]:443\"\n";

/* protocol: a rule is TCP unless it says udp; both makes a UDP twin of the TCP rule; a
 * udp and a tcp rule of the same match are two rules. */
static bool test_rule_protocol(void)
{
	static const char *yaml = "policy:\n"
		"  - {match: 10.0.1.0/24, action: deny}\n"
		"  - {match: 10.0.2.0/24, action: proxy, protocol: both}\n"
		"  - {match: 10.0.3.0/24, action: pass, protocol: udp}\n"
		"  - {match: 10.0.3.0/24, action: deny, protocol: tcp}\n";
	struct hermes_config cfg;
	char path[64], err[512];
	bool ok = true;

	if (!ASSERT_EQ(load_text(yaml, &cfg, path, sizeof(path), err, sizeof(err)), 0, "protocol rules load")) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	if (ASSERT_EQ(cfg.n_rules, 5, "a both rule is two entries")) {
		ok &= ASSERT_EQ(cfg.rules[0].key.proto, HERMES_PROTO_TCP, "no protocol: tcp");
		ok &= ASSERT_EQ(cfg.rules[1].key.proto, HERMES_PROTO_TCP, "both: the tcp entry in place");
		ok &= ASSERT_EQ(cfg.rules[2].key.proto, HERMES_PROTO_UDP, "udp");
		ok &= ASSERT_EQ(cfg.rules[3].key.proto, HERMES_PROTO_TCP, "tcp");
		ok &= ASSERT_EQ(cfg.rules[4].key.proto, HERMES_PROTO_UDP, "both: the udp twin at the end");
		ok &= ASSERT_EQ(cfg.rules[4].val.action, HERMES_ACT_PROXY, "the twin's action");
		ok &= ASSERT_EQ(cfg.rules[4].key.prefixlen, cfg.rules[1].key.prefixlen, "the twin's match");
	}
	config_free(&cfg);
	unlink(path);
	return ok;
}

static bool test_full(void)
{
	const struct cfg_endpoint_set *set;
	struct hermes_config cfg;
	struct cfg_sockaddr dst;
	char path[64], err[512];
	struct in6_addr fd00;
	bool ok = true;
	int ret;

	ret = load_text(full_yaml, &cfg, path, sizeof(path), err, sizeof(err));
	if (!ASSERT_EQ(ret, 0, "full file loads")) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	ok &= ASSERT_STREQ(cfg.source, path, "source");
	ok &= ASSERT_STREQ(cfg.cgroup, "/sys/fs/cgroup/unified/myapps", "cgroup");
	ok &= ASSERT_STREQ(cfg.pin_root, "/sys/fs/bpf/hermes-test", "pin_root");
	ok &= ASSERT_EQ(cfg.log_level, LOG_DEBUG, "log_level");
	ok &= ASSERT_STREQ(cfg.user, "nobody", "user");
	ok &= ASSERT_EQ(cfg.mark, 0x1234abcd, "mark");
	ok &= ASSERT_ADDR(&cfg.listen, "127.0.0.2:16001", "listen");
	ok &= ASSERT_ADDR(&cfg.listen6, "[::1]:16001", "listen6");
	ok &= ASSERT_ADDR(&cfg.admin, "[::1]:16000", "admin");
	ok &= ASSERT_EQ(cfg.connect_timeout_ms, 1500, "connect_timeout_ms");
	ok &= ASSERT_EQ(cfg.connect_attempts, 5, "connect_attempts");
	ok &= ASSERT_EQ(cfg.backoff_base_ms, 10, "backoff_base_ms");
	ok &= ASSERT_EQ(cfg.backoff_max_ms, 2000, "backoff_max_ms");
	ok &= ASSERT_EQ(cfg.idle_timeout_ms, 60000, "idle_timeout_ms");
	ok &= ASSERT_EQ(cfg.drain_timeout_ms, 0, "drain_timeout_ms");
	ok &= ASSERT_EQ(cfg.relay, RELAY_SPLICE, "relay");

	if (ASSERT_EQ(cfg.n_rules, 4, "n_rules")) {
		const struct cfg_rule *r = cfg.rules;

		ok &= ASSERT_EQ(r[0].key.family, HERMES_FAMILY_V4, "rule 0 family");
		ok &= ASSERT_EQ(r[0].key.prefixlen, HERMES_POLICY_PREFIX_BASE + 24, "rule 0 prefixlen");
		ok &= ASSERT_EQ(ntohs(r[0].key.port), 80, "rule 0 port");
		ok &= ASSERT_TRUE(!memcmp(r[0].key.addr, "\x0a\x00\x02\x00", 4), "rule 0 addr 10.0.2.0");
		ok &= ASSERT_EQ(r[0].val.action, HERMES_ACT_PROXY, "rule 0 action");
		ok &= ASSERT_EQ(r[0].val.origin, HERMES_ORIGIN_CONFIG, "rule 0 origin");
		ok &= ASSERT_EQ(r[0].val.route_id, 0, "rule 0 route_id");
		ok &= ASSERT_EQ(r[0].line, 20, "rule 0 line");

		ok &= ASSERT_EQ(r[1].key.prefixlen, HERMES_POLICY_PREFIX_BASE + 8, "rule 1 prefixlen");
		ok &= ASSERT_EQ(r[1].key.port, 0, "rule 1 any port");
		ok &= ASSERT_EQ(r[1].val.action, HERMES_ACT_DENY, "rule 1 action");
		ok &= ASSERT_EQ(r[1].val.origin, HERMES_ORIGIN_CONFIG, "rule 1 origin");
		ok &= ASSERT_EQ(r[1].line, 22, "rule 1 line (flow mapping)");

		/* the IPv6 rule */
		inet_pton(AF_INET6, "fd00::", &fd00);
		ok &= ASSERT_EQ(r[2].key.family, HERMES_FAMILY_V6, "rule 2 family");
		ok &= ASSERT_EQ(r[2].key.prefixlen, HERMES_POLICY_PREFIX_BASE + 64, "rule 2 prefixlen");
		ok &= ASSERT_EQ(ntohs(r[2].key.port), 443, "rule 2 port");
		ok &= ASSERT_TRUE(!memcmp(r[2].key.addr, &fd00, 16), "rule 2 addr fd00::");
		ok &= ASSERT_EQ(r[2].val.action, HERMES_ACT_PASS, "rule 2 action");
		ok &= ASSERT_EQ(r[2].line, 23, "rule 2 line");

		ok &= ASSERT_EQ(r[3].val.action, HERMES_ACT_PROXY, "rule 3 action");
		ok &= ASSERT_EQ(r[3].line, 25, "rule 3 line");
	} else {
		ok = false;
	}

	if (ASSERT_EQ(cfg.n_endpoints, 2, "n_endpoints")) {
		const struct cfg_endpoint_set *e = cfg.endpoints;

		ok &= ASSERT_ADDR(&e[0].match, "10.0.2.2:80", "endpoint 0 match");
		ok &= ASSERT_EQ(e[0].n_alternates, 2, "endpoint 0 n_alternates");
		ok &= ASSERT_ADDR(&e[0].alternates[0], "10.0.2.3:80", "endpoint 0 alternate 0");
		ok &= ASSERT_ADDR(&e[0].alternates[1], "[fd00::3]:80", "endpoint 0 alternate 1");
		ok &= ASSERT_EQ(e[0].line, 28, "endpoint 0 line");
		ok &= ASSERT_ADDR(&e[1].match, "[fd00::2]:443", "endpoint 1 match");
		ok &= ASSERT_EQ(e[1].n_alternates, 1, "endpoint 1 n_alternates");
		ok &= ASSERT_ADDR(&e[1].alternates[0], "[fd00::4]:443", "endpoint 1 alternate 0");
		ok &= ASSERT_EQ(e[1].line, 30, "endpoint 1 line");
	} else {
		ok = false;
	}

	/* config_find_endpoints: exact address and port */
	static const struct {
		const char *dst;
		int want; /* index into cfg.endpoints, -1 = none */
	} finds[] = {
		{ "10.0.2.2:80", 0 },
		{ "[::ffff:10.0.2.2]:80", 0 }, /* v4-mapped is the same destination */
		{ "10.0.2.2:81", -1 },
		{ "10.0.2.3:80", -1 },
		{ "[fd00::2]:443", 1 },
		{ "[fd00::2]:80", -1 },
		{ "[fd00::3]:443", -1 },
	};
	for (size_t i = 0; cfg.n_endpoints == 2 && i < sizeof(finds) / sizeof(finds[0]); i++) {
		if (addr_parse(finds[i].dst, &dst)) {
			ok &= ASSERT_TRUE(false, "test address parses");
			continue;
		}
		set = config_find_endpoints(&cfg, (struct sockaddr *)&dst.ss);
		ok &= ASSERT_TRUE(finds[i].want < 0 ? set == NULL : set == &cfg.endpoints[finds[i].want],
				  "config_find_endpoints(%s)", finds[i].dst);
	}
	config_free(&cfg);
	ok &= ASSERT_TRUE(cfg.rules == NULL && cfg.n_rules == 0, "config_free clears rules");
	ok &= ASSERT_TRUE(cfg.endpoints == NULL && cfg.n_endpoints == 0,
			  "config_free clears endpoints");
	addr_parse("10.0.2.2:80", &dst);
	ok &= ASSERT_TRUE(config_find_endpoints(&cfg, (struct sockaddr *)&dst.ss) == NULL,
			  "config_find_endpoints on empty config");
	return ok;
}

/* Smaller good files: alternative spellings. */
static bool test_variants(void)
{
	static const struct {
		const char *yaml;
		uint32_t mark;
		bool listen6_off, admin_off;
		enum relay_engine relay;
		bool sk_msg;
	} cases[] = {
		{ "mark: 18509\nlisteners:\n  outbound6: off\n", 18509, true, false, RELAY_AUTO, false },
		{ "mark: 9\nproxy:\n  relay: auto\n  sk_msg: off\n", 9, false, false, RELAY_AUTO, false },
		{ "mark: 9\nproxy:\n  relay: uring\n  sk_msg: false\n", 9, false, false, RELAY_URING, false },
		{ "mark: 9\nproxy:\n  sk_msg: yes\n", 9, false, false, RELAY_AUTO, true },
		{ "mark: 0xFFFFFFFF\nlisteners:\n  admin: off\n", 0xffffffff, false, true, RELAY_AUTO, false },
		{ "mark: 1\npolicy:\nendpoints: ~\nlisteners:\nproxy:\n", 1, false, false, RELAY_AUTO, false },
		{ "mark: \"42\"\n", 42, false, false, RELAY_AUTO, false },
		{ "{mark: 7, listeners: {outbound6: off, admin: off}}\n", 7, true, true, RELAY_AUTO, false },
	};
	struct hermes_config cfg;
	char path[64], err[512];
	bool ok = true;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = load_text(cases[i].yaml, &cfg, path, sizeof(path), err, sizeof(err));

		if (!ASSERT_EQ(ret, 0, cases[i].yaml)) {
			fprintf(stderr, "  message: %s\n", err);
			ok = false;
			continue;
		}
		ok &= ASSERT_EQ(cfg.mark, cases[i].mark, "mark");
		ok &= ASSERT_EQ(cfg.listen6.len == 0, cases[i].listen6_off, "outbound6 off");
		ok &= ASSERT_EQ(cfg.admin.len == 0, cases[i].admin_off, "admin off");
		ok &= ASSERT_EQ(cfg.listen.len != 0, 1, "outbound stays on");
		ok &= ASSERT_EQ(cfg.relay, cases[i].relay, "relay");
		ok &= ASSERT_EQ(cfg.sk_msg, cases[i].sk_msg, "sk_msg");
		config_free(&cfg);
	}
	return ok;
}

/* detach_on_exit: off by default (is_defaults), on when the file says so. */
static bool test_detach_on_exit(void)
{
	struct hermes_config cfg;
	char path[64], err[512];
	bool ok = true;
	int ret;

	ret = load_text("detach_on_exit: true\n", &cfg, path, sizeof(path), err, sizeof(err));
	ok &= ASSERT_EQ(ret, 0, "detach_on_exit: true loads");
	ok &= ASSERT_EQ(cfg.detach_on_exit, true, "detach_on_exit: true");
	config_free(&cfg);
	ret = load_text("detach_on_exit: off\n", &cfg, path, sizeof(path), err, sizeof(err));
	ok &= ASSERT_EQ(ret, 0, "detach_on_exit: off loads");
	ok &= ASSERT_EQ(cfg.detach_on_exit, false, "detach_on_exit: off");
	config_free(&cfg);
	return ok;
}

/* The metrics-only listener (off by default) and tunnel.allow_cleartext (false by
 * default: with tls set, the tunnel listener refuses clear text). */
static bool test_metrics_cleartext(void)
{
	struct hermes_config cfg;
	char path[64], err[512];
	bool ok = true;

	config_defaults(&cfg);
	ok &= ASSERT_EQ(cfg.metrics.len, 0, "metrics listener off by default");
	ok &= ASSERT_EQ(cfg.tunnel_allow_cleartext, false, "allow_cleartext false by default");
	if (!ASSERT_EQ(load_text("listeners: {metrics: 0.0.0.0:15020}\ntunnel: {allow_cleartext: true}\n", &cfg, path,
				 sizeof(path), err, sizeof(err)), 0, "metrics and allow_cleartext load")) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	ok &= ASSERT_ADDR(&cfg.metrics, "0.0.0.0:15020", "listeners.metrics");
	ok &= ASSERT_EQ(cfg.tunnel_allow_cleartext, true, "tunnel.allow_cleartext");
	config_free(&cfg);
	if (!ASSERT_EQ(load_text("listeners: {metrics: off}\n", &cfg, path, sizeof(path), err, sizeof(err)), 0,
		       "metrics: off loads"))
		return false;
	ok &= ASSERT_EQ(cfg.metrics.len, 0, "metrics: off");
	config_free(&cfg);
	if (ASSERT_EQ(load_text("tunnel: {allow_cleartext: maybe}\n", &cfg, path, sizeof(path), err, sizeof(err)),
		      -EINVAL, "allow_cleartext: maybe is refused"))
		ok &= ASSERT_HAS(err, "tunnel.allow_cleartext", "the message names the key");
	config_free(&cfg);
	return ok;
}

/* Each bad file must fail with -EINVAL at `line`, the message naming `key`, and
 * (if given) containing `also`; cfg must be back to the defaults. */
static const struct bad_case {
	const char *name;
	const char *yaml;
	int line;
	const char *key;
	const char *also;
} bad_cases[] = {
	{ "unknown log format", "log_level: info\nlog_format: xml\n", 2, "log_format", "expected auto, text, json" },
	{ "relative access log", "access_log: access.log\n", 1, "access_log", "absolute file path" },
	{ "unknown libbpf level", "\nlog_bpf: trace\n", 2, "log_bpf", "expected debug, info" },
	{ "unknown top-level key", "log_level: info\nlisten: 127.0.0.1:1\n", 2, "listen",
	  "expected cgroup, pin_root" },
	{ "unknown nested key", "listeners:\n  outbound: 127.0.0.1:15001\n  listn: x\n", 3,
	  "'listn' in 'listeners'", "expected outbound, outbound6, admin" },
	{ "unknown key in a rule", "policy:\n  - match: 10.0.0.0/8\n    acton: deny\n", 3,
	  "acton", "expected match, action" },
	{ "bad CIDR", "policy:\n  - match: 10.0.2.0/24\n    action: pass\n"
	  "  - match: 10.0.2.0/33\n    action: pass\n", 4, "match", "10.0.2.0/33" },
	{ "not an address", "policy:\n  - match: 10.0.2.x\n    action: pass\n", 2, "match",
	  "expected CIDR" },
	{ "port 70000", "policy:\n  - match: 10.0.2.0/24:70000\n    action: pass\n", 2, "match",
	  "70000" },
	{ "unknown action", "policy:\n  - match: 10.0.2.0/24\n    action: redirect\n", 3,
	  "action", "redirect" },
	{ "unknown protocol", "policy:\n  - match: 10.0.2.0/24\n    action: pass\n    protocol: sctp\n", 4,
	  "protocol", "expected tcp (the default), udp or both" },
	{ "http for udp", "policy:\n  - match: 10.0.2.0/24\n    action: http\n    protocol: udp\n", 3,
	  "protocol udp", "cannot apply to UDP" },
	{ "duplicate udp rule", "policy:\n  - {match: 10.0.2.0/24, action: pass, protocol: both}\n"
	  "  - {match: 10.0.2.0/24, action: deny, protocol: udp}\n", 3, "duplicate policy match", "line 2 and line 3" },
	{ "route without peers", "routes:\n  - name: r\n    match: [10.0.0.0/8]\n    peers: []\n", 4,
	  "routes", "peers" },
	{ "TLS peer without tls", "routes:\n  - {name: r, match: [10.0.0.0/8], peers: [10.0.0.1:15008]}\n", 2,
	  "route 'r': peer 10.0.0.1:15008 uses TLS", "tls" },
	{ "h2-post without path", "routes:\n  - {name: r, match: [10.0.0.0/8], peers: [{address: 10.0.0.1:1, "
	  "protocol: h2-post, tls: false}]}\n", 2, "h2-post", "path" },
	{ "bad protocol", "routes:\n  - {name: r, match: [10.0.0.0/8], protocol: h3, peers: [10.0.0.1:1]}\n", 2,
	  "routes.protocol", "h3" },
	{ "tls half given", "tls: {cert: /a.crt}\n", 0, "needs all of cert, key and ca", NULL },
	{ "unknown cipher suite", "tls: {cert: /a.crt, key: /a.key, ca: /ca.crt,\n"
	  "  ciphersuites: \"TLS_AES_128_GCM_SHA256:AES256-GCM-SHA384\"}\n", 2, "tls.ciphersuites",
	  "'AES256-GCM-SHA384' is not a TLS 1.3 cipher suite" },
	{ "empty cipher suite", "tls: {cert: /a.crt, key: /a.key, ca: /ca.crt, ciphersuites: \"TLS_AES_128_GCM_SHA256:\"}\n",
	  1, "tls.ciphersuites", "'' is not a TLS 1.3 cipher suite" },
	{ "cipher suites without tls", "tls: {ciphersuites: TLS_AES_256_GCM_SHA384}\n", 0,
	  "tls.ciphersuites is set but 'tls' has no cert", NULL },
	{ "bad route name", "routes:\n  - {name: \"a b\", match: [10.0.0.0/8], peers: [10.0.0.1:15008]}\n", 2,
	  "routes.name", "letters" },
	{ "access bad action", "tunnel_access:\n  - {match: 10.0.0.0/8, action: permit}\n", 2,
	  "tunnel_access", "allow or deny" },
	{ "access without action", "tunnel_access:\n  - {match: 10.0.0.0/8}\n", 2, "action", NULL },
	{ "inbound port 0", "inbound:\n  protect: [80, 0]\n", 2, "inbound.protect", "1..65535" },
	{ "inbound allow_from with a port", "inbound:\n  allow_from: [10.0.0.0/8:80]\n", 2,
	  "inbound.allow_from", "without port" },
	{ "inbound IPv6 listen", "inbound:\n  listen: \"[::]:15006\"\n", 2, "inbound.listen", "IPv4" },
	{ "http route without endpoints", "http_routes:\n  - {name: a}\n", 2, "endpoints", "has no" },
	{ "http bad retry_on", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80], retry: {retry_on: [5xx, teapot]}}\n",
	  2, "retry_on", "teapot" },
	{ "http bad status", "http:\n  retry: {retriable_status_codes: [600]}\n", 2, "retriable_status_codes", "100..599" },
	{ "http bad header name", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80], add_headers: {\"a b\": c}}\n", 2,
	  "add_headers", "token" },
	{ "http bad balance", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80], balance: random}\n", 2,
	  "balance", "least_request" },
	{ "http bad path_prefix", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80], match: {path_prefix: v1}}\n", 2,
	  "path_prefix", "starting with /" },
	{ "http duplicate route", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80]}\n  - {name: a, endpoints: [10.0.0.1:80]}\n",
	  3, "duplicate http route name", NULL },
	{ "http h2 without tls", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:443], upstream_protocol: h2}\n", 2,
	  "upstream_protocol h2", "'tls' section" },
	{ "http tls_name without TLS", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80], tls_name: x}\n", 2,
	  "tls_name is only for TLS upstreams", "upstream_tls" },
	{ "http upstream_tls without tls", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:443], upstream_tls: true}\n",
	  2, "upstream_tls needs", "'tls' section" },
	{ "http upstream_tls with h2c", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80], upstream_protocol: h2c, "
	  "upstream_tls: true}\n", 2, "upstream_tls: true contradicts upstream_protocol h2c", "h2 for HTTP/2 over TLS" },
	{ "http upstream_tls false with h2", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:443], upstream_protocol: h2, "
	  "upstream_tls: false}\n", 2, "upstream_tls: false contradicts upstream_protocol h2", "h2c" },
	{ "http upstream_tls not a boolean", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:443], upstream_tls: maybe}\n",
	  2, "upstream_tls", "true or false" },
	{ "http backoff", "http:\n  retry: {backoff_base_ms: 100, backoff_max_ms: 10}\n", 2, "backoff_max_ms", NULL },
	{ "outlier max < base", "outlier: {base_ejection_ms: 5000, max_ejection_ms: 100}\n", 1,
	  "max_ejection_ms (100) is less than base_ejection_ms (5000)", NULL },
	{ "outlier failures not a number", "outlier:\n  consecutive_failures: many\n", 2, "consecutive_failures",
	  "0..1000" },
	{ "hedge without per-try timeout", "http:\n  retry: {hedge_on_per_try_timeout: true}\n", 2,
	  "hedge_on_per_try_timeout needs per_try_timeout_ms", NULL },
	{ "hedge without a timeout condition", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80],\n"
	  "     retry: {retry_on: [connect-failure], per_try_timeout_ms: 100, hedge_on_per_try_timeout: true}}\n", 3,
	  "reset, 5xx or gateway-error", NULL },
	{ "hedge not a boolean", "http:\n  retry: {per_try_timeout_ms: 100, hedge_on_per_try_timeout: maybe}\n", 2,
	  "hedge_on_per_try_timeout", "true or false" },
	{ "retry unknown key", "http:\n  retry: {hedge: true}\n", 2, "hedge", "hedge_on_per_try_timeout" },
	{ "num_retries 11", "http:\n  retry: {num_retries: 11}\n", 2, "num_retries", "0..10" },
	{ "route cache not a boolean", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80], cache: maybe}\n", 2,
	  "cache", "a mapping of enabled, max_object_kb" },
	{ "route cache unknown key", "http_routes:\n  - {name: a, endpoints: [10.0.0.1:80], cache: {ttl: 5}}\n", 2,
	  "ttl", "default_ttl_s" },
	{ "route cache over the store's object limit",
	  "cache: {max_object_kb: 100}\nhttp_routes:\n  - {name: a, endpoints: [10.0.0.1:80], cache: {max_object_kb: 200}}\n",
	  3, "over the cache section's max_object_kb (100)", "at most 100" },
	{ "http max_headers 65", "http:\n  max_headers: 65\n", 2, "http.max_headers", "1..64" },
	{ "rule without action", "policy:\n  - match: 10.0.2.0/24\n    action: pass\n"
	  "  - match: 10.0.3.0/24\n", 4, "action", "has no" },
	{ "rule not a mapping", "policy:\n  - 10.0.2.0/24\n", 2, "policy", "mapping" },
	{ "policy not a list", "policy:\n  match: 10.0.2.0/24\n", 2, "policy", "list" },
	{ "duplicate rule", "policy:\n  - match: 10.0.2.0/24:80\n    action: pass\n"
	  "  - match: 10.0.0.0/8\n    action: deny\n"
	  "  - match: 10.0.2.9/24:80\n    action: proxy\n", 6, "line 2", "line 6" },
	{ "bad number", "proxy:\n  connect_timeout_ms: 12abc\n", 2, "connect_timeout_ms", "12abc" },
	/* HTTP/2 windows: at least the protocol's initial 65535, at most 2^31-1 */
	{ "h2 stream window below 65535", "tunnel:\n  h2_stream_window_bytes: 65534\n", 2,
	  "tunnel.h2_stream_window_bytes", "65535..2147483647" },
	{ "h2 stream window over 2^31-1", "tunnel:\n  h2_stream_window_bytes: 2147483648\n", 2,
	  "h2_stream_window_bytes", "65535..2147483647" },
	{ "h2 conn window not a number", "tunnel:\n  h2_conn_window_bytes: 64MiB\n", 2, "h2_conn_window_bytes",
	  "not a number" },
	{ "listener stream window over 2^31-1", "tunnel:\n  stream_buffer_bytes: 4294967295\n", 2,
	  "stream_buffer_bytes", "16384..2147483647" },
	{ "listener conn window 0", "tunnel:\n  conn_buffer_bytes: 0\n", 2, "conn_buffer_bytes",
	  "65535..2147483647" },
	{ "negative number", "proxy:\n  connect_attempts: -1\n", 2, "connect_attempts", "1..100" },
	{ "number out of range", "proxy:\n  connect_attempts: 101\n", 2, "connect_attempts",
	  "1..100" },
	{ "huge number", "proxy:\n  drain_timeout_ms: 99999999999999999999999\n", 2,
	  "drain_timeout_ms", "0..600000" },
	{ "idle below range", "proxy:\n  idle_timeout_ms: 999\n", 2, "idle_timeout_ms",
	  "1000..86400000" },
	{ "number with space junk", "proxy:\n  connect_timeout_ms: \"5 0\"\n", 2,
	  "connect_timeout_ms", NULL },
	{ "mark 0", "mark: 0\n", 1, "mark", "0x1..0xffffffff" },
	{ "mark too big", "mark: 0x100000000\n", 1, "mark", "0x1..0xffffffff" },
	{ "mark bare 0x", "mark: 0x\n", 1, "mark", NULL },
	{ "mark double prefix", "mark: 0x0x10\n", 1, "mark", NULL },
	{ "number as a list", "\n\nproxy:\n  connect_attempts: [3]\n", 4, "connect_attempts",
	  "single value" },
	{ "backoff max < base", "proxy:\n  backoff_base_ms: 500\n  backoff_max_ms: 100\n", 3,
	  "backoff_max_ms", "500" },
	{ "backoff base > default max", "proxy:\n  backoff_base_ms: 5000\n", 2, "backoff_base_ms",
	  "1000" },
	{ "bad sk_msg", "proxy:\n  sk_msg: maybe\n", 2, "proxy.sk_msg", "true or false" },
	{ "relay unknown", "proxy:\n  relay: epoll\n", 2, "relay", "uring" },
	{ "relay pool too small", "proxy:\n  relay_buffers: 8\n", 2, "proxy.relay_buffers", "16..32768" },
	{ "no buffer a socket", "proxy:\n  buffers_per_socket: 0\n", 2, "proxy.buffers_per_socket", "1..256" },
	{ "non-mapping top level", "- cgroup\n- pin_root\n", 1, "top level", "mapping" },
	{ "scalar top level", "hello\n", 1, "top level", "mapping" },
	{ "duplicate key", "mark: 1\nlog_level: info\nmark: 2\n", 3, "mark", "line 1" },
	{ "duplicate nested key", "proxy:\n  relay: uring\n  relay: uring\n", 3, "proxy.relay",
	  "line 2" },
	{ "section not a mapping", "listeners: 127.0.0.1:15001\n", 1, "listeners", "mapping" },
	{ "relative cgroup", "cgroup: sys/fs/cgroup\n", 1, "cgroup", "absolute" },
	{ "empty pin_root", "pin_root:\n", 1, "pin_root", "no value" },
	{ "bad log level", "log_level: verbose\n", 1, "log_level", "debug, info, warn or error" },
	{ "user too long", "user: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  1, "user", "63" },
	{ "outbound not IPv4", "listeners:\n  outbound: \"[::1]:15001\"\n", 2, "outbound",
	  "IPv4" },
	{ "outbound6 not IPv6", "listeners:\n  outbound6: 127.0.0.1:15001\n", 2, "outbound6",
	  "IPv6" },
	{ "admin no port", "listeners:\n  admin: 127.0.0.1\n", 2, "admin", NULL },
	{ "listener port 70000", "listeners:\n  admin: 127.0.0.1:70000\n", 2, "admin", NULL },
	{ "endpoint bad match", "endpoints:\n  - match: 10.0.2.0/24\n    alternates: [10.0.2.3:80]\n",
	  2, "match", NULL },
	{ "endpoint no alternates", "endpoints:\n  - match: 10.0.2.2:80\n    alternates: []\n",
	  3, "alternates", "1..8" },
	{ "endpoint too many alternates", "endpoints:\n  - match: 10.0.2.2:80\n    alternates: "
	  "[10.0.0.1:1, 10.0.0.1:2, 10.0.0.1:3, 10.0.0.1:4, 10.0.0.1:5, 10.0.0.1:6, 10.0.0.1:7,"
	  " 10.0.0.1:8, 10.0.0.1:9]\n", 3, "alternates", "1..8" },
	{ "endpoint bad alternate", "endpoints:\n  - match: 10.0.2.2:80\n    alternates:\n"
	  "      - 10.0.2.3:80\n      - 10.0.2.4\n", 5, "alternates", "10.0.2.4" },
	{ "endpoint missing alternates", "endpoints:\n  - match: 10.0.2.2:80\n", 2, "alternates",
	  NULL },
	{ "duplicate endpoint", "endpoints:\n  - match: 10.0.2.2:80\n    alternates: [10.0.2.3:80]\n"
	  "  - match: 10.0.2.2:80\n    alternates: [10.0.2.4:80]\n", 4, "line 2", "line 4" },
	{ "YAML syntax error", "proxy:\n  relay: uring\n   bad: [\n", 0, "YAML syntax error", NULL },
	{ "second document", "mark: 1\n---\nmark: 2\n", 3, "second YAML document", NULL },
	{ "key is a list", "[a]: 1\n", 1, "key", "one of cgroup" },
	{ "nested key is a mapping", "proxy:\n  {a: 1}: 2\n", 2, "in 'proxy'", "relay" },
	{ "detach_on_exit not a bool", "mark: 1\ndetach_on_exit: sometimes\n", 2, "detach_on_exit",
	  "true or false" },
};

static bool test_bad(const struct bad_case *bc)
{
	struct hermes_config cfg;
	char path[64], err[512], want[96];
	bool ok = true;
	int ret;

	memset(err, 'X', sizeof(err));
	ret = load_text(bc->yaml, &cfg, path, sizeof(path), err, sizeof(err));
	if (!ASSERT_EQ(ret, -EINVAL, bc->name)) {
		config_free(&cfg);
		return false;
	}
	if (bc->line)
		snprintf(want, sizeof(want), "%s:%d:", path, bc->line);
	else
		snprintf(want, sizeof(want), "%s:", path);
	ok &= ASSERT_TRUE(!strncmp(err, want, strlen(want)), "%s", bc->name);
	if (!ok)
		fprintf(stderr, "  message \"%s\" does not start with \"%s\"\n", err, want);
	ok &= ASSERT_HAS(err, bc->key, bc->name);
	if (bc->also)
		ok &= ASSERT_HAS(err, bc->also, bc->name);
	ok &= ASSERT_TRUE(!strchr(err, '\n'), "message is one line");
	/* on error, cfg is the plain defaults and owns nothing */
	ok &= ASSERT_TRUE(cfg.rules == NULL && cfg.n_rules == 0 && cfg.endpoints == NULL &&
			  cfg.n_endpoints == 0, "nothing allocated after an error");
	ok &= ASSERT_STREQ(cfg.source, "<embedded default>", "source after an error");
	if (getenv("V"))
		printf("  %-28s %s\n", bc->name, err);
	config_free(&cfg);
	return ok;
}

/* Nesting (the top-level mapping is the first level): 64 levels reach the schema's own
 * message, 65 the depth limit's (-E2BIG, as every limit of the file), and a
 * 100,000-deep file is refused at its 65th level, where the event pass stops (libyaml's
 * scanner costs the square of the depth: 2 s at 20,000 before the limit). That mark in
 * the message bounds the work done; the time is printed, not checked (a timed check
 * fails on a loaded machine). */
static bool test_depth(void)
{
	static char text[6 + 2 * 100000 + 2];
	struct hermes_config cfg;
	char err[512];
	struct timespec t0, t1;
	bool ok = true;
	size_t n;

	for (int depth = 63; depth <= 64; depth++) { /* lists inside the top-level mapping */
		n = (size_t)snprintf(text, sizeof(text), "mark: ");
		memset(text + n, '[', (size_t)depth);
		memset(text + n + depth, ']', (size_t)depth);
		n += 2 * (size_t)depth;
		ok &= ASSERT_EQ(config_load_mem("deep.yaml", text, n, &cfg, err, sizeof(err)),
				depth == 63 ? -EINVAL : -E2BIG, depth == 63 ? "64 levels refused" : "65 levels refused");
		if (depth == 63)
			ok &= ASSERT_HAS(err, "deep.yaml:1:7: ", "64 levels: the schema's message");
		else
			ok &= ASSERT_HAS(err, "deep.yaml:1:70: YAML nested more than 64 levels deep", "65 levels");
	}
	n = (size_t)snprintf(text, sizeof(text), "mark: ");
	memset(text + n, '[', 100000);
	memset(text + n + 100000, ']', 100000);
	n += 200000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok &= ASSERT_EQ(config_load_mem("deep.yaml", text, n, &cfg, err, sizeof(err)), -E2BIG, "100000 levels");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok &= ASSERT_HAS(err, "deep.yaml:1:70: YAML nested more than 64 levels deep",
			 "100000 levels: refused at the 65th level, not at the file's end");
	printf("# 100000 levels refused in %ld ms\n",
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return ok;
}

/* config_load_mem reads a buffer as config_load reads a file (no NUL needed). */
static bool test_load_mem(void)
{
	static struct hermes_config a, b;
	char path[64], err[512];
	bool ok = true;

	if (!ASSERT_EQ(load_text(full_yaml, &a, path, sizeof(path), err, sizeof(err)), 0, "full loads from a file"))
		return false;
	if (!ASSERT_EQ(config_load_mem("mem.yaml", full_yaml, strlen(full_yaml), &b, err, sizeof(err)), 0,
		       "full loads from memory")) {
		fprintf(stderr, "  message: %s\n", err);
		config_free(&a);
		return false;
	}
	ok &= ASSERT_STREQ(b.source, "mem.yaml", "source is the name given");
	ok &= ASSERT_EQ(b.n_rules, a.n_rules, "same rules");
	ok &= ASSERT_EQ(b.n_endpoints, a.n_endpoints, "same endpoints");
	ok &= ASSERT_TRUE(b.n_rules && !memcmp(a.rules, b.rules, sizeof(*a.rules) * (size_t)a.n_rules), "rules equal");
	ok &= ASSERT_EQ(b.mark, a.mark, "same mark");
	config_free(&a);
	config_free(&b);
	/* the length counts, not a NUL: "mark: 12" cut after "mark: 1" */
	ok &= ASSERT_EQ(config_load_mem("mem.yaml", "mark: 12", 7, &b, err, sizeof(err)), 0, "a cut buffer loads");
	ok &= ASSERT_EQ(b.mark, 1, "only len bytes are read");
	ok &= ASSERT_EQ(config_load_mem("mem.yaml", "bogus: 1", 8, &b, err, sizeof(err)), -EINVAL, "errors too");
	ok &= ASSERT_HAS(err, "mem.yaml:1:1: ", "the message names the buffer");
	config_free(&b);
	return ok;
}

/* A file that can be read only once (a pipe: hermesd -c /dev/stdin) loads: the depth
 * check and the load read one copy. */
static bool test_pipe(void)
{
	static struct hermes_config cfg;
	char path[64], err[512];
	bool ok = true;
	int fds[2];

	if (!ASSERT_EQ(pipe(fds), 0, "pipe"))
		return false;
	ok &= ASSERT_EQ(write(fds[1], "mark: 77\n", 9), 9, "write");
	close(fds[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	ok &= ASSERT_EQ(config_load(path, &cfg, err, sizeof(err)), 0, "a pipe loads");
	ok &= ASSERT_EQ(cfg.mark, 77, "its mark");
	close(fds[0]);
	config_free(&cfg);
	return ok;
}

/* A short error buffer truncates, never overflows; a zero-length one is allowed. */
static bool test_small_err(void)
{
	struct hermes_config cfg;
	char path[64], err[16];
	bool ok = true;

	memset(err, 'X', sizeof(err));
	ok &= ASSERT_EQ(load_text("bogus: 1\n", &cfg, path, sizeof(path), err, 8), -EINVAL,
			"short buffer");
	ok &= ASSERT_EQ(strlen(err), 7, "short buffer truncated");
	ok &= ASSERT_EQ(err[8], 'X', "short buffer not overrun");
	ok &= ASSERT_EQ(load_text("bogus: 1\n", &cfg, path, sizeof(path), NULL, 0), -EINVAL,
			"no buffer");
	return ok;
}

/* inbound: defaults when the section exists, ports and allow_from */
static bool test_inbound(void)
{
	static const char *const yaml =
		"inbound:\n"
		"  protect: [80, 8443, 80]\n"
		"  allow_from: [10.77.1.0/24, \"fd77::/16\"]\n";
	struct hermes_addr p = { .family = HERMES_FAMILY_V4, .port = 1234 };
	struct hermes_config cfg;
	char path[64], err[512];
	bool ok = true;

	config_defaults(&cfg);
	ok &= ASSERT_TRUE(!cfg.inbound.on, "inbound off by default");
	if (!ASSERT_EQ(load_text(yaml, &cfg, path, sizeof(path), err, sizeof(err)), 0, "inbound file loads")) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	ok &= ASSERT_TRUE(cfg.inbound.on, "the section turns it on");
	ok &= ASSERT_EQ(ntohs(((struct sockaddr_in *)&cfg.inbound.listen.ss)->sin_port), 15006, "default listener port");
	ok &= ASSERT_EQ(cfg.inbound.listen6.len, 0, "no IPv6 listener by default");
	ok &= ASSERT_EQ(cfg.inbound.n_protect, 2, "duplicate port folded");
	ok &= ASSERT_EQ(cfg.inbound.protect[1], 8443, "second port");
	memcpy(p.addr, "\x0a\x4d\x01\x05", 4);
	ok &= ASSERT_TRUE(config_inbound_allowed(&cfg, &p), "10.77.1.5 allowed");
	memcpy(p.addr, "\x0a\x4d\x02\x05", 4);
	ok &= ASSERT_TRUE(!config_inbound_allowed(&cfg, &p), "10.77.2.5 not allowed");
	config_free(&cfg);
	return ok;
}

/* The shipped example must load (it documents every key). */
/* routes and tunnel_access: parsing and the lookups hermesd makes with them */
static bool test_routes_access(void)
{
	static const char *const yaml =
		"routes:\n"
		"  - name: wide\n"
		"    match: [10.0.0.0/8]\n"
		"    protocol: h2c\n"
		"    peers: [10.0.1.2:15008]\n"
		"  - name: narrow\n"
		"    match: [10.0.3.0/24, \"[fd00::/64]:443\"]\n"
		"    peers:\n"
		"      - 10.0.1.3:15008\n"
		"      - {address: \"[fd00::9]:15008\", protocol: h1}\n"
		"      - {address: 10.0.1.5:15008, protocol: h1, tls: true}\n"
		"      - {address: 10.0.1.4:443, protocol: h2-post, path: /t, name: relay.example}\n"
		"tls: {cert: /etc/hermes/a.crt, key: /etc/hermes/a.key, ca: /etc/hermes/ca.crt}\n"
		"tunnel_access:\n"
		"  - {match: 10.0.3.7/32, action: deny}\n"
		"  - {match: 10.0.3.0/24:80, from: 10.0.1.0/24, comm: curl, uid: 1000, action: allow}\n"
		"  - {match: 10.0.4.0/24, san: spiffe://hermes/a, action: allow}\n";
	struct hermes_config cfg;
	struct hermes_addr d = { .family = HERMES_FAMILY_V4 }, from = { .family = HERMES_FAMILY_V4 };
	const struct cfg_route *r;
	const struct cfg_access *a;
	char path[64], err[512];
	uint32_t uid = 1000, other = 0;
	bool ok = true;

	if (!ASSERT_EQ(load_text(yaml, &cfg, path, sizeof(path), err, sizeof(err)), 0, "routes file loads")) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	ok &= ASSERT_EQ(cfg.n_routes, 2, "n_routes");
	ok &= ASSERT_EQ(cfg.n_access, 3, "n_access");
	ok &= ASSERT_STREQ(cfg.tls.ciphersuites, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
			   "tls.ciphersuites default: AES-128-GCM first");
	ok &= ASSERT_TRUE(cfg.routes[0].peers[0].proto == TPROTO_H2 && !cfg.routes[0].peers[0].tls,
			  "protocol h2c: HTTP/2 without TLS");
	ok &= ASSERT_TRUE(cfg.routes[1].peers[0].proto == TPROTO_H2 && cfg.routes[1].peers[0].tls,
			  "a plain peer defaults to h2 over TLS");
	ok &= ASSERT_TRUE(cfg.routes[1].peers[1].proto == TPROTO_H1 && !cfg.routes[1].peers[1].tls,
			  "protocol h1: clear text");
	ok &= ASSERT_TRUE(cfg.routes[1].peers[2].proto == TPROTO_H1 && cfg.routes[1].peers[2].tls,
			  "protocol h1 with tls: true: HTTP/1.1 CONNECT over TLS");
	ok &= ASSERT_TRUE(cfg.routes[1].peers[3].proto == TPROTO_H2_POST && cfg.routes[1].peers[3].tls &&
			  !strcmp(cfg.routes[1].peers[3].path, "/t") && !strcmp(cfg.routes[1].peers[3].name, "relay.example"),
			  "h2-post peer with path and name");
	memcpy(d.addr, "\x0a\x00\x03\x05", 4);
	d.port = htons(80);
	r = config_find_route(&cfg, &d);
	ok &= ASSERT_TRUE(r && !strcmp(r->name, "narrow"), "longest prefix route wins");
	ok &= ASSERT_EQ(r ? r->n_peers : 0, 4, "its peers");
	memcpy(d.addr, "\x0a\x09\x00\x01", 4);
	r = config_find_route(&cfg, &d);
	ok &= ASSERT_TRUE(r && !strcmp(r->name, "wide"), "the /8 route covers 10.9.0.1");
	memcpy(d.addr, "\x0b\x00\x00\x01", 4);
	ok &= ASSERT_TRUE(config_find_route(&cfg, &d) == NULL, "no route for 11.0.0.1");

	memcpy(from.addr, "\x0a\x00\x01\x01", 4);
	memcpy(d.addr, "\x0a\x00\x03\x05", 4);
	a = config_find_access(&cfg, &d, &from, &uid, "curl", NULL, 0);
	ok &= ASSERT_TRUE(a && a->allow, "curl uid 1000 from 10.0.1.1 to 10.0.3.5:80 allowed");
	ok &= ASSERT_TRUE(config_find_access(&cfg, &d, &from, &uid, "wget", NULL, 0) == NULL, "other comm: no rule");
	ok &= ASSERT_TRUE(config_find_access(&cfg, &d, &from, &other, "curl", NULL, 0) == NULL, "other uid: no rule");
	ok &= ASSERT_TRUE(config_find_access(&cfg, &d, &from, NULL, NULL, NULL, 0) == NULL, "no identity: no rule");
	memcpy(from.addr, "\x0a\x00\x02\x01", 4);
	ok &= ASSERT_TRUE(config_find_access(&cfg, &d, &from, &uid, "curl", NULL, 0) == NULL, "other source: no rule");
	memcpy(d.addr, "\x0a\x00\x03\x07", 4);
	a = config_find_access(&cfg, &d, &from, &uid, "curl", NULL, 0);
	ok &= ASSERT_TRUE(a && !a->allow && a->line == 15, "first match (the deny at line 15) wins");
	{
		static const char sans[2][128] = { "dns.example", "spiffe://hermes/a" };

		memcpy(d.addr, "\x0a\x00\x04\x01", 4);
		ok &= ASSERT_TRUE(config_find_access(&cfg, &d, &from, NULL, NULL, NULL, 0) == NULL,
				  "san rule: no certificate, no match");
		ok &= ASSERT_TRUE(config_find_access(&cfg, &d, &from, NULL, NULL, sans, 1) == NULL,
				  "san rule: other name, no match");
		a = config_find_access(&cfg, &d, &from, NULL, NULL, sans, 2);
		ok &= ASSERT_TRUE(a && a->allow, "san rule: the certificate's URI SAN matches");
	}
	config_free(&cfg);
	return ok;
}

/* http and http_routes: keys, defaults, inheritance of the http section's retry policy */
static bool test_http_routes(void)
{
	static const char *const yaml =
		"http_routes:\n"
		"  - name: api\n"
		"    match: {host: api.example, path_prefix: /v1, headers: {user: alice}}\n"
		"    endpoints: [10.77.1.2:80, \"[fd00::1]:8080\"]\n"
		"    balance: least_request\n"
		"    retry: {retry_on: [5xx, retriable-status-codes], retriable_status_codes: [409], num_retries: 3,\n"
		"            per_try_timeout_ms: 500, budget_percent: 50, hedge_on_per_try_timeout: true}\n"
		"    add_headers: {x-hermes: \"1\"}\n"
		"    remove_headers: [x-internal]\n"
		"  - name: plain\n"
		"    endpoints: [10.77.1.3:80]\n"
		"  - {name: h1tls, endpoints: [10.77.1.4:443], upstream_tls: true, tls_name: 10.77.1.4}\n"
		"  - {name: h2tls, endpoints: [10.77.1.5:443], upstream_protocol: h2, upstream_tls: true}\n"
		"  - {name: c, endpoints: [10.77.1.6:80], cache: {max_object_kb: 8, heuristic: false, store_set_cookie: false,\n"
		"     default_ttl_s: 60}}\n"
		"  - {name: off, endpoints: [10.77.1.6:80], cache: false}\n"
		"  - {name: on, endpoints: [10.77.1.6:80], cache: true}\n"
		"cache: {max_object_kb: 512}\n"
		"tls: {cert: /etc/hermes/a.crt, key: /etc/hermes/a.key, ca: /etc/hermes/ca.crt}\n"
		"http:\n"
		"  max_headers: 32\n"
		"  via: false\n"
		"  retry: {num_retries: 2}\n";
	struct hermes_config cfg;
	char path[64], err[512];
	bool ok = true;
	const struct cfg_http_route *r;

	if (!ASSERT_EQ(load_text(yaml, &cfg, path, sizeof(path), err, sizeof(err)), 0, "http file loads")) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	ok &= ASSERT_EQ(cfg.n_http_routes, 7, "n_http_routes");
	r = &cfg.http_routes[0];
	ok &= ASSERT_TRUE(!strcmp(r->name, "api") && !strcmp(r->host, "api.example") && !strcmp(r->path_prefix, "/v1"),
			  "name, host, path_prefix");
	ok &= ASSERT_TRUE(r->n_match_headers == 1 && !strcmp(r->match_headers[0].name, "user") &&
			  !strcmp(r->match_headers[0].value, "alice"), "header match");
	ok &= ASSERT_EQ(r->n_eps, 2, "endpoints");
	ok &= ASSERT_EQ(r->balance, BALANCE_LEAST_REQUEST, "balance");
	ok &= ASSERT_EQ(r->retry.on, RETRY_5XX | RETRY_STATUS, "retry_on");
	ok &= ASSERT_TRUE(r->retry.n_codes == 1 && r->retry.codes[0] == 409, "retriable_status_codes");
	ok &= ASSERT_EQ(r->retry.num_retries, 3, "num_retries");
	ok &= ASSERT_EQ(r->retry.per_try_timeout_ms, 500, "per_try_timeout_ms");
	ok &= ASSERT_TRUE(r->retry.hedge_on_per_try_timeout, "hedge_on_per_try_timeout");
	ok &= ASSERT_EQ(r->retry.budget_percent, 50, "budget_percent");
	ok &= ASSERT_EQ(r->retry.budget_min_retries, 3, "budget_min_retries default");
	ok &= ASSERT_EQ(r->retry.max_buffered_body, 65536, "max_buffered_body default");
	ok &= ASSERT_TRUE(r->n_add == 1 && !strcmp(r->add[0].value, "1") && r->n_remove == 1 &&
			  !strcmp(r->remove[0], "x-internal"), "add/remove headers");
	r = &cfg.http_routes[1];
	ok &= ASSERT_EQ(r->retry.num_retries, 2, "a route without retry takes the http section's");
	ok &= ASSERT_EQ(r->retry.on, RETRY_CONNECT_FAILURE | RETRY_RESET, "retry_on default");
	ok &= ASSERT_EQ(r->proto, HPROTO_H1, "upstream_protocol default h1, no TLS");
	r = &cfg.http_routes[2];
	ok &= ASSERT_EQ(r->proto, HPROTO_H1_TLS, "h1 with upstream_tls: HTTP/1.1 over TLS");
	ok &= ASSERT_TRUE(!strcmp(r->tls_name, "10.77.1.4"), "tls_name (an IP address)");
	ok &= ASSERT_EQ(cfg.http_routes[3].proto, HPROTO_H2, "h2 with upstream_tls: true (redundant) stays h2");
	ok &= ASSERT_TRUE(!r->retry.hedge_on_per_try_timeout, "hedging off by default");
	ok &= ASSERT_EQ(cfg.http.max_headers, 32, "http.max_headers");
	ok &= ASSERT_TRUE(!cfg.http.via, "http.via");
	ok &= ASSERT_EQ(cfg.http.max_head, 16384, "http.max_head_bytes default");
	/* cache: the cache section's settings where the route gave none */
	r = &cfg.http_routes[1];
	ok &= ASSERT_TRUE(!r->cache.enabled && r->cache.max_object_kb == 512 && r->cache.heuristic &&
			  r->cache.store_set_cookie && !r->cache.default_ttl_s, "no cache: the cache section's");
	r = &cfg.http_routes[4];
	ok &= ASSERT_TRUE(r->cache.enabled && r->cache.max_object_kb == 8 && !r->cache.heuristic &&
			  !r->cache.store_set_cookie && r->cache.default_ttl_s == 60, "cache: a mapping (enabled)");
	r = &cfg.http_routes[5];
	ok &= ASSERT_TRUE(!r->cache.enabled && r->cache.max_object_kb == 512 && r->cache.heuristic, "cache: false");
	r = &cfg.http_routes[6];
	ok &= ASSERT_TRUE(r->cache.enabled && r->cache.store_set_cookie, "cache: true");
	config_free(&cfg);
	config_defaults(&cfg);
	ok &= ASSERT_EQ(cfg.http.retry.num_retries, 0, "embedded default: no retries");
	return ok;
}

/* The examples of etc/hermes.yaml uncommented, as an operator would: a line "#key:" at
 * column 0 opens a block, which goes on over lines starting "#  " (prose is "# "). */
static char *uncomment_examples(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;
	bool in_block = false;

	if (!out)
		exit(1);
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) + 1 : strlen(l);
		const char *k = l + 1;

		if (l[0] == '#') {
			while (*k == '_' || (*k >= 'a' && *k <= 'z'))
				k++;
			if (k > l + 1 && *k == ':')
				in_block = true;
			else if (strncmp(l, "#  ", 3))
				in_block = false;
		} else {
			in_block = false;
		}
		if (in_block) {
			memcpy(o, l + 1, n - 1);
			o += n - 1;
		} else {
			memcpy(o, l, n);
			o += n;
		}
		l += n;
	}
	*o = 0;
	return out;
}

static bool test_example(void)
{
	static const char *const candidates[] = { "etc/hermes.yaml", "../../etc/hermes.yaml" };
	struct hermes_config cfg;
	char err[512], path[64], *text, *full;
	bool ok = true;
	size_t i, len;
	FILE *f;
	int ret;

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], R_OK) == 0)
			break;
	if (!ASSERT_TRUE(i < sizeof(candidates) / sizeof(candidates[0]),
			 "etc/hermes.yaml not found (run from the repository root)"))
		return false;
	/* as shipped (and installed as /etc/hermes/hermes.yaml): the embedded defaults */
	ret = config_load(candidates[i], &cfg, err, sizeof(err));
	if (!ASSERT_EQ(ret, 0, "etc/hermes.yaml loads")) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	ok &= ASSERT_EQ(cfg.n_rules, 0, "as shipped: no policy rules (everything passes)");
	ok &= ASSERT_TRUE(!cfg.tls.cert[0], "as shipped: no tls (no certificate to find)");
	ok &= ASSERT_TRUE(!cfg.user[0], "as shipped: no user switch");
	config_free(&cfg);

	/* the commented examples, uncommented, must load too */
	f = fopen(candidates[i], "re");
	if (!ASSERT_TRUE(f != NULL, "etc/hermes.yaml opens"))
		return false;
	text = calloc(1, 1 << 20);
	len = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!ASSERT_TRUE(len > 0, "etc/hermes.yaml reads")) {
		free(text);
		return false;
	}
	full = uncomment_examples(text);
	free(text);
	ret = load_text(full, &cfg, path, sizeof(path), err, sizeof(err));
	free(full);
	if (!ASSERT_EQ(ret, 0, "etc/hermes.yaml with its examples uncommented loads")) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	ok &= ASSERT_TRUE(cfg.n_rules > 0, "examples: policy rules");
	ok &= ASSERT_TRUE(cfg.n_endpoints > 0, "examples: endpoints");
	ok &= ASSERT_TRUE(cfg.n_routes > 0, "examples: routes");
	ok &= ASSERT_TRUE(cfg.n_access > 0, "examples: tunnel_access");
	ok &= ASSERT_TRUE(cfg.n_http_routes > 0, "examples: http_routes");
	ok &= ASSERT_TRUE(cfg.tls.cert[0] != 0, "examples: tls");
	ok &= ASSERT_TRUE(cfg.inbound.on, "examples: inbound");
	ok &= ASSERT_TRUE(cfg.user[0] != 0, "examples: user");
	config_free(&cfg);
	return ok;
}

/* config_print writes what config_load reads back to the same configuration. */
static bool round_trip(const char *name, const char *text)
{
	static struct hermes_config a, b;
	char path[64], err[512], tmpl[] = "/tmp/hermes-test-print-XXXXXX";
	const char *what;
	bool ok = true;
	FILE *f;
	int fd;

	if (!ASSERT_EQ(load_text(text, &a, path, sizeof(path), err, sizeof(err)), 0, name)) {
		fprintf(stderr, "  message: %s\n", err);
		return false;
	}
	fd = mkstemp(tmpl);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!ASSERT_TRUE(f, "temporary file"))
		return false;
	config_print(&a, f);
	fclose(f);
	if (!ASSERT_EQ(config_load(tmpl, &b, err, sizeof(err)), 0, "the printed configuration loads")) {
		fprintf(stderr, "  message: %s (file %s kept)\n", err, tmpl);
		return false;
	}
	unlink(tmpl);
	config_strip_lines(&a);
	config_strip_lines(&b);
	what = config_differs(&a, &b);
	ok &= ASSERT_TRUE(!what, "%s: every setting survives --print (%s differ)", name, what ? what : "none");
	config_free(&a);
	config_free(&b);
	return ok;
}

static const char print_yaml[] =
	"log_format: json\n"
	"log_bpf: debug\n"
	"access_log: /var/log/hermes/access.log\n"
	"tc_interfaces: [eth0]\n"
	"detach_on_exit: true\n"
	"listeners: {tunnel: 10.0.0.1:15008, outbound6: off, metrics: 0.0.0.0:15020}\n"
	"tunnel: {allow_cleartext: true}\n"
	"tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"
	"udp: {relay: false, idle_timeout_ms: 5000, max_flows: 9, max_datagram: 1500, tunnel_queue_bytes: 65536}\n"
	"cache: {enabled: true, max_size_mb: 8, max_object_kb: 64, fill_stall_ms: 500}\n"
	"policy:\n"
	"  - {match: 10.0.1.0/24, action: proxy, protocol: both}\n"
	"  - {match: 10.0.2.0/24, action: deny, protocol: udp}\n"
	"  - {match: 10.0.2.0/24, action: pass}\n"
	"  - {match: 10.0.3.0/24, action: tunnel, protocol: udp}\n"
	"routes:\n"
	"  - name: r1\n"
	"    match: [10.0.3.0/24, \"[fd00::/64]:443\"]\n"
	"    protocol: h2c\n"
	"    peers: [10.0.0.2:15008, {address: 10.0.0.3:15008, protocol: h2, name: peer},\n"
	"            {address: 10.0.0.4:15008, protocol: h1, tls: true},\n"
	"            {address: 10.0.0.5:15008, protocol: h2-post, path: /t, tls: false}]\n"
	"tunnel_access:\n"
	"  - {match: 10.0.3.0/24:80, action: allow, from: 10.0.0.0/24, uid: 7, comm: curl, san: spiffe://x/y}\n"
	"  - {match: 0.0.0.0/0, action: deny}\n"
	"inbound: {protect: [80, 443], allow_from: [10.0.1.0/24], allow_init_netns: true}\n"
	"http:\n"
	"  via: false\n"
	"  retry: {retry_on: [5xx, retriable-status-codes], retriable_status_codes: [409], num_retries: 3,\n"
	"          per_try_timeout_ms: 200, hedge_on_per_try_timeout: true}\n"
	"http_routes:\n"
	"  - name: api\n"
	"    endpoints: [10.0.2.2:80, \"[fd00::2]:80\"]\n"
	"    match: {host: api.example, path_prefix: /v1, headers: {user: \"al\\\"ice\"}}\n"
	"    balance: least_request\n"
	"    add_headers: {x-a: \"1 2\"}\n"
	"    remove_headers: [x-b]\n"
	"  - name: tls1\n"
	"    endpoints: [10.0.2.3:443]\n"
	"    upstream_tls: true\n"
	"    tls_name: origin.example\n"
	"    retry: {num_retries: 1}\n"
	"  - name: h2\n"
	"    endpoints: [10.0.2.4:443]\n"
	"    upstream_protocol: h2\n";

static bool test_print(void)
{
	static struct hermes_config cfg;
	char path[64], err[512];
	bool ok = true;

	ok &= round_trip("full", full_yaml);
	ok &= round_trip("print", print_yaml);
	ok &= round_trip("empty", "");
	/* found by fuzz_config: upstream_tls: true on an h2 route (TLS anyway) printed as
	 * nothing and loaded back as false */
	ok &= round_trip("h2 with upstream_tls", "tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"
			 "http_routes:\n  - {name: a, endpoints: [10.0.0.1:443], upstream_protocol: h2, "
			 "upstream_tls: true}\n  - {name: b, endpoints: [10.0.0.1:443], upstream_protocol: h2}\n");
	/* where keys were written, for --check's FILE:LINE */
	if (!ASSERT_EQ(load_text(full_yaml, &cfg, path, sizeof(path), err, sizeof(err)), 0, "full loads"))
		return false;
	ok &= ASSERT_EQ(config_key_line(&cfg, "user"), 5, "line of user");
	ok &= ASSERT_EQ(config_key_line(&cfg, "listeners.admin"), 10, "line of listeners.admin");
	ok &= ASSERT_EQ(config_key_line(&cfg, "proxy.relay"), 18, "line of proxy.relay");
	ok &= ASSERT_EQ(config_key_line(&cfg, "tls.cert"), 0, "a key the file does not set");
	config_key_overridden(&cfg, "user");
	ok &= ASSERT_EQ(config_key_line(&cfg, "user"), -1, "a key the command line replaced");
	config_key_overridden(&cfg, "cgroup");
	ok &= ASSERT_EQ(config_key_line(&cfg, "cgroup"), -1, "cgroup replaced");
	config_free(&cfg);
	return ok;
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_full);
	RUN(test_variants);
	RUN(test_rule_protocol);
	RUN(test_detach_on_exit);
	RUN(test_metrics_cleartext);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		RUN_TEST(test_bad(&bad_cases[i]), "bad file: %s", bad_cases[i].name);
	RUN(test_small_err);
	RUN(test_depth);
	RUN(test_load_mem);
	RUN(test_pipe);
	RUN(test_example);
	RUN(test_routes_access);
	RUN(test_http_routes);
	RUN(test_inbound);
	RUN(test_print);
	return check_summary("test_config");
}
