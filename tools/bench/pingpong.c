/* tools/bench/pingpong.c: TCP request/response latency benchmark used by `make bench`.
 *
 *   pingpong server -a ADDR -p PORT [-T MAXSECS]
 *       echoes every byte it receives on every connection (epoll), until SIGTERM/SIGINT
 *       or MAXSECS (default 3600) have passed.
 *   pingpong client -a ADDR -p PORT [-c CONNS] [-m SIZE] [-t SECS] [-w WARMUP]
 *                   [-n COUNT] [-x PROXY:PORT] [-H HOLD]
 *       opens CONNS connections (default 1), then each one sends SIZE bytes (default 64)
 *       and waits for SIZE bytes back, in lock-step, for SECS seconds (default 3). Every
 *       exchange's round-trip time is measured with CLOCK_MONOTONIC; exchanges that
 *       complete during the first WARMUP seconds (default 0.3) are not counted. Prints
 *       one JSON line: exchanges, rate, RTT percentiles in microseconds.
 *       Every request carries its own byte pattern and the reply must be exactly that
 *       echo: a relay that loses, adds or reorders bytes fails the run (EPROTO).
 *       -n COUNT: each connection does COUNT exchanges and stops (SECS is then only a
 *       bound; no warm-up): the JSON also gives connect_ms (all connections set up) and
 *       elapsed_ms (from the first connect() to the last reply), the completion time of
 *       CONNS concurrent request/response flows.
 *       -x PROXY:PORT: reach ADDR:PORT through an HTTP/1.1 CONNECT proxy (squid, a
 *       tunnel listener): every connection goes to PROXY first, sends CONNECT and needs
 *       a 2xx answer before its first exchange (counted in connect_ms).
 *       -H HOLD: after printing the JSON, keep the (idle) connections open HOLD seconds
 *       (to measure a proxy's memory per idle connection).
 *
 * One thread, one epoll set, TCP_NODELAY on every socket. Every wait is bounded: the
 * connect phase by 10 s, the run by SECS + 5 s. Exit status: 0 done, 1 runtime
 * failure (message on stderr), 2 bad command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
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

#define MAX_CONNS 10000
#define MAX_SIZE 65536
#define MAX_SAMPLES (1u << 24) /* 64 MiB of samples; later exchanges are counted only */
#define CONNECT_TIMEOUT_NS (10 * 1000000000ull)
#define GRACE_NS (5 * 1000000000ull)

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ------------------------------------------------------------------ server */

struct srv_conn {
	int fd;
	uint32_t out_off, out_len; /* bytes read but not yet echoed back */
	char buf[MAX_SIZE];
};

static void srv_close(int ep, struct srv_conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* srv_flush: write the pending bytes; 0 when all were written, 1 when the socket is
 * full (wait for EPOLLOUT), -errno on error */
static int srv_flush(struct srv_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->buf + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : -errno;
		}
		c->out_off += (uint32_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* srv_event: one readiness event on a connection; 0 to keep it, -errno to close it */
static int srv_event(int ep, struct srv_conn *c, uint32_t events)
{
	struct epoll_event ev = { .data.ptr = c };
	int rc;

	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
		return -ECONNRESET;
	if (c->out_len) { /* an echo is pending: finish it before reading more */
		rc = srv_flush(c);
		if (rc < 0)
			return rc;
		if (rc > 0)
			return 0;
		ev.events = EPOLLIN;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
			return -errno;
		return 0;
	}
	for (;;) {
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);

		if (n == 0)
			return -ENOTCONN;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		c->out_off = 0;
		c->out_len = (uint32_t)n;
		rc = srv_flush(c);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			ev.events = EPOLLOUT;
			if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
				return -errno;
			return 0;
		}
	}
}

