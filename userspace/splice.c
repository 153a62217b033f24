/* splice.c: the `splice` relay engine. Both sockets of a proxied flow go into the
 * hermes_splice sockhash with each other's cookie as peer; the sk_skb verdict program
 * moves every received skb to the other socket's egress, and hermesd never reads a
 * byte. What hermesd still does is the close: a FIN must not overtake bytes that are
 * still inside the kernel (the lab lost data this way), so when one side reaches EOF
 * hermesd forwards the FIN only once
 *     bytes received on `from` == bytes written to `to`
 * where the left side is TCP_INFO tcpi_bytes_received minus the FIN's sequence number,
 * and the right side is tcpi_bytes_acked + SIOCOUTQ on `to` (snd_una - isn - 1 plus
 * write_seq - snd_una: every byte that ever entered its send queue). Bytes still held
 * in the psock backlog are in neither count, so equality means none is left behind. */
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* glibc's struct tcp_info lacks tcpi_bytes_* */
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "conn.h"
#include "ep.h"
#include "ep_sock.h"
#include "log.h"
#include "ring.h"
#include "splice.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define DRAIN_FIRST_MS 1
#define DRAIN_MAX_MS 50

static int sock_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) < 0 ? -errno : 0;
}

static int tcp_info_of(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len) < 0 ? -errno : 0;
}

/* tcpi_bytes_acked + SIOCOUTQ: every byte that entered fd's send queue, plus whatever
 * the handshake added to the counter (the SYN counts on some paths and not on others),
 * which splice_start measures as a baseline before any payload moves. */
int splice_raw_written(int fd, uint64_t *out)
{
	struct tcp_info ti;
	int outq = 0;

	if (tcp_info_of(fd, &ti) || ioctl(fd, SIOCOUTQ, &outq) < 0)
		return -errno;
	*out = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

/* tcpi_bytes_received: in-order sequence space received, so a received FIN adds one. */
static int raw_received(int fd, uint64_t *out)
{
	struct tcp_info ti;

	if (tcp_info_of(fd, &ti))
		return -errno;
	*out = ti.tcpi_bytes_received;
	return 0;
}

/* Baseline of raw_received: nothing has read fd yet, so received - queued is what the
 * handshake contributed. Bytes may arrive meanwhile: SIOCINQ read on both sides of
 * TCP_INFO must agree (it only grows while nobody reads). */
static int received_base(int fd, uint64_t *base)
{
	for (int i = 0; i < 100; i++) {
		int q1 = 0, q2 = 0;
		uint64_t raw;

		if (ioctl(fd, SIOCINQ, &q1) < 0 || raw_received(fd, &raw) || ioctl(fd, SIOCINQ, &q2) < 0)
			return -errno;
		if (q1 == q2) {
			/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): raw_received fails with a syscall's -errno, never 0 */
			*base = raw - (uint64_t)q1;
			return 0;
		}
	}
	return -EAGAIN;
}

/* The sockets direction d reads from and writes to. */
static int from_fd(const struct splice_dir *d)
{
	struct ep *e = d->c->r.ep[d == &d->c->sd[0] ? 0 : 1];

	return e->ops->sock(e);
}

static int to_fd(const struct splice_dir *d)
{
	struct ep *e = d->c->r.ep[d == &d->c->sd[0] ? 1 : 0];

	return e->ops->sock(e);
}

static int dir_side(const struct splice_dir *d)
{
	return d == &d->c->sd[0] ? 0 : 1;
}

static int bytes_received(const struct splice_dir *h, uint64_t *out)
{
	uint64_t raw;
	int err = raw_received(from_fd(h), &raw);

	if (!err)
		/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): err 0 set raw (a syscall's -errno is never 0) */
		*out = raw - h->base_in - (h->eof ? 1 : 0);
	return err;
}

static int bytes_written(const struct splice_dir *h, uint64_t *out)
{
	uint64_t raw;
	int err = splice_raw_written(to_fd(h), &raw);

	if (!err)
		/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): err 0 set raw (a syscall's -errno is never 0) */
		*out = raw - h->base_out;
	return err;
}

static loop_done_fn poll_done, drain_done;

static void arm_poll(struct loop *lp, struct splice_dir *h)
{
	io_uring_prep_poll_add(loop_sqe(lp, &h->op_poll, poll_done), from_fd(h), POLLRDHUP | POLLERR | POLLHUP);
	h->polling = true;
	life_hold(&h->c->life, 1);
}

