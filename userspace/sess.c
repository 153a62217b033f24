/* sess.c: HTTP/2 tunnel connections (nghttp2), in clear text (h2c, prior knowledge) or
 * over TLS 1.3 with mutual authentication (OpenSSL on a BIO of ours: ciphertext moves with
 * io_uring recv/send, no kTLS on this kernel).
 *
 * Server side: a connection accepted on the tunnel listener is sniffed by its first
 * byte (0x16: TLS handshake, 'P': the h2c preface, anything else: HTTP/1.1 CONNECT,
 * handed to tunnel.c). Each CONNECT stream (RFC 9113 8.5) becomes a flow (struct conn)
 * whose client side is the stream; its head is turned into the HTTP/1.1 form so that
 * tunnel.c validates, authorizes and routes it exactly as a CONNECT over TCP. A stream
 * whose method is not CONNECT (an explicit proxy request: `GET` with :scheme http and
 * :authority IP:PORT) is handed to the http action once its head is complete (h2dn.c),
 * which then hears of its frames through h2dn_callbacks: the two kinds of stream share
 * the connection and its windows.
 *
 * Client side: the `tunnel` action's flows to an h2 peer become streams on a pooled
 * connection per peer (a new one when the stream limit or the bandwidth threshold is
 * reached). A connect or TLS failure fails every waiting flow's attempt, which moves it
 * to the route's next peer before the application notices.
 *
 * HTTP/1.1 CONNECT over TLS (ALPN http/1.1, or none) is a session carrying exactly one
 * flow, with no framing: its decrypted bytes are the flow's (after the CONNECT head and
 * the 200), close_notify is the half-close, and it is never pooled.
 *
 * Flow control is per stream: a stream's window is its receive buffer (STREAM_WIN),
 * opened again only as the bytes leave (nghttp2_session_consume), so a slow reader holds
 * back its own stream and nothing else; the connection window is large. Half-close is
 * END_STREAM both ways; a TCP reset is RST_STREAM(CONNECT_ERROR) and back. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "config.h"
#include "h2x.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "loop.h"
#include "tls.h"

#define SESS_OBUF_MAX (256 * 1024)  /* bytes gathered for one send */
#define SESS_IDLE_MS 60000          /* a pooled connection with no flow is closed after this */
#define SESS_SETUP_MS 10000         /* TLS handshake / first byte deadline */
#define SESS_CONN_WINDOW (1 << 30)  /* per-stream windows do the limiting */
#define SERVER_MAX_STREAMS 10000
#define SESS_FRAME_MAX (256 * 1024) /* DATA frame payloads we send and accept (SETTINGS) */

#define NG(s) ((nghttp2_session *)(s)->ng)
#define SSLP(s) ((SSL *)(s)->ssl)

static void sess_flush(struct sess *s);
static void sess_close(struct sess *s, int err, const char *why);
static void tls_read_more(struct sess *s);
static int h2_start(struct sess *s);
static void h1_start(struct sess *s);
static void h1_input(struct sess *s, const uint8_t *p, size_t n);
static void h1_output(struct sess *s);
static size_t h1_room(const struct sess *s);

static void sess_dirty(struct sess *s)
{
	struct loop *lp = s->loop;

	if (s->dirty)
		return;
	s->dirty = true;
	s->dnext = lp->sess_dirty;
	lp->sess_dirty = s;
}

void sess_kick(struct sess *s)
{
	sess_dirty(s);
}

/* The tunnel flow of a stream: NULL for none, and for an http stream (h2dn.c's). */
static struct conn *stream_flow(nghttp2_session *ng, int32_t sid)
{
	void *ud = nghttp2_session_get_stream_user_data(ng, sid);

	return h2dn_is_stream(ud) ? NULL : ud;
}

static const char *sess_name(const struct sess *s, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	addr_from_hermes(&s->paddr, &ss);
	addr_fmt((struct sockaddr *)&ss, buf, len);
	return buf;
}

/* ---- flows attached to a session ---- */

static int flow_side(const struct sess *s, const struct conn *c)
{
	return c->ss[0] == s ? 0 : 1;
}

static void flow_link(struct sess *s, struct conn *c, int side)
{
	c->ss[side] = s;
	c->sside[side] = true;
	c->sprev[side] = NULL;
	c->snext[side] = s->flows;
	if (s->flows)
		s->flows->sprev[flow_side(s, s->flows)] = c;
	s->flows = c;
	s->n_flows++;
}

static void flow_unlink(struct sess *s, struct conn *c, int side)
{
	if (c->sprev[side])
		c->sprev[side]->snext[flow_side(s, c->sprev[side])] = c->snext[side];
	else
		s->flows = c->snext[side];
	if (c->snext[side])
		c->snext[side]->sprev[flow_side(s, c->snext[side])] = c->sprev[side];
	c->snext[side] = c->sprev[side] = NULL;
	c->ss[side] = NULL;
	s->n_flows--;
	if (!s->n_flows)
		s->idle_since_ms = s->loop->now_ms;
}

void sess_stream_detach(struct loop *lp, struct conn *c, int side, uint32_t err)
{
	struct sess *s = c->ss[side];

	(void)lp;
	if (!s)
		return;
	if (s->h1) {
		/* the session was this flow's: a clean end says close_notify, a reset resets */
		flow_unlink(s, c, side);
		if (err && !(c->s_ended[side] && c->h[side].eof)) {
			sock_reset_on_close(s->fd);
			sess_close(s, 0, "its flow was reset");
		} else {
			if (s->state == SESS_OPEN && !SSL_get_shutdown(SSLP(s)))
				SSL_shutdown(SSLP(s));
			s->close_when_sent = true;
		}
		sess_dirty(s);
		return;
	}
	if (s->ng && c->sid[side] > 0) {
		nghttp2_session_set_stream_user_data(NG(s), c->sid[side], NULL);
		/* both directions ended, or ours did with nothing wrong (an error reply): the
		 * stream closes by itself; a reset could overtake the reply */
		if (nghttp2_session_find_stream(NG(s), c->sid[side]) && !(c->s_ended[side] && c->h[side].eof) && err)
			nghttp2_submit_rst_stream(NG(s), NGHTTP2_FLAG_NONE, c->sid[side], err);
	}
	flow_unlink(s, c, side);
	sess_dirty(s);
}

/* ---- life and death ---- */

static struct sess *sess_new(struct loop *lp, int fd, bool server)
{
	struct sess *s = loop_zalloc(sizeof(*s));

	if (!s)
		return NULL;
	s->rbuf = malloc(SESS_RBUF);
	if (!s->rbuf) {
		free(s);
		return NULL;
	}
	s->loop = lp;
	s->id = ++lp->next_id;
	s->fd = fd;
	s->server = server;
	s->started_ms = s->idle_since_ms = lp->now_ms;
	s->next = lp->sessions;
	if (lp->sessions)
		lp->sessions->prev = s;
	lp->sessions = s;
	return s;
}

