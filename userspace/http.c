/* http.c: the `http` action. hermesd reads the HTTP/1.1 requests of a steered flow
 * itself, so that the application delegates reliability to it: each request is routed
 * (Host, path prefix, headers -> a route's endpoints, else the flow's original
 * destination), sent on a pooled upstream connection (hup.c) and, when the attempt fails
 * in a way the route's retry policy names (Envoy's retry_on, num_retries, per-try and
 * overall timeouts, jittered backoff, a retry budget), sent again, to another endpoint
 * first. The client sees one response, or one error, whatever happened upstream.
 *
 * Hedging (a policy's hedge_on_per_try_timeout, as Envoy has it): an attempt whose
 * per-try timeout passes is not cut but stays outstanding while the next attempt (a
 * retry by every rule above) starts beside it. The first response head the policy does
 * not retry wins; the other attempts are closed (HTTP/1.1) or reset (an HTTP/2 stream),
 * never pooled. An attempt that fails while another is outstanding leaves it to answer,
 * so the client sees a failure only when no attempt and no retry is left. The current
 * attempt is x->up; the earlier, hedged ones wait in x->hedged[].
 *
 * Strictness: the head parser (http1.c) refuses the shapes that enable request
 * smuggling, and so does this file for what the parser leaves to callers (Host count,
 * Transfer-Encoding in HTTP/1.0, chunked framing). A refused request gets 400 (431, 414,
 * 505 for limits and versions), reaches no upstream, and its connection is closed after
 * a lingering read, so that the client sees the answer rather than a reset.
 *
 * A request can be retried only while hermesd holds all of it: no body, or a body read
 * whole before the first attempt (up to retry.max_buffered_body); and only if its method
 * is idempotent or it has such a buffered body. Larger bodies stream upstream as they
 * arrive and are never retried. Requests on one connection are served in order
 * (pipelined ones wait in the receive buffer).
 *
 * Explicit proxy clients (`curl -x http://HERMES:15008`) reach this file too, handed over
 * by the tunnel listener: their requests name the destination in absolute form, which
 * then plays the part of a steered flow's original destination (http_accept_fwd). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "h2x.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "loop.h"
#include "retry.h"
#include "route.h"

#define HC_RX_EXTRA (16 * 1024)  /* read-ahead beyond a maximal head (pipelined requests) */
#define HC_SBUF (64 * 1024)      /* response bytes passed on per send, beyond a head */
#define HC_STREAM_HIGH (64 * 1024) /* streamed request body queued upstream at most */
#define HC_LINGER_MS 2000

static void hc_progress(struct loop *lp, struct hconn *x);
static void hc_attempt(struct loop *lp, struct hconn *x);

/* ---- small helpers ---- */

static struct h1_limits hc_limits(const struct loop *lp)
{
	return (struct h1_limits){ .max_head = lp->cfg->http.max_head, .max_line = lp->cfg->http.max_line,
				   .max_headers = lp->cfg->http.max_headers };
}

/* Does the comma-separated field value v contain token tok (case-insensitive)? */
static bool has_token(struct h1_slice v, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < v.len) {
		size_t b, e;

		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		b = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		e = i;
		while (e > b && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		if (e - b == tl && !strncasecmp(v.p + b, tok, tl))
			return true;
	}
	return false;
}

static bool any_has_token(const struct h1_header *hs, unsigned n, const char *name, const char *tok)
{
	for (unsigned i = 0; i < n; i++)
		if (h1_slice_caseeq(hs[i].name, name) && has_token(hs[i].value, tok))
			return true;
	return false;
}

/* Hop-by-hop fields (RFC 9110 7.6.1), the ones a Connection field names, and the ones
 * this hop rewrites itself (Content-Length is re-emitted once, Expect answered here).
 * `conn` says whether the message has a Connection field at all: most do not, and then
 * no field needs the per-name token scan. */
static bool hop_by_hop(const struct h1_header *hs, unsigned n, bool conn, struct h1_slice name)
{
	char tmp[64];

	switch (name.len) { /* the fixed names, compared only where the length matches */
	case 2: if (h1_slice_caseeq(name, "TE")) return true; break;
	case 6: if (h1_slice_caseeq(name, "Expect")) return true; break;
	case 7: if (h1_slice_caseeq(name, "Upgrade")) return true; break;
	case 10: if (h1_slice_caseeq(name, "Connection") || h1_slice_caseeq(name, "Keep-Alive")) return true; break;
	case 14: if (h1_slice_caseeq(name, "Content-Length")) return true; break;
	case 16: if (h1_slice_caseeq(name, "Proxy-Connection")) return true; break;
	case 18: if (h1_slice_caseeq(name, "Proxy-Authenticate")) return true; break;
	case 19: if (h1_slice_caseeq(name, "Proxy-Authorization")) return true; break;
	}
	if (!conn || name.len >= sizeof(tmp))
		return false;
	memcpy(tmp, name.p, name.len);
	tmp[name.len] = 0;
	return any_has_token(hs, n, "Connection", tmp);
}

/* A log label (method, target, route) cut to the field: on every request, so no printf. */
static void slice_to_cstr(char *dst, size_t size, const char *p, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, p, len);
	dst[len] = 0;
}

static void hc_count_status(struct loop *lp, const struct hconn *x, int status)
{
	if (status >= 100 && status < 600)
		lp->st.http_responses[status / 100 - 1]++;
	/* outside a request (a head that did not parse, a timeout) there is no route */
	metrics_http_response(lp, x->in_request ? x->route : "-", status);
}

/* ---- life cycle ---- */

/* The exchange leaves its upstream attempt: the connection back to its pool (reusable)
 * or closed, and the endpoint's active count down (least-request reads it). */
static void hc_drop_upstream(struct loop *lp, struct hconn *x, bool reusable)
{
	if (x->up) {
		hup_release(lp, x->up, reusable);
		x->up = NULL;
	}
	if (x->ep) {
		x->last_ep = x->ep->addr;
		x->ep->active--;
		x->ep = NULL;
	}
}

/* Hedged attempt k is over (lost, failed, or the request ended): closed, never pooled,
 * since it is mid-exchange (an HTTP/2 stream is reset). */
static void hc_drop_hedged(struct loop *lp, struct hconn *x, unsigned k)
{
	struct hc_hedged *h = &x->hedged[k];

	if (h->up)
		hup_release(lp, h->up, false);
	h->ep->active--;
	x->hedged[k] = x->hedged[--x->n_hedged];
}

/* Every attempt of the request goes (an answer of hermesd's own, or the end). */
static void hc_drop_all(struct loop *lp, struct hconn *x)
{
	hc_drop_upstream(lp, x, false);
	while (x->n_hedged)
		hc_drop_hedged(lp, x, x->n_hedged - 1);
}

/* The request's access line: the status only when the whole response went out. */
static void hc_access(struct loop *lp, struct hconn *x)
{
	struct access_http a = {
		.id = x->id, .app = &x->app, .client = &x->peer, .dst = &x->dst, .upstream = &x->last_ep,
		.method = x->method, .path = x->path, .route = x->route, .attempts = x->attempts,
		.status = x->resp_done ? x->status : 0, .bytes_in = x->req_bytes_in, .bytes_out = x->req_bytes_out,
		.duration_ms = lp->now_ms - x->req_start_ms,
	};

	if (!log_access_on())
		return;
	access_app_by_peer(lp, &x->peer, &x->app);
	access_http(&a);
}

static void hc_end_request(struct loop *lp, struct hconn *x)
{
	retry_budget_leave(&lp->http->budget, &x->in_retry);
	hc_drop_all(lp, x);
	if (x->in_request) {
		hc_access(lp, x);
		lp->http->budget.active_requests--;
		x->in_request = false;
	}
}

static void hc_maybe_free(struct loop *lp, struct hconn *x)
{
	if (x->state != HC_CLOSING || x->inflight > 0)
		return;
	if (x->rst && x->fd >= 0)
		sock_reset_on_close(x->fd);
	if (x->fd >= 0)
		close(x->fd);
	h2dn_free(x);
	if (x->prev)
		x->prev->next = x->next;
	else
		lp->http->conns = x->next;
	if (x->next)
		x->next->prev = x->prev;
	free(x->rx.p);
	free(x->sbuf);
	free(x->out.p);
	if (x->fd >= 0) {
		lp->st.active--;
		lp->st.closed++;
	}
	free(x);
}

