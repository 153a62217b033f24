/* kpath.c: the kernel path of a `proxy` flow (relay `kernel`). Once the upstream is
 * connected, the app's sends go by sk_msg straight to the upstream socket's egress and
 * the upstream's skbs by a stream verdict straight into the app socket's receive queue
 * (bpf/lib/kpath.h), so the payload crosses neither the loopback hop nor hermesd.
 * hermesd's io_uring relay stays on both of its sockets for what the kernel cannot
 * carry, which is how the switch and the close stay exact:
 *  - the app's bytes that reached hermesd's accepted socket before the switch are
 *    relayed as usual; after each completed send hermesd publishes how many it wrote
 *    (fwd), and the app's next send takes the kernel path only once everything it gave
 *    hermesd is that many (bpf/lib/kpath.h: kpath_send), so nothing is overtaken;
 *  - the app's FIN and resets still arrive on the accepted socket, after all its
 *    redirected bytes entered the upstream's send queue (the redirect is synchronous
 *    in its send), so the relay forwards them as for any flow;
 *  - the upstream's FIN: hermesd's read on the upstream socket sees the EOF once the
 *    verdict has taken every byte before it, but those bytes may still wait in the app
 *    socket's psock backlog (a work item moves them to its receive queue); the FIN is
 *    forwarded to the app only once that backlog is empty (kpath_drained), else the
 *    app could read the EOF first;
 *  - the upstream's bytes when the app does not keep up: past HERMES_KPATH_BACKLOG_MAX
 *    skbs in the app's backlog the verdict leaves them on the upstream socket for good,
 *    where they count against its receive window (TCP backpressure again); hermesd
 *    reads them and, once the backlog is empty (the app reads redirected bytes first,
 *    then TCP's), relays them like any flow's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "conn.h"
#include "ep.h"
#include "hermes/kpath.h"
#include "kpath.h"
#include "loader.h"
#include "log.h"
#include "relay.h"
#include "ring.h"
#include "splice.h"
#include "steer.skel.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* Waits for the app socket's backlog: the first lets the kworker that empties it run
 * (it is queued on this CPU when the verdict redirects), then 1, 2, 4 ... 20 ms. */
#define DRAIN_FIRST_US 100
#define DRAIN_MAX_US 20000

/* The app's socket as sockops keyed it in hermes_sockhash: its local address is the
 * accepted socket's peer and its remote address the accepted socket's own. */
static int app_key(int fd, struct hermes_sock_key *k)
{
	struct sockaddr_storage l, p;
	socklen_t ll = sizeof(l), pl = sizeof(p);
	struct hermes_addr hl, hp;

	if (getsockname(fd, (struct sockaddr *)&l, &ll) < 0 || getpeername(fd, (struct sockaddr *)&p, &pl) < 0)
		return -errno;
	if (addr_to_hermes((struct sockaddr *)&l, &hl) || addr_to_hermes((struct sockaddr *)&p, &hp))
		return -EAFNOSUPPORT;
	memset(k, 0, sizeof(*k));
	k->family = hp.family;
	k->local_port = ntohs(hp.port);
	k->remote_port = ntohs(hl.port);
	memcpy(k->local, hp.addr, 16);
	memcpy(k->remote, hl.addr, 16);
	return 0;
}

