/* http.c: the `http` action's client side. hermesd reads the HTTP/1.1 requests of a
 * steered flow itself, so that the application delegates reliability to it; this file
 * owns the client connection: its life cycle, its receive and send buffers, its one
 * timer, the loop that moves a connection's requests on (http_progress), keep-alive,
 * answers of hermesd's own, and the lingering close after them. Each request is checked
 * and routed by hreq.c (route.c chooses), sent and retried by exch.c (retry.c decides),
 * and its response passed back through the send buffer here. The client sees one
 * response, or one error, whatever happened upstream.
 *
 * A refused request gets 400 (431, 414, 505 for limits and versions), reaches no
 * upstream, and its connection is closed after a lingering read, so that the client sees
 * the answer rather than a reset. Requests on one connection are served in order
 * (pipelined ones wait in the receive buffer). An HTTP/2 client connection (h2dn.c)
 * carries each request as a stream, an hconn of its own without a socket (fd -1).
 *
 * Explicit proxy clients (`curl -x http://HERMES:15008`) reach this file too, handed over
 * by the tunnel listener: their requests name the destination in absolute form, which
 * then plays the part of a steered flow's original destination (http_accept_fwd). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache_store.h"
#include "exch.h"
#include "h2x.h"
#include "hcache.h"
#include "hreq.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "counters.h"
#include "ring.h"
#include "sock.h"
#include "retry.h"

#define HC_RX_EXTRA (16 * 1024)  /* read-ahead beyond a maximal head (pipelined requests) */
#define HC_SBUF (64 * 1024)      /* response bytes passed on per send, beyond a head */
#define HC_LINGER_MS 2000

/* ---- small helpers ---- */

struct h1_limits http_limits(const struct loop *lp)
{
	return (struct h1_limits){ .max_head = lp->cfg->http.max_head, .max_line = lp->cfg->http.max_line,
				   .max_headers = lp->cfg->http.max_headers };
}

void http_count_status(struct loop *lp, const struct hconn *x, int status)
{
	if (status >= 100 && status < 600)
		lp->st.http_responses[status / 100 - 1]++;
	/* outside a request (a head that did not parse, a timeout) there is no route */
	metrics_http_response(lp, x->in_request ? hreq_route_name(x) : "-", status);
}

/* ---- life cycle ---- */

/* The request's access line: the status only when the whole response went out. */
static void hc_access(struct loop *lp, struct hconn *x)
{
	struct access_http a = {
		.id = x->id, .app = &x->app, .client = &x->peer, .dst = &x->dst, .upstream = &x->last_ep,
		.method = x->method, .path = x->path, .route = hreq_route_name(x), .attempts = x->attempts,
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
	exch_drop_all(lp, x);
	if (x->in_request) {
		hc_access(lp, x);
		lp->http->budget.active_requests--;
		x->in_request = false;
	}
	hreq_release(x);
}

static void http_maybe_free(struct loop *lp, struct hconn *x)
{
	if (!life_over(&x->life))
		return;
	if (x->rst && x->fd >= 0 && !x->crash_rst)
		sock_reset_on_close(x->fd);
	else if (!x->rst && x->crash_rst)
		sock_fin_on_close(x->fd); /* the body is complete: it ends with a FIN */
	if (x->fd >= 0)
		close(x->fd);
	/* no send is in flight any more: the entry whose bytes it read may go */
	if (x->zhold)
		cache_entry_put(lp->http->cache, x->zhold);
	h2dn_free(x);
	hreq_release(x); /* freed at exit with a request in progress */
	list_del(&x->link);
	buf_free(x->rx.p, x->rx_touched);
	buf_free(x->sbuf, x->s_touched);
	buf_free(x->out.p, x->out.cap);
	if (x->fd >= 0) {
		lp->st.active--;
		lp->st.closed++;
	}
	free(x);
}

static loop_done_fn hc_recv_done, hc_send_done, hc_timer_done;

/* A cancel, timeout update or removal of x completed. */
static void hc_aux_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hconn *x = loop_container_of(op, struct hconn, op_aux);

	(void)cqe;
	life_drop(&x->life);
	http_maybe_free(lp, x);
}

