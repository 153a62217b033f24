/* hermes-top: a live, top-like view of the TCP flows Hermes sees. It reads the kernel
 * flow table hermesd pins (hermes_flows), the BPF decision counters (hermes_stats)
 * and, when hermesd answers, its admin endpoint (/stats, /flows); it joins them into
 * one row per application flow and shows them with ncurses, or prints them as text or
 * one JSON document per line in batch mode, for scripts. See `hermes-top --help`.
 *
 * Layout: options; formatting helpers; what the admin endpoint answers (Prometheus
 * text, the /flows JSON; the GET itself is tools/cli.c's); the kernel table reader; the sampler, which joins everything into a
 * struct snapshot; the view (closed-flow window, filter, sort, summary counts); the
 * row and summary formatting that both front ends share; batch output; the curses
 * front end; main. Data collection never draws and drawing never reads a map. */
#include <arpa/inet.h>
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "cli.h"
#include "hermes/flow.h"
#include "hermes/pin.h"
#include "hermes/policy.h"
#include "pinfs.h"
#include "policy.h"
#include "version.h"

#ifndef HERMES_MAP_FLOWS
#define HERMES_MAP_FLOWS "hermes_flows"
#endif

#define ADMIN_MAX_ANSWER (64u << 20)
#define NSEC_PER_SEC 1000000000ULL
#define CLOSED_WINDOW_NS (5 * NSEC_PER_SEC) /* closed flows stay this long by default */
#define MIN_COLS 80
#define MIN_LINES 10
#define FILTER_MAX 128

/* ---------------------------------------------------------------- options */

enum sort_key { SORT_RATE, SORT_BYTES, SORT_AGE, SORT_PID, SORT_RTT, SORT_DST, SORT_MAX };
static const char *const sort_names[SORT_MAX] = { "rate", "bytes", "age", "pid", "rtt", "dst" };

const char cli_prog[] = "hermes-top";
static volatile sig_atomic_t stop_flag;

static struct {
	const char *pin_root;
	struct admin_client admin;      /* two GETs per sample: failures name theirs */
	struct hermes_addr admin_haddr; /* to hide hermesd's own admin sockets */
	double interval;                /* seconds between samples */
	long iterations;                /* 0: until interrupted */
	bool batch, json, all_closed, follow;
	enum sort_key sort;
	char filter[FILTER_MAX];        /* --filter and the words after the options */
} opt = {
	.pin_root = HERMES_PIN_ROOT_DEFAULT,
	.admin = { .addr = ADMIN_DEFAULT, .max_answer = ADMIN_MAX_ANSWER, .stop = &stop_flag, .name_path = true },
	.interval = 1.0,
	.sort = SORT_RATE,
};

static void usage(FILE *f)
{
	fprintf(f,
"NAME\n"
"    hermes-top - live view of the TCP flows steered by Hermes\n"
"\n"
"SYNOPSIS\n"
"    hermes-top [-d SECS] [-s KEY] [-a] [-n N] [OPTIONS] [FILTER...]\n"
"    hermes-top -b [--json] [-d SECS] [-s KEY] [-a] [-n N] [OPTIONS] [FILTER...]\n"
"    hermes-top -f [--json] [-d SECS] [-n N] [OPTIONS] [FILTER...]\n"
"    hermes-top -h | --help\n"
"    hermes-top -V | --version\n"
"\n"
"DESCRIPTION\n"
"    hermes-top shows one row per application flow: every TCP connection made (or\n"
"    accepted) by a process of the cgroup hermesd steers, whatever the policy did\n"
"    with it. Its data come from three places:\n"
"\n"
"    - the kernel flow table DIR/hermes_flows, which the BPF programs fill at\n"
"      connect() and keep current from sockops callbacks and the sk_msg program\n"
"      (who dialled what, the decision, bytes, RTT, retransmits, TCP state);\n"
"    - the per-CPU decision counters DIR/hermes_stats (denied connects);\n"
"    - hermesd's admin endpoint, GET /stats (upstream connect retries, active\n"
"      connections, relayed flows by engine) and GET /flows (the relay engine\n"
"      and the upstream socket of each proxied flow). Each request has a 1 s\n"
"      timeout. When hermesd does not answer, the header says \"hermesd: not\n"
"      reachable\" and everything the kernel knows is still shown.\n"
"\n"
"    For a proxied flow the application's socket talks to hermesd over loopback,\n"
"    often through the sk_msg redirect that TCP never sees; hermes-top joins it\n"
"    with hermesd's accepted socket (same address pair, swapped) so that BYTES\n"
"    count what the application really sent and received, and shows the RTT of\n"
"    hermesd's upstream socket, the hop that crosses the network.\n"
"\n"
"    Needs root (CAP_BPF and CAP_SYS_ADMIN) to open the pinned maps. Run it in the\n"
"    network namespace of hermesd so that --admin reaches it.\n"
"\n"
"OPTIONS\n"
"    -d, --delay SECS\n"
"        Seconds between samples (default 1; fractions such as 0.5 work,\n"
"        minimum 0.1). Rates are byte deltas between two samples divided by the\n"
"        time between them, so the first sample shows rates of 0.\n"
"    -b, --batch\n"
"        Batch mode: no curses; print each sample as plain text (a summary, then\n"
"        the table) to standard output, for scripts and logs.\n"
"    --json\n"
"        With -b (implies it): print each sample as one JSON document on one\n"
"        line (see JSON OUTPUT).\n"
"    -n, --iterations N\n"
"        Stop after N samples (default: run until interrupted). In batch mode\n"
"        the program exits right after printing the Nth sample.\n"
"    -s, --sort KEY\n"
"        Initial sort key: rate (in+out, highest first; the default), bytes\n"
"        (in+out, highest first), age (oldest first), pid (lowest first), rtt\n"
"        (highest first) or dst (original destination, ascending).\n"
"    -f, --follow\n"
"        Follow mode: no table; print one line per flow event as the flow table\n"
"        changes, like `hubble observe -f` (see FOLLOW MODE). Samples every 0.2 s\n"
"        unless -d says otherwise; with -n N it exits after N events.\n"
"    --filter TEXT\n"
"        Initial filter, the same as FILTER words after the options (see\n"
"        FILTERS); may be given more than once.\n"
"    -a, --all\n"
"        Show every closed flow still in the table. By default the table shows\n"
"        open flows and flows closed during the last 5 seconds.\n"
"    --pin-root DIR\n"
"        Pin root of the hermesd instance to watch (default %s).\n"
"        Must match hermesd's --pin-root.\n"
"    --admin ADDR\n"
"        hermesd's admin address, IPv4:PORT or [IPv6]:PORT (default %s).\n"
"    -V, --version\n"
"        Print the version and the git commit built.\n"
"    -h, --help\n"
"        Show this help.\n"
"\n"
"FILTERS\n"
"    The words after the options (and --filter, and the / key) select flows:\n"
"        pid:N            the process that called connect()\n"
"        comm:NAME        its command; a glob such as comm:py* works\n"
"        dst:CIDR[:PORT]  the original destination: dst:10.0.0.0/8,\n"
"                         dst:1.2.3.4:80, dst:[fd00::/64]:443\n"
"        src:CIDR[:PORT]  the source, the same way\n"
"        port:N           the original destination's port\n"
"        action:NAME      pass, deny, proxy, tunnel or http\n"
"        engine:NAME      uring, splice, http, direct or none\n"
"        state:S          open, closed, or a TCP state (estab, syn-sent, ...)\n"
"        TEXT             a case-insensitive substring of the command, pid,\n"
"                         source, original destination or action\n"
"    A leading ! or - negates a word: !comm:curl, -dst:10.0.0.0/8 (quote ! in\n"
"    a shell). Words on the same field: any may match (action:proxy\n"
"    action:tunnel); words on different fields: all must; a negated word must\n"
"    not match. A malformed word is a usage error (exit 2); typed after /, it\n"
"    is shown and the previous filter stays.\n"
"\n"
"FOLLOW MODE\n"
"    hermes-top -f prints, for each flow that matches the filter:\n"
"        TIME open  PID/COMM SRC -> ORIG_DST ACTION ENGINE/HOP\n"
"        TIME close PID/COMM SRC -> ORIG_DST ACTION ENGINE/HOP in B out B\n"
"                   lasted T\n"
"        TIME deny  PID/COMM SRC -> ORIG_DST deny -\n"
"    TIME is RFC 3339 in UTC: the connect for open and deny, the close for\n"
"    close. A flow that opened and closed between two samples gets both lines.\n"
"    Flows already in the table when hermes-top starts are not printed. With\n"
"    --json each event is one JSON object per line: time, event\n"
"    (open|close|deny), cookie, pid, uid, comm, direction, src, orig_dst,\n"
"    local, remote, action, engine, hop, bytes_in, bytes_out, duration_s (null\n"
"    for open), started_at, closed_at.\n"
"\n"
"HEADER\n"
"    Line 1: time of the sample, pin root, and hermesd's state: \"ready at ADDR\"\n"
"    with its open connections, or \"not reachable\" with the reason.\n"
"    Line 2: flows in the table window, open and closed, counted by action and,\n"
"    for the open ones, by engine (engines with open flows only).\n"
"    Line 3: total receive and send rates of all application flows, denied\n"
"    (connects denied by policy since the programs were loaded), retries\n"
"    (upstream connect retries) and flows relayed by each engine since hermesd\n"
"    started.\n"
"    Line 4 (live view): sort key, filter, closed-flow window, scrolled columns,\n"
"    PAUSED.\n"
"\n"
"COLUMNS\n"
"    PID/COMM    process that called connect() and its command (\"-\" and \"?\"\n"
"                when unknown, e.g. for accepted sockets)\n"
"    SRC         the flow's source: the application's own address for outgoing\n"
"                flows, the peer for accepted ones (\"-\" before it is bound)\n"
"    ORIG DST    the address the application dialled (its own address for\n"
"                accepted flows)\n"
"    ACTION      the policy decision: pass, deny, proxy, tunnel, http (a flow\n"
"                steered to hermesd while it was down shows pass: it failed open)\n"
"    ENGINE/HOP  for proxy and tunnel: hermesd's relay engine (uring or splice,\n"
"                \"?\" until known), for http: http (hermesd reads the requests);\n"
"                then how the local hop carries bytes (skmsg: sk_msg redirect,\n"
"                tcp: loopback TCP); \"direct\" for pass; \"-\" for deny\n"
"    RATE IN/OUT bytes per second received/sent by the application over the last\n"
"                interval (K, M, G are powers of 1024)\n"
"    BYTES       total bytes received/sent by the application\n"
"    RTT         smoothed round-trip time: of hermesd's upstream socket for proxied\n"
"                flows when hermesd reports it, else of the flow's own socket\n"
"    RETRANS     retransmitted segments (application socket plus upstream socket)\n"
"    AGE         time since connect(); for closed flows, how long they lasted\n"
"    STATE       TCP state (syn-sent, estab, fin-wait-1, close-wait, ...), or\n"
"                \"closed HH:MM:SS\" with the local time at which the flow closed\n"
"\n"
"    At 80 columns the table keeps PID/COMM, ORIG DST, ACTION, ENGINE/HOP, RATE\n"
"    and BYTES; it drops RETRANS, RTT, AGE, SRC and STATE first as the terminal\n"
"    narrows. Right and Left scroll the columns after PID/COMM to show them all.\n"
"\n"
"KEYS (live view)\n"
"    q           quit (so does Ctrl-C)\n"
"    p           pause / resume sampling (keys keep working)\n"
"    s, S        next sort key; reverse the sort order\n"
"    /           edit the filter (see FILTERS): Enter applies, Esc cancels,\n"
"                Ctrl-U clears\n"
"    Enter       details of the selected flow: process, cgroup, addresses, the\n"
"                policy rule that matches its original destination now (a\n"
"                longest-prefix lookup of the policy map, as the BPF programs\n"
"                do), engine, bytes, RTT, when it started and closed; Esc,\n"
"                Enter or Left goes back\n"
"    Left, Right scroll the columns after PID/COMM\n"
"    c           toggle closed flows: last 5 seconds / all in the table\n"
"    h, ?        help screen (any key returns)\n"
"    Up, Down, PgUp, PgDn, Home, End   move the selection\n"
"    The live view needs a terminal of at least %dx%d.\n"
"\n"
"JSON OUTPUT\n"
"    One line per sample:\n"
"      {\"time\": UNIX_SECONDS, \"summary\": {...}, \"flows\": [{...}, ...]}\n"
"    summary: flows, open, closed, by_action {pass, deny, proxy, tunnel, http},\n"
"    by_engine {uring, splice, http, direct, unknown} (open flows), rate_in and\n"
"    rate_out (bytes/s), drops, upstream_retries (null when unknown), decisions\n"
"    (the BPF counters by name, or null), hermesd {admin, reachable, detail,\n"
"    connections_active, flows_total {uring, splice}, flows_endpoint}.\n"
"    flows (the rows the table would show, filter and sort applied): cookie,\n"
"    pid, uid, comm, direction (out|in), src, orig_dst, local, remote, action,\n"
"    engine (uring|splice|http|direct|none|null), hop (skmsg|tcp|null),\n"
"    bytes_in, bytes_out, rate_in, rate_out, rtt_us, rtt_hop\n"
"    (upstream|local|null), retrans, age_s, state, closed, relay_state\n"
"    (hermesd's state of the flow, or null), started_at, closed_at (RFC 3339\n"
"    in UTC, closed_at null while open).\n"
"\n"
"EXIT STATUS\n"
"    0   normal end (q, Ctrl-C, -n reached)\n"
"    1   runtime error: no flow table under the pin root, a map cannot be read,\n"
"        the terminal cannot be used\n"
"    2   usage error\n"
"\n"
"EXAMPLES\n"
"    hermes-top\n"
"    hermes-top -d 0.5 -s bytes comm:python3 '!dst:10.0.0.0/8'\n"
"    hermes-top -f action:proxy action:tunnel\n"
"    hermes-top -f --json -n 10 pid:1234\n"
"    hermes-top -b -n 1\n"
"    hermes-top -b --json -n 2 -a | jq '.flows[] | select(.action == \"deny\")'\n"
"    nsenter --net=/run/netns/NS hermes-top --pin-root /sys/fs/bpf/hermes-test\n",
		HERMES_PIN_ROOT_DEFAULT, ADMIN_DEFAULT, MIN_COLS, MIN_LINES);
}

