/* benchutil.h: what the bench tools (pingpong.c, connrate.c, udpping.c) share: the
 * server/client command line, the stop flag set by SIGTERM/SIGINT, a monotonic clock,
 * address parsing, and latency samples with nearest-rank percentiles. Header-only: each
 * tool is a single translation unit. */
#ifndef HERMES_BENCHUTIL_H
#define HERMES_BENCHUTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* bench_mode: the tool's first word, "server" or "client" (*server set, getopt left to
 * read the options after it): -1 to go on, else main's exit status (0 after --help, 2
 * for a bad command line, both with the usage printed) */
static int bench_mode(int argc, char **argv, void (*usage)(FILE *), bool *server)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "server") && strcmp(argv[1], "client")) {
		usage(stderr);
		return 2;
	}
	*server = !strcmp(argv[1], "server");
	optind = 2;
	return -1;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* parse_sockaddr: "IPv4" or "IPv6" plus port into ss; 0 or -EINVAL */
static int parse_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port <= 0 || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

/* Latencies in ns, capped at UINT32_MAX each; at most max_samples are kept. */
struct lat_samples {
	uint32_t *v;
	size_t n, cap;
};

static int lat_add(struct lat_samples *s, uint64_t ns, size_t first_cap, size_t max_samples)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : first_cap;
		uint32_t *v;

		if (s->cap >= max_samples)
			return 0;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted samples, in microseconds. */
static double lat_percentile_us(const struct lat_samples *s, double p)
{
	size_t rank;

	if (!s->n)
		return 0;
	rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1] / 1000.0;
}

#endif
