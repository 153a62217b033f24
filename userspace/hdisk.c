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
 * the loop's CPU, and each operation stays one plain sequence of calls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cache_disk.h"
#include "cache_policy.h"
#include "cache_store.h"
#include "hcache-int.h"
#include "hdisk.h"
#include "http.h"
#include "log.h"
#include "ring.h"

/* Bytes of responses waiting to be written: past it a response is not written (counted
 * as busy), so that a disk slower than the traffic holds no more memory than this. */
#define HDISK_QUEUE_MAX (64u << 20)
/* What the index read at start takes of each file first (the rest when a head is longer) */
#define HDISK_SCAN_READ 16384u

/* hermes_http_cache_disk_errors_total's index */
enum hdisk_error { HDISK_E_WRITE, HDISK_E_READ, HDISK_E_CORRUPT, HDISK_E_BUSY };
_Static_assert(STATS_N_http_cache_disk_errors == HDISK_E_BUSY + 1, "a label for each enum hdisk_error");

enum hdisk_kind {
	HD_SCAN,   /* list the directory: HD_REC jobs back, then this one with the totals */
	HD_REC,    /* a file found at start (buf: its header and strings) */
	HD_WRITE,  /* e's response into a new file */
	HD_READ,   /* the body of file id into buf, for fl */
	HD_UNLINK, /* file id removed */
};

struct hdisk_job {
	struct list link;
	enum hdisk_kind kind;
	int err;                /* 0, -errno, -EBADMSG (corrupt) or -ECANCELED (stopping) */
	uint64_t id;            /* the file (WRITE: chosen by the worker) */
	uint64_t size;          /* the file's bytes */
	struct cache_entry *e;  /* WRITE: the memory entry; READ: the index entry (a reference each) */
	struct hcache_fill *fl; /* READ: the load its readers follow */
	uint64_t purge_runs;    /* WRITE, READ: the index's purge_runs when queued */
	char *buf;              /* READ: the file (the body at off); REC: the header and strings */
	size_t off, len;        /* READ: the body; WRITE: the bytes counted in queued */
	/* SCAN's totals */
	uint64_t n_ok, bytes, n_corrupt, n_foreign, n_temp, ms;
};

struct hdisk {
	struct loop *lp;
	struct cache_store *mem;
	struct cache_store idx;
	char dir[256];
	int dfd, efd;
	pthread_t thread;
	bool started;           /* the thread runs (from the loop's first turn: hdisk_start) */
	struct loop_op op_start;
	pthread_mutex_t mu;     /* guards todo, done and stop */
	pthread_cond_t cv;
	struct list todo, done;
	bool stop;              /* also read unlocked by the worker between files (atomic) */
	uint64_t next_id;       /* the worker's */
	struct loop_op op;      /* read of efd */
	uint64_t count;
	size_t queued;          /* the loop's: bytes of writes waiting */
	uint64_t errors_logged;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the worker ---- */

static void post(struct hdisk *d, struct hdisk_job *j, bool wake)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->mu);
	list_add_tail(&d->done, &j->link);
	pthread_mutex_unlock(&d->mu);
	if (wake && write(d->efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow at one a job; nothing else can fail here */
	}
}

static int read_all(int fd, char *p, size_t n, off_t at)
{
	while (n) {
		ssize_t r = pread(fd, p, n, at);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EBADMSG; /* shorter than its header says */
		p += r, n -= (size_t)r, at += r;
	}
	return 0;
}

