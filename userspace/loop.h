/* loop.h: hermesd's io_uring event loop (loop.c), proxy connections (conn.c) and
 * the admin HTTP endpoint (admin.c). */
#ifndef HERMES_LOOP_H
#define HERMES_LOOP_H

#include "loop-t.h"

/* Sets up the ring, listeners and signal handling. Returns 0 or -errno (logged). */
int loop_init(struct loop *lp, struct hermes_config *cfg, struct loader *ld, const char *config_path);
/* Runs until SIGTERM/SIGINT has drained every flow. Returns the exit code. */
int loop_run(struct loop *lp);
void loop_fini(struct loop *lp);

/* An SQE tagged with op for obj; submits to make room when the SQ is full. */
struct io_uring_sqe *loop_sqe(struct loop *lp, void *obj, enum op op);
uint64_t loop_now_ms(void);
uint64_t loop_now_ns(void);
void hist_add(struct histogram *h, double v);

/* conn.c */
void conn_accept(struct loop *lp, int fd);
void conn_handle(struct loop *lp, void *obj, enum op op, const struct io_uring_cqe *cqe);
void conn_tick(struct loop *lp);
void conn_abort_all(struct loop *lp);
/* Ends c (RST the sides flagged); memory goes with the last completion. */
void conn_abort(struct loop *lp, struct conn *c, bool rst_client, bool rst_upstream);
void conn_maybe_free(struct loop *lp, struct conn *c);

struct conn *conn_new(struct loop *lp, int fd);
void conn_connect(struct loop *lp, struct conn *c);
void conn_fail_attempt(struct loop *lp, struct conn *c, int err);
void conn_start_relay(struct loop *lp, struct conn *c);

/* tunnel.c */
void tunnel_accept(struct loop *lp, int fd);
void tunnel_head(struct loop *lp, struct conn *c, int res);
int tunnel_established(struct loop *lp, struct conn *c);
void tunnel_reply(struct conn *c, int status);
int tunnel_route(struct loop *lp, struct conn *c, const struct hermes_addr *target);
void tunnel_identity(struct loop *lp, struct conn *c, const struct hermes_addr *target);
void tunnel_send_connect(struct loop *lp, struct conn *c);
void tunnel_resp(struct loop *lp, struct conn *c, int res);

/* splice.c */
int splice_start(struct loop *lp, struct conn *c);
void splice_handle(struct loop *lp, struct half *h, enum op op, const struct io_uring_cqe *cqe);
void splice_unlink(struct loop *lp, struct conn *c);
void splice_tick(struct loop *lp, struct conn *c);

/* admin.c */
void admin_accept(struct loop *lp, int fd);
void admin_handle(struct loop *lp, void *obj, enum op op, const struct io_uring_cqe *cqe);
void admin_tick(struct loop *lp);

#endif
