/* etcd_src.c: the node's documents from etcd (etcd_src.h). One thread per hermesd, with
 * etcd.c's blocking client: read the node's key range (its document and the shared ones,
 * etcd_merge.h) in one answer, watch it from the next revision, and on any failure try
 * the next endpoint after a backoff (100 ms doubling to 2 s), resuming the watch where it
 * stopped; a compacted revision is answered by reading the range in full. Each revision's
 * changes are merged once all its events are in. The thread never touches the loop's
 * state: it hands merges (or its refusals) over in a one-slot mailbox (the newest wins: a
 * build applies whole documents, so a version overtaken before the loop took it need not
 * be built) and an eventfd, and gets back the applied ones to write to the state file.
 * The status key has a thread of its own (etcd_status.c), fed from the loop's side here.
 * It logs (log.c writes each line with one write(2)). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deadline.h"
#include "etcd.h"
#include "etcd_merge.h"
#include "etcd_src.h"
#include "etcd_state.h"
#include "etcd_status.h"
#include "log.h"
#include "thread.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define STATE_MAX_BYTES (4u << 20) /* the config loader's own bound (CFG_MAX_FILE_BYTES) */

#define PREFIX_LEN sizeof(((struct cfg_etcd *)0)->prefix)

struct etcd_src {
	struct cfg_etcd e;
	char key[PREFIX_LEN + 8 + sizeof(((struct cfg_etcd *)0)->node)];
	char shared_prefix[PREFIX_LEN + 9]; /* PREFIX/shared/ */
	char range_end[PREFIX_LEN + 9];     /* PREFIX/shared0: the end of what is read and watched */
	struct etcd cl;
	struct etcd_status *status;         /* the node's status key (its own thread) */
	struct etcd_status_info info;       /* the loop's: what the status key says */
	int efd;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu; /* guards stop and the two mailboxes */
	pthread_cond_t cv;
	bool stop;
	struct etcd_src_doc next; /* to the loop: the newest document (or refusal) not taken yet */
	bool have_next;
	char *save_doc;     /* from the loop: applied, to write to the state file */
	size_t save_len;
	int64_t save_rev;
	/* the thread's own */
	struct etcd_docset set; /* the documents of the watched range */
	int64_t watch_from; /* after a read of etcd at start (used or refused): the revision to
			     * watch from */
	char *last_doc;     /* the last document handed over (or the first), to log news only */
	int64_t posted_rev; /* the revision of the last document handed over (or the first) */
	char first_used[512]; /* the first document's shared ones (etcd_merged.used) */
	bool outage;        /* a failure was logged; the next success says it is over */
	struct etcd_watch *w;
	/* read by the loop */
	_Atomic int64_t applied_rev;
	_Atomic uint64_t contact_ms; /* wall clock, ms since the epoch (the start before any) */
	_Atomic uint64_t reconnects, refused;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int etcd_src_new(const struct cfg_etcd *e, const char *address, const char *admin, struct etcd_src **out)
{
	struct etcd_src *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->e = *e;
	snprintf(s->key, sizeof(s->key), "%s/nodes/%s", e->prefix, e->node);
	snprintf(s->shared_prefix, sizeof(s->shared_prefix), "%s/shared/", e->prefix);
	snprintf(s->range_end, sizeof(s->range_end), "%s/shared0", e->prefix); /* '0' follows '/' */
	etcd_docset_init(&s->set, s->key, s->shared_prefix);
	snprintf(s->info.health, sizeof(s->info.health), "ok");
	if (etcd_status_new(e, address, admin, &s->status)) {
		free(s);
		return -ENOMEM;
	}
	etcd_init_node(&s->cl, &s->e);
	/* never heard from: stale since the start */
	atomic_store(&s->contact_ms, wall_ms());
	s->efd = eventfd(0, EFD_CLOEXEC);
	if (s->efd < 0) {
		int err = -errno;

		etcd_status_free(s->status);
		free(s);
		return err;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	*out = s;
	return 0;
}

const char *etcd_src_key(const struct etcd_src *s)
{
	return s->key;
}

int etcd_src_fd(const struct etcd_src *s)
{
	return s->efd;
}

/* The state file: its header says whose document it is and at which revision. */
static int read_state(struct etcd_src *s, char **doc, size_t *len, int64_t *rev, char *err, size_t errlen)
{
	char key[sizeof(s->key)], *buf;
	struct stat st;
	ssize_t got;
	int fd, rc;

	if (!s->e.state_file[0]) {
		snprintf(err, errlen, "no etcd.state_file configured");
		return -ENOENT;
	}
	fd = open(s->e.state_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size > STATE_MAX_BYTES) {
		rc = fd < 0 ? -errno : -EFBIG;
		snprintf(err, errlen, "%s: %s", s->e.state_file, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	buf = malloc((size_t)st.st_size + 1);
	got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (got != st.st_size) {
		free(buf);
		snprintf(err, errlen, "%s: cannot read it", s->e.state_file);
		return -EIO;
	}
	buf[got] = 0;
	if (etcd_src_state_parse(buf, key, sizeof(key), rev) || strcmp(key, s->key)) {
		snprintf(err, errlen, "%s: not the state of %s (its first line should be '# hermes etcd state: key %s "
			 "revision N')", s->e.state_file, s->key, s->key);
		free(buf);
		return -EINVAL;
	}
	*doc = buf;
	*len = (size_t)got;
	return 0;
}

/* The node's key range read in one consistent answer: the set holds its documents.
 * *rev: the store's revision of the read (a watch goes on from the one after). */
static int read_range(struct etcd_src *s, int64_t *rev, char *err, size_t errlen)
{
	struct etcd_range r;
	int rc = etcd_range_end(&s->cl, s->key, s->range_end, &r, err, errlen);

	if (rc)
		return rc;
	atomic_store(&s->contact_ms, wall_ms());
	etcd_docset_clear(&s->set);
	for (size_t i = 0; i < r.n && !rc; i++)
		rc = etcd_docset_put(&s->set, r.kvs[i].key, r.kvs[i].value, r.kvs[i].value_len, r.kvs[i].mod_rev);
	if (rc)
		snprintf(err, errlen, "out of memory for the documents of %s", s->key);
	*rev = r.revision;
	etcd_range_free(&r);
	return rc;
}

/* A merge with shared documents is loaded once here, so that a value the loader refuses
 * is named in its own document and line (the build would give the merged text's). 0, or
 * the loader's -errno with why. */
static int check_merged(const struct etcd_merged *m, const char *name, char *why, size_t len)
{
	struct hermes_config *cfg;
	char err[1024];
	int rc;

	if (!m->n_shared || !(cfg = malloc(sizeof(*cfg))))
		return 0; /* out of memory: the build will say */
	rc = config_load_mem(name, m->doc, m->len, cfg, err, sizeof(err));
	if (rc)
		etcd_merged_explain(m, name, err, why, len);
	else
		config_free(cfg);
	free(cfg);
	return rc;
}

int etcd_src_first(struct etcd_src *s, char **doc, size_t *len, int64_t *rev, const char **from, char *err,
		   size_t errlen)
{
	struct etcd_merged m;
	int64_t read_rev = 0;
	char why[512];
	int rc;

	rc = read_range(s, &read_rev, why, sizeof(why));
	if (!rc) {
		rc = etcd_docset_merge(&s->set, &m, why, sizeof(why));
		if (!rc) {
			char name[sizeof(s->key) + sizeof(m.used) + 64];

			snprintf(name, sizeof(name), "etcd %s revision %" PRId64 "%s (from etcd)", s->key, s->set.rev,
				 m.used);
			rc = check_merged(&m, name, why, sizeof(why));
			if (rc)
				etcd_merged_free(&m);
		}
		if (!rc) {
			*doc = m.doc;
			*len = m.len;
			*rev = s->set.rev;
			*from = "etcd";
			snprintf(s->first_used, sizeof(s->first_used), "%s", m.used);
			m.doc = NULL; /* the caller's */
			etcd_merged_free(&m);
			s->watch_from = read_rev + 1;
			return 0;
		}
		if (rc == -ENOENT) {
			snprintf(why, sizeof(why), "%s has no key %s (revision %" PRId64 ")", etcd_endpoint(&s->cl),
				 s->key, read_rev);
		} else {
			log_error("etcd: a document refused at start: %s", why);
			etcd_src_result(s, NULL, 0, s->set.rev, rc, why);
			/* refused and counted once: the watch goes on after it, never reads it again */
			s->watch_from = read_rev + 1;
		}
	}
	log_warn("etcd: cannot read %s: %s: trying the state file %s", s->key, why,
		 s->e.state_file[0] ? s->e.state_file : "(none configured)");
	return etcd_src_state(s, doc, len, rev, from, err, errlen);
}

int etcd_src_state(struct etcd_src *s, char **doc, size_t *len, int64_t *rev, const char **from, char *err,
		   size_t errlen)
{
	int rc = read_state(s, doc, len, rev, err, errlen);

	if (!rc)
		*from = s->e.state_file;
	return rc;
}

int etcd_src_first_config(struct etcd_src *s, struct hermes_config *cfg, char **used, size_t *used_len, int64_t *used_rev)
{
	struct hermes_config *next = malloc(sizeof(*next));
	struct cfg_reload_report rep;
	char err[512], name[sizeof(s->key) + sizeof(s->first_used) + PATH_MAX + 64];
	const char *from = NULL;
	size_t len;
	int64_t rev;
	char *doc;
	int rc;

	*used = NULL;
	if (!next)
		return -ENOMEM;
	for (bool state = false;; state = true) {
		rc = state ? etcd_src_state(s, &doc, &len, &rev, &from, err, sizeof(err)) :
			     etcd_src_first(s, &doc, &len, &rev, &from, err, sizeof(err));
		if (rc) {
			log_warn("etcd: no document of %s to start from (%s): starting with %s's keys until etcd has "
				 "one", s->key, err, cfg->source);
			break;
		}
		/* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): rc 0 set rev (read_state fails with the -errno of a failed open, never 0) */
		snprintf(name, sizeof(name), "etcd %s revision %" PRId64 "%s (from %s)", s->key, rev,
			 !strcmp(from, "etcd") ? s->first_used : "", from);
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): rc 0 set doc anew (as above: never the one freed when refused) */
		rc = config_load_mem(name, doc, len, next, err, sizeof(err));
		if (rc) {
			/* err begins with the name: key, revision and source */
			log_error("etcd: a document refused at start: %s", err);
			etcd_src_result(s, doc, 0, rev, rc, err);
			if (!state && !strcmp(from, "etcd"))
				continue;
			log_warn("etcd: starting with %s's keys until etcd has a good document", cfg->source);
			break;
		}
		next->etcd = cfg->etcd; /* the file's alone (runtime.c's build does the same) */
		config_reload_merge(cfg, next, &rep);
		if (rep.n_restart)
			log_warn("etcd: %s sets %s, which the file gives at start only: the file's value%s kept", s->key,
				 rep.restart, rep.n_restart > 1 ? "s are" : " is");
		config_free(cfg);
		*cfg = *next;
		log_info("etcd: starting from %s revision %" PRId64 "%s (from %s)", s->key, rev,
			 !strcmp(from, "etcd") ? s->first_used : "", from);
		if ((*used = malloc(len + 1))) {
			memcpy(*used, doc, len + 1);
			*used_len = len;
			*used_rev = rev;
		}
		etcd_src_result(s, doc, len, rev, 0, NULL);
		break;
	}
	free(next);
	return 0;
}

/* ---- the thread ---- */

static bool stopping(struct etcd_src *s)
{
	bool stop;

	pthread_mutex_lock(&s->mu);
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void sleep_ms(struct etcd_src *s, unsigned ms)
{
	struct timespec until = deadline_after_ms(ms);

	pthread_mutex_lock(&s->mu);
	while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->mu);
}

/* Hands the loop a document (doc set) or a refusal (why set), newest wins. */
static void post(struct etcd_src *s, const char *doc, size_t len, int64_t rev, const char *used, const char *why)
{
	char *copy = doc ? malloc(len + 1) : NULL;
	uint64_t one = 1;
	bool news;

	if (doc && !copy) {
		log_error("etcd: out of memory for revision %" PRId64 " of %s: it is not applied", rev, s->key);
		return;
	}
	if (copy) {
		memcpy(copy, doc, len);
		copy[len] = 0;
	}
	pthread_mutex_lock(&s->mu);
	free(s->next.doc);
	s->next.doc = copy;
	s->next.len = len;
	s->next.rev = rev;
	snprintf(s->next.name, sizeof(s->next.name), "%s revision %" PRId64 "%s", s->key, rev, used);
	snprintf(s->next.err, sizeof(s->next.err), "%s", why ? why : "");
	s->have_next = true;
	pthread_mutex_unlock(&s->mu);
	s->posted_rev = rev;
	/* a change elsewhere in the range (another node's key, the overlay's) hands the same
	 * document at a newer revision: the loop only notes the revision */
	news = !doc || !s->last_doc || strcmp(s->last_doc, doc);
	if (doc && news) {
		free(s->last_doc);
		s->last_doc = strdup(doc);
	}
	if (doc && news)
		log_info("etcd: %s changed (revision %" PRId64 ", %zu bytes%s): applying it", s->key, rev, len, used);
	else if (doc)
		log_debug("etcd: a key beside %s changed (revision %" PRId64 "): its document is the same", s->key, rev);
	while (write(s->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* The set merged and handed over, at rev (every key of the range up to rev seen). */
static void post_merged(struct etcd_src *s, int64_t rev)
{
	struct etcd_merged m;
	char err[768], name[sizeof(s->key) + sizeof(m.used) + 32];
	int rc = etcd_docset_merge(&s->set, &m, err, sizeof(err));

	if (!rc) {
		snprintf(name, sizeof(name), "%s revision %" PRId64 "%s", s->key, rev, m.used);
		if (check_merged(&m, name, err, sizeof(err)))
			post(s, NULL, 0, rev, m.used, err);
		else
			post(s, m.doc, m.len, rev, m.used, NULL);
		etcd_merged_free(&m);
	} else if (rc == -ENOENT) {
		log_warn("etcd: %s: keeping the running config until one is written", err);
	} else if (rc == -ENOMEM) {
		log_error("etcd: %s: revision %" PRId64 " of %s is not applied", err, rev, s->key);
	} else {
		post(s, NULL, 0, rev, "", err);
	}
}

/* Writes the applied document waiting in the mailbox, if any: a temporary file beside the
 * state file, synced, then renamed over it, so that a crash leaves the old or the new. */
static void save_pending(struct etcd_src *s)
{
	char tmp[sizeof(s->e.state_file) + 8], head[sizeof(s->key) + 64], *doc;
	size_t len;
	int64_t rev;
	FILE *f;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	doc = s->save_doc;
	len = s->save_len;
	rev = s->save_rev;
	s->save_doc = NULL;
	pthread_mutex_unlock(&s->mu);
	if (!doc)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->e.state_file);
	etcd_src_state_header(head, sizeof(head), s->key, rev);
	f = fopen(tmp, "we");
	if (!f || fputs(head, f) < 0 || fwrite(doc, 1, len, f) != len || fflush(f) || fsync(fileno(f)))
		rc = -errno;
	if (f && fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, s->e.state_file))
		rc = -errno;
	if (rc) {
		log_warn("etcd: cannot write the state file %s (revision %" PRId64 " of %s): %s: a start without etcd "
			 "would use an older copy", s->e.state_file, rev, s->key, strerror(-rc));
		unlink(tmp);
	} else {
		log_debug("etcd: revision %" PRId64 " of %s written to %s", rev, s->key, s->e.state_file);
	}
	free(doc);
}

static int on_event(void *arg, const struct etcd_event *ev)
{
	struct etcd_src *s = arg;

	atomic_store(&s->contact_ms, wall_ms());
	switch (ev->type) {
	case ETCD_EV_DELETE:
		if (!strcmp(ev->kv.key, s->key))
			log_warn("etcd: %s was deleted (revision %" PRId64 "): keeping the running config", s->key,
				 ev->kv.mod_rev);
		etcd_docset_delete(&s->set, ev->kv.key, ev->kv.mod_rev);
		break;
	case ETCD_EV_PUT:
		if (etcd_docset_put(&s->set, ev->kv.key, ev->kv.value, ev->kv.value_len, ev->kv.mod_rev))
			log_error("etcd: out of memory for %s at revision %" PRId64 ": it is not applied", ev->kv.key,
				  ev->kv.mod_rev);
		break;
	case ETCD_EV_END: /* a revision's events all in: the documents are consistent */
		if (s->set.node)
			post_merged(s, ev->kv.mod_rev);
		break;
	}
	return 0;
}

/* asked by the watch about once a second: an open watch is a contact with etcd */
static bool alive(void *arg)
{
	struct etcd_src *s = arg;

	if (s->w->created)
		atomic_store(&s->contact_ms, wall_ms());
	if (s->w->created && s->outage) {
		s->outage = false;
		log_info("etcd: watching %s again on %s from revision %" PRId64, s->key, etcd_endpoint(&s->cl),
			 s->w->next_rev);
	}
	save_pending(s);
	return !stopping(s);
}

static void failed(struct etcd_src *s, const char *what, const char *err, unsigned backoff)
{
	/* the first failure of an outage at warn, the next ones at debug: a cluster that
	 * stays down for hours does not fill the log */
	if (!s->outage)
		log_warn("etcd: %s %s: %s: trying the next endpoint, with a backoff from %u ms to %u ms; the running "
			 "config stays", what, s->key, err, backoff, BACKOFF_MAX_MS);
	else
		log_debug("etcd: %s %s: %s: next try in %u ms", what, s->key, err, backoff);
	s->outage = true;
}

static void *src_main(void *arg)
{
	struct etcd_src *s = arg;
	struct etcd_watch w = { .next_rev = 0, .end = s->range_end, .want_end = true };
	bool need_range = true;
	unsigned backoff = BACKOFF_MIN_MS;
	char err[512];
	int rc;

	s->w = &w;
	/* from now on a stop ends a call in progress within a second */
	s->cl.alive = alive;
	s->cl.alive_arg = s;
	/* One watch covers the node's key and the shared documents: the keys from
	 * PREFIX/nodes/NODE to the end of PREFIX/shared/, so that one stream carries every
	 * change with one resume revision (the keys that sort between them, the nodes named
	 * after this one and the overlay's, only advance the revision). Etcd read at start
	 * (its documents applied, or refused and counted: the state file's then run): watch
	 * from the revision after that read, so that a refused document is not read, refused
	 * and counted a second time. Etcd not reached at start: read the range first */
	if (s->watch_from) {
		w.next_rev = s->watch_from;
		need_range = false;
	}
	while (!stopping(s)) {
		save_pending(s);
		if (need_range) {
			int64_t read_rev;

			if ((rc = read_range(s, &read_rev, err, sizeof(err)))) {
				if (rc == -ECANCELED)
					break;
				atomic_fetch_add(&s->reconnects, 1);
				failed(s, "cannot read", err, backoff);
				sleep_ms(s, backoff);
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			backoff = BACKOFF_MIN_MS;
			post_merged(s, s->set.rev);
			w.next_rev = read_rev + 1;
			need_range = false;
		}
		rc = etcd_watch(&s->cl, s->key, false, &w, on_event, alive, s, err, sizeof(err));
		if (rc == -ECANCELED)
			break;
		if (rc == -ESTALE) {
			log_info("etcd: %s: reading %s in full", err, s->key);
			need_range = true;
			continue;
		}
		if (w.created)
			backoff = BACKOFF_MIN_MS; /* it was up: the first retry comes soon */
		atomic_fetch_add(&s->reconnects, 1);
		failed(s, "watch of", err, backoff);
		sleep_ms(s, backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	save_pending(s);
	etcd_watch_reset(&w);
	return NULL;
}

int etcd_src_start(struct etcd_src *s)
{
	int rc = thread_start(&s->thread, src_main, s);

	s->started = !rc;
	if (!rc && (rc = etcd_status_start(s->status)))
		log_error("etcd: cannot start the thread that writes the status key %s/status/%s: %s", s->e.prefix,
			  s->e.node, strerror(-rc));
	return rc;
}

bool etcd_src_take(struct etcd_src *s, struct etcd_src_doc *out)
{
	bool have;

	pthread_mutex_lock(&s->mu);
	have = s->have_next;
	*out = s->next;
	s->next.doc = NULL;
	s->have_next = false;
	pthread_mutex_unlock(&s->mu);
	return have;
}

/* The status key follows the loop's news. */
static void status_update(struct etcd_src *s)
{
	etcd_status_set(s->status, &s->info);
}

void etcd_src_result(struct etcd_src *s, char *doc, size_t len, int64_t rev, int rc, const char *why)
{
	if (rc) {
		atomic_fetch_add(&s->refused, 1);
		free(doc);
		snprintf(s->info.config_error, sizeof(s->info.config_error), "%s", why ? why : strerror(-rc));
		status_update(s);
		return;
	}
	atomic_store(&s->applied_rev, rev);
	s->info.applied_rev = rev;
	s->info.applied_at_ms = wall_ms();
	s->info.config_error[0] = 0;
	status_update(s);
	if (!s->started) { /* the first document: the thread starts from it */
		s->posted_rev = rev;
		free(s->last_doc);
		s->last_doc = doc ? strndup(doc, len) : NULL;
	}
	if (!s->e.state_file[0] || !doc) {
		free(doc);
		return;
	}
	pthread_mutex_lock(&s->mu);
	free(s->save_doc);
	s->save_doc = doc;
	s->save_len = len;
	s->save_rev = rev;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (!s->started)
		save_pending(s);
}

void etcd_src_unchanged(struct etcd_src *s, int64_t rev)
{
	atomic_store(&s->applied_rev, rev);
	s->info.applied_rev = rev;
	s->info.config_error[0] = 0;
	status_update(s);
}

void etcd_src_health(struct etcd_src *s, const char *health)
{
	if (!strncmp(s->info.health, health, sizeof(s->info.health) - 1))
		return;
	snprintf(s->info.health, sizeof(s->info.health), "%s", health);
	status_update(s);
}

void etcd_src_get_stats(const struct etcd_src *s, struct etcd_src_stats *st)
{
	uint64_t ms = atomic_load(&((struct etcd_src *)s)->contact_ms);
	struct etcd_status_stats ss;

	st->applied_rev = atomic_load(&((struct etcd_src *)s)->applied_rev);
	st->last_contact = (double)ms / 1000;
	st->reconnects = atomic_load(&((struct etcd_src *)s)->reconnects);
	st->refused = atomic_load(&((struct etcd_src *)s)->refused);
	etcd_status_get_stats(s->status, &ss);
	st->status_up = ss.up;
	st->status_writes = ss.writes;
	st->status_failures = ss.failures;
	st->lease_grants = ss.grants;
}

void etcd_src_free(struct etcd_src *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	etcd_status_free(s->status); /* its lease ends: the status key goes now */
	etcd_docset_free(&s->set);
	free(s->next.doc);
	free(s->save_doc);
	free(s->last_doc);
	close(s->efd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
