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
/* Frees one of the descriptors held in reserve for an upstream socket that found none
 * (EMFILE/ENFILE) and rests the flow listeners; -EMFILE when the reserve is used up. */
int loop_fd_reserve_take(struct loop *lp);
/* Whether a new stream of the tunnel listener's HTTP/2 connections may open (and so open
 * an upstream socket): false while the descriptor reserve is in use or open descriptors
 * have reached the last tunnel.stream_fd_headroom_percent of RLIMIT_NOFILE. */
bool loop_stream_fd_room(struct loop *lp);
/* The same for a request of the http action on an HTTP/2 stream about to open an upstream
 * socket; true counts that socket until descriptors are counted again. */
bool loop_stream_fd_take(struct loop *lp);
/* Lends one descriptor of the reserve to an admin request that must open a file while
 * none is free (/proc for /metrics); loop_fd_give_back puts it back. false: none held. */
bool loop_fd_lend(struct loop *lp);
void loop_fd_give_back(struct loop *lp);

#endif