static void do_write(struct hdisk *d, struct hdisk_job *j)
{
	const struct cache_entry *e = j->e;
	struct cdisk_obj o = { .id = d->next_id++, .key = e->key, .klen = e->klen, .vary_names = e->vary_names,
			       .vnlen = e->vnlen, .vary_key = e->vary_key, .vklen = e->vklen, .head = e->head,
			       .head_len = e->head_len, .body_len = e->body->len, .meta = e->meta };
	struct cdisk_hdr h;
	char tmp[CDISK_NAME_MAX], name[CDISK_NAME_MAX];
	struct iovec iov[6], *v = iov;
	int n = 6, fd;
	off_t at = 0;

	cdisk_header(&o, e->body->data, &h);
	cdisk_name(o.id, true, tmp);
	cdisk_name(o.id, false, name);
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ (void *)e->key, e->klen };
	iov[2] = (struct iovec){ (void *)e->vary_names, e->vnlen };
	iov[3] = (struct iovec){ (void *)e->vary_key, e->vklen };
	iov[4] = (struct iovec){ (void *)e->head, e->head_len };
	iov[5] = (struct iovec){ e->body->data, e->body->len };
	j->id = o.id;
	j->size = cdisk_meta_len(&o) + o.body_len;
	fd = openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		j->err = -errno;
		return;
	}
	while (n) {
		ssize_t r = pwritev(fd, v, n, at);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			j->err = r < 0 ? -errno : -EIO;
			break;
		}
		at += r;
		while (n && (size_t)r >= v->iov_len)
			r -= (ssize_t)v->iov_len, v++, n--;
		if (n) {
			v->iov_base = (char *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
	if (close(fd) && !j->err)
		j->err = -errno;
	/* whole, then under its name: a crash leaves a .tmp (removed at start) or nothing */
	if (!j->err && renameat(d->dfd, tmp, d->dfd, name))
		j->err = -errno;
	if (j->err)
		unlinkat(d->dfd, tmp, 0);
}

static void do_read(struct hdisk *d, struct hdisk_job *j)
{
	char name[CDISK_NAME_MAX];
	struct cdisk_obj o;
	struct cdisk_hdr h;
	struct stat sb;
	long meta;
	int fd;

	cdisk_name(j->id, false, name);
	fd = openat(d->dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		j->err = -errno;
		return;
	}
	if (fstat(fd, &sb)) {
		j->err = -errno;
		goto out;
	}
	if (sb.st_size != (off_t)j->size) { /* not the file indexed */
		j->err = -EBADMSG;
		goto out;
	}
	j->buf = malloc(j->size ? j->size : 1);
	if (!j->buf) {
		j->err = -ENOMEM;
		goto out;
	}
	j->err = read_all(fd, j->buf, j->size, 0);
	if (j->err)
		goto out;
	meta = cdisk_parse(j->buf, j->size, j->size, &o, &h);
	if (meta <= 0 || o.id != j->id || cdisk_check_body(&h, j->buf + meta)) {
		j->err = -EBADMSG;
		goto out;
	}
	j->off = (size_t)meta;
	j->len = o.body_len;
out:
	close(fd);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct hdisk_job *x = *(struct hdisk_job *const *)a, *y = *(struct hdisk_job *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* One file found at start: a record of its header and strings, or NULL (corrupt:
 * removed and counted). */
static struct hdisk_job *scan_file(struct hdisk *d, const char *name, uint64_t id, struct hdisk_job *sum)
{
	struct hdisk_job *r = NULL;
	struct cdisk_obj o;
	struct cdisk_hdr h;
	struct stat sb;
	size_t n;
	long meta = -EIO;
	char *buf = NULL;
	int fd = openat(d->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &sb))
		goto bad;
	if (!S_ISREG(sb.st_mode)) {
		meta = -EISDIR; /* a name like ours on something else: not ours to remove */
		goto bad;
	}
	n = (uint64_t)sb.st_size < HDISK_SCAN_READ ? (size_t)sb.st_size : HDISK_SCAN_READ;
	buf = malloc(n ? n : 1);
	if (!buf || (meta = read_all(fd, buf, n, 0)))
		goto bad;
	meta = cdisk_parse(buf, n, (uint64_t)sb.st_size, &o, &h);
	if (!meta) { /* a head longer than the first read */
		size_t want = sizeof(h) + h.klen + h.vnlen + h.vklen + h.head_len;
		char *b = realloc(buf, want);

		meta = -ENOMEM;
		if (!b)
			goto bad;
		buf = b;
		meta = read_all(fd, buf + n, want - n, (off_t)n);
		if (!meta)
			meta = cdisk_parse(buf, want, (uint64_t)sb.st_size, &o, &h);
	}
	if (meta > 0 && o.id != id)
		meta = -EBADMSG; /* renamed by hand, or another file's copy */
	if (meta <= 0 || !(r = calloc(1, sizeof(*r))))
		goto bad;
	close(fd);
	r->kind = HD_REC;
	r->id = id;
	r->size = (uint64_t)sb.st_size;
	r->buf = buf;
	r->len = (size_t)meta;
	sum->n_ok++;
	sum->bytes += r->size;
	return r;
bad:
	if (fd >= 0)
		close(fd);
	free(buf);
	if (meta != -ENOMEM && meta <= 0)
		sum->n_corrupt++;
	if (meta == -EBADMSG)
		unlinkat(d->dfd, name, 0); /* one of ours, torn or damaged: its room back */
	return NULL;
}

/* The directory listed: its objects handed to the loop oldest first (so that the
 * oldest are the least recently used), what is not one counted. */
static void do_scan(struct hdisk *d, struct hdisk_job *j)
{
	uint64_t t0 = wall_ns(), max_id = 0;
	struct hdisk_job **recs = NULL, *r;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int fd = openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;

	if (!dir) {
		j->err = -errno;
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir)) && !__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		uint64_t id;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		switch (cdisk_name_kind(de->d_name, &id)) {
		case CDISK_FOREIGN:
			j->n_foreign++;
			continue;
		case CDISK_TEMP: /* a write a stop or crash cut short */
			if (!unlinkat(d->dfd, de->d_name, 0))
				j->n_temp++;
			continue;
		case CDISK_OBJECT:
			break;
		}
		if (n == cap) {
			struct hdisk_job **g = realloc(recs, (cap = cap ? cap * 2 : 256) * sizeof(*recs));

			if (!g)
				break;
			recs = g;
		}
		if ((r = scan_file(d, de->d_name, id, j))) {
			recs[n++] = r;
			if (id > max_id)
				max_id = id;
		}
	}
	closedir(dir);
	if (n)
		qsort(recs, n, sizeof(*recs), rec_cmp);
	for (size_t i = 0; i < n; i++)
		post(d, recs[i], (i & 255) == 255);
	free(recs);
	/* new names after every old one, and after the clock's now: unique across restarts */
	d->next_id = max_id + 1 > wall_ns() ? max_id + 1 : wall_ns();
	j->ms = (wall_ns() - t0) / 1000000u;
}

static void *worker(void *arg)
{
	struct hdisk *d = arg;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		struct hdisk_job *j;

		while (!d->stop && list_empty(&d->todo))
			pthread_cond_wait(&d->cv, &d->mu);
		if (!(j = list_first(&d->todo, struct hdisk_job, link)))
			break; /* stopping, and every job done */
		list_del(&j->link);
		pthread_mutex_unlock(&d->mu);
		switch (j->kind) {
		case HD_SCAN:
			do_scan(d, j);
			break;
		case HD_WRITE:
			do_write(d, j);
			break;
		case HD_READ:
			if (__atomic_load_n(&d->stop, __ATOMIC_RELAXED))
				j->err = -ECANCELED; /* nobody waits for it */
			else
				do_read(d, j);
			break;
		case HD_UNLINK: {
			char name[CDISK_NAME_MAX];

			cdisk_name(j->id, false, name);
			if (unlinkat(d->dfd, name, 0) && errno != ENOENT)
				j->err = -errno;
			break;
		}
		case HD_REC:
			break;
		}
		post(d, j, true);
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

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
	err = -pthread_create(&d->thread, NULL, worker, d);
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