/* Ends the connection now (rst: with a reset); memory goes with the last completion. */
void http_conn_close(struct loop *lp, struct hconn *x, bool rst)
{
	if (x->state == HC_CLOSING)
		return;
	if (x->h2 || x->h2p)
		h2dn_closing(lp, x);
	hc_end_request(lp, x);
	x->rst |= rst;
	x->state = HC_CLOSING;
	life_close(&x->life);
	if (x->timer_armed) {
		io_uring_prep_timeout_remove(loop_sqe(lp, &x->op_aux, hc_aux_done), loop_op_ud(&x->op_timer), 0);
		life_hold(&x->life, 1);
	}
	/* by user_data, not by fd (loop_cancel) */
	if (x->recv_armed) {
		loop_cancel(lp, &x->op_aux, hc_aux_done, &x->op_recv);
		life_hold(&x->life, 1);
	}
	if (x->send_inflight) {
		loop_cancel(lp, &x->op_aux, hc_aux_done, &x->op_send);
		life_hold(&x->life, 1);
	}
	http_maybe_free(lp, x);
}

/* A client connection (fd), or with fd -1 an HTTP/2 stream of one (h2dn.c). */
static struct hconn *hc_new(struct loop *lp, int fd, const struct hermes_addr *peer, const struct hermes_addr *dst)
{
	const struct cfg_http *hc = &lp->cfg->http;
	struct hconn *x = calloc(1, sizeof(*x));

	if (x) {
		/* counted as they are written (buf_touch), not by their size */
		x->rx.cap = hc->max_head + HC_RX_EXTRA;
		x->rx.p = buf_pages_alloc(&x->rx.cap);
		x->scap = hc->max_head + 1024 + HC_SBUF;
		x->sbuf = buf_pages_alloc(&x->scap);
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
	list_add(&lp->http->conns, &x->link);
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
	http_progress(lp, x);
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
		http_conn_close(lp, x, true);
		return;
	}
	x->fwd = true;
	memcpy(x->rx.p, bytes, len);
	x->rx.len = len;
	buf_touch(&x->rx_touched, len);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	http_progress(lp, x);
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
	rx_compact(b);
	if (b->len >= b->cap) {
		if (x->state != HC_LINGER)
			return; /* read-ahead is full: the current request goes first */
		b->len = 0;
	}
	io_uring_prep_recv(loop_sqe(lp, &x->op_recv, hc_recv_done), x->fd, b->p + b->len, b->cap - b->len, 0);
	x->recv_armed = true;
	life_hold(&x->life, 1);
}

static void hc_kick_send(struct loop *lp, struct hconn *x)
{
	if (x->fd < 0 && x->state != HC_CLOSING) {
		h2dn_output(lp, x); /* an HTTP/2 stream: its connection frames the bytes */
		return;
	}
	if (x->send_inflight || (x->soff >= x->slen && !x->zlen) || x->state == HC_CLOSING)
		return;
	if (x->zlen) {
		/* sbuf's bytes before the entry's, the entry's, sbuf's after: one sendmsg */
		int n = 0;

		if (x->soff < x->zat)
			x->siov[n++] = (struct iovec){ x->sbuf + x->soff, x->zat - x->soff };
		x->siov[n++] = (struct iovec){ (void *)x->zp, x->zlen };
		if (x->zat < x->slen)
			x->siov[n++] = (struct iovec){ x->sbuf + x->zat, x->slen - x->zat };
		x->smsg = (struct msghdr){ .msg_iov = x->siov, .msg_iovlen = (size_t)n };
		io_uring_prep_sendmsg(loop_sqe(lp, &x->op_send, hc_send_done), x->fd, &x->smsg, MSG_NOSIGNAL);
		x->send_inflight = true;
		life_hold(&x->life, 1);
		return;
	}
	io_uring_prep_send(loop_sqe(lp, &x->op_send, hc_send_done), x->fd, x->sbuf + x->soff, x->slen - x->soff, MSG_NOSIGNAL);
	x->send_inflight = true;
	life_hold(&x->life, 1);
}

