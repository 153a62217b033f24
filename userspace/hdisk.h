/* hdisk.h: the HTTP cache's disk tier (hdisk.c, cache.disk_path): memory stays the
 * front, and every response stored in memory is also written to a file of the
 * directory (as squid's cache_dir and nginx's proxy_cache keep everything on disk), so
 * that what memory evicts, and what was stored before a restart, is read back on a
 * memory miss instead of fetched again. The directory keeps at most max_size_mb bytes,
 * least recently used files removed first; its index (keys, heads, times: what a
 * lookup decides with) is in memory, read from the files at start. The files are
 * written, read, removed and listed by one worker thread, never on the loop. */
#ifndef HERMES_HDISK_H
#define HERMES_HDISK_H

#include <stddef.h>

#include "hmsg-t.h"

struct loop;
struct cache_store;
struct hcache_fill;

/* The disk tier under the memory store mem when cache.disk_path is set (else 0 and
 * nothing): the directory made if missing and checked, the worker started on the
 * loop's first turn (after the privilege drop: capabilities are per thread), the index
 * read in the background (objects become hits as they are read; the count is logged at
 * the end). 0 or -errno (logged: the directory cannot be made, opened or written). */
int hdisk_init(struct loop *lp, struct cache_store *mem);
/* Stops the worker once the writes queued are done; the files stay. */
void hdisk_fini(struct loop *lp);
/* A memory miss: when the directory holds a response under key whose Vary names give
 * req its secondary key, a load of it into memory: a fill without a filler
 * (hcache-int.h), its head known now, its body as the worker reads it; the requests
 * that want it wait until it is whole and checked (hcache_park, hcache_loaded), so a
 * damaged file is a miss, never a reset. Else NULL. */
struct hcache_fill *hdisk_find(struct loop *lp, const char *key, size_t kl, const struct hmsg *req);

#endif
