/* exch.c: the exchange of the `http` action, from a routed request to the one response
 * its client sees. Each attempt goes to an endpoint route_pick chooses (another one
 * first on a retry) over a pooled upstream connection (hup.c, h2up.c); when it fails in a
 * way the route's retry policy names (retry.c: Envoy's retry_on, num_retries, per-try and
 * overall timeouts, jittered backoff, a retry budget), the request is sent again. The
 * client sees one response, or one error, whatever happened upstream.
 *
 * Hedging (a policy's hedge_on_per_try_timeout, as Envoy has it): an attempt whose
 * per-try timeout passes is not cut but stays outstanding while the next attempt (a
 * retry by every rule above) starts beside it. The first response head the policy does
 * not retry wins; the other attempts are closed (HTTP/1.1) or reset (an HTTP/2 stream),
 * never pooled. An attempt that fails while another is outstanding leaves it to answer,
 * so the client sees a failure only when no attempt and no retry is left. The current
 * attempt is x->up; the earlier, hedged ones wait in x->hedged[].
 *
 * The response, its head checked and rewritten for the client and its body passed on,
 * is exch_resp.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "exch-int.h"
#include "hcache.h"
#include "http.h"
#include "hreq.h"
#include "log.h"
#include "ring.h"
#include "retry.h"
#include "route.h"

#define HC_STREAM_HIGH (64 * 1024) /* streamed request body queued upstream at most */

/* ---- leaving attempts; the streamed body ---- */

/* The exchange leaves its upstream attempt: the connection back to its pool (reusable)
 * or closed, and the endpoint's active count down (least-request reads it). */
void exch_drop_upstream(struct loop *lp, struct hconn *x, bool reusable)
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
void exch_drop_hedged(struct loop *lp, struct hconn *x, unsigned k)
{
	struct hc_hedged *h = &x->hedged[k];

	if (h->up)
		hup_release(lp, h->up, false);
	h->ep->active--;
	x->hedged[k] = x->hedged[--x->n_hedged];
}

/* Every attempt of the request goes (an answer of hermesd's own, or the end). */
void exch_drop_all(struct loop *lp, struct hconn *x)
{
	exch_drop_upstream(lp, x, false);
	while (x->n_hedged)
		exch_drop_hedged(lp, x, x->n_hedged - 1);
}

/* An unframed body's end (req_stream) to attempt u: the last chunk and trailers for an
 * HTTP/1.1 upstream, END_STREAM (and trailers) for an HTTP/2 one. 0, or -ENOMEM /
 * -EMSGSIZE (the send buffer cannot take it: the body would be cut). */
static int exch_body_end(struct loop *lp, struct hconn *x, struct hup *u)
{
	struct hbuf end = { 0 };
	int err;

	x->req_end_sent = true;
	if (!hreq_rechunk(x))
		return hup_body_end(lp, u, h2dn_req_trailers(x));
	err = hreq_body_end(x, &end);
	if (!err && hup_write(lp, u, end.p, end.len) < end.len)
		err = -EMSGSIZE;
	buf_free(end.p, end.cap);
	return err;
}

/* A streaming body: what rx holds goes upstream, up to HC_STREAM_HIGH queued (HTTP/1.1
 * framing of an unframed body included). */
void exch_push_body(struct loop *lp, struct hconn *x)
{
	while (x->streaming && !x->req_done && x->up && hup_pending(x->up) < HC_STREAM_HIGH) {
		size_t max = HC_STREAM_HIGH - hup_pending(x->up), took;
		struct hbuf chunk = { 0 };
		long r;

		if (max > hup_room(x->up))
			max = hup_room(x->up);
		if (x->req_stream && max <= 32)
			break;
		r = hreq_body_run(lp, x, x->req_stream ? max - 32 : max);
		if (r > 0 && hreq_rechunk(x)) {
			/* chunked for an HTTP/1.1 upstream: the run with its size line */
			if (hreq_body_put(x, &chunk, x->rx.p + x->rx.off, (size_t)r) ||
			    hup_write(lp, x->up, chunk.p, chunk.len) < chunk.len) {
				buf_free(chunk.p, chunk.cap);
				http_conn_close(lp, x, true);
				return;
			}
			buf_free(chunk.p, chunk.cap);
			http_rx_consume(x, (size_t)r);
			x->body_bytes += (size_t)r;
			continue;
		}

		if (r < 0) {
			/* the head already went upstream: nothing sensible can be answered */
			log_info("http conn %llu: malformed chunked body while streaming it: reset", (unsigned long long)x->id);
			http_conn_close(lp, x, true);
			return;
		}
		if (!r)
			break;
		took = hup_write(lp, x->up, x->rx.p + x->rx.off, (size_t)r);
		http_rx_consume(x, took);
		x->body_bytes += took;
		if (took < (size_t)r) {
			/* cannot happen (max <= hup_room): the body would be cut */
			http_conn_close(lp, x, true);
			return;
		}
	}
	if (x->streaming && x->req_done && x->req_stream && x->up && !x->req_end_sent &&
	    exch_body_end(lp, x, x->up)) {
		http_conn_close(lp, x, true);
		return;
	}
}

