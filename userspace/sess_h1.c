/* sess_h1.c: HTTP/1.1 CONNECT over TLS (ALPN http/1.1, or none). Such a tunnel
 * connection carries exactly one flow, with no framing: its endpoint is a TLS byte
 * stream, whose plaintext waits in a ring (EP_RING_SIZE, reading stops while it is full)
 * and whose end is close_notify. The CONNECT itself is tunnel.c's, as over TCP: the
 * server reads the request head from the endpoint and answers through it; the client
 * sends its request and reads the answer the same way. It is never pooled. */
#include <errno.h>
#include <stdlib.h>

#include "ep.h"
#include "ring.h"
#include "sock.h"
#include "sess-int.h"

#define ST(e) loop_container_of(e, struct sstream, e)

static struct sstream *flow(const struct sess *s)
{
	return list_first(&s->streams, struct sstream, link);
}

size_t sess_h1_room(const struct sess *s)
{
	const struct sstream *st = flow(s);

	if (!st)
		return SESS_RBUF; /* nothing to stall for: a close is coming */
	return EP_RING_SIZE - st->rx.len;
}

void sess_h1_start(struct sess *s)
{
	struct loop *lp = s->loop;
	struct sstream *st;

	s->state = SESS_OPEN;
	lp->st.sess_opened++;
	if (!s->server) {
		if ((st = flow(s)))
			ep_up(&st->e); /* the flow sends its CONNECT */
		return;
	}
	/* the one flow, waiting for its CONNECT head like a socket accepted by tunnel.c */
	if (!(st = calloc(1, sizeof(*st)))) {
		sess_close(s, -ENOMEM, "out of memory");
		return;
	}
	ep_init(&st->e, &sess_h1_ops, NULL, NULL, 0);
	st->sid = 1;
	sess_link(s, st);
	if (lp->sess_acc->flow(lp, &st->e, &s->paddr)) {
		sess_unlink(st);
		sess_stream_free(st);
		sess_close(s, -ENOMEM, "out of memory");
	}
}

/* Plaintext from the peer (NULL: its end, close_notify or a bare FIN). */
void sess_h1_input(struct sess *s, const uint8_t *p, size_t n)
{
	struct sstream *st = flow(s);

	if (!st)
		return;
	if (!p) {
		st->e.eof = true;
		ep_data(&st->e);
		return;
	}
	/* sess_h1_room() kept n within the ring: only memory can fail */
	if (ep_ring_put(&st->rx, p, n)) {
		ep_error(&st->e, -ENOMEM);
		return;
	}
	if (st->started)
		st->e.bytes += n; /* a head and a CONNECT answer are not the flow's bytes */
	ep_data(&st->e);
}

/* The flow's bytes for the peer, encrypted; after its source's end, close_notify. */
void sess_h1_output(struct sess *s)
{
	struct sstream *st = flow(s);
	bool sent = false;
	struct ep *src;

	if (!st || !st->started || !(src = st->e.src))
		return;
	while (sess_out_len(s) < SESS_OBUF_MAX) {
		const uint8_t *p;
		size_t n;

		ep_peek(src, &p, &n);
		if (!n)
			break;
		if (sess_out(s, p, n)) {
			sess_close(s, -ENOMEM, "out of memory for output");
			return;
		}
		s->bytes += n;
		ep_consume(src, n);
		sent = true;
	}
	if (st->e.ending && !st->e.shut && !ep_avail(src)) {
		tls_xprt_shutdown(&s->x);
		st->e.shut = true;
		sent = true;
	}
	if (sent)
		ep_drained(&st->e);
}

/* ---- the endpoint ---- */

static void h1_dirty(struct ep *e)
{
	if (ST(e)->s)
		sess_dirty(ST(e)->s); /* the flush reads, writes and ends */
}

static int h1_write(struct ep *e, const void *p, size_t n)
{
	struct sess *s = ST(e)->s;
	int err;

	if (!s)
		return -ENOTCONN;
	err = sess_out(s, p, n);
	sess_dirty(s);
	return err;
}

static void h1_reply(struct ep *e, int status, const char *h1, size_t h1_len)
{
	struct sess *s = ST(e)->s;

	if (!s)
		return;
	(void)!sess_out(s, (const uint8_t *)h1, h1_len);
	if (status != 200) {
		e->shut = true;
		tls_xprt_shutdown(&s->x);
	}
	sess_dirty(s);
}

static void h1_consume(struct ep *e, size_t n)
{
	ep_ring_consume(&ST(e)->rx, n);
	h1_dirty(e); /* room again: the flush reads on */
}

/* The session was this flow's: a clean end says close_notify, anything else resets. */
static void h1_close(struct ep *e, enum ep_end how, bool orphan)
{
	struct sstream *st = ST(e);
	struct sess *s = st->s;

	if (s) {
		sess_unlink(st);
		if (how != EP_END_CLEAN && !(e->shut && e->eof)) {
			sock_reset_on_close(s->fd);
			sess_close(s, 0, "its flow was reset");
		} else {
			if (s->state == SESS_OPEN)
				tls_xprt_shutdown(&s->x); /* once: later calls do nothing */
			s->close_when_sent = true;
		}
		sess_dirty(s);
	}
	if (orphan)
		sess_stream_free(st);
}

const struct ep_ops sess_h1_ops = {
	.kind = "tls",
	.start = sess_stream_start,
	.read = h1_dirty,
	.write = h1_write,
	.reply = h1_reply,
	.peek = sess_stream_peek,
	.avail = sess_stream_avail,
	.consume = h1_consume,
	.kick = h1_dirty,
	.shutdown = h1_dirty, /* the flush sends close_notify once the source is empty */
	.close = h1_close,
	.busy = sess_stream_busy,
	.free = sess_stream_free_ep,
	.sock = sess_stream_sock,
};

struct ep *sess_h1_dial(struct loop *lp, const struct cfg_peer *p, const struct ep_owner_ops *own, void *owner,
			int *err)
{
	struct sstream *st = calloc(1, sizeof(*st));
	struct sess *s;

	if (!st) {
		*err = -ENOMEM;
		return NULL;
	}
	if (!(s = sess_connect(lp, p, err))) {
		free(st);
		return NULL;
	}
	ep_init(&st->e, &sess_h1_ops, own, owner, 1);
	st->client = true;
	st->sid = 1;
	sess_link(s, st);
	return &st->e;
}
