/* tools/bench/connrate.c: TCP connection set-up rate benchmark used by `make bench`.
 *
 *   connrate server -a ADDR -p PORT [-T MAXSECS]
 *       accepts connections, reads 1 byte, answers 1 byte and closes (the server closes
 *       first, so TIME_WAIT stays on the server and the client's ports are never held),
 *       until SIGTERM/SIGINT or MAXSECS (default 3600) have passed.
 *   connrate client -a ADDR -p PORT [-P PARALLEL] [-t SECS]
 *       keeps PARALLEL connections (default 8) in flight for SECS seconds (default 3):
 *       each one is connect, send 1 byte, receive 1 byte, receive the server's FIN,
 *       close, then the next one. Prints one JSON line: completed connections, rate,
 *       errors and the connect-to-FIN time percentiles in microseconds. An answer other
 *       than the byte sent, or any byte after it, is an error (EPROTO).
 *
 * One thread, one epoll set, non-blocking sockets. A connection that has not finished
 * after 3 s counts as a timeout and is abandoned; the whole run is bounded by SECS + 5 s.
 * Exit status: 0 done, 1 runtime failure or nothing completed, 2 bad command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
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

#define MAX_PARALLEL 1024
#define MAX_SAMPLES (1u << 22)
#define CONN_TIMEOUT_NS (3 * 1000000000ull)
#define GRACE_NS (5 * 1000000000ull)
#define MAX_ERRORS 100000 /* give up when this many attempts failed */

/* ------------------------------------------------------------------ server */

#define LISTENER_TAG (-1)

static int srv_accept(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			int err = -errno;

			close(fd);
			return err;
		}
	}
}

/* srv_event: the client's byte (or its close) arrived: answer and close */
static void srv_event(int ep, int fd)
{
	char b;
	ssize_t n;

	do
		n = recv(fd, &b, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return; /* spurious wake-up: wait for the byte */
	if (n == 1)
		send(fd, &b, 1, MSG_NOSIGNAL);
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

static int run_server(const char *addr, int port, unsigned max_secs)
{
	struct epoll_event evs[256], lev = { .events = EPOLLIN, .data.fd = LISTENER_TAG };
	uint64_t deadline = now_ns() + (uint64_t)max_secs * 1000000000ull;
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, ep, one = 1, rc;

	rc = parse_sockaddr(addr, port, &ss, &len);
	if (rc) {
		fprintf(stderr, "connrate server: bad address %s port %d\n", addr, port);
		return rc;
	}
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 4096)) {
		rc = -errno;
		fprintf(stderr, "connrate server: listen on %s:%d: %s\n", addr, port, strerror(-rc));
		close(lfd);
		return rc;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev)) {
		rc = -errno;
		fprintf(stderr, "connrate server: epoll: %s\n", strerror(-rc));
		close(lfd);
		return rc;
	}
	fprintf(stderr, "connrate server: listening on %s:%d\n", addr, port);
	rc = 0;
	while (!stop_requested && now_ns() < deadline) {
		int n = epoll_wait(ep, evs, 256, 200);

		if (n < 0 && errno != EINTR) {
			rc = -errno;
			fprintf(stderr, "connrate server: epoll_wait: %s\n", strerror(-rc));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == LISTENER_TAG) {
				int err = srv_accept(ep, lfd);

				if (err)
					fprintf(stderr, "connrate server: accept: %s\n", strerror(-err));
			} else {
				srv_event(ep, evs[i].data.fd);
			}
		}
	}
	close(ep);
	close(lfd);
	return rc;
}

/* ------------------------------------------------------------------ client */

enum slot_state {
	SLOT_IDLE,       /* no connection: start one */
	SLOT_CONNECTING, /* non-blocking connect() in progress, waiting for EPOLLOUT */
	SLOT_REPLY,      /* byte sent, waiting for the answer */
	SLOT_EOF,        /* answer received, waiting for the server's FIN */
};

struct slot {
	int fd;
	enum slot_state state;
	uint8_t byte; /* what this connection sent, and must get back */
	uint64_t t_start;
};

struct stats {
	uint64_t done, errors, timeouts;
	uint64_t last_err; /* errno of the last failure, for the report */
	struct lat_samples lat; /* connect-to-FIN times */
};

