/* http.h: the `http` action: its client side (http.c), its exchanges (exch.c) and its
 * upstream transport (hup.c). Prefixes http_ (client side, and the transport's callbacks
 * into the exchange), hup_ (upstream HTTP/1.1 connections) and hep_ (endpoints and their
 * pools). Types in http-t.h; routing in route.h, the retry policy in retry.h, the
 * exchange's own functions in exch.h.
 *
 * The transport interface is small on purpose, so that another transport (HTTP/2 to
 * the endpoint) can stand beside hup.c: an exchange opens an attempt with hup_open(),
 * writes the request with hup_write(), reads the response with hup_data()/
 * hup_consumed() when told by http_up_input(), and ends it with hup_release(); the
 * transport reports through the four http_up_* callbacks, each naming the attempt (an
 * exchange that hedges has several). */
#ifndef HERMES_HTTP_H
#define HERMES_HTTP_H

#include <string.h>

#include "hmsg.h"
#include "http-t.h"

/* http.c */
int http_init(struct loop *lp);
void http_fini(struct loop *lp);
/* A steered connection whose policy action is http: fd is the accepted client socket,
 * dst its original destination (the endpoint when no route matches). */
void http_accept(struct loop *lp, int fd, const struct hermes_addr *peer, const struct hermes_addr *dst);
/* An explicit proxy client, handed over by the tunnel listener (tunnel.c) with the bytes
 * it sent so far (bytes[0..len), copied): each request names its target in absolute form
 * (`GET http://10.0.0.1:8080/x HTTP/1.1`), which is checked against tunnel_access and
 * then treated as a steered flow's original destination; the request goes upstream in
 * origin form with Host from the URL. */
void http_accept_fwd(struct loop *lp, int fd, const struct hermes_addr *peer, const char *bytes, size_t len);
void http_tick(struct loop *lp);
void http_abort_all(struct loop *lp);
/* After each batch of completions: HTTP/2 frames produced for what happened. */
void http_flush_dirty(struct loop *lp);

/* exch.c, exch_resp.c: callbacks from the transport to the exchange x that owns the attempt
 * u (an exchange may have several attempts outstanding when it hedges). */
/* New response bytes (hup_data), or the upstream closed (u->eof). */
void http_up_input(struct loop *lp, struct hconn *x, struct hup *u);
/* Everything written was sent: more request body is welcome. */
void http_up_drained(struct loop *lp, struct hconn *x, struct hup *u);
/* The attempt's connection failed (why: enum hup_fail, err: -errno); u is gone (it may
 * be freed already: compared, never read). */
void http_up_failed(struct loop *lp, struct hconn *x, struct hup *u, int why, int err);
/* The transport freed u under x without a callback (its connection went at exit). */
void http_up_gone(struct hconn *x, const struct hup *u);

/* hup.c */
/* The endpoint for addr (created on first use). NULL only without memory. */
struct hep *hep_get(struct loop *lp, const struct hermes_addr *addr);
/* A connection to ep for x: a pooled one, else a new connect. NULL (errno set) when no
 * socket could be made. */
struct hup *hup_open(struct loop *lp, struct hep *ep, struct hconn *x);
/* Queues bytes to send; returns how many it took (all of them unless a send is in flight
 * and the buffer is full). */
size_t hup_write(struct loop *lp, struct hup *u, const void *p, size_t n);
/* How much hup_write takes now (all of it when no send is in flight). */
size_t hup_room(const struct hup *u);
/* Bytes queued and not sent yet. */
size_t hup_pending(const struct hup *u);
/* The next response head of u into m: HTTP/1.1 parsed from the received bytes (http
 * limits), HTTP/2 from the stream's HEADERS (m->h2, its framing in m->body). Its size
 * for hup_head_done, 0 when none is whole yet, -errno when malformed. */
