/* runtime-t.h: the runtime snapshot of hermesd: one loaded config (policy rules, tunnel
 * routes, tunnel_access, http routes, limits) with the TLS contexts made from its tls
 * section. A SIGHUP builds a whole new one and the loop swaps its pointer; whatever
 * started under a snapshot (an http request, a proxy or tunnel flow) holds a reference
 * and keeps reading that one, so a reload never frees what is in use. Functions in
 * runtime.h. */
#ifndef HERMES_RUNTIME_T_H
#define HERMES_RUNTIME_T_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config-t.h"

/* Immutable once installed, but for the routes' round-robin positions (cfg_http_route
 * rr), which belong to the snapshot and start again with each reload. */
struct runtime {
	unsigned refs;             /* the loop's (while current) + one per holder */
	uint64_t gen;              /* 1 for the config read at start, then one more per reload */
	struct hermes_config *cfg; /* owned (heap) */
	void *tls_server, *tls_client; /* SSL_CTX *, NULL without a tls section; an SSL made
					* from one holds its own reference */
};

/* A snapshot being built off the loop for a SIGHUP (rt_build_start): the file is read,
 * parsed and merged and the TLS contexts made in a thread of their own, so that a slow
 * file system, a large file or many certificates never hold up the flows the loop serves.
 * The loop owns it. From the start until the thread has written efd, the thread alone
 * writes the results and reads the inputs, which nobody changes meanwhile; the loop reads
 * the results after joining the thread (rt_build_join). One build at a time. */
struct rt_build {
	int efd;               /* eventfd: the thread adds 1 when it is done (-1: none yet) */
	bool running;          /* started and not joined yet */
	pthread_t thread;
	/* in, read-only for the thread */
	const char *path;      /* the file, or the name of doc */
	const char *doc;       /* the YAML itself (a document from etcd), NULL: read path */
	size_t doc_len;
	struct runtime *base;  /* the snapshot running when the build began: read for the keys
				* that keep their running value; the build holds a reference */
	/* out, the thread's until it is joined */
	struct runtime *rt;    /* the new snapshot (generation base's + 1, one reference: the
				* joiner's), NULL when the build failed */
	int rc;                /* 0, or the failed step's -errno: config_load's (-E2BIG or -EFBIG
				* for a limit of the file), or rt_new's (-EINVAL: the TLS files) */
	bool tls_failed;       /* rc is rt_new's */
	struct cfg_reload_report rep; /* what config_reload_merge found */
	char err[512];         /* the message of a failure */
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC, for the duration */
};

#endif
