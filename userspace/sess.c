/* sess.c: tunnel connections, the transport: a TCP connection in clear text (h2c,
 * prior knowledge) or over TLS 1.3 with mutual authentication (tls.c's adapter: OpenSSL
 * reads and writes our buffers, ciphertext moves with io_uring recv/send, no kTLS on this
 * kernel), carrying HTTP/2
 * CONNECT streams (sess_h2.c) or one HTTP/1.1 CONNECT flow over TLS (sess_h1.c). A recv's
 * records are decrypted in one go, a DATA frame's payload straight into its stream's ring
 * (sess_h2_rx_place), and each stream's owner hears of its bytes once, after the last.
 *
 * Server side (sess_accept.c): a connection accepted on the tunnel listener is sniffed by its first
 * bytes (0x16: TLS handshake; the whole 24-byte h2c preface: h2c; anything else:
 * HTTP/1.1 CONNECT or an explicit proxy request, handed to tunnel.c as a socket; a
 * POST starts with 'P' too). After a TLS handshake, ALPN
 * h2 runs HTTP/2, http/1.1 (or none) one HTTP/1.1 flow.
 *
 * Client side: opened to a route's peer for sess_h2.c's pool or sess_h1.c's one flow. A
 * connect or TLS failure fails every flow waiting on it (each endpoint hears `error`),
 * which moves it to the route's next peer before the application notices. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "addr.h"
#include "config.h"
#include "ep.h"
#include "h2mux.h"
#include "http.h"
#include "log.h"
#include "overload.h"
#include "ring.h"
#include "sock.h"
#include "sess-int.h"
#include "tls.h"

#define SESS_IDLE_MS 60000          /* a pooled connection with no flow is closed after this */
#define SESS_SETUP_MS 10000         /* our TLS handshake's deadline (a client's: tunnel.head_timeout_ms) */



static void sess_flush(struct sess *s);
static void sess_tls_read_more(struct sess *s);

void sess_dirty(struct sess *s)
{
	struct loop *lp = s->loop;

	if (!list_linked(&s->dirty))
		list_add(&lp->sess_dirty, &s->dirty);
}

const char *sess_name(const struct sess *s, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	addr_from_hermes(&s->paddr, &ss);
	addr_fmt((struct sockaddr *)&ss, buf, len);
	return buf;
}

/* ---- the flows on a connection ---- */

void sess_link(struct sess *s, struct sstream *st)
{
	st->s = s;
	list_add(&s->streams, &st->link);
	s->n_flows++;
}

void sess_unlink(struct sstream *st)
{
	struct sess *s = st->s;

	if (!s)
		return;
	list_del(&st->link);
	list_del(&st->rx_ready);
	st->s = NULL;
	if (!--s->n_flows)
		s->idle_since_ms = s->loop->now_ms;
}

/* The owners of the streams that received DATA in this read hear it now, once each:
 * all the records of a recv are decrypted first, so that each target's socket send
 * carries all of them, not the first record alone with the rest waiting for it. */
void sess_rx_ready(struct sess *s)
{
	struct sstream *st;

	while ((st = list_first(&s->rx_ready, struct sstream, rx_ready))) {
		list_del(&st->rx_ready);
		ep_data(&st->e);
	}
}

/* ---- what every flow on a tunnel connection does alike ---- */

#define ST(e) loop_container_of(e, struct sstream, e)

int sess_stream_start(struct ep *e)
{
	ST(e)->started = true;
	return 0;
}

void sess_stream_peek(const struct ep *e, const uint8_t **p, size_t *n)
{
	ep_ring_peek(&ST(e)->rx, p, n);
}

size_t sess_stream_avail(const struct ep *e)
{
	return ST(e)->rx.len;
}

bool sess_stream_busy(const struct ep *e)
{
	(void)e;
	return false; /* the session's ops are its own */
}

void sess_stream_free(struct sstream *st)
{
	list_del(&st->rx_ready);
	if (st->gauge)
		*st->gauge -= st->held;
	if (st->fds)
		--*st->fds;
	ep_ring_free(&st->rx);
	hb_free(&st->head);
	ep_release(&st->e);
	free(st);
}