int kpath_start(struct loop *lp, struct conn *c)
{
	struct loader *ld = lp->ld;
	int fd0 = c->r.ep[0]->ops->sock(c->r.ep[0]), fd1 = c->r.ep[1]->ops->sock(c->r.ep[1]);
	struct hermes_kpath app = {}, up = {};
	uint64_t in_map = 0, f1;
	socklen_t len = sizeof(c->cookie[1]);
	int err, one = 1;

	if (fd0 < 0 || fd1 < 0 || !c->app_cookie || ld->kpath_fd < 0)
		return -EOPNOTSUPP;
	if ((err = app_key(fd0, &up.app)))
		return err;
	/* sockops adds the app's socket when it is established; not there (established
	 * before hermesd started, the map full): the kernel path has no way to it */
	if (bpf_map_lookup_elem(ld->sockhash_fd, &up.app, &in_map) || in_map != c->app_cookie)
		return -ENOENT;
	if (getsockopt(fd1, SOL_SOCKET, SO_COOKIE, &c->cookie[1], &len) < 0)
		return -errno;
	if ((err = splice_raw_written(fd1, &c->kp_base_out)))
		return err;
	c->cookie[0] = c->app_cookie;
	/* the upstream's entry before its socket joins the map: its first skb needs it */
	if (bpf_map_update_elem(ld->kpath_fd, &c->cookie[1], &up, BPF_NOEXIST)) {
		err = -errno;
		c->cookie[0] = c->cookie[1] = 0;
		return err;
	}
	f1 = (uint64_t)fd1;
	app.up = c->cookie[1];
	app.fwd = 0; /* the relay starts after this: hermesd has written nothing yet */
	if (bpf_map_update_elem(ld->kpath_sock_fd, &c->cookie[1], &f1, BPF_NOEXIST) ||
	    bpf_map_update_elem(ld->kpath_fd, &c->cookie[0], &app, BPF_ANY)) {
		err = -errno;
		kpath_unlink(lp, c);
		return err;
	}
	c->kpath = true;
	/* bytes the upstream sent before its socket joined the map wait in its receive
	 * queue for the next data_ready; setting SO_RCVLOWAT runs it now (splice.c) */
	setsockopt(fd1, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	log_debug("conn %llu: kernel path (app cookie %llu, upstream cookie %llu)", (unsigned long long)c->id,
		  (unsigned long long)c->cookie[0], (unsigned long long)c->cookie[1]);
	return 0;
}

void kpath_sent(struct loop *lp, struct conn *c)
{
	struct hermes_kpath kp;
	struct ep *e = c->r.ep[0];
	uint64_t fwd;

	if (!c->kpath || !e)
		return;
	fwd = e->bytes - ep_avail(e);
	if (fwd == c->kp_fwd)
		return;
	if (bpf_map_lookup_elem(lp->ld->kpath_fd, &c->cookie[0], &kp))
		return;
	kp.fwd = fwd;
	/* only hermesd writes fwd, and only the app's sends read it */
	if (!bpf_map_update_elem(lp->ld->kpath_fd, &c->cookie[0], &kp, BPF_EXIST))
		c->kp_fwd = fwd;
}

/* What the verdict counted: the upstream's bytes it moved, the repeats it cut off, and
 * whether it met one it could not cut (the flow is broken). */
static void kpath_count_verdict(struct loop *lp, struct conn *c)
{
	struct hermes_kpath kp;

	if (bpf_map_lookup_elem(lp->ld->kpath_fd, &c->cookie[1], &kp))
		return;
	c->kp_redir = kp.redir;
	if (kp.trimmed != c->kp_trimmed) {
		lp->st.kpath_repeats += kp.trimmed - c->kp_trimmed;
		log_debug("conn %llu: kernel path: %llu repeated bytes of the upstream cut off so far",
			  (unsigned long long)c->id, (unsigned long long)kp.trimmed);
		c->kp_trimmed = kp.trimmed;
	}
	if (kp.broken && !c->kp_broken) {
		c->kp_broken = true;
		lp->st.kpath_broken++;
	}
}

/* Bytes the kernel moved each way (the counters, the access log, the idle timer): the
 * verdict counts the upstream's; the app's are what entered the upstream's send queue
 * less what hermesd wrote there itself. */
static void kpath_count(struct loop *lp, struct conn *c)
{
	uint64_t w;

	kpath_count_verdict(lp, c);
	if (!c->r.ep[1] || splice_raw_written(c->r.ep[1]->ops->sock(c->r.ep[1]), &w))
		return;
	/* once hermesd shut the upstream's write side, the FIN is one of them */
	w -= c->r.ep[1]->ending || c->r.ep[1]->shut ? 1 : 0;
	if (w >= c->kp_base_out + c->kp_fwd)
		c->kp_sent = w - c->kp_base_out - c->kp_fwd;
}

bool kpath_tick(struct loop *lp, struct conn *c)
{
	uint64_t before = c->kp_sent + c->kp_redir;

	kpath_count(lp, c);
	if (c->kp_sent + c->kp_redir != before)
		c->last_active_ms = lp->now_ms;
	if (c->kp_broken)
		log_warn("conn %llu: kernel path: the upstream sent an skb whose repeated head could not be cut "
			 "off (bpf/lib/kpath.h): resetting the flow rather than deliver bytes twice",
			 (unsigned long long)c->id);
	return c->kp_broken;
}

void kpath_unlink(struct loop *lp, struct conn *c)
{
	struct loader *ld = lp->ld;

	if (!c->cookie[1] || c->spliced)
		return;
	kpath_count(lp, c);
	bpf_map_delete_elem(ld->kpath_fd, &c->cookie[0]);
	bpf_map_delete_elem(ld->kpath_sock_fd, &c->cookie[1]);
	bpf_map_delete_elem(ld->kpath_fd, &c->cookie[1]);
	c->cookie[0] = c->cookie[1] = 0;
	c->kpath = false;
}

/* The last walk of the backlog iterator: when it started and the app sockets it listed.
 * A walk visits every TCP socket of the namespace, so flows whose upstream ended before
 * it started share it (hermesd is one thread, one loop: one walk at a time). */
static struct {
	uint64_t started_ns;
	uint64_t *cookies;
	size_t n, cap;
} walk;

static int backlog_walk(struct loop *lp)
{
	struct hermes_kpath_backlog rec[64];
	int fd, err = 0;
	ssize_t n;

	walk.started_ns = loop_now_ns();
	walk.n = 0;
	fd = bpf_iter_create(lp->ld->kpath_iter_fd);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, rec, sizeof(rec))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(rec[0]); i++) {
			if (walk.n == walk.cap) {
				size_t cap = walk.cap ? walk.cap * 2 : 64;
				uint64_t *p = realloc(walk.cookies, cap * sizeof(*p));

				if (!p) {
					err = -ENOMEM;
					goto out;
				}
				walk.cookies = p;
				walk.cap = cap;
			}
			walk.cookies[walk.n++] = rec[i].cookie;
		}
	}
	if (n < 0)
		err = -errno;
