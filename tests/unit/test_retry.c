/* test_retry.c: unit tests (no root) for userspace/retry.c, the http action's retry
 * policy: which retry_on conditions cover each kind of failure and each status, the
 * status answered when nothing is left, which requests may be sent again, the retry
 * count and overall deadline, the retry budget running out and filling again, hedging on
 * a per-try timeout, per-try and overall deadlines, and the backoff's bounds and jitter, drawn from a seeded generator
 * so that every run checks the same numbers. Exit 0 when every check passes, 1 otherwise. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "retry.h"

/* A policy as config.c fills it by default for a route with retries. */
static struct cfg_http_retry policy(uint32_t on, uint32_t num_retries)
{
	return (struct cfg_http_retry){ .on = on, .num_retries = num_retries, .backoff_base_ms = 25,
					.backoff_max_ms = 250, .budget_percent = 20, .budget_min_retries = 3 };
}

/* A resendable request with no retry made yet and no deadline. */
static struct retry_req request(const struct cfg_http_retry *rp)
{
	return (struct retry_req){ .rp = rp, .resendable = true };
}

static const struct retry_budget idle = { .active_requests = 1 };

static bool test_fail_classes(void)
{
	static const struct {
		int why;
		uint32_t on;
		int status;
		bool down;
	} want[] = {
		{ HUP_F_CONNECT, RETRY_CONNECT_FAILURE, 503, true },
		{ HUP_F_RESET, RETRY_RESET | RETRY_REFUSED_STREAM, 502, true },
		{ HUP_F_TIMEOUT, RETRY_RESET | RETRY_5XX | RETRY_GATEWAY_ERROR, 504, true },
		{ HUP_F_PROTO, 0, 502, false },
		{ HUP_F_REFUSED, RETRY_REFUSED_STREAM, 503, false },
		{ HUP_F_TLS, RETRY_CONNECT_FAILURE, 502, true },
	};

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *what = retry_fail_what(want[i].why);

		ASSERT_EQ(retry_fail_on(want[i].why), want[i].on, what);
		ASSERT_EQ(retry_fail_status(want[i].why), want[i].status, what);
		ASSERT_EQ(retry_fail_marks_down(want[i].why), want[i].down, what);
	}
	ASSERT_STREQ(retry_fail_what(HUP_F_TIMEOUT), "per-try timeout", "words for a timeout");
	ASSERT_EQ(retry_fail_on(0), 0, "no such failure: no condition");
	ASSERT_EQ(retry_fail_on(HUP_F_MAX + 1), 0, "no such failure: no condition");
	return true;
}

/* Each retry_on condition alone, against each failure: a retry exactly when it covers it. */
static bool test_retry_on_per_failure(void)
{
	static const struct {
		uint32_t on;
		const char *name;
		int yes[6]; /* the failures it retries, 0-terminated */
	} conds[] = {
		{ RETRY_CONNECT_FAILURE, "connect-failure", { HUP_F_CONNECT, HUP_F_TLS } },
		{ RETRY_RESET, "reset", { HUP_F_RESET, HUP_F_TIMEOUT } },
		{ RETRY_REFUSED_STREAM, "refused-stream", { HUP_F_RESET, HUP_F_REFUSED } },
		{ RETRY_5XX, "5xx", { HUP_F_TIMEOUT } },
		{ RETRY_GATEWAY_ERROR, "gateway-error", { HUP_F_TIMEOUT } },
		{ RETRY_STATUS, "retriable-status-codes", { 0 } },
	};

	for (unsigned c = 0; c < sizeof(conds) / sizeof(conds[0]); c++) {
		struct cfg_http_retry rp = policy(conds[c].on, 2);
		struct retry_req q = request(&rp);

		for (int why = HUP_F_CONNECT; why <= HUP_F_MAX; why++) {
			bool want = false;

			for (unsigned k = 0; k < 6 && conds[c].yes[k]; k++)
				want |= conds[c].yes[k] == why;
			ASSERT_TRUE((retry_decide(&q, retry_fail_on(why), &idle, 0, false) == RETRY_V_YES) == want,
				    "%s after %s: want %s", conds[c].name, retry_fail_what(why), want ? "a retry" : "none");
		}
	}
	return true;
}

