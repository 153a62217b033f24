/* ep_sock.c: the socket endpoint, on io_uring. Before the relay starts it reads one
 * recv at a time into a small linear buffer (a tunnel's request head or a peer's
 * CONNECT answer); relaying, it reads with buffer-select recvs from the loop's pool
 * (rxpool.h, shared by every socket: an idle socket holds no buffer) and sends its
 * source's bytes straight from that source's buffers, with no copy. What a socket may
 * hold unsent is capped (proxy.buffers_per_socket): at the cap no recv is armed until a
 * buffer is sent, which is the backpressure, and a peer that does not read cannot take
 * the whole pool. A recv that finds the pool empty waits (the bytes stay in the kernel)
 * until a buffer comes back. One recv is in flight at a time: a single recv of one
 * buffer, or a multishot recv whose byte limit keeps the cap (arm_recv): armed across
 * exchanges on a request/response flow (a recv re-armed per message costs its
 * latency), and on a bulk flow reading up to the room under the cap in one go (a recv
 * re-armed per buffer costs a loop turn per 16 KiB). Its end: shutdown(SHUT_WR) after
 * the last byte; a reset: close with SO_LINGER 0. From the relay's start until an
 * orderly close the socket carries SO_LINGER 0 already, so that if hermesd dies the
 * kernel resets it and the peer cannot take a truncated flow for a complete one. Its
 * dial is sock.c's, the one of every upstream socket. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "ep.h"
#include "ep_sock.h"
#include "life.h"
#include "sock.h"
#include "log.h"
#include "ring.h"

struct ep_sock {
	struct ep e;
	struct loop *lp;
	int fd;
	struct life life;           /* closing: the owner closed it (ep_close, ep_drop) */
	bool relaying, orphan, rst;
	bool crash_rst;             /* SO_LINGER 0 set while relaying (ep_sock_crash_reset) */
	bool nodelay;               /* TCP_NODELAY set already (sock_dial's sockets have it;
				     * accepted ones inherit it from their listener) */
	bool connecting, recv_armed, send_inflight, shut_inflight;
	bool setup_armed;           /* the recv armed is a setup read into `setup` */
	struct loop_op op_connect;  /* connect (`connecting`), with a linked timeout on op_aux */
	struct loop_op op_recv;     /* setup recv, or a pool one (`recv_armed`) */
	struct loop_op op_send;     /* send of the source's bytes (`send_inflight`) */
	struct loop_op op_shutdown; /* shutdown(SHUT_WR) (`shut_inflight`) */
	struct loop_op op_aux;      /* cancels, the connect's linked timeout */
	struct __kernel_timespec ts;
	struct sockaddr_storage dst_ss; /* read by the kernel when the connect is submitted */
	/* setup reads, BUF_SETUP_SIZE bytes (rx_setup): a recv in flight writes at its len, so
	 * it is reset to its front only in sock_read, never as it is consumed */
	struct rxbuf setup;
	/* relaying: the pool's buffers it holds, in arrival order (linked by the pool's next[]) */
	uint16_t q_first, q_last;
	unsigned q_count;
	uint32_t sent_off;          /* bytes of the first already passed on */
	bool drained;               /* the last recv did not fill its buffer: none waits */
	bool mshot;                 /* the recv armed is a multishot one (see arm_recv) */
	bool mshot_bulk;            /* armed for a bulk flow: its limit is the room under the cap */
	bool mshot_cancel;          /* and its cancel is on its way */
	uint32_t mshot_left;        /* bytes the multishot may still read (the kernel's limit) */
	struct list wait;           /* on the pool's waiters: its recv found no buffer */
	struct list check;          /* on the loop's sock_check: a bulk recv to arm or to check */
};

#define SK(e) loop_container_of(e, struct ep_sock, e)

static const struct ep_ops sock_ops;
static loop_done_fn connect_done, recv_done, send_done, shutdown_done, aux_done;
static void pool_back(struct loop *lp, unsigned bid);

/* ---- the pool's buffers ---- */

/* Every buffer k holds goes back to the pool (it ends or gives its socket away): off
 * the wait list and not relaying first, so that a buffer coming back never arms k. */
static void drop_held(struct ep_sock *k)
{
	struct rxpool *p = &k->lp->pool;

	list_del(&k->wait);
	k->relaying = false;
	while (k->q_count) {
		unsigned bid = k->q_first;

		k->q_first = p->next[bid];
		k->q_count--;
		pool_back(k->lp, bid);
	}
	k->sent_off = 0;
}

