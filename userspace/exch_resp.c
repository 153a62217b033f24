/* exch_resp.c: the response side of the `http` action's exchange (exch.c sends the
 * attempts): the current attempt's final head, passed on or retried by the route's
 * policy; a hedged attempt's head, which wins or loses against the later one; then the
 * body as the client's send buffer makes room. The response head is checked (framing,
 * no 101) and rewritten for the client (hop-by-hop fields dropped, HTTP/1.0 clients
 * de-chunked); an HTTP/2 upstream's body without a length is passed on as it comes, as
 * chunks for an HTTP/1.1 client. */
#include <errno.h>
#include <stdio.h>

#include "counters.h"
#include "exch-int.h"
#include "h2x.h"
#include "hcache.h"
#include "http.h"
#include "http1.h"
#include "hreq.h"
#include "log.h"
#include "retry.h"
#include "sock.h"

/* ---- the response ---- */

/* A head's fields as the client gets them: hop-by-hop ones dropped (Content-Length
 * kept), Transfer-Encoding too when the body is de-chunked. */
static void exch_head_fields(struct hconn *x, struct hmsg_w *w, const struct hmsg *resp)
{
	bool conn = h1_find(resp->headers, resp->n_headers, "Connection") != NULL;

	for (unsigned i = 0; i < resp->n_headers; i++) {
		const struct h1_header *h = &resp->headers[i];

		if (hreq_hop_by_hop(resp->headers, resp->n_headers, conn, h->name) && !h1_slice_caseeq(h->name, "Content-Length"))
			continue;
		if (x->dechunk && h1_slice_caseeq(h->name, "Transfer-Encoding"))
			continue;
		http_head_field(x, w, h->name.p, h->name.len, h->value.p, h->value.len);
	}
}

/* The final response head: framing, then the head as the client gets it. Returns 0, or
 * -EBADMSG when the upstream's framing is unusable. An HTTP/2 head without a
 * content-length had no body (END_STREAM came with it) or one that ends with the
 * stream: its DATA bytes come unframed, chunked here for an HTTP/1.1 client. */
static int exch_resp_head(struct loop *lp, struct hconn *x, const struct hmsg *resp)
{
	long long cl = -1;
	bool chunked = false, add_cl0 = false, add_te = false;
	struct hmsg_w w;
	size_t n = resp->reason.len + 16;

	x->status = resp->status;
	if (x->is_head || resp->status == 204 || resp->status == 304) {
		x->no_body = true;
	} else {
		bool coded;

		if (h1_resp_body_framing(resp->headers, resp->n_headers, &cl, &chunked, &coded))
			return -EBADMSG;
		/* a transfer coding hermesd does not decode (RFC 9112 6.3 rule 4: the body
		 * ends with the connection) goes on, labelled, only to an HTTP/1.1 client:
		 * HTTP/2 and HTTP/1.0 have no Transfer-Encoding to label it with */
		if (coded && (x->fd < 0 || x->http10)) {
			log_info("http conn %llu: %s %s: the upstream's response has a transfer coding hermesd does not "
				 "decode, which an %s client cannot be sent", (unsigned long long)x->id, x->method,
				 x->path, x->fd < 0 ? "HTTP/2" : "HTTP/1.0");
			return -EBADMSG;
		}
		if (resp->h2 && cl < 0) {
			if (resp->body == HMSG_BODY_NONE) {
				cl = 0;
				add_cl0 = true;
			} else {
				x->resp_stream = true;
				x->rechunk = add_te = x->fd >= 0 && !x->http10;
			}
		}
		x->resp_chunked = chunked;
		x->resp_left = chunked || x->resp_stream ? -1 : cl;
		x->until_close = !chunked && !x->resp_stream && cl < 0;
	}
	x->resp_reusable = !x->until_close &&
			   (resp->version_minor ? !hreq_any_token(resp->headers, resp->n_headers, "Connection", "close")
						: hreq_any_token(resp->headers, resp->n_headers, "Connection", "keep-alive"));
	if (x->resp_chunked && x->http10)
		x->dechunk = true; /* HTTP/1.0 knows no chunked: the data only, then close */
	if (x->until_close || x->dechunk || (x->resp_stream && x->http10) || !x->req_done || x->client_eof)
		x->close_after = true;
	/* the client's body ends with the connection: if hermesd died now, a FIN would
	 * make a truncated body look complete, so a crash must reset (sock.h) */
	if ((x->until_close || x->dechunk || (x->resp_stream && x->http10)) && x->fd >= 0 && !x->crash_rst) {
		sock_reset_on_close(x->fd);
		x->crash_rst = true;
	}
	for (unsigned i = 0; i < resp->n_headers; i++)
		n += resp->headers[i].name.len + resp->headers[i].value.len + 4;
	if (n + 128 > http_conn_room(x))
		return -EMSGSIZE;
	http_head_begin(x, &w, resp->status, resp->reason);
	exch_head_fields(x, &w, resp);
	if (add_cl0)
		http_head_field(x, &w, "Content-Length", 14, "0", 1);
	if (add_te)
		http_head_field(x, &w, "Transfer-Encoding", 17, "chunked", 7);
	http_head_hermes(lp, x, &w);
	http_head_end(lp, x, &w, x->resp_chunked ? H2X_CHUNKED : x->until_close || x->resp_stream ? H2X_EOF : H2X_CL,
		      x->resp_left,
		      x->no_body || (!x->resp_chunked && x->resp_left == 0));
	http_count_status(lp, x, resp->status);
	if (x->attempts > 1 && resp->status < 500)
		lp->st.http_retry_successes++;
	hcache_resp_head(lp, x, resp);
	log_debug("http conn %llu: %s %s -> %d after %u attempt(s)", (unsigned long long)x->id, x->method, x->path,
		  resp->status, x->attempts);
	return 0;
}

