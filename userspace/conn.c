/* conn.c: the `proxy` action. A steered client connection is accepted, its original
 * destination recovered (SO_ORIGINAL_DST, else the pinned map), the upstream dialled
 * with SO_MARK (so connect4 leaves it alone), with a per-attempt timeout, backoff and
 * alternate endpoints; then bytes are relayed both ways with multishot recv into a
 * small provided-buffer ring per direction (its size bounds what is in flight, which
 * is the backpressure), half-close forwarded after the last byte, RST forwarded as RST. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "hermes/flow.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "access.h"
#include "runtime.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif


static void list_add(struct loop *lp, struct conn *c)
{
	c->next = lp->conns;
	if (lp->conns)
		lp->conns->prev = c;
	lp->conns = c;
}

static void list_del(struct loop *lp, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static uint16_t bgid_get(struct loop *lp)
{
	if (lp->n_bgid_free)
		return lp->bgid_free[--lp->n_bgid_free];
	if (lp->bgid_next > 0xffff)
		return 0;
	return (uint16_t)lp->bgid_next++;
}

static void bgid_put(struct loop *lp, uint16_t id)
{
	uint16_t *n = realloc(lp->bgid_free, (lp->n_bgid_free + 1) * sizeof(*n));

	if (!n)
		return; /* the id leaks; 65535 of them are plenty */
	lp->bgid_free = n;
	lp->bgid_free[lp->n_bgid_free++] = id;
}

static int half_ring_setup(struct loop *lp, struct half *h)
{
	struct io_uring_buf_reg reg = {};
	size_t ring_sz = RELAY_NBUF * sizeof(struct io_uring_buf);
	int err;

	h->bgid = bgid_get(lp);
	if (!h->bgid)
		return -ENOSPC;
	if (posix_memalign((void **)&h->br, 4096, ring_sz < 4096 ? 4096 : ring_sz))
		return -ENOMEM;
	h->bufs = malloc((size_t)RELAY_NBUF * RELAY_BUFSZ);
	if (!h->bufs)
		return -ENOMEM;
	io_uring_buf_ring_init(h->br);
	reg.ring_addr = (uint64_t)(uintptr_t)h->br;
	reg.ring_entries = RELAY_NBUF;
	reg.bgid = h->bgid;
	err = io_uring_register_buf_ring(&lp->ring, &reg, 0);
	if (err)
		return err;
	h->ring_registered = true;
	for (int i = 0; i < RELAY_NBUF; i++)
		io_uring_buf_ring_add(h->br, h->bufs + (size_t)i * RELAY_BUFSZ, RELAY_BUFSZ, (unsigned short)i,
				      io_uring_buf_ring_mask(RELAY_NBUF), i);
	io_uring_buf_ring_advance(h->br, RELAY_NBUF);
	return 0;
}

static void half_ring_free(struct loop *lp, struct half *h)
{
	if (h->ring_registered)
		io_uring_unregister_buf_ring(&lp->ring, h->bgid);
	if (h->bgid)
		bgid_put(lp, h->bgid);
	free(h->br);
	free(h->bufs);
	h->br = NULL;
	h->bufs = NULL;
	h->bgid = 0;
	h->ring_registered = false;
}

void sock_reset_on_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static loop_done_fn conn_connect_done, conn_backoff_done, on_send, on_shutdown;

/* A cancel, a timeout removal or the connect's linked timeout of c completed. */
static void conn_aux_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct conn *c = loop_container_of(op, struct conn, op_aux);

	(void)cqe;
	c->inflight--;
	conn_maybe_free(lp, c);
}

/* Cancels OP, one of c's ops (its own or one of its halves'). */
static void conn_cancel_op(struct loop *lp, struct conn *c, const struct loop_op *op)
{
	loop_cancel(lp, &c->op_aux, conn_aux_done, op);
	c->inflight++;
}

/* Cancels what is in flight on the connection's sockets, op by op (loop_cancel): every
 * op a connection submits on its sockets is tracked by a flag. */
