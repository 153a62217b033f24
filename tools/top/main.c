/* hermes-top: a live, top-like view of the TCP flows Hermes sees. It reads the kernel
 * flow table hermesd pins (hermes_flows), the BPF decision counters (hermes_stats)
 * and, when hermesd answers, its admin endpoint (/stats, /flows); it joins them into
 * one row per application flow and shows them with ncurses, or prints them as text or
 * one JSON document per line in batch mode, for scripts. See `hermes-top --help`.
 *
 * This file: the options, --help and main. The modules, each with its header:
 * sample (the maps and hermesd's answers joined into a snapshot; hd: the admin
 * endpoint's answers), filter and view (which rows, in what order), table (the row and
 * header text both table front ends share), out (batch and follow output), live (the
 * curses front end), util (clocks, addresses, short text forms). Data collection never
 * draws and drawing never reads a map. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "filter.h"
#include "hermes/pin.h"
#include "live.h"
#include "out.h"
#include "sample.h"
#include "top-t.h"
#include "version.h"
#include "view.h"

#define ADMIN_MAX_ANSWER (64u << 20)

const char cli_prog[] = "hermes-top";
static volatile sig_atomic_t stop_flag;

static struct {
	const char *pin_root;
	struct admin_client admin;      /* two GETs per sample: failures name theirs */
	bool batch, follow;
	struct top_opts run;            /* what the front ends are given */
} opt = {
	.pin_root = HERMES_PIN_ROOT_DEFAULT,
	.admin = { .addr = ADMIN_DEFAULT, .max_answer = ADMIN_MAX_ANSWER, .stop = &stop_flag, .name_path = true },
	.run = { .interval = 1.0, .sort = SORT_RATE, .stop = &stop_flag },
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
"      connect() and at TCP state changes, and the sk_msg program as it moves\n"
"      bytes (who dialled what, the decision, bytes, RTT, retransmits, TCP\n"
"      state); before every sample hermes-top reads DIR/hermes_flows_refresh, a\n"
"      BPF iterator that copies the live TCP counters of the open flows of its\n"
"      network namespace into their entries (nothing does it per packet);\n"
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
"        engine:NAME      uring, splice, http, udp, direct or none\n"
"        state:S          open, closed, or a TCP state (estab, syn-sent, ...)\n"
"        proto:P          tcp or udp\n"
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
"    close (for a UDP flow: the first sample without it, as hermesd forgets\n"
"    it after its idle timeout). A flow that opened and closed between two\n"
"    samples gets both lines (a UDP flow shorter than one interval: none).\n"
"    Flows already in the table when hermes-top starts are not printed. With\n"
"    --json each event is one JSON object per line: time, event\n"
"    (open|close|deny), cookie, pid, uid, comm, direction, src, orig_dst,\n"
"    local, remote, action, engine, hop, bytes_in, bytes_out, protocol (tcp or\n"
"    udp), idle_s (UDP relay flows), duration_s (null for open), started_at,\n"
"    closed_at.\n"
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
"                \"closed HH:MM:SS\" with the local time at which the flow closed;\n"
"                for a UDP relay flow \"idle T\": since its last datagram either way\n"
"    PROTO       tcp, or udp: a flow of hermesd's UDP relay (action proxy or\n"
"                tunnel, engine udp: an application socket and one original\n"
"                destination, from hermesd's /flows) or a CONNECT-UDP stream\n"
"                hermesd's tunnel listener serves (action tunnel, direction\n"
"                in). UDP flows have no RTT or RETRANS and leave the table when\n"
"                hermesd forgets them\n"
"                (idle timeout); follow mode prints their close at the first\n"
"                sample that no longer has them\n"
"\n"
"    At 80 columns the table keeps PID/COMM, ORIG DST, ACTION, ENGINE/HOP, RATE\n"
"    and BYTES; it drops PROTO, RETRANS, RTT, AGE, SRC and STATE first as the\n"
"    terminal narrows. Right and Left scroll the columns after PID/COMM to show them all.\n"
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
		HERMES_PIN_ROOT_DEFAULT, ADMIN_DEFAULT, LIVE_MIN_COLS, LIVE_MIN_LINES);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int parse_interval(const char *s)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !(d >= 0.1) || d > 86400)
		return -1;
	opt.run.interval = d;
	return 0;
}

/* Appends a filter word to opt.run.filter; -1 when it is full. */
static int filter_append(const char *w)
{
	size_t l = strlen(opt.run.filter);

	if (l + 1 + strlen(w) >= sizeof(opt.run.filter))
		return -1;
	snprintf(opt.run.filter + l, sizeof(opt.run.filter) - l, "%s%s", l ? " " : "", w);
	return 0;
}

/* A filter word negated with '-' (-comm:curl) looks like an option to getopt: such
 * words (a known field before the ':') are taken out of argv into opt.run.filter first,
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
			word = filter_field(a + 1, (size_t)(colon - a - 1)) != F_TEXT;
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
			opt.run.iterations = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || opt.run.iterations < 1)
				return usage_error("bad count '%s' for -n: expected a positive integer", optarg);
			break;
		case O_JSON:
			opt.run.json = true;
			opt.batch = true;
			break;
		case 's': {
			int k;

			for (k = 0; k < SORT_MAX && strcmp(optarg, view_sort_names[k]); k++)
				;
			if (k == SORT_MAX)
				return usage_error("unknown sort key '%s' (expected rate, bytes, age, pid, rtt or dst)", optarg);
			opt.run.sort = (enum sort_key)k;
			break;
		}
		case O_FILTER:
			if (filter_append(optarg))
				return usage_error("filter too long (at most %zu characters)", sizeof(opt.run.filter) - 1);
			break;
		case 'f':
			opt.follow = true;
			break;
		case 'a':
			opt.run.all_closed = true;
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
			return usage_error("filter too long (at most %zu characters)", sizeof(opt.run.filter) - 1);
	if (filter_parse(opt.run.filter, &opt.run.filt, ferr, sizeof(ferr)))
		return usage_error("%s", ferr);
	if (opt.follow && !interval_set)
		opt.run.interval = OUT_FOLLOW_INTERVAL;
	if (cli_check_options(opt.pin_root, &opt.admin))
		return EXIT_USAGE;

	if (sample_open(&smp, opt.pin_root, &opt.admin))
		return EXIT_RUNTIME;

	/* Installed before initscr(): curses then leaves SIGINT to us, and Ctrl-C ends
	 * the loop normally so endwin() restores the terminal. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	rc = opt.follow ? out_follow(&smp, &opt.run) : opt.batch ? out_batch(&smp, &opt.run) : live_run(&smp, &opt.run);
	sample_close(&smp);
	return rc;
}
