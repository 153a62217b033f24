/* sock.h: dialling and resetting TCP sockets, and marked UDP sockets (sock.c). */
#ifndef HERMES_SOCK_H
#define HERMES_SOCK_H

#include <sys/socket.h>

#include "loop-t.h"

/* A TCP socket of family for an upstream (SO_MARK, TCP_NODELAY): the socket or -errno. */
int sock_open(struct loop *lp, int family);
/* A UDP socket of family (SO_MARK) whose receive buffer may hold rcvbuf bytes (a limit,
 * not an allocation): the socket or -errno. */
int sock_open_udp(struct loop *lp, int family, int rcvbuf);
/* Submits fd's connect to ss on op, with a linked timeout of proxy.connect_timeout_ms (ts,
 * which must live until it completes) on op_timeout: two SQEs the caller counts. */
void sock_connect(struct loop *lp, int fd, const struct sockaddr_storage *ss, socklen_t len, struct loop_op *op,
		  loop_done_fn *done, struct loop_op *op_timeout, loop_done_fn *timeout_done,
		  struct __kernel_timespec *ts);
/* sock_open, then sock_connect. A socket to ss (SO_MARK, TCP_NODELAY) with its connect submitted on op and a linked
 * timeout of proxy.connect_timeout_ms (ts, which must live until it completes) on
 * op_timeout: two SQEs the caller counts in flight. Returns the socket or -errno. */
int sock_dial(struct loop *lp, const struct sockaddr_storage *ss, socklen_t len, struct loop_op *op,
	      loop_done_fn *done, struct loop_op *op_timeout, loop_done_fn *timeout_done, struct __kernel_timespec *ts);
/* close(fd) sends a reset (SO_LINGER 0). Set on a relayed socket while its flow is
 * open, it is what a crash of hermesd sends too (the kernel closes its descriptors):
 * the peer sees a truncated flow as one, never as a clean end. */
void sock_reset_on_close(int fd);
/* Undoes sock_reset_on_close before an orderly close, which then ends with a FIN
 * (with SO_LINGER 0 even a socket whose FIN went out would reset). */
void sock_fin_on_close(int fd);

#endif