static void conn_cancel_ops(struct loop *lp, struct conn *c, bool connecting)
{
	if (connecting) /* its linked timeout goes with it */
		conn_cancel_op(lp, c, &c->op_connect);
	for (int i = 0; i < 2; i++) {
		struct half *h = &c->h[i];

		if (h->recv_armed)
			conn_cancel_op(lp, c, &h->op_recv);
		if (h->send_inflight)
			conn_cancel_op(lp, c, &h->op_send);
		if (h->shut_inflight)
			conn_cancel_op(lp, c, &h->op_shutdown);
		if (h->polling)
			conn_cancel_op(lp, c, &h->op_poll);
	}
}

/* Ends the connection: RST the sides flagged, cancel what is in flight; the memory
 * goes once the last completion is in (conn_maybe_free). */
void conn_abort(struct loop *lp, struct conn *c, bool rst_client, bool rst_upstream)
{
	bool connecting = c->state == CONN_CONNECTING;

	if (c->state == CONN_CLOSING)
		return;
	for (int i = 0; i < 2; i++) {
		if (c->h[i].drain_timer) {
			io_uring_prep_timeout_remove(loop_sqe(lp, &c->op_aux, conn_aux_done),
						     loop_op_ud(&c->h[i].op_drain), 0);
			c->inflight++;
		}
	}
	c->rst_client |= rst_client;
	c->rst_upstream |= rst_upstream;
	if (c->state == CONN_BACKOFF) {
		io_uring_prep_timeout_remove(loop_sqe(lp, &c->op_aux, conn_aux_done), loop_op_ud(&c->op_backoff), 0);
		c->inflight++;
	}
	c->state = CONN_CLOSING;
	for (int i = 0; i < 2; i++) {
		/* a reset socket maps to CONNECT_ERROR (RFC 9113 8.5); anything else cancels */
		bool rst = i ? c->rst_upstream : c->rst_client;

		if (c->ss[i])
			sess_stream_detach(lp, c, i, rst ? 0xa /* CONNECT_ERROR */ : c->s_ended[i] ? 0 : 0x8 /* CANCEL */);
	}
	conn_cancel_ops(lp, c, connecting);
}

void conn_maybe_free(struct loop *lp, struct conn *c)
{
	if (c->state != CONN_CLOSING || c->inflight > 0)
		return;
	/* out of the splice maps before close, so no byte is redirected to a closing socket */
	splice_unlink(lp, c);
	if (c->rst_client)
		sock_reset_on_close(c->cfd);
	if (c->rst_upstream)
		sock_reset_on_close(c->ufd);
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	half_ring_free(lp, &c->h[0]);
	half_ring_free(lp, &c->h[1]);
	for (int i = 0; i < 2; i++) {
		if (c->ss[i])
			sess_stream_detach(lp, c, i, 0x8 /* CANCEL */);
		free(c->h[i].sq);
		free(c->h[i].pre);
	}
	rt_put(c->rt);
	free(c->hbuf);
	free(c->rbuf);
	free(c->ident);
	lp->st.bytes_c2u += c->h[0].bytes;
	lp->st.bytes_u2c += c->h[1].bytes;
	if (c->engine || c->h[0].bytes || c->h[1].bytes)
		hist_add(&lp->st.flow_bytes, (double)(c->h[0].bytes + c->h[1].bytes));
	if (c->counted_active)
		lp->st.active--;
	lp->st.closed++;
	access_conn(lp, c);
	log_debug("conn %llu closed: %llu bytes up, %llu down%s%s", (unsigned long long)c->id,
		  (unsigned long long)c->h[0].bytes, (unsigned long long)c->h[1].bytes,
		  c->rst_client ? ", client reset" : "", c->rst_upstream ? ", upstream reset" : "");
	list_del(lp, c);
	free(c);
}

/* Original destination: SO_ORIGINAL_DST (served by our getsockopt program when
 * hermesd's cgroup has it), else a direct lookup in the pinned map by peer address. */
