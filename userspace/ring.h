/* ring.h: the event loop's primitives for the modules (ring.c): submitting ops whose
 * completions call their handler, cancelling them, clocks, histograms. */
#ifndef HERMES_RING_H
#define HERMES_RING_H

#include "loop-t.h"

/* An SQE for op, whose completion calls done (recorded in op); submits to make room when
 * the SQ is full. */
struct io_uring_sqe *loop_sqe(struct loop *lp, struct loop_op *op, loop_done_fn *done);
/* The user_data of op's SQEs: the target of a cancel, timeout update or removal. */
static inline uint64_t loop_op_ud(const struct loop_op *op)
{
	return (uint64_t)(uintptr_t)op;
}
/* Cancels TARGET's SQE by its user_data, which the kernel finds by hash (a cancel by fd
 * walks every poll armed in the ring: at 10000 connections, seconds of CPU per 10000
 * closes). The cancel completes on CANCEL (calling done): the caller counts it in flight. */
void loop_cancel(struct loop *lp, struct loop_op *cancel, loop_done_fn *done, const struct loop_op *target);
uint64_t loop_now_ms(void);
uint64_t loop_now_ns(void);
/* Seconds since the epoch (for timestamps in the metrics). */
double loop_wall_time(void);
void hist_add(struct histogram *h, double v);

#endif