int hup_head(struct loop *lp, struct hup *u, struct hmsg *m);
/* The head hup_head returned (n) was used: the body (or the next head) follows. */
void hup_head_done(struct loop *lp, struct hup *u, int n);
/* Response body bytes received (HTTP/2: DATA as they came; u->eof at END_STREAM). */
void hup_data(const struct hup *u, const char **p, size_t *n);
/* An unframed request body (an HTTP/2 client's, req_stream) written whole to an HTTP/2
 * attempt ends here, with these trailers (records, or NULL): END_STREAM after them. 0
 * or -ENOMEM. */
int hup_body_end(struct loop *lp, struct hup *u, const struct hbuf *trailers);
/* An HTTP/2 response's trailers, once its stream ended, into m: >0 when it has some. */
int hup_trailers(struct hup *u, struct hmsg *m);
void hup_consumed(struct loop *lp, struct hup *u, size_t n);
/* The exchange is over: back to the pool when reusable, else closed. */
void hup_release(struct loop *lp, struct hup *u, bool reusable);
void hup_tick(struct loop *lp);
/* Closes up to N idle pooled HTTP/1.1 connections (descriptors are short); returns how
 * many. */
unsigned hup_trim_idle(struct loop *lp, unsigned n);
void hup_fini(struct loop *lp);
/* For h2up.c, which runs HTTP/2 connections on hup.c's sockets and ops. */
struct hup *hup_connect(struct loop *lp, struct hep *ep, struct hconn *x, int kind);
void hup_close(struct loop *lp, struct hup *u);
void hup_arm_recv(struct loop *lp, struct hup *u);
void hup_kick_send(struct loop *lp, struct hup *u);
/* When no send reads wbuf and it is all sent, wq becomes wbuf (the buffers swap); then
 * the send goes (hup_kick_send). */
void hup_send_queued(struct loop *lp, struct hup *u);
/* TLS on an upstream connection (HTTP/1.1 here, HTTP/2 for h2up.c). */
/* "IP:PORT (name)" of u's endpoint and TLS name, for log lines. */
const char *hup_what(const struct hup *u, char *buf, size_t len);
/* u, just made by hup_connect, speaks TLS: ALPN alpn, the origin verified against tls.ca
 * and name (see tls_xprt_client). ctx: the client SSL_CTX of the runtime snapshot of the
 * request that opens u (the SSL keeps its own reference: u outlives a reload). 0,
 * -ENOPROTOOPT without a tls section (ctx NULL), or -ENOMEM. */
int hup_tls_start(struct hup *u, void *ctx, const char *name, const char *alpn);
/* Handshake progress: after the connect (the ClientHello), then after each receive. 0,
 * or -EPROTO, logged with OpenSSL's reason and counted. */
int hup_tls_handshake(struct loop *lp, struct hup *u);
/* Has u's handshake taken longer than connect_timeout_ms? Logged and counted when so. */
bool hup_tls_overdue(struct loop *lp, struct hup *u);
/* u failed or was closed (res: -errno or 0) before its handshake ended: logged, counted. */
void hup_tls_lost(struct loop *lp, struct hup *u, int res);

/* h2up.c: the HTTP/2 upstream (upstream_protocol h2c or h2); hup_* calls on a stream land here */
struct hup *h2up_open(struct loop *lp, struct hep *ep, struct hconn *x);
void h2up_wrote(struct loop *lp, struct hup *u);
int h2up_head(struct hup *u, struct hmsg *m);
int h2up_trailers(struct hup *u, struct hmsg *m);
int h2up_body_end(struct loop *lp, struct hup *u, const struct hbuf *trailers);
void h2up_head_done(struct hup *u, int n);
void h2up_consumed(struct loop *lp, struct hup *u, size_t n);
void h2up_release(struct loop *lp, struct hup *u);
/* Stream u's connection takes no new streams: it looks stalled (hfill.c). */
void h2up_shun(struct hup *u);
/* How long stream u's connection has received nothing, counted from since_ms at the
 * earliest; past half of stall_ms it sends a PING (once), which a live one answers. */