static int conn_origdst(struct loop *lp, struct conn *c, struct hermes_addr *dst, const char **how)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct hermes_origdst od;
	bool have_od;

	if (getpeername(c->cfd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	addr_to_hermes((struct sockaddr *)&ss, &c->peer);
	/* who opened the flow: the app socket's cookie, pid and uid */
	have_od = lp->ld->origdst_fd >= 0 && !bpf_map_lookup_elem(lp->ld->origdst_fd, &c->peer, &od);
	if (have_od) {
		c->app_cookie = od.cookie;
		c->app_pid = od.pid;
		c->app_uid = od.uid;
		c->app_gid = od.gid;
		c->action = od.action;
	}
	len = sizeof(ss);
	if (!getsockopt(c->cfd, c->peer.family == HERMES_FAMILY_V6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, &ss, &len) &&
	    !addr_to_hermes((struct sockaddr *)&ss, dst)) {
		*how = "SO_ORIGINAL_DST";
		return 0;
	}
	if (have_od) {
		*dst = od.dst;
		*how = "map";
		return 0;
	}
	return -ENOENT;
}

void conn_fail_attempt(struct loop *lp, struct conn *c, int err)
{
	unsigned max = lp->cfg->connect_attempts > c->n_eps ? lp->cfg->connect_attempts : c->n_eps;
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN];
	uint64_t delay;

	addr_from_hermes(&c->eps[(c->attempts - 1) % c->n_eps], &ss);
	lp->st.connect_failures++;
	metrics_peer_attempt(lp, c, err);
	if (c->sside[1]) {
		if (c->ss[1])
			sess_stream_detach(lp, c, 1, 0x8 /* CANCEL */);
		c->sside[1] = false;
		c->sid[1] = 0;
	}
	if (c->ufd >= 0) {
		close(c->ufd);
		c->ufd = -1;
	}
	/* a peer's 403 is a policy decision, not a failure: no other attempt */
	if (c->attempts >= max || lp->draining || err == -EACCES) {
		lp->st.upstream_unreachable++;
		c->result = err == -EACCES ? "403" : "connect-failed";
		log_warn("conn %llu: upstream %s: %s; giving up after %u attempts, resetting the client",
			 (unsigned long long)c->id, addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
			 strerror(-err), c->attempts);
		c->state = CONN_RELAY; /* so that abort runs its normal path */
		if (c->tunnel_server) {
			/* a CONNECT client is told why, then closed normally */
			tunnel_reply(c, err == -ETIMEDOUT ? 504 : err == -EACCES ? 403 : 502);
			conn_abort(lp, c, false, false);
		} else {
			conn_abort(lp, c, true, false);
		}
		conn_maybe_free(lp, c);
		return;
	}
	delay = lp->cfg->backoff_base_ms;
	for (unsigned i = 1; i < c->attempts && delay < lp->cfg->backoff_max_ms; i++)
		delay *= 2;
	if (delay > lp->cfg->backoff_max_ms)
		delay = lp->cfg->backoff_max_ms;
	log_info("conn %llu: upstream %s: %s; retry %u in %llu ms", (unsigned long long)c->id,
		 addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)), strerror(-err), c->attempts,
		 (unsigned long long)delay);
	lp->st.connect_retries++;
	if (!delay) {
		conn_connect(lp, c);
		return;
	}
	c->state = CONN_BACKOFF;
	c->ts.tv_sec = (long long)(delay / 1000);
	c->ts.tv_nsec = (long long)(delay % 1000) * 1000000;
	io_uring_prep_timeout(loop_sqe(lp, &c->op_backoff, conn_backoff_done), &c->ts, 0, 0);
	c->inflight++;
}