static bool test_status_on(void)
{
	struct cfg_http_retry rp = policy(RETRY_5XX, 1);

	rp.codes[rp.n_codes++] = 409;
	rp.codes[rp.n_codes++] = 503;
	ASSERT_EQ(retry_status_on(&rp, 200), 0, "200");
	ASSERT_EQ(retry_status_on(&rp, 404), 0, "404");
	ASSERT_EQ(retry_status_on(&rp, 409), RETRY_STATUS, "409 listed");
	ASSERT_EQ(retry_status_on(&rp, 500), RETRY_5XX, "500");
	ASSERT_EQ(retry_status_on(&rp, 501), RETRY_5XX, "501");
	ASSERT_EQ(retry_status_on(&rp, 502), RETRY_5XX | RETRY_GATEWAY_ERROR, "502");
	ASSERT_EQ(retry_status_on(&rp, 503), RETRY_5XX | RETRY_GATEWAY_ERROR | RETRY_STATUS, "503 listed");
	ASSERT_EQ(retry_status_on(&rp, 504), RETRY_5XX | RETRY_GATEWAY_ERROR, "504");
	ASSERT_EQ(retry_status_on(&rp, 505), RETRY_5XX, "505");
	ASSERT_EQ(retry_status_on(&rp, 599), RETRY_5XX, "599");
	return true;
}

static bool test_resendable(void)
{
	static const char *const idem[] = { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };
	static const char *const not_idem[] = { "POST", "PATCH", "CONNECT", "get", "GETX", "" };

	for (unsigned i = 0; i < sizeof(idem) / sizeof(idem[0]); i++)
		ASSERT_TRUE(retry_idempotent_method((struct h1_slice){ idem[i], strlen(idem[i]) }), "%s", idem[i]);
	for (unsigned i = 0; i < sizeof(not_idem) / sizeof(not_idem[0]); i++)
		ASSERT_TRUE(!retry_idempotent_method((struct h1_slice){ not_idem[i], strlen(not_idem[i]) }), "'%s'",
			    not_idem[i]);
	/* buffered, streaming, idempotent, has_body */
	ASSERT_TRUE(retry_resendable(true, false, true, false), "a GET held whole");
	ASSERT_TRUE(retry_resendable(true, false, false, true), "a POST with its body buffered");
	ASSERT_TRUE(!retry_resendable(true, false, false, false), "a POST without a body");
	ASSERT_TRUE(!retry_resendable(false, false, true, true), "a body not read whole yet");
	ASSERT_TRUE(!retry_resendable(true, true, true, true), "a streamed body");
	return true;
}

static bool test_count_deadline_draining(void)
{
	struct cfg_http_retry rp = policy(RETRY_CONNECT_FAILURE, 2);
	struct retry_req q = request(&rp);
	uint32_t on = retry_fail_on(HUP_F_CONNECT);

	ASSERT_EQ(retry_decide(&q, on, &idle, 0, false), RETRY_V_YES, "first retry");
	q.retries = 1;
	ASSERT_EQ(retry_decide(&q, on, &idle, 0, false), RETRY_V_YES, "second retry");
	q.retries = 2;
	ASSERT_EQ(retry_decide(&q, on, &idle, 0, false), RETRY_V_NO, "num_retries 2 spent");
	rp.num_retries = 0;
	q.retries = 0;
	ASSERT_EQ(retry_decide(&q, on, &idle, 0, false), RETRY_V_NO, "num_retries 0: never");
	rp.num_retries = 2;
	q.resendable = false;
	ASSERT_EQ(retry_decide(&q, on, &idle, 0, false), RETRY_V_NO, "not resendable");
	q.resendable = true;
	ASSERT_EQ(retry_decide(&q, on, &idle, 0, true), RETRY_V_NO, "draining");
	q.deadline_ms = 1000;
	ASSERT_EQ(retry_decide(&q, on, &idle, 999, false), RETRY_V_YES, "before the overall deadline");
	ASSERT_EQ(retry_decide(&q, on, &idle, 1000, false), RETRY_V_NO, "at the overall deadline");
	ASSERT_EQ(retry_decide(&q, on, &idle, 5000, false), RETRY_V_NO, "after the overall deadline");
	ASSERT_EQ(retry_decide(&q, 0, &idle, 0, false), RETRY_V_NO, "a failure no condition covers");
	return true;
}

/* Ten active requests fail at once under 20% / min 3: three retry, the fourth is refused
 * by the budget until one of the three is answered. */