/* ---- life ---- */

static struct ep_sock *sock_new(struct loop *lp, int fd, const struct ep_owner_ops *own, void *owner, int side)
{
	struct ep_sock *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	ep_init(&k->e, &sock_ops, own, owner, side);
	k->lp = lp;
	k->fd = fd;
	list_init(&k->wait);
	list_init(&k->check);
	return k;
}

struct ep *ep_sock_new(struct loop *lp, int fd, const struct ep_owner_ops *own, void *owner, int side)
{
	struct ep_sock *k = sock_new(lp, fd, own, owner, side);

	if (!k)
		return NULL;
	/* accepted from a flow listener, whose TCP_NODELAY it inherited (loop.c listen_on) */
	k->nodelay = true;
	return &k->e;
}

struct ep *ep_sock_dial(struct loop *lp, const struct hermes_addr *dst, const struct ep_owner_ops *own, void *owner,
			int side, int *err)
{
	struct ep_sock *k = sock_new(lp, -1, own, owner, side);
	socklen_t len;

	if (!k) {
		*err = -ENOMEM;
		return NULL;
	}
	len = addr_from_hermes(dst, &k->dst_ss);
	k->fd = sock_dial(lp, &k->dst_ss, len, &k->op_connect, connect_done, &k->op_aux, aux_done, &k->ts);
	if (k->fd < 0) {
		*err = k->fd;
		free(k);
		return NULL;
	}
	k->connecting = k->nodelay = true;
	life_hold(&k->life, 2);
	return &k->e;
}

/* After a completion: a closed endpoint goes once nothing of it is in flight. */
static void settle(struct ep_sock *k)
{
	if (!life_over(&k->life))
		return;
	if (k->orphan) {
		k->e.ops->free(&k->e);
		return;
	}
	ep_settled(&k->e);
}

static void cancel(struct ep_sock *k, const struct loop_op *op)
{
	loop_cancel(k->lp, &k->op_aux, aux_done, op);
	life_hold(&k->life, 1);
}

static void sock_close(struct ep *e, enum ep_end how, bool orphan)
{
	struct ep_sock *k = SK(e);

	k->orphan = orphan;
	if (life_close(&k->life)) { /* (closed before: it only frees itself from now on) */
		k->rst |= how == EP_END_RESET;
		if (k->connecting) /* its linked timeout goes with it */
			cancel(k, &k->op_connect);
		if (k->recv_armed)
			cancel(k, &k->op_recv);
		if (k->send_inflight)
			cancel(k, &k->op_send);
		if (k->shut_inflight)
			cancel(k, &k->op_shutdown);
	}
	if (orphan && life_over(&k->life))
		e->ops->free(e);
}

static bool sock_busy(const struct ep *e)
{
	return SK(e)->life.inflight > 0;
}

static void sock_free(struct ep *e)
{
	struct ep_sock *k = SK(e);

	/* one setsockopt at most: the reset is armed already, or an orderly close disarms it */
	if (k->rst && !k->crash_rst)
		sock_reset_on_close(k->fd);
	else if (!k->rst && k->crash_rst)
		sock_fin_on_close(k->fd);
	if (k->fd >= 0)
		close(k->fd);
	drop_held(k);
	list_del(&k->check);
	rx_setup_free(&k->setup);
	ep_release(e);
	free(k);
}

int ep_sock_release(struct ep *e)
{
	struct ep_sock *k = SK(e);
	int fd = k->fd;

	k->fd = -1;
	k->rst = k->crash_rst = false;
	sock_free(e);
	return fd;
}

void ep_sock_crash_reset_set(struct ep *e)
{
	SK(e)->crash_rst = true;
}

void ep_sock_crash_reset(struct ep *e)
{
	struct ep_sock *k = SK(e);

	if (e->ops != &sock_ops || k->crash_rst || k->fd < 0)
		return;
	sock_reset_on_close(k->fd);
	k->crash_rst = true;
}

static int sock_fd(const struct ep *e)
{
	return SK(e)->fd;
}

/* ---- reading ---- */