/* ---------------------------------------------------------------- formatting helpers */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static double wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Only family, port and the address bytes that family uses: comparable with memcmp. */
static void haddr_norm(struct hermes_addr *out, const struct hermes_addr *in)
{
	memset(out, 0, sizeof(*out));
	out->family = in->family;
	out->port = in->port;
	if (in->family == HERMES_FAMILY_V4)
		memcpy(out->addr, in->addr, 4);
	else if (in->family == HERMES_FAMILY_V6)
		memcpy(out->addr, in->addr, 16);
}

static int haddr_cmp(const struct hermes_addr *a, const struct hermes_addr *b)
{
	return memcmp(a, b, sizeof(*a));
}

/* Ordering for the dst sort: family, address, then port as a number. */
static int haddr_order(const struct hermes_addr *a, const struct hermes_addr *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return ntohs(a->port) < ntohs(b->port) ? -1 : ntohs(a->port) > ntohs(b->port);
}

static void fmt_haddr(const struct hermes_addr *a, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	if (a->family != HERMES_FAMILY_V4 && a->family != HERMES_FAMILY_V6) {
		snprintf(buf, len, "-");
		return;
	}
	addr_from_hermes(a, &ss);
	addr_fmt((struct sockaddr *)&ss, buf, len);
}

/* "0", "812", "95.4K", "512M": at most 5 characters, powers of 1024. */
static void fmt_human(double v, char *buf, size_t len)
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

/* prefix and the local time of day of a UNIX time: "closed 14:03:07" */
static void fmt_clock(double t, const char *prefix, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char hms[16];

	localtime_r(&tt, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(buf, len, "%s%s", prefix, hms);
}

/* RFC 3339 in UTC with milliseconds: "2026-12-06T14:03:07.123Z" */
static void fmt_rfc3339(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char day[32];

	gmtime_r(&tt, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", day, (int)((t - (double)tt) * 1000));
}

/* "4.2s", "3m07s", "2h05m", "3d04h" */
static void fmt_age(uint64_t ns, char *buf, size_t len)
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

static void fmt_rtt(uint32_t us, char *buf, size_t len)
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
static const char *tcp_state_name(unsigned st)
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

static const char *action_name(unsigned a)
{
	return a < HERMES_ACT_MAX ? pol_action_name(a) : "?";
}

/* comm is not NUL-terminated when it fills the field; anything unprintable becomes '?'. */
static void fmt_comm(const char *comm, char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < HERMES_COMM_LEN && comm[i] && n + 1 < len; i++)
		buf[n++] = isprint((unsigned char)comm[i]) ? comm[i] : '?';
	if (!n && len > 1)
		buf[n++] = '?';
	if (len)
		buf[n] = 0;
}

/* strlcpy: copies what fits, always terminated (truncation is expected and harmless). */
static void scopy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void json_str_or_null(FILE *f, const char *s)
{
	if (s && *s)
		json_str(f, s);
	else
		fputs("null", f);
}

/* ---------------------------------------------------------------- admin answers */

/* What /stats says (each value only when present). */
struct hd_stats {
	bool has_retries, has_active, has_flows;
	uint64_t retries, active, flows_uring, flows_splice;
};

/* Prometheus text format: "name{labels} value" lines, '#' comments. */
static void prom_parse(const char *text, struct hd_stats *st)
{
	const char *line = text;

	while (line && *line) {
		const char *eol = strchrnul(line, '\n'), *sp, *brace;
		char name[96], labels[160] = "";
		size_t nlen;
		uint64_t v;

		if (*line == '#' || eol == line)
			goto next;
		sp = memrchr(line, ' ', (size_t)(eol - line));
		if (!sp)
			goto next;
		v = strtoull(sp + 1, NULL, 10);
		brace = memchr(line, '{', (size_t)(sp - line));
		nlen = (size_t)((brace ? brace : sp) - line);
		if (nlen >= sizeof(name))
			goto next;
		memcpy(name, line, nlen);
		name[nlen] = 0;
		if (brace) {
			size_t llen = (size_t)(sp - brace);

			if (llen >= sizeof(labels))
				llen = sizeof(labels) - 1;
			memcpy(labels, brace, llen);
			labels[llen] = 0;
		}
		if (!strcmp(name, "hermes_upstream_connect_retries_total")) {
			st->retries = v;
			st->has_retries = true;
		} else if (!strcmp(name, "hermes_connections_active")) {
			st->active = v;
			st->has_active = true;
		} else if (!strcmp(name, "hermes_flows_total")) {
			if (strstr(labels, "engine=\"uring\"")) {
				st->flows_uring = v;
				st->has_flows = true;
			} else if (strstr(labels, "engine=\"splice\"")) {
				st->flows_splice = v;
				st->has_flows = true;
			}
		}
next:
		line = *eol ? eol + 1 : NULL;
	}
}

/* One flow as hermesd's /flows reports it. */
struct hd_flow {
	uint64_t id, app_cookie, bytes_up, bytes_down, age_ms;
	uint32_t pid, uid;
	struct hermes_addr client, upstream_local; /* normalized; family 0 when absent */
	char engine[12], state[16];
};

/* A small JSON reader, enough for /flows: objects, arrays, strings, numbers and
 * literals; unknown keys and value types are skipped. The text is NUL-terminated. */
struct jp {
	const char *p;
	int depth;
};

static void jp_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool jp_lit(struct jp *j, char c)
{
	jp_ws(j);
	if (*j->p != c)
		return false;
	j->p++;
	return true;
}

/* Reads a string into out (truncated, may be NULL); \u escapes become '?'. */
static int jp_string(struct jp *j, char *out, size_t len)
{
	size_t n = 0;

	jp_ws(j);
	if (*j->p != '"')
		return -1;
	j->p++;
	while (*j->p && *j->p != '"') {
		char c = *j->p++;

		if (c == '\\') {
			c = *j->p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				for (int i = 0; i < 4; i++)
					if (!isxdigit((unsigned char)*j->p++))
						return -1;
				c = '?';
				break;
			case '"': case '\\': case '/': break;
			default: return -1;
			}
		}
		if (out && n + 1 < len)
			out[n++] = c;
	}
	if (*j->p != '"')
		return -1;
	j->p++;
	if (out && len)
		out[n] = 0;
	return 0;
}

static int jp_u64(struct jp *j, uint64_t *v)
{
	char *end;

	jp_ws(j);
	if (*j->p == '-' || !isdigit((unsigned char)*j->p)) {
		double d = strtod(j->p, &end);

		if (end == j->p)
			return -1;
		*v = d > 0 ? (uint64_t)d : 0;
	} else {
		*v = strtoull(j->p, &end, 10);
		if (*end == '.' || *end == 'e' || *end == 'E')
			strtod(j->p, &end);
	}
	j->p = end;
	return 0;
}

static int jp_skip(struct jp *j)
{
	jp_ws(j);
	switch (*j->p) {
	case '"':
		return jp_string(j, NULL, 0);
	case '{':
	case '[': {
		bool obj = *j->p == '{';
		char close = obj ? '}' : ']';

		if (++j->depth > 64)
			return -1;
		j->p++;
		if (!jp_lit(j, close)) {
			do {
				if (obj && (jp_string(j, NULL, 0) || !jp_lit(j, ':')))
					return -1;
				if (jp_skip(j))
					return -1;
			} while (jp_lit(j, ','));
			if (!jp_lit(j, close))
				return -1;
		}
		j->depth--;
		return 0;
	}
	case 0:
		return -1;
	default: { /* number, true, false, null */
		const char *s = j->p;

		while (*j->p && (isalnum((unsigned char)*j->p) || *j->p == '+' || *j->p == '-' || *j->p == '.'))
			j->p++;
		return j->p == s ? -1 : 0;
	}
	}
}

static void hd_addr(const char *s, struct hermes_addr *out)
{
	struct cfg_sockaddr sa;
	struct hermes_addr a;

	memset(out, 0, sizeof(*out));
	if (*s && !addr_parse(s, &sa) && !addr_to_hermes((struct sockaddr *)&sa.ss, &a))
		haddr_norm(out, &a);
}

static int hd_parse_flow(struct jp *j, struct hd_flow *f)
{
	char key[32], str[128];

	if (!jp_lit(j, '{'))
		return -1;
	if (jp_lit(j, '}'))
		return 0;
	do {
		uint64_t v = 0;

		if (jp_string(j, key, sizeof(key)) || !jp_lit(j, ':'))
			return -1;
		jp_ws(j);
		if (*j->p == '"') {
			if (jp_string(j, str, sizeof(str)))
				return -1;
			if (!strcmp(key, "client"))
				hd_addr(str, &f->client);
			else if (!strcmp(key, "upstream_local"))
				hd_addr(str, &f->upstream_local);
			else if (!strcmp(key, "engine"))
				scopy(f->engine, sizeof(f->engine), str);
			else if (!strcmp(key, "state"))
				scopy(f->state, sizeof(f->state), str);
			continue;
		}
		if (*j->p == '-' || isdigit((unsigned char)*j->p)) {
			if (jp_u64(j, &v))
				return -1;
			if (!strcmp(key, "id"))
				f->id = v;
			else if (!strcmp(key, "app_cookie"))
				f->app_cookie = v;
			else if (!strcmp(key, "bytes_up"))
				f->bytes_up = v;
			else if (!strcmp(key, "bytes_down"))
				f->bytes_down = v;
			else if (!strcmp(key, "age_ms"))
				f->age_ms = v;
			else if (!strcmp(key, "pid"))
				f->pid = (uint32_t)v;
			else if (!strcmp(key, "uid"))
				f->uid = (uint32_t)v;
			continue;
		}
		if (jp_skip(j))
			return -1;
	} while (jp_lit(j, ','));
	return jp_lit(j, '}') ? 0 : -1;
}

/* {"flows":[{...}, ...]} -> array. -1 on malformed input (nothing returned). */
static int hd_parse_flows(const char *text, struct hd_flow **out, size_t *n_out)
{
	struct jp j = { .p = text };
	struct hd_flow *v = NULL;
	size_t n = 0, cap = 0;
	char key[32];

	*out = NULL;
	*n_out = 0;
	if (!jp_lit(&j, '{'))
		return -1;
	if (jp_lit(&j, '}'))
		return 0;
	do {
		if (jp_string(&j, key, sizeof(key)) || !jp_lit(&j, ':'))
			goto bad;
		if (strcmp(key, "flows")) {
			if (jp_skip(&j))
				goto bad;
			continue;
		}
		if (!jp_lit(&j, '['))
			goto bad;
		if (jp_lit(&j, ']'))
			continue;
		do {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct hd_flow *nv = realloc(v, ncap * sizeof(*nv));

				if (!nv)
					goto bad;
				v = nv;
				cap = ncap;
			}
			memset(&v[n], 0, sizeof(v[n]));
			if (hd_parse_flow(&j, &v[n]))
				goto bad;
			n++;
		} while (jp_lit(&j, ','));
		if (!jp_lit(&j, ']'))
			goto bad;
	} while (jp_lit(&j, ','));
	if (!jp_lit(&j, '}'))
		goto bad;
	*out = v;
	*n_out = n;
	return 0;
bad:
	free(v);
	return -1;
}

/* hermesd's side of a sample. */
struct hd_view {
	bool reachable;
	char detail[192];     /* why not reachable, or a problem with /flows */
	struct hd_stats st;
	bool have_flows;      /* /flows answered (older hermesd: 404) */
	struct hd_flow *flows;
	size_t n_flows;
};

