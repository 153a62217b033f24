/* hup.c: the upstream side of the http action: HTTP/1.1 connections to endpoints, kept
 * in a per-endpoint pool between requests (keep-alive reuse, at most http.max_idle per
 * endpoint, closed after http.pool_idle_timeout_ms). An idle pooled connection keeps a
 * recv armed, so a server closing it is noticed at once rather than by the next request.
 * Sockets are sock.c's (SO_MARK: never steered back to hermesd by connect4). Every connection
 * only ever submits reads into and writes from its own buffers, so it can outlive the
 * exchange that used it until its last completion.
 *
 * TLS (upstream_protocol h1 with upstream_tls, and h2 for h2up.c): tls.c's transport
 * sits between the socket buffers, which carry ciphertext on the same io_uring ops, and
 * the plaintext the exchange reads and writes. OpenSSL reads the ciphertext in rx where
 * the recv put it and writes its records into wq, which is swapped with wbuf once no
 * send reads it; the session lives as long as the connection, so a pooled connection is
 * reused without a new handshake.
 * A connection is pooled and taken only for exchanges that want the same TLS and name.
 * The handshake must end within connect_timeout_ms, and its failure is a failure of its
 * own kind (HUP_F_TLS), logged with OpenSSL's reason. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "h2x.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "fdres.h"
#include "ring.h"
#include "sock.h"

#define HUP_RX_MIN (64 * 1024)
#define HUP_WBUF (128 * 1024)

struct hep *hep_get(struct loop *lp, const struct hermes_addr *addr)
{
	struct hep *ep;

	list_for_each(ep, &lp->http->eps, link)
		if (ep->addr.family == addr->family && ep->addr.port == addr->port &&
		    !memcmp(ep->addr.addr, addr->addr, addr->family == HERMES_FAMILY_V4 ? 4 : 16))
			return ep;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return NULL;
	ep->addr = *addr;
	list_init(&ep->idle);
	list_init(&ep->h2conns);
	list_add(&lp->http->eps, &ep->link);
	return ep;
}

void hup_unidle(struct hup *u)
{
	if (list_linked(&u->pool))
		u->ep->n_idle--;
	list_del(&u->pool);
}

static void tls_free(struct hup *u)
{
	if (!u->tls)
		return;
	tls_xprt_free(&u->tls->x);
	buf_free(u->tls->in.p, u->tls->in.cap);
	buf_free(u->tls->out.p, u->tls->out.cap);
	free(u->tls);
	u->tls = NULL;
}

static void hup_maybe_free(struct loop *lp, struct hup *u)
{
	if (!life_over(&u->life))
		return;
	if (u->kind == HUP_K_H2)
		h2up_conn_free(lp, u);
	tls_free(u);
	if (u->fd >= 0)
		close(u->fd);
	list_del(&u->link);
	buf_free(u->rx.p, u->rx_touched);
	buf_free(u->wbuf, u->w_touched);
	buf_free(u->wq.p, u->wq.cap);
	free(u);
}

static loop_done_fn hup_connect_done, hup_recv_done, hup_send_done;

/* A cancel or the connect's linked timeout of u completed. */
static void hup_aux_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hup *u = loop_container_of(op, struct hup, op_aux);

	(void)cqe;
	life_drop(&u->life);
	hup_maybe_free(lp, u);
}

/* Cancels an HTTP/1.1 connection's ops by their user_data, which the kernel finds by hash.
 * A cancel by fd walks every poll armed in the ring: at 10000 client connections (20000
 * armed receives) it took 76% of hermesd's CPU and the request rate fell to 1.5k/s.
 * HTTP/2 connections (few, and their ops tracked in h2up.c) keep the cancel by fd. */
