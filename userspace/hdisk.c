/* hdisk.c: the HTTP cache's disk tier (hdisk.h, cache.disk_path). The loop keeps the
 * index, a cache_store of entries whose body is in a file (cache_disk.h's format), under
 * the memory store: a response the memory store takes is queued for writing, a memory
 * miss that the index has is read back and followed as a fill, a purge reaches the index
 * through the store (cache_store.below), and an entry leaving the index (evicted,
 * replaced, purged, found bad) has its file removed. One worker thread does every file
 * operation, in the order queued (a read queued before the removal of its file happens
 * first), and reports through an eventfd the loop reads with io_uring. A thread rather
 * than io_uring's file ops: the directory listing has no io_uring op, open/rename/unlink
 * and buffered writes go to the kernel's own workers anyway, checksums are computed off
 * the loop's CPU, and each operation stays one plain sequence of calls. The worker is
 * hdisk_worker.c; this file is the loop's side. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h> /* before liburing.h: it drops linux/limits.h's LINK_MAX, a name of loader.h's */
#include <liburing.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_disk.h"
#include "cache_policy.h"
#include "cache_store.h"
#include "hcache-int.h"
#include "hdisk-int.h"
#include "http.h"
#include "log.h"
#include "ring.h"

/* Bytes of responses waiting to be written: past it a response is not written (counted
 * as busy), so that a disk slower than the traffic holds no more memory than this. */
#define HDISK_QUEUE_MAX (64u << 20)

/* hermes_http_cache_disk_errors_total's index */
enum hdisk_error { HDISK_E_WRITE, HDISK_E_READ, HDISK_E_CORRUPT, HDISK_E_BUSY };
_Static_assert(STATS_N_http_cache_disk_errors == HDISK_E_BUSY + 1, "a label for each enum hdisk_error");

/* ---- the loop's side ---- */