/* Ends the connection now (rst: with a reset); memory goes with the last completion. */
static void hc_close(struct loop *lp, struct hconn *x, bool rst)
{
	if (x->state == HC_CLOSING)
		return;
	if (x->h2 || x->h2p)
		h2dn_closing(lp, x);
	hc_end_request(lp, x);
	x->rst |= rst;
	x->state = HC_CLOSING;
	if (x->timer_armed) {
		io_uring_prep_timeout_remove(loop_sqe(lp, x, OP_HTTP_CANCEL), (uint64_t)(uintptr_t)x | OP_HTTP_TIMER, 0);
		x->inflight++;
	}
	/* by user_data, not by fd (loop_cancel) */
	if (x->recv_armed) {
		loop_cancel(lp, x, OP_HTTP_CANCEL, x, OP_HTTP_RECV);
		x->inflight++;
	}
	if (x->send_inflight) {
		loop_cancel(lp, x, OP_HTTP_CANCEL, x, OP_HTTP_SEND);
		x->inflight++;
	}
	hc_maybe_free(lp, x);
}

/* A client connection (fd), or with fd -1 an HTTP/2 stream of one (h2dn.c). */
static struct hconn *hc_new(struct loop *lp, int fd, const struct hermes_addr *peer, const struct hermes_addr *dst)
{
	const struct cfg_http *hc = &lp->cfg->http;
	struct hconn *x = loop_zalloc(sizeof(*x));

	if (x) {
		x->rx.cap = hc->max_head + HC_RX_EXTRA;
		x->rx.p = malloc(x->rx.cap);
		x->scap = hc->max_head + 1024 + HC_SBUF;
		x->sbuf = malloc(x->scap);
	}
	if (!x || !x->rx.p || !x->sbuf) {
		if (x) {
			free(x->rx.p);
			free(x->sbuf);
		}
		free(x);
		return NULL;
	}
	x->loop = lp;
	x->id = ++lp->next_id;
	x->fd = fd;
	x->peer = *peer;
	x->dst = *dst;
	x->state = HC_HEAD;
	x->idle_since_ms = lp->now_ms;
	x->next = lp->http->conns;
	if (x->next)
		x->next->prev = x;
	lp->http->conns = x;
	return x;
}

void http_accept(struct loop *lp, int fd, const struct hermes_addr *peer, const struct hermes_addr *dst)
{
	struct hconn *x = hc_new(lp, fd, peer, dst);
	int one = 1;

	lp->st.http_conns++;
	if (!x) {
		close(fd);
		return;
	}
	/* a response often leaves in pieces (head, body runs): Nagle would hold the later
	 * ones for the client's delayed ACK */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	lp->st.active++;
	hc_progress(lp, x);
}

void http_accept_fwd(struct loop *lp, int fd, const struct hermes_addr *peer, const char *bytes, size_t len)
{
	struct hermes_addr none = { 0 };
	struct hconn *x = hc_new(lp, fd, peer, &none);
	int one = 1;

	lp->st.http_conns++;
	lp->st.http_fwd_conns++;
	if (!x) {
		close(fd);
		return;
	}
	lp->st.active++;
	if (len > x->rx.cap) {
		hc_close(lp, x, true);
		return;
	}
	x->fwd = true;
	memcpy(x->rx.p, bytes, len);
	x->rx.len = len;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	hc_progress(lp, x);
}

struct hconn *http_stream_new(struct loop *lp, struct h2sess *h, const struct hermes_addr *peer,
			      const struct hermes_addr *dst, bool fwd)
{
	struct hconn *s = hc_new(lp, -1, peer, dst);

	if (s) {
		s->h2p = h;
		s->fwd = fwd;
	}
	return s;
}

/* ---- I/O with the client ---- */

static void hc_arm_recv(struct loop *lp, struct hconn *x)
{
	struct rxbuf *b = &x->rx;

	if (x->recv_armed || x->client_eof || x->state == HC_CLOSING || x->fd < 0)
		return;
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len >= b->cap) {
		if (x->state != HC_LINGER)
			return; /* read-ahead is full: the current request goes first */
		b->len = 0;
	}
	io_uring_prep_recv(loop_sqe(lp, x, OP_HTTP_RECV), x->fd, b->p + b->len, b->cap - b->len, 0);
	x->recv_armed = true;
	x->inflight++;
}

static void hc_kick_send(struct loop *lp, struct hconn *x)
{
	if (x->fd < 0 && x->state != HC_CLOSING) {
		h2dn_output(lp, x); /* an HTTP/2 stream: its connection frames the bytes */
		return;
	}
	if (x->send_inflight || x->soff >= x->slen || x->state == HC_CLOSING)
		return;
	io_uring_prep_send(loop_sqe(lp, x, OP_HTTP_SEND), x->fd, x->sbuf + x->soff, x->slen - x->soff, MSG_NOSIGNAL);
	x->send_inflight = true;
	x->inflight++;
}

static size_t hc_room(const struct hconn *x)
{
	return x->scap - x->slen;
}

/* Appends to the client's send buffer (the caller checked hc_room). A send in flight
 * reads sbuf[soff..slen) as submitted: appending after slen leaves it alone. */
static void hc_out(struct hconn *x, const void *p, size_t n)
{
	memcpy(x->sbuf + x->slen, p, n);
	x->slen += n;
	x->req_bytes_out += n;
}

static void rx_consume(struct hconn *x, size_t n)
{
	x->rx.off += n;
	x->req_bytes_in += n;
	if (x->fd < 0)
		h2dn_consumed(x->loop, x, n); /* the stream's window opens by what was read */
}

/* The earliest deadline of the current state (0: none). */
static uint64_t hc_deadline(const struct hconn *x)
{
	uint64_t d = 0;

	if (x->state == HC_BACKOFF)
		d = x->backoff_until_ms;
	if (x->state == HC_WAIT && x->try_deadline_ms)
		d = x->try_deadline_ms;
	if ((x->state == HC_WAIT || x->state == HC_BACKOFF) && x->all_deadline_ms &&
	    (!d || x->all_deadline_ms < d))
		d = x->all_deadline_ms;
	return d;
}

/* One timer per connection: armed for the earliest deadline, moved earlier with a
 * timeout update; a fire checks every deadline against the clock, so one that fires
 * late or for a deadline that moved does no harm. */
static void hc_timer_sync(struct loop *lp, struct hconn *x)
{
	uint64_t d = hc_deadline(x), now = loop_now_ms(), rel;

	if (!d || x->state == HC_CLOSING || (x->timer_armed && x->timer_at_ms <= d))
		return;
	rel = d > now ? d - now : 0;
	if (x->timer_armed) {
		x->ts_upd.tv_sec = (long long)(rel / 1000);
		x->ts_upd.tv_nsec = (long long)(rel % 1000) * 1000000;
		io_uring_prep_timeout_update(loop_sqe(lp, x, OP_HTTP_CANCEL), &x->ts_upd,
					     (uint64_t)(uintptr_t)x | OP_HTTP_TIMER, 0);
	} else {
		x->ts.tv_sec = (long long)(rel / 1000);
		x->ts.tv_nsec = (long long)(rel % 1000) * 1000000;
		io_uring_prep_timeout(loop_sqe(lp, x, OP_HTTP_TIMER), &x->ts, 0, 0);
		x->timer_armed = true;
	}
	x->inflight++;
	x->timer_at_ms = d;
}

/* ---- answers made here ---- */

/* A response of hermesd's own (close: then the connection ends after a lingering read). */
static void hc_reply(struct loop *lp, struct hconn *x, int status, const char *why, bool close)
{
	char buf[512];
	int n, bl;
	char body[160];

	bl = snprintf(body, sizeof(body), "%d %s (hermes: %s)\n", status, h1_reason(status), why);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s",
		     status, h1_reason(status), bl, close ? "Connection: close\r\n" : "", body);
	hc_count_status(lp, x, status);
	if (status >= 400)
		log_info("http conn %llu: %s %s: %d %s (%s)", (unsigned long long)x->id, x->method[0] ? x->method : "-",
			 x->path[0] ? x->path : "-", status, h1_reason(status), why);
	if ((size_t)n < hc_room(x))
		hc_out(x, buf, (size_t)n);
	if (close)
		x->close_after = true;
	hc_drop_all(lp, x);
	x->status = status;
	x->no_body = true;
	x->resp_done = true;
	x->state = HC_RESP;
}

