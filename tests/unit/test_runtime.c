/* test_runtime.c: unit test of the runtime snapshot (userspace/runtime.c): a snapshot
 * owns its config and TLS contexts; a holder's reference keeps its routes readable after
 * the loop has swapped a newer snapshot in and dropped its own; the last reference frees
 * it (the sanitizer build's leak and use-after-free checks make that visible); a tls
 * section whose files do not load fails with the file named and leaves the config to the
 * caller; the builder thread of a SIGHUP (rt_build_*) makes the next snapshot from a file,
 * merged against the running one, fails on a limit of the file with its message, and is
 * not waited for at exit when its file never comes. Needs no privilege. Exit 0 pass, 1
 * fail. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* A file into a fresh /tmp path (path: at least 32 bytes). */
static bool write_file(char *path, const char *text)
{
	int fd;
	bool ok;

	snprintf(path, 32, "/tmp/test_runtime.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/* Waits for the builder's eventfd as the loop does, then joins it. */
static bool build_wait(struct rt_build *b)
{
	uint64_t n = 0;

	if (!ASSERT_EQ(read(b->efd, &n, sizeof(n)), sizeof(n), "the builder writes its eventfd"))
		return false;
	ASSERT_EQ(n, 1, "once");
	rt_build_join(b);
	return ASSERT_TRUE(!b->running, "joined");
}

/* The snapshot a SIGHUP builds in a thread: merged against the running one (a
 * restart-only key keeps its running value), one generation on, the running snapshot
 * held by the build until it is joined; a limit of the file fails it with the message;
 * at exit a build that cannot end (a FIFO nobody writes) is left, and joined later. */
static bool test_build(void)
{
	struct hermes_config *c = load("mark: 0x42\n");
	struct runtime *base = NULL;
	struct rt_build b;
	char path[32], err[256], big[8192];
	size_t n;
	int fd;

	if (!ASSERT_TRUE(c, "config loads") || !ASSERT_EQ(rt_new(c, 7, &base, err, sizeof(err)), 0, "rt_new"))
		return false;
	if (!ASSERT_EQ(rt_build_init(&b), 0, "rt_build_init") || !ASSERT_TRUE(b.efd >= 0, "an eventfd"))
		return false;

	/* a good file */
	if (!ASSERT_TRUE(write_file(path, "mark: 0x99\npolicy: [{match: 10.0.0.0/8, action: deny}]\n"), "file"))
		return false;
	ASSERT_EQ(rt_build_start(&b, path, NULL, 0, base), 0, "rt_build_start");
	ASSERT_TRUE(b.running, "running");
	ASSERT_EQ(base->refs, 2, "the build holds the running snapshot");
	if (!build_wait(&b))
		return false;
	unlink(path);
	ASSERT_EQ(base->refs, 1, "and lets it go when joined");
	ASSERT_EQ(b.rc, 0, "the build succeeded");
	if (ASSERT_TRUE(b.rt != NULL, "a new snapshot")) {
		ASSERT_EQ(b.rt->refs, 1, "the joiner's reference");
		ASSERT_EQ(b.rt->gen, 8, "one generation on");
		ASSERT_EQ(b.rt->cfg->n_rules, 1, "the file's rules");
		ASSERT_EQ(b.rt->cfg->mark, 0x42, "mark is read at start only: the running value");
		ASSERT_STREQ(b.rep.restart, "mark", "the report names it");
		rt_put(b.rt);
		b.rt = NULL;
	}
	ASSERT_TRUE(b.end_ns >= b.start_ns, "timed");

	/* a limit of the file */
	n = (size_t)snprintf(big, sizeof(big), "routes:\n");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "- {}\n");
	if (!ASSERT_TRUE(write_file(path, big), "file"))
		return false;
	ASSERT_EQ(rt_build_start(&b, path, NULL, 0, base), 0, "rt_build_start");
	if (!build_wait(&b))
		return false;
	unlink(path);
	ASSERT_EQ(b.rc, -E2BIG, "refused by a limit");
	ASSERT_TRUE(b.rt == NULL && !b.tls_failed, "no snapshot, not a TLS failure");
	ASSERT_HAS(b.err, ":258:3: 'routes' has more than 256 entries", "the message, at the 257th entry");
	ASSERT_EQ(base->refs, 1, "the running snapshot let go");

	/* a FIFO nobody writes: the build blocks in open(); fini gives up, the build goes on */
	snprintf(path, sizeof(path), "/tmp/test_runtime.fifo.%d", (int)getpid());
	if (!ASSERT_EQ(mkfifo(path, 0600), 0, "mkfifo"))
		return false;
	ASSERT_EQ(rt_build_start(&b, path, NULL, 0, base), 0, "rt_build_start");
	ASSERT_TRUE(!rt_build_fini(&b, 100), "fini does not wait for a file that does not come");
	ASSERT_TRUE(b.running && b.efd >= 0 && base->refs == 2, "the build and its base stay");
	fd = open(path, O_WRONLY); /* the file comes (empty): the build ends */
	if (fd >= 0)
		close(fd);
	ASSERT_TRUE(rt_build_fini(&b, 5000), "fini joins a build that ends");
	ASSERT_TRUE(!b.running && b.efd < 0 && b.rt == NULL, "joined, its snapshot freed, efd closed");
	ASSERT_EQ(base->refs, 1, "the running snapshot let go");
	unlink(path);
	rt_put(base);
	return true;
}

int main(void)
{
	RUN(test_holder_outlives_swap);
	RUN(test_bad_tls_keeps_config);
	RUN(test_build);
	return check_summary("test_runtime");
}