void conn_connect(struct loop *lp, struct conn *c)
{
	const struct hermes_addr *ep = &c->eps[c->attempts % c->n_eps];
	const struct cfg_peer *tp = c->tp ? &c->tp[c->attempts % c->n_eps] : NULL;
	struct io_uring_sqe *sqe;
	socklen_t len;
	int fd, mark = (int)lp->cfg->mark;

	c->attempts++;
	lp->st.connect_attempts++;
	c->setup_start_ns = loop_now_ns();
	if (tp && (tp->proto != TPROTO_H1 || tp->tls)) {
		sess_attach(lp, c, tp);
		return;
	}
	c->state = CONN_CONNECTING;
	len = addr_from_hermes(ep, &c->dst_ss);
	fd = socket(c->dst_ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		conn_fail_attempt(lp, c, -errno);
		return;
	}
	/* never steered again by connect4, and recognisable as ours */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		int err = -errno;

		close(fd);
		log_error("SO_MARK on upstream socket: %s (hermesd needs CAP_NET_ADMIN)", strerror(-err));
		conn_fail_attempt(lp, c, err);
		return;
	}
	c->ufd = fd;
	c->connect_start_ns = loop_now_ns();
	sqe = loop_sqe(lp, &c->op_connect, conn_connect_done);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->dst_ss, len);
	sqe->flags |= IOSQE_IO_LINK;
	c->ts.tv_sec = lp->cfg->connect_timeout_ms / 1000;
	c->ts.tv_nsec = (long long)(lp->cfg->connect_timeout_ms % 1000) * 1000000;
	io_uring_prep_link_timeout(loop_sqe(lp, &c->op_aux, conn_aux_done), &c->ts, 0);
	c->inflight += 2;
}

struct conn *conn_new(struct loop *lp, int fd)
{
	struct conn *c = loop_zalloc(sizeof(*c));

	lp->st.accepted++;
	if (!c) {
		sock_reset_on_close(fd);
		close(fd);
		return NULL;
	}
	c->loop = lp;
	c->rt = rt_get(lp->rt);
	c->id = ++lp->next_id;
	c->cfd = fd;
	c->ufd = -1;
	c->last_active_ms = c->started_ms = lp->now_ms;
	c->h[0].c = c->h[1].c = c;
	c->h[0].from = c->h[1].to = fd;
	c->h[0].to = c->h[1].from = -1;
	list_add(lp, c);
	lp->st.active++;
	c->counted_active = true;
	return c;
}

/* The engine of the app's flow, for the flow table (see hermes_flow_engine). */
static void flow_write_engine(struct loop *lp, struct conn *c, __u32 e)
{
	if (c->app_cookie && lp->ld->flow_engine_fd >= 0)
		bpf_map_update_elem(lp->ld->flow_engine_fd, &c->app_cookie, &e, BPF_ANY);
}

static void flow_set_engine(struct loop *lp, struct conn *c)
{
	flow_write_engine(lp, c, c->engine == RELAY_SPLICE ? HERMES_ENGINE_SPLICE : HERMES_ENGINE_URING);
}

int conn_hand_over(struct loop *lp, struct conn *c)
{
	int fd = c->cfd;

	list_del(lp, c);
	if (c->counted_active)
		lp->st.active--;
	free(c->hbuf);
	free(c->rbuf);
	free(c->ident);
	rt_put(c->rt);
	free(c);
	return fd;
}