static bool test_budget_exhaust_refill(void)
{
	struct cfg_http_retry rp = policy(RETRY_RESET, 3);
	struct retry_budget b = { .active_requests = 10 };
	bool in_retry[10] = { false };
	uint32_t on = retry_fail_on(HUP_F_RESET);
	unsigned i;

	ASSERT_EQ(retry_budget_allowed(&b, &rp), 3, "20% of 10 is below the minimum of 3");
	for (i = 0; i < 3; i++) {
		struct retry_req q = request(&rp);

		q.in_retry = in_retry[i];
		ASSERT_EQ(retry_decide(&q, on, &b, 0, false), RETRY_V_YES, "within the budget");
		retry_budget_enter(&b, &in_retry[i]);
	}
	ASSERT_EQ(b.active_retries, 3, "three retries in progress");
	{
		struct retry_req q = request(&rp);

		ASSERT_EQ(retry_decide(&q, on, &b, 0, false), RETRY_V_BUDGET, "the fourth: budget spent");
		/* a request already retrying is one of the three: its next retry is no new one */
		q.in_retry = true;
		q.retries = 1;
		ASSERT_EQ(retry_decide(&q, on, &b, 0, false), RETRY_V_YES, "a retrying request retries again");
	}
	/* entering twice counts once */
	retry_budget_enter(&b, &in_retry[0]);
	ASSERT_EQ(b.active_retries, 3, "enter is counted once per request");
	/* one answered: room for the fourth again */
	retry_budget_leave(&b, &in_retry[1]);
	retry_budget_leave(&b, &in_retry[1]);
	ASSERT_EQ(b.active_retries, 2, "leave is counted once per request");
	ASSERT_TRUE(!in_retry[1], "the request is out of the budget");
	{
		struct retry_req q = request(&rp);

		ASSERT_EQ(retry_decide(&q, on, &b, 0, false), RETRY_V_YES, "refilled by an answer");
		retry_budget_enter(&b, &in_retry[3]);
		ASSERT_EQ(retry_decide(&q, on, &b, 0, false), RETRY_V_BUDGET, "spent again");
		/* more active requests raise the share: 20% of 50 is 10 */
		b.active_requests = 50;
		ASSERT_EQ(retry_budget_allowed(&b, &rp), 10, "20% of 50");
		ASSERT_EQ(retry_decide(&q, on, &b, 0, false), RETRY_V_YES, "refilled by more requests");
	}
	rp.budget_percent = 0;
	rp.budget_min_retries = 0;
	{
		struct retry_req q = request(&rp);
		struct retry_budget none = { .active_requests = 1000 };

		ASSERT_EQ(retry_decide(&q, on, &none, 0, false), RETRY_V_BUDGET, "a zero budget allows none");
	}
	return true;
}

static bool test_hedge(void)
{
	struct cfg_http_retry rp = policy(RETRY_RESET | RETRY_5XX, 2);
	struct retry_req q = request(&rp);
	struct retry_budget full = { .active_requests = 10, .active_retries = 3 };
	enum retry_verdict v;

	rp.per_try_timeout_ms = 100;
	ASSERT_EQ(retry_hedge(&q, true, 0, &idle, 0, false, &v), HEDGE_NONE, "hedging off: the timeout cuts");
	rp.hedge_on_per_try_timeout = true;
	ASSERT_EQ(retry_hedge(&q, true, 0, &idle, 0, false, &v), HEDGE_START, "a retry starts beside the attempt");
	ASSERT_EQ(v, RETRY_V_YES, "verdict");
	ASSERT_EQ(retry_hedge(&q, false, 1, &idle, 0, false, &v), HEDGE_NONE, "no current attempt to keep");
	ASSERT_EQ(retry_hedge(&q, true, CFG_HTTP_MAX_RETRIES, &idle, 0, false, &v), HEDGE_NONE,
		  "as many hedged as retries can be");
	q.resendable = false;
	ASSERT_EQ(retry_hedge(&q, true, 0, &idle, 0, false, &v), HEDGE_NONE, "not resendable: cut as without hedging");
	q.resendable = true;
	q.retries = 2;
	ASSERT_EQ(retry_hedge(&q, true, 2, &idle, 0, false, &v), HEDGE_HOLD, "no retry left: the attempt goes on");
	ASSERT_EQ(v, RETRY_V_NO, "verdict: count spent");
	q.retries = 0;
	ASSERT_EQ(retry_hedge(&q, true, 0, &full, 0, false, &v), HEDGE_HOLD, "budget spent: the attempt goes on");
	ASSERT_EQ(v, RETRY_V_BUDGET, "verdict: budget");
	ASSERT_EQ(retry_hedge(&q, true, 0, &idle, 0, true, &v), HEDGE_HOLD, "draining: the attempt goes on");
	rp.on = RETRY_CONNECT_FAILURE;
	ASSERT_EQ(retry_hedge(&q, true, 0, &idle, 0, false, &v), HEDGE_HOLD,
		  "no condition covers a timeout: the attempt goes on");
	return true;
}