/* A request refused before it went anywhere. */
static void hc_refuse(struct loop *lp, struct hconn *x, int status, const char *why)
{
	lp->st.http_rejected++;
	x->req_done = true;
	hc_reply(lp, x, status, why, true);
}

/* ---- routing ---- */

/* The route's endpoints and policy into x (copies: a reload frees the route). Returns
 * the route, or NULL for the flow's original destination. */
static const struct cfg_http_route *hc_route(struct loop *lp, struct hconn *x, const struct h1_request *req,
					     const struct h1_header *host)
{
	int ri = route_find(lp->cfg->http_routes, lp->cfg->n_http_routes, req, host);
	struct cfg_http_route *r = ri < 0 ? NULL : &lp->cfg->http_routes[ri];

	x->n_eps = 0;
	if (!r) {
		x->rp = lp->cfg->http.retry;
		x->balance = BALANCE_ROUND_ROBIN;
		x->proto = x->fwd_tls ? HPROTO_H1_TLS : HPROTO_H1;
		x->tls_name[0] = 0;
		/* an https:// target: its certificate must name the IP address asked for */
		if (x->fwd_tls)
			inet_ntop(x->dst.family == HERMES_FAMILY_V4 ? AF_INET : AF_INET6, x->dst.addr, x->tls_name,
				  sizeof(x->tls_name));
		x->rr = 0;
		slice_to_cstr(x->route, sizeof(x->route), "-", 1);
		if ((x->eps[0] = hep_get(lp, &x->dst)))
			x->n_eps = 1;
		return NULL;
	}
	x->rp = r->retry;
	x->balance = r->balance;
	x->proto = r->proto;
	memcpy(x->tls_name, r->tls_name, sizeof(x->tls_name));
	x->rr = r->rr++;
	slice_to_cstr(x->route, sizeof(x->route), r->name, strlen(r->name));
	for (int i = 0; i < r->n_eps; i++) {
		struct hermes_addr a;

		if (!addr_to_hermes((const struct sockaddr *)&r->eps[i].ss, &a) && (x->eps[x->n_eps] = hep_get(lp, &a)))
			x->n_eps++;
	}
	return r;
}

/* The endpoint of the next attempt (route_pick), by what is known of each now. */
static int hc_pick(struct loop *lp, struct hconn *x)
{
	struct route_ep v[CFG_HTTP_MAX_EPS];

	for (unsigned i = 0; i < x->n_eps; i++)
		v[i] = (struct route_ep){ .active = x->eps[i]->active, .healthy = x->eps[i]->down_until_ms <= lp->now_ms };
	return route_pick(v, x->n_eps, x->rr + x->attempts, x->tried, x->balance);
}

/* ---- the request ---- */

/* The head sent upstream: HTTP/1.1, hop-by-hop fields dropped, one Content-Length, the
 * route's header edits, Via. */
/* A forward (fwd_path set): the target in origin form and Host from the URL (RFC 9112
 * 3.2.2: the client's own Host field gives way to the absolute form's authority). */