/* Whether a request/response multishot recv may stay armed on k: its last recv drained
 * the socket and the socket holds at most cap - 2 buffers. With the loop's deferred
 * task work a multishot reads only inside our io_uring_enter, after that call's
 * submissions (so a cancel submitted there stops it first), and limited to
 * RXPOOL_BUFSZ bytes it ends at its first full buffer: each wake-up takes one buffer,
 * two if bytes land between the kernel's read and its emptiness check. */
static bool mshot_ok(const struct ep_sock *k, unsigned cap)
{
	return k->drained && k->q_count + 2 <= cap && !k->lp->pool.no_mshot;
}

/* The bytes a bulk multishot armed now may read in all: the room under the cap less one
 * buffer, in full buffers, when that is two buffers or more; 0 for a single recv. */
static uint32_t bulk_limit(const struct ep_sock *k, unsigned cap)
{
	if (k->drained || k->lp->pool.no_mshot || k->q_count + 3 > cap)
		return 0;
	return (cap - k->q_count - 1) * RXPOOL_BUFSZ;
}

/* Whether the bulk multishot armed on k stays within its cap: a wake-up reads what is
 * left of its limit (full buffers while the socket has more queued, the kernel retrying
 * at once) and, when bytes land between a short read and the kernel's emptiness check,
 * one buffer more. Full reads keep it true; a short one, which uses a buffer for less,
 * tips it over unless buffers were sent meanwhile. */
static bool bulk_fits(const struct ep_sock *k, unsigned cap)
{
	return k->q_count + (k->mshot_left + RXPOOL_BUFSZ - 1) / RXPOOL_BUFSZ + 1 <= cap;
}

/* A recv into a pool buffer, unless one is armed, the socket is at its cap or waits for
 * the pool, or there is nothing more to read. One buffer a single recv: a recv filling
 * several (a bundle) is retried by the kernel while the socket has more queued, past
 * any cap. A multishot recv with the kernel's byte limit (Linux 6.17: its total bytes)
 * instead wherever the cap leaves room for it:
 * - a request/response flow (mshot_ok) gets one limited to one buffer's worth of bytes:
 *   it stays armed across exchanges (a single recv re-armed after each completion costs
 *   an SQE and the kernel's poll arming each time: 64-byte ping-pong RTT +3 us), and
 *   recv_done cancels it once the socket holds cap - 1 or a read leaves bytes queued;
 * - a bulk flow (the last read filled its buffer or left bytes queued) gets one limited
 *   to the room under the cap less a buffer (bulk_limit): the kernel reads buffer after
 *   buffer while the socket has more, up to that, in one go, where single recvs took
 *   one buffer a loop turn (an SQE, a submission and a loop turn per 16 KiB, and the
 *   tunnel's DATA frames and sends cut to a buffer each). Its limit keeps the cap: full
 *   reads fill at most the room it was given, and when short reads leave its rest no
 *   longer fitting (bulk_fits) it is cancelled before the next submit, unless that
 *   turn's sends made room (ep_sock_check).
 * After a recv that found the socket drained the next waits for data first (a
 * request/response flow skips the attempt that would fail). */
static bool arm_recv_now(struct ep_sock *k)
{
	const struct rxpool *p = &k->lp->pool;
	struct io_uring_sqe *sqe;
	uint32_t limit;
	unsigned cap;

	if (k->recv_armed || !k->relaying || k->e.eof || k->e.closed || list_linked(&k->wait))
		return false;
	cap = rxpool_cap(p, k->lp->cfg->buffers_per_socket);
	if (k->q_count >= cap)
		return false;
	sqe = loop_sqe(k->lp, &k->op_recv, recv_done);
	limit = mshot_ok(k, cap) ? RXPOOL_BUFSZ : bulk_limit(k, cap);
	k->mshot = limit > 0;
	k->mshot_bulk = limit && !k->drained;
	k->mshot_left = limit;
	if (k->mshot) {
		io_uring_prep_recv_multishot(sqe, k->fd, NULL, 0, 0);
		/* its total bytes (Linux 6.17: sqe->optlen, the field liburing 2.3 calls file_index) */
		sqe->file_index = limit;
	} else {
		io_uring_prep_recv(sqe, k->fd, NULL, RXPOOL_BUFSZ, 0);
	}
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = p->bgid;
	if (k->drained)
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	k->recv_armed = true;
	k->lp->st.rxpool_recvs++;
	life_hold(&k->life, 1);
	return true;
}

