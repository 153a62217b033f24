/* conn.h: flows (conn.c) and the tunnel roles that set them up (tunnel.c). */
#ifndef HERMES_CONN_H
#define HERMES_CONN_H

#include "loop-t.h"

struct h1_request;

/* conn.c */
void conn_accept(struct loop *lp, int fd);
void conn_tick(struct loop *lp);
void conn_abort_all(struct loop *lp);
/* A new flow; fd >= 0: its client socket (closed, reset, on failure). NULL without memory. */
struct conn *conn_new(struct loop *lp, int fd);
/* The flow's client side is e, which reports to c from now on. */
void conn_set_client(struct conn *c, struct ep *e);
/* Ends c (RST the sides flagged); memory goes with the last completion. */
void conn_abort(struct loop *lp, struct conn *c, bool rst_client, bool rst_upstream);
void conn_maybe_free(struct loop *lp, struct conn *c);
/* Cancels op, one of c's own, counted in flight. */
void conn_cancel_op(struct loop *lp, struct conn *c, const struct loop_op *op);
/* The client side leaves c (which has nothing in flight) for another module: c is
 * freed; a socket stays open and is returned (else -1). */
int conn_hand_over(struct loop *lp, struct conn *c);
void conn_connect(struct loop *lp, struct conn *c);
void conn_fail_attempt(struct loop *lp, struct conn *c, int err);
void conn_start_relay(struct loop *lp, struct conn *c);
void conn_tunnel_up(struct loop *lp, struct conn *c);
/* Bytes received from side (0 client, 1 upstream). */
uint64_t conn_bytes(const struct conn *c, int side);

/* tunnel.c */
struct sess_acceptor;
/* The tunnel listener's flows, whatever they came on (sess.c hands them over). */
extern const struct sess_acceptor tunnel_acceptor;
void tunnel_accept(struct loop *lp, int fd);
/* c's client endpoint carries a CONNECT request head: read it (tunnel listener). */
void tunnel_serve(struct loop *lp, struct conn *c);
/* Bytes of the request head arrived on c's client endpoint. */
void tunnel_head(struct loop *lp, struct conn *c);
/* c->hbuf[0..hlen) holds a whole request head (an HTTP/2 stream's, as HTTP/1.1). */
void tunnel_parse_head(struct loop *lp, struct conn *c);
int tunnel_established(struct loop *lp, struct conn *c);
void tunnel_reply(struct conn *c, int status);
int tunnel_route(struct loop *lp, struct conn *c, const struct hermes_addr *target);
void tunnel_identity(struct loop *lp, struct conn *c, const struct hermes_addr *target);
void tunnel_send_connect(struct loop *lp, struct conn *c);
/* Bytes of the peer's answer to our CONNECT arrived on c's upstream endpoint. */
void tunnel_resp(struct loop *lp, struct conn *c);
#endif