static void hd_fetch(struct hd_view *hd)
{
	struct admin_answer a;

	memset(hd, 0, sizeof(*hd));
	if (admin_get(&opt.admin, "/stats", &a, hd->detail, sizeof(hd->detail)))
		return;
	hd->reachable = true;
	if (a.status == 200)
		prom_parse(a.body, &hd->st);
	else
		snprintf(hd->detail, sizeof(hd->detail), "GET /stats: HTTP %d", a.status);
	free(a.buf);
	if (admin_get(&opt.admin, "/flows", &a, hd->detail, sizeof(hd->detail)))
		return;
	if (a.status == 200) {
		if (hd_parse_flows(a.body, &hd->flows, &hd->n_flows))
			snprintf(hd->detail, sizeof(hd->detail), "GET /flows: malformed JSON (ignored)");
		else
			hd->have_flows = true;
	}
	/* 404 from an older hermesd, or a failed request: the kernel view stands alone */
	free(a.buf);
}

/* ---------------------------------------------------------------- kernel flow table */

struct kflow {
	__u64 cookie;
	struct hermes_flow f;
};

static int kflow_cmp_cookie(const void *a, const void *b)
{
	const struct kflow *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

static int kflows_push(struct kflow **v, size_t *n, size_t *cap, __u64 cookie, const struct hermes_flow *f)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct kflow *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n].cookie = cookie;
	(*v)[*n].f = *f;
	(*n)++;
	return 0;
}

/* Entry by entry, for kernels without batch lookups on this map. Entries deleted
 * meanwhile may restart the walk: bounded, and duplicates are removed by the caller. */
static int read_table_keys(int fd, struct kflow **v, size_t *n, size_t *cap)
{
	struct hermes_flow f;
	__u64 key = 0, next;
	bool first = true;

	for (size_t guard = 0; guard < 4 * (size_t)HERMES_FLOWS_MAX; guard++) {
		if (bpf_map_get_next_key(fd, first ? NULL : &key, &next))
			return errno == ENOENT ? 0 : -errno;
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue;
		if (kflows_push(v, n, cap, key, &f))
			return -ENOMEM;
	}
	return 0;
}

/* The whole table, sorted by cookie without duplicates. */
static int read_table(int fd, struct kflow **out, size_t *n_out)
{
	__u32 chunk = 1024;
	__u64 *keys = NULL, in_batch = 0, out_batch = 0;
	struct hermes_flow *vals = NULL;
	struct kflow *v = NULL;
	size_t n = 0, cap = 0, w;
	bool first = true;
	int err = 0;

	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	for (;;) {
		__u32 cnt = chunk;
		int r;

		if (!keys) {
			keys = calloc(chunk, sizeof(*keys));
			vals = calloc(chunk, sizeof(*vals));
			if (!keys || !vals) {
				err = -ENOMEM;
				goto out;
			}
		}
		r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &cnt, &bo);
		if (r < 0 && errno != ENOENT) {
			if (errno == ENOSPC && !cnt && chunk < HERMES_FLOWS_MAX) {
				/* one hash bucket holds more than chunk entries */
				chunk *= 4;
				free(keys);
				free(vals);
				keys = NULL;
				vals = NULL;
				continue;
			}
			if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
				err = read_table_keys(fd, &v, &n, &cap);
				break;
			}
			err = -errno;
			goto out;
		}
		for (__u32 i = 0; i < cnt; i++)
			if (kflows_push(&v, &n, &cap, keys[i], &vals[i])) {
				err = -ENOMEM;
				goto out;
			}
		if (r < 0) /* ENOENT: that was the last batch */
			break;
		in_batch = out_batch;
		first = false;
	}
	if (err)
		goto out;
	if (n > 1)
		qsort(v, n, sizeof(*v), kflow_cmp_cookie);
	for (size_t i = w = 0; i < n; i++)
		if (!w || v[w - 1].cookie != v[i].cookie)
			v[w++] = v[i];
	n = w;
out:
	free(keys);
	free(vals);
	if (err) {
		free(v);
		v = NULL;
		n = 0;
	}
	*out = v;
	*n_out = n;
	return err;
}

/* ---------------------------------------------------------------- sampler: snapshot */

enum engine { ENG_UNKNOWN, ENG_URING, ENG_SPLICE, ENG_DIRECT, ENG_NONE, ENG_HTTP, ENG_MAX };
static const char *const engine_names[ENG_MAX] = { "?", "uring", "splice", "direct", "-", "http" };
/* the same in JSON and filters (engine:NAME) */
static const char *const json_engine[ENG_MAX] = { NULL, "uring", "splice", "direct", "none", "http" };
enum hop { HOP_NA, HOP_SKMSG, HOP_TCP };

/* One application flow, joined and ready to show. */
struct row {
	uint64_t cookie;
	uint32_t pid, uid;
	char comm[HERMES_COMM_LEN + 1];
	bool incoming;               /* an accepted socket: src is the peer */
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], local[ADDR_STRLEN], remote[ADDR_STRLEN];
	struct hermes_addr dst_addr; /* normalized, for the dst sort and filters */
	struct hermes_addr src_addr; /* normalized, for filters */
	uint64_t cgroup_id;
	unsigned action;
	enum engine engine;
	enum hop hop;
	bool closed;
	uint8_t tcp_state;
	uint64_t bytes_in, bytes_out;
	double rate_in, rate_out;
	uint32_t rtt_us;
	bool rtt_upstream;
	uint32_t retrans;
	uint64_t start_ns, end_ns, age_ns;
	double start_wall, end_wall; /* the same as UNIX times (end_wall 0 while open) */
	char relay_state[16];        /* hermesd's connection state, "" if unknown */
};

struct snapshot {
	uint64_t now_ns;             /* CLOCK_MONOTONIC, as bpf_ktime_get_ns */
	double wall;                 /* for the header and JSON "time" */
	bool rates_valid;            /* false on the first sample */
	struct row *rows;            /* every application flow in the table */
	size_t n;
	bool have_counters;
	uint64_t counters[HERMES_CNT_MAX];
	struct hd_view hd;
	char error[256];             /* a failed read, shown in the header */
};

struct prev_bytes {
	uint64_t cookie, in, out;
};

struct sampler {
	int flows_fd, stats_fd, policy_fd; /* policy: for the detail view's rule, -1 without it */
	struct prev_bytes *prev;     /* sorted by cookie */
	size_t n_prev;
	uint64_t prev_ns;
	bool have_prev;
};

static void snapshot_free(struct snapshot *s)
{
	free(s->rows);
	free(s->hd.flows);
	memset(s, 0, sizeof(*s));
}

/* hermesd's sockets, indexed for the join. */
struct sock_ent {
	struct hermes_addr local, remote; /* normalized */
	const struct hermes_flow *f;
};

static int sock_ent_cmp(const void *a, const void *b)
{
	const struct sock_ent *x = a, *y = b;
	int c = haddr_cmp(&x->local, &y->local);

	return c ? c : haddr_cmp(&x->remote, &y->remote);
}

static int sock_ent_cmp_local(const void *a, const void *b)
{
	const struct sock_ent *x = a, *y = b;

	return haddr_cmp(&x->local, &y->local);
}

/* Among the entries equal to key (by cmp), the one whose start is closest to
 * start_ns, preferring open ones: ports get reused, old closed entries linger. */
static const struct hermes_flow *sock_find(const struct sock_ent *v, size_t n, const struct sock_ent *key,
					   int (*cmp)(const void *, const void *), uint64_t start_ns)
{
	const struct sock_ent *hit = n ? bsearch(key, v, n, sizeof(*v), cmp) : NULL;
	const struct hermes_flow *best = NULL;
	uint64_t best_d = UINT64_MAX;
	size_t lo, hi;

	if (!hit)
		return NULL;
	lo = hi = (size_t)(hit - v);
	while (lo > 0 && !cmp(&v[lo - 1], key))
		lo--;
	while (hi + 1 < n && !cmp(&v[hi + 1], key))
		hi++;
	for (size_t i = lo; i <= hi; i++) {
		const struct hermes_flow *f = v[i].f;
		uint64_t d = f->start_ns > start_ns ? f->start_ns - start_ns : start_ns - f->start_ns;

		if (!(f->flags & HERMES_FLOW_CLOSED))
			d /= 1024; /* open sockets win unless far off */
		if (d < best_d) {
			best_d = d;
			best = f;
		}
	}
	return best;
}

static int hd_cmp_cookie(const void *a, const void *b)
{
	const struct hd_flow *x = a, *y = b;

	return x->app_cookie < y->app_cookie ? -1 : x->app_cookie > y->app_cookie;
}

/* hermesd's record of an app flow: by the app socket's cookie, else by its address. */
static const struct hd_flow *hd_find(const struct hd_view *hd, uint64_t cookie, const struct hermes_addr *local)
{
	struct hd_flow key = { .app_cookie = cookie };
	const struct hd_flow *f;

	if (!hd->have_flows || !hd->n_flows)
		return NULL;
	f = bsearch(&key, hd->flows, hd->n_flows, sizeof(key), hd_cmp_cookie);
	if (f && cookie)
		return f;
	for (size_t i = 0; i < hd->n_flows; i++)
		if (local->family && !haddr_cmp(&hd->flows[i].client, local))
			return &hd->flows[i];
	return NULL;
}

static enum engine engine_from_flow(unsigned e)
{
	switch (e) {
	case HERMES_ENGINE_URING: return ENG_URING;
	case HERMES_ENGINE_SPLICE: return ENG_SPLICE;
	case HERMES_ENGINE_HTTP: return ENG_HTTP;
	default: return ENG_UNKNOWN;
	}
}

