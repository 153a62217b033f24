/* udp.c: the UDP relay of the proxy action (udp.h). A flow is an app socket and an
 * original destination, known to the relay as (the app's address, the slot address the
 * datagram was sent to): its own upstream socket, connected to the destination and
 * marked so that the steering programs leave it alone, keeps datagram boundaries both
 * ways. Nothing is ever truncated: a datagram over udp.max_datagram is dropped and
 * counted. Reads are non-blocking after each multishot poll completion, until EAGAIN or
 * UDP_BURST datagrams (then a NOP brings the loop back to the socket). A flow whose rule
 * says `tunnel` has no socket: its datagrams go to its CONNECT-UDP stream (udp_tun.c),
 * which sends the peer's back through flow_to_app. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "addr.h"
#include "hermes/udp.h"
#include "log.h"
#include "ring.h"
#include "sock.h"
#include "udp.h"
#include "udp_tun.h"

#define UDP_HASH 1024 /* flow hash buckets (power of two) */
#define UDP_REFRESH_MS 5000 /* how often a live flow's slot is marked used in the map */
/* Datagrams one socket may relay per loop turn: a busy sender must not keep the loop
 * from everything else. The rest waits for a NOP's completion, in the next turn. */
#define UDP_BURST 256
/* Receive buffers: the relay socket takes the bursts of every app at once, a flow's
 * upstream socket its destination's answers to a burst (with the default 208 KiB, 144 of
 * the answers to a burst of 1024 small datagrams were dropped by the kernel). A limit,
 * not an allocation: memory is taken only while datagrams wait. */
#define UDP_RELAY_RCVBUF (4 << 20)
#define UDP_FLOW_RCVBUF (1 << 20)

struct udp_relay;

struct udp_flow {
	struct list link;        /* r->flows */
	struct list hlink;       /* r->hash[] */
	struct udp_relay *r;
	int fd;                  /* upstream socket, connected to dst; -1 for a tunnel flow */
	struct udp_tun *tun;     /* the tunnel action's backend, or NULL (proxy) */
	uint32_t slot;
	struct sockaddr_in app;  /* the app socket as the relay socket sees it */
	struct hermes_addr dst;
	uint64_t cookie;         /* the app socket's (from the slot) */
	uint64_t id;             /* /flows: lp->next_id when opened */
	uint32_t pid, uid;       /* the slot's: who first sent */
	uint64_t bytes[UDP_NDIRS]; /* payload relayed each way */
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
	int fd;                  /* bound to 0.0.0.0:port, IP_PKTINFO on */
	bool polling;
	bool more_armed;
	struct loop_op op_poll;
	struct loop_op op_more;
	struct list flows;
	struct list hash[UDP_HASH];
	uint32_t n_flows;
	int slots_fd;            /* hermes_udp_slots */
	int diag_fd;             /* NETLINK_SOCK_DIAG: who owns a new flow's source (flow_owner_ok) */
	uint16_t port;           /* the relay's port, network order */
	uint8_t *buf;
	size_t bufsz;            /* udp.max_datagram */
	uint64_t warned_ms;      /* last warning about a socket that could not be opened */
};

static loop_done_fn relay_polled, relay_more, flow_polled, flow_more, flow_cancelled;
static int flow_to_app(void *arg, const void *p, size_t n);

static unsigned flow_hash(const struct sockaddr_in *app, uint32_t slot)
{
	uint32_t h = app->sin_addr.s_addr * 2654435761u ^ ((uint32_t)app->sin_port << 16) ^ slot * 40503u;

	return (h ^ (h >> 15)) & (UDP_HASH - 1);
}

static struct udp_flow *flow_find(struct udp_relay *r, const struct sockaddr_in *app, uint32_t slot)
{
	struct udp_flow *f;

	list_for_each(f, &r->hash[flow_hash(app, slot)], hlink)
		if (f->slot == slot && f->app.sin_addr.s_addr == app->sin_addr.s_addr && f->app.sin_port == app->sin_port)
			return f;
	return NULL;
}

static void flow_free_if_done(struct udp_flow *f)
{
	if (!f->closing || f->inflight)
		return;
	free(f);
}