/* The next final response head of attempt u, the interim responses (1xx) before it
 * passed on to the client. Returns its size (for hup_head_done), 0 when it is not whole
 * yet (or an interim one waits for room), -errno when malformed or a 101. */
static int exch_next_head(struct loop *lp, struct hconn *x, struct hup *u, struct hmsg *resp)
{
	for (;;) {
		int n = hup_head(lp, u, resp);

		if (n <= 0)
			return n;
		if (resp->status == 101)
			return -EPROTO;
		if (resp->status >= 200)
			return n;
		/* 100 answered the expectation we answered ourselves; others (103) go on */
		if (resp->status != 100) {
			struct hmsg_w w;
			size_t need = resp->reason.len + 16;

			for (unsigned i = 0; i < resp->n_headers; i++)
				need += resp->headers[i].name.len + resp->headers[i].value.len + 4;
			if (need > http_conn_room(x))
				return 0;
			http_head_begin(x, &w, resp->status, resp->reason);
			exch_head_fields(x, &w, resp);
			http_head_end(lp, x, &w, 0, 0, true);
			http_count_status(lp, x, resp->status);
		}
		hup_head_done(lp, u, n);
	}
}

/* HC_WAIT: the current attempt's final head: passed on, or retried. */
static void exch_wait_input(struct loop *lp, struct hconn *x)
{
	struct hmsg resp;
	uint32_t on;
	int n, rev;

	if (x->state != HC_WAIT || !x->up)
		return;
	n = exch_next_head(lp, x, x->up, &resp);
	if (n == 0) {
		if (x->up->eof)
			exch_attempt_failed(lp, x, HUP_F_RESET, -ECONNRESET);
		return;
	}
	if (n < 0) {
		exch_attempt_failed(lp, x, HUP_F_PROTO, n);
		return;
	}
	/* a final head: the endpoint works, unless outlier.http_5xx counts a 5xx */
	metrics_outlier_outcome(lp, OUTLIER_HTTP_ENDPOINT, &x->ep->addr, &x->ep->ol,
				!(lp->cfg->outlier.http_5xx && resp.status >= 500 && resp.status < 600), "5xx response");
	on = retry_status_on(x->rp, resp.status) & x->rp->on;
	if (on) {
		bool retry = exch_can_retry(lp, x, on);
		char why[32];

		snprintf(why, sizeof(why), "upstream answered %d", resp.status);
		if (retry || x->n_hedged) {
			/* dropped for a retry, or for a hedged attempt that may do better */
			exch_drop_upstream(lp, x, false);
			if (retry)
				exch_schedule_retry(lp, x, why);
			else
				exch_wait_hedged(x, why);
			return;
		}
	}
	rev = hcache_revalidated(lp, x, &resp);
	if (!rev && resp.status >= 500 && hcache_stale_on_error(lp, x, resp.status))
		rev = 2; /* the stored response answers; the upstream's body is left unread */
	if (rev < 0 || (!rev && exch_resp_head(lp, x, &resp))) {
		exch_attempt_failed(lp, x, HUP_F_PROTO, -EBADMSG);
		return;
	}
	hup_head_done(lp, x->up, n);
	if (rev) /* the stored response answers (refreshed by a 304: the connection is free) */
		exch_drop_upstream(lp, x, rev == 1 && resp.version_minor && !hup_pending(x->up) &&
					  !hreq_any_token(resp.headers, resp.n_headers, "Connection", "close"));
	if (x->up_hedged)
		lp->st.http_hedge_wins++;
	while (x->n_hedged) /* the losers */
		exch_drop_hedged(lp, x, x->n_hedged - 1);
	x->state = HC_RESP;
	x->try_deadline_ms = x->all_deadline_ms = x->stall_at_ms = 0;
	retry_budget_leave(&lp->http->budget, &x->in_retry);
}

/* HC_WAIT, HC_BACKOFF: response bytes (or the end) on hedged attempt k. When no later
 * attempt is outstanding it simply becomes the current one. Otherwise a final head the
 * policy does not retry wins, and the current attempt (or the retry about to start) is
 * cancelled; a failure or a head the policy retries loses, and the later attempt carries
 * on. */