void sess_stream_free_ep(struct ep *e)
{
	sess_stream_free(ST(e));
}

int sess_stream_sock(const struct ep *e)
{
	(void)e;
	return -1; /* its bytes pass through the session (TLS, HTTP/2 framing) */
}

const struct sess *sess_of(const struct ep *e)
{
	if (!e || (e->ops != &sess_h2_ops && e->ops != &sess_h1_ops))
		return NULL;
	return loop_container_of(e, struct sstream, e)->s;
}

/* ---- life and death ---- */

struct sess *sess_new(struct loop *lp, int fd, bool server)
{
	struct sess *s = calloc(1, sizeof(*s));
	size_t cap = SESS_RBUF;

	if (!s)
		return NULL;
	s->rbuf = buf_pages_alloc(&cap);
	if (!s->rbuf) {
		free(s);
		return NULL;
	}
	s->loop = lp;
	s->id = ++lp->next_id;
	s->fd = fd;
	s->server = server;
	s->started_ms = s->idle_since_ms = lp->now_ms;
	list_init(&s->streams);
	list_init(&s->rx_ready);
	list_add(&lp->sessions, &s->link);
	return s;
}

void sess_maybe_free(struct sess *s)
{
	if (!life_over(&s->life) || s->in_ng || list_linked(&s->dirty))
		return;
	if (s->fd >= 0)
		close(s->fd);
	sess_client_detach(s->client);
	tls_xprt_free(&s->x);
	sess_h2_free(s);
	buf_account(-(long long)s->rbuf_touched);
	buf_poison(s->rbuf, SESS_RBUF);
	free(s->rbuf);
	rx_free(&s->ob[0]);
	rx_free(&s->ob[1]);
	list_del(&s->link);
	free(s);
}

static loop_done_fn sess_connect_done, sess_recv_done, sess_send_done, sess_poll_done;

/* A cancel or the connect's linked timeout of s completed. */
static void sess_aux_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_aux);

	(void)lp;
	(void)cqe;
	life_drop(&s->life);
	sess_maybe_free(s);
}

/* Cancels OP, one of the session's ops (loop_cancel). */
static void sess_cancel_op(struct sess *s, const struct loop_op *op)
{
	loop_cancel(s->loop, &s->op_aux, sess_aux_done, op);
	life_hold(&s->life, 1);
}

/* Ends the session: every flow on it hears why (one still waiting for its tunnel tries
 * the next peer, one that was relaying is reset: its bytes cannot arrive any more). */
void sess_close(struct sess *s, int err, const char *why)
{
	char name[ADDR_STRLEN];
	bool connecting;

	if (s->state == SESS_CLOSING)
		return;
	if (err)
		log_info("tunnel session %llu %s %s: %s", (unsigned long long)s->id, s->server ? "from" : "to",
			 sess_name(s, name, sizeof(name)), why);
	else
		log_debug("tunnel session %llu %s %s closed: %s", (unsigned long long)s->id,
			  s->server ? "from" : "to", sess_name(s, name, sizeof(name)), why);
	connecting = s->state == SESS_CONNECTING;
	s->state = SESS_CLOSING;
	life_close(&s->life);
	s->close_err = err ? err : -ECONNRESET;
	sess_h2_close(s);
	if (connecting) /* its linked timeout goes with it */
		sess_cancel_op(s, &s->op_connect);
	if (s->recv_armed)
		sess_cancel_op(s, &s->op_recv);
	if (s->send_inflight)
		sess_cancel_op(s, &s->op_send);
	if (s->poll_armed)
		sess_cancel_op(s, &s->op_poll);
	sess_dirty(s);
}

void sess_close_all(struct loop *lp)
{
	struct sess *s;

	list_for_each(s, &lp->sessions, link)
		sess_close(s, 0, "hermesd is stopping");
}

/* ---- I/O ---- */