out:
	close(fd);
	if (err)
		walk.started_ns = 0;
	return err;
}

/* The app socket's psock backlog holds no byte of the upstream any more. The iterator
 * (bpf/lib/kpath.h) lists the sockets with a hermes_kpath entry whose backlog is not
 * empty; an skb leaves the backlog only once it is whole in the receive queue, so not
 * listed means delivered. A walk that started after the upstream's EOF and after this
 * flow's previous look is as good as a new one: nothing is redirected to the socket any
 * more. 1 when drained, 0 when not, -errno when it cannot tell. */
static int kpath_drained(struct loop *lp, struct conn *c)
{
	int err;

	if (walk.started_ns <= c->kp_looked_ns && (err = backlog_walk(lp)))
		return err;
	c->kp_looked_ns = walk.started_ns;
	for (size_t i = 0; i < walk.n; i++)
		if (walk.cookies[i] == c->cookie[0])
			return 0;
	return 1;
}

static loop_done_fn drain_done;

static void arm_drain(struct loop *lp, struct conn *c)
{
	c->kp_wait_us = c->kp_wait_us == DRAIN_FIRST_US ? 1000 : c->kp_wait_us ? c->kp_wait_us * 2 : DRAIN_FIRST_US;
	if (c->kp_wait_us > DRAIN_MAX_US)
		c->kp_wait_us = DRAIN_MAX_US;
	c->ts.tv_sec = 0;
	c->ts.tv_nsec = (long long)c->kp_wait_us * 1000;
	io_uring_prep_timeout(loop_sqe(lp, &c->sd[1].op_drain, drain_done), &c->ts, 0, 0);
	c->sd[1].drain_timer = true;
	life_hold(&c->life, 1);
}

/* What hermesd read from the upstream (its EOF, bytes the verdict held) may go on to the
 * app once every byte the verdict redirected before is in the app's receive queue. */
static void upstream_eof(struct loop *lp, struct conn *c)
{
	int d = kpath_drained(lp, c);

	if (d == 0) {
		arm_drain(lp, c);
		return;
	}
	if (d < 0)
		log_warn("conn %llu: cannot read the app socket's backlog (%s): forwarding the upstream's FIN now",
			 (unsigned long long)c->id, strerror(-d));
	c->kp_up_ok = true;
	relay_data(&c->r, c->r.ep[1]);
}

static void drain_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct conn *c = loop_container_of(op, struct conn, sd[1].op_drain);

	(void)cqe;
	life_drop(&c->life);
	c->sd[1].drain_timer = false;
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	upstream_eof(lp, c);
}

bool kpath_hold_upstream(struct loop *lp, struct conn *c, struct ep *e)
{
	if (!c->kpath || e->side != 1 || c->kp_up_ok || (!e->eof && !ep_avail(e)))
		return false;
	/* bytes are missing before these: the next tick resets the flow (kpath_tick) */
	kpath_count_verdict(lp, c);
	if (c->kp_broken)
		return true;
	if (ep_avail(e) && !c->kp_held) {
		c->kp_held = true;
		lp->st.kpath_held++;
		log_debug("conn %llu: the upstream's bytes come to hermesd now (the app's backlog overflowed, "
			  "or its socket is gone)", (unsigned long long)c->id);
	}
	if (!c->kp_looked_ns) {
		/* the EOF: only a walk after it counts, and the first after a short wait */
		c->kp_looked_ns = loop_now_ns();
		arm_drain(lp, c);
	}
	return !c->kp_up_ok;
}

int kpath_iter_attach(struct loader *ld)
{
	uint64_t key;

	/* entries an earlier hermesd left (a crash) name sockets that are gone or no
	 * flow of ours any more: a new hermesd has no kernel-path flow yet */
	while (!bpf_map_get_next_key(ld->kpath_fd, NULL, &key))
		if (bpf_map_delete_elem(ld->kpath_fd, &key))
			break;
	struct bpf_link *link = bpf_program__attach_iter(ld->skel->progs.hermes_kpath_backlog, NULL);

	if (!link)
		return -errno;
	ld->kpath_iter = link;
	ld->kpath_iter_fd = bpf_link__fd(link);
	return 0;
}