/* ---- attempts and retries ---- */

/* What the retry policy reads of x's request now. */
static struct retry_req exch_retry_req(const struct hconn *x)
{
	return (struct retry_req){ .rp = x->rp, .retries = x->retries, .in_retry = x->in_retry,
				   .resendable = retry_resendable(x->buffered, x->streaming, x->idempotent, x->has_body),
				   .deadline_ms = x->all_deadline_ms };
}

/* A retry the policy allows was refused by the budget: counted and said. */
static void exch_budget_exhausted(struct loop *lp, const struct hconn *x)
{
	const struct retry_budget *b = &lp->http->budget;

	lp->st.http_budget_exhausted++;
	log_info("http conn %llu: %s %s: retry budget exhausted (%llu retries in progress, %llu active requests)",
		 (unsigned long long)x->id, x->method, x->path,
		 (unsigned long long)(b->active_retries - (x->in_retry ? 1 : 0)), (unsigned long long)b->active_requests);
}

/* May x be sent again after a failure of kind `on` (enum cfg_retry_on bits)? Counts a
 * refusal by the budget. */
bool exch_can_retry(struct loop *lp, struct hconn *x, uint32_t on)
{
	struct retry_req q = exch_retry_req(x);
	enum retry_verdict v = retry_decide(&q, on, &lp->http->budget, lp->now_ms, lp->draining);

	if (v == RETRY_V_BUDGET)
		exch_budget_exhausted(lp, x);
	return v == RETRY_V_YES;
}

void exch_schedule_retry(struct loop *lp, struct hconn *x, const char *why)
{
	uint64_t delay = retry_backoff_ms(x->rp, x->retries + 1, (uint64_t)random());

	x->retries++;
	lp->st.http_retries++;
	retry_budget_enter(&lp->http->budget, &x->in_retry);
	log_info("http conn %llu: %s %s: %s; retry %u of %u in %llu ms", (unsigned long long)x->id, x->method, x->path,
		 why, x->retries, x->rp->num_retries, (unsigned long long)delay);
	x->backoff_until_ms = lp->now_ms + delay;
	x->state = HC_BACKOFF;
	if (!delay)
		exch_attempt(lp, x);
}

/* The endpoint of the next attempt (route_pick), by what is known of each now; the
 * pick's failure memory is told (a probe, or a pick with every endpoint ejected). */