static void sess_maybe_free(struct sess *s)
{
	struct loop *lp = s->loop;

	if (s->state != SESS_CLOSING || s->inflight || s->in_ng || s->dirty)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->ssl)
		SSL_free(s->ssl); /* and its BIOs */
	h2dn_tunnel_free(s);
	if (s->ng)
		nghttp2_session_del(s->ng);
	free(s->rbuf);
	free(s->ob[0].p);
	free(s->ob[1].p);
	if (s->prev)
		s->prev->next = s->next;
	else
		lp->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

static loop_done_fn sess_connect_done, sess_recv_done, sess_send_done;

/* A cancel or the connect's linked timeout of s completed. */
static void sess_aux_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_aux);

	(void)lp;
	(void)cqe;
	s->inflight--;
	sess_maybe_free(s);
}

/* Cancels OP, one of the session's ops (loop_cancel). */
static void sess_cancel_op(struct sess *s, const struct loop_op *op)
{
	loop_cancel(s->loop, &s->op_aux, sess_aux_done, op);
	s->inflight++;
}

/* Ends the session: flows still waiting for their tunnel try their next peer, flows
 * that were relaying are reset (their bytes cannot arrive any more). */
static void sess_close(struct sess *s, int err, const char *why)
{
	struct loop *lp = s->loop;
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
	s->close_err = err ? err : -ECONNRESET;
	while (s->flows) {
		struct conn *c = s->flows;
		int side = flow_side(s, c);
		bool waiting = side == 1 && (c->state == CONN_TUNNEL_WAIT || c->state == CONN_TUNNEL_RESP);

		if (s->ng && c->sid[side] > 0)
			nghttp2_session_set_stream_user_data(NG(s), c->sid[side], NULL);
		flow_unlink(s, c, side);
		if (waiting) {
			conn_fail_attempt(lp, c, s->close_err);
		} else if (c->state != CONN_CLOSING) {
			lp->st.h2_resets++;
			conn_abort(lp, c, true, true);
			conn_maybe_free(lp, c);
		}
	}
	h2dn_tunnel_close(lp, s);
	if (connecting) /* its linked timeout goes with it */
		sess_cancel_op(s, &s->op_connect);
	if (s->recv_armed)
		sess_cancel_op(s, &s->op_recv);
	if (s->send_inflight)
		sess_cancel_op(s, &s->op_send);
	sess_dirty(s);
}

void sess_close_all(struct loop *lp)
{
	for (struct sess *s = lp->sessions; s; s = s->next)
		sess_close(s, 0, "hermesd is stopping");
}

/* ---- I/O ---- */

static void sess_arm_recv(struct sess *s)
{
	if (s->recv_armed || s->state == SESS_CLOSING)
		return;
	io_uring_prep_recv(loop_sqe(s->loop, &s->op_recv, sess_recv_done), s->fd, s->rbuf,
			   s->state == SESS_SNIFF ? 1 : SESS_RBUF, s->state == SESS_SNIFF ? MSG_PEEK : 0);
	s->recv_armed = true;
	s->inflight++;
}

/* The buffer output goes to now: ob[ob_send] holds the older bytes, so once the other
 * one has some (filled while a send was in flight, which then sent only part of its
 * buffer), new output goes after them, never into ob[ob_send] again: bytes out of order
 * are a broken TLS record or HTTP/2 frame. */
static struct sess_obuf *ob_fill(struct sess *s)
{
	return &s->ob[s->send_inflight || s->ob[1 - s->ob_send].len ? 1 - s->ob_send : s->ob_send];
}

static int obuf_reserve(struct sess_obuf *o, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 16384;
		uint8_t *b;

		while (cap < o->len + n)
			cap *= 2;
		b = realloc(o->p, cap);
		if (!b)
			return -ENOMEM;
		o->p = b;
		o->cap = cap;
	}
	return 0;
}

static int obuf_add(struct sess *s, const void *p, size_t n)
{
	struct sess_obuf *o = ob_fill(s);

	if (obuf_reserve(o, n))
		return -ENOMEM;
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return 0;
}

/* OpenSSL's network side is this BIO: ciphertext it writes goes straight into the
 * output buffer, ciphertext it reads comes straight from the recv buffer (no memory
 * BIO copies in between). */
static int bio_write(BIO *b, const char *buf, int len)
{
	struct sess *s = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	return obuf_add(s, buf, (size_t)len) ? -1 : len;
}

