/* test_runtime.c: unit test of the runtime snapshot (userspace/runtime.c): a snapshot
 * owns its config and TLS contexts; a holder's reference keeps its routes readable after
 * the loop has swapped a newer snapshot in and dropped its own; the last reference frees
 * it (the sanitizer build's leak and use-after-free checks make that visible); a tls
 * section whose files do not load fails with the file named and leaves the config to the
 * caller. Needs no privilege. Exit 0 pass, 1 fail. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "runtime.h"

/* A config loaded from yaml (heap, as the loop's are), or NULL. */
static struct hermes_config *load(const char *yaml)
{
	char path[] = "/tmp/test_runtime.XXXXXX", err[512];
	struct hermes_config *cfg = calloc(1, sizeof(*cfg));
	int fd = mkstemp(path);
	bool ok = fd >= 0 && cfg && write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml);

	if (fd >= 0)
		close(fd);
	if (ok) {
		config_defaults(cfg);
		ok = !config_load(path, cfg, err, sizeof(err));
		if (!ok)
			fprintf(stderr, "config_load: %s\n", err);
	}
	unlink(path);
	if (!ok && cfg) {
		config_free(cfg);
		free(cfg);
		cfg = NULL;
	}
	return cfg;
}

static bool test_holder_outlives_swap(void)
{
	struct hermes_config *c1 = load("http_routes:\n  - {name: old, match: {host: svc}, endpoints: [10.0.0.1:80]}\n");
	struct hermes_config *c2 = load("http_routes:\n  - {name: new, match: {host: svc}, endpoints: [10.0.0.2:80]}\n");
	struct runtime *cur = NULL, *held, *next = NULL;
	const struct cfg_http_route *r;
	char err[256];

	if (!ASSERT_TRUE(c1 && c2, "both configs load"))
		return false;
	ASSERT_EQ(rt_new(c1, 1, &cur, err, sizeof(err)), 0, "rt_new without tls");
	ASSERT_TRUE(cur->cfg == c1 && !cur->tls_server && !cur->tls_client, "owns the config, no TLS contexts");
	ASSERT_EQ(cur->refs, 1, "the creator's reference");
	held = rt_get(cur); /* a request starts */
	ASSERT_TRUE(held == cur, "rt_get returns the snapshot");
	ASSERT_EQ(cur->refs, 2, "creator + holder");
	r = &held->cfg->http_routes[0];
	/* the reload: the loop installs the next snapshot and drops the old one */
	ASSERT_EQ(rt_new(c2, cur->gen + 1, &next, err, sizeof(err)), 0, "rt_new of the reload");
	rt_put(cur);
	cur = next;
	ASSERT_EQ(held->refs, 1, "the holder's reference is the last");
	ASSERT_STREQ(r->name, "old", "the holder's route is still the one it started with");
	ASSERT_EQ(r->eps[0].ss.ss_family, AF_INET, "... with its endpoints");
	ASSERT_EQ(cur->gen, 2, "the new snapshot's generation");
	ASSERT_STREQ(cur->cfg->http_routes[0].name, "new", "the current snapshot has the new route");
	rt_put(held); /* the request ends: snapshot 1 goes (the SAN build checks it is freed) */
	rt_put(cur);
	rt_put(NULL); /* a holder that never took one */
	return true;
}

static bool test_bad_tls_keeps_config(void)
{
	struct hermes_config *c = load("policy: []\n");
	struct runtime *rt = NULL;
	char err[512] = "";

	if (!ASSERT_TRUE(c, "config loads"))
		return false;
	snprintf(c->tls.cert, sizeof(c->tls.cert), "/nonexistent/hermes-cert.pem");
	snprintf(c->tls.key, sizeof(c->tls.key), "/nonexistent/hermes-key.pem");
	snprintf(c->tls.ca, sizeof(c->tls.ca), "/nonexistent/hermes-ca.pem");
	ASSERT_EQ(rt_new(c, 1, &rt, err, sizeof(err)), -EINVAL, "unloadable certificate");
	ASSERT_TRUE(rt == NULL, "no snapshot");
	ASSERT_HAS(err, "tls.cert /nonexistent/hermes-cert.pem", "the error names the key and file");
	config_free(c); /* still the caller's */
	free(c);
	return true;
}

int main(void)
{
	RUN(test_holder_outlives_swap);
	RUN(test_bad_tls_keeps_config);
	return check_summary("test_runtime");
}
