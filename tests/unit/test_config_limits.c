/* test_config_limits.c: unit test of the configuration loader's limits on the file itself
 * (userspace/config.c, first pass): size (CFG_MAX_FILE_BYTES, also for a pipe), entries of
 * each top-level list (their key's maximum), of deeper lists (CFGP_MAX_NESTED), keys of a
 * mapping (CFGP_MAX_KEYS) and nodes in all (CFG_MAX_NODES). Each refusal is -E2BIG or
 * -EFBIG with a message naming the file, the line where the limit was passed and the
 * limit, and comes before libyaml builds the document (the peak memory of the
 * process hardly moves: 150,000 routes took 86 MB more before, 300,000 small values
 * 88 MB). A file with every list
 * at its maximum still loads. Needs no privilege. Exit 0 pass, 1 fail. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

/* What "hardly any memory" means. Under ASan, freed blocks wait in its quarantine (so the
 * peak grows with what the first pass allocated and freed, not with what it held). How
 * long a refusal takes is printed, not checked: a timed check fails on a loaded machine
 * (it did, at 218 and 807 ms against 200), and the memory bound is what shows that the
 * document was never built. */
#ifdef __SANITIZE_ADDRESS__
#define SMALL_KB 65536
#else
#define SMALL_KB 16384
#endif

static char err[512];

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static long peak_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A text built with printf calls (open_memstream). */
struct text {
	char *s;
	size_t len;
	FILE *f;
};

static void text_open(struct text *t)
{
	t->s = NULL;
	t->f = open_memstream(&t->s, &t->len);
	if (!t->f) {
		perror("open_memstream");
		exit(1);
	}
}

static void text_close(struct text *t)
{
	if (fclose(t->f)) {
		perror("fclose");
		exit(1);
	}
}

/* Loads t (as NAME) and checks the refusal: rc, a message with want and no more than
 * SMALL_KB of new peak memory. */
static bool refused(const struct text *t, int rc, const char *want, const char *what)
{
	struct hermes_config cfg;
	struct timespec t0;
	long kb0 = peak_kb(), ms;
	bool ok = true;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok &= check_eq_at(config_load_mem("limits.yaml", t->s, t->len, &cfg, err, sizeof(err)), rc, __FILE__,
			  __LINE__, what);
	ms = ms_since(&t0);
	ok &= check_has_at(err, want, __FILE__, __LINE__, what);
	printf("# %s: refused in %ld ms\n", what, ms);
	ok &= check_at(peak_kb() - kb0 < SMALL_KB, __FILE__, __LINE__, "%s: peak memory grew by %ld KB (want < %d)",
		       what, peak_kb() - kb0, SMALL_KB);
	return ok;
}

/* 150,000 routes (the file, 2.1 MB): refused at the 257th entry, its line. */
static bool test_top_list(void)
{
	struct text t;
	bool ok;

	text_open(&t);
	fprintf(t.f, "log_level: info\nroutes:\n");
	for (int i = 0; i < 150000; i++)
		fprintf(t.f, "  - {name: r%d}\n", i);
	text_close(&t);
	ok = refused(&t, -E2BIG, "limits.yaml:259:5: 'routes' has more than 256 entries (expected at most 256)",
		     "150,000 routes");
	free(t.s);
	/* each top-level list by its own maximum */
	text_open(&t);
	fprintf(t.f, "endpoints:\n");
	for (int i = 0; i < 5000; i++)
		fprintf(t.f, "- {}\n");
	text_close(&t);
	ok &= refused(&t, -E2BIG, "limits.yaml:4098:3: 'endpoints' has more than 4096 entries", "4097 endpoints");
	free(t.s);
	text_open(&t);
	fprintf(t.f, "policy: [");
	for (int i = 0; i < 20000; i++)
		fprintf(t.f, "{}, ");
	fprintf(t.f, "]\n");
	text_close(&t);
	ok &= refused(&t, -E2BIG, "limits.yaml:1:", "16385 policy rules");
	ok &= ASSERT_HAS(err, "'policy' has more than 16384 entries", "16385 policy rules: the message");
	free(t.s);
	return ok;
}

