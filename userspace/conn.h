/* conn.h: flows (conn.c) and the tunnel roles that set them up (tunnel.c). */
#ifndef HERMES_CONN_H
#define HERMES_CONN_H

#include "loop-t.h"

struct h1_request;

/* conn.c */
void conn_accept(struct loop *lp, int fd, const struct sockaddr *peer);
void conn_tick(struct loop *lp);
void conn_abort_all(struct loop *lp);
/* A new flow; fd >= 0: its client socket (closed, reset, on failure). NULL without memory. */
struct conn *conn_new(struct loop *lp, int fd);
/* The flow's client side is e, which reports to c from now on. */
void conn_set_client(struct conn *c, struct ep *e);
/* Frees c if it is closing and nothing of it is in flight any more. */
void conn_maybe_free(struct loop *lp, struct conn *c);
/* Ends c (RST the sides flagged): c is gone, or goes with its last completion; do not
 * touch it again. */
void conn_end(struct loop *lp, struct conn *c, bool rst_client, bool rst_upstream);
/* The client side leaves c (which has nothing in flight) for another module: c is
 * freed; a socket stays open and is returned (else -1). */
int conn_hand_over(struct loop *lp, struct conn *c);
void conn_connect(struct loop *lp, struct conn *c);
void conn_fail_attempt(struct loop *lp, struct conn *c, int err);
void conn_tunnel_up(struct loop *lp, struct conn *c);
/* Bytes received from side (0 client, 1 upstream). */
uint64_t conn_bytes(const struct conn *c, int side);

/* tunnel.c */
struct sess_acceptor;
/* The tunnel listener's flows, whatever they came on (sess.c hands them over). */
extern const struct sess_acceptor tunnel_acceptor;
/* Bytes of the request head arrived on c's client endpoint. */
void tunnel_head(struct loop *lp, struct conn *c);
int tunnel_established(struct loop *lp, struct conn *c);
void tunnel_reply(struct conn *c, int status);
int tunnel_route(struct loop *lp, struct conn *c, const struct hermes_addr *target);
void tunnel_identity(struct loop *lp, struct conn *c, const struct hermes_addr *target);
void tunnel_send_connect(struct loop *lp, struct conn *c);
/* Bytes of the peer's answer to our CONNECT arrived on c's upstream endpoint. */
void tunnel_resp(struct loop *lp, struct conn *c);
#endif