static enum engine engine_from_name(const char *s)
{
	return !strcmp(s, "uring") ? ENG_URING : !strcmp(s, "splice") ? ENG_SPLICE : ENG_UNKNOWN;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Fills r from an application socket's entry, joined with hermesd's sockets. */
static void row_build(struct row *r, __u64 cookie, const struct hermes_flow *f, const struct sock_ent *hop_v,
		      size_t n_hop, const struct sock_ent *up_v, size_t n_up, const struct hd_view *hd,
		      uint64_t now_ns)
{
	struct hermes_addr local, remote, dst;
	const struct hermes_flow *peer = NULL, *up = NULL;
	const struct hd_flow *hf = NULL;

	memset(r, 0, sizeof(*r));
	r->cookie = cookie;
	r->pid = f->pid;
	r->uid = f->uid;
	fmt_comm(f->comm, r->comm, sizeof(r->comm));
	haddr_norm(&local, &f->local);
	haddr_norm(&remote, &f->remote);
	fmt_haddr(&local, r->local, sizeof(r->local));
	fmt_haddr(&remote, r->remote, sizeof(r->remote));
	r->incoming = f->flags & HERMES_FLOW_PASSIVE;
	if (r->incoming) {
		snprintf(r->src, sizeof(r->src), "%s", r->remote);
		r->src_addr = remote;
		dst = local;
	} else {
		snprintf(r->src, sizeof(r->src), "%s", r->local);
		r->src_addr = local;
		haddr_norm(&dst, &f->orig_dst);
	}
	r->cgroup_id = f->cgroup_id;
	fmt_haddr(&dst, r->dst, sizeof(r->dst));
	r->dst_addr = dst;
	r->action = f->action;
	r->tcp_state = f->state;
	r->closed = f->flags & HERMES_FLOW_CLOSED;
	r->start_ns = f->start_ns;
	r->end_ns = f->end_ns;
	if (r->closed)
		r->age_ns = f->end_ns > f->start_ns ? f->end_ns - f->start_ns : 0;
	else
		r->age_ns = now_ns > f->start_ns ? now_ns - f->start_ns : 0;
	r->bytes_in = f->bytes_in;
	r->bytes_out = f->bytes_out;
	r->rtt_us = f->srtt_us;
	r->retrans = f->retrans;

	switch (f->action) {
	case HERMES_ACT_PASS:
		r->engine = ENG_DIRECT;
		return;
	case HERMES_ACT_DENY:
		r->engine = ENG_NONE;
		return;
	default:
		break;
	}

	/* Proxied: hermesd's accepted socket is this one with the addresses swapped. What
	 * the app received through sk_msg is what that socket redirected (its skmsg_out);
	 * either side's TCP counters give the rest, whichever was updated last. */
	if (local.family) {
		struct sock_ent key = { .local = remote, .remote = local };

		peer = sock_find(hop_v, n_hop, &key, sock_ent_cmp, f->start_ns);
	}
	if (peer) {
		r->bytes_in = max_u64(f->bytes_in + peer->skmsg_out, peer->bytes_out);
		r->bytes_out = max_u64(f->bytes_out, peer->bytes_in + f->skmsg_out);
		r->retrans += peer->retrans;
	}
	r->hop = ((f->flags | (peer ? peer->flags : 0)) & HERMES_FLOW_SKMSG) ? HOP_SKMSG : HOP_TCP;
	r->engine = engine_from_flow(f->engine);
	if (r->engine == ENG_UNKNOWN && peer)
		r->engine = engine_from_flow(peer->engine);
	hf = r->closed ? NULL : hd_find(hd, cookie, &local);
	if (hf) {
		if (r->engine == ENG_UNKNOWN)
			r->engine = engine_from_name(hf->engine);
		scopy(r->relay_state, sizeof(r->relay_state), hf->state);
		if (hf->upstream_local.family) {
			struct sock_ent key = { .local = hf->upstream_local };

			up = sock_find(up_v, n_up, &key, sock_ent_cmp_local, f->start_ns);
		}
	}
	if (up) {
		if (up->srtt_us) {
			r->rtt_us = up->srtt_us;
			r->rtt_upstream = true;
		}
		r->retrans += up->retrans;
	}
}

static int prev_cmp(const void *a, const void *b)
{
	const struct prev_bytes *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

/* Rates against the previous sample, then this sample becomes the previous one. */
static void rates_update(struct sampler *s, struct snapshot *snap)
{
	double dt = s->have_prev && snap->now_ns > s->prev_ns ? (double)(snap->now_ns - s->prev_ns) / 1e9 : 0;
	struct prev_bytes *np = snap->n ? calloc(snap->n, sizeof(*np)) : NULL;

	snap->rates_valid = dt > 0;
	for (size_t i = 0; i < snap->n; i++) {
		struct row *r = &snap->rows[i];
		struct prev_bytes key = { .cookie = r->cookie }, *p = NULL;
		uint64_t in0 = 0, out0 = 0;

		if (dt > 0) {
			p = s->n_prev ? bsearch(&key, s->prev, s->n_prev, sizeof(key), prev_cmp) : NULL;
			if (p) {
				in0 = p->in;
				out0 = p->out;
			}
			/* a flow first seen now counts from 0 only if it started after the last sample */
			if (p || r->start_ns >= s->prev_ns) {
				r->rate_in = r->bytes_in > in0 ? (double)(r->bytes_in - in0) / dt : 0;
				r->rate_out = r->bytes_out > out0 ? (double)(r->bytes_out - out0) / dt : 0;
			}
		}
		if (np) {
			np[i].cookie = r->cookie;
			np[i].in = r->bytes_in;
			np[i].out = r->bytes_out;
		}
	}
	free(s->prev);
	s->prev = np;
	s->n_prev = np ? snap->n : 0;
	if (s->n_prev > 1) /* rows come in cookie order already; keep it robust anyway */
		qsort(np, s->n_prev, sizeof(*np), prev_cmp);
	s->prev_ns = snap->now_ns;
	s->have_prev = true;
}

/* One sample: hermesd's view, the counters, the table, joined into rows. */
static int snapshot_collect(struct sampler *s, struct snapshot *snap)
{
	struct sock_ent *hop_v = NULL, *up_v = NULL;
	size_t n_hop = 0, n_up = 0, n_k = 0;
	struct kflow *k = NULL;
	int err;

	snapshot_free(snap);
	hd_fetch(&snap->hd);
	if (s->stats_fd >= 0 && !pol_read_counters(s->stats_fd, snap->counters))
		snap->have_counters = true;
	err = read_table(s->flows_fd, &k, &n_k);
	snap->now_ns = mono_ns();
	snap->wall = wall_time();
	if (err) {
		snprintf(snap->error, sizeof(snap->error), "cannot read %s/%s: %s", opt.pin_root, HERMES_MAP_FLOWS,
			 strerror(-err));
		return err;
	}

	if (n_k) {
		hop_v = calloc(n_k, sizeof(*hop_v));
		up_v = calloc(n_k, sizeof(*up_v));
		snap->rows = calloc(n_k, sizeof(*snap->rows));
		if (!hop_v || !up_v || !snap->rows) {
			err = -ENOMEM;
			snprintf(snap->error, sizeof(snap->error), "out of memory for %zu flows", n_k);
			goto out;
		}
	}
	for (size_t i = 0; i < n_k; i++) {
		const struct hermes_flow *f = &k[i].f;
		struct sock_ent *e;

		if (!(f->flags & HERMES_FLOW_HERMESD))
			continue;
		e = (f->flags & HERMES_FLOW_PASSIVE) ? &hop_v[n_hop++] : &up_v[n_up++];
		haddr_norm(&e->local, &f->local);
		haddr_norm(&e->remote, &f->remote);
		e->f = f;
	}
	if (n_hop > 1)
		qsort(hop_v, n_hop, sizeof(*hop_v), sock_ent_cmp);
	if (n_up > 1)
		qsort(up_v, n_up, sizeof(*up_v), sock_ent_cmp_local);
	if (snap->hd.n_flows > 1)
		qsort(snap->hd.flows, snap->hd.n_flows, sizeof(*snap->hd.flows), hd_cmp_cookie);

	for (size_t i = 0; i < n_k; i++) {
		const struct hermes_flow *f = &k[i].f;

		if (f->flags & HERMES_FLOW_HERMESD)
			continue;
		if (f->flags & HERMES_FLOW_PASSIVE) {
			/* hermesd's admin sockets are accepted in hermesd's cgroup without the
			 * HERMESD flag: they are not application flows */
			struct hermes_addr l;

			haddr_norm(&l, &f->local);
			if (!haddr_cmp(&l, &opt.admin_haddr))
				continue;
		}
		row_build(&snap->rows[snap->n], k[i].cookie, f, hop_v, n_hop, up_v, n_up, &snap->hd, snap->now_ns);
		/* CLOCK_MONOTONIC stamps as wall-clock times, through this sample's pair */
		snap->rows[snap->n].start_wall = snap->wall - ((double)snap->now_ns - (double)f->start_ns) / 1e9;
		if (snap->rows[snap->n].closed)
			snap->rows[snap->n].end_wall = snap->wall - ((double)snap->now_ns - (double)f->end_ns) / 1e9;
		snap->n++;
	}
	rates_update(s, snap);
out:
	free(hop_v);
	free(up_v);
	free(k);
	return err;
}

/* The policy rule that applies to a destination now, as the BPF programs look it up
 * (pol_best_rule over every rule of the map): for the detail view. */
struct rule_info {
	bool read;          /* the map was read */
	bool found;         /* a rule matches (else the destination passes) */
	char match[80];
	unsigned action, origin;
	char error[128];
};

struct rule_collect {
	struct hermes_policy_key *keys;
	struct hermes_policy_val *vals;
	size_t n, cap;
};

static int rule_collect_cb(const struct hermes_policy_key *k, const struct hermes_policy_val *v, void *arg)
{
	struct rule_collect *c = arg;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		void *nk = realloc(c->keys, ncap * sizeof(*c->keys)), *nv;

		if (!nk)
			return 1;
		c->keys = nk;
		nv = realloc(c->vals, ncap * sizeof(*c->vals));
		if (!nv)
			return 1;
		c->vals = nv;
		c->cap = ncap;
	}
	c->keys[c->n] = *k;
	c->vals[c->n++] = *v;
	return 0;
}

static void rule_lookup(int policy_fd, const struct hermes_addr *dst, struct rule_info *ri)
{
	struct rule_collect c = { 0 };
	int err, best;

	memset(ri, 0, sizeof(*ri));
	if (policy_fd < 0) {
		snprintf(ri->error, sizeof(ri->error), "%s/%s could not be opened", opt.pin_root, HERMES_MAP_POLICY);
		return;
	}
	err = pol_map_foreach(policy_fd, rule_collect_cb, &c);
	if (err) {
		snprintf(ri->error, sizeof(ri->error), "cannot read %s/%s: %s", opt.pin_root, HERMES_MAP_POLICY,
			 strerror(-err));
	} else {
		ri->read = true;
		best = pol_best_rule(c.keys, c.n, dst);
		if (best >= 0) {
			ri->found = true;
			if (pol_fmt_match(&c.keys[best], ri->match, sizeof(ri->match)))
				snprintf(ri->match, sizeof(ri->match), "<raw prefixlen %u>", c.keys[best].prefixlen);
			ri->action = c.vals[best].action;
			ri->origin = c.vals[best].origin;
		}
	}
	free(c.keys);
	free(c.vals);
}

/* ---------------------------------------------------------------- view: window, filter, sort */

struct view_opts {
	enum sort_key sort;
	bool reverse;
	bool all_closed;
	const struct filter *filter;
};

struct view {
	size_t *idx;      /* rows to show, in order */
	size_t n;
	/* over the window (open + shown closed flows), before the text filter */
	size_t in_window, open, closed;
	size_t by_action[HERMES_ACT_MAX + 1]; /* last: unknown values */
	size_t by_engine[ENG_MAX];            /* open flows */
	/* over every application flow */
	double rate_in, rate_out;
};

static bool row_in_window(const struct row *r, uint64_t now_ns, bool all_closed)
{
	if (!r->closed || all_closed)
		return true;
	return r->end_ns + CLOSED_WINDOW_NS >= now_ns;
}

/* A filter is words separated by blanks. FIELD:VALUE words test one field (pid:123,
 * comm:curl or a glob comm:py*, src: or dst:CIDR[:PORT] such as dst:10.0.0.0/8 or
 * dst:1.2.3.4:80, port:80, action:proxy, engine:uring, state:closed or a TCP state); a
 * word with no known field is a case-insensitive substring of the command, pid,
 * source, original destination or action. A leading '!' or '-' negates a word.
 * Words on the same field: any may match; on different fields: all must; a negated
 * word must not match. */
enum ffield { F_TEXT, F_PID, F_COMM, F_SRC, F_DST, F_PORT, F_ACTION, F_ENGINE, F_STATE, F_MAX };
static const char *const ffield_names[F_MAX] = { "text", "pid", "comm", "src", "dst", "port", "action", "engine", "state" };
#define FILTER_TERMS 32

struct fterm {
	enum ffield field;
	bool neg;
	char text[FILTER_MAX];         /* F_TEXT, F_COMM, F_STATE */
	uint32_t num;                  /* F_PID, F_PORT, F_ACTION, F_ENGINE */
	struct hermes_policy_key key;  /* F_SRC, F_DST */
};

struct filter {
	struct fterm t[FILTER_TERMS];
	int n;
};

static bool state_word(const char *w)
{
	static const char *const extra[] = { "open", "closed" };

	for (unsigned st = 1; st <= BPF_TCP_NEW_SYN_RECV; st++)
		if (!strcmp(w, tcp_state_name(st)))
			return true;
	return !strcmp(w, extra[0]) || !strcmp(w, extra[1]);
}

/* Parses text into f; on a bad word returns -EINVAL with the reason in err. */
static int filter_parse(const char *text, struct filter *f, char *err, size_t errlen)
{
	char buf[FILTER_MAX], *save = NULL;

	memset(f, 0, sizeof(*f));
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		struct fterm *t;
		const char *colon, *val;
		char *end;
		int k;

		if (f->n == FILTER_TERMS) {
			snprintf(err, errlen, "more than %d filter words", FILTER_TERMS);
			return -EINVAL;
		}
		t = &f->t[f->n];
		if ((w[0] == '!' || w[0] == '-') && w[1]) {
			t->neg = true;
			w++;
		}
		colon = strchr(w, ':');
		for (k = 1; colon && k < F_MAX; k++)
			if ((size_t)(colon - w) == strlen(ffield_names[k]) && !strncmp(w, ffield_names[k], (size_t)(colon - w)))
				break;
		if (!colon || k == F_MAX) { /* plain text (an address such as 10.0.0.1:80 too) */
			t->field = F_TEXT;
			snprintf(t->text, sizeof(t->text), "%s", w);
			f->n++;
			continue;
		}
		t->field = (enum ffield)k;
		val = colon + 1;
		if (!*val) {
			snprintf(err, errlen, "filter '%s' needs a value after ':'", w);
			return -EINVAL;
		}
		switch (t->field) {
		case F_PID:
		case F_PORT:
			errno = 0;
			t->num = (uint32_t)strtoul(val, &end, 10);
			if (errno || *end || (t->field == F_PORT && (t->num < 1 || t->num > 65535))) {
				snprintf(err, errlen, "bad %s in filter '%s': expected a number", ffield_names[k], w);
				return -EINVAL;
			}
			break;
		case F_SRC:
		case F_DST: {
			char why[160];

			if (pol_parse_match_err(val, &t->key, why, sizeof(why))) {
				snprintf(err, errlen, "filter '%s': %s", w, why);
				return -EINVAL;
			}
			break;
		}
		case F_ACTION: {
			enum hermes_action a;

			if (pol_parse_action(val, &a)) {
				snprintf(err, errlen, "unknown action in filter '%s' (expected pass, deny, proxy, tunnel or http)", w);
				return -EINVAL;
			}
			t->num = a;
			break;
		}
		case F_ENGINE:
			for (t->num = 1; t->num < ENG_MAX && strcmp(val, json_engine[t->num]); t->num++)
				;
			if (t->num == ENG_MAX) {
				snprintf(err, errlen, "unknown engine in filter '%s' (expected uring, splice, http, direct or none)", w);
				return -EINVAL;
			}
			break;
		case F_STATE:
			if (!state_word(val)) {
				snprintf(err, errlen, "unknown state in filter '%s' (expected open, closed or a TCP state "
					 "such as estab, syn-sent, time-wait)", w);
				return -EINVAL;
			}
			/* fall through */
		default:
			snprintf(t->text, sizeof(t->text), "%s", val);
			break;
		}
		f->n++;
	}
	return 0;
}

