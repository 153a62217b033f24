/* udp_tun.c: the tunnel action for UDP (udp_tun.h). A UDP flow of the relay (an app
 * socket and an original destination) whose rule says `tunnel` becomes a tunnel client
 * flow like a TCP one (conn.c, tunnel.c): the same routes, peers, pools, retries and
 * identity fields, but its request is CONNECT-UDP (RFC 9298: extended CONNECT over
 * HTTP/2, `Upgrade: connect-udp` over HTTP/1.1) and its client side is a UDP endpoint
 * in app mode (ep_udp.c): the app's datagrams go in as DATAGRAM capsules, those of the
 * peer come out through the relay's socket from the flow's slot address. The relay
 * between the two stays protocol-blind.
 *
 * The flow (udp.c's) outlives its stream: a stream that fails or ends leaves the flow
 * without one, and the next datagram opens another, at most one a second per flow, so
 * that a dead peer costs one attempt a second and not one per datagram (the datagrams
 * in between are dropped, counted no_stream). The flow's idle timeout (udp.idle_timeout_ms)
 * closes the stream with the flow. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conn.h"
#include "ep.h"
#include "ep_udp.h"
#include "hermes/policy.h"
#include "log.h"
#include "udp_tun.h"

#define UDP_TUN_RETRY_MS 1000 /* a flow opens a stream at most this often */

struct udp_tun {
	struct loop *lp;
	struct udp_tun_app app;
	struct conn *c;       /* the flow's tunnel, while it has one */
	struct ep *ep;        /* its client side (ep_udp in app mode); NULL: none */
	uint64_t opened_ms;   /* the last stream's start */
};

static int tun_to_app(void *arg, const void *p, size_t n)
{
	struct udp_tun *t = arg;

	return t->app.to_app(t->app.arg, p, n);
}

/* The flow's endpoint was freed with its tunnel: the next datagram opens another. */
static void tun_gone(void *arg)
{
	struct udp_tun *t = arg;

	t->ep = NULL;
	t->c = NULL;
}

static void tun_start(struct udp_tun *t)
{
	struct loop *lp = t->lp;
	const struct ep_udp_sink sink = { tun_to_app, tun_gone, t };
	struct sockaddr_storage ss;
	char dst[ADDR_STRLEN];
	struct conn *c;
	struct ep *e;
	int err;

	t->opened_ms = lp->now_ms;
	if (!(c = conn_new(lp, -1)))
		return;
	if (!(e = ep_udp_app(lp, &sink, NULL, NULL, 0, &err))) {
		conn_end(lp, c, false, false);
		return;
	}
	conn_set_client(c, e);
	t->c = c;
	t->ep = e;
	c->udp = true;
	c->quiet = true; /* the relay's flow line is this flow's: one line, not one per stream */
	c->action = HERMES_ACT_TUNNEL;
	addr_to_hermes(&t->app.app.sa, &c->peer);
	c->app_cookie = t->app.cookie;
	c->app_pid = t->app.pid;
	c->app_uid = t->app.uid;
	c->app_gid = t->app.gid;
	if (tunnel_route(lp, c, &t->app.dst)) {
		addr_from_hermes(&t->app.dst, &ss);
		log_warn("conn %llu: no route for %s (UDP, tunnel action): dropping the flow's datagrams; "
			 "add a route that matches it", (unsigned long long)c->id,
			 addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst)));
		c->target = t->app.dst;
		c->result = "no-route";
		conn_end(lp, c, true, false); /* the endpoint goes: tun_gone */
		return;
	}
	tunnel_identity(lp, c, &t->app.dst);
	conn_connect(lp, c);
}

struct udp_tun *udp_tun_open(struct loop *lp, const struct udp_tun_app *app)
{
	struct udp_tun *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->lp = lp;
	t->app = *app;
	tun_start(t);
	return t;
}

int udp_tun_send(struct udp_tun *t, const void *p, size_t n)
{
	if (!t->ep && t->lp->now_ms - t->opened_ms >= UDP_TUN_RETRY_MS)
		tun_start(t);
	if (!t->ep) {
		t->lp->st.tudpc_drops[TUDPC_DROP_NO_STREAM]++;
		return -ENOTCONN;
	}
	return ep_udp_push(t->ep, p, n);
}

bool udp_tun_peer(const struct udp_tun *t, struct hermes_addr *peer)
{
	const struct conn *c = t->c;

	if (!c || !c->attempts || c->cur_ep >= c->n_eps)
		return false;
	*peer = c->eps[c->cur_ep];
	return true;
}

void udp_tun_tick(struct udp_tun *t)
{
	if (t->ep)
		ep_udp_idle(t->ep);
}

void udp_tun_close(struct udp_tun *t)
{
	if (t->ep) {
		ep_udp_detach(t->ep);
		conn_end(t->lp, t->c, false, false);
	}
	free(t);
}