void conn_accept(struct loop *lp, int fd)
{
	struct conn *c = conn_new(lp, fd);
	const struct cfg_endpoint_set *alt;
	struct sockaddr_storage ss;
	char pbuf[ADDR_STRLEN], dbuf[ADDR_STRLEN];
	const char *how = "";
	struct hermes_addr dst;
	int err;

	if (!c)
		return;
	err = conn_origdst(lp, c, &dst, &how);
	addr_from_hermes(&c->peer, &ss);
	addr_fmt((struct sockaddr *)&ss, pbuf, sizeof(pbuf));
	if (err) {
		lp->st.origdst_missing++;
		log_warn("conn %llu from %s: no original destination known (not steered by Hermes?): resetting",
			 (unsigned long long)c->id, pbuf);
		c->state = CONN_RELAY;
		conn_abort(lp, c, true, false);
		conn_maybe_free(lp, c);
		return;
	}
	addr_from_hermes(&dst, &ss);
	addr_fmt((struct sockaddr *)&ss, dbuf, sizeof(dbuf));
	log_debug("conn %llu: origdst %s -> %s (%s)", (unsigned long long)c->id, pbuf, dbuf, how);
	if (c->action == HERMES_ACT_HTTP) {
		/* http.c reads the requests: the socket moves to its own object */
		struct hermes_addr peer = c->peer;
		int cfd;

		flow_write_engine(lp, c, HERMES_ENGINE_HTTP);
		cfd = conn_hand_over(lp, c);

		http_accept(lp, cfd, &peer, &dst);
		return;
	}
	if (c->action == HERMES_ACT_TUNNEL) {
		if (tunnel_route(lp, c, &dst)) {
			log_warn("conn %llu: no route for %s (tunnel action): resetting the client",
				 (unsigned long long)c->id, dbuf);
			c->target = dst;
			c->result = "no-route";
			c->state = CONN_RELAY;
			conn_abort(lp, c, true, false);
			conn_maybe_free(lp, c);
			return;
		}
		tunnel_identity(lp, c, &dst);
		conn_connect(lp, c);
		return;
	}
	c->eps[0] = dst;
	c->n_eps = 1;
	alt = config_find_endpoints(lp->cfg, (struct sockaddr *)&ss);
	for (int i = 0; alt && i < alt->n_alternates; i++)
		addr_to_hermes((const struct sockaddr *)&alt->alternates[i].ss, &c->eps[c->n_eps++]);
	conn_connect(lp, c);
}

