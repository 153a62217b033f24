/* tools/bench/udpping.c: UDP request/response latency benchmark used by `make bench`, the
 * UDP counterpart of pingpong.c.
 *
 *   udpping server -a ADDR -p PORT [-T MAXSECS]
 *       sends every datagram it receives back to its sender, unchanged, from the address
 *       it was sent to (IP_PKTINFO: bound to 0.0.0.0 on a host with several addresses, a
 *       reply from another one would miss a connected client socket), until
 *       SIGTERM/SIGINT or MAXSECS (default 3600) have passed.
 *   udpping client -a ADDR -p PORT [-c FLOWS] [-m SIZE] [-t SECS] [-w WARMUP]
 *                  [-r TIMEOUT_MS] [-U]
 *       opens FLOWS UDP sockets (default 1), each connect()ed to ADDR:PORT; each sends one
 *       SIZE-byte datagram (default 64) and waits for its echo, in lock-step, for SECS
 *       seconds (default 3). Every exchange's round-trip time is measured with
 *       CLOCK_MONOTONIC; exchanges that complete during the first WARMUP seconds (default
 *       0.3) are not counted. Prints one JSON line: exchanges, rate, RTT percentiles in
 *       microseconds, and the datagrams lost, late and wrong.
 *       Every request carries its sequence number and its own byte pattern, and the reply
 *       must be exactly that echo. A request without its reply after TIMEOUT_MS (default
 *       200) is counted lost and the flow goes on with the next one; a reply to an earlier
 *       request arriving later is counted late and ignored; a reply whose bytes differ
 *       (a relay that truncates, merges or corrupts datagrams) is counted wrong and fails
 *       the run (EPROTO).
 *       -U: unconnected sockets: every request is a sendto() to ADDR:PORT and every reply
 *       must come (recvfrom) from ADDR:PORT, else it is counted wrong: a transparent relay
 *       must make replies look as if they came from the original destination.
 *
 * One thread, one epoll set. Every wait is bounded: the run by SECS + TIMEOUT + 1 s.
 * Exit status: 0 done, 1 runtime failure (message on stderr), 2 bad command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define MAX_FLOWS 1000
#define MIN_SIZE 8 /* the sequence number and the flow's number */
#define MAX_SIZE 2048 /* the bench sends 64 B; the server's buffers are this size */
#define MAX_SAMPLES (1u << 24)
#define SRV_BATCH 64

/* ------------------------------------------------------------------ server */