static void exch_hedged_input(struct loop *lp, struct hconn *x, unsigned k)
{
	struct hup *u = x->hedged[k].up;
	struct hmsg resp;
	char why[32];
	int n;

	if (x->state == HC_WAIT && !x->up) {
		exch_adopt(x, k);
		return;
	}
	n = exch_next_head(lp, x, u, &resp);
	if (n == 0 && !u->eof)
		return;
	if (n <= 0) {
		exch_hedged_failed(lp, x, k, n == 0 ? HUP_F_RESET : HUP_F_PROTO, n == 0 ? -ECONNRESET : n);
		return;
	}
	if (retry_status_on(x->rp, resp.status) & x->rp->on) {
		snprintf(why, sizeof(why), "upstream answered %d", resp.status);
		exch_hedged_lost(lp, x, k, why);
		return;
	}
	log_info("http conn %llu: %s %s: hedged attempt answered %d first: attempt %u cancelled",
		 (unsigned long long)x->id, x->method, x->path, resp.status, x->attempts);
	exch_drop_upstream(lp, x, false);
	exch_adopt(x, k); /* exch_wait_input passes its head on */
}

/* The end of an unframed body (resp_stream): the last chunk and the trailers for an
 * HTTP/1.1 client, the trailers for an HTTP/2 one. False while the send buffer has no
 * room for them. */
static bool exch_resp_stream_end(struct loop *lp, struct hconn *x)
{
	struct hbuf end = { 0 };
	struct hmsg t;
	int k = hup_trailers(x->up, &t);
	bool fits;

	if (x->fd < 0) {
		if (k > 0)
			h2dn_trailers(x, &t); /* without memory for them, the body ends without */
		return true;
	}
	if (!x->rechunk)
		return true; /* HTTP/1.0: the end is the connection's */
	if (h2x_chunk_end(&end, k > 0 ? &t : NULL)) {
		buf_free(end.p, end.cap);
		http_conn_close(lp, x, true); /* without memory: a reset, not a body that hangs */
		return false;
	}
	fits = end.len <= http_conn_room(x);
	if (fits)
		http_conn_out(x, end.p, end.len);
	buf_free(end.p, end.cap);
	return fits;
}

/* HC_RESP, resp_stream: the upstream's DATA bytes as they are, or as chunks for an
 * HTTP/1.1 client (never framed for one HTTP/2 peer to be de-framed for the other). */
static void exch_resp_stream(struct loop *lp, struct hconn *x)
{
	while (!x->resp_done && x->up) {
		const char *p;
		size_t avail, room = http_conn_room(x), n;
		char line[H2X_CHUNK_LINE];

		hup_data(x->up, &p, &avail);
		if (!avail) {
			if (!x->up->eof || !exch_resp_stream_end(lp, x))
				return;
			x->resp_done = true;
			break;
		}
		if (!x->rechunk) {
			if (!room)
				return;
			n = avail < room ? avail : room;
			http_conn_out(x, p, n);
		} else {
			if (room <= sizeof(line) + 2)
				return;
			n = avail < room - sizeof(line) - 2 ? avail : room - sizeof(line) - 2;
			http_conn_out(x, line, h2x_chunk_line(line, n));
			http_conn_out(x, p, n);
			http_conn_out(x, "\r\n", 2);
		}
		hcache_resp_body(x, p, n);
		hup_consumed(lp, x->up, n);
	}
}

/* HC_RESP: body bytes from the upstream to the client, within the send buffer. */
void exch_resp_body(struct loop *lp, struct hconn *x)
{
	struct h1_limits lim = http_limits(lp);

	if (hcache_send(lp, x))
		return; /* answered from the cache */
	if (x->resp_stream && !x->no_body)
		exch_resp_stream(lp, x);
	while (!x->resp_done && x->up && !(x->resp_stream && !x->no_body)) {
		const char *p;
		size_t avail, room = http_conn_room(x), n;

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
			http_conn_close(lp, x, true);
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
				http_conn_close(lp, x, true);
				return;
			}
			if (!x->dechunk || is_data)
				http_conn_out(x, p, (size_t)r);
			if (is_data)
				hcache_resp_body(x, p, (size_t)r);
			hup_consumed(lp, x->up, (size_t)r);
			x->resp_done = x->resp_ck.done;
			continue;
		}
		if (!x->until_close && (unsigned long long)x->resp_left < n)
			n = (size_t)x->resp_left;
		http_conn_out(x, p, n);
		hcache_resp_body(x, p, n);
		hup_consumed(lp, x->up, n);
		if (!x->until_close)
			x->resp_left -= (long long)n;
	}
	if (x->resp_done)
		hcache_resp_end(lp, x);
	if (x->resp_done && x->up) {
		exch_drop_upstream(lp, x, x->resp_reusable && x->req_done && !hup_pending(x->up));
	}
}

void http_up_input(struct loop *lp, struct hconn *x, struct hup *u)
{
	http_hold(x);
	if (u != x->up && (x->state == HC_WAIT || x->state == HC_BACKOFF)) {
		int k = exch_hedged_slot(x, u);

		if (k >= 0)
			exch_hedged_input(lp, x, (unsigned)k);
	}
	if (x->state == HC_WAIT)
		exch_wait_input(lp, x);
	if (x->state == HC_RESP)
		exch_resp_body(lp, x);
	if (x->state != HC_CLOSING)
		http_progress(lp, x);
	http_unhold(lp, x);
}
