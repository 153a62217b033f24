/* loop.h: hermesd's io_uring event loop (loop.c) and the admin HTTP endpoint
 * (admin.c). Flows are conn.h's, tunnel connections sess.h's. */
#ifndef HERMES_LOOP_H
#define HERMES_LOOP_H

#include "loop-t.h"

/* Sets up the runtime snapshot, the ring, listeners and signal handling. Takes the
 * loaded config over, even when it fails: *cfg moves into the first snapshot (lp->rt,
 * lp->cfg) and is left empty. Returns 0 or -errno (logged). */
int loop_init(struct loop *lp, struct hermes_config *cfg, struct loader *ld, const char *config_path);
/* Runs until SIGTERM/SIGINT has drained every flow. Returns the exit code. */
int loop_run(struct loop *lp);
void loop_fini(struct loop *lp);

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

/* Zeroed memory aligned to LOOP_ALIGN (for pointer tags in nghttp2 stream user data); free() it. */
void *loop_zalloc(size_t size);

/* admin.c */
void admin_accept(struct loop *lp, int fd);
/* A connection to the metrics-only address: /metrics (or /stats) and /ready, 404 else. */
void admin_accept_metrics(struct loop *lp, int fd);
/* The label sets of the per-route and per-peer counters follow lp->cfg (at start and
 * after each reload). 0 or -ENOMEM (the old sets stay). */
int metrics_config(struct loop *lp);
/* A response with status went to a client of the http action, on route ("-": none). */
void metrics_http_response(struct loop *lp, const char *route, int status);
/* Tunnel client c's current attempt at its route's peer ended: err 0 (the peer's 200)
 * or the -errno conn_fail_attempt got. */
void metrics_peer_attempt(struct loop *lp, const struct conn *c, int err);
void admin_tick(struct loop *lp);

#endif
