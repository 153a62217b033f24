/* conn.c: a flow between two endpoints (ep-t.h) and the roles that make one: the
 * `proxy` action (a steered client connection, its original destination recovered with
 * SO_ORIGINAL_DST or the pinned map, the upstream dialled with a per-attempt timeout,
 * backoff and alternate endpoints), the inbound proxy (ingress.c), and the two ends of a
 * tunnel (tunnel.c: the client that reaches its target through a route's peers, the
 * server of the tunnel listener). Once both endpoints are up the relay (relay.c) or the
 * splice engine (splice.c) moves the bytes; a reset on one side is passed on as a reset
 * of the other. Which kind of endpoint each side is stays the endpoints' business: the
 * flow hears of them through the owner callbacks below. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "access.h"
#include "addr.h"
#include "config.h"
#include "conn.h"
#include "ep.h"
#include "ep_sock.h"
#include "ep_udp.h"
#include "hermes/flow.h"
#include "http.h"
#include "kpath.h"
#include "log.h"
#include "overload.h"
#include "counters.h"
#include "ring.h"
#include "sock.h"
#include "runtime.h"
#include "sess.h"
#include "splice.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif

static const struct ep_owner_ops conn_ep_ops;
static const struct relay_owner_ops conn_relay_ops;

uint64_t conn_bytes(const struct conn *c, int side)
{
	return c->bytes[side] + (c->r.ep[side] ? c->r.ep[side]->bytes : 0);
}

static const char *side_name(int side)
{
	return side ? "upstream" : "client";
}

/* A cancel or a timeout removal of c completed. */
static void conn_aux_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct conn *c = loop_container_of(op, struct conn, op_aux);

	(void)cqe;
	life_drop(&c->life);
	conn_maybe_free(lp, c);
}

/* Cancels op, one of c's own, counted in flight. */
static void conn_cancel_op(struct loop *lp, struct conn *c, const struct loop_op *op)
{
	loop_cancel(lp, &c->op_aux, conn_aux_done, op);
	life_hold(&c->life, 1);
}

/* How a side is left when the flow ends: reset when asked, closed normally when its
 * write side ended (an error answer), cancelled otherwise. */
static enum ep_end side_end(const struct conn *c, int side, bool rst)
{
	if (rst)
		return EP_END_RESET;
	return c->r.ep[side] && c->r.ep[side]->shut ? EP_END_CLEAN : EP_END_CANCEL;
}

/* Ends c: RST the sides flagged, cancel what is in flight; the memory goes with the
 * last completion (conn_maybe_free). */
static void conn_abort(struct loop *lp, struct conn *c, bool rst_client, bool rst_upstream)
{
	if (c->state == CONN_CLOSING)
		return;
	/* out of the kernel path's maps while both sockets are open (kpath.c counts its bytes) */
	kpath_unlink(lp, c);
	for (int i = 0; i < 2; i++) {
		if (c->sd[i].drain_timer) {
			io_uring_prep_timeout_remove(loop_sqe(lp, &c->op_aux, conn_aux_done),
						     loop_op_ud(&c->sd[i].op_drain), 0);
			life_hold(&c->life, 1);
		}
		if (c->sd[i].polling)
			conn_cancel_op(lp, c, &c->sd[i].op_poll);
	}
	if (c->early_polling)
		conn_cancel_op(lp, c, &c->op_early);
	c->rst_client |= rst_client;
	c->rst_upstream |= rst_upstream;
	if (c->state == CONN_BACKOFF) {
		io_uring_prep_timeout_remove(loop_sqe(lp, &c->op_aux, conn_aux_done), loop_op_ud(&c->op_backoff), 0);
		life_hold(&c->life, 1);
	}
	c->state = CONN_CLOSING;
	life_close(&c->life);
	c->r.running = false;
	ep_close(c->r.ep[0], side_end(c, 0, c->rst_client));
	ep_close(c->r.ep[1], side_end(c, 1, c->rst_upstream));
}

void conn_end(struct loop *lp, struct conn *c, bool rst_client, bool rst_upstream)
{
	conn_abort(lp, c, rst_client, rst_upstream);
	conn_maybe_free(lp, c);
}