static int exch_pick(struct loop *lp, struct hconn *x)
{
	struct route_ep v[CFG_HTTP_MAX_EPS];
	int i;

	for (unsigned k = 0; k < x->n_eps; k++) {
		const struct hep *ep = x->eps[k];

		v[k] = (struct route_ep){ .active = ep->active, .healthy = ep->down_until_ms <= lp->now_ms,
					  .ejected = !outlier_usable(&ep->ol, lp->now_ms),
					  .back_ms = outlier_back_ms(&ep->ol, lp->now_ms) };
	}
	i = route_pick(v, x->n_eps, x->rr + x->attempts, x->tried, x->balance);
	if (i >= 0)
		metrics_outlier_attempt(lp, OUTLIER_HTTP_ENDPOINT, &x->eps[i]->addr, &x->eps[i]->ol, v[i].ejected);
	return i;
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
static bool exch_fd_wait(struct loop *lp, struct hconn *x, int i)
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

void exch_attempt(struct loop *lp, struct hconn *x)
{
	int i = exch_pick(lp, x);
	struct hup *u;

	if (i < 0) {
		http_reply(lp, x, 503, "no usable endpoint", true);
		return;
	}
	x->attempts++;
	x->tried |= 1u << i;
	lp->st.http_attempts++;
	retry_attempt_deadlines(x->rp, lp->now_ms, &x->try_deadline_ms, &x->all_deadline_ms);
	x->state = HC_WAIT;
	x->ep = x->eps[i];
	x->ep->active++;
	x->up_hedged = false;
	u = hup_open(lp, x->ep, x);
	if (!u) {
		int err = errno;

		if ((err == EMFILE || err == ENFILE) && exch_fd_wait(lp, x, i))
			return;
		http_up_failed(lp, x, NULL, HUP_F_CONNECT, -err);
		return;
	}
	x->fd_wait_since_ms = 0;
	x->up = u;
	hcache_attempt(lp, x);
	/* the whole request, or its head and what of its body is buffered */
	hup_write(lp, u, x->out.p, x->out.len);
	x->req_end_sent = false;
	if (x->streaming) {
		x->out.len = 0;
		exch_push_body(lp, x);
	} else if (x->req_stream && !hreq_rechunk(x) && exch_body_end(lp, x, u)) {
		http_conn_close(lp, x, true); /* out of memory */
	}
}

static void exch_fail_count(struct loop *lp, struct hep *ep, int why)
{
	lp->st.http_upstream_failures[why - 1]++;
	if (ep && retry_fail_marks_down(why)) {
		ep->down_until_ms = lp->now_ms + lp->cfg->http.unhealthy_ms;
		metrics_outlier_outcome(lp, OUTLIER_HTTP_ENDPOINT, &ep->addr, &ep->ol, false, retry_fail_what(why));
	}
}

/* No current attempt and no retry, but hedged attempts are still outstanding: the
 * request waits for them (timeout_ms still applies). */
void exch_wait_hedged(struct hconn *x, const char *why)
{
	log_info("http conn %llu: %s %s: %s; no retry now, waiting for %u hedged attempt(s)", (unsigned long long)x->id,
		 x->method, x->path, why, x->n_hedged);
	x->state = HC_WAIT;
	x->try_deadline_ms = 0;
}

/* The current attempt is gone without a usable answer (why says how; on: the retry_on
 * conditions that cover it): a retry when the policy allows one, else the hedged
 * attempts still outstanding. False when nothing is left: the caller answers. */
static bool exch_next_attempt(struct loop *lp, struct hconn *x, uint32_t on, const char *why)
{
	if (exch_can_retry(lp, x, on)) {
		exch_schedule_retry(lp, x, why);
		return true;
	}
	if (!x->n_hedged)
		return false;
	exch_wait_hedged(x, why);
	return true;
}

/* The attempt failed before a response head was accepted. */
/* A pooled connection the server closed just as it was taken looks like a reset: it is
 * not replayed for free (that would hide real resets when retries are off); the idle
 * recv on pooled connections makes the race rare. */
void exch_attempt_failed(struct loop *lp, struct hconn *x, int why, int err)
{
	char why_s[128];

	exch_fail_count(lp, x->ep, why);
	exch_drop_upstream(lp, x, false);
	snprintf(why_s, sizeof(why_s), "%s (%s)", retry_fail_what(why), strerror(-err));
	if (exch_next_attempt(lp, x, retry_fail_on(why), why_s))
		return;
	if (x->streaming && !x->req_done)
		x->close_after = true;
	if (!hcache_stale_on_error(lp, x, 0))
		http_reply(lp, x, retry_fail_status(why), why_s, x->close_after);
}

bool exch_may_retry(struct loop *lp, const struct hconn *x, int why)
{
	struct retry_req q = exch_retry_req(x);

	return retry_decide(&q, retry_fail_on(why), &lp->http->budget, lp->now_ms, lp->draining) == RETRY_V_YES;
}

bool exch_refetch(struct loop *lp, struct hconn *x, int why, const char *what)
{
	exch_fail_count(lp, x->ep, why);
	exch_drop_upstream(lp, x, false);
	x->state = HC_WAIT;
	return exch_next_attempt(lp, x, retry_fail_on(why), what);
}

/* ---- hedging (hedge_on_per_try_timeout) ---- */

/* The current attempt's per-try timeout passed with hedge_on_per_try_timeout: instead of
 * being cut, it stays outstanding and the next attempt starts beside it, as a retry would
 * (the same conditions, count, budget and backoff; another endpoint first); the first
 * usable response head wins. With no retry allowed the attempt just goes on, until its
 * answer or timeout_ms. Requests that could not be sent again are not hedged: false, and
 * the timeout cuts the attempt as it would without hedging. */
static bool exch_hedge(struct loop *lp, struct hconn *x)
{
	struct retry_req q = exch_retry_req(x);
	enum retry_verdict v;
	enum retry_hedge h = retry_hedge(&q, x->up != NULL, x->n_hedged, &lp->http->budget, lp->now_ms, lp->draining, &v);

	if (h == HEDGE_NONE)
		return false;
	x->try_deadline_ms = 0;
	if (h == HEDGE_HOLD) {
		if (v == RETRY_V_BUDGET)
			exch_budget_exhausted(lp, x);
		log_info("http conn %llu: %s %s: per-try timeout; no retry left to hedge with: attempt %u goes on",
			 (unsigned long long)x->id, x->method, x->path, x->attempts);
		return true;
	}
	x->hedged[x->n_hedged++] = (struct hc_hedged){ .up = x->up, .ep = x->ep };
	x->up = NULL;
	x->ep = NULL;
	lp->st.http_hedges++;
	exch_schedule_retry(lp, x, "per-try timeout, the attempt stays outstanding (hedged)");
	return true;
}

int exch_hedged_slot(const struct hconn *x, const struct hup *u)
{
	for (unsigned k = 0; k < x->n_hedged; k++)
		if (x->hedged[k].up == u)
			return (int)k;
	return -1;
}

/* Hedged attempt k becomes the current one: it won, or it is the latest left. */
void exch_adopt(struct hconn *x, unsigned k)
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
void exch_hedged_lost(struct loop *lp, struct hconn *x, unsigned k, const char *why)
{
	log_info("http conn %llu: %s %s: hedged attempt: %s; a later attempt carries on", (unsigned long long)x->id,
		 x->method, x->path, why);
	exch_drop_hedged(lp, x, k);
}

void exch_hedged_failed(struct loop *lp, struct hconn *x, unsigned k, int why, int err)
{
	char why_s[128];

	snprintf(why_s, sizeof(why_s), "%s (%s)", retry_fail_what(why), strerror(-err));
	exch_fail_count(lp, x->hedged[k].ep, why);
	exch_hedged_lost(lp, x, k, why_s);
}

static void exch_up_failed(struct loop *lp, struct hconn *x, int why, int err)
{
	if (x->state == HC_RESP && hcache_fill_cut(lp, x, why))
		return; /* a response being stored: asked again for the rest */
	if (x->state == HC_RESP) {
		/* the response head was passed on: a cut body can only be a cut connection */
		log_info("http conn %llu: upstream failed mid-response (%s): reset", (unsigned long long)x->id,
			 strerror(-err));
		http_conn_close(lp, x, true);
		return;
	}
	if (x->state != HC_WAIT)
		return;
	exch_attempt_failed(lp, x, why, err);
	if (x->state != HC_CLOSING)
		http_progress(lp, x);
}

void http_up_failed(struct loop *lp, struct hconn *x, struct hup *u, int why, int err)
{
	int k;

	http_hold(x);
	if (u == x->up) {
		x->up = NULL; /* the transport closed it */
		exch_up_failed(lp, x, why, err);
	} else if ((k = exch_hedged_slot(x, u)) >= 0) {
		x->hedged[k].up = NULL;
		if (x->state == HC_WAIT && !x->up) {
			/* the latest attempt left: it fails as the current one would */
			exch_adopt(x, (unsigned)k);
			exch_up_failed(lp, x, why, err);
		} else {
			exch_hedged_failed(lp, x, (unsigned)k, why, err);
			http_progress(lp, x);
		}
	}
	http_unhold(lp, x);
}

void http_up_drained(struct loop *lp, struct hconn *x, struct hup *u)
{
	if (u != x->up)
		return; /* a hedged attempt: its request went whole */
	http_hold(x);
	exch_push_body(lp, x);
	if (x->state != HC_CLOSING)
		http_progress(lp, x);
	http_unhold(lp, x);
}

void http_up_gone(struct hconn *x, const struct hup *u)
{
	int k;

	if (x->up == u)
		x->up = NULL;
	else if ((k = exch_hedged_slot(x, u)) >= 0)
		x->hedged[k].up = NULL;
}

/* A timer fired (or was cancelled): act on every deadline that passed. */
void exch_deadlines(struct loop *lp, struct hconn *x)
{
	uint64_t now = loop_now_ms();

	lp->now_ms = now;
	if ((x->state == HC_WAIT || x->state == HC_BACKOFF) && x->all_deadline_ms && now >= x->all_deadline_ms) {
		lp->st.http_upstream_failures[HUP_F_TIMEOUT - 1] += (x->up ? 1 : 0) + x->n_hedged;
		if (x->streaming && !x->req_done)
			x->close_after = true;
		exch_drop_all(lp, x);
		if (!hcache_stale_on_error(lp, x, 0))
			http_reply(lp, x, 504, "request timeout", x->close_after);
		return;
	}
	if (x->state == HC_BACKOFF && now >= x->backoff_until_ms) {
		exch_attempt(lp, x);
		return;
	}
	if (x->state == HC_WAIT && x->stall_at_ms && now >= x->stall_at_ms && hcache_head_stalled(lp, x)) {
		if (exch_may_retry(lp, x, HUP_F_RESET)) {
			exch_attempt_failed(lp, x, HUP_F_RESET, -ETIMEDOUT); /* a new connection may get through */
			return;
		}
		x->stall_at_ms = now + lp->cfg->cache.fill_stall_ms; /* no retry now: TCP may still get through */
	}
	if (x->state == HC_WAIT && x->try_deadline_ms && now >= x->try_deadline_ms) {
		lp->st.http_per_try_timeouts++;
		if (!exch_hedge(lp, x))
			exch_attempt_failed(lp, x, HUP_F_TIMEOUT, -ETIMEDOUT);
	}
}