static int stats_add(struct stats *st, uint64_t ns)
{
	st->done++;
	return lat_add(&st->lat, ns, 16384, MAX_SAMPLES);
}

static void slot_close(int ep, struct slot *s)
{
	if (s->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = -1;
	s->state = SLOT_IDLE;
}

static void slot_fail(int ep, struct slot *s, struct stats *st, int err)
{
	st->errors++;
	st->last_err = (uint64_t)err;
	slot_close(ep, s);
}

/* slot_open: start a connection; 0, or -errno for a failure that counts as an error */
static int slot_open(int ep, struct slot *s, const struct sockaddr_storage *ss, socklen_t len)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
	int fd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	s->fd = fd;
	s->t_start = now_ns();
	if (connect(fd, (const struct sockaddr *)ss, len) && errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		s->fd = -1;
		return err;
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		int err = -errno;

		close(fd);
		s->fd = -1;
		return err;
	}
	s->state = SLOT_CONNECTING;
	return 0;
}

/* slot_event: progress one connection; 1 when it completed, 0 when it waits, -errno */
static int slot_event(int ep, struct slot *s, uint32_t events)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	char b[16];
	ssize_t n;

	if (s->state == SLOT_CONNECTING) {
		int err = 0;
		socklen_t elen = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return 0;
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			return -errno;
		if (err)
			return -err;
		s->byte = (uint8_t)(s->t_start >> 10); /* varies from one connection to the next */
		b[0] = (char)s->byte;
		if (send(s->fd, b, 1, MSG_NOSIGNAL) != 1)
			return errno ? -errno : -EIO;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev))
			return -errno;
		s->state = SLOT_REPLY;
		return 0;
	}
	for (;;) {
		n = recv(s->fd, b, sizeof(b), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		if (n == 0) /* the server's FIN: complete if the answer came first */
			return s->state == SLOT_EOF ? 1 : -ECONNRESET;
		if (s->state != SLOT_REPLY || n != 1 || (uint8_t)b[0] != s->byte)
			return -EPROTO; /* a wrong answer, or bytes after it */
		s->state = SLOT_EOF;
	}
}