static int run_server(const char *addr, int port, unsigned max_secs)
{
	static char bufs[SRV_BATCH][MAX_SIZE];
	struct mmsghdr msgs[SRV_BATCH];
	struct iovec iovs[SRV_BATCH];
	struct sockaddr_storage peers[SRV_BATCH];
	char cbufs[SRV_BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_storage ss;
	uint64_t deadline = now_ns() + (uint64_t)max_secs * 1000000000ull;
	socklen_t len;
	int fd, rc, rcvbuf = 4 << 20, one = 1;
	bool warned = false;

	rc = parse_sockaddr(addr, port, &ss, &len);
	fd = rc ? -1 : socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len)) {
		rc = rc ? rc : -errno;
		fprintf(stderr, "udpping server: bind %s:%d: %s\n", addr, port, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	/* a burst from many flows must not be dropped here: the relay is what is measured */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (ss.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	fprintf(stderr, "udpping server: listening on %s:%d\n", addr, port);
	while (!stop_requested && now_ns() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		for (int i = 0; i < SRV_BATCH; i++) {
			iovs[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i].msg_hdr = (struct msghdr){ .msg_name = &peers[i], .msg_namelen = sizeof(peers[i]),
							   .msg_iov = &iovs[i], .msg_iovlen = 1,
							   .msg_control = cbufs[i], .msg_controllen = sizeof(cbufs[i]) };
		}
		n = recvmmsg(fd, msgs, SRV_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				/* not echoed: a truncated echo would read as the relay's fault */
				if (!warned)
					fprintf(stderr, "udpping server: a datagram over %d bytes: not echoed\n", MAX_SIZE);
				warned = true;
				continue;
			}
			iovs[i].iov_len = msgs[i].msg_len;
			/* the request's IP_PKTINFO becomes the reply's source address */
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
				if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo *pi = (void *)CMSG_DATA(c);

					pi->ipi_spec_dst = pi->ipi_addr;
					pi->ipi_ifindex = 0;
				}
			sendmsg(fd, &msgs[i].msg_hdr, MSG_DONTWAIT);
		}
	}
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ client */

struct flow {
	int fd;
	uint32_t seq;    /* the current request's number */
	uint64_t t_send; /* when it was sent */
};

/* put_req / reply_ok: a request is the flow's number, its sequence number, then a
 * pattern that depends on both; the reply must be exactly that */
static void put_req(char *msg, uint32_t size, uint32_t flow, uint32_t seq)
{
	memcpy(msg, &flow, 4);
	memcpy(msg + 4, &seq, 4);
	for (uint32_t i = MIN_SIZE; i < size; i++)
		msg[i] = (char)(seq * 131u + flow * 7u + i);
}

struct counts {
	uint64_t lost, late, wrong;
};

static int flow_send(struct flow *f, uint32_t idx, char *msg, uint32_t size, const struct sockaddr_storage *to,
		     socklen_t tolen)
{
	ssize_t n;

	f->seq++;
	put_req(msg, size, idx, f->seq);
	f->t_send = now_ns();
	do
		n = to ? sendto(f->fd, msg, size, 0, (const struct sockaddr *)to, tolen) : send(f->fd, msg, size, 0);
	while (n < 0 && errno == EINTR);
	/* a send refused at once (ECONNREFUSED from an earlier ICMP, ENOBUFS) is a lost
	 * request: the timeout sends the next one */
	return n < 0 && errno != ECONNREFUSED && errno != ENOBUFS && errno != EAGAIN ? -errno : 0;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): a is what recvfrom filled */
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/* flow_recv: read what waits on f; 1 when the current request's reply came, 0 when
 * nothing (more) did, -errno (EPROTO: a wrong reply) */
static int flow_recv(struct flow *f, uint32_t idx, char *msg, char *buf, uint32_t size,
		     const struct sockaddr_storage *to, struct counts *c)
{
	for (;;) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		uint32_t rflow, rseq;
		ssize_t n = recvfrom(f->fd, buf, MAX_SIZE + 1, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			if (errno == ECONNREFUSED)
				continue; /* an ICMP error for an earlier request: it is lost */
			return -errno;
		}
		if (n < MIN_SIZE) {
			c->wrong++;
			return -EPROTO;
		}
		memcpy(&rflow, buf, 4);
		memcpy(&rseq, buf + 4, 4);
		if (rflow == idx && rseq < f->seq) {
			c->late++;
			continue;
		}
		if ((uint32_t)n != size || rflow != idx || rseq != f->seq || memcmp(buf, msg, size) ||
		    (to && !same_addr(&from, to))) {
			c->wrong++;
			return -EPROTO;
		}
		return 1;
	}
}

