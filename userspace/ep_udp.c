/* ep_udp.c: the UDP endpoint of a CONNECT-UDP flow (RFC 9298) on the tunnel listener:
 * one UDP socket (SO_MARK, like every socket hermesd opens toward a target) connected
 * to the target, whose byte stream toward the relay is the Capsule Protocol (RFC 9297).
 * The tunnel client's side (the tunnel action for UDP, udp_tun.c) uses the same endpoint
 * in app mode: no socket of its own, the app's datagrams are pushed in (ep_udp_push)
 * and the peer's go out through the sink the UDP relay gave (the app's slot address);
 * the capsule handling, the limits and the counting are the same, counted apart
 * (hermes_tunnel_udp_client_*). In app mode the ring toward the stream is also the
 * queue of datagrams sent before the peer's answer.
 * The relay stays protocol-blind: the client's stream (an HTTP/2 stream, or the
 * connection after an HTTP/1.1 Upgrade) carries capsules both ways, and this endpoint
 * turns each DATAGRAM capsule with context ID 0 into one UDP datagram and each datagram
 * received into one DATAGRAM capsule, so datagram boundaries survive the byte stream.
 *
 * Toward the target: capsules are parsed (capsule.c) where the stream's bytes are; one
 * cut at their end is gathered in a buffer of one largest capsule; a datagram over
 * tunnel.udp_max_datagram_bytes, or any capsule too large for the buffer, is skipped by
 * its length and never held (counted, the stream goes on); a capsule of an unknown type
 * is skipped (RFC 9297 3.2); a datagram for another context ID is dropped (RFC 9298 4,
 * no extension here knows one). The datagrams go out non-blocking, up to UDP_TX_BATCH
 * at a time: a run of one size (and a shorter last one) in one GSO send (UDP_SEGMENT: the
 * kernel cuts it into those datagrams, one skb and route for the run), the others in
 * sendmmsg calls. A UDP send does not wait for a peer, and a datagram the kernel
 * cannot take now (a full socket buffer) is dropped and counted, as the network would
 * drop it. A capsule that cannot be read (a DATAGRAM without a whole context ID, a stream
 * that ends inside a capsule) is malformed (RFC 9297 3.3): the flow is reset.
 *
 * Toward the client: one recv at a time into a buffer with room for the capsule head
 * before the payload (MSG_TRUNC: a longer datagram is seen as such and dropped), the
 * capsule then waits in a ring for the client's stream; while the ring holds
 * UDP_OUT_MAX no recv is armed (the kernel's socket buffer holds, then drops, what
 * comes meanwhile: UDP's own backpressure).
 *
 * The end: UDP has none, so the flow ends when the client ends its stream (this side
 * then ends too) or, idle, by the flow's tick (tunnel.udp_idle_timeout_ms, conn.c).
 * Reports that follow from an op (a malformed capsule, the end) wait for one NOP turn
 * of the loop, as no op of an endpoint calls its owner back from inside itself. */
#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "capsule.h"
#include "config.h"
#include "ep.h"
#include "ep_udp.h"
#include "life.h"
#include "log.h"
#include "ring.h"
#include "sock.h"

#define UDP_OUT_MAX (256 * 1024) /* capsules toward the client waiting for its stream's window */
#define UDP_TX_BATCH 32          /* datagrams for the target gathered for one flush at most */
/* A GSO send's payload at most: what one IPv4 UDP datagram can carry (65507), rounded down */
#define UDP_GSO_BYTES 65000
#define UDP_HEADROOM 8           /* a DATAGRAM capsule's head: type 1, length up to 4, context 1 */
/* The target's answers wait in the socket's buffer for the one recv at a time: with the
 * default 208 KiB, 33 to 60 of 2000 echoed 1316-byte datagrams at 1000/s were dropped by
 * the kernel (UdpRcvbufErrors) on a loaded machine. A limit, not an allocation. */
#define UDP_RCVBUF (4 << 20)

