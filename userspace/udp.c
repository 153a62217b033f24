/* udp.c: the UDP relay of the proxy and tunnel actions (udp.h). A flow is an app socket and an
 * original destination, known to the relay as (the app's address, the slot address the
 * datagram was sent to): its own upstream socket, connected to the destination and
 * marked so that the steering programs leave it alone, keeps datagram boundaries both
 * ways. Nothing is ever truncated: a datagram over udp.max_datagram is dropped and
 * counted. Reads are non-blocking after each multishot poll completion, until the socket
 * is drained (the relay sockets: UDP_BATCH datagrams a recvmmsg, until a short batch) or
 * UDP_BURST datagrams (a relay socket: or UDP_BURST_BYTES) were read in the loop's turn (then a
 * NOP brings the loop back to the socket in the next one). Two relay sockets
 * on the same port: IPv4 (slots 127.72.X.Y) and IPv6 (slots fd48:72::PORT:SLOT, local by the
 * route of udp_route.c while that socket is open); a flow answers from the one it came
 * in on. A flow whose rule says `tunnel` has no socket: its datagrams go to its
 * CONNECT-UDP stream (udp_tun.c), which sends the peer's back through flow_to_app. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/netlink.h>

#include "access.h"
#include "addr.h"
#include "hermes/udp.h"
#include "log.h"
#include "ring.h"
#include "sock.h"
#include "udp.h"
#include "udp_addr.h"
#include "udp_kpath.h"
#include "udp_route.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78 /* linux/in6.h; glibc's netinet/in.h lacks it */
#endif
#include "udp_tun.h"

#define UDP_HASH 1024 /* flow hash buckets (power of two) */
#define UDP_REFRESH_MS 5000 /* how often a live flow's slot is marked used in the map */
/* Datagrams one socket may relay per loop turn: a busy sender must not keep the loop
 * from everything else. The rest waits for a NOP's completion, in the next turn. */
#define UDP_BURST 256
/* Bytes a relay socket's reads may take in one loop turn. A tunnel flow's datagrams wait in
 * its stream's queue (udp.tunnel_queue_bytes) for the session, which sends at most
 * SESS_OBUF_MAX (256 KiB) and a frame a turn: read faster than that, the backlog that a
 * stall of the loop left in the socket moved into the queue and overflowed it (counted
 * queue_full) while the TCP connection had room. At 1 Gb/s of 1200-byte datagrams, 256
 * datagrams a burst and up to 4 bursts a turn (each poll completion of a slow turn read
 * one) put 300 KiB to 1.2 MiB a turn into a queue that drained 260 KiB a turn. Left in
 * the socket instead (UDP_RELAY_RCVBUF), the backlog goes out as fast as the session
 * sends it. */
#define UDP_BURST_BYTES (128 * 1024)
/* Datagrams one recvmmsg of a relay socket takes: a burst of small datagrams costs a
 * call per UDP_BATCH, and a short batch says the socket is drained (no EAGAIN call) */
#define UDP_BATCH 16
/* Receive buffers: the relay socket takes the bursts of every app at once, a flow's
 * upstream socket its destination's answers to a burst (with the default 208 KiB, 144 of
 * the answers to a burst of 1024 small datagrams were dropped by the kernel). A limit,
 * not an allocation: memory is taken only while datagrams wait. The relay socket's is
 * also what holds a backlog while the loop does not run (the kernel doubles it and
 * charges about 2.3 KiB a 1200-byte datagram: 16 MiB asked hold 140 ms at 1 Gb/s; 4 MiB
 * held 35 ms, and a loop stopped for 40 ms lost 3 to 8% of such a flow there). */
#define UDP_RELAY_RCVBUF (16 << 20)
#define UDP_FLOW_RCVBUF (1 << 20)

struct udp_relay;

/* One relay socket: IPv4 bound to 0.0.0.0, or IPv6 bound to [::] (V6ONLY). */
struct udp_rsock {
	struct udp_relay *r;
	int fd;                  /* -1: not open */
	bool v6;
	bool polling;
	bool more_armed;         /* op_more (a NOP) in flight: this turn's burst was read */
	struct loop_op op_poll;
	struct loop_op op_more;
};

