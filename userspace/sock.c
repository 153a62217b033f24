/* sock.c: what every module does with a socket of its own: the one dial routine of
 * hermesd's upstream sockets (SO_MARK, so the connect programs leave them alone;
 * TCP_NODELAY; the connect on io_uring with a linked timeout), the marked UDP socket of
 * a CONNECT-UDP flow, and a close that resets. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "fdres.h"
#include "ring.h"
#include "sock.h"

void sock_reset_on_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

void sock_fin_on_close(int fd)
{
	struct linger lg = { .l_onoff = 0, .l_linger = 0 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* A socket of hermesd's own toward a target: SO_MARK, so the connect programs leave it
 * alone and it is recognisable as ours. */
static int sock_marked(struct loop *lp, int family, int type)
{
	int fd, mark = (int)lp->cfg->mark;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	/* out of descriptors: a flow accepted as they ran out takes one from the reserve */
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && !fdres_take(lp))
		fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* never steered again by connect4, and recognisable as ours */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		int err = -errno;

		close(fd);
		log_error("SO_MARK on upstream socket: %s (hermesd needs CAP_NET_ADMIN)", strerror(-err));
		return err;
	}
	return fd;
}

int sock_open(struct loop *lp, int family)
{
	int fd = sock_marked(lp, family, SOCK_STREAM), one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int sock_open_udp(struct loop *lp, int family, int rcvbuf)
{
	int fd = sock_marked(lp, family, SOCK_DGRAM);

	/* SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN (hermesd keeps it);
	 * without it, SO_RCVBUF gets what rmem_max allows */
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

void sock_connect(struct loop *lp, int fd, const struct sockaddr_storage *ss, socklen_t len, struct loop_op *op,
		  loop_done_fn *done, struct loop_op *op_timeout, loop_done_fn *timeout_done,
		  struct __kernel_timespec *ts)
{
	struct io_uring_sqe *sqe = loop_sqe(lp, op, done);

	io_uring_prep_connect(sqe, fd, (const struct sockaddr *)ss, len);
	sqe->flags |= IOSQE_IO_LINK;
	ts->tv_sec = lp->cfg->connect_timeout_ms / 1000;
	ts->tv_nsec = (long long)(lp->cfg->connect_timeout_ms % 1000) * 1000000;
	io_uring_prep_link_timeout(loop_sqe(lp, op_timeout, timeout_done), ts, 0);
}

int sock_dial(struct loop *lp, const struct sockaddr_storage *ss, socklen_t len, struct loop_op *op,
	      loop_done_fn *done, struct loop_op *op_timeout, loop_done_fn *timeout_done, struct __kernel_timespec *ts)
{
	int fd = sock_open(lp, ss->ss_family);

	if (fd >= 0)
		sock_connect(lp, fd, ss, len, op, done, op_timeout, timeout_done, ts);
	return fd;
}