static void hup_cancel_ops(struct loop *lp, struct hup *u, bool connecting)
{
	if (u->kind != HUP_K_H1) {
		io_uring_prep_cancel_fd(loop_sqe(lp, &u->op_aux, hup_aux_done), u->fd, IORING_ASYNC_CANCEL_ALL);
		life_hold(&u->life, 1);
		return;
	}
	if (connecting) { /* its linked timeout goes with it */
		loop_cancel(lp, &u->op_aux, hup_aux_done, &u->op_connect);
		life_hold(&u->life, 1);
	}
	if (u->recv_armed) {
		loop_cancel(lp, &u->op_aux, hup_aux_done, &u->op_recv);
		life_hold(&u->life, 1);
	}
	if (u->send_inflight) {
		loop_cancel(lp, &u->op_aux, hup_aux_done, &u->op_send);
		life_hold(&u->life, 1);
	}
}

void hup_close(struct loop *lp, struct hup *u)
{
	bool connecting = u->state == HUP_CONNECTING;

	if (u->state == HUP_CLOSING)
		return;
	if (u->state == HUP_IDLE)
		hup_unidle(u);
	u->state = HUP_CLOSING;
	life_close(&u->life);
	u->x = NULL;
	if (u->fd >= 0 && u->life.inflight)
		hup_cancel_ops(lp, u, connecting);
	hup_maybe_free(lp, u);
}

/* The connection failed: its owner hears why (and may start another attempt). */
static void hup_fail(struct loop *lp, struct hup *u, int why, int err)
{
	struct hconn *x = u->x;

	hup_close(lp, u);
	if (x)
		http_up_failed(lp, x, u, why, err);
}

void hup_arm_recv(struct loop *lp, struct hup *u)
{
	struct rxbuf *b = &u->rx;

	if (u->recv_armed || u->eof || (u->state != HUP_OPEN && u->state != HUP_IDLE))
		return;
	/* HTTP/1.1 over TLS: rx is emptied into OpenSSL at each completion; what holds the
	 * reads back is the plaintext its owner has not consumed */
	if (u->tls && u->kind == HUP_K_H1 && u->tls->in.len - u->tls->in.off >= b->cap)
		return;
	/* rx may hold ciphertext OpenSSL did not read (after close_notify): it moves to the
	 * front, where the next tls_recv hands it over again */
	rx_compact(b);
	if (b->len >= b->cap)
		return; /* the owner consumes first */
	io_uring_prep_recv(loop_sqe(lp, &u->op_recv, hup_recv_done), u->fd, b->p + b->len, b->cap - b->len, 0);
	u->recv_armed = true;
	life_hold(&u->life, 1);
}

void hup_kick_send(struct loop *lp, struct hup *u)
{
	if (u->state != HUP_OPEN || u->send_inflight || u->woff >= u->wlen)
		return;
	io_uring_prep_send(loop_sqe(lp, &u->op_send, hup_send_done), u->fd, u->wbuf + u->woff, u->wlen - u->woff, MSG_NOSIGNAL);
	u->send_inflight = true;
	life_hold(&u->life, 1);
}

void hup_send_queued(struct loop *lp, struct hup *u)
{
	if (!u->send_inflight && u->woff == u->wlen && u->wq.len) {
		char *p = u->wbuf;
		size_t cap = u->wcap;

		/* wq's buffer was counted whole, as an hbuf: wbuf now, whole; and the old
		 * wbuf, an hbuf from now on, is counted whole too */
		buf_account((long long)cap - (long long)u->w_touched);
		u->wbuf = u->wq.p;
		u->wcap = u->wq.cap;
		u->w_touched = u->wcap;
		u->wlen = u->wq.len;
		u->woff = 0;
		u->wq.p = p;
		u->wq.cap = cap;
		u->wq.len = 0;
	}
	hup_kick_send(lp, u);
}

/* ---- TLS ---- */

const char *hup_what(const struct hup *u, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	char a[ADDR_STRLEN];
	const char *name = u->tls ? u->tls->name : "";

	addr_from_hermes(&u->ep->addr, &ss);
	addr_fmt((struct sockaddr *)&ss, a, sizeof(a));
	snprintf(buf, len, "%s%s%s%s", a, name[0] ? " (" : "", name, name[0] ? ")" : "");
	return buf;
}

/* OpenSSL's records go behind whatever wbuf holds. */
static int tls_out(void *ud, const void *p, size_t n)
{
	return hb_put(&((struct hup *)ud)->wq, p, n);
}