struct udp_flow {
	struct list link;        /* r->flows */
	struct list hlink;       /* r->hash[] */
	struct udp_relay *r;
	struct udp_rsock *rs;    /* the relay socket its datagrams come in on, and leave from */
	int fd;                  /* upstream socket, connected to dst; -1 for a tunnel flow */
	struct udp_tun *tun;     /* the tunnel action's backend, or NULL (proxy) */
	uint32_t slot;
	union udp_sa app;        /* the app socket as the relay socket sees it */
	struct hermes_addr dst;
	uint64_t cookie;         /* the app socket's (from the slot) */
	uint64_t id;             /* /flows: lp->next_id when opened */
	uint32_t pid, uid;       /* the slot's: who first sent */
	uint64_t cgroup_id;      /* the slot's: the sender's cgroup and command name, which */
	char comm[HERMES_COMM_LEN + 1]; /* the programs took at its first send */
	uint64_t bytes[UDP_NDIRS]; /* payload relayed each way */
	struct udp_tally tally;  /* datagrams each way and drops, for the access line */
	uint64_t started_ms;
	uint64_t last_ms;        /* last datagram either way */
	uint64_t refreshed_ms;   /* last write of the slot's last_ns */
	unsigned inflight;       /* poll, cancel and NOP SQEs */
	bool closing;
	bool more_armed;         /* op_more (a NOP) in flight: UDP_BURST read, maybe more */
	struct loop_op op_poll;
	struct loop_op op_cancel;
	struct loop_op op_more;
};

struct udp_relay {
	struct loop *lp;
	struct udp_rsock s[2];   /* [0] IPv4, IP_PKTINFO on; [1] IPv6, IPV6_PKTINFO and FREEBIND on */
	bool route6;             /* udp_route6_add succeeded: removed at the end */
	struct list flows;
	struct list hash[UDP_HASH];
	uint32_t n_flows;
	int slots_fd;            /* hermes_udp_slots */
	int diag_fd;             /* NETLINK_SOCK_DIAG: who owns a new flow's source (udp_owner_ok) */
	uint16_t port;           /* the relay's port, network order */
	uint8_t *buf;            /* UDP_BATCH buffers of bufsz (relay reads); the first for flow reads */
	size_t bufsz;            /* udp.max_datagram */
	uint64_t warned_ms;      /* last warning about a socket that could not be opened */
	struct udp_kpath *kp;    /* udp.kernel_path: the proxy flows the programs send directly */
};

static loop_done_fn relay_polled, relay_more, flow_polled, flow_more, flow_cancelled;
static int flow_to_app(void *arg, const void *p, size_t n);

static unsigned flow_hash(const union udp_sa *app, uint32_t slot)
{
	uint32_t a = app->v4.sin_addr.s_addr, h;

	if (app->sa.sa_family == AF_INET6) {
		const uint32_t *w = app->v6.sin6_addr.s6_addr32;

		a = w[0] ^ w[1] ^ w[2] ^ w[3];
	}
	h = a * 2654435761u ^ ((uint32_t)app->v4.sin_port << 16) ^ slot * 40503u;
	return (h ^ (h >> 15)) & (UDP_HASH - 1);
}

static struct udp_flow *flow_find(struct udp_relay *r, const union udp_sa *app, uint32_t slot)
{
	struct udp_flow *f;

	list_for_each(f, &r->hash[flow_hash(app, slot)], hlink)
		if (f->slot == slot && udp_sa_eq(&f->app, app))
			return f;
	return NULL;
}

static void flow_free_if_done(struct udp_flow *f)
{
	if (!f->closing || f->inflight)
		return;
	free(f);
}

/* The flow's access line: the same fields as a TCP flow's, with protocol=udp and its
 * datagrams (udp_tally). The application is the slot's sender. */