/* Stage 1 of the memory budget: a listener session among the heaviest (its streams hold
 * at least the mean) is not read until they drained, so its client's TCP window, not
 * hermesd's memory, holds what it sends. */
static bool sess_shed_reads(struct sess *s)
{
	bool heavy = s->server && s->mux.ng && !s->hung_up && overload_heavy(s->loop, s->held);

	if (heavy && !s->ovl_paused) {
		s->loop->st.overload_actions[OVL_ACT_STOP_READING]++;
		log_debug("tunnel session %llu: not read while the memory budget is short (it holds %llu bytes)",
			  (unsigned long long)s->id, (unsigned long long)s->held);
	} else if (!heavy && s->ovl_paused) {
		log_debug("tunnel session %llu: read again", (unsigned long long)s->id);
	}
	if (heavy && !s->poll_armed) {
		/* a session not read must still see its client go, or what it holds for
		 * targets that do not read would stay */
		io_uring_prep_poll_add(loop_sqe(s->loop, &s->op_poll, sess_poll_done), s->fd, POLLRDHUP | POLLHUP | POLLERR);
		s->poll_armed = true;
		life_hold(&s->life, 1);
	}
	s->ovl_paused = heavy;
	return heavy;
}

/* The client of a session not read hung up (or the poll was cancelled): read on to the
 * end, which closes the session. */
static void sess_poll_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_poll);

	(void)lp;
	s->poll_armed = false;
	life_drop(&s->life);
	if (s->state != SESS_CLOSING && cqe->res > 0) {
		log_debug("tunnel session %llu: its client hung up while it was not read", (unsigned long long)s->id);
		s->hung_up = true;
		if (s->ovl_paused) {
			s->ovl_paused = false;
			if (!s->tls || !tls_xprt_input_left(&s->x))
				sess_arm_recv(s);
		}
	}
	sess_maybe_free(s);
}

void sess_arm_recv(struct sess *s)
{
	if (s->recv_armed || s->state == SESS_CLOSING)
		return;
	io_uring_prep_recv(loop_sqe(s->loop, &s->op_recv, sess_recv_done), s->fd, s->rbuf,
			   s->state == SESS_SNIFF ? SESS_H2C_PREFACE_LEN : SESS_RBUF, s->state == SESS_SNIFF ? MSG_PEEK : 0);
	s->recv_armed = true;
	life_hold(&s->life, 1);
}

/* The buffer output goes to now: ob[ob_send] holds the older bytes, so once the other
 * one has some (filled while a send was in flight, which then sent only part of its
 * buffer), new output goes after them, never into ob[ob_send] again: bytes out of order
 * are a broken TLS record or HTTP/2 frame. */
static struct rxbuf *ob_fill(struct sess *s)
{
	return &s->ob[s->send_inflight || s->ob[1 - s->ob_send].len ? 1 - s->ob_send : s->ob_send];
}

static int obuf_add(struct sess *s, const void *p, size_t n)
{
	struct rxbuf *o = ob_fill(s);

	if (rx_reserve(o, n, SESS_OBUF_FIRST))
		return -ENOMEM;
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return 0;
}

/* TLS records go into the output as OpenSSL seals them. */
static int tls_out(void *ud, const void *p, size_t n)
{
	return obuf_add(ud, p, n);
}

size_t sess_out_len(const struct sess *s)
{
	return ob_fill((struct sess *)s)->len + s->x.stage_len;
}

/* An HTTP/2 session's small writes (its frames but DATA payloads) are gathered and
 * sealed together (tls_xprt_gather), at the end of each produce (sess_h2_produce). */
int sess_out(struct sess *s, const uint8_t *p, size_t n)
{
	if (!s->tls)
		return obuf_add(s, p, n);
	return s->mux.ng ? tls_xprt_gather(&s->x, p, n) : tls_xprt_write(&s->x, p, n);
}