int hup_tls_start(struct hup *u, void *ctx, const char *name, const char *alpn)
{
	struct hup_tls *t;

	if (!ctx)
		return -ENOPROTOOPT; /* the config refuses TLS upstreams without a tls section */
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (u->kind == HUP_K_H1) {
		t->in.cap = u->rx.cap;
		t->in.p = buf_malloc(t->in.cap);
	}
	if ((u->kind == HUP_K_H1 && !t->in.p) || tls_xprt_client(&t->x, ctx, name, alpn, tls_out, u)) {
		buf_free(t->in.p, t->in.cap);
		free(t);
		return -ENOMEM;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	u->tls = t;
	return 0;
}

int hup_tls_handshake(struct loop *lp, struct hup *u)
{
	char what[160], why[320];
	int r;

	if (u->tls->x.hs_done)
		return 0;
	if (!u->tls->start_ms)
		u->tls->start_ms = lp->now_ms;
	r = tls_xprt_handshake(&u->tls->x, why, sizeof(why));
	if (r < 0) {
		lp->st.http_tls_failures++;
		log_warn("http: TLS to origin %s failed: %s", hup_what(u, what, sizeof(what)), why);
		return -EPROTO;
	}
	if (r > 0) {
		lp->st.http_tls_conns++;
		log_debug("http: TLS to origin %s: %s, ALPN %s", hup_what(u, what, sizeof(what)),
			  tls_xprt_version(&u->tls->x), u->tls->x.alpn[0] ? u->tls->x.alpn : "none");
	}
	return 0;
}

bool hup_tls_overdue(struct loop *lp, struct hup *u)
{
	char what[160];

	if (!u->tls || u->tls->x.hs_done || u->state != HUP_OPEN || !u->tls->start_ms ||
	    lp->now_ms - u->tls->start_ms < lp->cfg->connect_timeout_ms)
		return false;
	lp->st.http_tls_failures++;
	log_warn("http: TLS to origin %s failed: no handshake within %u ms (connect_timeout_ms)",
		 hup_what(u, what, sizeof(what)), lp->cfg->connect_timeout_ms);
	return true;
}

void hup_tls_lost(struct loop *lp, struct hup *u, int res)
{
	char what[160];

	lp->st.http_tls_failures++;
	log_warn("http: TLS to origin %s failed: the connection %s during the handshake (%s)",
		 hup_what(u, what, sizeof(what)), res ? "failed" : "was closed", strerror(res ? -res : ECONNRESET));
}

/* HTTP/1.1 over TLS: p[0..n) of plaintext encrypted into wq. A failure here cannot be
 * reported to an exchange that is writing: the socket is shut down, and the recv that
 * sees it reports a reset. */
static void tls_encrypt(struct hup *u, const void *p, size_t n)
{
	char what[160];

	if (!tls_xprt_write(&u->tls->x, p, n))
		return;
	log_warn("http: TLS to origin %s: cannot encrypt: resetting the connection", hup_what(u, what, sizeof(what)));
	shutdown(u->fd, SHUT_RDWR);
}

/* HTTP/1.1 over TLS: the plaintext written before the handshake ended goes through
 * OpenSSL once it has, and the ciphertext out whenever no send reads wbuf. */
static void tls_send(struct loop *lp, struct hup *u)
{
	struct hup_tls *t = u->tls;

	if (t->x.hs_done && t->out.len) {
		tls_encrypt(u, t->out.p, t->out.len);
		t->out.len = 0;
	}
	hup_send_queued(lp, u);
}

/* HTTP/1.1 over TLS: the plaintext OpenSSL can give, into tls->in (which grows by at
 * most what one recv brought: reads are not armed while the owner lags, see
 * hup_arm_recv); eof at the origin's close_notify. 0 or -errno. */
static int tls_pull(struct hup *u)
{
	struct rxbuf *b = &u->tls->in;
	char what[160], why[320];

	rx_compact(b);
	while (!u->eof) {
		long r;

		if (b->cap - b->len < 16384) {
			char *np = realloc(b->p, b->cap * 2);

			if (!np)
				return -ENOMEM;
			b->p = np;
			b->cap *= 2;
		}
		r = tls_xprt_read(&u->tls->x, b->p + b->len, b->cap - b->len, why, sizeof(why));
		if (r > 0) {
			b->len += (size_t)r;
		} else if (r == 0) {
			u->eof = true;
		} else if (r == -EAGAIN) {
			return 0;
		} else {
			log_info("http: TLS from origin %s: %s", hup_what(u, what, sizeof(what)), why);
			return (int)r;
		}
	}
	return 0;
}

struct hup *hup_connect(struct loop *lp, struct hep *ep, struct hconn *x, int kind)
{
	const struct hermes_config *cfg = lp->cfg;
	struct sockaddr_storage ss;
	struct hup *u;
	socklen_t len;
	int fd;

	/* the socket first: out of descriptors (EMFILE), a request retries every few ms
	 * (hc_fd_wait), and allocating the buffers for each try would be wasted */
	len = addr_from_hermes(&ep->addr, &ss);
	/* a request on an HTTP/2 stream came with no accept of its own: it keeps within the
	 * streams' share of descriptors (fdres_stream_room) and waits like one that found
	 * none */
	if (x && x->fd < 0 && !fdres_stream_take(lp)) {
		errno = EMFILE;
		return NULL;
	}
	fd = sock_open(lp, ss.ss_family);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (u) {
		/* counted as they are written (buf_touch), not by their size */
		u->rx.cap = cfg->http.max_head + 4096 > HUP_RX_MIN ? cfg->http.max_head + 4096 : HUP_RX_MIN;
		u->rx.p = buf_pages_alloc(&u->rx.cap);
		u->wcap = HUP_WBUF;
		u->wbuf = buf_pages_alloc(&u->wcap);
	}
	if (!u || !u->rx.p || !u->wbuf) {
		close(fd);
		if (u) {
			free(u->rx.p);
			free(u->wbuf);
		}
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	u->kind = (uint8_t)kind;
	u->fd = fd;
	memcpy(&u->dst_ss, &ss, len);
	u->loop = lp;
	u->ep = ep;
	u->x = x;
	u->state = HUP_CONNECTING;
	list_add(&lp->http->hups, &u->link);
	lp->st.http_pool_new++;
	/* the exchange's per-try timeout may be shorter: it cancels the connect itself */
	sock_connect(lp, u->fd, &u->dst_ss, len, &u->op_connect, hup_connect_done, &u->op_aux, hup_aux_done, &u->ts);
	life_hold(&u->life, 2);
	return u;
}

struct hup *hup_open(struct loop *lp, struct hep *ep, struct hconn *x)
{
	bool tls = x->proto == HPROTO_H1_TLS;
	struct hup *u, *found = NULL;
	int err;

	if (x->proto == HPROTO_H2C || x->proto == HPROTO_H2)
		return h2up_open(lp, ep, x);
	list_for_each(u, &ep->idle, pool)
		if (!u->tls == !tls && (!tls || !strcmp(u->tls->name, x->tls_name))) {
			found = u;
			break;
		}
	if ((u = found)) {
		hup_unidle(u);
		u->state = HUP_OPEN;
		u->x = x;
		u->reused = true;
		u->got_bytes = false;
		lp->st.http_pool_reused++;
		return u;
	}
	u = hup_connect(lp, ep, x, HUP_K_H1);
	if (u && tls && (err = hup_tls_start(u, x->rt->tls_client, x->tls_name, "http/1.1"))) {
		u->x = NULL;
		hup_close(lp, u);
		errno = -err;
		return NULL;
	}
	return u;
}

size_t hup_write(struct loop *lp, struct hup *u, const void *p, size_t n)
{
	if (u->tls && u->kind == HUP_K_H1) {
		/* wq takes any amount: the exchange bounds it with hup_pending */
		if (u->tls->x.hs_done && !u->tls->out.len)
			tls_encrypt(u, p, n);
		else if (hb_put(&u->tls->out, p, n))
			return 0;
		tls_send(lp, u);
		return n;
	}
	if (!u->send_inflight && u->woff) {
		memmove(u->wbuf, u->wbuf + u->woff, u->wlen - u->woff);
		u->wlen -= u->woff;
		u->woff = 0;
	}
	if (u->wlen + n > u->wcap) {
		size_t ncap = u->wlen + n;
		char *nb;

		/* a send in flight reads wbuf: it cannot move now */
		if (u->send_inflight || !(nb = realloc(u->wbuf, ncap)))
			n = u->wcap - u->wlen;
		else
			u->wbuf = nb, u->wcap = ncap;
	}
	memcpy(u->wbuf + u->wlen, p, n);
	u->wlen += n;
	buf_touch(&u->w_touched, u->wlen);
	if (u->kind == HUP_K_STREAM)
		h2up_wrote(lp, u);
	else
		hup_kick_send(lp, u);
	return n;
}

size_t hup_room(const struct hup *u)
{
	return u->send_inflight && !(u->tls && u->kind == HUP_K_H1) ? u->wcap - u->wlen : (size_t)-1;
}

size_t hup_pending(const struct hup *u)
{
	size_t n = u->wlen - u->woff;

	if (u->tls && u->kind == HUP_K_H1)
		n += u->tls->out.len + u->wq.len;
	return n;
}

int hup_head(struct loop *lp, struct hup *u, struct hmsg *m)
{
	struct h1_limits lim;
	const char *p;
	size_t n;

	if (u->kind == HUP_K_STREAM)
		return h2up_head(u, m);
	hup_data(u, &p, &n);
	lim = http_limits(lp);
	return n ? h1_parse_response(p, n, &lim, m) : 0;
}

int hup_body_end(struct loop *lp, struct hup *u, const struct hbuf *trailers)
{
	return u->kind == HUP_K_STREAM ? h2up_body_end(lp, u, trailers) : 0;
}

int hup_trailers(struct hup *u, struct hmsg *m)
{
	return u->kind == HUP_K_STREAM ? h2up_trailers(u, m) : 0;
}

void hup_head_done(struct loop *lp, struct hup *u, int n)
{
	if (u->kind == HUP_K_STREAM)
		h2up_head_done(u, n);
	else
		hup_consumed(lp, u, (size_t)n);
}

void hup_data(const struct hup *u, const char **p, size_t *n)
{
	const struct rxbuf *b = u->tls && u->kind == HUP_K_H1 ? &u->tls->in : &u->rx;

	*p = b->p + b->off;
	*n = b->len - b->off;
}

/* Has the connection received bytes its exchange did not read (plaintext or ciphertext)? */
static bool hup_unread(const struct hup *u)
{
	if (u->tls && u->kind == HUP_K_H1)
		return u->tls->in.len != u->tls->in.off || tls_xprt_has_input(&u->tls->x);
	return u->rx.len != u->rx.off;
}

void hup_consumed(struct loop *lp, struct hup *u, size_t n)
{
	if (u->tls && u->kind == HUP_K_H1) {
		struct rxbuf *b = &u->tls->in;

		b->off += n;
		if (b->off == b->len)
			b->off = b->len = 0;
		hup_arm_recv(lp, u);
		return;
	}
	u->rx.off += n;
	if (u->rx.off == u->rx.len && !u->recv_armed)
		u->rx.off = u->rx.len = 0;
	if (u->kind == HUP_K_STREAM)
		h2up_consumed(lp, u, n);
	else
		hup_arm_recv(lp, u);
}

unsigned hup_trim_idle(struct loop *lp, unsigned n)
{
	unsigned done = 0;

	struct hup *u, *next; /* hup_close may free u */

	list_for_each_safe(u, next, &lp->http->hups, link) {
		if (done >= n)
			break;
		if (u->state == HUP_IDLE && u->kind == HUP_K_H1) {
			hup_close(lp, u);
			done++;
		}
	}
	return done;
}

void hup_release(struct loop *lp, struct hup *u, bool reusable)
{
	struct hep *ep = u->ep;

	u->x = NULL;
	if (u->kind == HUP_K_STREAM) {
		h2up_release(lp, u);
		return;
	}
	if (!reusable || lp->draining || u->state != HUP_OPEN || ep->n_idle >= lp->cfg->http.max_idle ||
	    hup_pending(u) || hup_unread(u) || u->eof) {
		hup_close(lp, u);
		return;
	}
	u->state = HUP_IDLE;
	u->idle_since_ms = lp->now_ms;
	list_add(&ep->idle, &u->pool);
	ep->n_idle++;
	hup_arm_recv(lp, u);
}

static void on_connect(struct loop *lp, struct hup *u, int res)
{
	if (u->state == HUP_CLOSING) {
		hup_maybe_free(lp, u);
		return;
	}
	if (res < 0) {
		hup_fail(lp, u, HUP_F_CONNECT, res == -ECANCELED ? -ETIMEDOUT : res);
		return;
	}
	u->state = HUP_OPEN;
	if (u->tls) {
		if (hup_tls_handshake(lp, u)) { /* the ClientHello */
			hup_fail(lp, u, HUP_F_TLS, -EPROTO);
			return;
		}
		tls_send(lp, u);
	}
	hup_arm_recv(lp, u);
	hup_kick_send(lp, u);
}

/* HTTP/1.1 over TLS: res bytes of ciphertext arrived in rx (or the socket ended). */
static void tls_recv(struct loop *lp, struct hup *u, int res)
{
	struct hup_tls *t = u->tls;
	int err;

	if (res <= 0 && u->state == HUP_IDLE) {
		log_debug("http: pooled upstream connection closed by the server (%d)", res);
		hup_close(lp, u);
		return;
	}
	if (res <= 0 && !t->x.hs_done) {
		hup_tls_lost(lp, u, res);
		hup_fail(lp, u, HUP_F_TLS, res ? res : -ECONNRESET);
		return;
	}
	if (res < 0) {
		hup_fail(lp, u, HUP_F_RESET, res);
		return;
	}
	if (res == 0) {
		/* a TCP close without close_notify: the end of what was sent, or a truncation */
		u->eof = u->cut = true;
	} else {
		/* OpenSSL reads the ciphertext where the recv put it */
		tls_xprt_input(&t->x, u->rx.p + u->rx.off, u->rx.len - u->rx.off);
		if (!t->x.hs_done) {
			if (hup_tls_handshake(lp, u)) {
				hup_fail(lp, u, HUP_F_TLS, -EPROTO);
				return;
			}
			tls_send(lp, u); /* our Finished, then the request written meanwhile */
		}
		if (t->x.hs_done && (err = tls_pull(u))) {
			if (u->state == HUP_IDLE)
				hup_close(lp, u);
			else
				hup_fail(lp, u, HUP_F_RESET, err);
			return;
		}
		/* all of it, but after the origin's close_notify */
		u->rx.off = u->rx.len - tls_xprt_input_left(&t->x);
		if (u->rx.off == u->rx.len)
			u->rx.off = u->rx.len = 0;
	}
	if (u->state == HUP_IDLE) {
		/* session tickets are fine; anything the exchange would read is not */
		if (u->eof || t->in.len != t->in.off) {
			log_debug("http: pooled upstream TLS connection closed or spoke unasked: closing it");
			hup_close(lp, u);
		} else {
			hup_arm_recv(lp, u);
		}
		return;
	}
	if (t->in.len != t->in.off)
		u->got_bytes = true;
	if (u->x && (t->in.len != t->in.off || u->eof))
		http_up_input(lp, u->x, u);
	if (u->state == HUP_OPEN)
		hup_arm_recv(lp, u);
}

static void on_recv(struct loop *lp, struct hup *u, int res)
{
	u->recv_armed = false;
	if (res > 0) {
		u->rx.len += (size_t)res;
		buf_touch(&u->rx_touched, u->rx.len);
	}
	if (u->state == HUP_CLOSING) {
		hup_maybe_free(lp, u);
		return;
	}
	if (u->tls) {
		tls_recv(lp, u, res);
		return;
	}
	if (u->state == HUP_IDLE) {
		/* a pooled connection has nothing to say: closed, reset or junk */
		log_debug("http: pooled upstream connection closed by the server (%d)", res);
		hup_close(lp, u);
		return;
	}
	if (res < 0) {
		hup_fail(lp, u, HUP_F_RESET, res);
		return;
	}
	if (res == 0)
		u->eof = true;
	else
		u->got_bytes = true;
	if (u->x)
		http_up_input(lp, u->x, u);
	if (u->state == HUP_OPEN && u->x)
		hup_arm_recv(lp, u);
}

static void on_send(struct loop *lp, struct hup *u, int res)
{
	u->send_inflight = false;
	if (u->state == HUP_CLOSING) {
		hup_maybe_free(lp, u);
		return;
	}
	if (res < 0) {
		hup_fail(lp, u, HUP_F_RESET, res);
		return;
	}
	u->woff += (size_t)res;
	if (u->woff == u->wlen)
		u->woff = u->wlen = 0;
	if (u->tls && u->state == HUP_OPEN)
		tls_send(lp, u);
	if (!hup_pending(u) && u->x)
		http_up_drained(lp, u->x, u);
	if (u->state == HUP_OPEN)
		hup_kick_send(lp, u);
}

/* The completed op still counts while its handler runs: u cannot be freed under it. An
 * HTTP/2 connection (h2up.c) runs on the same ops. */
static void hup_connect_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hup *u = loop_container_of(op, struct hup, op_connect);

	if (u->kind == HUP_K_H2)
		h2up_on_connect(lp, u, cqe->res);
	else
		on_connect(lp, u, cqe->res);
	life_drop(&u->life);
	hup_maybe_free(lp, u);
}

static void hup_recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hup *u = loop_container_of(op, struct hup, op_recv);

	if (u->kind == HUP_K_H2)
		h2up_on_recv(lp, u, cqe->res);
	else
		on_recv(lp, u, cqe->res);
	life_drop(&u->life);
	hup_maybe_free(lp, u);
}