static void arm_drain_timer(struct loop *lp, struct splice_dir *h)
{
	h->drain_wait_ms = h->drain_wait_ms ? h->drain_wait_ms * 2 : DRAIN_FIRST_MS;
	if (h->drain_wait_ms > DRAIN_MAX_MS)
		h->drain_wait_ms = DRAIN_MAX_MS;
	h->ts.tv_sec = 0;
	h->ts.tv_nsec = (long long)h->drain_wait_ms * 1000000;
	io_uring_prep_timeout(loop_sqe(lp, &h->op_drain, drain_done), &h->ts, 0, 0);
	h->drain_timer = true;
	life_hold(&h->c->life, 1);
}

/* Bytes an endpoint read before the kernel took over (a tunnel head's leftovers) go
 * to the other socket first: a few, on a fresh socket, so a plain send fits. */
static int flush_early(struct conn *c, int side)
{
	struct ep *e = c->r.ep[side];
	int to = c->r.ep[1 - side]->ops->sock(c->r.ep[1 - side]);

	while (ep_avail(e)) {
		const uint8_t *p;
		size_t n;
		ssize_t w;

		ep_peek(e, &p, &n);
		w = send(to, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 || (size_t)w != n)
			return w < 0 ? -errno : -EIO;
		ep_consume(e, n);
	}
	return 0;
}