static int hc_build_head(struct loop *lp, struct hconn *x, const struct h1_request *req,
			 const struct cfg_http_route *r, long long cl, const struct h1_header *host,
			 const struct h1_slice *fwd_path, bool fwd_slash)
{
	struct hbuf *o = &x->out;
	int err = 0;

	err |= hb_put(o, req->method.p, req->method.len);
	err |= hb_put(o, " ", 1);
	if (fwd_path) {
		if (fwd_slash)
			err |= hb_put(o, "/", 1);
		err |= hb_put(o, fwd_path->p, fwd_path->len);
	} else {
		err |= hb_put(o, req->target.p, req->target.len);
	}
	err |= hb_put(o, " HTTP/1.1\r\n", 11);
	if (fwd_path) {
		err |= hb_put(o, "Host: ", 6);
		err |= hb_put(o, host->value.p, host->value.len);
		err |= hb_put(o, "\r\n", 2);
	}
	bool conn = h1_find(req->headers, req->n_headers, "Connection") != NULL;

	for (unsigned i = 0; i < req->n_headers; i++) {
		const struct h1_header *h = &req->headers[i];
		bool drop = hop_by_hop(req->headers, req->n_headers, conn, h->name) ||
			    (fwd_path && h1_slice_caseeq(h->name, "Host"));

		for (int j = 0; r && !drop && j < r->n_remove; j++)
			drop = h1_slice_caseeq(h->name, r->remove[j]);
		if (drop)
			continue;
		err |= hb_put(o, h->name.p, h->name.len);
		err |= hb_put(o, ": ", 2);
		err |= hb_put(o, h->value.p, h->value.len);
		err |= hb_put(o, "\r\n", 2);
	}
	if (!host) {
		/* an HTTP/1.0 request without Host: the address the client dialled */
		struct sockaddr_storage ss;
		char a[ADDR_STRLEN];

		addr_from_hermes(&x->dst, &ss);
		err |= hb_printf(o, "Host: %s\r\n", addr_fmt((struct sockaddr *)&ss, a, sizeof(a)));
	}
	if (cl >= 0)
		err |= hb_printf(o, "Content-Length: %lld\r\n", cl);
	for (int j = 0; r && j < r->n_add; j++)
		err |= hb_printf(o, "%s: %s\r\n", r->add[j].name, r->add[j].value);
	if (lp->cfg->http.via)
		err |= hb_printf(o, "Via: 1.%d hermes\r\n", x->http10 ? 0 : 1);
	err |= hb_put(o, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

static void hc_reset_request(struct hconn *x)
{
	x->out.len = 0;
	x->in_request = x->in_retry = x->http10 = x->keepalive = x->is_head = x->idempotent = x->has_body = false;
	x->buffered = x->streaming = x->req_done = x->req_chunked = x->fwd_tls = false;
	x->req_left = -1;
	memset(&x->req_ck, 0, sizeof(x->req_ck));
	x->body_bytes = 0;
	x->method[0] = x->path[0] = 0;
	x->route[0] = '-'; /* not routed yet */
	x->route[1] = 0;
	x->tried = 0;
	x->attempts = x->retries = 0;
	x->try_deadline_ms = x->all_deadline_ms = x->backoff_until_ms = x->fd_wait_since_ms = 0;
	x->status = 0;
	x->no_body = x->resp_chunked = x->until_close = x->dechunk = x->resp_reusable = x->resp_done = false;
	x->resp_left = -1;
	memset(&x->resp_ck, 0, sizeof(x->resp_ck));
	x->head_start_ms = 0;
	x->last_ep.family = 0;
	x->req_bytes_in = x->req_bytes_out = 0;
}

/* A whole head is in rx: check it, route it, start reading its body or its first attempt. */
static void hc_start_request(struct loop *lp, struct hconn *x, const struct h1_request *req, size_t n)
{
	const struct h1_header *host = h1_find(req->headers, req->n_headers, "Host"), *expect;
	const struct cfg_http_route *r;
	struct h1_header fwd_host = { 0 };
	struct h1_slice fwd_path = { 0 };
	bool fwd_slash = false, abs_tls;
	long long cl;
	bool chunked;

	hc_reset_request(x);
	lp->st.http_requests++;
	x->in_request = true;
	lp->http->budget.active_requests++;
	x->req_start_ms = lp->now_ms;
	x->req_start_ns = loop_now_ns();
	slice_to_cstr(x->method, sizeof(x->method), req->method.p, req->method.len);
	slice_to_cstr(x->path, sizeof(x->path), req->target.p, req->target.len);
	x->http10 = req->version_minor == 0;
	x->keepalive = x->http10 ? any_has_token(req->headers, req->n_headers, "Connection", "keep-alive")
				 : !any_has_token(req->headers, req->n_headers, "Connection", "close");
	x->is_head = h1_slice_eq(req->method, "HEAD");
	x->idempotent = retry_idempotent_method(req->method);
	if (!x->keepalive)
		x->close_after = true;
	rx_consume(x, n);

	/* what the parser leaves to its callers */
	if (h1_body_framing(req->headers, req->n_headers, &cl, &chunked)) {
		hc_refuse(lp, x, 400, "ambiguous body framing (Content-Length/Transfer-Encoding)");
		return;
	}
	if (chunked && x->http10) {
		hc_refuse(lp, x, 400, "Transfer-Encoding in an HTTP/1.0 request");
		return;
	}
	if (!x->http10 && (!host || h1_find(host + 1, req->n_headers - (unsigned)(host + 1 - req->headers), "Host"))) {
		hc_refuse(lp, x, 400, host ? "more than one Host field" : "no Host field");
		return;
	}
	if (host && (!host->value.len || memchr(host->value.p, ' ', host->value.len) ||
		     memchr(host->value.p, '/', host->value.len) || memchr(host->value.p, '@', host->value.len))) {
		hc_refuse(lp, x, 400, "bad Host field");
		return;
	}
	if (h1_slice_eq(req->method, "CONNECT")) {
		hc_refuse(lp, x, 405, x->fwd ? "CONNECT after a proxy request: send it on a new connection" :
					"CONNECT is served by the tunnel listener, not the http action");
		return;
	}
	/* https:// only from explicit proxy clients: a steered flow's request is passed on as
	 * it came, in clear text */
	if (!req->target.len || (req->target.p[0] != '/' && !(h1_abs_scheme(req->target, &abs_tls) && (!abs_tls || x->fwd)) &&
				 !h1_slice_eq(req->target, "*"))) {
		hc_refuse(lp, x, 400, x->fwd ? "request-target is neither origin-form nor absolute http:// or https://"
					     : "request-target is neither origin-form nor absolute http://");
		return;
	}
	expect = h1_find(req->headers, req->n_headers, "Expect");
	if (expect && !h1_slice_caseeq(expect->value, "100-continue")) {
		hc_refuse(lp, x, 417, "only Expect: 100-continue is understood");
		return;
	}
	if (x->fwd) {
		/* an explicit proxy request: the URL names the destination, which must be one
		 * tunnel_access allows, as a CONNECT to it would have to be */
		int e = route_fwd_target(req->target, &fwd_host.value, &fwd_path, &fwd_slash, &x->dst, &x->fwd_tls);
		char why[96];

		lp->st.http_fwd_requests++;
		if (e == -EHOSTUNREACH) {
			hc_refuse(lp, x, 400, "host names are not resolved (hermes has no resolver): use an IP address");
			return;
		}
		if (e) {
			hc_refuse(lp, x, 400, "a proxy request needs an absolute http://IP[:port] or https://IP[:port] target");
			return;
		}
		if (x->fwd_tls && !lp->tls_client) {
			log_warn("http conn %llu: %s %s refused: https:// targets need the tls section (its ca verifies "
				 "the origin)", (unsigned long long)x->id, x->method, x->path);
			hc_refuse(lp, x, 502, "https:// targets need the tls section in hermesd's config");
			return;
		}
		if (tunnel_access(lp, &x->peer, &x->dst, req, h2dn_tunnel_of(x), why, sizeof(why))) {
			log_warn("http conn %llu: %s %s refused: %s", (unsigned long long)x->id, x->method, x->path, why);
			hc_refuse(lp, x, 403, why);
			return;
		}
		fwd_host.name = (struct h1_slice){ .p = "Host", .len = 4 };
		host = &fwd_host;
	}
	x->req_chunked = chunked;
	x->req_left = chunked ? -1 : cl;
	x->has_body = chunked || cl > 0;
	r = hc_route(lp, x, req, host);
	if (!x->n_eps) {
		hc_reply(lp, x, 503, "no usable endpoint", true);
		return;
	}
	if (hc_build_head(lp, x, req, r, chunked ? -1 : cl, host, x->fwd ? &fwd_path : NULL, fwd_slash)) {
		hc_reply(lp, x, 500, "out of memory", true);
		return;
	}
	x->head_start_ms = lp->now_ms; /* a buffered body has head_timeout_ms too */
	log_debug("http conn %llu: %s %s route %s", (unsigned long long)x->id, x->method, x->path, x->route);
	if (expect && x->has_body && hc_room(x) > 32) {
		/* answered here: the body is read (and maybe buffered) by hermesd, and the
		 * upstream gets the request without the expectation */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		hc_out(x, cont, sizeof(cont) - 1);
		hc_count_status(lp, x, 100);
	}
	if (!x->has_body) {
		x->req_done = x->buffered = true;
		x->req_left = -1;
		hc_attempt(lp, x);
		return;
	}
	if ((!chunked && cl > (long long)x->rp.max_buffered_body) || !x->rp.max_buffered_body) {
		/* with max_buffered_body 0 even a chunked body streams before its first byte */
		x->streaming = true;
		hc_attempt(lp, x);
		return;
	}
	x->state = HC_BODY;
}

/* Next run of request body from rx: Content-Length bytes, or a run of chunked framing or
 * data (passed on as it is). Returns its length (0: nothing available), -EBADMSG/-EMSGSIZE
 * for a bad chunked body. */
static long hc_body_run(struct loop *lp, struct hconn *x, size_t max)
{
	size_t avail = x->rx.len - x->rx.off;
	struct h1_limits lim = hc_limits(lp);
	bool is_data;
	long r;

	if (avail > max)
		avail = max;
	if (!avail || x->req_done)
		return 0;
	if (!x->req_chunked) {
		r = (long)(avail < (unsigned long long)x->req_left ? avail : (size_t)x->req_left);
		x->req_left -= r;
		x->req_done = !x->req_left;
		return r;
	}
	r = h1_chunked_parse(&x->req_ck, x->rx.p + x->rx.off, avail, &lim, &is_data);
	if (r > 0 && x->req_ck.done)
		x->req_done = true;
	return r;
}

/* HC_BODY: read the body into out; once whole, the first attempt (retriable). A chunked
 * body that outgrows max_buffered_body starts streaming instead. */
static bool hc_buffer_body(struct loop *lp, struct hconn *x)
{
	for (;;) {
		long r = hc_body_run(lp, x, (size_t)-1);

		if (r < 0) {
			hc_refuse(lp, x, 400, "malformed chunked body");
			return true;
		}
		if (r == 0 && !x->req_done)
			return false;
		if (r > 0) {
			if (hb_put(&x->out, x->rx.p + x->rx.off, (size_t)r)) {
				hc_reply(lp, x, 500, "out of memory", true);
				return true;
			}
			rx_consume(x, (size_t)r);
			x->body_bytes += (size_t)r;
		}
		if (x->req_done) {
			x->buffered = true;
			hc_attempt(lp, x);
			return true;
		}
		if (x->body_bytes > x->rp.max_buffered_body) {
			x->streaming = true;
			hc_attempt(lp, x);
			return true;
		}
	}
}

/* A streaming body: what rx holds goes upstream, up to HC_STREAM_HIGH queued. */
static void hc_push_body(struct loop *lp, struct hconn *x)
{
	while (x->streaming && !x->req_done && x->up && hup_pending(x->up) < HC_STREAM_HIGH) {
		size_t max = HC_STREAM_HIGH - hup_pending(x->up), took;
		long r;

		if (max > hup_room(x->up))
			max = hup_room(x->up);
		r = hc_body_run(lp, x, max);

		if (r < 0) {
			/* the head already went upstream: nothing sensible can be answered */
			log_info("http conn %llu: malformed chunked body while streaming it: reset", (unsigned long long)x->id);
			hc_close(lp, x, true);
			return;
		}
		if (!r)
			return;
		took = hup_write(lp, x->up, x->rx.p + x->rx.off, (size_t)r);
		rx_consume(x, took);
		x->body_bytes += took;
		if (took < (size_t)r) {
			/* cannot happen (max <= hup_room): the body would be cut */
			hc_close(lp, x, true);
			return;
		}
	}
}

/* ---- attempts and retries ---- */

/* What the retry policy reads of x's request now. */
static struct retry_req hc_retry_req(const struct hconn *x)
{
	return (struct retry_req){ .rp = &x->rp, .retries = x->retries, .in_retry = x->in_retry,
				   .resendable = retry_resendable(x->buffered, x->streaming, x->idempotent, x->has_body),
				   .deadline_ms = x->all_deadline_ms };
}

/* A retry the policy allows was refused by the budget: counted and said. */
static void hc_budget_exhausted(struct loop *lp, const struct hconn *x)
{
	const struct retry_budget *b = &lp->http->budget;

	lp->st.http_budget_exhausted++;
	log_info("http conn %llu: %s %s: retry budget exhausted (%llu retries in progress, %llu active requests)",
		 (unsigned long long)x->id, x->method, x->path,
		 (unsigned long long)(b->active_retries - (x->in_retry ? 1 : 0)), (unsigned long long)b->active_requests);
}

/* May x be sent again after a failure of kind `on` (enum cfg_retry_on bits)? Counts a
 * refusal by the budget. */
static bool hc_can_retry(struct loop *lp, struct hconn *x, uint32_t on)
{
	struct retry_req q = hc_retry_req(x);
	enum retry_verdict v = retry_decide(&q, on, &lp->http->budget, lp->now_ms, lp->draining);

	if (v == RETRY_V_BUDGET)
		hc_budget_exhausted(lp, x);
	return v == RETRY_V_YES;
}

static void hc_schedule_retry(struct loop *lp, struct hconn *x, const char *why)
{
	uint64_t delay = retry_backoff_ms(&x->rp, x->retries + 1, (uint64_t)random());

	x->retries++;
	lp->st.http_retries++;
	retry_budget_enter(&lp->http->budget, &x->in_retry);
	log_info("http conn %llu: %s %s: %s; retry %u of %u in %llu ms", (unsigned long long)x->id, x->method, x->path,
		 why, x->retries, x->rp.num_retries, (unsigned long long)delay);
	x->backoff_until_ms = lp->now_ms + delay;
	x->state = HC_BACKOFF;
	if (!delay)
		hc_attempt(lp, x);
}

/* The attempt on endpoint I could not open a socket: hermesd is out of descriptors
 * (EMFILE, ENFILE), its own shortage, not the endpoint's failure, so it is neither an
 * attempt nor a retry and marks no endpoint down. The request waits, trying again every
 * HTTP_FD_WAIT_MS (a pooled connection coming back or any socket closing lets it go on),
 * for at most connect_timeout_ms (HAProxy's `timeout queue` defaults to its connect
 * timeout too); then it fails as a connect failure. At 10000 clients, each with a request
 * in flight, the upstream connections would need 10000 descriptors more: without the
 * wait, those above the limit got 503 at once. */
#define HTTP_FD_WAIT_MS 5
static bool hc_fd_wait(struct loop *lp, struct hconn *x, int i)
{
	if (!x->fd_wait_since_ms) {
		x->fd_wait_since_ms = lp->now_ms;
		lp->st.http_fd_waits++;
	} else if (lp->now_ms - x->fd_wait_since_ms >= lp->cfg->connect_timeout_ms)
		return false;
	x->attempts--;
	lp->st.http_attempts--;
	x->tried &= ~(1u << i);
	x->ep->active--;
	log_debug("http conn %llu: %s %s: out of descriptors for an upstream connection: waiting",
		  (unsigned long long)x->id, x->method, x->path);
	x->backoff_until_ms = lp->now_ms + HTTP_FD_WAIT_MS;
	x->state = HC_BACKOFF;
	return true;
}

static void hc_attempt(struct loop *lp, struct hconn *x)
{
	int i = hc_pick(lp, x);
	struct hup *u;

	if (i < 0) {
		hc_reply(lp, x, 503, "no usable endpoint", true);
		return;
	}
	x->attempts++;
	x->tried |= 1u << i;
	lp->st.http_attempts++;
	if (!x->all_deadline_ms && x->rp.timeout_ms)
		x->all_deadline_ms = lp->now_ms + x->rp.timeout_ms;
	x->try_deadline_ms = x->rp.per_try_timeout_ms ? lp->now_ms + x->rp.per_try_timeout_ms : 0;
	x->state = HC_WAIT;
	x->ep = x->eps[i];
	x->ep->active++;
	x->up_hedged = false;
	u = hup_open(lp, x->ep, x);
	if (!u) {
		int err = errno;

		if ((err == EMFILE || err == ENFILE) && hc_fd_wait(lp, x, i))
			return;
		http_up_failed(lp, x, NULL, HUP_F_CONNECT, -err);
		return;
	}
	x->fd_wait_since_ms = 0;
	x->up = u;
	/* the whole request, or its head and what of its body is buffered */
	hup_write(lp, u, x->out.p, x->out.len);
	if (x->streaming) {
		x->out.len = 0;
		hc_push_body(lp, x);
	}
}

static void hc_fail_count(struct loop *lp, struct hep *ep, int why)
{
	lp->st.http_upstream_failures[why - 1]++;
	if (ep && retry_fail_marks_down(why))
		ep->down_until_ms = lp->now_ms + lp->cfg->http.unhealthy_ms;
}

/* No current attempt and no retry, but hedged attempts are still outstanding: the
 * request waits for them (timeout_ms still applies). */
static void hc_wait_hedged(struct hconn *x, const char *why)
{
	log_info("http conn %llu: %s %s: %s; no retry now, waiting for %u hedged attempt(s)", (unsigned long long)x->id,
		 x->method, x->path, why, x->n_hedged);
	x->state = HC_WAIT;
	x->try_deadline_ms = 0;
}

/* The current attempt is gone without a usable answer (why says how; on: the retry_on
 * conditions that cover it): a retry when the policy allows one, else the hedged
 * attempts still outstanding. False when nothing is left: the caller answers. */
static bool hc_next_attempt(struct loop *lp, struct hconn *x, uint32_t on, const char *why)
{
	if (hc_can_retry(lp, x, on)) {
		hc_schedule_retry(lp, x, why);
		return true;
	}
	if (!x->n_hedged)
		return false;
	hc_wait_hedged(x, why);
	return true;
}

/* The attempt failed before a response head was accepted. */
/* A pooled connection the server closed just as it was taken looks like a reset: it is
 * not replayed for free (that would hide real resets when retries are off); the idle
 * recv on pooled connections makes the race rare. */
static void hc_attempt_failed(struct loop *lp, struct hconn *x, int why, int err)
{
	char why_s[128];

	hc_fail_count(lp, x->ep, why);
	hc_drop_upstream(lp, x, false);
	snprintf(why_s, sizeof(why_s), "%s (%s)", retry_fail_what(why), strerror(-err));
	if (hc_next_attempt(lp, x, retry_fail_on(why), why_s))
		return;
	if (x->streaming && !x->req_done)
		x->close_after = true;
	hc_reply(lp, x, retry_fail_status(why), why_s, x->close_after);
}

/* ---- hedging (hedge_on_per_try_timeout) ---- */

/* The current attempt's per-try timeout passed with hedge_on_per_try_timeout: instead of
 * being cut, it stays outstanding and the next attempt starts beside it, as a retry would
 * (the same conditions, count, budget and backoff; another endpoint first); the first
 * usable response head wins. With no retry allowed the attempt just goes on, until its
 * answer or timeout_ms. Requests that could not be sent again are not hedged: false, and
 * the timeout cuts the attempt as it would without hedging. */
static bool hc_hedge(struct loop *lp, struct hconn *x)
{
	struct retry_req q = hc_retry_req(x);
	enum retry_verdict v;
	enum retry_hedge h = retry_hedge(&q, x->up != NULL, x->n_hedged, &lp->http->budget, lp->now_ms, lp->draining, &v);

	if (h == HEDGE_NONE)
		return false;
	x->try_deadline_ms = 0;
	if (h == HEDGE_HOLD) {
		if (v == RETRY_V_BUDGET)
			hc_budget_exhausted(lp, x);
		log_info("http conn %llu: %s %s: per-try timeout; no retry left to hedge with: attempt %u goes on",
			 (unsigned long long)x->id, x->method, x->path, x->attempts);
		return true;
	}
	x->hedged[x->n_hedged++] = (struct hc_hedged){ .up = x->up, .ep = x->ep };
	x->up = NULL;
	x->ep = NULL;
	lp->st.http_hedges++;
	hc_schedule_retry(lp, x, "per-try timeout, the attempt stays outstanding (hedged)");
	return true;
}

static int hc_hedged_slot(const struct hconn *x, const struct hup *u)
{
	for (unsigned k = 0; k < x->n_hedged; k++)
		if (x->hedged[k].up == u)
			return (int)k;
	return -1;
}

/* Hedged attempt k becomes the current one: it won, or it is the latest left. */
static void hc_adopt(struct hconn *x, unsigned k)
{
	x->up = x->hedged[k].up;
	x->ep = x->hedged[k].ep;
	x->up_hedged = true;
	x->hedged[k] = x->hedged[--x->n_hedged];
	x->state = HC_WAIT;
	x->try_deadline_ms = 0;
}

/* Hedged attempt k failed, or answered what the policy retries, while a later attempt
 * is outstanding or about to start: that one carries on, and k is dropped. */
static void hc_hedged_lost(struct loop *lp, struct hconn *x, unsigned k, const char *why)
{
	log_info("http conn %llu: %s %s: hedged attempt: %s; a later attempt carries on", (unsigned long long)x->id,
		 x->method, x->path, why);
	hc_drop_hedged(lp, x, k);
}

static void hc_hedged_failed(struct loop *lp, struct hconn *x, unsigned k, int why, int err)
{
	char why_s[128];

	snprintf(why_s, sizeof(why_s), "%s (%s)", retry_fail_what(why), strerror(-err));
	hc_fail_count(lp, x->hedged[k].ep, why);
	hc_hedged_lost(lp, x, k, why_s);
}

/* The transport's callbacks hold x (as a completion of its own would) while they run. */
static void hc_hold(struct hconn *x)
{
	x->inflight++;
}

static void hc_unhold(struct loop *lp, struct hconn *x)
{
	x->inflight--;
	hc_maybe_free(lp, x);
}

static void up_failed(struct loop *lp, struct hconn *x, int why, int err)
{
	if (x->state == HC_RESP) {
		/* the response head was passed on: a cut body can only be a cut connection */
		log_info("http conn %llu: upstream failed mid-response (%s): reset", (unsigned long long)x->id,
			 strerror(-err));
		hc_close(lp, x, true);
		return;
	}
	if (x->state != HC_WAIT)
		return;
	hc_attempt_failed(lp, x, why, err);
	if (x->state != HC_CLOSING)
		hc_progress(lp, x);
}

void http_up_failed(struct loop *lp, struct hconn *x, struct hup *u, int why, int err)
{
	int k;

	hc_hold(x);
	if (u == x->up) {
		x->up = NULL; /* the transport closed it */
		up_failed(lp, x, why, err);
	} else if ((k = hc_hedged_slot(x, u)) >= 0) {
		x->hedged[k].up = NULL;
		if (x->state == HC_WAIT && !x->up) {
			/* the latest attempt left: it fails as the current one would */
			hc_adopt(x, (unsigned)k);
			up_failed(lp, x, why, err);
		} else {
			hc_hedged_failed(lp, x, (unsigned)k, why, err);
			hc_progress(lp, x);
		}
	}
	hc_unhold(lp, x);
}

void http_up_drained(struct loop *lp, struct hconn *x, struct hup *u)
{
	if (u != x->up)
		return; /* a hedged attempt: its request went whole */
	hc_hold(x);
	hc_push_body(lp, x);
	if (x->state != HC_CLOSING)
		hc_progress(lp, x);
	hc_unhold(lp, x);
}

void http_up_gone(struct hconn *x, const struct hup *u)
{
	int k;

	if (x->up == u)
		x->up = NULL;
	else if ((k = hc_hedged_slot(x, u)) >= 0)
		x->hedged[k].up = NULL;
}

/* ---- the response ---- */

/* The final response head: framing, then the head as the client gets it. Returns 0, or
 * -EBADMSG when the upstream's framing is unusable. */
static int hc_resp_head(struct loop *lp, struct hconn *x, const struct h1_response *resp, size_t n)
{
	long long cl;
	bool chunked;
	char line[16];

	x->status = resp->status;
	if (x->is_head || resp->status == 204 || resp->status == 304) {
		x->no_body = true;
	} else {
		if (h1_body_framing(resp->headers, resp->n_headers, &cl, &chunked))
			return -EBADMSG;
		x->resp_chunked = chunked;
		x->resp_left = chunked ? -1 : cl;
		x->until_close = !chunked && cl < 0;
	}
	x->resp_reusable = !x->until_close &&
			   (resp->version_minor ? !any_has_token(resp->headers, resp->n_headers, "Connection", "close")
						: any_has_token(resp->headers, resp->n_headers, "Connection", "keep-alive"));
	if (x->resp_chunked && x->http10)
		x->dechunk = true; /* HTTP/1.0 knows no chunked: the data only, then close */
	if (x->until_close || x->dechunk || !x->req_done || x->client_eof)
		x->close_after = true;
	if (n + 128 > hc_room(x))
		return -EMSGSIZE;
	/* the parser bounds status to three digits */
	memcpy(line, "HTTP/1.1 000 ", 13);
	line[9] = (char)('0' + resp->status / 100 % 10);
	line[10] = (char)('0' + resp->status / 10 % 10);
	line[11] = (char)('0' + resp->status % 10);
	hc_out(x, line, 13);
	hc_out(x, resp->reason.p, resp->reason.len);
	hc_out(x, "\r\n", 2);
	bool conn = h1_find(resp->headers, resp->n_headers, "Connection") != NULL;

	for (unsigned i = 0; i < resp->n_headers; i++) {
		const struct h1_header *h = &resp->headers[i];

		if (hop_by_hop(resp->headers, resp->n_headers, conn, h->name) && !h1_slice_caseeq(h->name, "Content-Length"))
			continue;
		if (x->dechunk && h1_slice_caseeq(h->name, "Transfer-Encoding"))
			continue;
		hc_out(x, h->name.p, h->name.len);
		hc_out(x, ": ", 2);
		hc_out(x, h->value.p, h->value.len);
		hc_out(x, "\r\n", 2);
	}
	if (x->close_after)
		hc_out(x, "Connection: close\r\n", 19);
	else if (x->http10)
		hc_out(x, "Connection: keep-alive\r\n", 24);
	if (lp->cfg->http.via)
		hc_out(x, "Via: 1.1 hermes\r\n", 17);
	hc_out(x, "\r\n", 2);
	hc_count_status(lp, x, resp->status);
	if (x->attempts > 1 && resp->status < 500)
		lp->st.http_retry_successes++;
	log_debug("http conn %llu: %s %s -> %d after %u attempt(s)", (unsigned long long)x->id, x->method, x->path,
		  resp->status, x->attempts);
	return 0;
}

/* The next final response head of attempt u, the interim responses (1xx) before it
 * passed on to the client. Returns its length, 0 when it is not whole yet (or an interim
 * one waits for room), -errno when malformed or a 101. */
static int hc_next_head(struct loop *lp, struct hconn *x, struct hup *u, struct h1_response *resp)
{
	struct h1_limits lim = hc_limits(lp);

	for (;;) {
		const char *p;
		size_t avail;
		int n;

		hup_data(u, &p, &avail);
		n = avail ? h1_parse_response(p, avail, &lim, resp) : 0;
		if (n <= 0)
			return n;
		if (resp->status == 101)
			return -EPROTO;
		if (resp->status >= 200)
			return n;
		/* 100 answered the expectation we answered ourselves; others (103) go on */
		if (resp->status != 100) {
			if ((size_t)n > hc_room(x))
				return 0;
			hc_out(x, p, (size_t)n);
			hc_count_status(lp, x, resp->status);
		}
		hup_consumed(lp, u, (size_t)n);
	}
}

/* HC_WAIT: the current attempt's final head: passed on, or retried. */
static void hc_wait_input(struct loop *lp, struct hconn *x)
{
	struct h1_response resp;
	uint32_t on;
	int n;

	if (x->state != HC_WAIT || !x->up)
		return;
	n = hc_next_head(lp, x, x->up, &resp);
	if (n == 0) {
		if (x->up->eof)
			hc_attempt_failed(lp, x, HUP_F_RESET, -ECONNRESET);
		return;
	}
	if (n < 0) {
		hc_attempt_failed(lp, x, HUP_F_PROTO, n);
		return;
	}
	on = retry_status_on(&x->rp, resp.status) & x->rp.on;
	if (on) {
		bool retry = hc_can_retry(lp, x, on);
		char why[32];

		snprintf(why, sizeof(why), "upstream answered %d", resp.status);
		if (retry || x->n_hedged) {
			/* dropped for a retry, or for a hedged attempt that may do better */
			hc_drop_upstream(lp, x, false);
			if (retry)
				hc_schedule_retry(lp, x, why);
			else
				hc_wait_hedged(x, why);
			return;
		}
	}
	if (hc_resp_head(lp, x, &resp, (size_t)n)) {
		hc_attempt_failed(lp, x, HUP_F_PROTO, -EBADMSG);
		return;
	}
	hup_consumed(lp, x->up, (size_t)n);
	if (x->up_hedged)
		lp->st.http_hedge_wins++;
	while (x->n_hedged) /* the losers */
		hc_drop_hedged(lp, x, x->n_hedged - 1);
	x->state = HC_RESP;
	x->try_deadline_ms = x->all_deadline_ms = 0;
	retry_budget_leave(&lp->http->budget, &x->in_retry);
}

/* HC_WAIT, HC_BACKOFF: response bytes (or the end) on hedged attempt k. When no later
 * attempt is outstanding it simply becomes the current one. Otherwise a final head the
 * policy does not retry wins, and the current attempt (or the retry about to start) is
 * cancelled; a failure or a head the policy retries loses, and the later attempt carries
 * on. */
static void hc_hedged_input(struct loop *lp, struct hconn *x, unsigned k)
{
	struct hup *u = x->hedged[k].up;
	struct h1_response resp;
	char why[32];
	int n;

	if (x->state == HC_WAIT && !x->up) {
		hc_adopt(x, k);
		return;
	}
	n = hc_next_head(lp, x, u, &resp);
	if (n == 0 && !u->eof)
		return;
	if (n <= 0) {
		hc_hedged_failed(lp, x, k, n == 0 ? HUP_F_RESET : HUP_F_PROTO, n == 0 ? -ECONNRESET : n);
		return;
	}
	if (retry_status_on(&x->rp, resp.status) & x->rp.on) {
		snprintf(why, sizeof(why), "upstream answered %d", resp.status);
		hc_hedged_lost(lp, x, k, why);
		return;
	}
	log_info("http conn %llu: %s %s: hedged attempt answered %d first: attempt %u cancelled",
		 (unsigned long long)x->id, x->method, x->path, resp.status, x->attempts);
	hc_drop_upstream(lp, x, false);
	hc_adopt(x, k); /* hc_wait_input passes its head on */
}

/* HC_RESP: body bytes from the upstream to the client, within the send buffer. */
static void hc_resp_body(struct loop *lp, struct hconn *x)
{
	struct h1_limits lim = hc_limits(lp);

	while (!x->resp_done && x->up) {
		const char *p;
		size_t avail, room = hc_room(x), n;

		if (x->no_body || (!x->resp_chunked && !x->until_close && x->resp_left == 0)) {
			x->resp_done = true;
			break;
		}
		hup_data(x->up, &p, &avail);
		if (!avail) {
			if (!x->up->eof)
				return;
			/* over TLS, only close_notify ends a body that ends with the connection */
			if (x->until_close && !x->up->cut) {
				x->resp_done = true;
				break;
			}
			log_info("http conn %llu: upstream closed mid-body%s: reset", (unsigned long long)x->id,
				 x->up->cut ? " (TLS without close_notify: maybe truncated)" : "");
			hc_close(lp, x, true);
			return;
		}
		if (!room)
			return;
		n = avail < room ? avail : room;
		if (x->resp_chunked) {
			bool is_data;
			long r = h1_chunked_parse(&x->resp_ck, p, n, &lim, &is_data);

			if (r < 0) {
				log_info("http conn %llu: malformed chunked response: reset", (unsigned long long)x->id);
				hc_close(lp, x, true);
				return;
			}
			if (!x->dechunk || is_data)
				hc_out(x, p, (size_t)r);
			hup_consumed(lp, x->up, (size_t)r);
			x->resp_done = x->resp_ck.done;
			continue;
		}
		if (!x->until_close && (unsigned long long)x->resp_left < n)
			n = (size_t)x->resp_left;
		hc_out(x, p, n);
		hup_consumed(lp, x->up, n);
		if (!x->until_close)
			x->resp_left -= (long long)n;
	}
	if (x->resp_done && x->up) {
		hc_drop_upstream(lp, x, x->resp_reusable && x->req_done && !hup_pending(x->up));
	}
}

void http_up_input(struct loop *lp, struct hconn *x, struct hup *u)
{
	hc_hold(x);
	if (u != x->up && (x->state == HC_WAIT || x->state == HC_BACKOFF)) {
		int k = hc_hedged_slot(x, u);

		if (k >= 0)
			hc_hedged_input(lp, x, (unsigned)k);
	}
	if (x->state == HC_WAIT)
		hc_wait_input(lp, x);
	if (x->state == HC_RESP)
		hc_resp_body(lp, x);
	if (x->state != HC_CLOSING)
		hc_progress(lp, x);
	hc_unhold(lp, x);
}

/* The response is out and the request read: the next request, or the end. */
static bool hc_finish(struct loop *lp, struct hconn *x)
{
	if (x->fd < 0) {
		/* an HTTP/2 stream carries one request: done once its response is framed */
		if (!x->resp_done || x->soff < x->slen || !h2dn_out_done(x))
			return false;
		if (x->in_request)
			hist_add(&lp->st.http_request_seconds, (double)(loop_now_ns() - x->req_start_ns) / 1e9);
		hc_close(lp, x, false);
		return false;
	}
	if (!x->resp_done || x->soff < x->slen || x->send_inflight || (!x->req_done && !x->close_after))
		return false;
	if (x->in_request)
		hist_add(&lp->st.http_request_seconds, (double)(loop_now_ns() - x->req_start_ns) / 1e9);
	hc_end_request(lp, x);
	if (x->close_after) {
		/* FIN after the response, then read until the client closes: closing with
		 * unread bytes would reset the connection and could destroy the answer */
		shutdown(x->fd, SHUT_WR);
		x->state = HC_LINGER;
		x->linger_since_ms = lp->now_ms;
		if (x->client_eof)
			hc_close(lp, x, false);
		return false;
	}
	hc_reset_request(x);
	x->state = HC_HEAD;
	x->idle_since_ms = lp->now_ms;
	return true;
}

/* HC_HEAD: a whole request head in rx starts a request. */
static bool hc_head(struct loop *lp, struct hconn *x)
{
	struct h1_limits lim = hc_limits(lp);
	struct h1_request req;
	size_t avail = x->rx.len - x->rx.off;
	int n;

	if (!avail) {
		if (x->client_eof)
			hc_close(lp, x, false);
		return false;
	}
	if (!x->head_start_ms)
		x->head_start_ms = lp->now_ms;
	if (x->fd >= 0 && !x->h2 && !x->fwd) {
		int h2 = h2dn_sniff(x);

		if (h2 == 0)
			return false;
		if (h2 > 0) {
			if (h2dn_start(lp, x)) {
				hc_close(lp, x, true);
				return false;
			}
			return true;
		}
	}
	n = h1_parse_request(x->rx.p + x->rx.off, avail, &lim, &req);
	if (n == 0) {
		if (x->client_eof)
			hc_close(lp, x, false);
		return false;
	}
	if (n < 0) {
		hc_refuse(lp, x, h1_error_status(n), n == -EMSGSIZE ? "request head too large" :
				  n == -ENAMETOOLONG ? "request line too long" : n == -ENOTSUP ? "HTTP version" :
				  "malformed request head");
		return true;
	}
	hc_start_request(lp, x, &req, (size_t)n);
	return true;
}

static void hc_progress(struct loop *lp, struct hconn *x)
{
	for (int guard = 0; guard < 64; guard++) {
		bool again = false;

		switch (x->state) {
		case HC_HEAD:
			again = hc_head(lp, x);
			break;
		case HC_BODY:
			if (x->client_eof && !x->req_done) {
				hc_close(lp, x, false);
				return;
			}
			again = hc_buffer_body(lp, x);
			break;
		case HC_WAIT:
		case HC_BACKOFF:
			hc_push_body(lp, x);
			break;
		case HC_RESP:
			hc_push_body(lp, x);
			if (x->state == HC_RESP)
				hc_resp_body(lp, x);
			if (x->state == HC_RESP && x->streaming && !x->req_done && x->client_eof) {
				hc_close(lp, x, true);
				return;
			}
			if (x->state == HC_RESP)
				again = hc_finish(lp, x);
			break;
		case HC_H2:
			h2dn_input(lp, x);
			break;
		case HC_LINGER:
		case HC_CLOSING:
			break;
		}
		if (x->state == HC_CLOSING)
			return;
		if (!again)
			break;
	}
	hc_kick_send(lp, x);
	hc_arm_recv(lp, x);
	hc_timer_sync(lp, x);
}

/* A timer fired (or was cancelled): act on every deadline that passed. */
static void hc_deadlines(struct loop *lp, struct hconn *x)
{
	uint64_t now = loop_now_ms();

	lp->now_ms = now;
	if ((x->state == HC_WAIT || x->state == HC_BACKOFF) && x->all_deadline_ms && now >= x->all_deadline_ms) {
		lp->st.http_upstream_failures[HUP_F_TIMEOUT - 1] += (x->up ? 1 : 0) + x->n_hedged;
		if (x->streaming && !x->req_done)
			x->close_after = true;
		hc_reply(lp, x, 504, "request timeout", x->close_after);
		return;
	}
	if (x->state == HC_BACKOFF && now >= x->backoff_until_ms) {
		hc_attempt(lp, x);
		return;
	}
	if (x->state == HC_WAIT && x->try_deadline_ms && now >= x->try_deadline_ms) {
		lp->st.http_per_try_timeouts++;
		if (!hc_hedge(lp, x))
			hc_attempt_failed(lp, x, HUP_F_TIMEOUT, -ETIMEDOUT);
	}
}

/* ---- completions ---- */

static void on_client_recv(struct loop *lp, struct hconn *x, int res)
{
	x->recv_armed = false;
	if (x->state == HC_CLOSING)
		return;
	if (res < 0) {
		log_debug("http conn %llu: recv from the client: %s", (unsigned long long)x->id, strerror(-res));
		hc_close(lp, x, true);
		return;
	}
	if (res == 0) {
		x->client_eof = true;
		if (x->state == HC_LINGER) {
			hc_close(lp, x, false);
			return;
		}
	}
	x->rx.len += (size_t)res;
	if (x->state == HC_LINGER)
		x->rx.off = x->rx.len; /* discarded */
	hc_progress(lp, x);
}

static void on_client_send(struct loop *lp, struct hconn *x, int res)
{
	x->send_inflight = false;
	if (x->state == HC_CLOSING)
		return;
	if (res < 0) {
		log_debug("http conn %llu: send to the client: %s", (unsigned long long)x->id, strerror(-res));
		hc_close(lp, x, true);
		return;
	}
	x->soff += (size_t)res;
	if (x->soff == x->slen)
		x->soff = x->slen = 0;
	/* room again: more of the response */
	if (x->state == HC_RESP)
		hc_resp_body(lp, x);
	if (x->state != HC_CLOSING)
		hc_progress(lp, x);
}

void http_handle(struct loop *lp, void *obj, enum op op, const struct io_uring_cqe *cqe)
{
	struct hconn *x = obj;

	/* the completed op still counts while its handler runs: x cannot be freed under it */
	switch (op) {
	case OP_HTTP_RECV:
		on_client_recv(lp, x, cqe->res);
		break;
	case OP_HTTP_SEND:
		on_client_send(lp, x, cqe->res);
		break;
	case OP_HTTP_TIMER:
		x->timer_armed = false;
		if (x->state != HC_CLOSING) {
			hc_deadlines(lp, x);
			if (x->state != HC_CLOSING)
				hc_progress(lp, x);
		}
		break;
	default: /* OP_HTTP_CANCEL */
		break;
	}
	x->inflight--;
	hc_maybe_free(lp, x);
}

void http_tick(struct loop *lp)
{
	const struct cfg_http *hc = &lp->cfg->http;

	hup_tick(lp);
	for (struct hconn *x = lp->http->conns, *n; x; x = n) {
		n = x->next;
		if (x->state == HC_HEAD && x->rx.len == x->rx.off && !x->in_request &&
		    (lp->draining || lp->now_ms - x->idle_since_ms >= hc->keepalive_timeout_ms)) {
			/* idle between requests: a keep-alive client reconnects */
			hc_close(lp, x, false);
		} else if ((x->state == HC_HEAD || x->state == HC_BODY) && x->head_start_ms &&
			   lp->now_ms - x->head_start_ms >= hc->head_timeout_ms) {
			hc_refuse(lp, x, 408, "request not received in time");
			hc_progress(lp, x);
		} else if (x->state == HC_LINGER && lp->now_ms - x->linger_since_ms >= HC_LINGER_MS) {
			hc_close(lp, x, false);
		} else if (x->state == HC_H2) {
			h2dn_tick(lp, x);
		} else if (x->state == HC_RESP && lp->now_ms - x->req_start_ms >= lp->cfg->idle_timeout_ms) {
			lp->st.idle_timeouts++;
			hc_close(lp, x, true);
		}
	}
}

void http_abort_all(struct loop *lp)
{
	/* closing an HTTP/2 connection frees its streams: start over after each close */
	for (struct hconn *x = lp->http->conns; x;) {
		if (x->state != HC_CLOSING && x->fd >= 0) {
			hc_close(lp, x, true);
			x = lp->http->conns;
			continue;
		}
		x = x->next;
	}
}

/* ---- for h2dn.c ---- */

void http_stream_progress(struct loop *lp, struct hconn *s)
{
	hc_hold(s);
	if (s->state == HC_RESP)
		hc_resp_body(lp, s);
	if (s->state != HC_CLOSING)
		hc_progress(lp, s);
	hc_unhold(lp, s);
}

void http_conn_close(struct loop *lp, struct hconn *x, bool rst)
{
	hc_close(lp, x, rst);
}

void http_conn_kick(struct loop *lp, struct hconn *x)
{
	hc_kick_send(lp, x);
}

size_t http_conn_room(const struct hconn *x)
{
	return hc_room(x);
}

void http_conn_out(struct hconn *x, const void *p, size_t n)
{
	hc_out(x, p, n);
}

void http_flush_dirty(struct loop *lp)
{
	for (int guard = 0; guard < 16 && (lp->http->h2up_dirty || lp->http->h2dn_dirty); guard++) {
		h2up_flush_dirty(lp);
		h2dn_flush_dirty(lp);
	}
}

int http_init(struct loop *lp)
{
	static const double bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					 0.25, 0.5, 1, 2.5, 5, 10 };

	lp->http = calloc(1, sizeof(*lp->http));
	if (!lp->http)
		return -ENOMEM;
	lp->st.http_request_seconds.bounds = bounds;
	lp->st.http_request_seconds.n_bounds = sizeof(bounds) / sizeof(bounds[0]);
	srandom((unsigned)loop_now_ns());
	return 0;
}

void http_fini(struct loop *lp)
{
	if (!lp->http)
		return;
	/* upstreams first: freeing an h2 upstream connection tells its streams' exchanges
	 * (http_up_gone), which must still be there */
	hup_fini(lp);
	while (lp->http->conns) {
		struct hconn *x = lp->http->conns;

		x->state = HC_CLOSING;
		x->inflight = 0;
		hc_maybe_free(lp, x);
	}
	free(lp->http);
	lp->http = NULL;
}