static void half_arm_recv(struct loop *lp, struct half *h)
{
	struct io_uring_sqe *sqe = loop_sqe(lp, &h->op_recv, conn_recv_done);

	io_uring_prep_recv_multishot(sqe, h->from, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = h->bgid;
	h->recv_armed = true;
	h->c->inflight++;
}

void conn_half_peek(const struct half *h, const uint8_t **p, size_t *n)
{
	if (h->pre_off < h->pre_len) {
		*p = (const uint8_t *)h->pre + h->pre_off;
		*n = h->pre_len - h->pre_off;
	} else if (h->sq) {
		*p = h->sq + h->sq_head;
		*n = h->sq_len < STREAM_WIN - h->sq_head ? h->sq_len : STREAM_WIN - h->sq_head;
	} else if (h->q_count) {
		*p = (const uint8_t *)h->bufs + (size_t)h->q_bid[h->q_head] * RELAY_BUFSZ + h->sent_off;
		*n = h->q_len[h->q_head] - h->sent_off;
	} else {
		*p = NULL;
		*n = 0;
	}
}

int conn_half_append(struct half *h, const void *p, size_t n)
{
	uint32_t tail;
	size_t first;

	if (!h->sq && !(h->sq = malloc(STREAM_WIN)))
		return -ENOMEM;
	if (h->sq_len + n > STREAM_WIN)
		return -ENOBUFS;
	tail = (h->sq_head + h->sq_len) % STREAM_WIN;
	first = STREAM_WIN - tail < n ? STREAM_WIN - tail : n;
	memcpy(h->sq + tail, p, first);
	memcpy(h->sq, (const uint8_t *)p + first, n - first);
	h->sq_len += (uint32_t)n;
	h->bytes += n;
	return 0;
}

void conn_half_prepend(struct half *h, char *buf, size_t off, size_t len)
{
	memmove(buf, buf + off, len);
	h->pre = buf;
	h->pre_off = 0;
	h->pre_len = (uint32_t)len;
	h->bytes += len;
}

size_t conn_half_avail(const struct half *h)
{
	size_t n = h->pre_len - h->pre_off + h->sq_len;

	for (unsigned i = 0; i < h->q_count; i++)
		n += h->q_len[(h->q_head + i) % RELAY_NBUF];
	return n - (h->q_count ? h->sent_off : 0);
}

static bool half_empty(const struct half *h)
{
	return h->pre_off >= h->pre_len && !h->sq_len && !h->q_count;
}

static void half_arm_recv(struct loop *lp, struct half *h);

void conn_half_consumed(struct loop *lp, struct half *h, size_t n)
{
	struct conn *c = h->c;

	c->last_active_ms = lp->now_ms;
	if (h->pre_off < h->pre_len) {
		h->pre_off += (uint32_t)n;
		if (h->pre_off >= h->pre_len) {
			free(h->pre);
			h->pre = NULL;
			h->pre_off = h->pre_len = 0;
		}
		return;
	}
	if (h->sq) {
		h->sq_head = (uint32_t)((h->sq_head + n) % STREAM_WIN);
		h->sq_len -= (uint32_t)n;
		sess_stream_consumed(c, h == &c->h[0] ? 0 : 1, n);
		return;
	}
	h->sent_off += (uint32_t)n;
	if (h->sent_off >= h->q_len[h->q_head]) {
		unsigned bid = h->q_bid[h->q_head];

		io_uring_buf_ring_add(h->br, h->bufs + (size_t)bid * RELAY_BUFSZ, RELAY_BUFSZ, (unsigned short)bid,
				      io_uring_buf_ring_mask(RELAY_NBUF), 0);
		io_uring_buf_ring_advance(h->br, 1);
		h->q_head = (h->q_head + 1) % RELAY_NBUF;
		h->q_count--;
		h->sent_off = 0;
	}
	if (!h->recv_armed && !h->eof && h->from >= 0 && c->state == CONN_RELAY)
		half_arm_recv(lp, h);
}

static void half_kick_send(struct loop *lp, struct half *h)
{
	const uint8_t *p;
	size_t n;

	if (h->send_inflight)
		return;
	conn_half_peek(h, &p, &n);
	if (!n)
		return;
	io_uring_prep_send(loop_sqe(lp, &h->op_send, on_send), h->to, p, n, MSG_NOSIGNAL);
	h->send_inflight = true;
	h->c->inflight++;
}

static void half_forward_fin(struct loop *lp, struct half *h)
{
	if (!h->eof || !half_empty(h) || h->shut_inflight || h->shut_done)
		return;
	if (h->to < 0) {
		/* the data provider ends the stream once it finds the half empty */
		sess_stream_kick(lp, h->c, h == &h->c->h[0] ? 1 : 0);
		return;
	}
	io_uring_prep_shutdown(loop_sqe(lp, &h->op_shutdown, on_shutdown), h->to, SHUT_WR);
	h->shut_inflight = true;
	h->c->inflight++;
}

void conn_half_kick(struct loop *lp, struct half *h)
{
	if (h->c->state != CONN_RELAY)
		return;
	if (h->to >= 0)
		half_kick_send(lp, h);
	else
		sess_stream_kick(lp, h->c, h == &h->c->h[0] ? 1 : 0);
	half_forward_fin(lp, h);
}

void conn_stream_eof(struct loop *lp, struct conn *c, int side)
{
	c->h[side].eof = true;
	conn_half_kick(lp, &c->h[side]);
}

/* Engine for a flow whose upstream just connected. `auto` is io_uring: on this kernel
 * io_uring with the sk_msg hop beat splice on request/response rate, RTT and
 * single-flow bulk, and splice only won with 8 parallel bulk flows (docs/architecture.md,
 * "Kernel acceleration"); the sk_msg hop, which splice cannot use, is decided before the flow's
 * class could be known. */
static enum relay_engine relay_pick(const struct loop *lp)
{
	return lp->cfg->relay == RELAY_SPLICE ? RELAY_SPLICE : RELAY_URING;
}

void conn_start_relay(struct loop *lp, struct conn *c)
{
	int err = 0, one = 1;

	c->state = CONN_RELAY;
	c->engine = relay_pick(lp);
	hist_add(&lp->st.connect_seconds, (double)(loop_now_ns() - c->connect_start_ns) / 1e9);
	if (c->sside[0] || c->sside[1]) {
		/* a stream side: io_uring moves the socket side's bytes */
		c->engine = RELAY_URING;
		lp->st.flows_uring++;
		flow_set_engine(lp, c);
		for (int i = 0; i < 2; i++) {
			int fd = i ? c->ufd : c->cfd;

			c->h[i].from = c->sside[i] ? -1 : fd;
			c->h[1 - i].to = c->sside[i] ? -1 : fd;
			if (!c->sside[i]) {
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				err = err ?: half_ring_setup(lp, &c->h[i]);
			} else if (!c->h[i].sq && !(c->h[i].sq = malloc(STREAM_WIN))) {
				err = -ENOMEM;
			}
		}
		if (err) {
			log_error("conn %llu: relay buffers: %s", (unsigned long long)c->id, strerror(-err));
			conn_abort(lp, c, true, true);
			conn_maybe_free(lp, c);
			return;
		}
		for (int i = 0; i < 2; i++) {
			if (!c->sside[i])
				half_arm_recv(lp, &c->h[i]);
			/* bytes that came with the tunnel's head, or early stream data */
			conn_half_kick(lp, &c->h[i]);
		}
		return;
	}
	if (c->engine == RELAY_SPLICE) {
		err = splice_start(lp, c);
		if (!err) {
			lp->st.flows_splice++;
			flow_set_engine(lp, c);
			return;
		}
		lp->st.splice_fallbacks++;
		log_warn("conn %llu: cannot splice (%s): relaying with io_uring", (unsigned long long)c->id,
			 strerror(-err));
		c->engine = RELAY_URING;
	}
	lp->st.flows_uring++;
	flow_set_engine(lp, c);
	c->h[0].from = c->cfd;
	c->h[0].to = c->ufd;
	c->h[1].from = c->ufd;
	c->h[1].to = c->cfd;
	setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	err = half_ring_setup(lp, &c->h[0]);
	err = err ?: half_ring_setup(lp, &c->h[1]);
	if (err) {
		log_error("conn %llu: buffer ring: %s", (unsigned long long)c->id, strerror(-err));
		conn_abort(lp, c, true, true);
		conn_maybe_free(lp, c);
		return;
	}
	half_arm_recv(lp, &c->h[0]);
	half_arm_recv(lp, &c->h[1]);
}

/* A direction finished both ways (FIN read and forwarded) on both halves: done. */
void conn_check_done(struct loop *lp, struct conn *c)
{
	if (c->h[0].shut_done && c->h[1].shut_done && !c->inflight) {
		c->state = CONN_CLOSING;
		conn_maybe_free(lp, c);
	}
}

void conn_recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct half *h = loop_container_of(op, struct half, op_recv);
	struct conn *c = h->c;
	int res = cqe->res;

	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		h->recv_armed = false;
		c->inflight--;
	}
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	if (c->state == CONN_TUNNEL_HEAD) {
		tunnel_head(lp, c, res);
		return;
	}
	if (c->state == CONN_TUNNEL_RESP) {
		tunnel_resp(lp, c, res);
		return;
	}
	if (res > 0) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		unsigned slot = (h->q_head + h->q_count) % RELAY_NBUF;

		h->q_bid[slot] = (uint16_t)bid;
		h->q_len[slot] = (uint32_t)res;
		h->q_count++;
		h->bytes += (uint64_t)res;
		c->last_active_ms = lp->now_ms;
		if (h->to >= 0)
			half_kick_send(lp, h);
		else
			sess_stream_kick(lp, c, h == &c->h[0] ? 1 : 0);
		if (!h->recv_armed && h->q_count < RELAY_NBUF && c->state == CONN_RELAY)
			half_arm_recv(lp, h);
		return;
	}
	if (res == 0) {
		h->eof = true;
		half_forward_fin(lp, h);
		return;
	}
	if (res == -ENOBUFS) {
		/* every buffer is waiting to be sent: re-armed once one is back */
		if (!h->q_count && !h->recv_armed)
			half_arm_recv(lp, h);
		return;
	}
	/* the reading side failed (reset): pass the reset on to the other side */
	if (res != -ECANCELED)
		lp->st.resets++;
	log_debug("conn %llu: recv from %s: %s", (unsigned long long)c->id, h == &c->h[0] ? "client" : "upstream",
		  strerror(-res));
	conn_abort(lp, c, h == &c->h[1], h == &c->h[0]);
	conn_maybe_free(lp, c);
}