void conn_maybe_free(struct loop *lp, struct conn *c)
{
	if (!life_over(&c->life) || ep_busy(c->r.ep[0]) || ep_busy(c->r.ep[1]))
		return;
	/* out of the splice maps before close, so no byte is redirected to a closing socket */
	splice_unlink(lp, c);
	/* the kernel path's bytes never reached the relay's endpoints */
	c->bytes[0] += c->kp_sent;
	c->bytes[1] += c->kp_redir;
	for (int i = 0; i < 2; i++) {
		c->bytes[i] = conn_bytes(c, i);
		ep_free(c->r.ep[i]);
		c->r.ep[i] = NULL;
	}
	rt_put(c->rt);
	hb_free(&c->head);
	hb_free(&c->resp);
	free(c->ident);
	lp->st.bytes_c2u += c->bytes[0];
	lp->st.bytes_u2c += c->bytes[1];
	if (c->engine || c->bytes[0] || c->bytes[1])
		hist_add(&lp->st.flow_bytes, (double)(c->bytes[0] + c->bytes[1]));
	if (c->counted_active)
		lp->st.active--;
	lp->st.closed++;
	access_conn(lp, c);
	log_debug("conn %llu closed: %llu bytes up, %llu down%s%s", (unsigned long long)c->id,
		  (unsigned long long)c->bytes[0], (unsigned long long)c->bytes[1],
		  c->rst_client ? ", client reset" : "", c->rst_upstream ? ", upstream reset" : "");
	list_del(&c->link);
	free(c);
}

/* Original destination: SO_ORIGINAL_DST (served by our getsockopt program when
 * hermesd's cgroup has it), else a direct lookup in the pinned map by peer address
 * (peer: the accept's, NULL to ask getpeername). */