static bool term_matches(const struct fterm *t, const struct row *r)
{
	char pid[16];

	switch (t->field) {
	case F_TEXT:
		snprintf(pid, sizeof(pid), "%u", r->pid);
		return strcasestr(r->comm, t->text) || strcasestr(r->src, t->text) || strcasestr(r->dst, t->text) ||
		       strcasestr(action_name(r->action), t->text) || (r->pid && strstr(pid, t->text));
	case F_PID:
		return r->pid == t->num;
	case F_COMM:
		return !fnmatch(t->text, r->comm, 0);
	case F_SRC:
		return pol_key_matches(&t->key, &r->src_addr);
	case F_DST:
		return pol_key_matches(&t->key, &r->dst_addr);
	case F_PORT:
		return r->dst_addr.family && ntohs(r->dst_addr.port) == t->num;
	case F_ACTION:
		return r->action == t->num;
	case F_ENGINE:
		return r->engine == (enum engine)t->num;
	case F_STATE:
		if (!strcmp(t->text, "closed") || !strcmp(t->text, "open"))
			return r->closed == !strcmp(t->text, "closed");
		return !r->closed && !strcmp(t->text, tcp_state_name(r->tcp_state));
	case F_MAX:
		break;
	}
	return false;
}

static bool row_matches(const struct row *r, const struct filter *f)
{
	for (int field = 0; f && field < F_MAX; field++) {
		bool any = false, hit = false;

		for (int i = 0; i < f->n; i++) {
			const struct fterm *t = &f->t[i];

			if ((int)t->field != field)
				continue;
			if (t->neg) {
				if (term_matches(t, r))
					return false;
				continue;
			}
			/* plain words each must match: a group of one */
			if (field == F_TEXT && !term_matches(t, r))
				return false;
			any = true;
			hit = hit || term_matches(t, r);
		}
		if (any && !hit)
			return false;
	}
	return true;
}

static struct filter opt_filter; /* opt.filter, parsed */

static int view_cmp(const void *a, const void *b, void *arg)
{
	const struct row *rows = ((void **)arg)[0];
	const struct view_opts *vo = ((void **)arg)[1];
	const struct row *x = &rows[*(const size_t *)a], *y = &rows[*(const size_t *)b];
	int c = 0;

	switch (vo->sort) {
	case SORT_RATE: {
		double rx = x->rate_in + x->rate_out, ry = y->rate_in + y->rate_out;

		c = rx > ry ? -1 : rx < ry;
		break;
	}
	case SORT_BYTES: {
		uint64_t bx = x->bytes_in + x->bytes_out, by = y->bytes_in + y->bytes_out;

		c = bx > by ? -1 : bx < by;
		break;
	}
	case SORT_AGE:
		c = x->age_ns > y->age_ns ? -1 : x->age_ns < y->age_ns;
		break;
	case SORT_PID:
		c = x->pid < y->pid ? -1 : x->pid > y->pid;
		break;
	case SORT_RTT:
		c = x->rtt_us > y->rtt_us ? -1 : x->rtt_us < y->rtt_us;
		break;
	case SORT_DST:
		c = haddr_order(&x->dst_addr, &y->dst_addr);
		break;
	case SORT_MAX:
		break;
	}
	if (!c) /* stable order between samples: oldest first, then cookie */
		c = x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns ? 1 :
		    x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
	return vo->reverse ? -c : c;
}

static int view_build(const struct snapshot *s, const struct view_opts *vo, struct view *v)
{
	void *ctx[2] = { s->rows, (void *)vo };

	free(v->idx);
	memset(v, 0, sizeof(*v));
	if (s->n && !(v->idx = calloc(s->n, sizeof(*v->idx))))
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct row *r = &s->rows[i];

		v->rate_in += r->rate_in;
		v->rate_out += r->rate_out;
		if (!row_in_window(r, s->now_ns, vo->all_closed))
			continue;
		v->in_window++;
		v->by_action[r->action < HERMES_ACT_MAX ? r->action : HERMES_ACT_MAX]++;
		if (r->closed) {
			v->closed++;
		} else {
			v->open++;
			v->by_engine[r->engine]++;
		}
		if (row_matches(r, vo->filter))
			v->idx[v->n++] = i;
	}
	if (v->n > 1)
		qsort_r(v->idx, v->n, sizeof(*v->idx), view_cmp, ctx);
	return 0;
}

/* ---------------------------------------------------------------- shared row and summary text */

enum col { C_PROC, C_SRC, C_DST, C_ACTION, C_ENGINE, C_RATE, C_BYTES, C_RTT, C_RETRANS, C_AGE, C_STATE, NCOL };

#define CELL_MAX 80

static const struct coldef {
	const char *title;
	int width;  /* preferred */
	int minw;   /* when the terminal is narrow */
	int maxw;   /* grows up to this for long contents (IPv6) */
	bool right; /* numbers: right-aligned */
} cols[NCOL] = {
	[C_PROC] = { "PID/COMM", 18, 12, 24, false },
	[C_SRC] = { "SRC", 21, 15, 47, false },
	[C_DST] = { "ORIG DST", 21, 15, 47, false },
	[C_ACTION] = { "ACTION", 6, 6, 6, false },
	[C_ENGINE] = { "ENGINE/HOP", 11, 11, 12, false },
	[C_RATE] = { "RATE IN/OUT", 11, 11, 13, true },
	[C_BYTES] = { "BYTES IN/OUT", 12, 12, 13, true },
	[C_RTT] = { "RTT", 7, 7, 8, true },
	[C_RETRANS] = { "RETRANS", 7, 7, 10, true },
	[C_AGE] = { "AGE", 6, 6, 7, true },
	[C_STATE] = { "STATE", 10, 10, 15, false },
};

/* How a narrow terminal fits the table: these steps in order until it fits. */
static const struct { enum col col; bool drop; } narrow_steps[] = {
	{ C_RETRANS, true }, { C_SRC, false }, { C_RTT, true }, { C_AGE, true }, { C_PROC, false },
	{ C_DST, false }, { C_SRC, true }, { C_STATE, true }, { C_BYTES, true }, { C_ENGINE, true },
};

/* "uring/skmsg", "http/tcp", "direct", "-" */
static void fmt_engine_hop(const struct row *r, char *buf, size_t len)
{
	if (r->hop == HOP_NA)
		snprintf(buf, len, "%s", engine_names[r->engine]);
	else
		snprintf(buf, len, "%s/%s", engine_names[r->engine], r->hop == HOP_SKMSG ? "skmsg" : "tcp");
}

static void row_cells(const struct row *r, char cell[NCOL][CELL_MAX])
{
	char a[16], b[16];

	if (r->pid)
		snprintf(cell[C_PROC], CELL_MAX, "%u/%s", r->pid, r->comm);
	else
		snprintf(cell[C_PROC], CELL_MAX, "-/%s", r->comm);
	snprintf(cell[C_SRC], CELL_MAX, "%s", r->src);
	snprintf(cell[C_DST], CELL_MAX, "%s", r->dst);
	snprintf(cell[C_ACTION], CELL_MAX, "%s", action_name(r->action));
	fmt_engine_hop(r, cell[C_ENGINE], CELL_MAX);
	fmt_human(r->rate_in, a, sizeof(a));
	fmt_human(r->rate_out, b, sizeof(b));
	snprintf(cell[C_RATE], CELL_MAX, "%s/%s", a, b);
	fmt_human((double)r->bytes_in, a, sizeof(a));
	fmt_human((double)r->bytes_out, b, sizeof(b));
	snprintf(cell[C_BYTES], CELL_MAX, "%s/%s", a, b);
	fmt_rtt(r->rtt_us, cell[C_RTT], CELL_MAX);
	snprintf(cell[C_RETRANS], CELL_MAX, "%u", r->retrans);
	fmt_age(r->age_ns, cell[C_AGE], CELL_MAX);
	if (r->closed)
		fmt_clock(r->end_wall, "closed ", cell[C_STATE], CELL_MAX);
	else
		snprintf(cell[C_STATE], CELL_MAX, "%s", tcp_state_name(r->tcp_state));
}

/* Column widths for a terminal `avail` columns wide (0: no limit, for batch). */
static void layout(const struct snapshot *s, const struct view *v, int avail, int width[NCOL], bool show[NCOL])
{
	int total = -1, want[NCOL];

	for (int c = 0; c < NCOL; c++) {
		width[c] = cols[c].width;
		show[c] = true;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &s->rows[v->idx[i]];
		char cell[NCOL][CELL_MAX];

		row_cells(r, cell);
		for (int c = 0; c < NCOL; c++) {
			int l = (int)strlen(cell[c]);

			if (l > width[c])
				width[c] = l < cols[c].maxw ? l : cols[c].maxw;
		}
	}
	for (int c = 0; c < NCOL; c++) {
		want[c] = width[c];
		total += width[c] + 1;
	}
	for (size_t i = 0; avail > 0 && total > avail && i < sizeof(narrow_steps) / sizeof(narrow_steps[0]); i++) {
		enum col c = narrow_steps[i].col;

		if (narrow_steps[i].drop) {
			show[c] = false;
			total -= width[c] + 1;
		} else if (width[c] > cols[c].minw) {
			int cut = width[c] - cols[c].minw;

			if (cut > total - avail)
				cut = total - avail;
			width[c] -= cut;
			total -= cut;
		}
	}
	/* what dropping a wide column freed goes back to the columns shrunk before it */
	for (size_t i = 0; avail > 0 && total < avail && i < sizeof(narrow_steps) / sizeof(narrow_steps[0]); i++) {
		enum col c = narrow_steps[i].col;
		int grow;

		if (narrow_steps[i].drop || !show[c] || width[c] >= want[c])
			continue;
		grow = want[c] - width[c] < avail - total ? want[c] - width[c] : avail - total;
		width[c] += grow;
		total += grow;
	}
}

/* Scrolled layout (the live view's Right key): PID/COMM stays, the `hcol` columns after
 * it are scrolled away, and the next columns show at full width while they fit. */
static void layout_scrolled(const struct snapshot *s, const struct view *v, int avail, int hcol, int width[NCOL],
			    bool show[NCOL])
{
	int used;
	bool full = false;

	layout(s, v, 0, width, show);
	used = width[C_PROC];
	for (int c = 1; c < NCOL; c++) {
		show[c] = !full && c > hcol && used + 1 + width[c] <= avail;
		if (c > hcol && !show[c])
			full = true; /* no gaps: the columns after it wait for the next Right */
		if (show[c])
			used += 1 + width[c];
	}
}

/* cell fitted to w columns; addresses keep their right end (the port), with a '~'. */
static void fit(char *out, size_t len, const char *cell, int w, enum col c)
{
	int l = (int)strlen(cell);

	if (l <= w) {
		snprintf(out, len, cols[c].right ? "%*s" : "%-*s", w, cell);
	} else if (c == C_SRC || c == C_DST) {
		snprintf(out, len, "~%s", cell + (l - w + 1));
	} else {
		snprintf(out, len, "%.*s", w, cell);
	}
}

/* One table line (header when r is NULL) into out. */
static void table_line(const struct row *r, const int width[NCOL], const bool show[NCOL], char *out, size_t len)
{
	char cell[NCOL][CELL_MAX], piece[CELL_MAX + 2];
	size_t n = 0;
	bool first = true;

	if (r)
		row_cells(r, cell);
	out[0] = 0;
	for (int c = 0; c < NCOL; c++) {
		if (!show[c])
			continue;
		fit(piece, sizeof(piece), r ? cell[c] : cols[c].title, width[c], (enum col)c);
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", first ? "" : " ", piece);
		first = false;
		if (n >= len)
			break;
	}
	/* no trailing blanks in batch text */
	n = strlen(out);
	while (n && out[n - 1] == ' ')
		out[--n] = 0;
}

#define SUM_LINES 3
#define LINE_MAX_LEN 1024

static void hermesd_status(const struct hd_view *hd, char *buf, size_t len)
{
	if (!hd->reachable)
		snprintf(buf, len, "hermesd: not reachable at %s (%s)", opt.admin.addr, hd->detail);
	else if (hd->st.has_active)
		snprintf(buf, len, "hermesd: ready at %s, %llu active%s%s", opt.admin.addr, (unsigned long long)hd->st.active,
			 hd->detail[0] ? "; " : "", hd->detail);
	else
		snprintf(buf, len, "hermesd: answering at %s%s%s", opt.admin.addr, hd->detail[0] ? "; " : "", hd->detail);
}