static void flow_close(struct udp_flow *f)
{
	struct udp_relay *r = f->r;

	if (f->closing)
		return;
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

/* SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN (hermesd keeps it); without
 * it, SO_RCVBUF gets what rmem_max allows. */
static void set_rcvbuf(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
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

/* A new flow's datagram must come from the very socket the slot was given to: the slot
 * addresses are open to every local process, and what reaches them leaves hermesd with
 * its mark. The kernel finds the socket a reply from the slot address to the sender would
 * reach (as ss does) and checks its cookie against the slot's: one netlink exchange per
 * new flow, none per datagram. */
static bool flow_owner_ok(struct udp_relay *r, const struct sockaddr_in *app, uint32_t slot, uint64_t cookie)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} q = {
		.nh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_UDP, .idiag_states = ~0u },
	};
	union {
		struct nlmsghdr nh;
		char buf[512];
	} a;
	ssize_t n;

	if (r->diag_fd < 0)
		return false;
	/* the lookup takes a received packet's view: source = the slot, destination = the app */
	q.req.id.idiag_src[0] = htonl(hermes_udp_slot_ip(slot));
	q.req.id.idiag_sport = r->port;
	q.req.id.idiag_dst[0] = app->sin_addr.s_addr;
	q.req.id.idiag_dport = app->sin_port;
	q.req.id.idiag_cookie[0] = (uint32_t)cookie;
	q.req.id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	if (send(r->diag_fd, &q, sizeof(q), 0) != (ssize_t)sizeof(q))
		return false;
	n = recv(r->diag_fd, &a, sizeof(a), 0);
	/* an error message (ENOENT: no such socket, ESTALE: another socket's cookie) or nothing */
	return n >= (ssize_t)sizeof(a.nh) && a.nh.nlmsg_type == SOCK_DIAG_BY_FAMILY;
}

static struct udp_flow *flow_open(struct udp_relay *r, const struct sockaddr_in *app, uint32_t slot)
{
	struct loop *lp = r->lp;
	struct hermes_udp_slot s;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct udp_flow *f;
	char a[ADDR_STRLEN], d[ADDR_STRLEN];
	int err;