struct ep_udp {
	struct ep e;
	struct loop *lp;
	int fd;                    /* -1 in app mode */
	struct ep_udp_sink sink;   /* app mode: where datagrams from the stream go */
	uint64_t *dgrams, *bytes, *drops; /* [enum tudp_dir], [enum tudp_drop]: this side's counters */
	struct life life;          /* closing: the owner closed it */
	bool orphan, connecting, recv_armed, relaying, turn_armed;
	int turn_err;              /* reported at the next turn: -EBADMSG, a malformed capsule */
	bool turn_end;             /* the client ended its stream: this side ends at the next turn */
	struct loop_op op_connect, op_recv, op_turn, op_aux;
	struct sockaddr_storage dst; /* read by the kernel when the connect is submitted */
	uint32_t max;              /* tunnel.udp_max_datagram_bytes when the flow began */
	uint32_t gso_max;          /* the largest datagram sent in GSO runs (lowered by a refusal) */
	uint8_t *rbuf;             /* UDP_HEADROOM + max: a datagram, its capsule head written before it */
	uint8_t *acc;              /* capsule bytes from the client, up to one whole capsule */
	size_t acc_len, acc_cap;
	uint64_t skip;             /* bytes still to skip of a capsule too large for acc */
	struct ep_ring out;        /* DATAGRAM capsules toward the client */
	struct udp_tally own;      /* where tally points until the owner gives its own */
	struct udp_tally *tally;   /* this flow's datagrams and drops (ep_udp_tally) */
};

#define UD(e) loop_container_of(e, struct ep_udp, e)

static const struct ep_ops udp_ops;
static loop_done_fn connect_done, recv_done, turn_done, aux_done;

static size_t mem_of(const struct ep_udp *u)
{
	return UDP_HEADROOM + u->max + u->acc_cap;
}

/* The endpoint without its socket: NULL with *err. */
static struct ep_udp *udp_new(struct loop *lp, const struct ep_owner_ops *own, void *owner, int side, int *err)
{
	struct ep_udp *u = calloc(1, sizeof(*u));

	if (!u) {
		*err = -ENOMEM;
		return NULL;
	}
	ep_init(&u->e, &udp_ops, own, owner, side);
	u->lp = lp;
	u->fd = -1;
	u->max = lp->cfg->tunnel_udp_max_dgram;
	u->gso_max = UINT16_MAX;
	u->tally = &u->own;
	/* a whole DATAGRAM capsule of max bytes, its context ID in up to 8 bytes */
	u->acc_cap = CAPSULE_HEAD_MAX + 8 + u->max;
	u->rbuf = malloc(UDP_HEADROOM + u->max);
	u->acc = malloc(u->acc_cap);
	u->out.max = UDP_OUT_MAX;
	u->dgrams = lp->st.tudp_dgrams;
	u->bytes = lp->st.tudp_bytes;
	u->drops = lp->st.tudp_drops;
	if (!u->rbuf || !u->acc) {
		*err = -ENOMEM;
		free(u->rbuf);
		free(u->acc);
		free(u);
		return NULL;
	}
	return u;
}

struct ep *ep_udp_app(struct loop *lp, const struct ep_udp_sink *sink, const struct ep_owner_ops *own, void *owner,
		      int side, int *err)
{
	struct ep_udp *u = udp_new(lp, own, owner, side, err);

	if (!u)
		return NULL;
	u->sink = *sink;
	u->out.max = lp->cfg->udp.tunnel_queue_bytes;
	u->dgrams = lp->st.tudpc_dgrams;
	u->bytes = lp->st.tudpc_bytes;
	u->drops = lp->st.tudpc_drops;
	buf_account((long long)mem_of(u));
	return &u->e;
}

void ep_udp_detach(struct ep *e)
{
	UD(e)->sink.arg = NULL;
}