void http_rx_consume(struct hconn *x, size_t n)
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
	/* the upstream's silence (hfill.c: stalls of cacheable requests and fills) */
	if ((x->state == HC_WAIT || x->state == HC_RESP) && x->stall_at_ms && (!d || x->stall_at_ms < d))
		d = x->stall_at_ms;
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
		io_uring_prep_timeout_update(loop_sqe(lp, &x->op_aux, hc_aux_done), &x->ts_upd,
					     loop_op_ud(&x->op_timer), 0);
	} else {
		x->ts.tv_sec = (long long)(rel / 1000);
		x->ts.tv_nsec = (long long)(rel % 1000) * 1000000;
		io_uring_prep_timeout(loop_sqe(lp, &x->op_timer, hc_timer_done), &x->ts, 0, 0);
		x->timer_armed = true;
	}
	life_hold(&x->life, 1);
	x->timer_at_ms = d;
}

/* ---- answers made here ---- */

/* ---- response heads for the client ---- */

void http_head_begin(struct hconn *x, struct hmsg_w *w, int status, struct h1_slice reason)
{
	char line[13];

	*w = (struct hmsg_w){ .b = x->fd < 0 ? h2dn_head_buf(x) : NULL, .rec = true };
	if (w->b) {
		hmsg_w_status(w, status, reason);
		return;
	}
	/* status is three digits (the parser's bound, or hermesd's own) */
	memcpy(line, "HTTP/1.1 000 ", 13);
	line[9] = (char)('0' + status / 100 % 10);
	line[10] = (char)('0' + status / 10 % 10);
	line[11] = (char)('0' + status % 10);
	http_conn_out(x, line, 13);
	http_conn_out(x, reason.p, reason.len);
	http_conn_out(x, "\r\n", 2);
}

void http_head_field(struct hconn *x, struct hmsg_w *w, const char *name, size_t nl, const char *value, size_t vl)
{
	if (w->b) {
		hmsg_w_field(w, name, nl, value, vl);
		return;
	}
	http_conn_out(x, name, nl);
	http_conn_out(x, ": ", 2);
	http_conn_out(x, value, vl);
	http_conn_out(x, "\r\n", 2);
}

void http_head_hermes(struct loop *lp, struct hconn *x, struct hmsg_w *w)
{
	if (x->close_after)
		http_head_field(x, w, "Connection", 10, "close", 5);
	else if (x->http10)
		http_head_field(x, w, "Connection", 10, "keep-alive", 10);
	if (lp->cfg->http.via)
		http_head_field(x, w, "Via", 3, "1.1 hermes", 10);
}

void http_head_end(struct loop *lp, struct hconn *x, struct hmsg_w *w, int mode, long long left, bool done)
{
	if (!w->b) {
		http_conn_out(x, "\r\n", 2);
		return;
	}
	if (hmsg_w_end(w))
		w->b->len = 0; /* out of memory: h2dn resets the stream */
	h2dn_head(lp, x, mode, left, done);
}

/* A response of hermesd's own (close: then the connection ends after a lingering read). */
void http_reply(struct loop *lp, struct hconn *x, int status, const char *why, bool close)
{
	char buf[512];
	int n, bl;
	char body[160];

	bl = snprintf(body, sizeof(body), "%d %s (hermes: %s)\n", status, h1_reason(status), why);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s",
		     status, h1_reason(status), bl, close ? "Connection: close\r\n" : "", body);
	http_count_status(lp, x, status);
	if (status >= 400)
		log_info("http conn %llu: %s %s: %d %s (%s)", (unsigned long long)x->id, x->method[0] ? x->method : "-",
			 x->path[0] ? x->path : "-", status, h1_reason(status), why);
	if (x->fd < 0) {
		/* an HTTP/2 stream: the head as HEADERS, the body as DATA */
		struct hmsg_w w;
		const char *reason = h1_reason(status);
		char cl[16];
		int cll = snprintf(cl, sizeof(cl), "%d", bl);

		http_head_begin(x, &w, status, (struct h1_slice){ reason, strlen(reason) });
		http_head_field(x, &w, "content-type", 12, "text/plain", 10);
		http_head_field(x, &w, "content-length", 14, cl, (size_t)cll);
		http_head_end(lp, x, &w, H2X_CL, bl, x->is_head);
		if ((size_t)bl < http_conn_room(x))
			http_conn_out(x, body, (size_t)bl);
	} else if ((size_t)n < http_conn_room(x)) {
		http_conn_out(x, buf, (size_t)n);
	}
	if (close)
		x->close_after = true;
	exch_drop_all(lp, x);
	x->status = status;
	x->no_body = true;
	x->resp_done = true;
	x->state = HC_RESP;
}