static void submit(struct hdisk *d, struct hdisk_job *j)
{
	pthread_mutex_lock(&d->mu);
	list_add_tail(&d->todo, &j->link);
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void sync_stats(struct hdisk *d)
{
	struct loop_stats *s = &d->lp->st;

	s->http_cache_disk_objects = d->idx.stats.objects;
	s->http_cache_disk_bytes = d->idx.stats.bytes;
	s->http_cache_disk_evictions = d->idx.stats.evictions;
}

static void disk_error(struct hdisk *d, enum hdisk_error kind, int err, const char *what, uint64_t id)
{
	d->lp->st.http_cache_disk_errors[kind]++;
	/* a full or failing disk fails every write: the first ones, then one in a thousand */
	if (d->errors_logged++ < 20 || !(d->errors_logged % 1000))
		log_warn("http cache: disk %s: %s file %016llx: %s%s", d->dir, what, (unsigned long long)id,
			 err == -EBADMSG ? "corrupt (format or checksum): removed" : strerror(-err),
			 d->errors_logged == 20 ? " (further errors: one in a thousand logged)" : "");
}

static void queue_unlink(struct hdisk *d, uint64_t id)
{
	struct hdisk_job *j = calloc(1, sizeof(*j));

	if (!j) /* left on disk: the next start's index finds it, or a newer one wins */
		return;
	j->kind = HD_UNLINK;
	j->id = id;
	submit(d, j);
}

/* An entry leaving the index: its file goes. */
static void idx_dropped(struct cache_store *st, struct cache_entry *e)
{
	queue_unlink(st->hook_arg, e->file_id);
}

/* A response the memory store took: written, unless it came from a file. */
static void mem_inserted(struct cache_store *st, struct cache_entry *e)
{
	struct hdisk *d = st->hook_arg;
	struct hdisk_job *j;
	size_t size = sizeof(struct cdisk_hdr) + e->klen + e->vnlen + e->vklen + e->head_len + e->body->len;

	if (e->file_id || size > d->idx.max_bytes) /* read from a file, or larger than the directory */
		return;
	if (d->queued + size > HDISK_QUEUE_MAX || !(j = calloc(1, sizeof(*j)))) {
		d->lp->st.http_cache_disk_errors[HDISK_E_BUSY]++;
		return;
	}
	cache_entry_get(e);
	j->kind = HD_WRITE;
	j->purge_runs = d->idx.purge_runs;
	j->e = e;
	j->len = size;
	d->queued += size;
	submit(d, j);
}

/* A file into the index (the caller's reference passes): not when a later response
 * of the same variant is there, or when it is larger than the whole directory. */
static struct cache_entry *index_add(struct hdisk *d, struct cache_entry *ie)
{
	if (ie->charge > d->idx.max_bytes || cache_store_newer(&d->idx, ie)) {
		queue_unlink(d, ie->file_id);
		cache_entry_put(&d->idx, ie);
		return NULL;
	}
	return cache_store_insert(&d->idx, ie) ? NULL : ie;
}

static struct cache_entry *index_entry(struct hdisk *d, const struct cdisk_obj *o, uint64_t size)
{
	struct cache_entry *ie = cache_entry_new(&d->idx, o->key, o->klen, o->vary_names, o->vnlen, o->vary_key, o->vklen,
						 o->head, o->head_len, &o->meta);

	if (!ie)
		return NULL;
	ie->file_id = o->id;
	ie->file_body = o->body_len;
	ie->charge = size; /* the directory's bytes, not memory's */
	return ie;
}

static void write_done(struct hdisk *d, struct hdisk_job *j)
{
	struct cache_entry *e = j->e, *ie = NULL;
	struct cdisk_obj o = { .id = j->id, .key = e->key, .klen = e->klen, .vary_names = e->vary_names,
			       .vnlen = e->vnlen, .vary_key = e->vary_key, .vklen = e->vklen, .head = e->head,
			       .head_len = e->head_len, .body_len = e->body->len, .meta = e->meta };

	d->queued -= j->len;
	if (j->err) {
		disk_error(d, HDISK_E_WRITE, j->err, "writing", j->id);
	} else if (e->purged || (!e->linked && j->purge_runs != d->idx.purge_runs)) {
		/* purged or invalidated while it was written (or evicted from memory while a
		 * purge ran, which may have been its): not to come back */
		queue_unlink(d, j->id);
	} else {
		d->lp->st.http_cache_disk_writes++;
		if (!(ie = index_entry(d, &o, j->size)))
			queue_unlink(d, j->id);
		else if ((ie = index_add(d, ie)) && !e->disk) {
			cache_entry_get(ie);
			e->disk = ie; /* its hits keep the file recently used */
			e->file_id = j->id;
		}
	}
	cache_entry_put(d->mem, e);
}

/* A load ends: its entry into the memory store when whole (unless purged meanwhile, or
 * a later response was stored since), and the requests waiting for it decided
 * (hcache_loaded: served, validated, or sent upstream when it failed). */
static void load_end(struct hdisk *d, struct hcache_fill *fl, struct cache_entry *ie, bool ok, bool purge_ran)
{
	struct cache_entry *e = fl->e;
	struct hcache_req *r, *t;

	if (!fl->purged)
		list_del(&fl->link);
	fl->done = ok;
	/* a purge or an invalidation that ran meanwhile may have been this one's */
	ok = ok && !fl->purged && !purge_ran && !cache_store_newer(d->mem, e);
	cache_entry_get(e); /* across the insert, for the waiting requests */
	if (ok) {
		if (ie->linked) {
			cache_entry_get(ie);
			e->disk = ie;
		}
		(void)cache_store_insert(d->mem, e); /* the load's reference passes */
	} else {
		cache_entry_put(d->mem, e);
	}
	list_for_each_safe(r, t, &fl->readers, rlink) {
		list_del(&r->rlink);
		r->follow = NULL;
		hcache_loaded(d->lp, r->x, ok ? e : NULL);
	}
	cache_entry_put(d->mem, e);
	free(fl);
}

static void read_done(struct hdisk *d, struct hdisk_job *j)
{
	struct hcache_fill *fl = j->fl;
	int err = j->err;

	if (!err && cache_entry_append(d->mem, fl->e, j->buf + j->off, j->len))
		err = -ENOMEM;
	if (err) {
		disk_error(d, err == -EBADMSG ? HDISK_E_CORRUPT : HDISK_E_READ, err, "reading", j->id);
		cache_store_remove(&d->idx, j->e); /* not to be tried again: its file goes */
	} else {
		d->lp->st.http_cache_disk_reads++;
	}
	load_end(d, fl, j->e, !err, j->purge_runs != d->idx.purge_runs);
	cache_entry_put(&d->idx, j->e);
}

static void rec_done(struct hdisk *d, struct hdisk_job *j)
{
	struct cdisk_obj o;
	struct cdisk_hdr h;
	struct cache_entry *ie;

	if (cdisk_parse(j->buf, j->len, j->size, &o, &h) <= 0 || !(ie = index_entry(d, &o, j->size)))
		return; /* it parsed in the worker: only out of memory */
	index_add(d, ie);
}

static void scan_done(struct hdisk *d, struct hdisk_job *j)
{
	d->lp->st.http_cache_disk_errors[HDISK_E_CORRUPT] += j->n_corrupt;
	d->lp->st.http_cache_disk_foreign = j->n_foreign;
	if (j->err) {
		log_error("http cache: disk %s: cannot list the directory: %s: the files stored before are not used",
			  d->dir, strerror(-j->err));
		return;
	}
	log_info("http cache: disk %s: index read in %llu ms: %llu objects, %llu bytes (kept within max_size_mb "
		 "%llu: %llu objects, %llu bytes); %llu corrupt files skipped and removed, %llu unfinished writes "
		 "removed, %llu files not the cache's left alone",
		 d->dir, (unsigned long long)j->ms, (unsigned long long)j->n_ok, (unsigned long long)j->bytes,
		 (unsigned long long)d->idx.max_bytes >> 20, (unsigned long long)d->idx.stats.objects,
		 (unsigned long long)d->idx.stats.bytes, (unsigned long long)j->n_corrupt, (unsigned long long)j->n_temp,
		 (unsigned long long)j->n_foreign);
}

/* What a job leaves when nothing waits for it any more (at stop). */
static void job_free(struct hdisk *d, struct hdisk_job *j)
{
	if (j->kind == HD_WRITE)
		cache_entry_put(d->mem, j->e);
	if (j->kind == HD_READ) {
		list_del(&j->fl->link);
		cache_entry_put(d->mem, j->fl->e);
		free(j->fl);
		cache_entry_put(&d->idx, j->e);
	}
	free(j->buf);
	free(j);
}

static void take_done(struct hdisk *d, struct list *got)
{
	list_init(got);
	pthread_mutex_lock(&d->mu);
	if (!list_empty(&d->done)) {
		got->next = d->done.next;
		got->prev = d->done.prev;
		got->next->prev = got;
		got->prev->next = got;
		list_init(&d->done);
	}
	pthread_mutex_unlock(&d->mu);
}

static loop_done_fn hdisk_ready;

static void arm(struct hdisk *d)
{
	io_uring_prep_read(loop_sqe(d->lp, &d->op, hdisk_ready), d->efd, &d->count, sizeof(d->count), 0);
}

static void hdisk_ready(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hdisk *d = (struct hdisk *)((char *)op - offsetof(struct hdisk, op));
	struct hdisk_job *j;
	struct list got;

	if (cqe->res < 0 && cqe->res != -EINTR && cqe->res != -EAGAIN) {
		log_error("http cache: disk %s: reading the worker's eventfd: %s: the disk tier stops answering",
			  d->dir, strerror(-cqe->res));
		return;
	}
	arm(d);
	take_done(d, &got);
	while ((j = list_first(&got, struct hdisk_job, link))) {
		list_del(&j->link);
		switch (j->kind) {
		case HD_SCAN:
			scan_done(d, j);
			break;
		case HD_REC:
			rec_done(d, j);
			break;
		case HD_WRITE:
			write_done(d, j);
			break;
		case HD_READ:
			read_done(d, j);
			break;
		case HD_UNLINK:
			if (j->err)
				disk_error(d, HDISK_E_WRITE, j->err, "removing", j->id);
			break;
		}
		free(j->buf);
		free(j);
	}
	sync_stats(d);
	(void)lp;
}

struct hcache_fill *hdisk_find(struct loop *lp, const char *key, size_t kl, const struct hmsg *req)
{
	struct hdisk *d = lp->http->disk;
	struct cache_entry *ie, *e = NULL;
	struct hcache_fill *fl = NULL;
	struct hdisk_job *j = NULL;
	struct hmsg sh;

	if (!d || !(ie = cache_store_get(&d->idx, key, kl, req)))
		return NULL;
	e = cache_entry_new(d->mem, ie->key, ie->klen, ie->vary_names, ie->vnlen, ie->vary_key, ie->vklen, ie->head,
			    ie->head_len, &ie->meta);
	if (e && (cache_entry_head(e, &sh) || !cache_head_stored(&sh))) {
		/* a head hermesd never writes (a damaged or foreign file): never served */
		disk_error(d, HDISK_E_CORRUPT, -EBADMSG, "reading", ie->file_id);
		cache_entry_put(d->mem, e);
		cache_store_remove(&d->idx, ie); /* its file goes */
		cache_entry_put(&d->idx, ie);
		return NULL;
	}
	fl = e ? calloc(1, sizeof(*fl)) : NULL;
	j = fl ? calloc(1, sizeof(*j)) : NULL;
	if (!j) {
		free(fl);
		cache_entry_put(d->mem, e);
		cache_entry_put(&d->idx, ie);
		return NULL;
	}
	e->file_id = ie->file_id; /* not to be written again */
	fl->e = e;
	fl->total = ie->file_body;
	list_init(&fl->readers);
	list_add(&lp->http->fills, &fl->link);
	j->kind = HD_READ;
	j->purge_runs = d->idx.purge_runs;
	j->id = ie->file_id;
	j->size = ie->charge;
	j->e = ie; /* cache_store_get's reference */
	j->fl = fl;
	submit(d, j);
	return fl;
}

/* The files are written after hermesd dropped its privileges (the worker starts
 * then): as `user:` if set, else as root without CAP_DAC_OVERRIDE or CAP_CHOWN (the
 * unit's bounding set). Either way the directory must be that uid's (or writable by its
 * group or by all). 0, or -EACCES (logged). */
static int user_may_write(struct loop *lp, int dfd, const char *path)
{
	const char *user = lp->cfg->user;
	struct passwd *pw = user[0] ? getpwnam(user) : NULL;
	uid_t uid = pw ? pw->pw_uid : geteuid();
	gid_t gid = pw ? pw->pw_gid : getegid();
	struct stat sb;

	if ((user[0] && !pw) || fstat(dfd, &sb))
		return 0; /* the user is checked at start (validate.c) */
	if (sb.st_uid == uid || (sb.st_gid == gid && (sb.st_mode & S_IWGRP)) || (sb.st_mode & S_IWOTH))
		return 0;
	if (user[0])
		log_error("http cache: the disk directory %s (cache.disk_path) is not writable by user %s, whom "
			  "hermesd becomes once set up: make it theirs (install -d -o %s -m 0700 %s)", path, user, user,
			  path);
	else
		log_error("http cache: the disk directory %s (cache.disk_path) is not writable by uid %u once hermesd "
			  "dropped CAP_DAC_OVERRIDE: make it its (install -d -o %u -m 0700 %s)", path, (unsigned)uid,
			  (unsigned)uid, path);
	return -EACCES;
}

/* The loop's first turn, after main.c dropped the privileges (capabilities are per
 * thread: one made before would keep them all): the worker starts. */
static void hdisk_start(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hdisk *d = (struct hdisk *)((char *)op - offsetof(struct hdisk, op_start));
	sigset_t all, old;
	int err;

	(void)cqe;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&d->thread, NULL, hdisk_worker, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_error("http cache: disk %s: cannot start its thread: %s: the cache stays in memory only", d->dir,
			  strerror(-err));
		hdisk_fini(lp);
		return;
	}
	pthread_setname_np(d->thread, "hermesd-disk");
	d->started = true;
}