static int conn_origdst(struct loop *lp, struct conn *c, int fd, const struct sockaddr *peer, struct hermes_addr *dst,
			const char **how)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct hermes_origdst od;
	bool have_od;

	if (!peer) {
		if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
			return -errno;
		peer = (struct sockaddr *)&ss;
	}
	addr_to_hermes(peer, &c->peer);
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
	if (!getsockopt(fd, c->peer.family == HERMES_FAMILY_V6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, &ss, &len) &&
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

static loop_done_fn conn_backoff_done;

static loop_done_fn conn_early_ready;

/* Optimistic data (tunnel.optimistic_data): while a tunnel client waits for its peer's
 * answer, the client's bytes go out with the CONNECT. A socket is polled for them and
 * read (into its endpoint's 16 KiB setup buffer, which bounds them) only once they are
 * there, poll and read one after the other: a read armed in advance would still be
 * armed when the relay starts and keep that buffer for as long as the app says nothing
 * (16 KiB held for every idle flow of a protocol whose server speaks first); a poll
 * holds no buffer and is cancelled then. A stream or TLS endpoint (a relay hop's
 * client) needs neither: its bytes come in on their own. */
static void conn_early_wait(struct loop *lp, struct conn *c)
{
	struct ep *e = c->r.ep[0];
	int fd = e->ops->sock(e);

	if (fd < 0 || e->eof || c->early_polling)
		return;
	io_uring_prep_poll_add(loop_sqe(lp, &c->op_early, conn_early_ready), fd, POLLIN | POLLRDHUP);
	c->early_polling = true;
	life_hold(&c->life, 1);
}

static void conn_early_ready(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct conn *c = loop_container_of(op, struct conn, op_early);

	life_drop(&c->life);
	c->early_polling = false;
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	/* bytes (or the end) to read, while the answer is still awaited: one read, which
	 * completes at once; its data event polls again (ep_on_data) */
	if (cqe->res > 0 && c->state == CONN_TUNNEL_WAIT && c->early)
		c->r.ep[0]->ops->read(c->r.ep[0]);
}

/* The route's peer of a tunnel client's current attempt (NULL for other flows). */
static const struct cfg_peer *attempt_peer(const struct conn *c)
{
	return c->tp && c->n_eps && c->attempts ? &c->tp[c->cur_ep] : NULL;
}

/* The eps[] index of the next attempt. A tunnel client's goes to the first of the
 * route's peers, in order, that this flow has not tried and that is not ejected
 * (outlier.c): a dead first peer costs new flows nothing once ejected; with every
 * peer ejected, the one back soonest. Other flows go round their endpoints in order. */
static unsigned conn_pick_ep(struct loop *lp, struct conn *c)
{
	const struct outlier *v[1 + CFG_MAX_ALTERNATES];
	struct outlier *o;
	bool forced;
	int i;

	if (!c->tp)
		return c->attempts % c->n_eps;
	/* all found (added) first: adding may move the set's entries */
	for (unsigned k = 0; k < c->n_eps; k++)
		if (!outlier_find(&lp->tunnel_peers, &c->eps[k]))
			return c->attempts % c->n_eps; /* out of memory: the plain order */
	for (unsigned k = 0; k < c->n_eps; k++)
		v[k] = outlier_find(&lp->tunnel_peers, &c->eps[k]);
	i = outlier_pick(v, c->n_eps, c->attempts ? (c->cur_ep + 1) % c->n_eps : 0, c->tried_eps, lp->now_ms,
			 &forced);
	o = (struct outlier *)v[i];
	metrics_outlier_attempt(lp, OUTLIER_TUNNEL_PEER, &c->eps[i], o, forced);
	return (unsigned)i;
}

/* A tunnel client's attempt at its peer ended (err 0: the peer's 200): the peer's
 * failure memory learns it. A 403 is the peer's policy, not its failure. */
static void conn_peer_outcome(struct loop *lp, struct conn *c, int err)
{
	struct outlier *o;

	if (attempt_peer(c) && err != -EACCES && (o = outlier_find(&lp->tunnel_peers, &c->eps[c->cur_ep])))
		metrics_outlier_outcome(lp, OUTLIER_TUNNEL_PEER, &c->eps[c->cur_ep], o, !err, strerror(-err));
}

/* The attempt's stream failed before the answer. Optimistic bytes the peer may have
 * passed on (no answer: a reset, a lost connection, a timeout) cannot be sent to another
 * peer without maybe arriving twice: the flow is reset, as a direct flow would be. True
 * when c is gone that way. */
static bool conn_early_lost(struct loop *lp, struct conn *c, int err)
{
	size_t n = c->early ? sess_h2_early_unsettled(c->r.ep[1]) : 0;

	if (!n)
		return false;
	lp->st.tunnel_optimistic[TUNNEL_OPT_RESET]++;
	metrics_peer_attempt(lp, attempt_peer(c), err);
	conn_peer_outcome(lp, c, err);
	c->result = "optimistic-reset";
	log_info("conn %llu: tunnel peer: %s with no answer after %zu optimistic bytes went out: resetting the client "
		 "(they may have reached the target)", (unsigned long long)c->id, strerror(-err), n);
	conn_end(lp, c, true, false);
	return true;
}

void conn_fail_attempt(struct loop *lp, struct conn *c, int err)
{
	unsigned max = lp->cfg->connect_attempts > c->n_eps ? lp->cfg->connect_attempts : c->n_eps;
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN];
	uint64_t delay;

	addr_from_hermes(&c->eps[c->cur_ep], &ss);
	lp->st.connect_failures++;
	if (err == -EMFILE || err == -ENFILE)
		lp->st.upstream_fd_failures++;
	metrics_peer_attempt(lp, attempt_peer(c), err);
	conn_peer_outcome(lp, c, err);
	if (c->r.ep[1]) {
		c->bytes[1] += c->r.ep[1]->bytes;
		ep_drop(c->r.ep[1], EP_END_CANCEL);
		c->r.ep[1] = NULL;
	}
	/* a peer's 403 is a policy decision, not a failure, its 508 a loop (every other
	 * attempt would go round it again), and a peer without extended CONNECT takes no
	 * CONNECT-UDP: no other attempt */
	if (c->attempts >= max || lp->draining || err == -EACCES || err == -ELOOP || err == -EPROTONOSUPPORT) {
		lp->st.upstream_unreachable++;
		c->result = err == -EACCES ? "403" : err == -ELOOP ? "508" : err == -EPROTONOSUPPORT ? "no-connect-udp" :
			    "connect-failed";
		log_warn("conn %llu: upstream %s: %s; giving up after %u attempts, resetting the client",
			 (unsigned long long)c->id, addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
			 strerror(-err), c->attempts);
		if (c->tunnel_server) {
			/* a CONNECT client is told why, then closed normally */
			tunnel_reply(c, err == -ETIMEDOUT ? 504 : err == -EACCES ? 403 : err == -ELOOP ? 508 : 502);
			conn_end(lp, c, false, false);
		} else {
			conn_end(lp, c, true, false);
		}
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
	life_hold(&c->life, 1);
}

void conn_connect(struct loop *lp, struct conn *c)
{
	unsigned i = conn_pick_ep(lp, c);
	const struct hermes_addr *ep = &c->eps[i];
	const struct cfg_peer *tp = c->tp ? &c->tp[i] : NULL;
	struct ep *e;
	int err = 0;

	c->cur_ep = i;
	c->tried_eps |= 1u << i;
	c->attempts++;
	lp->st.connect_attempts++;
	c->setup_start_ns = c->connect_start_ns = loop_now_ns();
	c->early = false;
	c->peer_connects = tp && tp->proto != TPROTO_H1;
	if (c->peer_connects) {
		/* a stream on a pooled HTTP/2 connection: up once the peer answered 200 */
		c->state = CONN_TUNNEL_WAIT;
		e = sess_h2_open(lp, tp, &c->target, c->udp, c->ident, &conn_ep_ops, c, &err);
		/* (UDP: the datagrams wait in the client endpoint and follow the answer) */
		c->early = e && lp->cfg->tunnel_optimistic && !c->udp;
		if (c->early) {
			c->r.ep[1] = e;
			sess_h2_early(e, c->r.ep[0]);
			conn_early_wait(lp, c);
			return;
		}
	} else if (c->udp && !c->tunnel_client) {
		/* CONNECT-UDP on the tunnel listener: a UDP socket to the target */
		c->state = CONN_CONNECTING;
		e = ep_udp_open(lp, ep, &conn_ep_ops, c, 1, &err);
		if (e)
			ep_udp_tally(e, &c->udp_tally);
	} else if (tp && tp->tls) {
		c->state = CONN_CONNECTING;
		e = sess_h1_dial(lp, tp, &conn_ep_ops, c, &err);
	} else {
		c->state = CONN_CONNECTING;
		e = ep_sock_dial(lp, ep, &conn_ep_ops, c, 1, &err);
	}
	if (!e) {
		conn_fail_attempt(lp, c, err);
		return;
	}
	c->r.ep[1] = e;
}

struct conn *conn_new(struct loop *lp, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	lp->st.accepted++;
	if (c && fd >= 0 && !(c->r.ep[0] = ep_sock_new(lp, fd, &conn_ep_ops, c, 0))) {
		free(c);
		c = NULL;
	}
	if (!c) {
		if (fd >= 0) {
			sock_reset_on_close(fd);
			close(fd);
		}
		return NULL;
	}
	c->loop = lp;
	c->rt = rt_get(lp->rt);
	c->id = ++lp->next_id;
	c->last_active_ms = c->started_ms = lp->now_ms;
	c->r.own = &conn_relay_ops;
	c->r.owner = c;
	c->sd[0].c = c->sd[1].c = c;
	list_add(&lp->conns, &c->link);
	lp->st.active++;
	c->counted_active = true;
	return c;
}

void conn_set_client(struct conn *c, struct ep *e)
{
	c->r.ep[0] = e;
	e->own = &conn_ep_ops;
	e->owner = c;
	e->side = 0;
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
	int fd = c->r.ep[0] ? ep_sock_release(c->r.ep[0]) : -1;

	list_del(&c->link);
	if (c->counted_active)
		lp->st.active--;
	hb_free(&c->head);
	hb_free(&c->resp);
	free(c->ident);
	rt_put(c->rt);
	free(c);
	return fd;
}

/* Address a for a log line, formatted into buf (ADDR_STRLEN bytes). */
static const char *fmt_addr(const struct hermes_addr *a, char *buf)
{
	struct sockaddr_storage ss;

	addr_from_hermes(a, &ss);
	return addr_fmt((struct sockaddr *)&ss, buf, ADDR_STRLEN);
}

void conn_accept(struct loop *lp, int fd, const struct sockaddr *peer)
{
	struct conn *c = conn_new(lp, -1);
	const struct cfg_endpoint_set *alt;
	struct sockaddr_storage ss;
	char pbuf[ADDR_STRLEN], dbuf[ADDR_STRLEN];
	const char *how = "";
	struct hermes_addr dst;
	int err;

	if (!c) {
		sock_reset_on_close(fd);
		close(fd);
		return;
	}
	err = conn_origdst(lp, c, fd, peer, &dst, &how);
	/* the addresses are formatted for a log line only (two of them cost more than a
	 * percent of a tunnelled flow's CPU) */
	if (!err)
		log_debug("conn %llu: origdst %s -> %s (%s)", (unsigned long long)c->id, fmt_addr(&c->peer, pbuf),
			  fmt_addr(&dst, dbuf), how);
	if (!err && c->action == HERMES_ACT_HTTP) {
		/* http.c reads the requests: the socket moves to its own object */
		struct hermes_addr peer = c->peer;

		/* its close is a FIN (the listener's SO_LINGER 0 was inherited) */
		sock_fin_on_close(fd);
		flow_write_engine(lp, c, HERMES_ENGINE_HTTP);
		conn_hand_over(lp, c);
		http_accept(lp, fd, &peer, &dst);
		return;
	}
	/* over the memory budget (stage 3): an http action's client is answered in HTTP
	 * (hreq.c, h2dn.c); a relayed flow has no protocol of ours to answer in: reset */
	if (overload_shed(lp, OVL_REFUSE_CONNS, OVL_ACT_REFUSE_CONN)) {
		sock_reset_on_close(fd);
		close(fd);
		c->result = "overloaded";
		conn_end(lp, c, false, false);
		return;
	}
	if (!(c->r.ep[0] = ep_sock_new(lp, fd, &conn_ep_ops, c, 0))) {
		close(fd); /* a reset: SO_LINGER 0 from the listener */
		conn_end(lp, c, false, false);
		return;
	}
	/* armed from the accept on: a crash resets the app, also before the relay starts,
	 * and the relay's start has nothing to set; an orderly close disarms it (ep_sock.c) */
	ep_sock_crash_reset_set(c->r.ep[0]);
	if (err) {
		lp->st.origdst_missing++;
		log_warn("conn %llu from %s: no original destination known (not steered by Hermes?): resetting",
			 (unsigned long long)c->id, fmt_addr(&c->peer, pbuf));
		conn_end(lp, c, true, false);
		return;
	}
	if (c->action == HERMES_ACT_TUNNEL) {
		if (tunnel_route(lp, c, &dst)) {
			log_warn("conn %llu: no route for %s (tunnel action): resetting the client",
				 (unsigned long long)c->id, fmt_addr(&dst, dbuf));
			c->target = dst;
			c->result = "no-route";
			conn_end(lp, c, true, false);
			return;
		}
		tunnel_identity(lp, c, &dst);
		conn_connect(lp, c);
		return;
	}
	c->eps[0] = dst;
	c->n_eps = 1;
	addr_from_hermes(&dst, &ss);
	alt = config_find_endpoints(lp->cfg, (struct sockaddr *)&ss);
	for (int i = 0; alt && i < alt->n_alternates; i++)
		addr_to_hermes((const struct sockaddr *)&alt->alternates[i].ss, &c->eps[c->n_eps++]);
	conn_connect(lp, c);
}

/* Engine for a flow whose upstream just connected. `auto` is io_uring: on this kernel
 * io_uring with the sk_msg hop beat splice on request/response rate, RTT and
 * single-flow bulk, and splice only won with 8 parallel bulk flows (docs/architecture.md,
 * "Kernel acceleration"); the sk_msg hop, which splice cannot use, is decided before the flow's
 * class could be known. Splice needs a socket on both sides. */
static enum relay_engine relay_pick(const struct loop *lp, const struct conn *c)
{
	if (lp->cfg->relay == RELAY_KERNEL)
		return c->action == HERMES_ACT_PROXY && !c->tunnel_client && !c->tunnel_server && !c->inbound ?
			       RELAY_KERNEL :
			       RELAY_URING;
	if (lp->cfg->relay != RELAY_SPLICE)
		return RELAY_URING;
	return c->r.ep[0]->ops->sock(c->r.ep[0]) >= 0 && c->r.ep[1]->ops->sock(c->r.ep[1]) >= 0 ? RELAY_SPLICE :
												    RELAY_URING;
}

static void conn_start_relay(struct loop *lp, struct conn *c)
{
	int err;

	c->state = CONN_RELAY;
	c->engine = relay_pick(lp, c);
	hist_add(&lp->st.connect_seconds, (double)(loop_now_ns() - c->connect_start_ns) / 1e9);
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
	if (c->engine == RELAY_KERNEL) {
		/* the relay stays on for the bytes from before the switch and for the ends */
		c->engine = RELAY_URING;
		err = kpath_start(lp, c);
		if (!err) {
			lp->st.flows_kpath++;
		} else {
			lp->st.kpath_fallbacks++;
			log_debug("conn %llu: no kernel path (%s): relaying with io_uring", (unsigned long long)c->id,
				  strerror(-err));
		}
	}
	lp->st.flows_uring++;
	flow_set_engine(lp, c);
	err = relay_start(&c->r);
	if (err) {
		log_error("conn %llu: relay buffers: %s", (unsigned long long)c->id, strerror(-err));
		conn_end(lp, c, true, true);
	}
}

/* The tunnel to the peer is up (its 200): a relay hop answers its own client now. */
void conn_tunnel_up(struct loop *lp, struct conn *c)
{
	if (c->early_polling) /* the relay reads the client from now on */
		conn_cancel_op(lp, c, &c->op_early);
	hist_add(&lp->st.tunnel_setup_seconds, (double)(loop_now_ns() - c->setup_start_ns) / 1e9);
	metrics_peer_attempt(lp, attempt_peer(c), 0);
	conn_peer_outcome(lp, c, 0);
	if (c->tunnel_server && tunnel_established(lp, c)) {
		conn_end(lp, c, true, true);
		return;
	}
	conn_start_relay(lp, c);
}

/* ---- what the endpoints say ---- */

static void ep_on_up(struct ep *e)
{
	struct conn *c = e->owner;
	struct loop *lp = c->loop;

	if (e->side != 1)
		return;
	if (c->state == CONN_TUNNEL_WAIT) {
		conn_tunnel_up(lp, c);
		return;
	}
	if (c->state != CONN_CONNECTING)
		return;
	if (c->tunnel_client) {
		tunnel_send_connect(lp, c);
		return;
	}
	if (c->tunnel_server && tunnel_established(lp, c)) {
		conn_end(lp, c, true, true);
		return;
	}
	conn_start_relay(lp, c);
}

static void ep_on_data(struct ep *e)
{
	struct conn *c = e->owner;
	struct loop *lp = c->loop;

	if (c->state == CONN_RELAY) {
		c->last_active_ms = lp->now_ms;
		if (c->kpath && kpath_hold_upstream(lp, c, e))
			return;
		relay_data(&c->r, e);
	} else if (c->state == CONN_TUNNEL_HEAD && e->side == 0) {
		tunnel_head(lp, c);
	} else if (c->state == CONN_TUNNEL_RESP && e->side == 1) {
		tunnel_resp(lp, c);
	} else if (c->state == CONN_TUNNEL_WAIT && e->side == 0 && c->early) {
		/* optimistic data: more of the client's first bytes for the CONNECT's stream */
		c->r.ep[1]->ops->kick(c->r.ep[1]);
		conn_early_wait(lp, c);
	}
	/* else: it waits in the endpoint until the relay starts */
}

static void ep_on_drained(struct ep *e)
{
	struct conn *c = e->owner;

	if (c->state != CONN_RELAY)
		return;
	c->last_active_ms = c->loop->now_ms;
	if (c->kpath) {
		if (e->side == 1)
			kpath_sent(c->loop, c);
		else if ((c->r.ep[1]->eof || ep_avail(c->r.ep[1])) && !c->kp_up_ok)
			return; /* the upstream's FIN or bytes wait for the app's backlog (kpath.c) */
	}
	relay_drained(&c->r, e);
}

static void ep_on_error(struct ep *e, int err)
{
	struct conn *c = e->owner;
	struct loop *lp = c->loop;

	if (c->state == CONN_CLOSING)
		return;
	if (c->state == CONN_RELAY) {
		relay_error(&c->r, e, err);
		return;
	}
	if (e->side == 1 &&
	    (c->state == CONN_CONNECTING || c->state == CONN_TUNNEL_RESP || c->state == CONN_TUNNEL_WAIT)) {
		if (!conn_early_lost(lp, c, err))
			conn_fail_attempt(lp, c, err);
		return;
	}
	/* the client went away (or its stream was reset) before the relay */
	log_debug("conn %llu: %s: %s before the relay", (unsigned long long)c->id, side_name(e->side), strerror(-err));
	conn_end(lp, c, true, true);
}

static void ep_on_settled(struct ep *e)
{
	struct conn *c = e->owner;

	conn_maybe_free(c->loop, c);
}

static const struct ep_owner_ops conn_ep_ops = {
	.up = ep_on_up,
	.data = ep_on_data,
	.drained = ep_on_drained,
	.error = ep_on_error,
	.settled = ep_on_settled,
};

/* ---- what the relay says ---- */

static void relay_on_done(struct relay *r)
{
	struct conn *c = r->owner;

	conn_end(c->loop, c, false, false);
}

/* A side failed (a reset, a refused send): the other side is reset, nothing more can
 * be delivered. */
static void relay_on_failed(struct relay *r, int side, int err)
{
	struct conn *c = r->owner;
	struct loop *lp = c->loop;

	if (err != -ECANCELED)
		lp->st.resets++;
	log_debug("conn %llu: %s: %s", (unsigned long long)c->id, side_name(side), strerror(-err));
	conn_end(lp, c, side == 1, side == 0);
}

static const struct relay_owner_ops conn_relay_ops = {
	.done = relay_on_done,
	.failed = relay_on_failed,
};

static void conn_backoff_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct conn *c = loop_container_of(op, struct conn, op_backoff);

	(void)cqe;
	life_drop(&c->life);
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return;
	}
	conn_connect(lp, c);
}