static void on_send(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct half *h = loop_container_of(op, struct half, op_send);
	struct conn *c = h->c;
	int res = cqe->res;

	h->send_inflight = false;
	c->inflight--;
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	if (res < 0) {
		/* the receiving side is gone: reset the sender, nothing more can be delivered */
		lp->st.resets++;
		log_debug("conn %llu: send to %s: %s", (unsigned long long)c->id, h == &c->h[0] ? "upstream" : "client",
			  strerror(-res));
		conn_abort(lp, c, h == &c->h[0], h == &c->h[1]);
		conn_maybe_free(lp, c);
		return;
	}
	conn_half_consumed(lp, h, (size_t)res);
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	half_kick_send(lp, h);
	half_forward_fin(lp, h);
}

static void conn_connect_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct conn *c = loop_container_of(op, struct conn, op_connect);

	c->inflight--;
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	if (cqe->res < 0) {
		conn_fail_attempt(lp, c, cqe->res == -ECANCELED ? -ETIMEDOUT : cqe->res);
		return;
	}
	if (c->tunnel_client) {
		tunnel_send_connect(lp, c);
		return;
	}
	if (c->tunnel_server && tunnel_established(lp, c)) {
		conn_abort(lp, c, true, true);
		conn_maybe_free(lp, c);
		return;
	}
	conn_start_relay(lp, c);
}