static int bio_read(BIO *b, char *buf, int len)
{
	struct sess *s = BIO_get_data(b);
	size_t n = s->rin_len - s->rin_off;

	BIO_clear_retry_flags(b);
	if (!n) {
		BIO_set_retry_read(b);
		return -1;
	}
	if (n > (size_t)len)
		n = (size_t)len;
	memcpy(buf, s->rbuf + s->rin_off, n);
	s->rin_off += n;
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *bio_method(void)
{
	static BIO_METHOD *m;

	if (!m && (m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hermes-sess"))) {
		BIO_meth_set_write(m, bio_write);
		BIO_meth_set_read(m, bio_read);
		BIO_meth_set_ctrl(m, bio_ctrl);
		BIO_meth_set_create(m, bio_create);
	}
	return m;
}

static int sess_out(struct sess *s, const uint8_t *p, size_t n)
{
	if (!s->tls)
		return obuf_add(s, p, n);
	while (n) {
		int w = SSL_write(SSLP(s), p, n > 65536 ? 65536 : (int)n);

		if (w <= 0)
			return -EIO; /* our BIO never blocks */
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void sess_flush(struct sess *s)
{
	struct sess_obuf *o;

	if (s->state == SESS_CLOSING || s->state == SESS_CONNECTING || s->state == SESS_SNIFF)
		return;
	if (s->ng && s->state == SESS_OPEN) {
		s->in_ng++;
		while (ob_fill(s)->len < SESS_OBUF_MAX) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(NG(s), &data);

			if (n < 0) {
				s->in_ng--;
				sess_close(s, -EPROTO, nghttp2_strerror((int)n));
				return;
			}
			if (!n)
				break;
			s->bytes += (uint64_t)n;
			if (sess_out(s, data, (size_t)n)) {
				s->in_ng--;
				sess_close(s, -ENOMEM, "out of memory for output");
				return;
			}
		}
		s->in_ng--;
		/* http streams whose response went out (or made room) go on */
		h2dn_tunnel_events(s->loop, s);
	}
	if (s->h1 && s->state == SESS_OPEN) {
		h1_output(s);
		/* reading stopped when the flow's buffer was full: go on once it has room */
		if (!s->recv_armed && h1_room(s)) {
			tls_read_more(s);
			if (s->state != SESS_OPEN)
				return;
			if (s->rin_off >= s->rin_len && !s->tcp_eof)
				sess_arm_recv(s);
		}
	}
	if (s->send_inflight)
		return;
	o = &s->ob[s->ob_send];
	if (o->len > o->off) {
		io_uring_prep_send(loop_sqe(s->loop, &s->op_send, sess_send_done), s->fd, o->p + o->off, o->len - o->off, MSG_NOSIGNAL);
		s->send_inflight = true;
		s->inflight++;
		return;
	}
	if (s->ng && s->state == SESS_OPEN && !nghttp2_session_want_read(NG(s)) && !nghttp2_session_want_write(NG(s)))
		sess_close(s, 0, "both sides are done (GOAWAY)");
	else if (s->close_when_sent)
		sess_close(s, 0, "its flow ended");
}

void sess_flush_dirty(struct loop *lp)
{
	struct sess *s;

	while ((s = lp->sess_dirty)) {
		lp->sess_dirty = s->dnext;
		s->dirty = false;
		sess_flush(s);
		sess_maybe_free(s);
	}
}

/* Decrypted (or clear) bytes from the peer into nghttp2. */
static void h2_feed(struct sess *s, const uint8_t *p, size_t n)
{
	ssize_t rv;

	s->in_ng++;
	rv = nghttp2_session_mem_recv(NG(s), p, n);
	s->in_ng--;
	if (rv >= 0)
		h2dn_tunnel_events(s->loop, s);
	if (rv < 0) {
		char why[128];

		snprintf(why, sizeof(why), "HTTP/2 error: %s", nghttp2_strerror((int)rv));
		/* nghttp2 queued a GOAWAY: one last flush before the close */
		sess_flush(s);
		sess_close(s, -EPROTO, why);
	}
}

/* Decrypts what OpenSSL can give. HTTP/2 takes all of it (its windows bound it); an
 * HTTP/1.1 session only as much as its flow has room for (then reading stops until the
 * flow passed bytes on: sess_flush resumes it). */
static void tls_read_more(struct sess *s)
{
	uint8_t *buf = s->loop->scratch;

	while (s->state == SESS_OPEN) {
		size_t want = s->h1 ? h1_room(s) : SESS_RBUF;
		int n;

		if (!want)
			return;
		n = SSL_read(SSLP(s), buf, (int)(want < SESS_RBUF ? want : SESS_RBUF));
		if (n > 0) {
			if (s->h1)
				h1_input(s, buf, (size_t)n);
			else
				h2_feed(s, buf, (size_t)n);
			continue;
		}
		n = SSL_get_error(SSLP(s), n);
		if ((n == SSL_ERROR_WANT_READ || n == SSL_ERROR_WANT_WRITE) && s->h1 && s->tcp_eof &&
		    !(SSL_get_shutdown(SSLP(s)) & SSL_RECEIVED_SHUTDOWN) && !s->h1_eof) {
			/* TCP ended without close_notify (some clients do): take it as the half-close */
			s->h1_eof = true;
			h1_input(s, NULL, 0);
			return;
		}
		if (n == SSL_ERROR_WANT_READ || n == SSL_ERROR_WANT_WRITE)
			return;
		if (n == SSL_ERROR_ZERO_RETURN && s->h1) {
			if (s->h1_eof)
				return;
			s->h1_eof = true;
			h1_input(s, NULL, 0); /* close_notify: the flow's half-close */
			return;
		}
		if (n == SSL_ERROR_ZERO_RETURN) {
			sess_close(s, 0, "the peer closed TLS");
			return;
		}
		{
			char why[256];

			tls_fail_reason(s->ssl, why, sizeof(why));
			sess_close(s, -EPROTO, why);
		}
		return;
	}
}

static void tls_handshake(struct sess *s)
{
	struct loop *lp = s->loop;
	char why[320], name[ADDR_STRLEN];
	int rv = SSL_do_handshake(SSLP(s));

	if (rv != 1) {
		int e = SSL_get_error(SSLP(s), rv);

		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		tls_fail_reason(s->ssl, why, sizeof(why));
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
	{
		const unsigned char *alpn = NULL;
		unsigned alen = 0;

		SSL_get0_alpn_selected(SSLP(s), &alpn, &alen);
		/* our clients offer h2, or http/1.1 for an h1 peer; a server picks h2 when
		 * offered, else HTTP/1.1 CONNECT (http/1.1 or no ALPN) */
		s->h1 = !(alen == 2 && !memcmp(alpn, "h2", 2));
		if (!s->server && s->h1 != (s->peer.proto == TPROTO_H1)) {
			lp->st.sess_tls_failed++;
			sess_close(s, -EPROTO, s->h1 ? "TLS peer did not agree on ALPN h2" :
						       "TLS peer did not agree on ALPN http/1.1");
			return;
		}
	}
	if (s->server)
		s->n_sans = tls_peer_sans(s->ssl, s->sans, SESS_MAX_SANS);
	log_debug("tunnel session %llu %s %s: TLS 1.3 up (%s)%s%s", (unsigned long long)s->id,
		  s->server ? "from" : "to", sess_name(s, name, sizeof(name)), s->h1 ? "HTTP/1.1" : "h2",
		  s->n_sans ? ", peer " : "", s->n_sans ? s->sans[0] : "");
	if (s->h1)
		h1_start(s);
	else if (h2_start(s))
		return;
	tls_read_more(s); /* application data that came with the last handshake flight */
}

static int sess_tls_new(struct sess *s)
{
	struct loop *lp = s->loop;
	SSL *ssl = SSL_new(s->server ? lp->rt->tls_server : lp->rt->tls_client);
	BIO_METHOD *m = bio_method();
	BIO *bio;

	if (!ssl || !m || !(bio = BIO_new(m))) {
		SSL_free(ssl);
		return -ENOMEM;
	}
	BIO_set_data(bio, s);
	SSL_set_bio(ssl, bio, bio); /* one reference, both ways */
	if (s->server) {
		SSL_set_accept_state(ssl);
	} else {
		SSL_set_connect_state(ssl);
		if (s->peer.proto == TPROTO_H1)
			SSL_set_alpn_protos(ssl, (const unsigned char *)"\x08http/1.1", 9);
		if (s->peer.name[0]) {
			SSL_set_tlsext_host_name(ssl, s->peer.name);
			SSL_set1_host(ssl, s->peer.name);
		}
	}
	s->ssl = ssl;
	s->tls = true;
	s->state = SESS_HANDSHAKE;
	return 0;
}

/* ---- HTTP/2 ---- */

static void submit_request(struct sess *s, struct conn *c);

/* DATA for a stream: how much the half writing to it holds. The bytes themselves are
 * copied once, straight into the output, by send_data (NO_COPY). */
static ssize_t data_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct sess *s = ud;
	struct conn *c = stream_flow(ng, sid);
	struct half *h;
	size_t avail;

	(void)src;
	(void)buf;
	if (!c)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (c->state != CONN_RELAY)
		return NGHTTP2_ERR_DEFERRED;
	h = &c->h[1 - flow_side(s, c)];
	avail = conn_half_avail(h);
	if (avail > len)
		avail = len;
	else if (h->eof)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	if (!avail && !(*flags & NGHTTP2_DATA_FLAG_EOF))
		return NGHTTP2_ERR_DEFERRED;
	if (avail)
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	return (ssize_t)avail;
}

static int send_data(nghttp2_session *ng, nghttp2_frame *f, const uint8_t *framehd, size_t len,
		     nghttp2_data_source *src, void *ud)
{
	struct sess *s = ud;
	struct conn *c = stream_flow(ng, f->hd.stream_id);
	struct half *h;

	(void)src;
	if (!c)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	h = &c->h[1 - flow_side(s, c)];
	/* the 9-byte header, then the bytes straight from the flow's buffers: over TLS the
	 * header is a record of its own, which costs less than copying a frame (up to
	 * SESS_FRAME_MAX) together just to seal it in one piece */
	if (sess_out(s, framehd, 9))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	s->bytes += 9 + len;
	while (len) {
		const uint8_t *p;
		size_t n;

		conn_half_peek(h, &p, &n);
		if (!n)
			return NGHTTP2_ERR_CALLBACK_FAILURE; /* data_read promised more */
		if (n > len)
			n = len;
		if (sess_out(s, p, n))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		conn_half_consumed(s->loop, h, n);
		len -= n;
	}
	return 0;
}

/* DATA frames as large as the windows and the peer's frame size allow. */
static ssize_t data_len(nghttp2_session *ng, uint8_t type, int32_t sid, int32_t conn_win, int32_t stream_win,
			uint32_t max_frame, void *ud)
{
	int32_t n = conn_win < stream_win ? conn_win : stream_win;

	(void)ng;
	(void)type;
	(void)sid;
	(void)ud;
	if ((uint32_t)n > max_frame)
		n = (int32_t)max_frame;
	if (n > SESS_FRAME_MAX)
		n = SESS_FRAME_MAX;
	return n > 0 ? n : 1;
}

void sess_stream_kick(struct loop *lp, struct conn *c, int side)
{
	struct sess *s = c->ss[side];

	(void)lp;
	if (s && s->h1) {
		sess_dirty(s); /* h1_output pulls at flush time */
		return;
	}
	if (!s || !s->ng || c->sid[side] <= 0 || c->s_ended[side])
		return;
	nghttp2_session_resume_data(NG(s), c->sid[side]);
	sess_dirty(s);
}

void sess_stream_consumed(struct conn *c, int side, size_t n)
{
	struct sess *s = c->ss[side];

	if (s && s->h1) {
		sess_dirty(s); /* room again: sess_flush resumes reading */
		return;
	}
	if (!s || !s->ng || c->sid[side] <= 0)
		return;
	nghttp2_session_consume(NG(s), c->sid[side], n);
	sess_dirty(s);
}

void sess_reply(struct loop *lp, struct conn *c, int status, const char *h1_text, size_t h1_len)
{
	struct sess *s = c->ss[0];
	char st[8];
	nghttp2_nv nv[] = {
		{ (uint8_t *)":status", (uint8_t *)st, 7, 0, NGHTTP2_NV_FLAG_NONE },
	};
	nghttp2_data_provider prd = { .read_callback = data_read };

	(void)lp;
	if (s && s->h1) {
		if (sess_out(s, (const uint8_t *)h1_text, h1_len))
			log_debug("conn %llu: cannot answer over TLS", (unsigned long long)c->id);
		if (status != 200) {
			c->s_ended[0] = true;
			SSL_shutdown(SSLP(s));
		}
		sess_dirty(s);
		return;
	}
	if (!s || c->sid[0] <= 0)
		return;
	snprintf(st, sizeof(st), "%d", status);
	nv[0].valuelen = strlen(st);
	/* 200 keeps the stream open for the tunnel's DATA; an error ends it */
	if (nghttp2_submit_response(NG(s), c->sid[0], nv, 1, status == 200 ? &prd : NULL))
		log_debug("conn %llu: cannot answer stream %d", (unsigned long long)c->id, c->sid[0]);
	if (status != 200)
		c->s_ended[0] = true;
	sess_dirty(s);
}

/* The request head of a server stream, gathered as HTTP/1.1 lines in c->hbuf:
 * pseudo-header fields first as ":name: value" lines. */
static int hbuf_add(struct conn *c, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
	if (!c->hbuf && !(c->hbuf = malloc(TUNNEL_HEAD_MAX)))
		return -ENOMEM;
	if (c->hlen + nlen + vlen + 4 > TUNNEL_HEAD_MAX - 64)
		return -EMSGSIZE;
	memcpy(c->hbuf + c->hlen, name, nlen);
	c->hlen += nlen;
	memcpy(c->hbuf + c->hlen, ": ", 2);
	c->hlen += 2;
	memcpy(c->hbuf + c->hlen, value, vlen);
	c->hlen += vlen;
	memcpy(c->hbuf + c->hlen, "\r\n", 2);
	c->hlen += 2;
	return 0;
}

static const char *hbuf_pseudo(const struct conn *c, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (size_t off = 0; off < c->hlen;) {
		const char *line = c->hbuf + off;
		const char *end = memmem(line, c->hlen - off, "\r\n", 2);

		if (!end)
			break;
		if ((size_t)(end - line) > nl + 1 && !memcmp(line, name, nl) && line[nl] == ':' && line[nl + 1] == ' ') {
			*len = (size_t)(end - line) - nl - 2;
			return line + nl + 2;
		}
		off = (size_t)(end - c->hbuf) + 2;
	}
	*len = 0;
	return NULL;
}

/* Rewrites the gathered fields as "METHOD AUTHORITY HTTP/1.1" + the regular fields and
 * hands it to tunnel_head; an h2-post request to our path counts as CONNECT. Any other
 * method is an explicit proxy request: the stream leaves its flow for the http action. */
static void server_request_done(struct sess *s, struct conn *c)
{
	struct loop *lp = s->loop;
	size_t ml, al, pl;
	const char *m = hbuf_pseudo(c, ":method", &ml), *a = hbuf_pseudo(c, ":authority", &al);
	const char *p = hbuf_pseudo(c, ":path", &pl);
	char *out;
	size_t n = 0;

	if (m && ml == 4 && !memcmp(m, "POST", 4) && p && lp->cfg->tunnel_post_path[0] &&
	    pl == strlen(lp->cfg->tunnel_post_path) && !memcmp(p, lp->cfg->tunnel_post_path, pl))
		m = "CONNECT", ml = 7;
	if (m && !(ml == 7 && !memcmp(m, "CONNECT", 7))) {
		int32_t sid = c->sid[0];
		bool end = c->h[0].eof;
		char *lines = c->hbuf;
		size_t len = c->hlen;

		c->hbuf = NULL;
		nghttp2_session_set_stream_user_data(NG(s), sid, NULL);
		flow_unlink(s, c, 0);
		conn_hand_over(lp, c); /* a stream: no socket comes back */
		h2dn_tunnel_stream(lp, s, sid, lines, len, end);
		free(lines);
		return;
	}
	/* counted once known to be a tunnel (a proxy request counts as the http action's) */
	lp->st.tunnel_requests++;
	lp->st.h2_streams++;
	out = malloc(TUNNEL_HEAD_MAX);
	if (!out) {
		conn_abort(lp, c, false, false);
		conn_maybe_free(lp, c);
		return;
	}
	n = (size_t)snprintf(out, TUNNEL_HEAD_MAX, "%.*s %.*s HTTP/1.1\r\n", (int)ml, m ? m : "-", (int)al,
			     a ? a : "-");
	for (size_t off = 0; off < c->hlen;) {
		const char *line = c->hbuf + off;
		const char *end = memmem(line, c->hlen - off, "\r\n", 2);
		size_t len = (size_t)(end - line) + 2;

		if (line[0] != ':' && n + len < TUNNEL_HEAD_MAX - 2) {
			memcpy(out + n, line, len);
			n += len;
		}
		off += len;
	}
	memcpy(out + n, "\r\n", 2);
	n += 2;
	free(c->hbuf);
	c->hbuf = out;
	c->hlen = 0;
	tunnel_head(lp, c, (int)n);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct sess *s = ud;
	struct loop *lp = s->loop;
	struct conn *c;

	if (!s->server || f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (lp->draining) {
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	c = conn_new(lp, -1);
	if (!c) {
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	c->tunnel_server = true;
	c->state = CONN_TUNNEL_HEAD;
	c->peer = s->paddr;
	c->sid[0] = f->hd.stream_id;
	flow_link(s, c, 0);
	nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, c);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct sess *s = ud;
	struct conn *c = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);

	if (h2dn_is_stream(c))
		return h2dn_callbacks.header(ng, f, name, nlen, value, vlen, flags, ud);
	if (!c || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (s->server && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		if (hbuf_add(c, name, nlen, value, vlen))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* too large: the stream is reset */
	} else if (!s->server && nlen == 7 && !memcmp(name, ":status", 7)) {
		c->resp_status = 0;
		for (size_t i = 0; i < vlen && i < 3; i++)
			c->resp_status = c->resp_status * 10 + (value[i] - '0');
	}
	return 0;
}

/* The peer's answer to our CONNECT (client side). */
static void client_response(struct sess *s, struct conn *c)
{
	struct loop *lp = s->loop;
	char name[ADDR_STRLEN];

	if (c->state != CONN_TUNNEL_RESP || c->resp_status / 100 == 1)
		return;
	if (c->resp_status != 200) {
		log_info("conn %llu: tunnel peer %s answered %d to CONNECT", (unsigned long long)c->id,
			 sess_name(s, name, sizeof(name)), c->resp_status);
		conn_fail_attempt(lp, c, c->resp_status == 504 ? -ETIMEDOUT : c->resp_status == 403 ? -EACCES : -ECONNREFUSED);
		return;
	}
	hist_add(&lp->st.tunnel_setup_seconds, (double)(loop_now_ns() - c->setup_start_ns) / 1e9);
	metrics_peer_attempt(lp, c, 0);
	/* a relay hop answers its own client now */
	if (c->tunnel_server && tunnel_established(lp, c)) {
		c->state = CONN_RELAY;
		conn_abort(lp, c, true, true);
		conn_maybe_free(lp, c);
		return;
	}
	conn_start_relay(lp, c);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct sess *s = ud;
	struct conn *c;
	int side;

	if (f->hd.type == NGHTTP2_GOAWAY) {
		s->goaway = true;
		return 0;
	}
	if (f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS)
		return 0;
	c = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
	if (h2dn_is_stream(c))
		return h2dn_callbacks.frame_recv(ng, f, ud);
	if (!c || c->state == CONN_CLOSING)
		return 0;
	side = flow_side(s, c);
	if (f->hd.type == NGHTTP2_HEADERS) {
		if (s->server && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
			if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
				c->h[0].eof = true;
			server_request_done(s, c);
			return 0;
		}
		if (!s->server && f->headers.cat == NGHTTP2_HCAT_RESPONSE) {
			client_response(s, c);
			/* a refusal moved the flow on (a new stream, or gone: c may be freed) */
			if (stream_flow(ng, f->hd.stream_id) != c || c->state == CONN_CLOSING)
				return 0;
		}
	}
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
		conn_stream_eof(s->loop, c, side);
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	struct sess *s = ud;
	struct conn *c = nghttp2_session_get_stream_user_data(ng, sid);
	struct half *h;
	int err;

	if (h2dn_is_stream(c))
		return h2dn_callbacks.data(ng, flags, sid, data, len, ud);
	if (!c || c->state == CONN_CLOSING) {
		nghttp2_session_consume(ng, sid, len);
		return 0;
	}
	h = &c->h[flow_side(s, c)];
	err = conn_half_append(h, data, len);
	if (err == -ENOMEM)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (err) {
		/* more than the window we gave: a flow-control violation */
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, sid, NGHTTP2_FLOW_CONTROL_ERROR);
		return 0;
	}
	c->last_active_ms = s->loop->now_ms;
	conn_half_kick(s->loop, h);
	return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
	struct sess *s = ud;
	struct conn *c;
	int side;

	if ((f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	c = stream_flow(ng, f->hd.stream_id);
	if (!c)
		return 0;
	side = flow_side(s, c);
	c->s_ended[side] = true;
	c->h[1 - side].shut_done = true;
	if (c->state == CONN_RELAY)
		conn_check_done(s->loop, c);
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t err, void *ud)
{
	struct sess *s = ud;
	struct loop *lp = s->loop;
	struct conn *c = nghttp2_session_get_stream_user_data(ng, sid);
	int side;

	if (h2dn_is_stream(c))
		return h2dn_callbacks.stream_close(ng, sid, err, ud);
	if (!c)
		return 0;
	side = flow_side(s, c);
	nghttp2_session_set_stream_user_data(ng, sid, NULL);
	flow_unlink(s, c, side);
	c->sid[side] = -1;
	if (c->state == CONN_CLOSING) {
		conn_maybe_free(lp, c);
		return 0;
	}
	if (side == 1 && (c->state == CONN_TUNNEL_WAIT || c->state == CONN_TUNNEL_RESP)) {
		/* refused (REFUSED_STREAM, or no answer) before the tunnel was up: next peer */
		c->sside[1] = false;
		conn_fail_attempt(lp, c, err == NGHTTP2_REFUSED_STREAM ? -ECONNREFUSED : -ECONNRESET);
		return 0;
	}
	if (err != NGHTTP2_NO_ERROR || !c->h[side].eof || !c->s_ended[side]) {
		/* reset (RST_STREAM), or closed before both directions ended: reset the sockets */
		log_debug("conn %llu: stream %d closed: %s", (unsigned long long)c->id, sid, nghttp2_http2_strerror(err));
		lp->st.h2_resets++;
		lp->st.resets++;
		conn_abort(lp, c, true, true);
		conn_maybe_free(lp, c);
		return 0;
	}
	conn_check_done(lp, c);
	return 0;
}

static int on_not_send(nghttp2_session *ng, const nghttp2_frame *f, int err, void *ud)
{
	struct sess *s = ud;
	struct conn *c;

	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	c = stream_flow(ng, f->hd.stream_id);
	if (!c || s->server || c->state != CONN_TUNNEL_RESP)
		return 0;
	/* e.g. the peer's stream limit shrank or GOAWAY: this stream never left */
	nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, NULL);
	flow_unlink(s, c, 1);
	c->sside[1] = false;
	log_debug("conn %llu: CONNECT not sent: %s", (unsigned long long)c->id, nghttp2_strerror(err));
	conn_fail_attempt(s->loop, c, -ECONNREFUSED);
	return 0;
}

static int h2_start(struct sess *s)
{
	struct loop *lp = s->loop;
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_session *ng = NULL;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->server ? SERVER_MAX_STREAMS : 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WIN },
		{ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, SESS_FRAME_MAX },
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
	};
	int rv;

	if (nghttp2_session_callbacks_new(&cb))
		goto nomem;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_not_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_send_data_callback(cb, send_data);
	nghttp2_session_callbacks_set_data_source_read_length_callback(cb, data_len);
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		goto nomem;
	}
	/* windows open as bytes leave, not as they arrive */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
	rv = s->server ? nghttp2_session_server_new2(&ng, cb, s, opt) : nghttp2_session_client_new2(&ng, cb, s, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (rv)
		goto nomem;
	s->ng = ng;
	/* a client never opens a stream to us: 0 is "none" (and skipped for servers' sake) */
	nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, s->server ? iv : iv + 1, s->server ? 4 : 3);
	nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0, SESS_CONN_WINDOW);
	s->state = SESS_OPEN;
	lp->st.sess_opened++;
	if (!s->server)
		for (struct conn *c = s->flows; c; c = c->snext[flow_side(s, c)])
			if (c->state == CONN_TUNNEL_WAIT)
				submit_request(s, c);
	sess_dirty(s);
	return 0;
nomem:
	sess_close(s, -ENOMEM, "out of memory for HTTP/2");
	return -ENOMEM;
}

/* ---- HTTP/1.1 CONNECT over TLS: one flow per session ---- */

static struct conn *h1_flow(const struct sess *s)
{
	return s->flows;
}

/* Bytes the flow can take from the session now. */
static size_t h1_room(const struct sess *s)
{
	const struct conn *c = h1_flow(s);
	int side;

	if (!c)
		return SESS_RBUF; /* nothing to stall for: a close is coming */
	side = flow_side(s, c);
	if ((c->state == CONN_TUNNEL_HEAD && s->server) || (c->state == CONN_TUNNEL_RESP && !s->server))
		return TUNNEL_HEAD_MAX - (s->server ? c->hlen : c->rlen);
	return STREAM_WIN - c->h[side].sq_len;
}

static void h1_start(struct sess *s)
{
	struct loop *lp = s->loop;
	struct conn *c;

	s->state = SESS_OPEN;
	lp->st.sess_opened++;
	if (!s->server) {
		if ((c = h1_flow(s)))
			submit_request(s, c);
		return;
	}
	/* the one flow, waiting for its CONNECT head like a socket accepted by tunnel.c */
	c = conn_new(lp, -1);
	if (!c || !(c->hbuf = malloc(TUNNEL_HEAD_MAX))) {
		if (c) {
			c->state = CONN_CLOSING;
			conn_maybe_free(lp, c);
		}
		sess_close(s, -ENOMEM, "out of memory");
		return;
	}
	c->tunnel_server = true;
	c->state = CONN_TUNNEL_HEAD;
	c->peer = s->paddr;
	c->sid[0] = 1;
	flow_link(s, c, 0);
	lp->st.tunnel_requests++;
}

/* The peer's answer to our CONNECT, decrypted. */
static void h1_client_head(struct sess *s, struct conn *c, const uint8_t *p, size_t n)
{
	struct loop *lp = s->loop;
	struct h1_response resp;
	int hl;

	if (!c->rbuf && !(c->rbuf = malloc(TUNNEL_HEAD_MAX))) {
		conn_fail_attempt(lp, c, -ENOMEM);
		return;
	}
	memcpy(c->rbuf + c->rlen, p, n);
	c->rlen += n;
	hl = h1_parse_response(c->rbuf, c->rlen, NULL, &resp);
	if (hl == 0 && c->rlen < TUNNEL_HEAD_MAX)
		return;
	if (hl <= 0 || resp.status != 200) {
		c->resp_status = hl > 0 ? resp.status : 0;
		client_response(s, c);
		return;
	}
	/* bytes after the answer are the flow's: they wait in its ring like stream data */
	if (conn_half_append(&c->h[1], c->rbuf + hl, c->rlen - (size_t)hl)) {
		conn_fail_attempt(lp, c, -ENOMEM);
		return;
	}
	free(c->rbuf);
	c->rbuf = NULL;
	c->rlen = 0;
	c->resp_status = 200;
	client_response(s, c);
}

static void h1_input(struct sess *s, const uint8_t *p, size_t n)
{
	struct loop *lp = s->loop;
	struct conn *c = h1_flow(s);
	struct half *h;
	int side;

	if (!c || c->state == CONN_CLOSING)
		return;
	side = flow_side(s, c);
	if (!p) {
		if (c->state == CONN_RELAY) {
			conn_stream_eof(lp, c, side);
		} else if (s->server) {
			/* gone before its tunnel was up */
			c->state = CONN_RELAY;
			conn_abort(lp, c, false, true);
			conn_maybe_free(lp, c);
		} else {
			conn_fail_attempt(lp, c, -ECONNRESET);
		}
		return;
	}
	if (s->server && c->state == CONN_TUNNEL_HEAD) {
		memcpy(c->hbuf + c->hlen, p, n);
		tunnel_head(lp, c, (int)n);
		return;
	}
	if (!s->server && c->state == CONN_TUNNEL_RESP) {
		h1_client_head(s, c, p, n);
		return;
	}
	h = &c->h[side];
	/* h1_room() kept n within the window: only memory can fail */
	if (conn_half_append(h, p, n)) {
		conn_abort(lp, c, true, true);
		conn_maybe_free(lp, c);
		return;
	}
	c->last_active_ms = lp->now_ms;
	conn_half_kick(lp, h);
}

/* The flow's bytes for the peer, encrypted; its EOF is close_notify. */
static void h1_output(struct sess *s)
{
	struct conn *c = h1_flow(s);
	struct half *h;
	int side;

	if (!c || c->state != CONN_RELAY)
		return;
	side = flow_side(s, c);
	h = &c->h[1 - side];
	while (ob_fill(s)->len < SESS_OBUF_MAX) {
		const uint8_t *p;
		size_t n;

		conn_half_peek(h, &p, &n);
		if (!n)
			break;
		if (sess_out(s, p, n)) {
			sess_close(s, -ENOMEM, "out of memory for output");
			return;
		}
		s->bytes += n;
		conn_half_consumed(s->loop, h, n);
	}
	if (h->eof && !conn_half_avail(h) && !c->s_ended[side]) {
		SSL_shutdown(SSLP(s));
		c->s_ended[side] = true;
		h->shut_done = true;
		conn_check_done(s->loop, c);
	}
}

/* ---- client: pooled connections to peers ---- */

static bool same_peer(const struct cfg_peer *a, const struct cfg_peer *b)
{
	return a->proto == b->proto && a->tls == b->tls && !strcmp(a->name, b->name) &&
	       a->addr.len == b->addr.len && !memcmp(&a->addr.ss, &b->addr.ss, a->addr.len);
}

static struct sess *pool_find(struct loop *lp, const struct cfg_peer *p)
{
	for (struct sess *s = lp->sessions; s; s = s->next) {
		uint32_t limit = lp->cfg->h2_max_streams;

		if (s->server || s->state == SESS_CLOSING || s->goaway || s->busy || !same_peer(&s->peer, p) ||
		    p->proto == TPROTO_H1)
			continue;
		if (s->state == SESS_OPEN) {
			uint32_t remote = nghttp2_session_get_remote_settings(NG(s), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);

			if (remote < limit)
				limit = remote;
		}
		if (s->n_flows < limit)
			return s;
	}
	return NULL;
}

static struct sess *sess_connect(struct loop *lp, const struct cfg_peer *p, int *err)
{
	struct io_uring_sqe *sqe;
	struct sess *s;
	int fd, mark = (int)lp->cfg->mark;

	fd = socket(p->addr.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		*err = -errno;
		close(fd);
		return NULL;
	}
	{
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	s = sess_new(lp, fd, false);
	if (!s) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	s->peer = *p;
	addr_to_hermes((const struct sockaddr *)&p->addr.ss, &s->paddr);
	s->state = SESS_CONNECTING;
	memcpy(&s->dst_ss, &p->addr.ss, p->addr.len);
	sqe = loop_sqe(lp, &s->op_connect, sess_connect_done);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&s->dst_ss, p->addr.len);
	sqe->flags |= IOSQE_IO_LINK;
	s->ts.tv_sec = lp->cfg->connect_timeout_ms / 1000;
	s->ts.tv_nsec = (long long)(lp->cfg->connect_timeout_ms % 1000) * 1000000;
	io_uring_prep_link_timeout(loop_sqe(lp, &s->op_aux, sess_aux_done), &s->ts, 0);
	s->inflight += 2;
	return s;
}

/* The flow's Hermes-* identity lines ("Name: value\r\n") as HTTP/2 fields (lower case). */
static size_t ident_nv(struct conn *c, nghttp2_nv *nv, size_t max)
{
	size_t n = 0;

	if (!c->ident)
		return 0;
	for (char *p = c->ident; *p && n < max;) {
		char *colon = strchr(p, ':'), *eol = strstr(p, "\r\n");

		if (!colon || !eol || colon > eol)
			break;
		for (char *q = p; q < colon; q++)
			*q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
		nv[n].name = (uint8_t *)p;
		nv[n].namelen = (size_t)(colon - p);
		nv[n].value = (uint8_t *)colon + 2;
		nv[n].valuelen = (size_t)(eol - colon - 2);
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
		n++;
		p = eol + 2;
	}
	return n;
}

static void submit_request(struct sess *s, struct conn *c)
{
	struct loop *lp = s->loop;
	struct sockaddr_storage ss;
	char authority[ADDR_STRLEN];
	nghttp2_nv nv[24];
	nghttp2_data_provider prd = { .read_callback = data_read };
	size_t n = 0;
	int32_t sid;

	if (s->h1) {
		char *req = NULL;
		int len;

		addr_from_hermes(&c->target, &ss);
		addr_fmt((struct sockaddr *)&ss, authority, sizeof(authority));
		len = asprintf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", authority, authority,
			       c->ident ? c->ident : "");
		if (len < 0 || sess_out(s, (const uint8_t *)req, (size_t)len)) {
			free(req);
			conn_fail_attempt(lp, c, -ENOMEM);
			return;
		}
		free(req);
		c->sid[1] = 1;
		c->rlen = 0;
		c->state = CONN_TUNNEL_RESP;
		sess_dirty(s);
		return;
	}

#define NV(k, v) \
	nv[n++] = (nghttp2_nv){ (uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE }
	addr_from_hermes(&c->target, &ss);
	addr_fmt((struct sockaddr *)&ss, authority, sizeof(authority));
	if (s->peer.proto == TPROTO_H2_POST) {
		NV(":method", "POST");
		NV(":scheme", s->tls ? "https" : "http");
		NV(":path", s->peer.path);
		NV(":authority", authority);
	} else {
		NV(":method", "CONNECT");
		NV(":authority", authority);
	}
#undef NV
	n += ident_nv(c, nv + n, sizeof(nv) / sizeof(nv[0]) - n);
	sid = nghttp2_submit_request(NG(s), NULL, nv, n, &prd, c);
	if (sid < 0) {
		/* this connection has no stream ids left: the next flow gets a new one */
		s->goaway = true;
		flow_unlink(s, c, 1);
		c->sside[1] = false;
		sess_attach(lp, c, &s->peer);
		return;
	}
	c->sid[1] = sid;
	c->state = CONN_TUNNEL_RESP;
	lp->st.h2_streams++;
	sess_dirty(s);
}

void sess_attach(struct loop *lp, struct conn *c, const struct cfg_peer *p)
{
	struct sess *s = pool_find(lp, p);
	int err = 0;

	if (!s && !(s = sess_connect(lp, p, &err))) {
		c->state = CONN_TUNNEL_WAIT;
		c->sside[1] = false;
		conn_fail_attempt(lp, c, err);
		return;
	}
	c->state = CONN_TUNNEL_WAIT;
	c->resp_status = 0;
	c->connect_start_ns = loop_now_ns();
	flow_link(s, c, 1);
	c->sid[1] = 0;
	c->s_ended[1] = false;
	if (s->state == SESS_OPEN)
		submit_request(s, c);
}

/* ---- server: the tunnel listener ---- */

void sess_accept(struct loop *lp, int fd)
{
	struct sess *s = sess_new(lp, fd, true);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!s) {
		close(fd);
		return;
	}
	if (!getpeername(fd, (struct sockaddr *)&ss, &len))
		addr_to_hermes((struct sockaddr *)&ss, &s->paddr);
	{
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	s->state = SESS_SNIFF;
	sess_arm_recv(s);
}

/* Clear text on a listener with tls set (and tunnel.allow_cleartext off): the client is
 * told in its own protocol, the refusal logged and counted, the connection closed. What
 * it sent so far is read first, so that the close does not turn into a reset that could
 * overtake the answer. */
static void refuse_cleartext(struct sess *s, bool h2c)
{
	static const char body[] = "this hermes tunnel listener serves TLS only (mutual TLS with a client certificate); "
				   "clear text is refused\n";
	static const uint8_t goaway[] = {
		0, 0, 0, 4, 0, 0, 0, 0, 0,                 /* SETTINGS, empty: the server preface */
		0, 0, 20, 7, 0, 0, 0, 0, 0,                /* GOAWAY, 20 bytes, stream 0 */
		0, 0, 0, 0, 0, 0, 0, 0xc,                  /* last stream 0, INADEQUATE_SECURITY */
		'T', 'L', 'S', ' ', 'r', 'e', 'q', 'u', 'i', 'r', 'e', 'd',
	};
	struct loop *lp = s->loop;
	char name[ADDR_STRLEN], resp[320];
	int n;

	for (int i = 0; i < 4 && recv(s->fd, lp->scratch, SESS_RBUF, MSG_DONTWAIT) > 0; i++)
		;
	if (h2c) {
		(void)!send(s->fd, goaway, sizeof(goaway), MSG_NOSIGNAL | MSG_DONTWAIT);
	} else {
		n = snprintf(resp, sizeof(resp), "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", sizeof(body) - 1, body);
		(void)!send(s->fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	shutdown(s->fd, SHUT_WR);
	lp->st.tunnel_cleartext_refused[h2c]++;
	log_warn("tunnel connection from %s refused: clear-text %s on a tunnel listener with tls set (TLS with a "
		 "client certificate only; tunnel.allow_cleartext: true in %s serves clear text too)",
		 sess_name(s, name, sizeof(name)), h2c ? "h2c" : "HTTP/1.1 (CONNECT or proxy request)",
		 lp->config_path ? lp->config_path : "the config");
	sess_close(s, 0, "clear text refused");
}

static void on_sniff(struct sess *s, int res)
{
	struct loop *lp = s->loop;
	char name[ADDR_STRLEN];

	if (res <= 0) {
		sess_close(s, 0, "closed before sending anything");
		return;
	}
	if (s->rbuf[0] == 0x16) {
		if (!lp->rt->tls_server) {
			log_warn("tunnel connection from %s speaks TLS, but this hermesd has no tls section: closing",
				 sess_name(s, name, sizeof(name)));
			sess_close(s, -EPROTO, "TLS without a tls section");
			return;
		}
		if (sess_tls_new(s)) {
			sess_close(s, -ENOMEM, "out of memory for TLS");
			return;
		}
		sess_arm_recv(s);
		return;
	}
	if (lp->rt->tls_server && !lp->cfg->tunnel_allow_cleartext) {
		refuse_cleartext(s, s->rbuf[0] == 'P');
		return;
	}
	if (s->rbuf[0] == 'P') {
		/* the h2c preface "PRI * HTTP/2.0"; nghttp2 checks the rest */
		if (!h2_start(s))
			sess_arm_recv(s);
		return;
	}
	/* HTTP/1.1 CONNECT: tunnel.c takes the socket over */
	tunnel_accept(lp, s->fd);
	s->fd = -1;
	s->state = SESS_CLOSING;
}

static void on_recv(struct sess *s, int res)
{
	s->recv_armed = false;
	if (s->state == SESS_CLOSING)
		return;
	if (s->state == SESS_SNIFF) {
		on_sniff(s, res);
		return;
	}
	if (res == 0 && s->h1 && s->state == SESS_OPEN) {
		/* after close_notify (or as a half-close): records still buffered are the flow's */
		s->tcp_eof = true;
		tls_read_more(s);
		sess_dirty(s);
		return;
	}
	if (res <= 0) {
		if (res == 0 && (s->goaway || (!s->n_flows && !h2dn_tunnel_streams(s))))
			sess_close(s, 0, "the peer closed the connection");
		else
			sess_close(s, res ? res : -ECONNRESET,
				   res ? strerror(-res) : "the peer closed the connection with flows open");
		return;
	}
	s->bytes += (uint64_t)res;
	if (s->tls) {
		s->rin_off = 0;
		s->rin_len = (size_t)res;
		if (s->state == SESS_HANDSHAKE)
			tls_handshake(s);
		else
			tls_read_more(s);
	} else {
		h2_feed(s, s->rbuf, (size_t)res);
	}
	/* an HTTP/1.1 session whose flow is full left ciphertext in rbuf: not yet */
	if (!s->tls || s->rin_off >= s->rin_len)
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
	} else if (h2_start(s)) {
		return;
	}
	sess_arm_recv(s);
	sess_dirty(s);
}

static void on_sent(struct sess *s, int res)
{
	struct sess_obuf *o = &s->ob[s->ob_send];

	s->send_inflight = false;
	if (s->state == SESS_CLOSING)
		return;
	if (res < 0) {
		sess_close(s, res, strerror(-res));
		return;
	}
	o->off += (size_t)res;
	if (o->off >= o->len) {
		/* all out: the other buffer (filled meanwhile) goes next */
		o->off = o->len = 0;
		s->ob_send = 1 - s->ob_send;
	}
	sess_dirty(s);
}

static void sess_connect_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_connect);

	(void)lp;
	s->inflight--;
	on_connect(s, cqe->res);
	sess_maybe_free(s);
}