int hdisk_init(struct loop *lp, struct cache_store *mem)
{
	const struct cfg_cache *c = &lp->cfg->cache;
	struct hdisk *d;
	struct hdisk_job *scan;
	int err;

	if (!c->disk_path[0])
		return 0;
	if (mkdir(c->disk_path, 0700) && errno != EEXIST) {
		err = -errno;
		log_error("http cache: cannot make the disk directory %s (cache.disk_path): %s", c->disk_path,
			  strerror(-err));
		return err;
	}
	d = calloc(1, sizeof(*d));
	scan = calloc(1, sizeof(*scan));
	if (!d || !scan) {
		free(d);
		free(scan);
		return -ENOMEM;
	}
	d->lp = lp;
	d->mem = mem;
	d->efd = -1;
	snprintf(d->dir, sizeof(d->dir), "%s", c->disk_path);
	d->dfd = open(c->disk_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dfd < 0 || faccessat(d->dfd, ".", W_OK | X_OK, AT_EACCESS)) {
		err = -errno;
		log_error("http cache: cannot use the disk directory %s (cache.disk_path): %s: it must be a directory "
			  "that hermesd's user may write", c->disk_path, strerror(-err));
		goto fail;
	}
	if ((err = user_may_write(lp, d->dfd, c->disk_path)))
		goto fail;
	err = cache_store_init(&d->idx, (uint64_t)c->disk_max_size_mb << 20, UINT64_MAX);
	if (err)
		goto fail;
	d->efd = eventfd(0, EFD_CLOEXEC);
	if (d->efd < 0) {
		err = -errno;
		log_error("http cache: disk: eventfd: %s", strerror(-err));
		goto fail_idx;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	list_init(&d->todo);
	list_init(&d->done);
	d->idx.bare = true;
	d->idx.on_drop = idx_dropped;
	d->idx.hook_arg = d;
	/* the listing first: no write is made before every old name is known */
	scan->kind = HD_SCAN;
	list_add_tail(&d->todo, &scan->link);
	mem->below = &d->idx;
	mem->on_insert = mem_inserted;
	mem->hook_arg = d;
	lp->http->disk = d;
	arm(d);
	/* jobs wait in todo until then */
	io_uring_prep_nop(loop_sqe(lp, &d->op_start, hdisk_start));
	log_info("http cache: disk %s: up to %u MB; reading its index in the background", d->dir,
		 c->disk_max_size_mb);
	return 0;
fail_idx:
	cache_store_free(&d->idx);
fail:
	if (d->efd >= 0)
		close(d->efd);
	if (d->dfd >= 0)
		close(d->dfd);
	free(scan);
	free(d);
	return err;
}

void hdisk_fini(struct loop *lp)
{
	struct hdisk *d = lp->http->disk;
	struct hdisk_job *j;
	struct list got;

	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (d->started)
		pthread_join(d->thread, NULL); /* the writes queued are made first */
	take_done(d, &got);
	while ((j = list_first(&d->todo, struct hdisk_job, link))) { /* never started */
		list_del(&j->link);
		list_add_tail(&got, &j->link);
	}
	while ((j = list_first(&got, struct hdisk_job, link))) {
		list_del(&j->link);
		job_free(d, j);
	}
	d->mem->below = NULL;
	d->mem->on_insert = NULL;
	cache_store_free(&d->idx);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	close(d->efd);
	close(d->dfd);
	free(d);
	lp->http->disk = NULL;
}
