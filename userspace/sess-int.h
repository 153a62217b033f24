/* sess-int.h: what the files of the tunnel connections share among themselves (sess.c
 * the transport, sess_accept.c the listener's sniffing, sess_h2.c HTTP/2 streams,
 * sess_h2cb.c what nghttp2 reports on them, sess_h2rx.c their DATA received over TLS,
 * sess_h1.c HTTP/1.1 over TLS, sess_client.c the listener's clients); no other module
 * includes it. */
#ifndef HERMES_SESS_INT_H
#define HERMES_SESS_INT_H

#include "sess.h"

#define SESS_OBUF_MAX (256 * 1024)  /* bytes gathered for one send */
#define SESS_OBUF_FIRST (16 * 1024) /* an output buffer's first size (it doubles as it fills) */

/* sess.c */
void sess_dirty(struct sess *s);
/* Tells the owners of the streams on s->rx_ready (DATA received in this read). */
void sess_rx_ready(struct sess *s);
void sess_close(struct sess *s, int err, const char *why);
/* Output to the peer: encrypted over TLS. 0, or -ENOMEM / -EIO. An HTTP/2 session's
 * writes over TLS are gathered (tls_xprt_gather), sealed after each produce. */
int sess_out(struct sess *s, const uint8_t *p, size_t n);
/* Bytes gathered for the next send (flow control of producers). */
size_t sess_out_len(const struct sess *s);
const char *sess_name(const struct sess *s, char *buf, size_t len);
/* Opens a client connection to p: TCP (then TLS when p->tls). NULL with *err. */
struct sess *sess_connect(struct loop *lp, const struct cfg_peer *p, int *err);
/* Streams on s. */
void sess_link(struct sess *s, struct sstream *st);
void sess_unlink(struct sstream *st);
/* The endpoint ops both kinds of flow share: their received bytes wait in st->rx. */
int sess_stream_start(struct ep *e);
void sess_stream_peek(const struct ep *e, const uint8_t **p, size_t *n);
size_t sess_stream_avail(const struct ep *e);
bool sess_stream_busy(const struct ep *e);
void sess_stream_free_ep(struct ep *e);
int sess_stream_sock(const struct ep *e);
void sess_stream_free(struct sstream *st);

/* The sessions' life, shared with sess_accept.c */
#define SESS_H2C_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define SESS_H2C_PREFACE_LEN (sizeof(SESS_H2C_PREFACE) - 1)
struct sess *sess_new(struct loop *lp, int fd, bool server);
/* Frees s once it is closing and nothing of it is in flight. */
void sess_maybe_free(struct sess *s);
void sess_arm_recv(struct sess *s);
/* s speaks TLS (server side): its TLS state, the handshake next. 0 or -ENOMEM. */
int sess_tls_new(struct sess *s);

/* sess_accept.c: a new connection's first bytes say what it speaks (SESS_SNIFF) */
void sess_on_sniff(struct sess *s, int res);

/* sess_h2.c */
int sess_h2_start(struct sess *s);
void sess_h2_feed(struct sess *s, const uint8_t *p, size_t n);
/* st leaves its session's stream sid (its user data no longer points at it). */
void sess_h2_stream_off(struct sstream *st);
/* A tunnel stream's DATA out (its h2mux_stream_ops read and send_data): how much its
 * source holds, then the bytes straight from the source's buffers into the output. */
ssize_t sess_h2_data_read(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint8_t *buf, size_t len,
			  uint32_t *flags);
int sess_h2_send_data(struct h2mux *m, struct h2mux_stream *ms, const uint8_t *framehd, size_t len);

/* sess_h2cb.c */
/* sid's tunnel stream on s (NULL: none, or one of h2dn.c's http streams). */
struct sstream *sess_h2_stream(struct sess *s, int32_t sid);
/* The session's callbacks (a stream begins, GOAWAY, SETTINGS, the output's room). */
extern const struct h2mux_ops sess_h2_mux_ops;

/* sess_h2pool.c */
/* st joins a pooled connection to p (a new one when none has room) and sends its
 * CONNECT once that is open. 0 or -errno. */
int sess_h2_attach(struct loop *lp, struct sstream *st, const struct cfg_peer *p);
/* Sends st's CONNECT (0), or -errno (the stream then failed: the caller reports it). */
int sess_h2_submit(struct sess *s, struct sstream *st);
/* The peer's SETTINGS came: CONNECT-UDP streams that waited for them go out, or fail
 * when the peer does not announce extended CONNECT. */
void sess_h2_settings(struct h2mux *m);

/* sess_h2rx.c */
/* Where the next plaintext of s may be decrypted to: inside a DATA frame whose stream's
 * ring has room, that ring's free run (*len: up to the frame's end), which
 * sess_h2_feed then counts in without a copy; NULL: anywhere (*len untouched). */
uint8_t *sess_h2_rx_place(struct sess *s, size_t *len);
/* Plaintext p[0..n) about to be fed: the frame boundaries it crosses. */
void sess_h2_rx_track(struct sess *s, const uint8_t *p, size_t n);
/* Produces frames into the output; -errno when the session must close (done). */
int sess_h2_produce(struct sess *s);
/* The session is closing: its streams hear why (err), its http streams are reset. */
void sess_h2_close(struct sess *s);
void sess_h2_free(struct sess *s);
bool sess_h2_idle(const struct sess *s);
/* Both sides are done with the connection (GOAWAY both ways, nothing open). */
bool sess_h2_finished(const struct sess *s);
/* GOAWAY NO_ERROR: terminate, at once; else a notice (the open streams finish). */
void sess_h2_goaway(struct sess *s, bool terminate);
extern const struct ep_ops sess_h2_ops;

/* sess_h1.c */
void sess_h1_start(struct sess *s);
void sess_h1_input(struct sess *s, const uint8_t *p, size_t n);
void sess_h1_output(struct sess *s);
/* Bytes the flow can take now (reading stops at 0 until it passed some on). */
size_t sess_h1_room(const struct sess *s);
extern const struct ep_ops sess_h1_ops;

/* sess_client.c: the listener's clients by address. attach counts a new connection of
 * peer's (*cl NULL when out of memory), or returns -EUSERS with *open its connections
 * when it holds tunnel.max_client_connections already; detach uncounts it (NULL: none). */
int sess_client_attach(struct loop *lp, const struct hermes_addr *peer, struct sess_client **cl, unsigned *open);
void sess_client_detach(struct sess_client *cl);
/* Entries of clients with no connection whose buckets are full again go (each tick). */
void sess_clients_trim(struct loop *lp);
void sess_clients_free(void);

#endif
