/* fdres.h: the descriptor reserve and the streams' share of descriptors (fdres.c). */
#ifndef HERMES_FDRES_H
#define HERMES_FDRES_H

#include <stdbool.h>

struct loop;

/* One more descriptor in the reserve: 0, or -errno while descriptors are short. */
int fdres_spare_add(struct loop *lp);
/* Tops the reserve up; 0 once it is whole, -errno while descriptors are short. */
int fdres_fill(struct loop *lp);
/* Frees one of the descriptors held in reserve for an upstream socket that found none
 * (EMFILE/ENFILE) and sets lp->fd_short, on which the loop rests the flow listeners;
 * -EMFILE when the reserve is used up. */
int fdres_take(struct loop *lp);
/* Whether a new stream of the tunnel listener's HTTP/2 connections may open (and so open
 * an upstream socket): false while the descriptor reserve is in use or open descriptors
 * have reached the last tunnel.stream_fd_headroom_percent of RLIMIT_NOFILE. */
bool fdres_stream_room(struct loop *lp);
/* The same for a request of the http action on an HTTP/2 stream about to open an upstream
 * socket; true counts that socket until descriptors are counted again. */
bool fdres_stream_take(struct loop *lp);
/* Lends one descriptor of the reserve to an admin request that must open a file while
 * none is free (/proc for /metrics); fdres_give_back puts it back. false: none held. */
bool fdres_lend(struct loop *lp);
void fdres_give_back(struct loop *lp);

#endif