struct ep *ep_udp_open(struct loop *lp, const struct hermes_addr *dst, const struct ep_owner_ops *own, void *owner,
		       int side, int *err)
{
	struct ep_udp *u = udp_new(lp, own, owner, side, err);
	socklen_t len;

	if (!u)
		return NULL;
	len = addr_from_hermes(dst, &u->dst);
	u->fd = sock_open_udp(lp, u->dst.ss_family, UDP_RCVBUF);
	if (u->fd < 0) {
		*err = u->fd;
		free(u->rbuf);
		free(u->acc);
		free(u);
		return NULL;
	}
	buf_account((long long)mem_of(u));
	/* a UDP connect only sets the peer (and finds the route): on the ring like a dial,
	 * so that `up` comes from a completion */
	io_uring_prep_connect(loop_sqe(lp, &u->op_connect, connect_done), u->fd, (struct sockaddr *)&u->dst, len);
	u->connecting = true;
	life_hold(&u->life, 1);
	return &u->e;
}

/* After a completion: a closed endpoint goes once nothing of it is in flight. */
static void settle(struct ep_udp *u)
{
	if (!life_over(&u->life))
		return;
	if (u->orphan) {
		u->e.ops->free(&u->e);
		return;
	}
	ep_settled(&u->e);
}

static void cancel(struct ep_udp *u, const struct loop_op *op)
{
	loop_cancel(u->lp, &u->op_aux, aux_done, op);
	life_hold(&u->life, 1);
}

/* What the next turn of the loop reports (a NOP's completion). */
static void turn(struct ep_udp *u)
{
	if (u->turn_armed)
		return;
	io_uring_prep_nop(loop_sqe(u->lp, &u->op_turn, turn_done));
	u->turn_armed = true;
	life_hold(&u->life, 1);
}

static void arm_recv(struct ep_udp *u)
{
	if (u->fd < 0 || u->recv_armed || !u->relaying || u->e.eof || u->e.closed || u->turn_err)
		return;
	/* the ring takes one more whole capsule, or the kernel keeps the datagram */
	if (u->out.len + UDP_HEADROOM + u->max > u->out.max)
		return;
	io_uring_prep_recv(loop_sqe(u->lp, &u->op_recv, recv_done), u->fd, u->rbuf + UDP_HEADROOM, u->max, MSG_TRUNC);
	u->recv_armed = true;
	life_hold(&u->life, 1);
}

/* ---- toward the target ---- */

static void malformed(struct ep_udp *u, const char *why)
{
	u->lp->st.udp_malformed++;
	log_info("CONNECT-UDP stream: malformed capsule (%s): resetting the stream", why);
	u->turn_err = -EBADMSG;
	turn(u);
}

/* A datagram lost here: this side's counter and the flow's access line. */
static void udp_drop(struct ep_udp *u, enum tudp_drop why)
{
	u->drops[why]++;
	u->tally->drops++;
}

/* A capsule from the client: the payload of a DATAGRAM for the target in *p, *n (true),
 * or false when there is nothing to send (skipped, dropped and counted, or malformed). */
static bool capsule_payload(struct ep_udp *u, const struct capsule *c, const uint8_t **p, size_t *n)
{
	uint64_t ctx;

	if (c->type != CAPSULE_DATAGRAM) {
		u->lp->st.udp_capsules_skipped++;
		return false;
	}
	if (capsule_datagram(c, &ctx, p, n)) {
		malformed(u, "a DATAGRAM capsule without a whole context ID");
		return false;
	}
	if (ctx) {
		udp_drop(u, TUDP_DROP_CONTEXT);
		return false;
	}
	if (*n > u->max) {
		udp_drop(u, TUDP_DROP_OVERSIZE);
		return false;
	}
	return true;
}

static void sent_one(struct ep_udp *u, size_t n)
{
	u->tally->dgrams[0]++;
	u->dgrams[TUDP_TO_TARGET]++;
	u->bytes[TUDP_TO_TARGET] += n;
}

/* Datagrams for the target gathered while one endpoint takes capsules, sent before that
 * returns (tx_flush): never held across calls, so one per thread serves every flow and an
 * idle flow carries none of it. */
static __thread struct {
	struct mmsghdr m[UDP_TX_BATCH];
	struct iovec iov[UDP_TX_BATCH];
	unsigned n;
} tx;