static void conn_backoff_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct conn *c = loop_container_of(op, struct conn, op_backoff);

	(void)cqe;
	c->inflight--;
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	conn_connect(lp, c);
}

static void on_shutdown(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct half *h = loop_container_of(op, struct half, op_shutdown);
	struct conn *c = h->c;

	(void)cqe;
	c->inflight--;
	h->shut_inflight = false;
	h->shut_done = true;
	if (c->state == CONN_CLOSING)
		conn_maybe_free(lp, c);
	else
		conn_check_done(lp, c);
}

void conn_tick(struct loop *lp)
{
	for (struct conn *c = lp->conns, *n; c; c = n) {
		n = c->next;
		if (c->spliced)
			splice_tick(lp, c);
		if ((c->state == CONN_TUNNEL_RESP || c->state == CONN_TUNNEL_WAIT) && c->sside[1] &&
		    loop_now_ns() - c->setup_start_ns >= (uint64_t)lp->cfg->connect_timeout_ms * 1000000) {
			/* no 200 from the peer in time over HTTP/2: next peer */
			conn_fail_attempt(lp, c, -ETIMEDOUT);
			continue;
		}
		if (c->state == CONN_TUNNEL_RESP && !c->resp_timed_out &&
		    loop_now_ns() - c->connect_start_ns >= (uint64_t)lp->cfg->connect_timeout_ms * 1000000) {
			/* the peer accepted but does not answer the CONNECT: the recv ends with
			 * -ECANCELED and tunnel_resp moves on to the next peer */
			c->resp_timed_out = true;
			conn_cancel_op(lp, c, &c->h[1].op_recv);
			continue;
		}
		if (c->state == CONN_TUNNEL_HEAD && lp->now_ms - c->started_ms >= TUNNEL_HEAD_TIMEOUT_MS) {
			tunnel_reply(c, 408);
			conn_abort(lp, c, false, false);
			conn_maybe_free(lp, c);
			continue;
		}
		if (c->state == CONN_RELAY && lp->now_ms - c->last_active_ms >= lp->cfg->idle_timeout_ms) {
			lp->st.idle_timeouts++;
			c->result = "idle-timeout";
			log_info("conn %llu: idle for %u ms: closing", (unsigned long long)c->id,
				 lp->cfg->idle_timeout_ms);
			conn_abort(lp, c, false, false);
			conn_maybe_free(lp, c);
		}
	}
}

void conn_abort_all(struct loop *lp)
{
	for (struct conn *c = lp->conns, *n; c; c = n) {
		n = c->next;
		conn_abort(lp, c, true, true);
		conn_maybe_free(lp, c);
	}
}