/* A list inside an entry, a mapping with too many keys, and nodes in all. */
static bool test_nested(void)
{
	struct text t;
	bool ok;

	text_open(&t);
	fprintf(t.f, "routes:\n- name: a\n  match: [10.0.0.0/8]\n  peers:\n");
	for (int i = 0; i < 100000; i++)
		fprintf(t.f, "  - 10.0.0.1:15008\n");
	text_close(&t);
	ok = refused(&t, -E2BIG, "limits.yaml:69:5: 'routes.peers' has more than 64 entries (expected at most 64",
		     "100,000 peers");
	free(t.s);

	text_open(&t);
	fprintf(t.f, "http:\n");
	for (int i = 0; i < 100000; i++)
		fprintf(t.f, "  k%d: 1\n", i);
	text_close(&t);
	ok &= refused(&t, -E2BIG, "limits.yaml:34:3: 'http' has more than 32 keys", "100,000 keys");
	free(t.s);

	/* 5,000 entries of 60 values each: every list within its own limit, 300,000 nodes */
	text_open(&t);
	fprintf(t.f, "policy:\n");
	for (int i = 0; i < 5000; i++) {
		fprintf(t.f, "- [");
		for (int j = 0; j < 60; j++)
			fprintf(t.f, "0,");
		fprintf(t.f, "]\n");
	}
	text_close(&t);
	ok &= refused(&t, -E2BIG, "more than 262144 keys, values and list entries in all", "300,000 nodes");
	ok &= ASSERT_HAS(err, "limits.yaml:4299:50: ", "300,000 nodes: the line of node 262,145");
	free(t.s);
	return ok;
}

/* Over CFG_MAX_FILE_BYTES: refused from memory, from a file (without reading it) and from
 * a pipe (as soon as it gave more). Exactly at the limit it parses. */
static bool test_size(void)
{
	char path[] = "/tmp/hermes-test-limits-XXXXXX";
	struct hermes_config cfg;
	struct text t = { 0 };
	size_t n = CFG_MAX_FILE_BYTES + 1;
	bool ok = true;
	FILE *p;
	int fd;

	t.s = malloc(n);
	if (!t.s)
		return false;
	memset(t.s, '\n', n);
	memcpy(t.s, "# comment\n", 10);
	t.len = n;
	ok &= refused(&t, -EFBIG, "limits.yaml: larger than 4 MiB (expected a hermes.yaml of at most 4194304 bytes)",
		      "4 MiB + 1 from memory");
	ok &= ASSERT_EQ(config_load_mem("limits.yaml", t.s, n - 1, &cfg, err, sizeof(err)), 0, "4 MiB of comments");
	config_free(&cfg);

	fd = mkstemp(path);
	if (!ASSERT_TRUE(fd >= 0, "mkstemp") || !ASSERT_EQ(write(fd, t.s, n), (long long)n, "write")) {
		free(t.s);
		return false;
	}
	close(fd);
	ok &= ASSERT_EQ(config_load(path, &cfg, err, sizeof(err)), -EFBIG, "4 MiB + 1 in a file");
	ok &= ASSERT_HAS(err, ": larger than 4 MiB", "the file's message");
	ok &= ASSERT_HAS(err, path, "the file named");
	unlink(path);

	/* a pipe: "cat FILE |" stands for a FIFO or /dev/stdin, whose size is not known */
	snprintf(path, sizeof(path), "/tmp/hermes-test-limits-XXXXXX");
	fd = mkstemp(path);
	if (fd >= 0 && write(fd, t.s, n) == (ssize_t)n) {
		char cmd[128], dev[64];

		close(fd);
		snprintf(cmd, sizeof(cmd), "cat %s", path);
		p = popen(cmd, "r");
		if (ASSERT_TRUE(p != NULL, "popen")) {
			snprintf(dev, sizeof(dev), "/dev/fd/%d", fileno(p));
			ok &= ASSERT_EQ(config_load(dev, &cfg, err, sizeof(err)), -EFBIG, "4 MiB + 1 from a pipe");
			pclose(p);
		}
	} else {
		ok = false;
	}
	unlink(path);
	free(t.s);
	return ok;
}

/* Every top-level list at its maximum, each entry with every key and its inner lists at
 * their maxima: what the limits must let through. */
