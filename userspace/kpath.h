/* kpath.h: the kernel path of a proxy flow (kpath.c). */
#ifndef HERMES_KPATH_USER_H
#define HERMES_KPATH_USER_H

#include "loop-t.h"

struct loader;

/* Puts c on the kernel path before its relay starts: 0, or -errno when the kernel
 * cannot carry it (the flow then relays with io_uring alone). */
int kpath_start(struct loop *lp, struct conn *c);
/* The relay wrote the app's bytes to the upstream: tell the app's sends how many. */
void kpath_sent(struct loop *lp, struct conn *c);
/* e has bytes or its EOF: true while they must not reach the other side yet (the
 * upstream's earlier bytes still on their way into the app's socket); the relay hears
 * of them again once they may. */
bool kpath_hold_upstream(struct loop *lp, struct conn *c, struct ep *e);
/* Notes the kernel's traffic (the idle timer never hears of it otherwise). true when
 * the flow must be reset: the verdict met upstream bytes it could not pass on exactly. */
bool kpath_tick(struct loop *lp, struct conn *c);
/* Out of the maps (before the sockets close); keeps the byte counts in c. */
void kpath_unlink(struct loop *lp, struct conn *c);
/* At start with relay kernel (loader_start): empties hermes_kpath (an earlier hermesd's
 * flows are gone) and makes the backlog iterator. 0 or -errno. */
int kpath_iter_attach(struct loader *ld);

#endif
