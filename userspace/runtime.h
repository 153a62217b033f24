/* runtime.h: the refcounted runtime snapshot (runtime-t.h). Prefix rt_. The loop holds
 * the current one (lp->rt, with lp->cfg == lp->rt->cfg); a holder takes rt_get() when it
 * starts and rt_put() when it ends, and reads its own snapshot, not the loop's. */
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

#endif
