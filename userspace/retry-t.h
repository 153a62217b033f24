/* retry-t.h: types of the http action's retry policy (retry.c): why an attempt failed,
 * the retry budget's counts, and what a retry or hedging decision reads of a request.
 * Functions live in retry.h. */
#ifndef HERMES_RETRY_T_H
#define HERMES_RETRY_T_H

#include <stdbool.h>
#include <stdint.h>

#include "config-t.h"

/* Why an attempt failed, for retry_on and the error status. */
enum hup_fail {
	HUP_F_CONNECT = 1, /* connect refused, unreachable or timed out: the request never left */
	HUP_F_RESET,       /* reset or closed before a whole response head */
	HUP_F_TIMEOUT,     /* per_try_timeout_ms passed before the response head */
	HUP_F_PROTO,       /* the upstream's response is malformed: 502, not retried */
	HUP_F_REFUSED,     /* HTTP/2 REFUSED_STREAM (or a GOAWAY before it): never processed */
	HUP_F_TLS,         /* the TLS handshake failed or timed out: the request never left;
			    * retried as a connect failure, answered 502 */
};
#define HUP_F_MAX HUP_F_TLS

/* Envoy's retry budget, over every request of the loop: retries in progress stay within
 * budget_percent of the active requests, or budget_min_retries, whichever is more. */
struct retry_budget {
	uint64_t active_requests;
	uint64_t active_retries;  /* requests between their first retry and their answer */
};

/* What a retry decision reads of one request. */
struct retry_req {
	const struct cfg_http_retry *rp; /* its route's policy */
	unsigned retries;         /* retries made so far */
	bool resendable;          /* hermesd holds all of it and may send it again (retry_resendable) */
	bool in_retry;            /* counted in the budget's active retries already */
	uint64_t deadline_ms;     /* the overall timeout's expiry (0: none) */
};

enum retry_verdict {
	RETRY_V_NO = 0,  /* the policy, the retry count, the request or the deadline says no */
	RETRY_V_YES,
	RETRY_V_BUDGET,  /* everything else says yes, but the budget is spent */
};

/* What a per-try timeout does to an attempt. */
enum retry_hedge {
	HEDGE_NONE = 0,  /* not hedged: the timeout cuts the attempt (and maybe retries) */
	HEDGE_START,     /* the attempt stays outstanding and a retry starts beside it */
	HEDGE_HOLD,      /* no retry may start: the attempt goes on alone */
};

#endif
