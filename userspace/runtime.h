/* runtime.h: the refcounted runtime snapshot (runtime-t.h). Prefix rt_. The loop holds
 * the current one (lp->rt, with lp->cfg == lp->rt->cfg); a holder takes rt_get() when it
 * starts and rt_put() when it ends, and reads its own snapshot, not the loop's. A SIGHUP
 * builds the next one in a thread (rt_build_*); references are taken and dropped on the
 * loop's thread only. */
#ifndef HERMES_RUNTIME_H
#define HERMES_RUNTIME_H

#include <stddef.h>

#include "runtime-t.h"

/* A snapshot of cfg (heap-allocated, loaded, merged), with one reference (the caller's).
 * It makes the TLS contexts when cfg has a tls section: certificates are read anew each
 * time. 0 and *out, the snapshot owning cfg; or -ENOMEM, or -EINVAL with a message naming
 * the file at fault in err, and cfg stays the caller's. */
int rt_new(struct hermes_config *cfg, uint64_t gen, struct runtime **out, char *err, size_t errlen);
/* One more reference to rt (which must have one already); returns rt. */
struct runtime *rt_get(struct runtime *rt);
/* Drops a reference; the last one frees the snapshot, its config and its TLS contexts.
 * NULL is a no-op. */
void rt_put(struct runtime *rt);

/* Makes b's eventfd (once, before the first build). 0 or -errno. */
int rt_build_init(struct rt_build *b);
/* Starts building the snapshot of the file at path (or, when doc is not NULL, of the
 * YAML in doc[0..doc_len), path naming it) in a thread: config_load,
 * config_reload_merge against running's config (read only), rt_new with generation
 * running->gen + 1. The thread touches nothing else: no log line, no counter, no state of
 * the loop. b holds a reference to running until rt_build_join. b must not be running.
 * 0, or -errno when no thread could start (nothing started). */
int rt_build_start(struct rt_build *b, const char *path, const char *doc, size_t doc_len, struct runtime *running);
/* Once b->efd was read (the thread is done): joins the thread and drops the reference
 * to the base. The results are in b; b->rt, if any, is the caller's. */
void rt_build_join(struct rt_build *b);
/* At exit, after the loop's last read of efd: waits up to wait_ms for a build in
 * progress to end, frees what it made, closes efd. false when it was still going (a file
 * that never comes): the thread, its base and efd are left to the process's exit. */
bool rt_build_fini(struct rt_build *b, int wait_ms);

#endif