static int run_client(const char *addr, int port, int par, double secs)
{
	struct sockaddr_storage ss;
	struct stats st = { 0 };
	struct epoll_event evs[256];
	struct slot *slots;
	uint64_t t0, end, hard_end, t1;
	socklen_t len;
	int ep, rc, busy;

	rc = parse_sockaddr(addr, port, &ss, &len);
	if (rc) {
		fprintf(stderr, "connrate client: bad address %s port %d\n", addr, port);
		return rc;
	}
	slots = calloc((size_t)par, sizeof(*slots));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || ep < 0) {
		rc = ep < 0 ? -errno : -ENOMEM;
		fprintf(stderr, "connrate client: set-up: %s\n", strerror(-rc));
		goto out;
	}
	for (int i = 0; i < par; i++)
		slots[i].fd = -1;
	t0 = now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	hard_end = end + GRACE_NS;
	for (;;) {
		uint64_t now = now_ns();
		int k;

		/* (re)start idle slots while the run lasts; expire slow connections */
		busy = 0;
		for (int i = 0; i < par; i++) {
			struct slot *s = &slots[i];

			if (s->state != SLOT_IDLE && now - s->t_start > CONN_TIMEOUT_NS) {
				st.timeouts++;
				slot_fail(ep, s, &st, ETIMEDOUT);
			}
			if (s->state == SLOT_IDLE && now < end && !stop_requested) {
				rc = slot_open(ep, s, &ss, len);
				if (rc)
					slot_fail(ep, s, &st, -rc);
			}
			busy += s->state != SLOT_IDLE;
		}
		if (!busy && (now >= end || stop_requested))
			break;
		if (now >= hard_end) {
			fprintf(stderr, "connrate client: %d connection(s) unfinished %.0f s after the end\n",
				busy, GRACE_NS / 1e9);
			break;
		}
		if (st.errors >= MAX_ERRORS) {
			fprintf(stderr, "connrate client: %llu failed attempts (last: %s): giving up\n",
				(unsigned long long)st.errors, strerror((int)st.last_err));
			break;
		}
		k = epoll_wait(ep, evs, 256, 50);
		if (k < 0 && errno != EINTR) {
			rc = -errno;
			fprintf(stderr, "connrate client: epoll_wait: %s\n", strerror(-rc));
			goto out;
		}
		for (int i = 0; i < k; i++) {
			struct slot *s = evs[i].data.ptr;

			if (s->state == SLOT_IDLE)
				continue;
			rc = slot_event(ep, s, evs[i].events);
			if (rc < 0) {
				slot_fail(ep, s, &st, -rc);
			} else if (rc == 1) {
				uint64_t t = now_ns();

				if (t <= end) {
					rc = stats_add(&st, t - s->t_start);
					if (rc)
						goto out;
				}
				slot_close(ep, s);
			}
		}
	}
	t1 = now_ns() < end ? now_ns() : end;
	if (st.lat.n) /* qsort(NULL, 0, ...) is undefined (nonnull), a UBSan abort */
		qsort(st.lat.v, st.lat.n, sizeof(*st.lat.v), cmp_u32);
	printf("{\"tool\":\"connrate\",\"addr\":\"%s\",\"port\":%d,\"parallel\":%d,\"secs\":%.3f,"
	       "\"connections\":%llu,\"rate\":%.1f,\"errors\":%llu,\"timeouts\":%llu,\"last_error\":\"%s\","
	       "\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f}\n",
	       addr, port, par, (t1 - t0) / 1e9, (unsigned long long)st.done,
	       t1 > t0 ? st.done / ((t1 - t0) / 1e9) : 0.0, (unsigned long long)st.errors,
	       (unsigned long long)st.timeouts, st.errors ? strerror((int)st.last_err) : "",
	       lat_percentile_us(&st.lat, 50), lat_percentile_us(&st.lat, 99),
	       st.lat.n ? st.lat.v[st.lat.n - 1] / 1000.0 : 0.0);
	fflush(stdout);
	rc = st.done ? 0 : -ENODATA;
	if (rc)
		fprintf(stderr, "connrate client: no connection completed\n");
out:
	if (slots)
		for (int i = 0; i < par; i++)
			if (slots[i].fd >= 0)
				close(slots[i].fd);
	if (ep >= 0)
		close(ep);
	free(slots);
	free(st.lat.v);
	return rc;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f, "usage: connrate server -a ADDR -p PORT [-T MAXSECS]\n"
		   "       connrate client -a ADDR -p PORT [-P PARALLEL] [-t SECS]\n"
		   "TCP connection set-up rate (see the comment at the top of tools/bench/connrate.c).\n");
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	int port = 0, par = 8, opt, rc;
	double secs = 3;
	unsigned max_secs = 3600;
	bool server;
	char *endp;

	rc = bench_mode(argc, argv, usage, &server);
	if (rc >= 0)
		return rc;
	while ((opt = getopt(argc, argv, "a:p:P:t:T:")) != -1) {
		errno = 0;
		endp = (char *)""; /* options without a number leave it empty */
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = (int)strtol(optarg, &endp, 10); break;
		case 'P': par = (int)strtol(optarg, &endp, 10); break;
		case 't': secs = strtod(optarg, &endp); break;
		case 'T': max_secs = (unsigned)strtoul(optarg, &endp, 10); break;
		default: usage(stderr); return 2;
		}
		if (errno || *endp) {
			fprintf(stderr, "connrate: bad value for -%c: %s\n", opt, optarg);
			return 2;
		}
	}
	if (!addr || port <= 0 || port > 65535 || par < 1 || par > MAX_PARALLEL || !(secs > 0 && secs <= 3600) ||
	    !max_secs) {
		fprintf(stderr, "connrate: need -a ADDR -p PORT; 1 <= PARALLEL <= %d, 0 < SECS <= 3600\n",
			MAX_PARALLEL);
		return 2;
	}
	if (install_signals()) {
		perror("connrate: sigaction");
		return 1;
	}
	if (server)
		return run_server(addr, port, max_secs) ? 1 : 0;
	return run_client(addr, port, par, secs) ? 1 : 0;
}
