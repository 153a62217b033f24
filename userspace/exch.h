/* exch.h: the exchange of the http action (exch.c): a routed request's attempts
 * upstream, its retries and hedges, and its response on the way back. http.c owns the
 * client connection and hands each request over once its head is checked and routed;
 * the upstream transport reports through the http_up_* callbacks (http.h), which live
 * in exch.c and exch_resp.c. Types in http-t.h. */
#ifndef HERMES_EXCH_H
#define HERMES_EXCH_H

#include "http-t.h"

/* The next attempt of x's request (its first, or a retry after the backoff): an
 * endpoint chosen, a connection opened, the request written. */
void exch_attempt(struct loop *lp, struct hconn *x);
/* A streaming request body: what the client sent so far goes upstream, within bounds. */
void exch_push_body(struct loop *lp, struct hconn *x);
/* HC_RESP: response body bytes from the upstream to the client, within the send buffer. */
void exch_resp_body(struct loop *lp, struct hconn *x);
/* The current attempt is left: its connection pooled (reusable) or closed. */
void exch_drop_upstream(struct loop *lp, struct hconn *x, bool reusable);
/* Would a failure of kind why (enum hup_fail) of x's attempt be retried now (the
 * policy, its count and the budget)? Nothing is counted or said. */
bool exch_may_retry(struct loop *lp, const struct hconn *x, int why);
/* A response being stored (x its filler, hfill.c) lost its upstream mid-body (why:
 * enum hup_fail; what, for the log): it goes again as a retry (the route's policy,
 * budget and backoff); false when no retry is allowed. */
bool exch_refetch(struct loop *lp, struct hconn *x, int why, const char *what);
/* Every attempt of the request goes (an answer of hermesd's own, or the end). */
void exch_drop_all(struct loop *lp, struct hconn *x);
/* x's timer fired: the overall timeout, the end of a backoff, a per-try timeout. */
void exch_deadlines(struct loop *lp, struct hconn *x);

#endif
