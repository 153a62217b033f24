/* loop.h: hermesd's io_uring event loop (loop.c), proxy connections (conn.c) and
 * the admin HTTP endpoint (admin.c). */
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

/* conn.c */
void conn_accept(struct loop *lp, int fd);
void conn_tick(struct loop *lp);
void conn_abort_all(struct loop *lp);
/* Ends c (RST the sides flagged); memory goes with the last completion. */
void conn_abort(struct loop *lp, struct conn *c, bool rst_client, bool rst_upstream);
void conn_maybe_free(struct loop *lp, struct conn *c);
/* Completion of a half's recv (h->op_recv): relayed bytes, or a tunnel's head or answer. */
void conn_recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe);
/* The client socket leaves c (which has nothing in flight) for another module: c is
 * freed, the socket stays open and is returned. */
int conn_hand_over(struct loop *lp, struct conn *c);

/* Zeroed memory aligned to LOOP_ALIGN (for pointer tags in nghttp2 stream user data); free() it. */
void *loop_zalloc(size_t size);

struct conn *conn_new(struct loop *lp, int fd);
/* The bytes waiting in h (pre, then the stream ring or the received buffers): the first
 * contiguous run. */
void conn_half_peek(const struct half *h, const uint8_t **p, size_t *n);
/* Appends n bytes received on the stream h reads from to its ring (allocated on first
 * use). 0, -ENOMEM, or -ENOBUFS when they exceed the window (STREAM_WIN). */
int conn_half_append(struct half *h, const void *p, size_t n);
/* buf[off, off + len) (read with a tunnel's head) goes first out of h; h owns buf. */
void conn_half_prepend(struct half *h, char *buf, size_t off, size_t len);
/* close(fd) sends a reset (SO_LINGER 0). */
void sock_reset_on_close(int fd);
/* How many bytes wait in h, all runs together. */
size_t conn_half_avail(const struct half *h);
/* n bytes of h were passed on: free their buffers, open the stream window. */
void conn_half_consumed(struct loop *lp, struct half *h, size_t n);
/* h holds new bytes (or its EOF): pass them on to its `to` side. */
void conn_half_kick(struct loop *lp, struct half *h);
/* The stream of side ended (END_STREAM received). */
void conn_stream_eof(struct loop *lp, struct conn *c, int side);
void conn_check_done(struct loop *lp, struct conn *c);
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
struct h1_request;
/* tunnel_access for a request from peer to target (http.c's explicit proxy requests; s:
 * the TLS session it came on, for `san` rules, or NULL): 0, or -EACCES with why. */
int tunnel_access(struct loop *lp, const struct hermes_addr *peer, const struct hermes_addr *target,
		  const struct h1_request *req, const struct sess *s, char *why, size_t why_len);

/* sess.c: HTTP/2 tunnel connections (TLS or h2c), both ways */
int sess_init(struct loop *lp);
void sess_fini(struct loop *lp);
/* A connection accepted on the tunnel listener: TLS, h2c or (handed to tunnel_accept)
 * HTTP/1.1 CONNECT, told apart by its first byte. */
void sess_accept(struct loop *lp, int fd);
/* s has frames to produce: it is flushed after this batch of completions. */
void sess_kick(struct sess *s);
/* Sends what the sessions marked during this batch of completions have to send. */
void sess_flush_dirty(struct loop *lp);
void sess_tick(struct loop *lp);
void sess_close_all(struct loop *lp);
/* Tunnel client attempt over HTTP/2 to peer p: a stream on a pooled connection (opened
 * if none has room). Failures come back through conn_fail_attempt. */
void sess_attach(struct loop *lp, struct conn *c, const struct cfg_peer *p);
/* Side's stream has bytes to send (or its EOF) in the half writing to it. */
void sess_stream_kick(struct loop *lp, struct conn *c, int side);
/* n bytes received on side's stream were passed on: open its window by as much. */
void sess_stream_consumed(struct conn *c, int side, size_t n);
/* The flow leaves side's stream, which is reset with err unless already closed. */
void sess_stream_detach(struct loop *lp, struct conn *c, int side, uint32_t err);
/* Tunnel server: the response to the stream of side 0 (200 opens the tunnel); over
 * HTTP/1.1 + TLS the reply is h1_text as it is. */
void sess_reply(struct loop *lp, struct conn *c, int status, const char *h1_text, size_t h1_len);

/* splice.c */
int splice_start(struct loop *lp, struct conn *c);
void splice_unlink(struct loop *lp, struct conn *c);
void splice_tick(struct loop *lp, struct conn *c);

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