static void flow_log(const struct udp_flow *f, const char *result)
{
	struct loop *lp = f->r->lp;
	struct access_app app = { .pid = f->pid, .uid = f->uid, .cgroup_id = f->cgroup_id };
	struct hermes_addr client, peer;
	/* a tunnel flow's upstream is its stream's peer (none while it has no stream) */
	const struct hermes_addr *up = !f->tun ? &f->dst : udp_tun_peer(f->tun, &peer) ? &peer : NULL;
	const struct access_flow a = {
		.id = f->id, .app = &app, .client = &client, .dst = &f->dst, .upstream = up,
		.action = f->tun ? "tunnel" : "proxy",
		.udp = &f->tally, .sent = f->bytes[UDP_DIR_OUT], .received = f->bytes[UDP_DIR_IN],
		.duration_ms = lp->now_ms - f->started_ms, .result = result,
	};

	memcpy(app.comm, f->comm, sizeof(app.comm));
	addr_to_hermes(&f->app.sa, &client);
	access_flow(&a);
}

/* result: why it ends, for the access line */
static void flow_close(struct udp_flow *f, const char *result)
{
	struct udp_relay *r = f->r;

	if (f->closing)
		return;
	flow_log(f, result);
	f->closing = true;
	list_del(&f->link);
	list_del(&f->hlink);
	r->n_flows--;
	r->lp->st.udp_flows_active--;
	if (f->inflight) {
		f->inflight++;
		loop_cancel(r->lp, &f->op_cancel, flow_cancelled, &f->op_poll);
	}
	if (f->tun)
		udp_tun_close(f->tun);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	flow_free_if_done(f);
}

static void flow_arm(struct udp_flow *f)
{
	io_uring_prep_poll_multishot(loop_sqe(f->r->lp, &f->op_poll, flow_polled), f->fd, POLLIN);
	f->inflight++;
}

/* The slot's last_ns (CLOCK_MONOTONIC, as bpf_ktime_get_ns) moved to now, so that the
 * programs do not hand a live flow's slot to another while its app sends on a connected
 * socket (whose sends the programs never see). */
static void slot_touch(struct udp_flow *f)
{
	struct hermes_udp_slot s;
	uint32_t k = f->slot;

	f->refreshed_ms = f->last_ms;
	if (bpf_map_lookup_elem(f->r->slots_fd, &k, &s) || s.cookie != f->cookie)
		return;
	s.last_ns = loop_now_ns();
	bpf_map_update_elem(f->r->slots_fd, &k, &s, BPF_EXIST);
}

static struct udp_flow *flow_open(struct udp_relay *r, struct udp_rsock *rs, const union udp_sa *app, uint32_t slot)
{
	struct loop *lp = r->lp;
	struct hermes_udp_slot s;
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct udp_flow *f;
	char a[ADDR_STRLEN], d[ADDR_STRLEN];
	int err;