static void hup_send_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct hup *u = loop_container_of(op, struct hup, op_send);

	if (u->kind == HUP_K_H2)
		h2up_on_send(lp, u, cqe->res);
	else
		on_send(lp, u, cqe->res);
	life_drop(&u->life);
	hup_maybe_free(lp, u);
}

/* A pooled connection idle for HTTP_IDLE_RELEASE_MS at a tick gives its buffers' pages
 * back (its recv stays armed on rx): what its last exchange wrote, 2 pages or more (a
 * 128 KiB request buffer and a 64 KiB response buffer). Not while TLS has ciphertext of
 * it in rx. */
static void hup_idle_release(struct loop *lp, struct hup *u)
{
	if (u->kind != HUP_K_H1 || u->send_inflight || u->woff != u->wlen || u->rx.off != u->rx.len ||
	    lp->now_ms - u->idle_since_ms < HTTP_IDLE_RELEASE_MS ||
	    (u->tls && tls_xprt_input_left(&u->tls->x)))
		return;
	buf_pages_idle(u->rx.p, u->rx.cap, &u->rx_touched);
	buf_pages_idle(u->wbuf, u->wcap, &u->w_touched);
}

void hup_tick(struct loop *lp)
{
	struct hup *u, *n;

	list_for_each_safe(u, n, &lp->http->hups, link) {
		if (u->state == HUP_IDLE &&
		    (lp->draining || lp->now_ms - u->idle_since_ms >= lp->cfg->http.pool_idle_timeout_ms))
			hup_close(lp, u);
		else if (u->state == HUP_IDLE)
			hup_idle_release(lp, u);
		else if (u->kind == HUP_K_H2)
			h2up_tick(lp, u);
		else if (u->kind == HUP_K_H1 && hup_tls_overdue(lp, u))
			hup_fail(lp, u, HUP_F_TLS, -ETIMEDOUT);
	}
}

/* At exit: the ring goes away with whatever is in flight. */
void hup_fini(struct loop *lp)
{
	struct hup *u;
	struct hep *ep;

	while ((u = list_first(&lp->http->hups, struct hup, link))) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): hup_maybe_free takes u off the list before freeing it */
		u->state = HUP_CLOSING;
		u->life = (struct life){ .closing = true };
		hup_maybe_free(lp, u);
	}
	while ((ep = list_first(&lp->http->eps, struct hep, link))) {
		list_del(&ep->link);
		free(ep);
	}
}