/* Arms k's next recv (arm_recv_now). A bulk socket's is armed at the end of the loop
 * turn instead (ep_sock_check, before the next submit, so no later): its last recv's
 * completion comes before the turn's sends have taken the buffers it filled, and armed
 * then it would get the room of a full socket, one buffer; at the turn's end a tunnel
 * stream has taken them all and the recv gets the whole room. True when a recv is or
 * will be armed. */
static bool arm_recv(struct ep_sock *k)
{
	struct loop *lp = k->lp;

	if (k->drained || k->recv_armed || !k->relaying || lp->pool.no_mshot || lp->cfg->buffers_per_socket < 3)
		return arm_recv_now(k);
	if (!list_linked(&k->check))
		list_add_tail(&lp->sock_check, &k->check);
	return true;
}

/* Buffer bid is sent (or dropped): back to the pool, and a socket that waits for one
 * may try again. One waiter a buffer: the others would find the ring empty again. */
static void pool_back(struct loop *lp, unsigned bid)
{
	struct rxpool *p = &lp->pool;

	rxpool_put(p, bid);
	while (!list_empty(&p->waiters)) {
		struct ep_sock *w = list_entry(p->waiters.next, struct ep_sock, wait);

		list_del(&w->wait);
		if (arm_recv(w))
			break;
	}
}

static void sock_read(struct ep *e)
{
	struct ep_sock *k = SK(e);

	if (k->recv_armed || e->closed || k->relaying)
		return;
	if (!k->setup.p && rx_setup(&k->setup)) {
		ep_error(e, -ENOMEM);
		return;
	}
	if (!rx_avail(&k->setup))
		k->setup.off = k->setup.len = 0;
	if (k->setup.len == k->setup.cap)
		return; /* the owner takes what is there first */
	io_uring_prep_recv(loop_sqe(k->lp, &k->op_recv, recv_done), k->fd, k->setup.p + k->setup.len,
			   k->setup.cap - k->setup.len, 0);
	k->recv_armed = k->setup_armed = true;
	life_hold(&k->life, 1);
}

/* Relaying, the setup buffer is only read out: once empty it goes (16 KiB a flow). */
static void drop_setup_buf(struct ep_sock *k)
{
	if (k->relaying && k->setup.p && !rx_avail(&k->setup) && !k->setup_armed)
		rx_setup_free(&k->setup);
}

static int sock_start(struct ep *e)
{
	struct ep_sock *k = SK(e);
	int one = 1;

	/* a syscall per socket and flow: not again on a dialled one */
	if (!k->nodelay)
		setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	k->nodelay = true;
	if (!k->lp->pool.mem)
		return -ENOBUFS;
	ep_sock_crash_reset(e);
	k->relaying = true;
	drop_setup_buf(k);
	/* a setup recv still armed fills `setup`, which is read first */
	arm_recv(k);
	return 0;
}

static void sock_peek(const struct ep *e, const uint8_t **p, size_t *n)
{
	const struct ep_sock *k = SK(e);

	if (rx_avail(&k->setup)) {
		*p = (const uint8_t *)k->setup.p + k->setup.off;
		*n = rx_avail(&k->setup);
	} else if (k->q_count) {
		*p = rxpool_buf(&k->lp->pool, k->q_first) + k->sent_off;
		*n = k->lp->pool.len[k->q_first] - k->sent_off;
	} else {
		*p = NULL;
		*n = 0;
	}
}

static size_t sock_avail(const struct ep *e)
{
	const struct ep_sock *k = SK(e);
	const struct rxpool *p = &k->lp->pool;
	size_t n = rx_avail(&k->setup);
	unsigned bid = k->q_first;

	for (unsigned i = 0; i < k->q_count; i++, bid = p->next[bid])
		n += p->len[bid];
	return n - (k->q_count ? k->sent_off : 0);
}

static void sock_consume(struct ep *e, size_t n)
{
	struct ep_sock *k = SK(e);

	if (rx_avail(&k->setup)) {
		k->setup.off += n;
		drop_setup_buf(k);
		return;
	}
	k->sent_off += (uint32_t)n;
	if (k->sent_off >= k->lp->pool.len[k->q_first]) {
		unsigned bid = k->q_first;

		k->q_first = k->lp->pool.next[bid];
		k->q_count--;
		k->sent_off = 0;
		pool_back(k->lp, bid);
	}
	arm_recv(k);
}