/* A request refused before it went anywhere. */
void http_refuse(struct loop *lp, struct hconn *x, int status, const char *why)
{
	lp->st.http_rejected++;
	x->req_done = true;
	http_reply(lp, x, status, why, true);
}

/* The transport's callbacks hold x (as a completion of its own would) while they run. */
void http_hold(struct hconn *x)
{
	life_hold(&x->life, 1);
}

void http_unhold(struct loop *lp, struct hconn *x)
{
	life_drop(&x->life);
	http_maybe_free(lp, x);
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
		http_conn_close(lp, x, false);
		return false;
	}
	if (!x->resp_done || x->soff < x->slen || x->zlen || x->send_inflight || (!x->req_done && !x->close_after))
		return false;
	if (x->in_request)
		hist_add(&lp->st.http_request_seconds, (double)(loop_now_ns() - x->req_start_ns) / 1e9);
	hc_end_request(lp, x);
	if (x->close_after) {
		/* FIN after the response, then read until the client closes: closing with
		 * unread bytes would reset the connection and could destroy the answer;
		 * the body is complete, so a crash from here on must not reset it either */
		if (x->crash_rst) {
			sock_fin_on_close(x->fd);
			x->crash_rst = false;
		}
		shutdown(x->fd, SHUT_WR);
		x->state = HC_LINGER;
		x->linger_since_ms = lp->now_ms;
		if (x->client_eof)
			http_conn_close(lp, x, false);
		return false;
	}
	hreq_reset(x);
	x->state = HC_HEAD;
	x->idle_since_ms = lp->now_ms;
	x->kept_alive = true;
	return true;
}

/* HC_HEAD: a whole request head in rx starts a request. */
static bool hc_head(struct loop *lp, struct hconn *x)
{
	struct h1_limits lim = http_limits(lp);
	struct h1_request req;
	size_t avail = x->rx.len - x->rx.off;
	int n;

	if (x->fd < 0) {
		/* an HTTP/2 stream: its head came as fields (h2dn.c) */
		n = h2dn_request(lp, x, &req);
		if (n < 0) {
			http_refuse(lp, x, h1_error_status(n), n == -EMSGSIZE ? "request head too large" :
					    n == -ENAMETOOLONG ? "request line too long" : "malformed request head");
			return true;
		}
		if (n > 0)
			hreq_start(lp, x, &req, 0);
		return n > 0;
	}
	if (!avail) {
		if (x->client_eof)
			http_conn_close(lp, x, false);
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
				http_conn_close(lp, x, true);
				return false;
			}
			return true;
		}
	}
	n = h1_parse_request(x->rx.p + x->rx.off, avail, &lim, &req);
	if (n == 0) {
		if (x->client_eof)
			http_conn_close(lp, x, false);
		return false;
	}
	if (n < 0) {
		http_refuse(lp, x, h1_error_status(n), n == -EMSGSIZE ? "request head too large" :
				    n == -ENAMETOOLONG ? "request line too long" : n == -ENOTSUP ? "HTTP version" :
				    "malformed request head");
		return true;
	}
	hreq_start(lp, x, &req, (size_t)n);
	return true;
}

