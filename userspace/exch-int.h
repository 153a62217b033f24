/* exch-int.h: what the two files of the http action's exchange share (exch.c the
 * attempts, retries and hedges; exch_resp.c the response): the steps the response side
 * takes on the attempts when a head is retried, wins or loses. No other file includes it. */
#ifndef HERMES_EXCH_INT_H
#define HERMES_EXCH_INT_H

#include "exch.h"

/* exch.c */
/* May x be sent again after a failure of kind `on` (enum cfg_retry_on bits)? Counts a
 * refusal by the budget. */
bool exch_can_retry(struct loop *lp, struct hconn *x, uint32_t on);
/* The next attempt after the policy's backoff (at once when it is 0); why, for the log. */
void exch_schedule_retry(struct loop *lp, struct hconn *x, const char *why);
/* No current attempt and no retry: the request waits for its hedged attempts. */
void exch_wait_hedged(struct hconn *x, const char *why);
/* The current attempt failed before a response head was accepted (why: enum hup_fail;
 * err: -errno): a retry, the hedged attempts, or the answer the failure calls for. */
void exch_attempt_failed(struct loop *lp, struct hconn *x, int why, int err);
/* Hedged attempt k: closed and forgotten (drop); made the current one (adopt); failed or
 * answered what the policy retries while a later attempt carries on (lost, failed). */
void exch_drop_hedged(struct loop *lp, struct hconn *x, unsigned k);
void exch_adopt(struct hconn *x, unsigned k);
void exch_hedged_lost(struct loop *lp, struct hconn *x, unsigned k, const char *why);
void exch_hedged_failed(struct loop *lp, struct hconn *x, unsigned k, int why, int err);
/* The slot of u among x's hedged attempts, or -1. */
int exch_hedged_slot(const struct hconn *x, const struct hup *u);

#endif