/* tx[from, to) go to the target in sendmmsg calls: a run of them costs one call, and the
 * receiver one wake-up, not one each. A datagram the kernel refuses (a full socket
 * buffer, or an ICMP error an earlier datagram earned: ECONNREFUSED) is lost, as on the
 * network, and the rest go on. */
static void tx_mmsg(struct ep_udp *u, unsigned i, unsigned to)
{
	while (i < to) {
		int k = sendmmsg(u->fd, tx.m + i, to - i, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		for (int j = 0; j < k; j++)
			sent_one(u, tx.iov[i + (unsigned)j].iov_len);
		i += k > 0 ? (unsigned)k : 0;
		if (k <= 0 || i < to) {
			/* datagram i failed; without a count (k < 0) it is the first */
			udp_drop(u, TUDP_DROP_SEND);
			i++;
		}
	}
}

/* How many of tx from i on make one GSO send: datagrams of tx[i]'s size, and a last one
 * smaller (the kernel cuts the whole into gso-size pieces, the last one what is left),
 * within UDP_GSO_BYTES and up to the size the path took (u->gso_max). An empty datagram
 * ends a run: as a piece of nothing it would vanish. */
static unsigned gso_run(const struct ep_udp *u, unsigned i)
{
	size_t seg = tx.iov[i].iov_len, sum = seg;
	unsigned j = i + 1;

	if (!seg || seg > u->gso_max)
		return 1;
	for (; j < tx.n && sum + tx.iov[j].iov_len <= UDP_GSO_BYTES; j++) {
		size_t n = tx.iov[j].iov_len;

		if (!n || n > seg)
			break;
		sum += n;
		if (n < seg) {
			j++;
			break;
		}
	}
	return j - i;
}

/* tx[i, i + k) in one send whose pieces the kernel makes (UDP_SEGMENT): one skb, route
 * and queueing for the run instead of one each. The datagrams the target receives are
 * the same. 1: sent; 0: the path cannot take this size in GSO pieces (EMSGSIZE: a piece
 * over the route's MTU, which single sends fragment; EIO: no checksum offload; EINVAL),
 * u->gso_max now below it and the run to go out as single datagrams; -1: refused like a single send (a full buffer, an ICMP error):
 * tx[i] counts as the lost one, as sendmmsg's first failure would. */
static int gso_send(struct ep_udp *u, unsigned i, unsigned k)
{
	char cbuf[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
	struct msghdr m = { .msg_iov = &tx.iov[i], .msg_iovlen = k, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	uint16_t seg = (uint16_t)tx.iov[i].iov_len;

	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	for (;;) {
		if (sendmsg(u->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
			u->lp->st.udp_gso_sends++;
			for (unsigned j = i; j < i + k; j++)
				sent_one(u, tx.iov[j].iov_len);
			return 1;
		}
		if (errno != EINTR)
			break;
	}
	if (errno == EINVAL || errno == EIO || errno == EMSGSIZE || errno == ENOPROTOOPT || errno == EOPNOTSUPP) {
		u->gso_max = seg - 1u;
		return 0;
	}
	udp_drop(u, TUDP_DROP_SEND);
	return -1;
}

/* The datagrams gathered in tx go to the target: runs of one size (a video stream's, a
 * bulk sender's) in GSO sends, the rest in sendmmsg calls. */
static void tx_flush(struct ep_udp *u)
{
	unsigned i = 0, plain = 0; /* tx[plain, i): single datagrams not sent yet */

	while (i < tx.n) {
		unsigned k = gso_run(u, i);
		int r;

		if (k < 2) {
			i++;
			continue;
		}
		tx_mmsg(u, plain, i);
		r = gso_send(u, i, k);
		if (r > 0) {
			plain = i += k;
		} else if (r < 0) {
			plain = ++i;
		} else {
			plain = i; /* the run again, now as single datagrams */
			i += k;
		}
	}
	tx_mmsg(u, plain, tx.n);
	tx.n = 0;
}

/* One datagram for the target: gathered for tx_flush on a socket (its bytes must stay
 * where they are until the flush), handed to the sink in app mode. */
static void to_target(struct ep_udp *u, const uint8_t *p, size_t n)
{
	if (u->fd >= 0) {
		tx.iov[tx.n] = (struct iovec){ (void *)p, n };
		tx.m[tx.n].msg_hdr = (struct msghdr){ .msg_iov = &tx.iov[tx.n], .msg_iovlen = 1 };
		if (++tx.n == UDP_TX_BATCH)
			tx_flush(u);
		return;
	}
	if (!u->sink.arg || u->sink.send(u->sink.arg, p, n)) {
		udp_drop(u, TUDP_DROP_SEND);
		return;
	}
	sent_one(u, n);
}

static void one_capsule(struct ep_udp *u, const struct capsule *c)
{
	const uint8_t *p;
	size_t n;

	if (capsule_payload(u, c, &p, &n))
		to_target(u, p, n);
}

/* The whole capsules at the front of p[0..n), read where they are (no copy): the bytes
 * consumed. Stops at the first one not whole there (acc takes it). Their datagrams wait
 * in tx: the caller flushes before those bytes go (tx_flush). */
static size_t take_in_place(struct ep_udp *u, const uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off < n && !u->turn_err) {
		struct capsule c;
		int r = capsule_parse(p + off, n - off, &c);

		if (r <= 0)
			break;
		one_capsule(u, &c);
		off += (size_t)r;
	}
	return off;
}

/* The whole capsules at the front of acc; a capsule too large for acc is skipped by its
 * length (its bytes are never held). A datagram read from acc waits in tx with those
 * read in place after it: acc's bytes stay until its next write (tx_flush first). */
static void take_capsules(struct ep_udp *u)
{
	size_t off = take_in_place(u, u->acc, u->acc_len);
	uint64_t type, len;
	int r;

	if (off < u->acc_len && !u->turn_err &&
	    (r = capsule_head(u->acc + off, u->acc_len - off, &type, &len)) > 0 && (uint64_t)r + len > u->acc_cap) {
		if (type == CAPSULE_DATAGRAM)
			udp_drop(u, TUDP_DROP_OVERSIZE);
		else
			u->lp->st.udp_capsules_skipped++;
		u->skip = (uint64_t)r + len - (u->acc_len - off);
		off = u->acc_len;
	}
	if (off < u->acc_len) {
		tx_flush(u); /* what is left moves to acc's front */
		memmove(u->acc, u->acc + off, u->acc_len - off);
	}
	u->acc_len -= off;
}

/* The bytes acc needs to hold the capsule cut at its front whole, no more: the rest of
 * the source is read in place again. Its head incomplete: as much as fits. */
static size_t acc_want(const struct ep_udp *u)
{
	uint64_t type, len;
	int r = capsule_head(u->acc, u->acc_len, &type, &len);

	/* (a head whose capsule is too large for acc was turned into a skip already) */
	if (r > 0 && (uint64_t)r + len <= u->acc_cap)
		return (size_t)((uint64_t)r + len - u->acc_len);
	return u->acc_cap - u->acc_len;
}

/* The capsules the source holds go out. A run of them is one batch for the target: a
 * capsule cut at the end of the source's contiguous bytes is completed in acc, and the
 * source read in place again after it (before, acc took every capsule after the first
 * cut one at a time: 1.3 datagrams a sendmmsg at 1 Gb/s). */
static void udp_kick(struct ep *e)
{
	struct ep_udp *u = UD(e);
	struct ep *src = e->src;

	if (e->closed || e->shut || u->turn_err || !src)
		return;
	while (!u->turn_err) {
		const uint8_t *p;
		size_t n, k;

		ep_peek(src, &p, &n);
		if (!n)
			break;
		if (!u->skip && !u->acc_len && (k = take_in_place(u, p, n))) {
			tx_flush(u); /* before the source's bytes are consumed */
			ep_consume(src, k);
			continue;
		}
		if (u->skip) {
			k = n < u->skip ? n : (size_t)u->skip;
			u->skip -= k;
		} else {
			tx_flush(u); /* acc is written: nothing gathered may point there */
			k = acc_want(u);
			k = n < k ? n : k;
			memcpy(u->acc + u->acc_len, p, k);
			u->acc_len += k;
		}
		ep_consume(src, k);
		if (!u->skip)
			take_capsules(u);
	}
	tx_flush(u);
}

/* The client ended its stream after its last capsule: this side ends too (UDP has no
 * half-close). Ending inside a capsule makes it malformed (RFC 9297 3.3). */
static void udp_shutdown(struct ep *e)
{
	struct ep_udp *u = UD(e);

	if (u->turn_err || u->turn_end)
		return;
	if (u->acc_len || u->skip) {
		malformed(u, "the stream ended inside a capsule");
		return;
	}
	u->turn_end = true;
	turn(u);
}

/* ---- toward the client ---- */

/* A capsule of h + n bytes (n of payload) went into the ring. */
static void delivered(struct ep_udp *u, size_t h, size_t n)
{
	u->e.bytes += h + n;
	u->tally->dgrams[1]++;
	u->dgrams[TUDP_TO_CLIENT]++;
	u->bytes[TUDP_TO_CLIENT] += n;
}

/* A datagram of n bytes (its real length: MSG_TRUNC) is at rbuf + UDP_HEADROOM: it
 * becomes a capsule in the ring. Whether one was added. */
static bool deliver(struct ep_udp *u, size_t n)
{
	uint8_t head[UDP_HEADROOM + 8];
	size_t h;

	if (n > u->max) {
		udp_drop(u, TUDP_DROP_OVERSIZE);
		return false;
	}
	h = capsule_datagram_head(head, n);
	memcpy(u->rbuf + UDP_HEADROOM - h, head, h);
	if (ep_ring_put(&u->out, u->rbuf + UDP_HEADROOM - h, h + n)) {
		udp_drop(u, TUDP_DROP_BUFFER);
		return false;
	}
	delivered(u, h, n);
	return true;
}

int ep_udp_push(struct ep *e, const void *p, size_t n)
{
	struct ep_udp *u = UD(e);
	uint8_t head[UDP_HEADROOM + 8], *t;
	size_t h, room;

	if (e->closed || e->eof || u->turn_err)
		return -EPIPE;
	if (n > u->max) {
		udp_drop(u, TUDP_DROP_OVERSIZE);
		return -EMSGSIZE;
	}
	/* written in place when the ring's last chunk has room for the whole capsule (one
	 * copy, not two) */
	h = capsule_datagram_head(head, n);
	if (!ep_ring_tail(&u->out, &t, &room) && room >= h + n) {
		memcpy(t, head, h);
		memcpy(t + h, p, n);
		ep_ring_commit(&u->out, h + n);
		delivered(u, h, n);
		ep_data(e);
		return 0;
	}
	memcpy(u->rbuf + UDP_HEADROOM, p, n);
	if (!deliver(u, n))
		return -ENOBUFS;
	ep_data(e);
	return 0;
}

static void recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_udp *u = loop_container_of(op, struct ep_udp, op_recv);
	bool got = false;

	(void)lp;
	u->recv_armed = false;
	if (u->e.closed || u->e.eof) {
		life_drop(&u->life);
		settle(u);
		return;
	}
	if (cqe->res >= 0)
		got = deliver(u, (size_t)cqe->res);
	else if (cqe->res != -ECONNREFUSED && cqe->res != -EHOSTUNREACH && cqe->res != -ENETUNREACH &&
		 cqe->res != -ECANCELED && cqe->res != -EINTR)
		log_debug("CONNECT-UDP socket: recv: %s", strerror(-cqe->res));
	/* (ICMP errors for earlier datagrams: the flow goes on, as a UDP socket's would) */
	life_drop(&u->life);
	arm_recv(u);
	if (got)
		ep_data(&u->e);
}

static void udp_peek(const struct ep *e, const uint8_t **p, size_t *n)
{
	ep_ring_peek(&UD(e)->out, p, n);
}

static size_t udp_avail(const struct ep *e)
{
	return UD(e)->out.len;
}

static void udp_consume(struct ep *e, size_t n)
{
	struct ep_udp *u = UD(e);

	ep_ring_consume(&u->out, n);
	/* an idle flow keeps no chunk (its first page was touched: it counts in RSS). In app
	 * mode the ring drains after every few datagrams of a busy flow: freed and taken
	 * again each time, its pages were faulted in anew (5% of the client hermesd's CPU at
	 * 1 Gb/s), so there the relay's tick gives it back (ep_udp_idle) */
	if (u->fd >= 0)
		ep_ring_trim(&u->out);
	arm_recv(u); /* room again */
}

void ep_udp_idle(struct ep *e)
{
	ep_ring_trim(&UD(e)->out);
}

/* ---- life ---- */

static void connect_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_udp *u = loop_container_of(op, struct ep_udp, op_connect);

	(void)lp;
	u->connecting = false;
	life_drop(&u->life);
	if (u->e.closed) {
		settle(u);
		return;
	}
	if (cqe->res < 0) {
		ep_error(&u->e, cqe->res);
		return;
	}
	ep_up(&u->e);
}

static void turn_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_udp *u = loop_container_of(op, struct ep_udp, op_turn);

	(void)lp;
	(void)cqe;
	u->turn_armed = false;
	/* the NOP still counts while the owner hears: it cannot free u from inside */
	if (u->turn_err) {
		ep_error(&u->e, u->turn_err);
	} else if (u->turn_end && !u->e.shut) {
		u->e.shut = u->e.eof = true;
		if (u->recv_armed && !u->e.closed)
			cancel(u, &u->op_recv);
		ep_drained(&u->e);
		ep_data(&u->e);
	}
	life_drop(&u->life);
	settle(u);
}