	if (bpf_map_lookup_elem(r->slots_fd, &slot, &s) || !s.cookie || s.dst.family != HERMES_FAMILY_V4) {
		lp->st.udp_drops[UDP_DROP_UNKNOWN_SLOT]++;
		return NULL;
	}
	if (!flow_owner_ok(r, app, slot, s.cookie)) {
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
	memcpy(&dst.sin_addr, s.dst.addr, 4);
	dst.sin_port = s.dst.port;
	f->fd = -1;
	if (udp_tun_wanted(lp, &s.dst)) {
		const struct udp_tun_app ta = { .app = *app, .dst = s.dst, .cookie = s.cookie, .pid = s.pid,
						.uid = s.uid, .gid = s.gid, .to_app = flow_to_app, .arg = f };

		err = (f->tun = udp_tun_open(lp, &ta)) ? 0 : -ENOMEM;
	} else {
		/* every send and receive on it is MSG_DONTWAIT: the socket itself may block */
		f->fd = sock_open_udp(lp, AF_INET);
		err = f->fd < 0 ? f->fd : connect(f->fd, (struct sockaddr *)&dst, sizeof(dst)) ? -errno : 0;
	}
	if (err) {
		/* once a second at most: each datagram of the flow tries again */
		if (lp->now_ms - r->warned_ms >= 1000) {
			r->warned_ms = lp->now_ms;
			log_warn("udp: cannot open a socket to %s for %s: %s: dropping its datagrams (udp drops, "
				 "reason socket)", addr_fmt((struct sockaddr *)&dst, d, sizeof(d)),
				 addr_fmt((const struct sockaddr *)app, a, sizeof(a)), strerror(-err));
		}
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		lp->st.udp_drops[UDP_DROP_SOCKET]++;
		return NULL;
	}
	if (f->fd >= 0)
		set_rcvbuf(f->fd, UDP_FLOW_RCVBUF);
	f->r = r;
	f->slot = slot;
	f->app = *app;
	f->dst = s.dst;
	f->cookie = s.cookie;
	f->id = ++lp->next_id;
	f->pid = s.pid;
	f->uid = s.uid;
	f->started_ms = f->last_ms = lp->now_ms;
	list_add(&r->flows, &f->link);
	list_add(&r->hash[flow_hash(app, slot)], &f->hlink);
	r->n_flows++;
	lp->st.udp_flows_total++;
	lp->st.udp_flows_active++;
	if (f->fd >= 0)
		flow_arm(f);
	log_debug("udp: flow %s -> %s (slot %u)", addr_fmt((const struct sockaddr *)app, a, sizeof(a)),
		  addr_fmt((struct sockaddr *)&dst, d, sizeof(d)), slot);
	return f;
}

/* One datagram from an app: its flow (found or opened) sends it on. */
static void relay_one(struct udp_relay *r, const struct sockaddr_in *app, const struct in_addr *to, size_t len)
{
	struct loop *lp = r->lp;
	int slot = hermes_udp_ip_slot(ntohl(to->s_addr));
	struct udp_flow *f;

	if (slot < 0) {
		lp->st.udp_drops[UDP_DROP_NOT_SLOT]++;
		return;
	}
	if (r->slots_fd < 0 && lp->ld) /* the relay is bound before the maps are loaded */
		r->slots_fd = lp->ld->udp_slots_fd;
	f = flow_find(r, app, (uint32_t)slot);
	if (!f)
		f = flow_open(r, app, (uint32_t)slot);
	if (!f)
		return;
	f->last_ms = lp->now_ms;
	if (f->tun) {
		f->bytes[UDP_DIR_OUT] += len;
		udp_tun_send(f->tun, r->buf, len);
		return;
	}
	if (send(f->fd, r->buf, len, MSG_DONTWAIT) < 0) {
		lp->st.udp_drops[UDP_DROP_SEND]++;
		return;
	}
	lp->st.udp_datagrams[UDP_DIR_OUT]++;
	lp->st.udp_bytes[UDP_DIR_OUT] += len;
	f->bytes[UDP_DIR_OUT] += len;
}

static void relay_read(struct udp_relay *r)
{
	for (int i = 0;; i++) {
		char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct sockaddr_in app;
		struct iovec iov = { r->buf, r->bufsz };
		struct msghdr m = { .msg_name = &app, .msg_namelen = sizeof(app), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct in_addr to = { 0 };
		ssize_t n;

		if (i == UDP_BURST) {
			if (!r->more_armed) {
				io_uring_prep_nop(loop_sqe(r->lp, &r->op_more, relay_more));
				r->more_armed = true;
			}
			return;
		}
		n = recvmsg(r->fd, &m, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN; an error of a send (ICMP) has nothing to tell here */
		}
		if (m.msg_flags & MSG_TRUNC) {
			r->lp->st.udp_drops[UDP_DROP_TOO_BIG]++;
			continue;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				to = ((struct in_pktinfo *)(void *)CMSG_DATA(c))->ipi_addr;
		if (app.sin_family != AF_INET) {
			r->lp->st.udp_drops[UDP_DROP_NOT_SLOT]++;
			continue;
		}
		relay_one(r, &app, &to, (size_t)n);
	}
}

/* One datagram to the app, sent from the flow's slot address (the upstream's replies,
 * and the tunnel's datagrams: udp_tun.c): 0 or -errno. */
static int flow_to_app(void *arg, const void *p, size_t n)
{
	struct udp_flow *f = arg;
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = { 0 };
	struct iovec iov = { (void *)p, n };
	struct msghdr out = { .msg_name = &f->app, .msg_namelen = sizeof(f->app), .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&out);
	struct in_pktinfo *pi = (void *)CMSG_DATA(c);

	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi->ipi_spec_dst.s_addr = htonl(hermes_udp_slot_ip(f->slot));
	if (sendmsg(f->r->fd, &out, MSG_DONTWAIT) < 0)
		return -errno;
	f->last_ms = f->r->lp->now_ms;
	f->bytes[UDP_DIR_IN] += n;
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
			/* ECONNREFUSED and the like: an ICMP error, which the app does not see */
			lp->st.udp_drops[UDP_DROP_ICMP]++;
			continue;
		}
		if (in.msg_flags & MSG_TRUNC) {
			lp->st.udp_drops[UDP_DROP_TOO_BIG]++;
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

static void relay_arm(struct udp_relay *r)
{
	io_uring_prep_poll_multishot(loop_sqe(r->lp, &r->op_poll, relay_polled), r->fd, POLLIN);
	r->polling = true;
}

static void relay_polled(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct udp_relay *r = loop_container_of(op, struct udp_relay, op_poll);

	(void)lp;
	if (!(cqe->flags & IORING_CQE_F_MORE))
		r->polling = false;
	if (cqe->res >= 0)
		relay_read(r);
	if (!r->polling && r->fd >= 0 && !lp->stop)
		relay_arm(r);
}

static void relay_more(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct udp_relay *r = loop_container_of(op, struct udp_relay, op_more);

	(void)cqe;
	r->more_armed = false;
	if (r->fd >= 0 && !lp->stop)
		relay_read(r);
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

int udp_init(struct loop *lp)
{
	const struct hermes_config *cfg = lp->cfg;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct udp_relay *r;
	int one = 1, err;

	if (!cfg->udp.relay || cfg->listen.ss.ss_family != AF_INET)
		return 0;
	a.sin_port = ((const struct sockaddr_in *)(const void *)&cfg->listen.ss)->sin_port;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->buf = malloc(cfg->udp.max_datagram))) {
		free(r);
		log_error("out of memory for the UDP relay");
		return -ENOMEM;
	}
	r->lp = lp;
	r->bufsz = cfg->udp.max_datagram;
	r->slots_fd = -1; /* loader_start opens the maps after this */
	r->port = a.sin_port;
	r->diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (r->diag_fd < 0)
		log_warn("udp: no sock_diag socket (%s): new UDP flows cannot be checked and are dropped "
			 "(udp drops, reason not_owner)", strerror(errno));
	list_init(&r->flows);
	for (int i = 0; i < UDP_HASH; i++)
		list_init(&r->hash[i]);
	r->fd = sock_open_udp(lp, AF_INET); /* its reads and sends are all MSG_DONTWAIT */
	err = r->fd < 0 ? r->fd : 0;
	if (!err && setsockopt(r->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)))
		err = -errno;
	if (!err)
		set_rcvbuf(r->fd, UDP_RELAY_RCVBUF);
	for (int i = 0; !err && i < 50; i++) {
		if (!bind(r->fd, (struct sockaddr *)&a, sizeof(a))) {
			err = 0;
			break;
		}
		err = -errno;
		if (err != -EADDRINUSE)
			break;
		err = 0;
		usleep(20000);
		if (i == 49)
			err = -EADDRINUSE;
	}
	if (err) {
		log_error("cannot bind the UDP relay on 0.0.0.0:%u: %s (another service has this UDP port: "
			  "set udp.relay: false, or give --listen another port)", ntohs(a.sin_port), strerror(-err));
		if (r->fd >= 0)
			close(r->fd);
		if (r->diag_fd >= 0)
			close(r->diag_fd);
		free(r->buf);
		free(r);
		return err;
	}
	lp->udp = r;
	log_info("UDP relay on 0.0.0.0:%u (slot addresses %u.%u.0.0/16)", ntohs(a.sin_port), HERMES_UDP_NET_A,
		 HERMES_UDP_NET_B);
	relay_arm(r);
	return 0;
}

void udp_tick(struct loop *lp)
{
	struct udp_relay *r = lp->udp;
	struct udp_flow *f, *tmp;
	uint64_t idle = lp->cfg->udp.idle_timeout_ms;

	if (!r)
		return;
	list_for_each_safe(f, tmp, &r->flows, link) {
		/* draining: a tunnel flow's stream would keep the drain waiting, and UDP has no
		 * end of its own to wait for (the programs send new datagrams directly now) */
		if (f->tun && lp->draining) {
			flow_close(f);
		} else if (lp->now_ms - f->last_ms >= idle) {
			lp->st.udp_flows_expired++;
			flow_close(f);
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
			.id = f->id, .app = f->app, .dst = f->dst, .upstream_fd = f->fd,
			.bytes_up = f->bytes[UDP_DIR_OUT], .bytes_down = f->bytes[UDP_DIR_IN],
			.age_ms = lp->now_ms - f->started_ms, .idle_ms = lp->now_ms - f->last_ms,
			.pid = f->pid, .uid = f->uid, .slot = f->slot,
			.action = f->tun ? HERMES_ACT_TUNNEL : HERMES_ACT_PROXY,
		};

		cb(&i, arg);
	}
}

void udp_fini(struct loop *lp)
{
	struct udp_relay *r = lp->udp;

	if (!r)
		return;
	while (!list_empty(&r->flows)) {
		struct udp_flow *f = list_first(&r->flows, struct udp_flow, link);

		list_del(&f->link);
		list_del(&f->hlink);
		if (f->tun)
			udp_tun_close(f->tun);
		if (f->fd >= 0)
			close(f->fd);
		free(f);
	}
	close(r->fd);
	if (r->diag_fd >= 0)
		close(r->diag_fd);
	free(r->buf);
	free(r);
	lp->udp = NULL;
}