/* The header lines shared by the live view and batch text. */
static void summary_lines(const struct snapshot *s, const struct view *v, char out[SUM_LINES][LINE_MAX_LEN])
{
	char tbuf[16], hd[256], ri[16], ro[16], drops[32], retries[32], relayed[64], acts[160] = "";
	time_t t = (time_t)s->wall;
	struct tm tm;
	size_t n = 0;

	localtime_r(&t, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	hermesd_status(&s->hd, hd, sizeof(hd));
	snprintf(out[0], LINE_MAX_LEN, "hermes-top %s  %s%s%s  pin root %s", tbuf, hd, s->error[0] ? "  ERROR: " : "",
		 s->error, opt.pin_root);

	for (unsigned a = 0; a <= HERMES_ACT_MAX; a++) {
		if (!v->by_action[a] && a != HERMES_ACT_PASS && a != HERMES_ACT_DENY && a != HERMES_ACT_PROXY)
			continue;
		n += (size_t)snprintf(acts + n, n < sizeof(acts) ? sizeof(acts) - n : 0, "%s%s %zu", n ? " " : "",
				      a < HERMES_ACT_MAX ? pol_action_name(a) : "other", v->by_action[a]);
	}
	n = (size_t)snprintf(out[1], LINE_MAX_LEN, "flows %zu: %zu open %zu closed | %s | open:", v->in_window, v->open,
			     v->closed, acts);
	/* engines with open flows only: the line must fit 80 columns */
	for (int e = ENG_URING; e < ENG_MAX; e++)
		if (e != ENG_NONE && v->by_engine[e] && n < LINE_MAX_LEN)
			n += (size_t)snprintf(out[1] + n, LINE_MAX_LEN - n, " %s %zu", engine_names[e], v->by_engine[e]);
	if (v->by_engine[ENG_UNKNOWN] && n < LINE_MAX_LEN)
		n += (size_t)snprintf(out[1] + n, LINE_MAX_LEN - n, " unknown %zu", v->by_engine[ENG_UNKNOWN]);
	if (!v->open && n < LINE_MAX_LEN)
		snprintf(out[1] + n, LINE_MAX_LEN - n, " none");

	fmt_human(v->rate_in, ri, sizeof(ri));
	fmt_human(v->rate_out, ro, sizeof(ro));
	if (s->have_counters)
		snprintf(drops, sizeof(drops), "%llu", (unsigned long long)s->counters[HERMES_CNT_DENY]);
	else
		snprintf(drops, sizeof(drops), "?");
	if (s->hd.st.has_retries)
		snprintf(retries, sizeof(retries), "%llu", (unsigned long long)s->hd.st.retries);
	else
		snprintf(retries, sizeof(retries), "-");
	if (s->hd.st.has_flows)
		snprintf(relayed, sizeof(relayed), "uring %llu splice %llu", (unsigned long long)s->hd.st.flows_uring,
			 (unsigned long long)s->hd.st.flows_splice);
	else
		snprintf(relayed, sizeof(relayed), "-");
	snprintf(out[2], LINE_MAX_LEN, "rate in %s/s out %s/s%s | denied %s | retries %s | relayed: %s",
		 ri, ro, s->rates_valid ? "" : " (first sample)", drops, retries, relayed);
}

/* ---------------------------------------------------------------- batch output */

static void print_text(const struct snapshot *s, const struct view *v)
{
	char sum[SUM_LINES][LINE_MAX_LEN], line[NCOL * (CELL_MAX + 1) + 1];
	int width[NCOL];
	bool show[NCOL];

	summary_lines(s, v, sum);
	for (int i = 0; i < SUM_LINES; i++)
		printf("%s\n", sum[i]);
	printf("\n");
	layout(s, v, 0, width, show);
	table_line(NULL, width, show, line, sizeof(line));
	printf("%s\n", line);
	for (size_t i = 0; i < v->n; i++) {
		table_line(&s->rows[v->idx[i]], width, show, line, sizeof(line));
		printf("%s\n", line);
	}
	printf("\n");
}

static void json_u64_or_null(bool ok, uint64_t v)
{
	if (ok)
		printf("%llu", (unsigned long long)v);
	else
		printf("null");
}

/* ,"started_at":"RFC 3339","closed_at":"RFC 3339"|null */
static void json_times(const struct row *r)
{
	char t[40];

	fmt_rfc3339(r->start_wall, t, sizeof(t));
	printf(",\"started_at\":\"%s\",\"closed_at\":", t);
	fmt_rfc3339(r->end_wall, t, sizeof(t));
	json_str_or_null(stdout, r->closed ? t : NULL);
}

/* The fields a flow has in batch JSON and in follow events, without the braces. */
static void json_flow_fields(const struct row *r)
{
	printf("\"cookie\":%llu,\"pid\":%u,\"uid\":%u,\"comm\":", (unsigned long long)r->cookie, r->pid, r->uid);
	json_str(stdout, r->comm);
	printf(",\"direction\":\"%s\",\"src\":", r->incoming ? "in" : "out");
	json_str(stdout, r->src);
	printf(",\"orig_dst\":");
	json_str(stdout, r->dst);
	printf(",\"local\":");
	json_str(stdout, r->local);
	printf(",\"remote\":");
	json_str(stdout, r->remote);
	printf(",\"action\":\"%s\",\"engine\":", action_name(r->action));
	json_str_or_null(stdout, json_engine[r->engine]);
	printf(",\"hop\":");
	json_str_or_null(stdout, r->hop == HOP_SKMSG ? "skmsg" : r->hop == HOP_TCP ? "tcp" : NULL);
	printf(",\"bytes_in\":%llu,\"bytes_out\":%llu", (unsigned long long)r->bytes_in,
	       (unsigned long long)r->bytes_out);
}

static void print_json(const struct snapshot *s, const struct view *v)
{
	const struct hd_view *hd = &s->hd;

	printf("{\"time\":%.3f,\"summary\":{\"flows\":%zu,\"open\":%zu,\"closed\":%zu,\"by_action\":{", s->wall,
	       v->in_window, v->open, v->closed);
	for (unsigned a = 0; a < HERMES_ACT_MAX; a++)
		printf("%s\"%s\":%zu", a ? "," : "", pol_action_name(a), v->by_action[a]);
	printf("},\"by_engine\":{\"uring\":%zu,\"splice\":%zu,\"http\":%zu,\"direct\":%zu,\"unknown\":%zu}",
	       v->by_engine[ENG_URING], v->by_engine[ENG_SPLICE], v->by_engine[ENG_HTTP], v->by_engine[ENG_DIRECT],
	       v->by_engine[ENG_UNKNOWN]);
	printf(",\"rate_in\":%.1f,\"rate_out\":%.1f,\"drops\":", v->rate_in, v->rate_out);
	json_u64_or_null(s->have_counters, s->counters[HERMES_CNT_DENY]);
	printf(",\"upstream_retries\":");
	json_u64_or_null(hd->st.has_retries, hd->st.retries);
	printf(",\"decisions\":");
	if (s->have_counters) {
		printf("{");
		for (unsigned i = 0; i < HERMES_CNT_MAX; i++)
			printf("%s\"%s\":%llu", i ? "," : "", pol_counter_name(i), (unsigned long long)s->counters[i]);
		printf("}");
	} else {
		printf("null");
	}
	printf(",\"hermesd\":{\"admin\":");
	json_str(stdout, opt.admin.addr);
	printf(",\"reachable\":%s,\"detail\":", hd->reachable ? "true" : "false");
	json_str_or_null(stdout, hd->detail);
	printf(",\"connections_active\":");
	json_u64_or_null(hd->st.has_active, hd->st.active);
	printf(",\"flows_total\":");
	if (hd->st.has_flows)
		printf("{\"uring\":%llu,\"splice\":%llu}", (unsigned long long)hd->st.flows_uring,
		       (unsigned long long)hd->st.flows_splice);
	else
		printf("null");
	printf(",\"flows_endpoint\":%s}", hd->have_flows ? "true" : "false");
	if (s->error[0]) {
		printf(",\"error\":");
		json_str(stdout, s->error);
	}
	printf("},\"flows\":[");
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &s->rows[v->idx[i]];

		printf("%s{", i ? "," : "");
		json_flow_fields(r);
		printf(",\"rate_in\":%.1f,\"rate_out\":%.1f,\"rtt_us\":", r->rate_in, r->rate_out);
		json_u64_or_null(r->rtt_us != 0, r->rtt_us);
		printf(",\"rtt_hop\":");
		json_str_or_null(stdout, !r->rtt_us ? NULL : r->rtt_upstream ? "upstream" : "local");
		printf(",\"retrans\":%u,\"age_s\":%.3f,\"state\":\"%s\",\"closed\":%s,\"relay_state\":", r->retrans,
		       (double)r->age_ns / 1e9, r->closed ? "closed" : tcp_state_name(r->tcp_state),
		       r->closed ? "true" : "false");
		json_str_or_null(stdout, r->relay_state);
		json_times(r);
		printf("}");
	}
	printf("]}\n");
}

/* Sleeps until the CLOCK_MONOTONIC deadline or a signal asks to stop. */
static void sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC),
			       .tv_nsec = (long)(deadline_ns % NSEC_PER_SEC) };

	while (!stop_flag && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int run_batch(struct sampler *smp)
{
	struct view_opts vo = { .sort = opt.sort, .all_closed = opt.all_closed, .filter = &opt_filter };
	struct snapshot snap = { 0 };
	struct view v = { 0 };
	uint64_t interval_ns = (uint64_t)(opt.interval * 1e9), next = mono_ns();
	int rc = EXIT_OK;

	for (long i = 0; !stop_flag && (!opt.iterations || i < opt.iterations); i++) {
		if (i) {
			next += interval_ns;
			sleep_until(next);
			if (stop_flag)
				break;
		}
		if (snapshot_collect(smp, &snap) == -ENOMEM || view_build(&snap, &vo, &v)) {
			errmsg("out of memory");
			rc = EXIT_RUNTIME;
			break;
		}
		if (snap.error[0] && !opt.json)
			errmsg("%s", snap.error);
		if (opt.json)
			print_json(&snap, &v);
		else
			print_text(&snap, &v);
		if (fflush(stdout)) {
			rc = EXIT_RUNTIME;
			break;
		}
	}
	free(v.idx);
	snapshot_free(&snap);
	return rc;
}

/* ---------------------------------------------------------------- follow mode */

/* Follow mode prints flow events as the table changes, one line each: a flow seen
 * open for the first time ("open", at its connect time), a flow seen closed ("close",
 * at its close time; a flow that opened and closed between two samples gets both),
 * a connect denied by policy ("deny"). Flows already in the table at start are not
 * printed. Events of one sample are printed in time order. */
#define FOLLOW_DEFAULT_INTERVAL 0.2

enum fev { EV_OPEN, EV_CLOSE, EV_DENY };
static const char *const fev_names[] = { "open", "close", "deny" };

struct seen {
	uint64_t cookie;
	bool closed;
};

struct event {
	double t;
	const struct row *r;
	enum fev ev;
};

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (int)x->ev - (int)y->ev; /* open before close at the same instant */
}

static void print_event(const struct event *e)
{
	const struct row *r = e->r;
	char t[40], eng[24], a[16], b[16], dur[16];

	fmt_rfc3339(e->t, t, sizeof(t));
	fmt_engine_hop(r, eng, sizeof(eng));
	if (opt.json) {
		printf("{\"time\":\"%s\",\"event\":\"%s\",", t, fev_names[e->ev]);
		json_flow_fields(r);
		printf(",\"duration_s\":");
		if (e->ev == EV_OPEN)
			printf("null");
		else
			printf("%.3f", (double)r->age_ns / 1e9);
		json_times(r);
		printf("}\n");
		return;
	}
	printf("%s %-5s %u/%s %s -> %s %s %s", t, fev_names[e->ev], r->pid, r->comm, r->src, r->dst,
	       action_name(r->action), eng);
	if (e->ev == EV_CLOSE) {
		fmt_human((double)r->bytes_in, a, sizeof(a));
		fmt_human((double)r->bytes_out, b, sizeof(b));
		fmt_age(r->age_ns, dur, sizeof(dur));
		printf(" in %s out %s lasted %s", a, b, dur);
	}
	putchar('\n');
}

static int run_follow(struct sampler *smp)
{
	struct snapshot snap = { 0 };
	struct seen *seen = NULL;
	size_t n_seen = 0;
	uint64_t interval_ns = (uint64_t)(opt.interval * 1e9), next = mono_ns();
	long printed = 0;
	int rc = EXIT_OK;

	for (long i = 0; !stop_flag; i++) {
		struct event *ev = NULL;
		struct seen *ns = NULL;
		size_t n_ev = 0;

		if (i) {
			next += interval_ns;
			sleep_until(next);
			if (stop_flag)
				break;
		}
		if (snapshot_collect(smp, &snap) == -ENOMEM)
			goto oom;
		if (snap.error[0])
			errmsg("%s", snap.error);
		if (snap.n && (!(ns = calloc(snap.n, sizeof(*ns))) || !(ev = calloc(snap.n * 2, sizeof(*ev))))) {
			free(ns);
			goto oom;
		}
		for (size_t j = 0; j < snap.n; j++) {
			const struct row *r = &snap.rows[j];
			struct seen key = { .cookie = r->cookie }, *p;

			ns[j] = (struct seen){ .cookie = r->cookie, .closed = r->closed };
			if (!i || !row_matches(r, &opt_filter))
				continue;
			p = n_seen ? bsearch(&key, seen, n_seen, sizeof(key), seen_cmp) : NULL;
			if (!p && r->action == HERMES_ACT_DENY) {
				ev[n_ev++] = (struct event){ r->start_wall, r, EV_DENY };
				continue;
			}
			if (!p)
				ev[n_ev++] = (struct event){ r->start_wall, r, EV_OPEN };
			if (r->closed && (!p || !p->closed))
				ev[n_ev++] = (struct event){ r->end_wall, r, EV_CLOSE };
		}
		if (n_ev > 1)
			qsort(ev, n_ev, sizeof(*ev), event_cmp);
		for (size_t j = 0; j < n_ev && !(opt.iterations && printed >= opt.iterations); j++, printed++)
			print_event(&ev[j]);
		free(ev);
		free(seen);
		seen = ns;
		n_seen = snap.n;
		if (n_seen > 1)
			qsort(seen, n_seen, sizeof(*seen), seen_cmp);
		if (fflush(stdout)) {
			rc = EXIT_RUNTIME;
			break;
		}
		if (opt.iterations && printed >= opt.iterations)
			break;
	}
	free(seen);
	snapshot_free(&snap);
	return rc;
oom:
	errmsg("out of memory");
	free(seen);
	snapshot_free(&snap);
	return EXIT_RUNTIME;
}