static int srv_accept(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct srv_conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		set_nodelay(fd);
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return -ENOMEM;
		}
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			int err = -errno;

			close(fd);
			free(c);
			return err;
		}
	}
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, rc;

	rc = parse_sockaddr(addr, port, &ss, &len);
	if (rc)
		return rc;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int run_server(const char *addr, int port, unsigned max_secs)
{
	struct epoll_event evs[256], lev = { .events = EPOLLIN, .data.ptr = NULL };
	uint64_t deadline = now_ns() + (uint64_t)max_secs * 1000000000ull;
	int lfd, ep, rc = 0;

	lfd = listen_on(addr, port);
	if (lfd < 0) {
		fprintf(stderr, "pingpong server: listen on %s:%d: %s\n", addr, port, strerror(-lfd));
		return lfd;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev)) {
		rc = -errno;
		fprintf(stderr, "pingpong server: epoll: %s\n", strerror(-rc));
		close(lfd);
		return rc;
	}
	fprintf(stderr, "pingpong server: listening on %s:%d\n", addr, port);
	while (!stop_requested && now_ns() < deadline) {
		int n = epoll_wait(ep, evs, 256, 200);

		if (n < 0 && errno != EINTR) {
			rc = -errno;
			fprintf(stderr, "pingpong server: epoll_wait: %s\n", strerror(-rc));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct srv_conn *c = evs[i].data.ptr;

			if (!c) {
				rc = srv_accept(ep, lfd);
				if (rc)
					fprintf(stderr, "pingpong server: accept: %s\n", strerror(-rc));
				rc = 0;
			} else if (srv_event(ep, c, evs[i].events)) {
				srv_close(ep, c);
			}
		}
	}
	/* connections still open are released by the exit */
	close(ep);
	close(lfd);
	return rc;
}

/* ------------------------------------------------------------------ client */

struct cli_conn {
	int fd;
	bool done;       /* run over for this connection: no new request */
	uint32_t seq;    /* number of the current request: selects its byte pattern */
	uint32_t tx, rx; /* bytes of the current request sent, of the reply received */
	uint64_t t_send; /* when the current request started */
};

/* pattern_byte: byte OFF of request SEQ (the reply must echo it) */
static inline uint8_t pattern_byte(uint32_t seq, uint32_t off)
{
	return (uint8_t)(seq * 131u + off);
}

struct samples {
	struct lat_samples lat; /* RTTs */
	uint64_t total; /* counted exchanges, also past MAX_SAMPLES */
	uint64_t sum_ns;
};

static int samples_add(struct samples *s, uint64_t ns)
{
	s->total++;
	s->sum_ns += ns;
	return lat_add(&s->lat, ns, 65536, MAX_SAMPLES);
}

/* cli_send: send the rest of the current request; 0 sent, 1 socket full, -errno */
static int cli_send(struct cli_conn *c, char *msg, uint32_t size)
{
	for (uint32_t i = c->tx; i < size; i++)
		msg[i] = (char)pattern_byte(c->seq, i);
	while (c->tx < size) {
		ssize_t n = send(c->fd, msg + c->tx, size - c->tx, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : -errno;
		}
		c->tx += (uint32_t)n;
	}
	return 0;
}

static int cli_want(int ep, struct cli_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) ? -errno : 0;
}

/* cli_start: begin a new request on c */
static int cli_start(int ep, struct cli_conn *c, char *msg, uint32_t size)
{
	int rc;

	c->seq++;
	c->tx = c->rx = 0;
	c->t_send = now_ns();
	rc = cli_send(c, msg, size);
	if (rc < 0)
		return rc;
	return cli_want(ep, c, rc ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* cli_connect_all: open n connections and wait (bounded) until all are established */
static int cli_connect_all(int ep, struct cli_conn *conns, int n, const struct sockaddr_storage *ss,
			   socklen_t len)
{
	uint64_t deadline = now_ns() + CONNECT_TIMEOUT_NS;
	struct epoll_event evs[256];
	int pending = 0;

	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &conns[i] };
		int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		conns[i].fd = fd;
		if (fd < 0)
			return -errno;
		set_nodelay(fd);
		if (connect(fd, (const struct sockaddr *)ss, len) && errno != EINPROGRESS)
			return -errno;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
		conns[i].done = true; /* "done" = still connecting, during this phase */
		pending++;
	}
	while (pending > 0) {
		uint64_t now = now_ns();
		int k;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (stop_requested)
			return -EINTR;
		k = epoll_wait(ep, evs, 256, 100);
		if (k < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < k; i++) {
			struct cli_conn *c = evs[i].data.ptr;
			int err = 0;
			socklen_t elen = sizeof(err);

			if (!c->done)
				continue;
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen))
				return -errno;
			if (err)
				return -err;
			c->done = false;
			pending--;
			if (cli_want(ep, c, EPOLLIN))
				return -errno;
		}
	}
	return 0;
}

