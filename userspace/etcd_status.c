/* etcd_status.c: the node's lease-bound status key (etcd_status.h). A thread of its own,
 * with its own client (etcd.c's calls block, and the watch thread's stays in a watch):
 * grant a lease, write the key with it, renew the lease every ETCD_STATUS_KEEPALIVE_MS,
 * and write again when the loop hands a new content. A failure is tried again with a
 * backoff (100 ms doubling to 2 s); a lease etcd no longer knows (expired while etcd was
 * away, or a write that says so) is granted anew and the key written again. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "addr.h"
#include "deadline.h"
#include "etcd.h"
#include "etcd_status.h"
#include "log.h"
#include "thread.h"
#include "version.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

struct etcd_status {
	struct cfg_etcd e;
	char key[sizeof(((struct cfg_etcd *)0)->prefix) + 9 + sizeof(((struct cfg_etcd *)0)->node)];
	char address[96], admin[96];
	struct etcd cl;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu; /* guards stop, info and gen */
	pthread_cond_t cv;
	bool stop;
	struct etcd_status_info info;
	uint64_t gen; /* bumped by each new content */
	/* the thread's own */
	int64_t lease;
	bool failing; /* a failure was logged; the next success says it is over */
	_Atomic uint64_t writes, failures, grants;
	_Atomic bool up;
};

char *etcd_status_json(const char *node, const char *address, const char *admin, long pid,
		       const struct etcd_status_info *in)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:o,s:I}", "node", node, "address", address, "admin", admin,
			      "version", hermes_version, "applied_revision", (json_int_t)in->applied_rev, "applied_at",
			      (json_int_t)in->applied_at_ms, "health", in->health[0] ? in->health : "ok",
			      "config_error", in->config_error[0] ? json_string(in->config_error) : json_null(), "pid",
			      (json_int_t)pid);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

void etcd_status_addr(const struct cfg_sockaddr *a, char *buf, size_t len)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
	char host[256];

	buf[0] = 0;
	if (!a->len)
		return;
	if ((a->ss.ss_family == AF_INET && v4->sin_addr.s_addr == htonl(INADDR_ANY)) ||
	    (a->ss.ss_family == AF_INET6 && !memcmp(&v6->sin6_addr, &in6addr_any, sizeof(in6addr_any)))) {
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = 0;
		snprintf(buf, len, "%s:%u", host,
			 ntohs(a->ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port));
		return;
	}
	addr_fmt((const struct sockaddr *)&a->ss, buf, len);
}

int etcd_status_new(const struct cfg_etcd *e, const char *address, const char *admin, struct etcd_status **out)
{
	struct etcd_status *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->e = *e;
	snprintf(st->key, sizeof(st->key), "%s/status/%s", e->prefix, e->node);
	snprintf(st->address, sizeof(st->address), "%s", address);
	snprintf(st->admin, sizeof(st->admin), "%s", admin);
	etcd_init_node(&st->cl, &st->e);
	snprintf(st->info.health, sizeof(st->info.health), "ok");
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	*out = st;
	return 0;
}

