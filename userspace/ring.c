/* ring.c: the primitives every module of hermesd uses on the event loop (loop.c runs
 * it): an SQE whose completion calls the op's handler, a cancel by op, the clocks and
 * the histograms of the metrics. A module needs this file, not the loop, so that the
 * loop can depend on the modules and not the other way round. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

double loop_wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void hist_add(struct histogram *h, double v)
{
	unsigned i = 0;

	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

struct io_uring_sqe *loop_sqe(struct loop *lp, struct loop_op *op, loop_done_fn *done)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&lp->ring);

	while (!sqe) {
		io_uring_submit(&lp->ring);
		sqe = io_uring_get_sqe(&lp->ring);
	}
	op->done = done;
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

void loop_cancel(struct loop *lp, struct loop_op *cancel, loop_done_fn *done, const struct loop_op *target)
{
	io_uring_prep_cancel64(loop_sqe(lp, cancel, done), loop_op_ud(target), 0);
}