static void aux_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct ep_udp *u = loop_container_of(op, struct ep_udp, op_aux);

	(void)lp;
	(void)cqe;
	life_drop(&u->life);
	settle(u);
}

static int udp_start(struct ep *e)
{
	struct ep_udp *u = UD(e);

	u->relaying = true;
	arm_recv(u);
	return 0;
}

static void udp_read(struct ep *e)
{
	(void)e; /* no setup reads: the request came on the client's side */
}

static int udp_write(struct ep *e, const void *p, size_t n)
{
	(void)e;
	(void)p;
	(void)n;
	return -EOPNOTSUPP;
}

static void udp_reply(struct ep *e, int status, const char *h1, size_t h1_len)
{
	(void)e;
	(void)status;
	(void)h1;
	(void)h1_len;
}

static void udp_close(struct ep *e, enum ep_end how, bool orphan)
{
	struct ep_udp *u = UD(e);

	(void)how; /* UDP has no reset to send */
	u->orphan = orphan;
	if (life_close(&u->life)) {
		if (u->connecting)
			cancel(u, &u->op_connect);
		if (u->recv_armed)
			cancel(u, &u->op_recv);
	}
	if (orphan && life_over(&u->life))
		e->ops->free(e);
}

static bool udp_busy(const struct ep *e)
{
	return UD(e)->life.inflight > 0;
}

static void udp_free(struct ep *e)
{
	struct ep_udp *u = UD(e);

	if (u->fd >= 0)
		close(u->fd);
	if (u->sink.arg)
		u->sink.gone(u->sink.arg);
	buf_account(-(long long)mem_of(u));
	free(u->rbuf);
	free(u->acc);
	ep_ring_free(&u->out);
	ep_release(e);
	free(u);
}

static int udp_sock(const struct ep *e)
{
	(void)e;
	return -1; /* not a stream socket: never spliced */
}

void ep_udp_tally(struct ep *e, struct udp_tally *t)
{
	UD(e)->tally = t;
}

static const struct ep_ops udp_ops = {
	.kind = "udp",
	.start = udp_start,
	.read = udp_read,
	.write = udp_write,
	.reply = udp_reply,
	.peek = udp_peek,
	.avail = udp_avail,
	.consume = udp_consume,
	.kick = udp_kick,
	.shutdown = udp_shutdown,
	.close = udp_close,
	.busy = udp_busy,
	.free = udp_free,
	.sock = udp_sock,
};