int splice_start(struct loop *lp, struct conn *c)
{
	struct loader *ld = lp->ld;
	int one = 1, err, fd0 = c->r.ep[0]->ops->sock(c->r.ep[0]), fd1 = c->r.ep[1]->ops->sock(c->r.ep[1]);

	if ((err = sock_cookie(fd0, &c->cookie[0])) || (err = sock_cookie(fd1, &c->cookie[1])))
		return err;
	/* baselines before any byte can be redirected: hermesd has written nothing yet */
	for (int i = 0; i < 2; i++) {
		if ((err = received_base(from_fd(&c->sd[i]), &c->sd[i].base_in)) ||
		    (err = splice_raw_written(to_fd(&c->sd[i]), &c->sd[i].base_out)))
			return err;
	}
	/* the baselines count what hermesd sends now as if the kernel had moved it */
	for (int i = 0; i < 2; i++) {
		uint64_t early = ep_avail(c->r.ep[i]);

		if ((err = flush_early(c, i)))
			return err;
		c->sd[i].base_in -= early;
	}
	/* peers first: once a socket is in the sockhash its bytes look their peer up */
	if (bpf_map_update_elem(ld->splice_peer_fd, &c->cookie[0], &c->cookie[1], BPF_ANY) ||
	    bpf_map_update_elem(ld->splice_peer_fd, &c->cookie[1], &c->cookie[0], BPF_ANY)) {
		err = -errno;
		goto fail;
	}
	{
		uint64_t f0 = (uint64_t)fd0, f1 = (uint64_t)fd1;

		if (bpf_map_update_elem(ld->splice_fd, &c->cookie[1], &f1, BPF_NOEXIST) ||
		    bpf_map_update_elem(ld->splice_fd, &c->cookie[0], &f0, BPF_NOEXIST)) {
			err = -errno;
			goto fail;
		}
	}
	c->spliced = true;
	ep_sock_crash_reset(c->r.ep[0]);
	ep_sock_crash_reset(c->r.ep[1]);
	log_debug("conn %llu: relay splice", (unsigned long long)c->id);
	/* Bytes that arrived before the sockets entered the map sit in their receive queues
	 * until the next data_ready runs the verdict over the whole queue, in order. The app
	 * may be waiting for an answer and send nothing more: setting SO_RCVLOWAT calls
	 * tcp_data_ready() (tcp_set_rcvlowat), which runs it now. */
	setsockopt(fd0, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	setsockopt(fd1, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	arm_poll(lp, &c->sd[0]);
	arm_poll(lp, &c->sd[1]);
	return 0;
fail:
	splice_unlink(lp, c);
	return err;
}

void splice_unlink(struct loop *lp, struct conn *c)
{
	struct loader *ld = lp->ld;

	if (!c->cookie[0])
		return;
	if (c->spliced) {
		uint64_t in;

		for (int i = 0; i < 2; i++)
			if (!bytes_received(&c->sd[i], &in))
				c->r.ep[i]->bytes = in;
	}
	bpf_map_delete_elem(ld->splice_fd, &c->cookie[0]);
	bpf_map_delete_elem(ld->splice_fd, &c->cookie[1]);
	bpf_map_delete_elem(ld->splice_peer_fd, &c->cookie[0]);
	bpf_map_delete_elem(ld->splice_peer_fd, &c->cookie[1]);
	c->spliced = false;
	c->cookie[0] = c->cookie[1] = 0;
}

/* Both FINs forwarded and nothing in flight: close normally. Returns true when c is
 * gone (or going): the caller must not touch it again. */
static bool splice_maybe_done(struct loop *lp, struct conn *c)
{
	if (c->sd[0].shut_done && c->sd[1].shut_done && !c->life.inflight) {
		conn_end(lp, c, false, false);
		return true;
	}
	return false;
}

/* h->from reached EOF: forward the FIN once every byte it sent is in h->to. Returns
 * true when c is gone (or going): the caller must not touch it again. */
static bool drain_check(struct loop *lp, struct splice_dir *h)
{
	struct conn *c = h->c;
	uint64_t in = 0, out = 0;

	if (bytes_received(h, &in) || bytes_written(h, &out)) {
		conn_end(lp, c, true, true);
		return true;
	}
	c->r.ep[dir_side(h)]->bytes = in;
	if (out < in) {
		arm_drain_timer(lp, h);
		return false;
	}
	if (out > in)
		log_warn("conn %llu: %llu bytes written to the %s for %llu received: byte accounting is off",
			 (unsigned long long)c->id, (unsigned long long)out, dir_side(h) == 0 ? "upstream" : "client",
			 (unsigned long long)in);
	if (shutdown(to_fd(h), SHUT_WR) < 0 && errno != ENOTCONN) {
		conn_end(lp, c, dir_side(h) == 1, dir_side(h) == 0);
		return true;
	}
	h->shut_done = true;
	log_debug("conn %llu: %s EOF after %llu bytes, FIN forwarded", (unsigned long long)c->id,
		  dir_side(h) == 0 ? "client" : "upstream", (unsigned long long)in);
	return splice_maybe_done(lp, c);
}

/* The poll on h->from (or, drain, h's drain timer) completed. */
static void splice_done(struct loop *lp, struct splice_dir *h, bool drain, const struct io_uring_cqe *cqe)
{
	struct conn *c = h->c;

	life_drop(&c->life);
	if (drain)
		h->drain_timer = false;
	else
		h->polling = false;
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	c->last_active_ms = lp->now_ms;
	if (drain) {
		drain_check(lp, h);
		return;
	}
	if (cqe->res < 0) {
		conn_end(lp, c, true, true);
		return;
	}
	if (cqe->res & (POLLERR | POLLHUP)) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		getsockopt(from_fd(h), SOL_SOCKET, SO_ERROR, &soerr, &len);
		/* HUP with no error after our own FIN forwarding is the normal end */
		if (soerr || (!(cqe->res & POLLRDHUP) && !h->eof)) {
			lp->st.resets++;
			log_debug("conn %llu: %s: %s (poll %#x)", (unsigned long long)c->id,
				  dir_side(h) == 0 ? "client" : "upstream", soerr ? strerror(soerr) : "hang-up", cqe->res);
			conn_end(lp, c, dir_side(h) == 1, dir_side(h) == 0);
			return;
		}
	}
	if ((cqe->res & POLLRDHUP) && !h->eof) {
		h->eof = true;
		if (drain_check(lp, h))
			return;
		/* the other direction may still fail: keep watching this socket for errors */
		if (!(c->sd[0].shut_done && c->sd[1].shut_done)) {
			io_uring_prep_poll_add(loop_sqe(lp, &h->op_poll, poll_done), from_fd(h), POLLERR | POLLHUP);
			h->polling = true;
			life_hold(&c->life, 1);
		}
		return;
	}
	if (h->eof) {
		/* the error watch ended without an error: the socket is shut both ways */
		splice_maybe_done(lp, c);
		return;
	}
	arm_poll(lp, h);
}

static void poll_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	splice_done(lp, loop_container_of(op, struct splice_dir, op_poll), false, cqe);
}

static void drain_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	splice_done(lp, loop_container_of(op, struct splice_dir, op_drain), true, cqe);
}

void splice_tick(struct loop *lp, struct conn *c)
{
	uint64_t in0, in1;

	if (bytes_received(&c->sd[0], &in0) || bytes_received(&c->sd[1], &in1))
		return;
	if (in0 != c->r.ep[0]->bytes || in1 != c->r.ep[1]->bytes)
		c->last_active_ms = lp->now_ms;
	c->r.ep[0]->bytes = in0;
	c->r.ep[1]->bytes = in1;
}
