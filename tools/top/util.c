/* util.c: hermes-top's small shared helpers (see util.h): clocks, normalized
 * addresses, and the text forms of numbers, times, states and names. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/bpf.h>

#include "addr.h"
#include "policy.h"
#include "util.h"

const char *const engine_names[ENG_MAX] = { "?", "uring", "splice", "direct", "-", "http", "udp" };
const char *const engine_json_names[ENG_MAX] = { NULL, "uring", "splice", "direct", "none", "http", "udp" };

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

double wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void haddr_norm(struct hermes_addr *out, const struct hermes_addr *in)
{
	memset(out, 0, sizeof(*out));
	out->family = in->family;
	out->port = in->port;
	if (in->family == HERMES_FAMILY_V4)
		memcpy(out->addr, in->addr, 4);
	else if (in->family == HERMES_FAMILY_V6)
		memcpy(out->addr, in->addr, 16);
}

int haddr_cmp(const struct hermes_addr *a, const struct hermes_addr *b)
{
	return memcmp(a, b, sizeof(*a));
}

int haddr_order(const struct hermes_addr *a, const struct hermes_addr *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return ntohs(a->port) < ntohs(b->port) ? -1 : ntohs(a->port) > ntohs(b->port);
}

void fmt_haddr(const struct hermes_addr *a, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	if (a->family != HERMES_FAMILY_V4 && a->family != HERMES_FAMILY_V6) {
		snprintf(buf, len, "-");
		return;
	}
	addr_from_hermes(a, &ss);
	addr_fmt((struct sockaddr *)&ss, buf, len);
}

void fmt_human(double v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	int u = -1;

	if (v < 0)
		v = 0;
	while (v >= 1000 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 99.95)
		snprintf(buf, len, "%.0f%c", v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
}

void fmt_clock(double t, const char *prefix, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char hms[16];

	localtime_r(&tt, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(buf, len, "%s%s", prefix, hms);
}

void fmt_rfc3339(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char day[32];

	gmtime_r(&tt, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", day, (int)((t - (double)tt) * 1000));
}

void fmt_age(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / NSEC_PER_SEC;

	if (s < 60)
		snprintf(buf, len, "%.1fs", (double)ns / 1e9);
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60));
	else
		snprintf(buf, len, "%ud%02uh", (unsigned)(s / 86400), (unsigned)(s % 86400 / 3600));
}

void fmt_rtt(uint32_t us, char *buf, size_t len)
{
	if (!us)
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%uus", us);
	else if (us < 100000)
		snprintf(buf, len, "%.2fms", us / 1000.0);
	else
		snprintf(buf, len, "%.0fms", us / 1000.0);
}

/* ss(8) spelling of the BPF_TCP_* states. */
const char *tcp_state_name(unsigned st)
{
	switch (st) {
	case BPF_TCP_ESTABLISHED: return "estab";
	case BPF_TCP_SYN_SENT: return "syn-sent";
	case BPF_TCP_SYN_RECV: return "syn-recv";
	case BPF_TCP_FIN_WAIT1: return "fin-wait-1";
	case BPF_TCP_FIN_WAIT2: return "fin-wait-2";
	case BPF_TCP_TIME_WAIT: return "time-wait";
	case BPF_TCP_CLOSE: return "close";
	case BPF_TCP_CLOSE_WAIT: return "close-wait";
	case BPF_TCP_LAST_ACK: return "last-ack";
	case BPF_TCP_LISTEN: return "listen";
	case BPF_TCP_CLOSING: return "closing";
	case BPF_TCP_NEW_SYN_RECV: return "new-syn-recv";
	default: return "?";
	}
}

const char *action_name(unsigned a)
{
	return a < HERMES_ACT_MAX ? pol_action_name(a) : "?";
}

void fmt_comm(const char *comm, char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < HERMES_COMM_LEN && comm[i] && n + 1 < len; i++)
		buf[n++] = isprint((unsigned char)comm[i]) ? comm[i] : '?';
	if (!n && len > 1)
		buf[n++] = '?';
	if (len)
		buf[n] = 0;
}

void scopy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}