static void sess_flush(struct sess *s)
{
	struct rxbuf *o;

	if (s->state == SESS_CLOSING || s->state == SESS_CONNECTING || s->state == SESS_SNIFF)
		return;
	sess_rx_ready(s);
	if (s->mux.ng && s->state == SESS_OPEN && sess_h2_produce(s))
		return;
	if (s->h1 && s->state == SESS_OPEN) {
		sess_h1_output(s);
		if (s->state != SESS_OPEN)
			return;
		/* reading stopped when the flow's buffer was full: go on once it has room */
		if (!s->recv_armed && sess_h1_room(s)) {
			sess_tls_read_more(s);
			if (s->state != SESS_OPEN)
				return;
			if (!tls_xprt_input_left(&s->x) && !s->tcp_eof)
				sess_arm_recv(s);
		}
	}
	/* a session shed by the memory budget reads again once it is no longer the heaviest */
	if (s->ovl_paused && s->state == SESS_OPEN && !s->recv_armed && !sess_shed_reads(s) &&
	    (!s->tls || !tls_xprt_input_left(&s->x)))
		sess_arm_recv(s);
	if (s->send_inflight)
		return;
	o = &s->ob[s->ob_send];
	if (rx_avail(o)) {
		io_uring_prep_send(loop_sqe(s->loop, &s->op_send, sess_send_done), s->fd, o->p + o->off, rx_avail(o), MSG_NOSIGNAL);
		s->send_inflight = true;
		life_hold(&s->life, 1);
		return;
	}
	if (s->mux.ng && s->state == SESS_OPEN && sess_h2_finished(s)) {
		char why[128];

		if (!s->mux.goaway_code) {
			sess_close(s, 0, "both sides are done (GOAWAY)");
			return;
		}
		/* our GOAWAY carried an error: said at info, with nghttp2's reason */
		snprintf(why, sizeof(why), "our GOAWAY (%s%s%s)", nghttp2_http2_strerror(s->mux.goaway_code),
			 *s->mux.goaway_why ? ": " : "", s->mux.goaway_why);
		sess_close(s, -ECONNRESET, why); /* what the streams saw before: a reset */
	} else if (s->close_when_sent)
		sess_close(s, 0, "its flow ended");
}

void sess_flush_dirty(struct loop *lp)
{
	struct sess *s;

	while ((s = list_first(&lp->sess_dirty, struct sess, dirty))) {
		list_del(&s->dirty);
		sess_flush(s);
		sess_maybe_free(s);
	}
}

/* Decrypts what OpenSSL can give. HTTP/2 takes all of it (its windows bound it); an
 * HTTP/1.1 session only as much as its flow has room for (then reading stops until the
 * flow passed bytes on: sess_flush resumes it). */
static void sess_tls_read_more(struct sess *s)
{
	uint8_t *buf = s->loop->scratch;

	while (s->state == SESS_OPEN) {
		size_t want = s->h1 ? sess_h1_room(s) : SESS_RBUF;
		/* a DATA payload goes straight into its stream's ring: one copy less */
		uint8_t *dst = s->h1 ? NULL : sess_h2_rx_place(s, &want);
		char why[256];
		long n;

		if (!want)
			return;
		if (!dst) {
			dst = buf;
			want = want < SESS_RBUF ? want : SESS_RBUF;
		}
		n = tls_xprt_read(&s->x, dst, want, why, sizeof(why));
		if (n > 0) {
			if (s->h1) {
				sess_h1_input(s, buf, (size_t)n);
			} else {
				sess_h2_rx_track(s, dst, (size_t)n);
				sess_h2_feed(s, dst, (size_t)n);
			}
			continue;
		}
		if (n == -EAGAIN && s->h1 && s->tcp_eof && !tls_xprt_peer_closed(&s->x) && !s->h1_eof) {
			/* TCP ended without close_notify (some clients do): take it as the half-close */
			s->h1_eof = true;
			sess_h1_input(s, NULL, 0);
			return;
		}
		if (n == -EAGAIN)
			return;
		if (n == 0 && s->h1) {
			if (s->h1_eof)
				return;
			s->h1_eof = true;
			sess_h1_input(s, NULL, 0); /* close_notify: the flow's half-close */
			return;
		}
		if (n == 0) {
			sess_close(s, 0, "the peer closed TLS");
			return;
		}
		sess_close(s, (int)n, n == -ENOMEM ? "out of memory for output" : why);
		return;
	}
}

