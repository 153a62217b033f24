/* ep_sock.h: the io_uring socket endpoint (ep_sock.c). */
#ifndef HERMES_EP_SOCK_H
#define HERMES_EP_SOCK_H

#include <sys/socket.h>

#include "ep-t.h"
#include "hermes/origdst.h"
#include "loop-t.h"

/* An accepted (connected) socket as an endpoint; NULL without memory (fd stays open). */
struct ep *ep_sock_new(struct loop *lp, int fd, const struct ep_owner_ops *own, void *owner, int side);
/* Dials dst: `up` once connected, `error` (-ETIMEDOUT after proxy.connect_timeout_ms)
 * otherwise. NULL with *err when no socket could be made. */
struct ep *ep_sock_dial(struct loop *lp, const struct hermes_addr *dst, const struct ep_owner_ops *own, void *owner,
			int side, int *err);
/* The socket leaves e (which has nothing in flight; bytes it read are dropped), e is
 * freed: returns the socket. */
int ep_sock_release(struct ep *e);
/* From now until an orderly close (a FIN), e's socket carries SO_LINGER 0, so that a
 * crash of hermesd resets it (sock.h). The relay's start does it; the splice engine,
 * which starts no endpoint, calls it. One setsockopt; nothing for another endpoint. */
void ep_sock_crash_reset(struct ep *e);
/* After a loop turn's completions and flushes, before the next submit: bulk sockets'
 * recvs are armed with the room the turn's sends left, and the bulk multishot recvs
 * that short reads left no longer fitting under their socket's cap are cancelled
 * (ep_sock.c, arm_recv and bulk_fits). */
void ep_sock_check(struct loop *lp);
/* e's socket (from ep_sock_new) carries SO_LINGER 0 already: inherited from the
 * outbound listener, which has it (loop.c add_listener). */
void ep_sock_crash_reset_set(struct ep *e);
#endif