/* cli_connect_proxy: CONNECT ADDR:PORT on every (connected, idle) connection and wait
 * (bounded, all in parallel) for each proxy's 2xx answer; 0 or -errno */
static int cli_connect_proxy(int ep, struct cli_conn *conns, int n, const char *addr, int port)
{
	uint64_t deadline = now_ns() + CONNECT_TIMEOUT_NS;
	struct epoll_event evs[256];
	char req[256], (*resp)[512];
	size_t *got;
	int len, pending = n, rc = 0;

	len = snprintf(req, sizeof(req), "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", addr, port, addr, port);
	resp = calloc((size_t)n, sizeof(*resp));
	got = calloc((size_t)n, sizeof(*got));
	if (!resp || !got) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (send(conns[i].fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
			rc = errno ? -errno : -EIO;
			goto out;
		}
		conns[i].done = true; /* "done" = waiting for the proxy's answer */
	}
	while (pending > 0) {
		int k;

		if (now_ns() >= deadline) {
			rc = -ETIMEDOUT;
			goto out;
		}
		if (stop_requested) {
			rc = -EINTR;
			goto out;
		}
		k = epoll_wait(ep, evs, 256, 100);
		if (k < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		for (int j = 0; j < k; j++) {
			struct cli_conn *c = evs[j].data.ptr;
			long i = c - conns;
			ssize_t r = -1;

			if (!c->done)
				continue;
			/* one byte at a time: nothing past the answer's head may be consumed */
			while (got[i] < sizeof(resp[i]) - 1 && (r = recv(c->fd, resp[i] + got[i], 1, 0)) == 1) {
				got[i]++;
				resp[i][got[i]] = 0;
				if (got[i] >= 4 && !memcmp(resp[i] + got[i] - 4, "\r\n\r\n", 4))
					break;
			}
			if (got[i] >= 4 && !memcmp(resp[i] + got[i] - 4, "\r\n\r\n", 4)) {
				if (strncmp(resp[i], "HTTP/1.", 7) || resp[i][9] != '2') {
					fprintf(stderr, "pingpong client: the proxy refused CONNECT: %.*s\n",
						(int)strcspn(resp[i], "\r\n"), resp[i]);
					rc = -ECONNREFUSED;
					goto out;
				}
				c->done = false;
				pending--;
			} else if (got[i] >= sizeof(resp[i]) - 1) {
				rc = -EPROTO;
				goto out;
			} else if (r == 0) {
				rc = -ECONNRESET;
				goto out;
			} else if (errno != EAGAIN && errno != EINTR) {
				rc = -errno;
				goto out;
			}
		}
	}
out:
	free(resp);
	free(got);
	return rc;
}

/* cli_event: readiness on a connection during the run; 0 or -errno (fatal) */
static int cli_event(int ep, struct cli_conn *c, uint32_t events, char *msg, uint32_t size,
		     uint64_t warm_end, uint64_t end, struct samples *s, uint32_t count, uint64_t *t_last)
{
	char buf[MAX_SIZE];
	int rc;

	if (c->done)
		return 0;
	if (events & EPOLLOUT && c->tx < size) {
		rc = cli_send(c, msg, size);
		if (rc < 0)
			return rc;
		if (rc == 0 && cli_want(ep, c, EPOLLIN))
			return -errno;
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return 0;
	for (;;) {
		ssize_t n = recv(c->fd, buf, size - c->rx, 0);
		uint64_t t;

		if (n == 0)
			return -ECONNRESET; /* the peer closed in the middle of the run */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		for (ssize_t j = 0; j < n; j++)
			if ((uint8_t)buf[j] != pattern_byte(c->seq, c->rx + (uint32_t)j))
				return -EPROTO;
		c->rx += (uint32_t)n;
		if (c->rx < size)
			continue;
		t = now_ns();
		if (t >= warm_end && t <= end) {
			rc = samples_add(s, t - c->t_send);
			if (rc)
				return rc;
		}
		*t_last = t;
		if (t >= end || stop_requested || (count && c->seq >= count)) {
			c->done = true;
			return 0;
		}
		return cli_start(ep, c, msg, size);
	}
}

static int run_client(const char *addr, int port, int nconns, uint32_t size, double secs, double warmup,
		      uint32_t count, const char *proxy, double hold)
{
	struct sockaddr_storage ss;
	struct cli_conn *conns;
	struct samples s = { 0 };
	struct epoll_event evs[256];
	char *msg;
	uint64_t t0, warm_end, end, hard_end, t1, t_start, t_conn, t_last = 0;
	socklen_t len;
	int ep, rc, active;

	if (proxy) {
		char pa[128], *colon;

		snprintf(pa, sizeof(pa), "%s", proxy);
		colon = strrchr(pa, ':');
		rc = -EINVAL;
		if (colon) {
			*colon = 0;
			rc = parse_sockaddr(pa, atoi(colon + 1), &ss, &len);
		}
		if (rc) {
			fprintf(stderr, "pingpong client: bad proxy address %s (expected IP:PORT)\n", proxy);
			return rc;
		}
	} else {
		rc = parse_sockaddr(addr, port, &ss, &len);
		if (rc) {
			fprintf(stderr, "pingpong client: bad address %s port %d\n", addr, port);
			return rc;
		}
	}
	conns = calloc((size_t)nconns, sizeof(*conns));
	msg = malloc(size);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || !msg || ep < 0) {
		rc = ep < 0 ? -errno : -ENOMEM;
		fprintf(stderr, "pingpong client: set-up: %s\n", strerror(-rc));
		goto out;
	}
	for (int i = 0; i < nconns; i++)
		conns[i].fd = -1;

	t_start = now_ns();
	rc = cli_connect_all(ep, conns, nconns, &ss, len);
	if (!rc && proxy)
		rc = cli_connect_proxy(ep, conns, nconns, addr, port);
	if (rc) {
		fprintf(stderr, "pingpong client: connecting %d connection(s) to %s:%d%s%s: %s\n", nconns, addr,
			port, proxy ? " through " : "", proxy ? proxy : "", strerror(-rc));
		goto out;
	}
	t0 = t_conn = now_ns();
	warm_end = t0 + (count ? 0 : (uint64_t)(warmup * 1e9));
	end = warm_end + (uint64_t)(secs * 1e9);
	hard_end = end + GRACE_NS;
	for (int i = 0; i < nconns; i++) {
		rc = cli_start(ep, &conns[i], msg, size);
		if (rc) {
			fprintf(stderr, "pingpong client: first send: %s\n", strerror(-rc));
			goto out;
		}
	}
	active = nconns;
	while (active > 0) {
		int k;

		if (now_ns() >= hard_end) {
			fprintf(stderr, "pingpong client: %d connection(s) still waiting for a reply %.0f s after the end\n",
				active, GRACE_NS / 1e9);
			rc = -ETIMEDOUT;
			goto out;
		}
		k = epoll_wait(ep, evs, 256, 100);
		if (k < 0 && errno != EINTR) {
			rc = -errno;
			fprintf(stderr, "pingpong client: epoll_wait: %s\n", strerror(-rc));
			goto out;
		}
		for (int i = 0; i < k; i++) {
			struct cli_conn *c = evs[i].data.ptr;
			bool was_done = c->done;

			rc = cli_event(ep, c, evs[i].events, msg, size, warm_end, end, &s, count, &t_last);
			if (rc) {
				fprintf(stderr, "pingpong client: connection %ld: %s\n", (long)(c - conns),
					strerror(-rc));
				goto out;
			}
			if (!was_done && c->done)
				active--;
		}
	}
	t1 = now_ns() < end ? now_ns() : end;
	if (s.lat.n) /* qsort(NULL, 0, ...) is undefined (nonnull), a UBSan abort */
		qsort(s.lat.v, s.lat.n, sizeof(*s.lat.v), cmp_u32);
	printf("{\"tool\":\"pingpong\",\"addr\":\"%s\",\"port\":%d,\"conns\":%d,\"size\":%u,"
	       "\"secs\":%.3f,\"exchanges\":%llu,\"rate\":%.1f,\"mean_us\":%.2f,\"min_us\":%.2f,"
	       "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,"
	       "\"samples\":%zu,\"connect_ms\":%.3f,\"elapsed_ms\":%.3f}\n",
	       addr, port, nconns, size, (t1 - warm_end) / 1e9, (unsigned long long)s.total,
	       t1 > warm_end ? s.total / ((t1 - warm_end) / 1e9) : 0.0,
	       s.total ? s.sum_ns / 1000.0 / s.total : 0.0, s.lat.n ? s.lat.v[0] / 1000.0 : 0.0,
	       lat_percentile_us(&s.lat, 50), lat_percentile_us(&s.lat, 90), lat_percentile_us(&s.lat, 99),
	       lat_percentile_us(&s.lat, 99.9), s.lat.n ? s.lat.v[s.lat.n - 1] / 1000.0 : 0.0, s.lat.n,
	       (t_conn - t_start) / 1e6, t_last > t_start ? (t_last - t_start) / 1e6 : 0.0);
	fflush(stdout);
	if (count && s.total < (uint64_t)count * (uint64_t)nconns) {
		fprintf(stderr, "pingpong client: %llu of %llu exchanges done within %.1f s\n",
			(unsigned long long)s.total, (unsigned long long)count * (unsigned long long)nconns, secs);
		rc = -ETIMEDOUT;
		goto out;
	}
	for (uint64_t hold_end = now_ns() + (uint64_t)(hold * 1e9); now_ns() < hold_end && !stop_requested;)
		usleep(20000);
	rc = s.total ? 0 : -ENODATA;
	if (rc)
		fprintf(stderr, "pingpong client: no exchange completed\n");
out:
	if (conns)
		for (int i = 0; i < nconns; i++)
			if (conns[i].fd >= 0)
				close(conns[i].fd);
	if (ep >= 0)
		close(ep);
	free(conns);
	free(msg);
	free(s.lat.v);
	return rc;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f, "usage: pingpong server -a ADDR -p PORT [-T MAXSECS]\n"
		   "       pingpong client -a ADDR -p PORT [-c CONNS] [-m SIZE] [-t SECS] [-w WARMUP]\n"
		   "                       [-n COUNT] [-x PROXY:PORT] [-H HOLD]\n"
		   "TCP request/response latency (see the comment at the top of tools/bench/pingpong.c).\n");
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	int port = 0, nconns = 1, opt, rc;
	long size = 64;
	double secs = 3, warmup = 0.3, hold = 0;
	long count = 0;
	const char *proxy = NULL;
	unsigned max_secs = 3600;
	bool server;
	char *endp;

	rc = bench_mode(argc, argv, usage, &server);
	if (rc >= 0)
		return rc;
	while ((opt = getopt(argc, argv, "a:p:c:m:t:w:T:n:x:H:")) != -1) {
		errno = 0;
		endp = (char *)""; /* options without a number leave it empty */
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = (int)strtol(optarg, &endp, 10); break;
		case 'c': nconns = (int)strtol(optarg, &endp, 10); break;
		case 'm': size = strtol(optarg, &endp, 10); break;
		case 't': secs = strtod(optarg, &endp); break;
		case 'w': warmup = strtod(optarg, &endp); break;
		case 'n': count = strtol(optarg, &endp, 10); break;
		case 'x': proxy = optarg; break;
		case 'H': hold = strtod(optarg, &endp); break;
		case 'T': max_secs = (unsigned)strtoul(optarg, &endp, 10); break;
		default: usage(stderr); return 2;
		}
		if (errno || *endp) {
			fprintf(stderr, "pingpong: bad value for -%c: %s\n", opt, optarg);
			return 2;
		}
	}
	if (!addr || port <= 0 || port > 65535 || nconns < 1 || nconns > MAX_CONNS || size < 1 ||
	    size > MAX_SIZE || !(secs > 0 && secs <= 3600) || !(warmup >= 0 && warmup <= 60) || !max_secs || count < 0 || count > 100000000 ||
	    !(hold >= 0 && hold <= 600)) {
		fprintf(stderr, "pingpong: need -a ADDR -p PORT; 1 <= CONNS <= %d, 1 <= SIZE <= %d, "
				"0 < SECS <= 3600, 0 <= WARMUP <= 60\n",
			MAX_CONNS, MAX_SIZE);
		return 2;
	}
	if (install_signals()) {
		perror("pingpong: sigaction");
		return 1;
	}
	if (server)
		return run_server(addr, port, max_secs) ? 1 : 0;
	return run_client(addr, port, nconns, (uint32_t)size, secs, warmup, (uint32_t)count, proxy, hold) ? 1 : 0;
}