static void tls_handshake(struct sess *s)
{
	struct loop *lp = s->loop;
	char why[320], name[ADDR_STRLEN];
	int rv = tls_xprt_handshake(&s->x, why, sizeof(why));

	if (rv == 0)
		return;
	if (rv < 0) {
		lp->st.sess_tls_failed++;
		log_warn("tunnel session %llu %s %s: TLS handshake failed: %s", (unsigned long long)s->id,
			 s->server ? "from" : "to", sess_name(s, name, sizeof(name)), why);
		/* the alert goes out before the close */
		if (!s->send_inflight && s->ob[s->ob_send].len > s->ob[s->ob_send].off)
			(void)!send(s->fd, s->ob[s->ob_send].p + s->ob[s->ob_send].off,
				    s->ob[s->ob_send].len - s->ob[s->ob_send].off, MSG_DONTWAIT | MSG_NOSIGNAL);
		sess_close(s, -ECONNREFUSED, "TLS handshake failed");
		return;
	}
	/* our clients offer h2, or http/1.1 for an h1 peer (the adapter refused any other
	 * answer); a server picks h2 when offered, else HTTP/1.1 CONNECT (http/1.1 or none) */
	s->h1 = strcmp(s->x.alpn, "h2") != 0;
	if (s->server)
		s->n_sans = tls_peer_sans(s->x.ssl, s->sans, SESS_MAX_SANS);
	log_debug("tunnel session %llu %s %s: TLS 1.3 up (%s)%s%s", (unsigned long long)s->id,
		  s->server ? "from" : "to", sess_name(s, name, sizeof(name)), s->h1 ? "HTTP/1.1" : "h2",
		  s->n_sans ? ", peer " : "", s->n_sans ? s->sans[0] : "");
	if (s->h1)
		sess_h1_start(s);
	else if (sess_h2_start(s))
		return;
	sess_tls_read_more(s); /* application data that came with the last handshake flight */
	sess_rx_ready(s);
}

int sess_tls_new(struct sess *s)
{
	struct loop *lp = s->loop;
	int err = s->server ? tls_xprt_server(&s->x, lp->rt->tls_server, tls_out, s) :
			      tls_xprt_client(&s->x, lp->rt->tls_client, s->peer.name,
					      s->peer.proto == TPROTO_H1 ? "http/1.1" : "h2", tls_out, s);

	if (err)
		return err;
	s->tls = true;
	s->state = SESS_HANDSHAKE;
	return 0;
}

/* ---- client: a connection to a peer ---- */

struct sess *sess_connect(struct loop *lp, const struct cfg_peer *p, int *err)
{
	struct sess *s = sess_new(lp, -1, false);

	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->peer = *p;
	addr_to_hermes((const struct sockaddr *)&p->addr.ss, &s->paddr);
	memcpy(&s->dst_ss, &p->addr.ss, p->addr.len);
	s->fd = sock_dial(lp, &s->dst_ss, p->addr.len, &s->op_connect, sess_connect_done, &s->op_aux, sess_aux_done,
			  &s->ts);
	if (s->fd < 0) {
		*err = s->fd;
		s->state = SESS_CLOSING;
		life_close(&s->life);
		sess_maybe_free(s);
		return NULL;
	}
	s->state = SESS_CONNECTING;
	life_hold(&s->life, 2);
	return s;
}

