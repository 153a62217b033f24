/* loop.h: hermesd's io_uring event loop (loop.c), which accepts, ticks and reloads the
 * modules. What a module needs of the loop is in ring.h. */
#ifndef HERMES_LOOP_H
#define HERMES_LOOP_H

#include "loop-t.h"
#include "ring.h"

/* Sets up the runtime snapshot, the ring, listeners and signal handling. Takes the
 * loaded config over, even when it fails: *cfg moves into the first snapshot (lp->rt,
 * lp->cfg) and is left empty. Returns 0 or -errno (logged). */
int loop_init(struct loop *lp, struct hermes_config *cfg, struct loader *ld, const char *config_path);
/* Listens on (and arms the accepts of) the inbound listeners, or all the others: the
 * listeners are only bound by loop_init, so that no port takes a connection before
 * the maps, pins and links exist. The inbound ones go first because the sk_lookup
 * map takes listening sockets only. Returns 0 or -errno (logged). */
int loop_listen(struct loop *lp, bool inbound);
/* Runs until SIGTERM/SIGINT has drained every flow. Returns the exit code. */
int loop_run(struct loop *lp);
void loop_fini(struct loop *lp);

#endif