void http_progress(struct loop *lp, struct hconn *x)
{
	for (int guard = 0; guard < 64; guard++) {
		bool again = false;

		switch (x->state) {
		case HC_HEAD:
			again = hc_head(lp, x);
			break;
		case HC_BODY:
			if (x->client_eof && !x->req_done) {
				http_conn_close(lp, x, false);
				return;
			}
			again = hreq_buffer_body(lp, x);
			break;
		case HC_WAIT:
		case HC_BACKOFF:
			exch_push_body(lp, x);
			break;
		case HC_RESP:
			exch_push_body(lp, x);
			if (x->state == HC_RESP)
				exch_resp_body(lp, x);
			if (x->state == HC_RESP && x->streaming && !x->req_done && x->client_eof) {
				http_conn_close(lp, x, true);
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
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): a hold or an io_uring op counts x (life.h) while it runs: closing does not free it here */
		if (x->state == HC_CLOSING)
			return;
		if (!again)
			break;
	}
	hc_kick_send(lp, x);
	hc_arm_recv(lp, x);
	hc_timer_sync(lp, x);
}

/* ---- completions ---- */

static void on_client_recv(struct loop *lp, struct hconn *x, int res)
{
	x->recv_armed = false;
	if (x->state == HC_CLOSING)
		return;
	if (res < 0) {
		log_debug("http conn %llu: recv from the client: %s", (unsigned long long)x->id, strerror(-res));
		http_conn_close(lp, x, true);
		return;
	}
	if (res == 0) {
		x->client_eof = true;
		if (x->state == HC_LINGER) {
			http_conn_close(lp, x, false);
			return;
		}
	}
	x->rx.len += (size_t)res;
	buf_touch(&x->rx_touched, x->rx.len);
	if (x->state == HC_LINGER)
		x->rx.off = x->rx.len; /* discarded */
	http_progress(lp, x);
}

bool http_conn_out_entry(struct hconn *x, struct cache_entry *e, const char *p, size_t n)
{
	if (x->zlen || x->fd < 0 || !n)
		return false;
	cache_entry_get(e);
	x->zhold = e;
	x->zp = p;
	x->zlen = n;
	x->zat = x->slen;
	x->req_bytes_out += n;
	return true;
}

/* n bytes went out: sbuf's up to zat, then the entry's, then sbuf's. */
static void http_conn_sent(struct loop *lp, struct hconn *x, size_t n)
{
	if (x->zlen) {
		size_t a = x->zat - x->soff, b;

		if (n <= a) {
			x->soff += n;
			return;
		}
		x->soff = x->zat;
		n -= a;
		b = n < x->zlen ? n : x->zlen;
		x->zp += b;
		x->zlen -= b;
		n -= b;
		if (x->zlen)
			return;
		cache_entry_put(lp->http->cache, x->zhold);
		x->zhold = NULL;
		x->zp = NULL;
	}
	x->soff += n;
	if (x->soff == x->slen)
		x->soff = x->slen = 0;
}

static void on_client_send(struct loop *lp, struct hconn *x, int res)
{
	x->send_inflight = false;
	if (x->state == HC_CLOSING)
		return;
	if (res < 0) {
		log_debug("http conn %llu: send to the client: %s", (unsigned long long)x->id, strerror(-res));
		http_conn_close(lp, x, true);
		return;
	}
	http_conn_sent(lp, x, (size_t)res);
	/* room again: more of the response */
	if (x->state == HC_RESP)
		exch_resp_body(lp, x);
	if (x->state != HC_CLOSING)
		http_progress(lp, x);
}

/* The completed op still counts while its handler runs: x cannot be freed under it. */
static void hc_recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hconn *x = loop_container_of(op, struct hconn, op_recv);

	on_client_recv(lp, x, cqe->res);
	life_drop(&x->life);
	http_maybe_free(lp, x);
}

static void hc_send_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hconn *x = loop_container_of(op, struct hconn, op_send);

	on_client_send(lp, x, cqe->res);
	life_drop(&x->life);
	http_maybe_free(lp, x);
}

static void hc_timer_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hconn *x = loop_container_of(op, struct hconn, op_timer);

	(void)cqe;
	x->timer_armed = false;
	if (x->state != HC_CLOSING) {
		exch_deadlines(lp, x);
		if (x->state != HC_CLOSING)
			http_progress(lp, x);
	}
	life_drop(&x->life);
	http_maybe_free(lp, x);
}

/* Between requests, nothing of the next one read yet: closing it loses nothing (a
 * keep-alive client reconnects). */
static bool hc_idle(const struct hconn *x)
{
	return x->state == HC_HEAD && x->rx.len == x->rx.off && !x->in_request;
}

unsigned http_trim_idle_clients(struct loop *lp, unsigned n)
{
	struct hconn *x, *next; /* http_conn_close may free x */
	unsigned done = 0;

	if (!lp->http)
		return 0;
	list_for_each_safe(x, next, &lp->http->conns, link) {
		if (done >= n)
			break;
		if (x->fd >= 0 && x->kept_alive && hc_idle(x) && !x->send_inflight) {
			http_conn_close(lp, x, false);
			done++;
		}
	}
	return done;
}

/* A keep-alive connection idle between requests for HTTP_IDLE_RELEASE_MS at a tick, its
 * last response all sent, gives its buffers' pages back (its recv stays armed on rx):
 * the pages its last request and response wrote, 2 to 4 of them. Not sooner: a busy
 * connection between two requests at the tick would fault them in again at once. */