	if (bpf_map_lookup_elem(r->slots_fd, &slot, &s) || !s.cookie ||
	    s.dst.family != (rs->v6 ? HERMES_FAMILY_V6 : HERMES_FAMILY_V4)) {
		lp->st.udp_drops[UDP_DROP_UNKNOWN_SLOT]++;
		return NULL;
	}
	if (!udp_owner_ok(r->diag_fd, rs->v6, r->port, app, slot, s.cookie)) {
		lp->st.udp_drops[UDP_DROP_NOT_OWNER]++;
		return NULL;
	}
	if (r->n_flows >= lp->cfg->udp.max_flows) {
		lp->st.udp_drops[UDP_DROP_MAX_FLOWS]++;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		lp->st.udp_drops[UDP_DROP_SOCKET]++;
		return NULL;
	}
	dlen = addr_from_hermes(&s.dst, &dst);
	f->fd = -1;
	if (s.action == HERMES_ACT_TUNNEL) {
		const struct udp_tun_app ta = { .app = *app, .dst = s.dst, .cookie = s.cookie, .pid = s.pid,
						.uid = s.uid, .gid = s.gid, .to_app = flow_to_app, .arg = f };

		err = (f->tun = udp_tun_open(lp, &ta)) ? 0 : -ENOMEM;
	} else {
		/* every send and receive on it is MSG_DONTWAIT: the socket itself may block */
		f->fd = sock_open_udp(lp, dst.ss_family, UDP_FLOW_RCVBUF);
		err = f->fd < 0 ? f->fd : connect(f->fd, (struct sockaddr *)&dst, dlen) ? -errno : 0;
	}
	if (err) {
		/* once a second at most: each datagram of the flow tries again */
		if (lp->now_ms - r->warned_ms >= 1000) {
			r->warned_ms = lp->now_ms;
			log_warn("udp: cannot open a socket to %s for %s: %s: dropping its datagrams (udp drops, "
				 "reason socket)", addr_fmt((struct sockaddr *)&dst, d, sizeof(d)), addr_fmt(&app->sa, a, sizeof(a)),
				 strerror(-err));
		}
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		lp->st.udp_drops[UDP_DROP_SOCKET]++;
		return NULL;
	}
	f->r = r;
	f->rs = rs;
	f->slot = slot;
	f->app = *app;
	f->dst = s.dst;
	f->cookie = s.cookie;
	f->id = ++lp->next_id;
	f->pid = s.pid;
	f->uid = s.uid;
	f->cgroup_id = s.cgroup_id;
	memcpy(f->comm, s.comm, sizeof(s.comm)); /* f->comm has room for the NUL calloc gave it */
	f->started_ms = f->last_ms = lp->now_ms;
	list_add(&r->flows, &f->link);
	list_add(&r->hash[flow_hash(app, slot)], &f->hlink);
	r->n_flows++;
	lp->st.udp_flows_total++;
	lp->st.udp_flows_active++;
	if (f->fd >= 0)
		flow_arm(f);
	log_debug("udp: flow %s -> %s (slot %u)", addr_fmt(&app->sa, a, sizeof(a)),
		  addr_fmt((struct sockaddr *)&dst, d, sizeof(d)), slot);
	return f;
}

/* The errors the kernel reports on a connected UDP socket after an ICMP error came back
 * for one of its datagrams (port or host unreachable): read once, by the next recv or,
 * first, by the next send, which then sends nothing. */
static bool icmp_errno(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN;
}

/* One datagram from an app to slot: its flow (found or opened) sends it on. */
static void relay_one(struct udp_rsock *rs, const union udp_sa *app, int slot, const void *data, size_t len)
{
	struct udp_relay *r = rs->r;
	struct loop *lp = r->lp;
	struct udp_flow *f;
	int err = 0;

	if (slot < 0) {
		lp->st.udp_drops[UDP_DROP_NOT_SLOT]++;
		return;
	}
	if (r->slots_fd < 0 && lp->ld) /* the relay is bound before the maps are loaded */
		r->slots_fd = lp->ld->udp_slots_fd;
	f = flow_find(r, app, (uint32_t)slot);
	if (!f)
		f = flow_open(r, rs, app, (uint32_t)slot);
	if (!f)
		return;
	f->last_ms = lp->now_ms;
	if (f->tun) {
		err = udp_tun_send(f->tun, data, len); /* counted there (hermes_tunnel_udp_client_*) */
	} else if (send(f->fd, data, len, MSG_DONTWAIT) < 0) {
		/* EMSGSIZE cannot come from a size: the upstream socket fragments (the kernel's
		 * default IP_PMTUDISC_WANT) and the app's hop carried the datagram whole */
		err = -errno;
		lp->st.udp_drops[icmp_errno(-err) ? UDP_DROP_ICMP : UDP_DROP_SEND]++;
	}
	if (err) {
		f->tally.drops++;
		return;
	}
	f->tally.dgrams[0]++;
	f->bytes[UDP_DIR_OUT] += len;
	if (!f->tun) { /* the proxy action's counters; a tunnel's are hermes_tunnel_udp_client_* */
		lp->st.udp_datagrams[UDP_DIR_OUT]++;
		lp->st.udp_bytes[UDP_DIR_OUT] += len;
	}
}

