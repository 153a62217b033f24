/* runtime.c: the runtime snapshot's life (runtime.h), and the thread that builds the
 * next one for a SIGHUP. References are taken and dropped on the loop's thread only (the
 * builder's new snapshot reaches the loop through pthread_join): the count needs no
 * atomics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deadline.h"
#include "log.h"
#include "runtime.h"
#include "thread.h"
#include "tls.h"

int rt_new(struct hermes_config *cfg, uint64_t gen, struct runtime **out, char *err, size_t errlen)
{
	struct runtime *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return -ENOMEM;
	if (cfg->tls.cert[0] && tls_ctx_new(&cfg->tls, &rt->tls_server, &rt->tls_client, err, errlen)) {
		free(rt);
		return -EINVAL;
	}
	rt->refs = 1;
	rt->gen = gen;
	rt->cfg = cfg;
	*out = rt;
	return 0;
}

struct runtime *rt_get(struct runtime *rt)
{
	rt->refs++;
	return rt;
}

void rt_put(struct runtime *rt)
{
	if (!rt || --rt->refs)
		return;
	log_debug("config snapshot %llu (%s) freed: nothing uses it any more", (unsigned long long)rt->gen,
		  rt->cfg->source);
	tls_ctx_free(rt->tls_server);
	tls_ctx_free(rt->tls_client);
	config_free(rt->cfg);
	free(rt->cfg);
	free(rt);
}

/* ---- the builder thread ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int rt_build_init(struct rt_build *b)
{
	memset(b, 0, sizeof(*b));
	b->efd = eventfd(0, EFD_CLOEXEC);
	return b->efd < 0 ? -errno : 0;
}

/* The build: everything it reads is b's inputs and the files; everything it writes is
 * b's results and what it allocates. */
static void *build_main(void *arg)
{
	struct rt_build *b = arg;
	struct hermes_config *cfg = calloc(1, sizeof(*cfg));
	uint64_t one = 1;
	int rc;

	if (!cfg) {
		rc = -ENOMEM;
		snprintf(b->err, sizeof(b->err), "out of memory");
		goto done;
	}
	rc = b->doc ? config_load_mem(b->path, b->doc, b->doc_len, cfg, b->err, sizeof(b->err)) :
		      config_load(b->path, cfg, b->err, sizeof(b->err));
	if (rc) {
		free(cfg);
		goto done;
	}
	/* a document from etcd: the etcd section is the file's alone (the document cannot
	 * move the node elsewhere), whatever the document says */
	if (b->doc)
		cfg->etcd = b->base->cfg->etcd;
	config_reload_merge(b->base->cfg, cfg, &b->rep);
	/* certificates are read anew even when the paths stay (rotation writes new files
	 * over the old ones) */
	rc = rt_new(cfg, b->base->gen + 1, &b->rt, b->err, sizeof(b->err));
	if (rc) {
		b->tls_failed = true;
		if (rc == -ENOMEM)
			snprintf(b->err, sizeof(b->err), "out of memory");
		config_free(cfg);
		free(cfg);
	}
done:
	b->rc = rc;
	b->end_ns = mono_ns();
	/* the last thing the thread does to b: the loop joins it once it has read this */
	while (write(b->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	return NULL;
}

int rt_build_start(struct rt_build *b, const char *path, const char *doc, size_t doc_len, struct runtime *running)
{
	int rc;

	b->path = path;
	b->doc = doc;
	b->doc_len = doc_len;
	b->base = rt_get(running);
	b->rt = NULL;
	b->rc = 0;
	b->tls_failed = false;
	memset(&b->rep, 0, sizeof(b->rep));
	b->err[0] = 0;
	b->start_ns = b->end_ns = mono_ns();
	rc = thread_start(&b->thread, build_main, b);
	if (rc) {
		rt_put(b->base);
		b->base = NULL;
		return rc;
	}
	b->running = true;
	return 0;
}

void rt_build_join(struct rt_build *b)
{
	if (!b->running)
		return;
	pthread_join(b->thread, NULL);
	b->running = false;
	rt_put(b->base);
	b->base = NULL;
}

bool rt_build_fini(struct rt_build *b, int wait_ms)
{
	if (b->running) {
		struct timespec until = deadline_after_ms((unsigned)wait_ms);

		if (pthread_timedjoin_np(b->thread, NULL, &until))
			return false;
		b->running = false;
		rt_put(b->base);
		b->base = NULL;
		rt_put(b->rt);
		b->rt = NULL;
	}
	if (b->efd >= 0)
		close(b->efd);
	b->efd = -1;
	return true;
}