/* ---------------------------------------------------------------- live view (curses) */

enum { PAIR_DENY = 1, PAIR_PROXY };

struct ui {
	struct view_opts vo;
	char filter[FILTER_MAX];
	struct filter filt;  /* filter, parsed */
	char msg[192];       /* a bad filter, shown in the bottom line until the next key */
	bool paused, help, editing;
	char edit[FILTER_MAX];
	size_t top;       /* first row shown */
	size_t sel;       /* the selected row (Enter shows its details) */
	uint64_t sel_cookie; /* its flow: the selection follows it across samples */
	int hcol;         /* 0: columns by priority; N: the N columns after PID/COMM scrolled away */
	bool detail;      /* the detail view of detail_cookie */
	uint64_t detail_cookie;
	struct rule_info rule; /* the policy rule for the detail view's flow, at the last sample */
	int page;         /* rows per page at the last draw */
	bool colors;
};

static void put_line(int y, const char *s, int w, attr_t attr)
{
	if (attr)
		attron(attr);
	mvaddnstr(y, 0, s, w);
	if (attr)
		attroff(attr);
}

/* Word-wrapped message in the middle of whatever space there is. */
static void draw_too_small(int w, int h)
{
	char msg[128], lines[8][128];
	int nl = 0;
	char *save = NULL, *word;

	snprintf(msg, sizeof(msg), "terminal too small: need at least %dx%d, have %dx%d", MIN_COLS, MIN_LINES, w, h);
	lines[0][0] = 0;
	for (word = strtok_r(msg, " ", &save); word && nl < 8; word = strtok_r(NULL, " ", &save)) {
		size_t cur = strlen(lines[nl]);

		if (cur && (int)(cur + 1 + strlen(word)) > w) {
			if (++nl == 8)
				break;
			lines[nl][0] = 0;
			cur = 0;
		}
		snprintf(lines[nl] + cur, sizeof(lines[nl]) - cur, "%s%s", cur ? " " : "", word);
	}
	if (nl < 8 && lines[nl][0])
		nl++;
	for (int i = 0; i < nl && i < h; i++)
		mvaddnstr(i + (h - nl > 0 ? (h - nl) / 2 : 0), 0, lines[i], w);
	if (h > nl + 1)
		mvaddnstr(h - 1, 0, "q quits", w);
}

/* fits 80x24 */
static const char *const help_text[] = {
	"hermes-top help                                           (any key returns)",
	"  q quit (also Ctrl-C)   p pause/resume   h, ? this help",
	"  s  next sort key: rate, bytes, age, pid, rtt, dst     S  reverse the order",
	"  /  edit the filter (Enter applies, Esc cancels, Ctrl-U clears):",
	"     pid:N comm:NAME dst:CIDR[:PORT] src: port:N action: engine: state:",
	"     or any text; !word or -word negates",
	"  Enter  details of the selected flow (policy rule, times); Esc goes back",
	"  Left/Right  scroll the columns after PID/COMM",
	"  c  closed flows: last 5 seconds / all still in the table",
	"  Up/Down PgUp/PgDn Home/End   move the selection",
	"",
	"  PID/COMM     who called connect();   SRC  the flow's source address",
	"  ORIG DST     what the application dialled;   ACTION  pass deny proxy tunnel http",
	"  ENGINE/HOP   relay engine (uring, splice, http) / local hop (skmsg or tcp);",
	"               direct for pass, - for deny",
	"  RATE IN/OUT  bytes/s received/sent by the app (K, M, G = 1024-based)",
	"  BYTES        bytes received/sent by the app",
	"  RTT          the upstream hop's when hermesd reports it, else the socket's",
	"  RETRANS      retransmitted segments",
	"  AGE          time since connect (how long it lasted, once closed)",
	"  STATE        TCP state, or closed and when",
	"  Data: the pinned flow table and counters; hermesd's /stats and /flows when",
	"  it answers (else the header says \"hermesd: not reachable\"). See --help.",
};

static void draw_help(int w, int h)
{
	int n = (int)(sizeof(help_text) / sizeof(help_text[0]));

	for (int i = 0; i < n && i < h; i++)
		put_line(i, help_text[i], w, i == 0 ? A_BOLD : 0);
}

static const struct row *row_by_cookie(const struct snapshot *s, uint64_t cookie)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->rows[i].cookie == cookie)
			return &s->rows[i];
	return NULL;
}

/* The detail view of one flow, from line 4 down: every field of its row, the policy
 * rule that matches its original destination now, and when it started and closed. */
static void draw_detail(const struct ui *u, const struct snapshot *s, int w, int h)
{
	const struct row *r = row_by_cookie(s, u->detail_cookie);
	char l[32][LINE_MAX_LEN], a[16], b[16], c[16], d[16], t[48];
	int n = 0;

	if (!r) {
		put_line(5, "  this flow is no longer in the table (the LRU or the closed-flow reader aged it out)", w, 0);
		put_line(h - 1, "Esc/Enter back to the table  q quit", w, A_REVERSE);
		return;
	}
	snprintf(l[n++], LINE_MAX_LEN, "flow %llu (socket cookie)%s", (unsigned long long)r->cookie,
		 r->incoming ? ", accepted (incoming)" : ", outgoing");
	snprintf(l[n++], LINE_MAX_LEN, "  process      pid %u, comm %s, uid %u, cgroup id %llu", r->pid, r->comm, r->uid,
		 (unsigned long long)r->cgroup_id);
	snprintf(l[n++], LINE_MAX_LEN, "  source       %s", r->src);
	snprintf(l[n++], LINE_MAX_LEN, "  orig dst     %s", r->dst);
	snprintf(l[n++], LINE_MAX_LEN, "  socket       local %s, remote %s", r->local, r->remote);
	snprintf(l[n++], LINE_MAX_LEN, "  action       %s", action_name(r->action));
	if (u->rule.found)
		snprintf(l[n++], LINE_MAX_LEN, "  policy rule  %s -> %s (%s)%s", u->rule.match, action_name(u->rule.action),
			 pol_origin_name(u->rule.origin),
			 u->rule.action == r->action ? "" : r->action == HERMES_ACT_PASS && u->rule.action == HERMES_ACT_PROXY
			 ? "  (the flow failed open: hermesd was not listening)" : "  (the policy changed since the connect)");
	else if (u->rule.read)
		snprintf(l[n++], LINE_MAX_LEN, "  policy rule  none matches %s: it passes", r->dst);
	else
		snprintf(l[n++], LINE_MAX_LEN, "  policy rule  unknown: %s", u->rule.error);
	fmt_engine_hop(r, t, sizeof(t));
	snprintf(l[n++], LINE_MAX_LEN, "  engine/hop   %s%s%s", t, r->relay_state[0] ? ", hermesd state " : "",
		 r->relay_state);
	fmt_human((double)r->bytes_in, a, sizeof(a));
	fmt_human((double)r->bytes_out, b, sizeof(b));
	fmt_human(r->rate_in, c, sizeof(c));
	fmt_human(r->rate_out, d, sizeof(d));
	snprintf(l[n++], LINE_MAX_LEN, "  bytes        in %s (%llu) out %s (%llu); rate in %s/s out %s/s", a,
		 (unsigned long long)r->bytes_in, b, (unsigned long long)r->bytes_out, c, d);
	fmt_rtt(r->rtt_us, a, sizeof(a));
	snprintf(l[n++], LINE_MAX_LEN, "  rtt          %s%s, %u retransmitted segments", a,
		 !r->rtt_us ? "" : r->rtt_upstream ? " (upstream hop)" : " (this socket)", r->retrans);
	fmt_rfc3339(r->start_wall, t, sizeof(t));
	fmt_age(r->age_ns, a, sizeof(a));
	snprintf(l[n++], LINE_MAX_LEN, "  started      %s", t);
	if (r->closed) {
		fmt_rfc3339(r->end_wall, t, sizeof(t));
		snprintf(l[n++], LINE_MAX_LEN, "  closed       %s, after %s", t, a);
	} else {
		snprintf(l[n++], LINE_MAX_LEN, "  state        %s, open for %s", tcp_state_name(r->tcp_state), a);
	}
	for (int i = 0; i < n && 5 + i < h - 1; i++)
		put_line(5 + i, l[i], w, i ? 0 : A_BOLD);
	put_line(h - 1, "Esc/Enter back to the table  p pause  q quit", w, A_REVERSE);
}

static void ui_draw(struct ui *u, const struct snapshot *s, const struct view *v)
{
	char sum[SUM_LINES][LINE_MAX_LEN], line[NCOL * (CELL_MAX + 1) + 1], st[LINE_MAX_LEN], scroll[48] = "";
	int w, h, width[NCOL], y;
	bool show[NCOL];

	getmaxyx(stdscr, h, w);
	erase();
	if (w < MIN_COLS || h < MIN_LINES) {
		draw_too_small(w, h);
		refresh();
		return;
	}
	if (u->help) {
		draw_help(w, h);
		refresh();
		return;
	}
	summary_lines(s, v, sum);
	put_line(0, sum[0], w, A_BOLD);
	put_line(1, sum[1], w, 0);
	put_line(2, sum[2], w, 0);
	if (u->hcol)
		snprintf(scroll, sizeof(scroll), " columns from %s |", cols[u->hcol + 1].title);
	snprintf(st, sizeof(st), "sort %s %s | filter %s%s%s |%s closed flows: %s%s", sort_names[u->vo.sort],
		 (u->vo.reverse ? "(reversed)" : "(default order)"), u->filter[0] ? "\"" : "", u->filter[0] ? u->filter : "none",
		 u->filter[0] ? "\"" : "", scroll, u->vo.all_closed ? "all" : "last 5 s", u->paused ? " | PAUSED" : "");
	put_line(3, st, w, u->paused ? A_BOLD : 0);
	if (u->detail) {
		draw_detail(u, s, w, h);
		refresh();
		return;
	}

	if (u->hcol)
		layout_scrolled(s, v, w, u->hcol, width, show);
	else
		layout(s, v, w, width, show);
	table_line(NULL, width, show, line, sizeof(line));
	attron(A_REVERSE);
	mvhline(4, 0, ' ', w);
	mvaddnstr(4, 0, line, w);
	attroff(A_REVERSE);

	u->page = h - 6;
	if (u->sel >= v->n)
		u->sel = v->n ? v->n - 1 : 0;
	if (u->sel < u->top)
		u->top = u->sel;
	if (u->sel >= u->top + (size_t)u->page)
		u->top = u->sel - (size_t)u->page + 1;
	if (u->top + (size_t)u->page > v->n)
		u->top = v->n > (size_t)u->page ? v->n - (size_t)u->page : 0;
	u->sel_cookie = v->n ? s->rows[v->idx[u->sel]].cookie : 0;
	y = 5;
	for (size_t i = u->top; i < v->n && y < h - 1; i++, y++) {
		const struct row *r = &s->rows[v->idx[i]];
		attr_t a = 0;

		if (r->closed)
			a |= A_DIM;
		if (u->colors && r->action == HERMES_ACT_DENY)
			a |= COLOR_PAIR(PAIR_DENY);
		else if (u->colors && r->action == HERMES_ACT_PROXY)
			a |= COLOR_PAIR(PAIR_PROXY);
		if (i == u->sel)
			a |= A_REVERSE;
		table_line(r, width, show, line, sizeof(line));
		if (i == u->sel)
			mvhline(y, 0, ' ', w);
		put_line(y, line, w, a);
	}
	if (!v->n)
		mvaddnstr(6, 2, u->filter[0] ? "no flow matches the filter" : "no flows in the table window", w - 2);

	if (u->editing) {
		snprintf(st, sizeof(st), "filter: %s", u->edit);
		put_line(h - 1, st, w, A_BOLD);
		curs_set(1);
		move(h - 1, (int)strlen(st) < w ? (int)strlen(st) : w - 1);
	} else if (u->msg[0]) {
		curs_set(0);
		put_line(h - 1, u->msg, w, A_BOLD);
	} else {
		curs_set(0);
		snprintf(st, sizeof(st), "rows %zu-%zu of %zu | q quit  Enter details  </> columns  / filter  s sort  ? help",
			 v->n ? u->top + 1 : 0, u->top + (size_t)(y - 5), v->n);
		put_line(h - 1, st, w, A_REVERSE);
	}
	refresh();
}