static bool test_maximal(void)
{
	struct hermes_config cfg;
	struct text t;
	struct timespec t0;
	bool ok = true;
	int rc;

	text_open(&t);
	fprintf(t.f, "tls: {cert: /etc/hermes/c.pem, key: /etc/hermes/k.pem, ca: /etc/hermes/ca.pem}\n");
	fprintf(t.f, "tc_interfaces: [a0, a1, a2, a3, a4, a5, a6, a7]\n");
	fprintf(t.f, "inbound:\n  protect: [");
	for (int i = 1; i <= 64; i++)
		fprintf(t.f, "%d, ", i);
	fprintf(t.f, "]\n  allow_from: [");
	for (int i = 1; i <= 64; i++)
		fprintf(t.f, "10.9.%d.0/24, ", i);
	fprintf(t.f, "]\npolicy:\n");
	for (int i = 0; i < 16384; i++)
		fprintf(t.f, "  - {match: 10.%d.%d.0/24, action: deny}\n", (i >> 8) & 255, i & 255);
	fprintf(t.f, "endpoints:\n");
	for (int i = 0; i < CFG_MAX_ENDPOINTS; i++) {
		fprintf(t.f, "  - {match: 10.1.%d.%d:80, alternates: [", i >> 8, i & 255);
		for (int j = 0; j < CFG_MAX_ALTERNATES; j++)
			fprintf(t.f, "10.2.0.%d:80, ", j + 1);
		fprintf(t.f, "]}\n");
	}
	fprintf(t.f, "routes:\n");
	for (int i = 0; i < CFG_MAX_ROUTES; i++) {
		fprintf(t.f, "  - name: r%d\n    protocol: h2c\n    match: [", i);
		for (int j = 0; j < CFG_MAX_ROUTE_MATCH; j++)
			fprintf(t.f, "10.%d.%d.0/24, ", 100 + j, i);
		fprintf(t.f, "]\n    peers:\n");
		for (int j = 0; j < CFG_MAX_PEERS; j++)
			fprintf(t.f, "      - {address: 10.3.0.%d:15008, protocol: h2-post, tls: false, name: p%d, "
				"path: /hermes/tunnel}\n", j + 1, j);
	}
	fprintf(t.f, "tunnel_access:\n");
	for (int i = 0; i < CFG_MAX_ACCESS; i++)
		fprintf(t.f, "  - {match: 10.4.0.0/16, action: allow, from: 10.5.0.0/16, uid: %d, comm: curl, "
			"san: spiffe://hermes/a}\n", i);
	fprintf(t.f, "http_routes:\n");
	for (int i = 0; i < CFG_HTTP_MAX_ROUTES; i++) {
		fprintf(t.f, "  - name: h%d\n    endpoints: [", i);
		for (int j = 0; j < CFG_HTTP_MAX_EPS; j++)
			fprintf(t.f, "10.6.0.%d:443, ", j + 1);
		fprintf(t.f, "]\n    match:\n      host: api%d.example\n      path_prefix: /v1\n      headers: {", i);
		for (int j = 0; j < CFG_HTTP_MAX_HDRS; j++)
			fprintf(t.f, "x-m%d: v, ", j);
		fprintf(t.f, "}\n    balance: least_request\n    upstream_protocol: h2\n    upstream_tls: true\n"
			"    tls_name: api.example\n    retry:\n      retry_on: [connect-failure, reset, "
			"refused-stream, 5xx, gateway-error, retriable-status-codes]\n      retriable_status_codes: [");
		for (int j = 0; j < CFG_HTTP_MAX_CODES; j++)
			fprintf(t.f, "%d, ", 500 + j);
		fprintf(t.f, "]\n      num_retries: 2\n      per_try_timeout_ms: 100\n      hedge_on_per_try_timeout: "
			"true\n      timeout_ms: 1000\n      backoff_base_ms: 10\n      backoff_max_ms: 100\n"
			"      budget_percent: 20\n      budget_min_retries: 3\n      max_buffered_body: 1024\n"
			"    add_headers: {");
		for (int j = 0; j < CFG_HTTP_MAX_HDRS; j++)
			fprintf(t.f, "x-a%d: v, ", j);
		fprintf(t.f, "}\n    remove_headers: [");
		for (int j = 0; j < CFG_HTTP_MAX_HDRS; j++)
			fprintf(t.f, "x-r%d, ", j);
		fprintf(t.f, "]\n");
	}
	text_close(&t);
	ok &= ASSERT_TRUE(t.len < CFG_MAX_FILE_BYTES, "the maximal file is %zu bytes", t.len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = config_load_mem("max.yaml", t.s, t.len, &cfg, err, sizeof(err));
	if (!ASSERT_EQ(rc, 0, "every list at its maximum loads"))
		fprintf(stderr, "  %s\n", err);
	printf("# the maximal file: %zu bytes, loaded in %ld ms\n", t.len, ms_since(&t0));
	if (!rc) {
		ok &= ASSERT_EQ(cfg.n_rules, 16384, "rules");
		ok &= ASSERT_EQ(cfg.n_endpoints, CFG_MAX_ENDPOINTS, "endpoints");
		ok &= ASSERT_EQ(cfg.n_routes, CFG_MAX_ROUTES, "routes");
		ok &= ASSERT_EQ(cfg.n_access, CFG_MAX_ACCESS, "tunnel_access");
		ok &= ASSERT_EQ(cfg.n_http_routes, CFG_HTTP_MAX_ROUTES, "http_routes");
		config_free(&cfg);
	}
	free(t.s);
	return ok && !rc;
}

int main(void)
{
	/* first: the peak memory checks need a peak that the maximal file has not raised */
	RUN(test_top_list);
	RUN(test_nested);
	RUN(test_size);
	RUN(test_maximal);
	return check_summary("test_config_limits");
}