static void on_recv(struct sess *s, int res)
{
	s->recv_armed = false;
	if (s->state == SESS_CLOSING)
		return;
	if (s->state == SESS_SNIFF) {
		sess_on_sniff(s, res);
		return;
	}
	if (res == 0 && s->h1 && s->state == SESS_OPEN) {
		/* after close_notify (or as a half-close): records still buffered are the flow's */
		s->tcp_eof = true;
		sess_tls_read_more(s);
		sess_dirty(s);
		return;
	}
	if (res <= 0) {
		if (res == 0 && (s->goaway || sess_h2_idle(s)))
			sess_close(s, 0, "the peer closed the connection");
		else
			sess_close(s, res ? res : -ECONNRESET,
				   res ? strerror(-res) : "the peer closed the connection with flows open");
		return;
	}
	s->bytes += (uint64_t)res;
	buf_touch(&s->rbuf_touched, (size_t)res);
	if (s->tls) {
		tls_xprt_input(&s->x, s->rbuf, (size_t)res);
		if (s->state == SESS_HANDSHAKE)
			tls_handshake(s);
		else
			sess_tls_read_more(s);
	} else {
		sess_h2_feed(s, s->rbuf, (size_t)res);
	}
	sess_rx_ready(s);
	/* an HTTP/1.1 session whose flow is full left ciphertext in rbuf: not yet */
	if (sess_shed_reads(s))
		; /* over the memory budget: read again once its bytes drained (sess_flush) */
	else if (!s->tls || !tls_xprt_input_left(&s->x))
		sess_arm_recv(s);
	sess_dirty(s);
}

static void on_connect(struct sess *s, int res)
{
	if (s->state == SESS_CLOSING)
		return;
	if (res < 0) {
		char why[128];
		int err = res == -ECANCELED ? -ETIMEDOUT : res;

		s->loop->st.sess_failed++;
		snprintf(why, sizeof(why), "connect: %s", strerror(-err));
		sess_close(s, err, why);
		return;
	}
	if (s->peer.tls) {
		if (sess_tls_new(s)) {
			sess_close(s, -ENOMEM, "out of memory for TLS");
			return;
		}
		tls_handshake(s); /* the ClientHello */
	} else if (sess_h2_start(s)) {
		return;
	}
	sess_arm_recv(s);
	sess_dirty(s);
}

static void on_sent(struct sess *s, int res)
{
	struct rxbuf *o = &s->ob[s->ob_send];

	s->send_inflight = false;
	if (s->state == SESS_CLOSING)
		return;
	if (res < 0) {
		sess_close(s, res, strerror(-res));
		return;
	}
	rx_consume(o, (size_t)res);
	if (!o->len) /* all out: the other buffer (filled meanwhile) goes next */
		s->ob_send = 1 - s->ob_send;
	sess_dirty(s);
}

static void sess_connect_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_connect);

	(void)lp;
	life_drop(&s->life);
	on_connect(s, cqe->res);
	sess_maybe_free(s);
}

static void sess_recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_recv);

	(void)lp;
	life_drop(&s->life);
	on_recv(s, cqe->res);
	sess_maybe_free(s);
}

static void sess_send_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_send);

	(void)lp;
	life_drop(&s->life);
	on_sent(s, cqe->res);
	sess_maybe_free(s);
}

/* An output buffer grows for a burst and would keep that size for the session's life (2
 * MiB each, 4.2 MB held by an idle session, in tests/e2e/tunnel_idle_memory.sh, before
 * DATA frames waited for room; now up to SESS_OBUF_MAX and a frame each). One
 * that is empty and not being sent goes, and the next output starts at SESS_OBUF_FIRST
 * again; once a tick, so a busy session regrows it at most once a second. A session
 * quiet for a tick (no byte either way) keeps none: one a flow over TLS kept 32 KiB. */
static void sess_ob_shrink(struct sess *s, bool quiet)
{
	for (unsigned i = 0; i < 2; i++)
		if (!s->ob[i].len && s->ob[i].cap > (quiet ? 0 : SESS_OBUF_FIRST) && !(s->send_inflight && i == s->ob_send))
			rx_free(&s->ob[i]);
}

/* A stream's receive ring grows to what waits in it, up to its window (32 MiB by
 * default): one that is empty at a tick gives its buffer back, so an idle stream holds
 * none and a busy one reallocates at most once a second. */
static void sess_rings_trim(struct sess *s)
{
	struct sstream *st;

	list_for_each(st, &s->streams, link)
		ep_ring_trim(&st->rx);
}

