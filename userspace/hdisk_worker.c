/* hdisk_worker.c: the HTTP cache's disk tier, its worker thread (hdisk.c is the loop's
 * side and says why a thread): every file operation, in the order the loop queued them:
 * a response written to a new file (a temporary name, then renamed), a body read back
 * and checked, a file removed, and at start the directory listed and each file's header
 * read into a record the loop indexes. Each finished job goes back on the done list,
 * with an eventfd write the loop reads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cache_disk.h"
#include "hdisk-int.h"

/* What the index read at start takes of each file first (the rest when a head is longer) */
#define HDISK_SCAN_READ 16384u

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
			/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
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
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		qsort(recs, n, sizeof(*recs), rec_cmp);
	for (size_t i = 0; i < n; i++)
		post(d, recs[i], (i & 255) == 255);
	free(recs);
	/* new names after every old one, and after the clock's now: unique across restarts */
	d->next_id = max_id + 1 > wall_ns() ? max_id + 1 : wall_ns();
	j->ms = (wall_ns() - t0) / 1000000u;
}

void *hdisk_worker(void *arg)
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