/* A pool recv wrote res bytes into buffer bid: queued behind what k holds, or, k NULL
 * (its owner let go), straight back to the pool. */
static void took(struct loop *lp, struct ep_sock *k, unsigned bid, int res)
{
	struct rxpool *p = &lp->pool;

	rxpool_took(p, bid, res > 0 ? (uint32_t)res : 0);
	if (!k) {
		pool_back(lp, bid);
		return;
	}
	if (k->q_count)
		p->next[k->q_last] = (uint16_t)bid;
	else
		k->q_first = (uint16_t)bid;
	k->q_last = (uint16_t)bid;
	k->q_count++;
}

static void recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_sock *k = loop_container_of(op, struct ep_sock, op_recv);
	struct ep *e = &k->e;
	int res = cqe->res;
	bool mshot = k->mshot;

	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		k->recv_armed = k->setup_armed = k->mshot = k->mshot_bulk = k->mshot_cancel = false;
		life_drop(&k->life);
	}
	if (e->closed) {
		if (cqe->flags & IORING_CQE_F_BUFFER) /* taken from the pool: no one will send it */
			took(lp, NULL, cqe->flags >> IORING_CQE_BUFFER_SHIFT, res);
		settle(k);
		return;
	}
	if (res > 0 && !(cqe->flags & IORING_CQE_F_BUFFER)) {
		/* a setup read */
		k->setup.len += (size_t)res;
		e->bytes += (uint64_t)res;
		arm_recv(k);
		ep_data(e);
		return;
	}
	if (res > 0) {
		took(lp, k, cqe->flags >> IORING_CQE_BUFFER_SHIFT, res);
		k->drained = res < RXPOOL_BUFSZ && !(cqe->flags & IORING_CQE_F_SOCK_NONEMPTY);
		e->bytes += (uint64_t)res;
		if (k->mshot && !k->mshot_cancel) {
			unsigned cap = rxpool_cap(&lp->pool, lp->cfg->buffers_per_socket);

			k->mshot_left -= (uint32_t)res < k->mshot_left ? (uint32_t)res : k->mshot_left;
			if (k->mshot_bulk && !bulk_fits(k, cap)) {
				/* judged before the next submit, once this turn's sends took their
				 * buffers (a tunnel stream takes all of them at once) */
				if (!list_linked(&k->check))
					list_add_tail(&lp->sock_check, &k->check);
			} else if (!k->mshot_bulk && !mshot_ok(k, cap)) {
				/* near the cap, or a request/response flow left bytes queued: armed
				 * again as what it is now (arm_recv) once this one is gone */
				cancel(k, &k->op_recv);
				k->mshot_cancel = true;
			}
		}
		arm_recv(k);
		ep_data(e);
		return;
	}
	if (cqe->flags & IORING_CQE_F_BUFFER) /* (an EOF or error in a buffer: none is kept) */
		took(lp, NULL, cqe->flags >> IORING_CQE_BUFFER_SHIFT, 0);
	if (mshot && !(cqe->flags & IORING_CQE_F_MORE) && (res == -ECANCELED || res == -EINVAL)) {
		/* cancelled above, or a kernel without the multishot's byte limit (6.17) */
		if (res == -EINVAL)
			lp->pool.no_mshot = true;
		arm_recv(k);
		return;
	}
	if (res == 0) {
		e->eof = true;
		ep_data(e);
		return;
	}
	if (res == -ENOBUFS) {
		/* the ring is empty: posted again from the free ones, or wait for one to come
		 * back (the bytes wait in the socket meanwhile) */
		if (rxpool_refill(&lp->pool)) {
			arm_recv(k);
		} else {
			lp->st.rxpool_exhausted++;
			list_add_tail(&lp->pool.waiters, &k->wait);
		}
		return;
	}
	if (res == -EAGAIN) {
		/* a socket in a sockmap (the kernel path) reads through tcp_bpf, whose wait
		 * may end with nothing when the bytes went to the verdict instead: not an
		 * error, the next bytes are awaited again */
		arm_recv(k);
		return;
	}
	ep_error(e, res);
}

