/* hdisk-int.h: what the two files of the HTTP cache's disk tier share (hdisk.c the
 * loop's side, hdisk_worker.c the worker thread): the tier's state and the jobs queued
 * between them. No other file includes it. */
#ifndef HERMES_HDISK_INT_H
#define HERMES_HDISK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache_store.h"
#include "hdisk.h"
#include "list.h"
#include "loop-t.h"

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

/* The worker thread (arg: the struct hdisk): runs the jobs on todo until stop is set
 * and none is left. */
void *hdisk_worker(void *arg);

#endif