static void hc_idle_release(struct loop *lp, struct hconn *x)
{
	if (x->fd < 0 || x->send_inflight || x->soff != x->slen || x->zlen ||
	    lp->now_ms - x->idle_since_ms < HTTP_IDLE_RELEASE_MS)
		return;
	buf_pages_idle(x->rx.p, x->rx.cap, &x->rx_touched);
	buf_pages_idle(x->sbuf, x->scap, &x->s_touched);
}

void http_tick(struct loop *lp)
{
	const struct cfg_http *hc = &lp->cfg->http;

	hup_tick(lp);
	struct hconn *x, *n;

	list_for_each_safe(x, n, &lp->http->conns, link) {
		if (hc_idle(x) && (lp->draining || lp->now_ms - x->idle_since_ms >= hc->keepalive_timeout_ms)) {
			/* idle between requests: a keep-alive client reconnects */
			http_conn_close(lp, x, false);
		} else if ((x->state == HC_HEAD || x->state == HC_BODY) && x->head_start_ms &&
			   lp->now_ms - x->head_start_ms >= hc->head_timeout_ms) {
			lp->st.slow_clients[STATS_SLOW_HTTP]++;
			http_refuse(lp, x, 408, "request not received in time");
			http_progress(lp, x);
		} else if (x->state == HC_LINGER && lp->now_ms - x->linger_since_ms >= HC_LINGER_MS) {
			http_conn_close(lp, x, false);
		} else if (x->state == HC_H2) {
			h2dn_tick(lp, x);
		} else if (x->state == HC_RESP && lp->now_ms - x->req_start_ms >= lp->cfg->idle_timeout_ms) {
			lp->st.idle_timeouts++;
			http_conn_close(lp, x, true);
		} else if (hc_idle(x)) {
			hc_idle_release(lp, x); /* staying open: its pages go meanwhile */
		}
	}
}

void http_abort_all(struct loop *lp)
{
	/* closing an HTTP/2 connection frees its streams: start over after each close */
	for (struct list *n = lp->http->conns.next; n != &lp->http->conns;) {
		struct hconn *x = list_entry(n, struct hconn, link);

		if (x->state != HC_CLOSING && x->fd >= 0) {
			http_conn_close(lp, x, true);
			n = lp->http->conns.next;
			continue;
		}
		n = n->next;
	}
}

/* ---- for h2dn.c ---- */

void http_stream_progress(struct loop *lp, struct hconn *s)
{
	http_hold(s);
	if (s->state == HC_RESP)
		exch_resp_body(lp, s);
	if (s->state != HC_CLOSING)
		http_progress(lp, s);
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the hold above kept s (life.h) */
	http_unhold(lp, s);
}

void http_conn_kick(struct loop *lp, struct hconn *x)
{
	hc_kick_send(lp, x);
}

void http_flush_dirty(struct loop *lp)
{
	struct http_state *h = lp->http;

	for (int guard = 0; guard < 16 && (!list_empty(&h->h2up_dirty) || !list_empty(&h->h2dn_dirty)); guard++) {
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
	list_init(&lp->http->eps);
	list_init(&lp->http->hups);
	list_init(&lp->http->conns);
	list_init(&lp->http->h2up_dirty);
	list_init(&lp->http->h2dn_dirty);
	list_init(&lp->http->fills);
	list_init(&lp->http->revals);
	lp->st.http_request_seconds.bounds = bounds;
	lp->st.http_request_seconds.n_bounds = sizeof(bounds) / sizeof(bounds[0]);
	srandom((unsigned)loop_now_ns());
	return hcache_init(lp);
}

void http_fini(struct loop *lp)
{
	struct hconn *x;

	if (!lp->http)
		return;
	/* upstreams first: freeing an h2 upstream connection tells its streams' exchanges
	 * (http_up_gone), which must still be there */
	hup_fini(lp);
	while ((x = list_first(&lp->http->conns, struct hconn, link))) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): http_maybe_free takes x off the list before freeing it */
		x->state = HC_CLOSING;
		x->life = (struct life){ .closing = true };
		http_maybe_free(lp, x);
	}
	hcache_fini(lp);
	free(lp->http);
	lp->http = NULL;
}