/* Returns true when the key asks to quit. *rebuild: the view must be rebuilt. */
static bool ui_key(struct ui *u, int ch, const struct view *v, bool *rebuild)
{
	size_t page = u->page > 0 ? (size_t)u->page : 1;

	if (u->editing) {
		size_t l = strlen(u->edit);

		switch (ch) {
		case 27: /* Esc */
			u->editing = false;
			break;
		case '\n':
		case '\r':
		case KEY_ENTER: {
			struct filter nf;

			u->editing = false;
			if (filter_parse(u->edit, &nf, u->msg, sizeof(u->msg)))
				break; /* the old filter stays; the message says why */
			snprintf(u->filter, sizeof(u->filter), "%s", u->edit);
			u->filt = nf;
			u->top = 0;
			*rebuild = true;
			break;
		}
		case KEY_BACKSPACE:
		case 127:
		case 8:
			if (l)
				u->edit[l - 1] = 0;
			break;
		case 21: /* Ctrl-U */
			u->edit[0] = 0;
			break;
		default:
			if (ch >= 32 && ch < 127 && l + 1 < sizeof(u->edit)) {
				u->edit[l] = (char)ch;
				u->edit[l + 1] = 0;
			}
			break;
		}
		return false;
	}
	if (u->help) {
		u->help = false;
		return ch == 'q';
	}
	u->msg[0] = 0;
	if (u->detail) {
		if (ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == KEY_BACKSPACE || ch == 127 ||
		    ch == KEY_LEFT)
			u->detail = false;
		else if (ch == 'p')
			u->paused = !u->paused;
		return ch == 'q';
	}
	switch (ch) {
	case 'q':
		return true;
	case 'p':
		u->paused = !u->paused;
		break;
	case 's':
		u->vo.sort = (enum sort_key)((u->vo.sort + 1) % SORT_MAX);
		*rebuild = true;
		break;
	case 'S':
		u->vo.reverse = !u->vo.reverse;
		*rebuild = true;
		break;
	case '/':
		u->editing = true;
		snprintf(u->edit, sizeof(u->edit), "%s", u->filter);
		break;
	case 'c':
		u->vo.all_closed = !u->vo.all_closed;
		*rebuild = true;
		break;
	case 'h':
	case '?':
		u->help = true;
		break;
	case KEY_UP:
		if (u->sel)
			u->sel--;
		break;
	case KEY_DOWN:
		if (u->sel + 1 < v->n)
			u->sel++;
		break;
	case KEY_PPAGE:
		u->sel = u->sel > page ? u->sel - page : 0;
		break;
	case KEY_NPAGE:
		u->sel = u->sel + page < v->n ? u->sel + page : v->n ? v->n - 1 : 0;
		break;
	case KEY_HOME:
		u->sel = 0;
		break;
	case KEY_END:
		u->sel = v->n ? v->n - 1 : 0;
		break;
	case KEY_RIGHT:
		if (u->hcol < NCOL - 2)
			u->hcol++;
		break;
	case KEY_LEFT:
		if (u->hcol)
			u->hcol--;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (v->n) {
			u->detail = true;
			u->detail_cookie = u->sel_cookie;
			*rebuild = true; /* run_live looks the rule up */
		}
		break;
	default:
		break;
	}
	return false;
}

/* A new view (new sample, sort, filter): the selection stays on its flow, and the
 * detail view's rule is looked up again (reading a map is data collection, not drawing). */
static int ui_rebuild(struct ui *u, struct sampler *smp, const struct snapshot *s, struct view *v)
{
	const struct row *r;

	if (view_build(s, &u->vo, v))
		return -ENOMEM;
	for (size_t i = 0; u->sel_cookie && i < v->n; i++) {
		if (s->rows[v->idx[i]].cookie == u->sel_cookie) {
			u->sel = i;
			break;
		}
	}
	if (u->detail && (r = row_by_cookie(s, u->detail_cookie)))
		rule_lookup(smp->policy_fd, &r->dst_addr, &u->rule);
	return 0;
}

static int run_live(struct sampler *smp)
{
	struct ui u = { .vo = { .sort = opt.sort, .all_closed = opt.all_closed } };
	struct snapshot snap = { 0 };
	struct view v = { 0 };
	uint64_t interval_ns = (uint64_t)(opt.interval * 1e9), next;
	long samples = 0;
	bool dirty = true, have = false;
	int rc = EXIT_OK;

	snprintf(u.filter, sizeof(u.filter), "%s", opt.filter);
	u.filt = opt_filter;
	u.vo.filter = &u.filt;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		errmsg("the live view needs a terminal: use -b for batch output");
		return EXIT_RUNTIME;
	}
	if (!initscr()) {
		errmsg("cannot initialise the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		return EXIT_RUNTIME;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	/* colours only on the terminal's own background; plain attributes otherwise */
	u.colors = has_colors() && start_color() == OK && use_default_colors() == OK &&
		   init_pair(PAIR_DENY, COLOR_RED, -1) == OK && init_pair(PAIR_PROXY, COLOR_CYAN, -1) == OK;

	next = mono_ns();
	while (!stop_flag) {
		uint64_t now = mono_ns();
		int ch, wait_ms;
		bool rebuild = false;

		if (!u.paused && now >= next) {
			if (opt.iterations && samples >= opt.iterations)
				break;
			if (snapshot_collect(smp, &snap) == -ENOMEM) {
				rc = EXIT_RUNTIME;
				break;
			}
			samples++;
			have = true;
			rebuild = true;
			next += interval_ns;
			if (next <= now)
				next = now + interval_ns;
		}
		if (rebuild && ui_rebuild(&u, smp, &snap, &v)) {
			rc = EXIT_RUNTIME;
			break;
		}
		if ((dirty || rebuild) && have) {
			ui_draw(&u, &snap, &v);
			dirty = false;
		}
		now = mono_ns();
		wait_ms = u.paused || next <= now ? 250 : (int)((next - now) / 1000000);
		if (wait_ms > 250)
			wait_ms = 250;
		timeout(wait_ms);
		ch = getch();
		if (ch == ERR)
			continue;
		dirty = true;
		if (ch == KEY_RESIZE)
			continue;
		if (ui_key(&u, ch, &v, &rebuild))
			break;
		if (rebuild && ui_rebuild(&u, smp, &snap, &v)) {
			rc = EXIT_RUNTIME;
			break;
		}
	}
	endwin();
	if (rc)
		errmsg("out of memory");
	free(v.idx);
	snapshot_free(&snap);
	return rc;
}

/* ---------------------------------------------------------------- main */

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int open_maps(struct sampler *s)
{
	char path[PATH_MAX];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd;

	if (pin_path(path, sizeof(path), opt.pin_root, HERMES_MAP_FLOWS)) {
		errmsg("--pin-root %s: path too long", opt.pin_root);
		return -1;
	}
	fd = pin_open(opt.pin_root, HERMES_MAP_FLOWS);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		errmsg("no Hermes flow table at %s (is hermesd running with --pin-root %s?)", path, opt.pin_root);
		return -1;
	}
	if (fd == -EACCES || fd == -EPERM) {
		errmsg("cannot open %s: %s (run hermes-top as root: opening pins needs CAP_BPF and CAP_SYS_ADMIN)", path,
		       strerror(-fd));
		return -1;
	}
	if (fd < 0) {
		errmsg("cannot open %s: %s", path, strerror(-fd));
		return -1;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != sizeof(__u64) ||
	    info.value_size != sizeof(struct hermes_flow)) {
		errmsg("%s is not a Hermes flow table of this version (key %u, value %u bytes; expected %zu and %zu): "
		       "is --pin-root right, and hermes-top as new as hermesd?",
		       path, info.key_size, info.value_size, sizeof(__u64), sizeof(struct hermes_flow));
		close(fd);
		return -1;
	}
	s->flows_fd = fd;
	/* the counters only feed the header: without them it says "?" */
	s->stats_fd = pin_open(opt.pin_root, HERMES_MAP_STATS);
	s->policy_fd = pin_open(opt.pin_root, HERMES_MAP_POLICY);
	return 0;
}

static int parse_interval(const char *s)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !(d >= 0.1) || d > 86400)
		return -1;
	opt.interval = d;
	return 0;
}

/* Appends a filter word to opt.filter; -1 when it is full. */
static int filter_append(const char *w)
{
	size_t l = strlen(opt.filter);

	if (l + 1 + strlen(w) >= sizeof(opt.filter))
		return -1;
	snprintf(opt.filter + l, sizeof(opt.filter) - l, "%s%s", l ? " " : "", w);
	return 0;
}

/* A filter word negated with '-' (-comm:curl) looks like an option to getopt: such
 * words (a known field before the ':') are taken out of argv into opt.filter first,
 * unless they are the argument of the option before them. Returns the new argc. */
static int take_negated_words(int argc, char **argv)
{
	static const char *const with_arg[] = { "-d", "-n", "-s", "--delay", "--iterations", "--sort", "--filter",
						"--pin-root", "--admin" };
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *colon = strchr(a, ':');
		bool word = false;

		if (a[0] == '-' && a[1] != '-' && colon)
			for (int k = 1; k < F_MAX && !word; k++)
				word = (size_t)(colon - a - 1) == strlen(ffield_names[k]) &&
				       !strncmp(a + 1, ffield_names[k], (size_t)(colon - a - 1));
		if (word && filter_append(a) == 0)
			continue;
		argv[out++] = argv[i];
		for (size_t k = 0; k < sizeof(with_arg) / sizeof(with_arg[0]); k++)
			if (!strcmp(a, with_arg[k]) && i + 1 < argc)
				argv[out++] = argv[++i];
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	enum { O_JSON = 256, O_PIN_ROOT, O_ADMIN, O_FILTER };
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, O_JSON },
		{ "sort", required_argument, NULL, 's' },
		{ "filter", required_argument, NULL, O_FILTER },
		{ "follow", no_argument, NULL, 'f' },
		{ "all", no_argument, NULL, 'a' },
		{ "pin-root", required_argument, NULL, O_PIN_ROOT },
		{ "admin", required_argument, NULL, O_ADMIN },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa;
	struct sampler smp = { .flows_fd = -1, .stats_fd = -1, .policy_fd = -1 };
	char *end;
	int c, rc;

	opterr = 0;
	char ferr[256];
	bool interval_set = false;

	argc = take_negated_words(argc, argv);
	while ((c = getopt_long(argc, argv, ":d:bn:s:fahV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			interval_set = true;
			if (parse_interval(optarg))
				return usage_error("bad interval '%s' for -d: expected seconds between 0.1 and 86400, e.g. 1 or 0.5",
						   optarg);
			break;
		case 'b':
			opt.batch = true;
			break;
		case 'n':
			errno = 0;
			opt.iterations = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || opt.iterations < 1)
				return usage_error("bad count '%s' for -n: expected a positive integer", optarg);
			break;
		case O_JSON:
			opt.json = true;
			opt.batch = true;
			break;
		case 's': {
			int k;

			for (k = 0; k < SORT_MAX && strcmp(optarg, sort_names[k]); k++)
				;
			if (k == SORT_MAX)
				return usage_error("unknown sort key '%s' (expected rate, bytes, age, pid, rtt or dst)", optarg);
			opt.sort = (enum sort_key)k;
			break;
		}
		case O_FILTER:
			if (filter_append(optarg))
				return usage_error("filter too long (at most %zu characters)", sizeof(opt.filter) - 1);
			break;
		case 'f':
			opt.follow = true;
			break;
		case 'a':
			opt.all_closed = true;
			break;
		case O_PIN_ROOT:
			opt.pin_root = optarg;
			break;
		case O_ADMIN:
			opt.admin.addr = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			version_print(stdout, cli_prog);
			return EXIT_OK;
		default:
			return getopt_error(c, argv);
		}
	}
	/* the words after the options are filter words too */
	for (int i = optind; i < argc; i++)
		if (filter_append(argv[i]))
			return usage_error("filter too long (at most %zu characters)", sizeof(opt.filter) - 1);
	if (filter_parse(opt.filter, &opt_filter, ferr, sizeof(ferr)))
		return usage_error("%s", ferr);
	if (opt.follow && !interval_set)
		opt.interval = FOLLOW_DEFAULT_INTERVAL;
	if (cli_check_options(opt.pin_root, &opt.admin))
		return EXIT_USAGE;
	{
		struct hermes_addr a;

		addr_to_hermes((struct sockaddr *)&opt.admin.sa.ss, &a);
		haddr_norm(&opt.admin_haddr, &a);
	}

	if (open_maps(&smp))
		return EXIT_RUNTIME;

	/* Installed before initscr(): curses then leaves SIGINT to us, and Ctrl-C ends
	 * the loop normally so endwin() restores the terminal. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	rc = opt.follow ? run_follow(&smp) : opt.batch ? run_batch(&smp) : run_live(&smp);
	close(smp.flows_fd);
	if (smp.stats_fd >= 0)
		close(smp.stats_fd);
	if (smp.policy_fd >= 0)
		close(smp.policy_fd);
	free(smp.prev);
	return rc;
}