void conn_tick(struct loop *lp)
{
	struct conn *c, *n;
	uint32_t idle_ms;

	list_for_each_safe(c, n, &lp->conns, link) {
		if (c->spliced)
			splice_tick(lp, c);
		if (c->kpath && kpath_tick(lp, c)) {
			c->result = "kernel-path-broken";
			conn_end(lp, c, true, true);
			continue;
		}
		if ((c->state == CONN_TUNNEL_RESP || c->state == CONN_TUNNEL_WAIT) &&
		    loop_now_ns() - c->setup_start_ns >= (uint64_t)lp->cfg->connect_timeout_ms * 1000000) {
			/* no 200 from the peer in time: next peer */
			if (!conn_early_lost(lp, c, -ETIMEDOUT))
				conn_fail_attempt(lp, c, -ETIMEDOUT);
			continue;
		}
		if (c->state == CONN_TUNNEL_HEAD && lp->now_ms - c->started_ms >= lp->cfg->tunnel_head_timeout_ms) {
			lp->st.slow_clients[STATS_SLOW_TUNNEL]++;
			tunnel_reply(c, 408);
			conn_end(lp, c, false, false);
			continue;
		}
		/* a CONNECT-UDP stream has no end of its own: its idle time ends it */
		idle_ms = c->udp ? lp->cfg->tunnel_udp_idle_ms : lp->cfg->idle_timeout_ms;
		if (c->state == CONN_RELAY && lp->now_ms - c->last_active_ms >= idle_ms) {
			lp->st.idle_timeouts++;
			if (c->udp)
				lp->st.udp_idle_closes++;
			c->result = "idle-timeout";
			log_info("conn %llu: idle for %u ms: closing", (unsigned long long)c->id, idle_ms);
			conn_end(lp, c, false, false);
		}
	}
}

void conn_abort_all(struct loop *lp)
{
	struct conn *c, *n;

	list_for_each_safe(c, n, &lp->conns, link) {
		conn_end(lp, c, true, true);
	}
}