static void sess_recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_recv);

	(void)lp;
	s->inflight--;
	on_recv(s, cqe->res);
	sess_maybe_free(s);
}

static void sess_send_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_send);

	(void)lp;
	s->inflight--;
	on_sent(s, cqe->res);
	sess_maybe_free(s);
}

void sess_tick(struct loop *lp)
{
	for (struct sess *s = lp->sessions, *n; s; s = n) {
		uint64_t rate_mbps = (s->bytes - s->bytes_mark) * 8 / 1000000;

		n = s->next;
		s->bytes_mark = s->bytes;
		/* a busy connection takes no new flows (a new one opens); a tick is ~1 s */
		s->busy = lp->cfg->h2_pool_mbps && rate_mbps > lp->cfg->h2_pool_mbps;
		if (s->state == SESS_CLOSING)
			continue;
		if (h2dn_tunnel_streams(s))
			s->idle_since_ms = lp->now_ms; /* serving requests: not idle */
		if ((s->state == SESS_SNIFF || s->state == SESS_HANDSHAKE) && lp->now_ms - s->started_ms > SESS_SETUP_MS) {
			if (!s->server)
				lp->st.sess_tls_failed++;
			sess_close(s, -ETIMEDOUT, "TLS handshake timed out");
		} else if (!s->n_flows && !h2dn_tunnel_streams(s) &&
			   (lp->draining || lp->now_ms - s->idle_since_ms > (s->server ? lp->cfg->idle_timeout_ms : SESS_IDLE_MS))) {
			/* a pooled connection of ours goes after a minute unused; one a client keeps
			 * open with no stream, after proxy.idle_timeout_ms */
			if (s->ng) {
				nghttp2_session_terminate_session(NG(s), NGHTTP2_NO_ERROR);
				sess_flush(s);
			}
			sess_close(s, 0, lp->draining ? "draining" : "idle");
		} else if (lp->draining && s->server && s->ng && !s->goaway) {
			/* no new streams; the open ones finish */
			nghttp2_submit_shutdown_notice(NG(s));
			s->goaway = true;
			sess_dirty(s);
		}
	}
}

/* The TLS contexts belong to the runtime snapshot (runtime.c): a session takes the
 * current one's when it starts. */
int sess_init(struct loop *lp)
{
	lp->scratch = malloc(SESS_RBUF);
	if (!lp->scratch)
		return -ENOMEM;
	return 0;
}

void sess_fini(struct loop *lp)
{
	free(lp->scratch);
	lp->scratch = NULL;
}
