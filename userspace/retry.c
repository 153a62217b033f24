/* retry.c: the http action's retry policy, as Envoy words it (retry_on, num_retries,
 * per-try and overall timeouts, hedge_on_per_try_timeout, jittered exponential backoff, a
 * retry budget). http.c owns the requests, the clock and the random source; this file
 * only decides, so that every rule is checked by a unit test. */
#include "http1.h"
#include "retry.h"

/* Which retry_on conditions cover each kind of failure, and its words for log lines. */
static const uint32_t fail_on[] = {
	[HUP_F_CONNECT] = RETRY_CONNECT_FAILURE,
	[HUP_F_RESET] = RETRY_RESET | RETRY_REFUSED_STREAM,
	[HUP_F_TIMEOUT] = RETRY_RESET | RETRY_5XX | RETRY_GATEWAY_ERROR,
	[HUP_F_PROTO] = 0,
	[HUP_F_REFUSED] = RETRY_REFUSED_STREAM,
	[HUP_F_TLS] = RETRY_CONNECT_FAILURE,
};
static const char *const fail_what[] = { [HUP_F_CONNECT] = "connect failed", [HUP_F_RESET] = "reset before the response",
					 [HUP_F_TIMEOUT] = "per-try timeout", [HUP_F_PROTO] = "malformed response",
					 [HUP_F_REFUSED] = "stream refused", [HUP_F_TLS] = "TLS handshake failed" };

static bool fail_valid(int why)
{
	return why >= HUP_F_CONNECT && why <= HUP_F_MAX;
}

uint32_t retry_fail_on(int why)
{
	return fail_valid(why) ? fail_on[why] : 0;
}

const char *retry_fail_what(int why)
{
	return fail_valid(why) ? fail_what[why] : "failed";
}

int retry_fail_status(int why)
{
	return why == HUP_F_TIMEOUT ? 504 : why == HUP_F_CONNECT || why == HUP_F_REFUSED ? 503 : 502;
}

bool retry_fail_marks_down(int why)
{
	return why != HUP_F_PROTO && why != HUP_F_REFUSED;
}

uint32_t retry_status_on(const struct cfg_http_retry *rp, int status)
{
	uint32_t on = 0;

	if (status >= 500 && status < 600) /* 600..999: any 3 digits pass (RFC 9112 4), none a 5xx */
		on |= RETRY_5XX;
	if (status >= 502 && status <= 504)
		on |= RETRY_GATEWAY_ERROR;
	for (int i = 0; i < rp->n_codes; i++)
		if (rp->codes[i] == status)
			on |= RETRY_STATUS;
	return on;
}

bool retry_idempotent_method(struct h1_slice m)
{
	static const char *const ms[] = { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };

	for (unsigned i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		if (h1_slice_eq(m, ms[i]))
			return true;
	return false;
}

bool retry_resendable(bool buffered, bool streaming, bool idempotent, bool has_body)
{
	return buffered && !streaming && (idempotent || has_body);
}

uint64_t retry_budget_allowed(const struct retry_budget *b, const struct cfg_http_retry *rp)
{
	uint64_t allowed = b->active_requests * rp->budget_percent / 100;

	return allowed < rp->budget_min_retries ? rp->budget_min_retries : allowed;
}

void retry_budget_enter(struct retry_budget *b, bool *in_retry)
{
	if (!*in_retry) {
		*in_retry = true;
		b->active_retries++;
	}
}

void retry_budget_leave(struct retry_budget *b, bool *in_retry)
{
	if (*in_retry) {
		*in_retry = false;
		b->active_retries--;
	}
}

enum retry_verdict retry_decide(const struct retry_req *q, uint32_t on, const struct retry_budget *b,
				uint64_t now_ms, bool draining)
{
	uint64_t others;

	if (!(q->rp->on & on) || q->retries >= q->rp->num_retries || !q->resendable || draining)
		return RETRY_V_NO;
	if (q->deadline_ms && now_ms >= q->deadline_ms)
		return RETRY_V_NO;
	/* retries in progress, this one included, within the budget */
	others = b->active_retries - (q->in_retry ? 1 : 0);
	return others + 1 > retry_budget_allowed(b, q->rp) ? RETRY_V_BUDGET : RETRY_V_YES;
}

enum retry_hedge retry_hedge(const struct retry_req *q, bool has_attempt, unsigned n_hedged,
			     const struct retry_budget *b, uint64_t now_ms, bool draining, enum retry_verdict *v)
{
	*v = RETRY_V_NO;
	/* each hedge is a retry: never more outstanding than num_retries allows */
	if (!q->rp->hedge_on_per_try_timeout || !q->resendable || !has_attempt || n_hedged >= CFG_HTTP_MAX_RETRIES)
		return HEDGE_NONE;
	*v = retry_decide(q, retry_fail_on(HUP_F_TIMEOUT), b, now_ms, draining);
	return *v == RETRY_V_YES ? HEDGE_START : HEDGE_HOLD;
}

void retry_attempt_deadlines(const struct cfg_http_retry *rp, uint64_t now_ms, uint64_t *try_deadline_ms,
			     uint64_t *all_deadline_ms)
{
	if (!*all_deadline_ms && rp->timeout_ms)
		*all_deadline_ms = now_ms + rp->timeout_ms;
	*try_deadline_ms = rp->per_try_timeout_ms ? now_ms + rp->per_try_timeout_ms : 0;
}

uint64_t retry_backoff_ms(const struct cfg_http_retry *rp, unsigned retry, uint64_t rnd)
{
	uint64_t cap = rp->backoff_base_ms;

	for (unsigned i = 1; i < retry && cap < rp->backoff_max_ms; i++)
		cap *= 2;
	if (cap > rp->backoff_max_ms)
		cap = rp->backoff_max_ms;
	return cap ? rnd % (cap + 1) : 0;
}
