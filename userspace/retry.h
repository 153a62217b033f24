/* retry.h: the http action's retry policy (retry.c): which failures and statuses a
 * policy retries, whether a request may be sent again (count, method, buffering, overall
 * deadline, retry budget), each attempt's per-try and overall deadlines, hedging on a
 * per-try timeout, and the jittered backoff. Pure functions (no loop, no clock, no
 * random source of their own), unit-tested in tests/unit/test_retry.c. Types in
 * retry-t.h. */
#ifndef HERMES_RETRY_H
#define HERMES_RETRY_H

#include "http1-t.h"
#include "retry-t.h"

/* The retry_on conditions (enum cfg_retry_on bits) that cover a failure (enum hup_fail):
 * a per-try timeout counts as reset, 5xx and gateway-error alike; a malformed response
 * is never retried. */
uint32_t retry_fail_on(int why);
/* The failure in words, for log lines and the error body. */
const char *retry_fail_what(int why);
/* The status answered when nothing is left to try: 504 after a timeout, 503 when the
 * request never reached an upstream (connect, refused stream), else 502 (a TLS failure
 * is the origin's answer, not its absence). */
int retry_fail_status(int why);
/* Does the failure count against the endpoint's health (avoided for unhealthy_ms)? A
 * malformed response or a refused stream says nothing of the endpoint being reachable. */
bool retry_fail_marks_down(int why);
/* The retry_on conditions a response status falls under (5xx, gateway-error for
 * 502-504, retriable-status-codes for rp's list). */
uint32_t retry_status_on(const struct cfg_http_retry *rp, int status);

/* Methods RFC 9110 9.2.2 calls idempotent: sent again without a second thought. */
bool retry_idempotent_method(struct h1_slice method);
/* May a request be sent again at all? Only while hermesd holds all of it (no body, or
 * one buffered whole, not streamed), and its method is idempotent or its body buffered. */
bool retry_resendable(bool buffered, bool streaming, bool idempotent, bool has_body);

/* How many retries the budget allows in progress now under rp. */
uint64_t retry_budget_allowed(const struct retry_budget *b, const struct cfg_http_retry *rp);
/* A request enters its first retry (counted once: *in_retry tells), or leaves retrying
 * (answered, or ended). */
void retry_budget_enter(struct retry_budget *b, bool *in_retry);
void retry_budget_leave(struct retry_budget *b, bool *in_retry);

/* May q be sent again after a failure covered by the retry_on conditions `on`, now? */
enum retry_verdict retry_decide(const struct retry_req *q, uint32_t on, const struct retry_budget *b,
				uint64_t now_ms, bool draining);

/* The current attempt's per-try timeout passed (has_attempt: it is still there, n_hedged:
 * earlier attempts outstanding already). With hedge_on_per_try_timeout, a resendable
 * request keeps the attempt and starts a retry beside it when retry_decide allows one for
 * a timeout (*v says why not otherwise). */
enum retry_hedge retry_hedge(const struct retry_req *q, bool has_attempt, unsigned n_hedged,
			     const struct retry_budget *b, uint64_t now_ms, bool draining, enum retry_verdict *v);

/* An attempt starts at now_ms: its per-try deadline (0: per_try_timeout_ms is off) is
 * set anew, the overall one (0: timeout_ms is off) only by the first attempt, since
 * timeout_ms spans every attempt of the request. */
void retry_attempt_deadlines(const struct cfg_http_retry *rp, uint64_t now_ms, uint64_t *try_deadline_ms,
			     uint64_t *all_deadline_ms);

/* The wait before retry number `retry` (1 for the first): full jitter, rnd reduced into
 * [0, min(backoff_max_ms, backoff_base_ms * 2^(retry-1))]. The caller passes a random
 * number (random() in hermesd), which keeps this deterministic under test. */
uint64_t retry_backoff_ms(const struct cfg_http_retry *rp, unsigned retry, uint64_t rnd);

#endif