/* Each attempt renews the per-try deadline; the overall one is the first attempt's. */
static bool test_deadlines(void)
{
	struct cfg_http_retry rp = policy(RETRY_RESET, 2);
	uint64_t try_d = 0, all_d = 0;

	retry_attempt_deadlines(&rp, 1000, &try_d, &all_d);
	ASSERT_EQ(try_d, 0, "no per_try_timeout_ms: no per-try deadline");
	ASSERT_EQ(all_d, 0, "no timeout_ms: no overall deadline");
	rp.per_try_timeout_ms = 300;
	rp.timeout_ms = 2000;
	retry_attempt_deadlines(&rp, 1000, &try_d, &all_d);
	ASSERT_EQ(try_d, 1300, "first attempt: per-try deadline");
	ASSERT_EQ(all_d, 3000, "first attempt: overall deadline");
	retry_attempt_deadlines(&rp, 1500, &try_d, &all_d);
	ASSERT_EQ(try_d, 1800, "a retry: a new per-try deadline");
	ASSERT_EQ(all_d, 3000, "a retry: the overall deadline stays the first attempt's");
	rp.per_try_timeout_ms = 0;
	retry_attempt_deadlines(&rp, 1600, &try_d, &all_d);
	ASSERT_EQ(try_d, 0, "per-try off: the earlier per-try deadline is gone");
	return true;
}

/* The generator injected as the random source: a 64-bit LCG (Knuth's MMIX constants),
 * its high half drawn. */
static uint64_t lcg_state = 42;
static uint64_t lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
	return lcg_state >> 33;
}

static bool test_backoff(void)
{
	struct cfg_http_retry rp = policy(RETRY_RESET, 10);
	static const uint64_t caps[] = { 0, 25, 50, 100, 200, 250, 250, 250, 250, 250, 250 };

	for (unsigned n = 1; n <= 10; n++) {
		uint64_t cap = caps[n], lo = UINT64_MAX, hi = 0, sum = 0;
		unsigned draws = 4000;

		ASSERT_EQ(retry_backoff_ms(&rp, n, cap), cap, "rnd = cap gives the cap");
		ASSERT_EQ(retry_backoff_ms(&rp, n, cap + 1), 0, "rnd = cap + 1 wraps to 0");
		for (unsigned d = 0; d < draws; d++) {
			uint64_t w = retry_backoff_ms(&rp, n, lcg());

			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
			sum += w;
		}
		ASSERT_TRUE(lo == 0 && hi == cap, "retry %u: the draws span [%llu, %llu], want [0, %llu]", n,
			    (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)cap);
		/* full jitter: the mean is half the cap (within 10% of the cap) */
		ASSERT_TRUE(sum / draws * 20 >= cap * 8 && sum / draws * 20 <= cap * 12,
			    "retry %u: mean %llu for cap %llu", n, (unsigned long long)(sum / draws),
			    (unsigned long long)cap);
	}
	rp.backoff_base_ms = 0;
	ASSERT_EQ(retry_backoff_ms(&rp, 3, 12345), 0, "no backoff: retry at once");
	rp.backoff_base_ms = 1;
	rp.backoff_max_ms = UINT32_MAX;
	ASSERT_EQ(retry_backoff_ms(&rp, 1000, UINT64_MAX), UINT64_MAX % ((uint64_t)UINT32_MAX + 1),
		  "a late retry is capped at backoff_max_ms, no overflow");
	rp.backoff_base_ms = 100;
	rp.backoff_max_ms = 60;
	ASSERT_EQ(retry_backoff_ms(&rp, 1, 60), 60, "a base above the maximum is capped");
	ASSERT_EQ(retry_backoff_ms(&rp, 1, 61), 0, "a base above the maximum is capped");
	return true;
}

int main(void)
{
	RUN(test_fail_classes);
	RUN(test_retry_on_per_failure);
	RUN(test_status_on);
	RUN(test_resendable);
	RUN(test_count_deadline_draining);
	RUN(test_budget_exhaust_refill);
	RUN(test_hedge);
	RUN(test_deadlines);
	RUN(test_backoff);
	return check_summary("test_retry");
}
