/* ep_sock.h: the io_uring socket endpoint (ep_sock.c) and the one dial routine of
 * hermesd's upstream sockets. */
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
/* A socket to ss (SO_MARK, TCP_NODELAY) with its connect submitted on op and a linked
 * timeout of proxy.connect_timeout_ms (ts, which must live until it completes) on
 * op_timeout: two SQEs the caller counts in flight. Returns the socket or -errno. */
int sock_dial(struct loop *lp, const struct sockaddr_storage *ss, socklen_t len, struct loop_op *op,
	      loop_done_fn *done, struct loop_op *op_timeout, loop_done_fn *timeout_done, struct __kernel_timespec *ts);
/* The socket leaves e (which has nothing in flight; bytes it read are dropped), e is
 * freed: returns the socket. */
int ep_sock_release(struct ep *e);
/* close(fd) sends a reset (SO_LINGER 0). */
void sock_reset_on_close(int fd);

#endif