uint64_t h2up_quiet_ms(struct loop *lp, struct hup *u, uint64_t since_ms, uint32_t stall_ms);
/* Completions of an HTTP/2 connection's ops (hup.c submits them, as for HTTP/1.1). */
void h2up_on_connect(struct loop *lp, struct hup *c, int res);
void h2up_on_recv(struct loop *lp, struct hup *c, int res);
void h2up_on_send(struct loop *lp, struct hup *c, int res);
void h2up_tick(struct loop *lp, struct hup *c);
void h2up_conn_free(struct loop *lp, struct hup *c);
void h2up_flush_dirty(struct loop *lp);

/* h2dn.c: HTTP/2 clients of the http action: h2c prior knowledge on a steered flow, and
 * the non-CONNECT streams of the tunnel listener's HTTP/2 sessions (explicit proxy
 * requests) */
/* Do the bytes buffered on x start with the HTTP/2 preface? 1 yes, 0 not yet known, -1 no. */
int h2dn_sniff(const struct hconn *x);
/* x becomes an HTTP/2 connection (HC_H2) whose streams are requests. 0 or -errno. */
int h2dn_start(struct loop *lp, struct hconn *x);
void h2dn_input(struct loop *lp, struct hconn *x);   /* HC_H2: bytes in rx, or client_eof */
/* A stream's request head, when whole, into m (slices into the stream's state, good
 * until it is freed): 1, 0 not yet, or -errno (-EMSGSIZE, -ENAMETOOLONG: beyond the
 * http limits as HTTP/1.1 would carry it). */
int h2dn_request(struct loop *lp, struct hconn *s, struct hmsg *m);
/* The stream's response head is written as records into this (emptied; NULL when the
 * stream is gone), then sent with h2dn_head: what follows is its body in sbuf, read as
 * mode (enum h2x_mode) with left bytes, or nothing (done). */
struct hbuf *h2dn_head_buf(struct hconn *s);
/* The request stream ended (END_STREAM read), and its trailers as records (NULL: none,
 * or x is no stream). Its DATA is in rx as it came. */
bool h2dn_req_ended(const struct hconn *x);
const struct hbuf *h2dn_req_trailers(const struct hconn *x);
void h2dn_head(struct loop *lp, struct hconn *s, int mode, long long left, bool done);
void h2dn_output(struct loop *lp, struct hconn *s);  /* a stream: response bytes in sbuf */
/* The response body (H2X_EOF mode) ends with these trailers (m: fields, names
 * lowercase), sent as a trailing HEADERS; 0 or -ENOMEM. */
int h2dn_trailers(struct hconn *s, const struct hmsg *m);
void h2dn_consumed(struct loop *lp, struct hconn *s, size_t n); /* a stream read n bytes of rx */
bool h2dn_out_done(const struct hconn *s);           /* a stream: its response went out whole */
void h2dn_closing(struct loop *lp, struct hconn *x); /* x (connection or stream) is closing */
void h2dn_free(struct hconn *x);
void h2dn_tick(struct loop *lp, struct hconn *x);
void h2dn_flush_dirty(struct loop *lp);
/* Stream sid of the tunnel session ts is an explicit proxy request: its request head
 * (the fields sess.c gathered as "name: value\r\n" lines, pseudo-header fields included,
 * in lines[0..len); end_stream: it came with END_STREAM) becomes an exchange of the http
 * action, with x->fwd set, and sid a stream with h2dn's stream ops (its later frames
 * come straight here). Failures reset the stream. */
void h2dn_tunnel_stream(struct loop *lp, struct h2dn_host *ts, int32_t sid, const char *lines, size_t len,
			bool end_stream);
unsigned h2dn_tunnel_streams(const struct h2dn_host *ts); /* http streams open on ts */
void h2dn_tunnel_close(struct loop *lp, struct h2dn_host *ts); /* ts is closing: its http streams are reset */
void h2dn_tunnel_free(struct h2dn_host *ts);
/* The tunnel session an http stream came on (its peer certificate for tunnel_access
 * `san` rules), or NULL. */