void etcd_status_set(struct etcd_status *st, const struct etcd_status_info *in)
{
	pthread_mutex_lock(&st->mu);
	if (memcmp(&st->info, in, sizeof(*in))) {
		st->info = *in;
		st->gen++;
		pthread_cond_signal(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
}

void etcd_status_get(struct etcd_status *st, struct etcd_status_info *out)
{
	pthread_mutex_lock(&st->mu);
	*out = st->info;
	pthread_mutex_unlock(&st->mu);
}

void etcd_status_get_stats(const struct etcd_status *st, struct etcd_status_stats *out)
{
	struct etcd_status *s = (struct etcd_status *)st;

	out->writes = atomic_load(&s->writes);
	out->failures = atomic_load(&s->failures);
	out->grants = atomic_load(&s->grants);
	out->up = atomic_load(&s->up);
}

static bool alive(void *arg)
{
	struct etcd_status *st = arg;
	bool stop;

	pthread_mutex_lock(&st->mu);
	stop = st->stop;
	pthread_mutex_unlock(&st->mu);
	return !stop;
}

/* Waits until ms pass or a stop, and (seen not NULL) until a new content comes: gen
 * differs from *seen. A backoff waits whatever comes (seen NULL). */
static void wait_ms(struct etcd_status *st, unsigned ms, const uint64_t *seen)
{
	struct timespec until = deadline_after_ms(ms);

	pthread_mutex_lock(&st->mu);
	while (!st->stop && (!seen || st->gen == *seen) &&
	       pthread_cond_timedwait(&st->cv, &st->mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&st->mu);
}

static void failed(struct etcd_status *st, const char *what, const char *err)
{
	atomic_fetch_add(&st->failures, 1);
	atomic_store(&st->up, false);
	if (!st->failing)
		log_warn("etcd: cannot %s the status key %s: %s: trying again (operators see this node as down once "
			 "its lease of %d s runs out)", what, st->key, err, ETCD_STATUS_TTL);
	st->failing = true;
}

static void *st_main(void *arg)
{
	struct etcd_status *st = arg;
	unsigned backoff = BACKOFF_MIN_MS;
	uint64_t written = UINT64_MAX; /* the gen last written (UINT64_MAX: none with this lease) */
	struct timespec last = { 0 };
	char err[512];
	int rc;

	st->cl.alive = alive;
	st->cl.alive_arg = st;
	while (alive(st)) {
		struct etcd_status_info info;
		struct timespec now;
		uint64_t gen;
		int64_t ttl, ms;

		if (!st->lease) {
			if ((rc = etcd_lease_grant(&st->cl, ETCD_STATUS_TTL, &st->lease, &ttl, err, sizeof(err)))) {
				if (rc == -ECANCELED)
					break;
				failed(st, "grant a lease for", err);
				goto retry;
			}
			atomic_fetch_add(&st->grants, 1);
			written = UINT64_MAX;
			clock_gettime(CLOCK_MONOTONIC, &last);
		}
		pthread_mutex_lock(&st->mu);
		info = st->info;
		gen = st->gen;
		pthread_mutex_unlock(&st->mu);
		if (gen != written) {
			char *json = etcd_status_json(st->e.node, st->address, st->admin, (long)getpid(), &info);

			rc = json ? etcd_put(&st->cl, st->key, json, strlen(json), st->lease, NULL, err, sizeof(err)) :
				    -ENOMEM;
			free(json);
			if (rc == -ECANCELED)
				break;
			if (rc) {
				if (strstr(err, "lease not found"))
					st->lease = 0;
				failed(st, "write", err);
				goto retry;
			}
			written = gen;
			atomic_fetch_add(&st->writes, 1);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
		if (ms >= ETCD_STATUS_KEEPALIVE_MS) {
			rc = etcd_lease_keepalive(&st->cl, st->lease, &ttl, err, sizeof(err));
			if (rc == -ECANCELED)
				break;
			if (rc == -ENOENT) {
				log_warn("etcd: the lease of %s expired (%s): granting a new one and writing the key again",
					 st->key, err);
				st->lease = 0;
				continue;
			}
			if (rc) {
				failed(st, "renew the lease of", err);
				goto retry;
			}
			last = now;
			ms = 0;
		}
		if (st->failing)
			log_info("etcd: the status key %s is written and its lease renewed again", st->key);
		st->failing = false;
		atomic_store(&st->up, true);
		backoff = BACKOFF_MIN_MS;
		wait_ms(st, (unsigned)(ETCD_STATUS_KEEPALIVE_MS - ms), &gen);
		continue;
retry:
		wait_ms(st, backoff, NULL);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int etcd_status_start(struct etcd_status *st)
{
	int rc = thread_start(&st->thread, st_main, st);

	st->started = !rc;
	return rc;
}

void etcd_status_free(struct etcd_status *st)
{
	char err[512];

	if (!st)
		return;
	if (st->started) {
		pthread_mutex_lock(&st->mu);
		st->stop = true;
		pthread_cond_signal(&st->cv);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->thread, NULL);
	}
	if (st->lease) {
		/* a short try: a stop must not wait on an etcd that is away */
		st->cl.alive = NULL;
		st->cl.o.request_timeout_ms = 1000;
		if (etcd_lease_revoke(&st->cl, st->lease, err, sizeof(err)))
			log_debug("etcd: cannot end the lease of %s (%s): the key goes when it runs out", st->key, err);
	}
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	free(st);
}