void sess_tick(struct loop *lp)
{
	struct sess *s, *n;
	uint64_t held_sum = 0, holders = 0;

	sess_clients_trim(lp);
	list_for_each_safe(s, n, &lp->sessions, link) {
		uint64_t rate_mbps = (s->bytes - s->bytes_mark) * 8 / 1000000;
		bool quiet = s->bytes == s->bytes_mark;

		if (s->held) {
			held_sum += s->held;
			holders++;
		}
		if (s->ovl_paused)
			sess_dirty(s); /* the stage may have fallen: sess_flush reads again */

		s->bytes_mark = s->bytes;
		/* a busy connection takes no new flows (a new one opens); a tick is ~1 s */
		s->busy = lp->cfg->h2_pool_mbps && rate_mbps > lp->cfg->h2_pool_mbps;
		if (s->state == SESS_CLOSING)
			continue;
		sess_ob_shrink(s, quiet);
		/* quiet, nothing left to read in it: rbuf's pages go back, its recv stays armed */
		if (quiet && s->state == SESS_OPEN && !(s->tls && tls_xprt_input_left(&s->x)) &&
		    buf_pages_idle(s->rbuf, SESS_RBUF, &s->rbuf_touched))
			lp->st.sess_rbuf_released++;
		sess_rings_trim(s);
		if (s->host.http && !sess_h2_idle(s))
			s->idle_since_ms = lp->now_ms; /* serving requests: not idle */
		if ((s->state == SESS_SNIFF || s->state == SESS_HANDSHAKE) &&
		    lp->now_ms - s->started_ms > (s->server ? lp->cfg->tunnel_head_timeout_ms : SESS_SETUP_MS)) {
			if (!s->server)
				lp->st.sess_tls_failed++;
			else
				lp->st.slow_clients[STATS_SLOW_TUNNEL]++;
			sess_close(s, -ETIMEDOUT, "TLS handshake timed out");
		} else if (s->mux.ng && s->mux.ng_err && lp->now_ms - s->idle_since_ms >= 1000) {
			sess_close(s, -EPROTO, "HTTP/2 error, its GOAWAY not taken within a tick");
		} else if (s->server && s->mux.ng && h2mux_head_stalled(&s->mux, lp->cfg->tunnel_head_timeout_ms)) {
			/* a header block left open: GOAWAY, closed a tick later at the latest */
			lp->st.slow_clients[STATS_SLOW_TUNNEL]++;
			s->idle_since_ms = lp->now_ms;
			sess_dirty(s);
		} else if (sess_h2_idle(s) &&
			   (lp->draining || lp->now_ms - s->idle_since_ms > (!s->server ? SESS_IDLE_MS : s->mux.ng ?
									  lp->cfg->http2.idle_timeout_ms : lp->cfg->idle_timeout_ms))) {
			/* a pooled connection of ours goes after a minute unused; an HTTP/2 session a
			 * client keeps open with no stream, after http2.idle_timeout_ms */
			if (s->mux.ng) {
				if (lp->draining || !s->server || h2mux_idle(&s->mux))
					sess_h2_goaway(s, true);
				sess_flush(s);
			}
			sess_close(s, 0, lp->draining ? "draining" : "idle");
		} else if (lp->draining && s->server && s->mux.ng && !s->goaway) {
			/* no new streams; the open ones finish */
			sess_h2_goaway(s, false);
			s->goaway = true;
			sess_dirty(s);
		}
	}
	overload_set_share(held_sum, holders);
}

/* The TLS contexts belong to the runtime snapshot (runtime.c): a session takes the
 * current one's when it starts. */
int sess_init(struct loop *lp, const struct sess_acceptor *acc)
{
	lp->sess_acc = acc;
	lp->scratch = malloc(SESS_RBUF);
	if (!lp->scratch)
		return -ENOMEM;
	return 0;
}

void sess_fini(struct loop *lp)
{
	sess_clients_free();
	free(lp->scratch);
	lp->scratch = NULL;
}