const struct h2dn_host *h2dn_tunnel_of(const struct hconn *x);

/* http.c, for h2dn.c: a stream of an HTTP/2 connection as an exchange of its own */
/* fwd: an explicit proxy request (a tunnel session's), dst unused */
struct hconn *http_stream_new(struct loop *lp, struct h2sess *h, const struct hermes_addr *peer,
			      const struct hermes_addr *dst, bool fwd);
void http_stream_progress(struct loop *lp, struct hconn *s); /* new request bytes, or room to send */
/* Ends the connection (or stream) now, rst: with a reset; memory goes with the last
 * completion. */
void http_conn_close(struct loop *lp, struct hconn *x, bool rst);
/* Closes up to N client connections idle between requests (keep-alive; descriptors are
 * short: a client reconnects, as nginx drains its keep-alive connections when it runs
 * out); returns how many. */
unsigned http_trim_idle_clients(struct loop *lp, unsigned n);
void http_conn_kick(struct loop *lp, struct hconn *x); /* sbuf has bytes for the socket */

/* Room in the client's send buffer. */
static inline size_t http_conn_room(const struct hconn *x)
{
	return x->scap - x->slen;
}

/* Appends to the client's send buffer (the caller checked http_conn_room). A send in
 * flight reads sbuf[soff..slen) as submitted: appending after slen leaves it alone. */
static inline void http_conn_out(struct hconn *x, const void *p, size_t n)
{
	memcpy(x->sbuf + x->slen, p, n);
	x->slen += n;
	buf_touch(&x->s_touched, x->slen);
	x->req_bytes_out += n;
}

/* Queues n bytes at p, inside the stored cache entry e, to go to the client (a
 * connection, fd >= 0) after what sbuf holds now, without copying them: x takes a
 * reference on e until they are sent (or x is freed). What is appended to sbuf after
 * this goes out after them. False (nothing queued: copy them) when bytes of an entry
 * are queued already. */
bool http_conn_out_entry(struct hconn *x, struct cache_entry *e, const char *p, size_t n);

/* http.c, for exch.c and hreq.c: the client side a request is answered through */
/* A response head for the client: HTTP/1.1 text into sbuf (the caller checked the
 * room), or for an HTTP/2 stream records h2dn.c sends as HEADERS. Then its fields, and
 * the end: what follows is a body of mode (enum h2x_mode) and left bytes, or none
 * (done); an interim (1xx) head has none. */
void http_head_begin(struct hconn *x, struct hmsg_w *w, int status, struct h1_slice reason);
void http_head_field(struct hconn *x, struct hmsg_w *w, const char *name, size_t nl, const char *value, size_t vl);
/* What hermesd adds to a response head it passes on or answers from its cache:
 * Connection (close, or keep-alive for HTTP/1.0) and Via (http.via). */
void http_head_hermes(struct loop *lp, struct hconn *x, struct hmsg_w *w);
void http_head_end(struct loop *lp, struct hconn *x, struct hmsg_w *w, int mode, long long left, bool done);
struct h1_limits http_limits(const struct loop *lp);
/* A status that reaches the client, counted (and per route). */
void http_count_status(struct loop *lp, const struct hconn *x, int status);
/* A response of hermesd's own (close: then the connection ends after a lingering read). */
void http_reply(struct loop *lp, struct hconn *x, int status, const char *why, bool close);
/* Everything x can do now: the next request, body bytes either way, send, receive, timer. */
void http_progress(struct loop *lp, struct hconn *x);
/* n bytes of rx were used (an HTTP/2 stream's window opens by as much). */
void http_rx_consume(struct hconn *x, size_t n);
/* A request refused before it went anywhere: status, and the connection closes. */
void http_refuse(struct loop *lp, struct hconn *x, int status, const char *why);
/* The transport's callbacks hold x (as a completion of its own would) while they run. */
void http_hold(struct hconn *x);
void http_unhold(struct loop *lp, struct hconn *x);

#endif