void ep_sock_check(struct loop *lp)
{
	struct ep_sock *k;

	/* the multishot reads only inside our io_uring_enter, after its submissions: a
	 * cancel submitted now stops it before it reads again */
	while ((k = list_first(&lp->sock_check, struct ep_sock, check))) {
		list_del(&k->check);
		if (!k->recv_armed) {
			arm_recv_now(k);
		} else if (k->mshot && k->mshot_bulk && !k->mshot_cancel && !k->e.closed &&
			   !bulk_fits(k, rxpool_cap(&lp->pool, lp->cfg->buffers_per_socket))) {
			cancel(k, &k->op_recv);
			k->mshot_cancel = true;
		}
	}
}

/* ---- writing: the source's bytes, from its buffers ---- */

static void sock_kick(struct ep *e)
{
	struct ep_sock *k = SK(e);
	const uint8_t *p;
	size_t n;

	if (k->send_inflight || e->closed || !k->relaying || !e->src)
		return;
	ep_peek(e->src, &p, &n);
	if (!n)
		return;
	io_uring_prep_send(loop_sqe(k->lp, &k->op_send, send_done), k->fd, p, n, MSG_NOSIGNAL);
	k->send_inflight = true;
	life_hold(&k->life, 1);
}

static void send_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_sock *k = loop_container_of(op, struct ep_sock, op_send);
	struct ep *e = &k->e;

	(void)lp;
	k->send_inflight = false;
	life_drop(&k->life);
	if (e->closed) {
		settle(k);
		return;
	}
	if (cqe->res < 0) {
		ep_error(e, cqe->res);
		return;
	}
	ep_consume(e->src, (size_t)cqe->res);
	sock_kick(e);
	ep_drained(e);
}

/* The FIN: io_uring's SHUTDOWN is never issued inline, the kernel hands every one to
 * an io-wq worker thread. A plain shutdown(2) here instead saved 5-7 us of CPU per flow
 * side (the wake-up and context switches), but the FIN's TCP work (and on loopback the
 * peer's receive of it) then ran on the loop's thread instead of beside it on the other
 * CPU: on a loaded 2-CPU machine the tunnel's connection rate fell by about a fifth and
 * the WAN bench's p50 rose (measured for issue 16). Only called once every byte of the
 * source was sent (relay.c forward_end), so the FIN cannot overtake data. */
static void sock_shutdown(struct ep *e)
{
	struct ep_sock *k = SK(e);

	if (k->shut_inflight || e->shut || e->closed)
		return;
	io_uring_prep_shutdown(loop_sqe(k->lp, &k->op_shutdown, shutdown_done), k->fd, SHUT_WR);
	k->shut_inflight = true;
	life_hold(&k->life, 1);
}

static void shutdown_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_sock *k = loop_container_of(op, struct ep_sock, op_shutdown);

	(void)lp;
	(void)cqe;
	k->shut_inflight = false;
	life_drop(&k->life);
	k->e.shut = true;
	if (k->e.closed)
		settle(k);
	else
		ep_drained(&k->e);
}

/* A few hundred bytes on a socket that has sent nothing yet: they fit its send buffer,
 * so a plain non-blocking send is enough. */
static int sock_write(struct ep *e, const void *p, size_t n)
{
	ssize_t w = send(SK(e)->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (w < 0)
		return -errno;
	return (size_t)w == n ? 0 : -EIO;
}

static void sock_reply(struct ep *e, int status, const char *h1, size_t h1_len)
{
	(void)status;
	if (sock_write(e, h1, h1_len))
		log_debug("could not send the %d reply", status);
}

/* ---- completions of the dial and the cancels ---- */

static void connect_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_sock *k = loop_container_of(op, struct ep_sock, op_connect);

	(void)lp;
	k->connecting = false;
	life_drop(&k->life);
	if (k->e.closed) {
		settle(k);
		return;
	}
	if (cqe->res < 0) {
		ep_error(&k->e, cqe->res == -ECANCELED ? -ETIMEDOUT : cqe->res);
		return;
	}
	ep_up(&k->e);
}

static void aux_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_sock *k = loop_container_of(op, struct ep_sock, op_aux);

	(void)lp;
	(void)cqe;
	life_drop(&k->life);
	settle(k);
}

static const struct ep_ops sock_ops = {
	.kind = "socket",
	.start = sock_start,
	.read = sock_read,
	.write = sock_write,
	.reply = sock_reply,
	.peek = sock_peek,
	.avail = sock_avail,
	.consume = sock_consume,
	.kick = sock_kick,
	.shutdown = sock_shutdown,
	.close = sock_close,
	.busy = sock_busy,
	.free = sock_free,
	.sock = sock_fd,
};