static int run_client(const char *addr, int port, int nflows, uint32_t size, double secs, double warmup,
		      unsigned timeout_ms, bool unconnected)
{
	struct sockaddr_storage ss;
	struct flow *flows;
	struct lat_samples lat = { 0 };
	struct counts cnt = { 0 };
	struct epoll_event evs[256];
	uint64_t total = 0, sum_ns = 0, t0, warm_end, end, hard_end, t1, tmo = (uint64_t)timeout_ms * 1000000ull;
	char **msgs, *buf;
	socklen_t len;
	int ep, rc = 0, active;

	if (parse_sockaddr(addr, port, &ss, &len)) {
		fprintf(stderr, "udpping client: bad address %s port %d\n", addr, port);
		return -EINVAL;
	}
	flows = calloc((size_t)nflows, sizeof(*flows));
	msgs = calloc((size_t)nflows, sizeof(*msgs));
	buf = malloc(MAX_SIZE + 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!flows || !msgs || !buf || ep < 0) {
		rc = ep < 0 ? -errno : -ENOMEM;
		fprintf(stderr, "udpping client: set-up: %s\n", strerror(-rc));
		goto out;
	}
	for (int i = 0; i < nflows; i++)
		flows[i].fd = -1;
	for (int i = 0; i < nflows; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		flows[i].fd = fd;
		msgs[i] = malloc(size);
		if (fd < 0 || !msgs[i] || (!unconnected && connect(fd, (struct sockaddr *)&ss, len)) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			rc = !msgs[i] ? -ENOMEM : -errno;
			fprintf(stderr, "udpping client: socket %d to %s:%d: %s\n", i, addr, port, strerror(-rc));
			goto out;
		}
	}
	t0 = now_ns();
	warm_end = t0 + (uint64_t)(warmup * 1e9);
	end = warm_end + (uint64_t)(secs * 1e9);
	hard_end = end + tmo + 1000000000ull;
	for (int i = 0; i < nflows; i++) {
		rc = flow_send(&flows[i], (uint32_t)i, msgs[i], size, unconnected ? &ss : NULL, len);
		if (rc) {
			fprintf(stderr, "udpping client: first send: %s\n", strerror(-rc));
			goto out;
		}
	}
	active = nflows;
	while (active > 0 && now_ns() < hard_end) {
		uint64_t now;
		int k = epoll_wait(ep, evs, 256, timeout_ms < 10 ? (int)timeout_ms : 10);

		if (k < 0 && errno != EINTR) {
			rc = -errno;
			fprintf(stderr, "udpping client: epoll_wait: %s\n", strerror(-rc));
			goto out;
		}
		for (int j = 0; j < k; j++) {
			uint32_t i = evs[j].data.u32;
			struct flow *f = &flows[i];
			uint64_t t;

			if (f->fd < 0)
				continue;
			rc = flow_recv(f, i, msgs[i], buf, size, unconnected ? &ss : NULL, &cnt);
			if (rc < 0) {
				fprintf(stderr, "udpping client: flow %u: %s\n", i,
					rc == -EPROTO ? "a reply that is not the request's exact echo (from the original "
							"destination, with its size and bytes)" : strerror(-rc));
				goto out;
			}
			if (!rc)
				continue;
			t = now_ns();
			if (t >= warm_end && t <= end) {
				total++;
				sum_ns += t - f->t_send;
				rc = lat_add(&lat, t - f->t_send, 65536, MAX_SAMPLES);
				if (rc)
					goto out;
			}
			if (t >= end || stop_requested) {
				close(f->fd);
				f->fd = -1;
				active--;
				continue;
			}
			rc = flow_send(f, i, msgs[i], size, unconnected ? &ss : NULL, len);
			if (rc)
				goto out;
		}
		/* requests without a reply in time: lost, the flow goes on (or ends) */
		now = now_ns();
		for (int i = 0; i < nflows; i++) {
			struct flow *f = &flows[i];

			if (f->fd < 0 || now - f->t_send < tmo)
				continue;
			if (f->t_send >= warm_end)
				cnt.lost++;
			if (now >= end || stop_requested) {
				close(f->fd);
				f->fd = -1;
				active--;
				continue;
			}
			rc = flow_send(f, (uint32_t)i, msgs[i], size, unconnected ? &ss : NULL, len);
			if (rc)
				goto out;
		}
	}
	rc = 0;
	t1 = now_ns() < end ? now_ns() : end;
	if (lat.n) /* qsort(NULL, 0, ...) is undefined (nonnull), a UBSan abort */
		qsort(lat.v, lat.n, sizeof(*lat.v), cmp_u32);
	printf("{\"tool\":\"udpping\",\"addr\":\"%s\",\"port\":%d,\"flows\":%d,\"size\":%u,\"connected\":%s,"
	       "\"secs\":%.3f,\"exchanges\":%llu,\"rate\":%.1f,\"mean_us\":%.2f,\"min_us\":%.2f,"
	       "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,"
	       "\"lost\":%llu,\"late\":%llu,\"wrong\":%llu}\n",
	       addr, port, nflows, size, unconnected ? "false" : "true", (t1 - warm_end) / 1e9,
	       (unsigned long long)total, t1 > warm_end ? total / ((t1 - warm_end) / 1e9) : 0.0,
	       total ? sum_ns / 1000.0 / total : 0.0, lat.n ? lat.v[0] / 1000.0 : 0.0,
	       lat_percentile_us(&lat, 50), lat_percentile_us(&lat, 90), lat_percentile_us(&lat, 99),
	       lat_percentile_us(&lat, 99.9), lat.n ? lat.v[lat.n - 1] / 1000.0 : 0.0,
	       (unsigned long long)cnt.lost, (unsigned long long)cnt.late, (unsigned long long)cnt.wrong);
	fflush(stdout);
	if (!total) {
		rc = -ENODATA;
		fprintf(stderr, "udpping client: no exchange completed (%llu requests lost)\n",
			(unsigned long long)cnt.lost);
	}
out:
	for (int i = 0; flows && i < nflows; i++)
		if (flows[i].fd >= 0)
			close(flows[i].fd);
	for (int i = 0; msgs && i < nflows; i++)
		free(msgs[i]);
	if (ep >= 0)
		close(ep);
	free(flows);
	free(msgs);
	free(buf);
	free(lat.v);
	return rc;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f, "usage: udpping server -a ADDR -p PORT [-T MAXSECS]\n"
		   "       udpping client -a ADDR -p PORT [-c FLOWS] [-m SIZE] [-t SECS] [-w WARMUP]\n"
		   "                      [-r TIMEOUT_MS] [-U]\n"
		   "UDP request/response latency (see the comment at the top of tools/bench/udpping.c).\n");
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	int port = 0, nflows = 1, opt, rc;
	long size = 64, timeout_ms = 200;
	double secs = 3, warmup = 0.3;
	unsigned max_secs = 3600;
	bool server, unconnected = false;
	char *endp;

	rc = bench_mode(argc, argv, usage, &server);
	if (rc >= 0)
		return rc;
	while ((opt = getopt(argc, argv, "a:p:c:m:t:w:T:r:U")) != -1) {
		errno = 0;
		endp = (char *)"";
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = (int)strtol(optarg, &endp, 10); break;
		case 'c': nflows = (int)strtol(optarg, &endp, 10); break;
		case 'm': size = strtol(optarg, &endp, 10); break;
		case 't': secs = strtod(optarg, &endp); break;
		case 'w': warmup = strtod(optarg, &endp); break;
		case 'r': timeout_ms = strtol(optarg, &endp, 10); break;
		case 'T': max_secs = (unsigned)strtoul(optarg, &endp, 10); break;
		case 'U': unconnected = true; break;
		default: usage(stderr); return 2;
		}
		if (errno || *endp) {
			fprintf(stderr, "udpping: bad value for -%c: %s\n", opt, optarg);
			return 2;
		}
	}
	if (!addr || port <= 0 || port > 65535 || nflows < 1 || nflows > MAX_FLOWS || size < MIN_SIZE ||
	    size > MAX_SIZE || !(secs > 0 && secs <= 3600) || !(warmup >= 0 && warmup <= 60) || !max_secs ||
	    timeout_ms < 1 || timeout_ms > 10000) {
		fprintf(stderr, "udpping: need -a ADDR -p PORT; 1 <= FLOWS <= %d, %d <= SIZE <= %d, "
				"0 < SECS <= 3600, 0 <= WARMUP <= 60, 1 <= TIMEOUT_MS <= 10000\n",
			MAX_FLOWS, MIN_SIZE, MAX_SIZE);
		return 2;
	}
	if (install_signals()) {
		perror("udpping: sigaction");
		return 1;
	}
	if (server)
		return run_server(addr, port, max_secs) ? 1 : 0;
	return run_client(addr, port, nflows, (uint32_t)size, secs, warmup, (unsigned)timeout_ms, unconnected) ? 1 : 0;
}