/* The relay sockets' reads: UDP_BATCH datagrams a recvmmsg, each with its sender and the
 * slot address it was sent to. */
struct udp_batch {
	struct mmsghdr m[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	union udp_sa from[UDP_BATCH];
	char cbuf[UDP_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

static void relay_read(struct udp_rsock *rs)
{
	struct udp_relay *r = rs->r;
	struct udp_batch b;
	size_t bytes = 0;

	for (int done = 0;;) {
		int n;

		if (done >= UDP_BURST || bytes >= UDP_BURST_BYTES) {
			if (!rs->more_armed) {
				io_uring_prep_nop(loop_sqe(r->lp, &rs->op_more, relay_more));
				rs->more_armed = true;
			}
			return;
		}
		for (int i = 0; i < UDP_BATCH; i++) {
			b.iov[i] = (struct iovec){ r->buf + (size_t)i * r->bufsz, r->bufsz };
			b.m[i].msg_hdr = (struct msghdr){ .msg_name = &b.from[i], .msg_namelen = sizeof(b.from[i]),
							  .msg_iov = &b.iov[i], .msg_iovlen = 1, .msg_control = b.cbuf[i],
							  .msg_controllen = sizeof(b.cbuf[i]) };
		}
		n = recvmmsg(rs->fd, b.m, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN; an error of a send (ICMP) has nothing to tell here */
		}
		done += n;
		for (int i = 0; i < n; i++) {
			struct msghdr *m = &b.m[i].msg_hdr;
			int slot = udp_pktinfo_slot(m, r->port);

			if (m->msg_flags & MSG_TRUNC) {
				struct udp_flow *f = slot < 0 ? NULL : flow_find(r, &b.from[i], (uint32_t)slot);

				r->lp->st.udp_drops[UDP_DROP_TOO_BIG]++;
				if (f) /* its flow's line counts it; a first datagram too big opens none */
					f->tally.drops++;
				continue;
			}
			if (b.from[i].sa.sa_family != (rs->v6 ? AF_INET6 : AF_INET)) {
				r->lp->st.udp_drops[UDP_DROP_NOT_SLOT]++;
				continue;
			}
			relay_one(rs, &b.from[i], slot, b.iov[i].iov_base, b.m[i].msg_len);
			bytes += b.m[i].msg_len;
		}
		if (n < UDP_BATCH)
			return; /* a short batch: the socket is drained, no call to learn EAGAIN */
	}
}

/* One datagram to the app, sent from the flow's slot address (the upstream's replies,
 * and the tunnel's datagrams: udp_tun.c): 0 or -errno. */
static int flow_to_app(void *arg, const void *p, size_t n)
{
	struct udp_flow *f = arg;
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct iovec iov = { (void *)p, n };
	struct msghdr out = { .msg_name = &f->app, .msg_namelen = udp_sa_len(&f->app), .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };

	udp_pktinfo_set(&out, f->rs->v6, f->r->port, f->slot);
	if (sendmsg(f->rs->fd, &out, MSG_DONTWAIT) < 0) {
		f->tally.drops++;
		return -errno;
	}
	f->last_ms = f->r->lp->now_ms;
	f->bytes[UDP_DIR_IN] += n;
	f->tally.dgrams[1]++;
	return 0;
}

/* The upstream's replies go back to the app from the slot address. */
static void flow_read(struct udp_flow *f)
{
	struct udp_relay *r = f->r;
	struct loop *lp = r->lp;

	for (int i = 0; !f->closing; i++) {
		struct iovec iov = { r->buf, r->bufsz };
		struct msghdr in = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (i == UDP_BURST) {
			if (!f->more_armed) {
				io_uring_prep_nop(loop_sqe(lp, &f->op_more, flow_more));
				f->more_armed = true;
				f->inflight++;
			}
			return;
		}
		n = recvmsg(f->fd, &in, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ECONNREFUSED and the like: an ICMP error, which the app does not see (its
			 * socket is not the one the ICMP answered). The flow stays, as a connected
			 * app socket would after ECONNREFUSED: the destination may come back, the
			 * next datagram goes out as usual, and the idle timeout ends it otherwise */
			lp->st.udp_drops[UDP_DROP_ICMP]++;
			f->tally.drops++;
			continue;
		}
		if (in.msg_flags & MSG_TRUNC) {
			lp->st.udp_drops[UDP_DROP_TOO_BIG]++;
			f->tally.drops++;
			continue;
		}
		f->last_ms = lp->now_ms;
		if (flow_to_app(f, r->buf, (size_t)n)) {
			lp->st.udp_drops[UDP_DROP_SEND]++;
			continue;
		}
		lp->st.udp_datagrams[UDP_DIR_IN]++;
		lp->st.udp_bytes[UDP_DIR_IN] += (uint64_t)n;
	}
}

static void relay_arm(struct udp_rsock *rs)
{
	io_uring_prep_poll_multishot(loop_sqe(rs->r->lp, &rs->op_poll, relay_polled), rs->fd, POLLIN);
	rs->polling = true;
}

static void relay_polled(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct udp_rsock *rs = loop_container_of(op, struct udp_rsock, op_poll);

	(void)lp;
	if (!(cqe->flags & IORING_CQE_F_MORE))
		rs->polling = false;
	/* with a NOP in flight this turn's burst was read (a slow turn finds several poll
	 * completions): the NOP reads on, in the next turn */
	if (cqe->res >= 0 && !rs->more_armed)
		relay_read(rs);
	if (!rs->polling && rs->fd >= 0 && !lp->stop)
		relay_arm(rs);
}

static void relay_more(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct udp_rsock *rs = loop_container_of(op, struct udp_rsock, op_more);

	(void)cqe;
	rs->more_armed = false;
	if (rs->fd >= 0 && !lp->stop)
		relay_read(rs);
}

static void flow_more(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct udp_flow *f = loop_container_of(op, struct udp_flow, op_more);

	(void)lp;
	(void)cqe;
	f->more_armed = false;
	f->inflight--;
	if (f->closing)
		flow_free_if_done(f);
	else
		flow_read(f);
}

static void flow_polled(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct udp_flow *f = loop_container_of(op, struct udp_flow, op_poll);

	(void)lp;
	if (!(cqe->flags & IORING_CQE_F_MORE))
		f->inflight--;
	if (cqe->res >= 0 && !f->closing)
		flow_read(f);
	if (f->closing) {
		flow_free_if_done(f);
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		flow_arm(f);
}

static void flow_cancelled(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct udp_flow *f = loop_container_of(op, struct udp_flow, op_cancel);

	(void)lp;
	(void)cqe;
	f->inflight--;
	flow_free_if_done(f);
}

/* A relay socket bound to sa (retried while a previous hermesd's is still there). For
 * IPv6: V6ONLY (IPv4 has its own socket), IPV6_PKTINFO both ways, and FREEBIND, which
 * lets a reply leave from a slot address: the local route makes those addresses local
 * but assigns none, and without it the kernel refuses the source (EINVAL). */
static int rsock_open(struct udp_rsock *rs, const struct sockaddr *sa, socklen_t len)
{
	int one = 1, err;

	/* its reads and sends are all MSG_DONTWAIT */
	rs->fd = sock_open_udp(rs->r->lp, sa->sa_family, UDP_RELAY_RCVBUF);
	err = rs->fd < 0 ? rs->fd : 0;
	if (!err && !rs->v6 && setsockopt(rs->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)))
		err = -errno;
	if (!err && rs->v6 &&
	    (setsockopt(rs->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ||
	     setsockopt(rs->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) ||
	     setsockopt(rs->fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one))))
		err = -errno;
	for (int i = 0; !err && i < 50; i++) {
		if (!bind(rs->fd, sa, len))
			return 0;
		err = -errno;
		if (err != -EADDRINUSE)
			break;
		err = 0;
		usleep(20000);
		if (i == 49)
			err = -EADDRINUSE;
	}
	if (rs->fd >= 0)
		close(rs->fd);
	rs->fd = -1;
	return err;
}

/* The IPv6 relay socket, once its slot addresses are local: without it IPv6 proxy rules
 * fail open (the programs find no socket), as all of them do without a relay. */
static void relay6_open(struct udp_relay *r)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT, .sin6_port = r->port };
	int err = udp_route6_add(ntohs(r->port));

	if (err) {
		log_warn("udp: cannot make the IPv6 slot addresses fd48:72::%x:0/112 local (a local route on lo, as "
			 "`ip -6 route add local fd48:72::%x:0/112 dev lo table local` makes): %s: IPv6 UDP proxy "
			 "rules fail open (counted udp_fail_open); is IPv6 disabled (net.ipv6.conf.lo.disable_ipv6)? "
			 "udp.ipv6: false does without", ntohs(r->port), ntohs(r->port), strerror(-err));
		return;
	}
	r->route6 = true;
	err = rsock_open(&r->s[1], (struct sockaddr *)&a, sizeof(a));
	if (err) {
		log_warn("udp: cannot bind the IPv6 UDP relay on [::]:%u: %s (another service has this UDP port): "
			 "IPv6 UDP proxy rules fail open (counted udp_fail_open)", ntohs(r->port), strerror(-err));
		udp_route6_del(ntohs(r->port));
		r->route6 = false;
		return;
	}
	/* again: a previous hermesd that was still exiting (the bind waited for it) removed
	 * the route it had made, the same route, before it let the port go (relay6_close) */
	err = udp_route6_add(ntohs(r->port));
	if (err)
		log_warn("udp: cannot make the IPv6 slot addresses fd48:72::%x:0/112 local again after the bind: %s",
			 ntohs(r->port), strerror(-err));
	relay_arm(&r->s[1]);
}

/* The IPv6 relay socket closed, then the route removed. The programs stopped steering
 * UDP when the stop began (draining), and the ring's poll keeps the socket bound until
 * the ring goes, after this: a hermesd that starts meanwhile on the same port binds only
 * then, and adds the route again after its bind (relay6_open). */
static void relay6_close(struct udp_relay *r)
{
	if (r->s[1].fd >= 0)
		close(r->s[1].fd);
	r->s[1].fd = -1;
	if (r->route6)
		udp_route6_del(ntohs(r->port));
	r->route6 = false;
}

int udp_init(struct loop *lp)
{
	const struct hermes_config *cfg = lp->cfg;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct udp_relay *r;
	int err;

	if (!cfg->udp.relay || cfg->listen.ss.ss_family != AF_INET)
		return 0;
	a.sin_port = ((const struct sockaddr_in *)(const void *)&cfg->listen.ss)->sin_port;
	r = calloc(1, sizeof(*r));
	/* UDP_BATCH buffers of max_datagram: resident only where datagrams were written */
	if (!r || !(r->buf = malloc((size_t)UDP_BATCH * cfg->udp.max_datagram)) ||
	    (cfg->udp.kernel_path && !(r->kp = udp_kpath_new(lp)))) {
		if (r)
			free(r->buf);
		free(r);
		log_error("out of memory for the UDP relay");
		return -ENOMEM;
	}
	r->lp = lp;
	r->bufsz = cfg->udp.max_datagram;
	r->slots_fd = -1; /* loader_start opens the maps after this */
	r->port = a.sin_port;
	for (int k = 0; k < 2; k++)
		r->s[k] = (struct udp_rsock){ .r = r, .fd = -1, .v6 = k == 1 };
	r->diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (r->diag_fd < 0)
		log_warn("udp: no sock_diag socket (%s): new UDP flows cannot be checked and are dropped "
			 "(udp drops, reason not_owner)", strerror(errno));
	list_init(&r->flows);
	for (int i = 0; i < UDP_HASH; i++)
		list_init(&r->hash[i]);
	err = rsock_open(&r->s[0], (struct sockaddr *)&a, sizeof(a));
	if (err) {
		log_error("cannot bind the UDP relay on 0.0.0.0:%u: %s (another service has this UDP port: "
			  "set udp.relay: false, or give --listen another port)", ntohs(a.sin_port), strerror(-err));
		if (r->diag_fd >= 0)
			close(r->diag_fd);
		udp_kpath_free(r->kp);
		free(r->buf);
		free(r);
		return err;
	}
	lp->udp = r;
	relay_arm(&r->s[0]);
	if (cfg->udp.ipv6)
		relay6_open(r);
	if (r->s[1].fd >= 0)
		log_info("UDP relay on 0.0.0.0:%u (slot addresses %u.%u.0.0/16) and [::]:%u (slot addresses "
			 "fd48:72::%x:0/112, a local route on lo)", ntohs(a.sin_port), HERMES_UDP_NET_A, HERMES_UDP_NET_B,
			 ntohs(a.sin_port), ntohs(a.sin_port));
	else
		log_info("UDP relay on 0.0.0.0:%u (slot addresses %u.%u.0.0/16)", ntohs(a.sin_port), HERMES_UDP_NET_A,
			 HERMES_UDP_NET_B);
	return 0;
}

void udp_tick(struct loop *lp)
{
	struct udp_relay *r = lp->udp;
	struct udp_flow *f, *tmp;
	uint64_t idle = lp->cfg->udp.idle_timeout_ms;

	if (!r)
		return;
	if (r->kp)
		udp_kpath_tick(r->kp, lp->ld ? lp->ld->udp_kflows_fd : -1);
	list_for_each_safe(f, tmp, &r->flows, link) {
		if (f->tun) /* what its stream holds idle goes back */
			udp_tun_tick(f->tun);
		/* draining: a tunnel flow's stream would keep the drain waiting, and UDP has no
		 * end of its own to wait for (the programs send new datagrams directly now) */
		if (f->tun && lp->draining) {
			flow_close(f, "shutdown");
		} else if (lp->now_ms - f->last_ms >= idle) {
			lp->st.udp_flows_expired++;
			flow_close(f, "idle-timeout");
		} else if (f->last_ms > f->refreshed_ms && lp->now_ms - f->refreshed_ms >= UDP_REFRESH_MS) {
			slot_touch(f);
		}
	}
}

void udp_flows_foreach(struct loop *lp, void (*cb)(const struct udp_flow_info *, void *), void *arg)
{
	struct udp_flow *f;

	if (!lp->udp)
		return;
	list_for_each(f, &lp->udp->flows, link) {
		struct udp_flow_info i = {
			.id = f->id, .app = &f->app.sa, .dst = f->dst, .upstream_fd = f->fd,
			.bytes_up = f->bytes[UDP_DIR_OUT], .bytes_down = f->bytes[UDP_DIR_IN],
			.age_ms = lp->now_ms - f->started_ms, .idle_ms = lp->now_ms - f->last_ms,
			.pid = f->pid, .uid = f->uid, .comm = f->comm, .slot = f->slot,
			.action = f->tun ? HERMES_ACT_TUNNEL : HERMES_ACT_PROXY,
		};

		cb(&i, arg);
	}
	if (lp->udp->kp)
		udp_kpath_foreach(lp->udp->kp, cb, arg);
}

void udp_fini(struct loop *lp)
{
	struct udp_relay *r = lp->udp;

	if (!r)
		return;
	while (!list_empty(&r->flows)) {
		struct udp_flow *f = list_first(&r->flows, struct udp_flow, link);

		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): each flow freed left the list first (list_del) */
		flow_log(f, "shutdown");
		list_del(&f->link);
		list_del(&f->hlink);
		if (f->tun)
			udp_tun_close(f->tun);
		if (f->fd >= 0)
			close(f->fd);
		free(f);
	}
	udp_kpath_free(r->kp);
	if (r->s[0].fd >= 0)
		close(r->s[0].fd);
	relay6_close(r);
	if (r->diag_fd >= 0)
		close(r->diag_fd);
	free(r->buf);
	free(r);
	lp->udp = NULL;
}
