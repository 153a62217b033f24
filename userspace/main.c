/* main.c: hermesd's entry point: command line and config, then load and attach the
 * steering programs, bind the listeners, drop privileges and run the event loop. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "addr.h"
#include "caps.h"
#include "config.h"
#include "heap.h"
#include "hermes/pin.h"
#include "ingress.h"
#include "loader.h"
#include "log.h"
#include "etcd.h"
#include "etcd_src.h"
#include "etcd_status.h"
#include "loop.h"
#include "reload.h"
#include "notify.h"
#include "pinfs.h"
#include "policy.h"
#include "tls.h"
#include "version.h"
#include "validate.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
"Usage: hermesd [OPTIONS]\n"
"\n"
"Hermes daemon: takes over the TCP connections of the processes in a cgroup v2 with\n"
"eBPF (no application change) and applies the policy pinned under the pin root\n"
"(hermesctl policy, or bpftool: the action byte is the code in brackets):\n"
"  pass   [0] the connection goes where the application asked, untouched\n"
"  deny   [1] connect() fails with EPERM, in the kernel\n"
"  proxy  [2] the connection is redirected to hermesd, which dials the original\n"
"         destination itself (timeouts, retries with backoff, alternate endpoints)\n"
"         and relays bytes both ways with io_uring\n"
"  tunnel [3] the same, and hermesd carries the flow to the next hop of its route in an\n"
"         HTTP CONNECT tunnel: HTTP/2 streams on a pooled TLS 1.3 connection with\n"
"         client certificates (h2, the default), h2c, h2-post or HTTP/1.1 CONNECT\n"
"         (clear or TLS), with the app's identity in Hermes-* headers\n"
"  http   [4] the same, and hermesd reads the flow's HTTP requests: routing on host,\n"
"         path and headers, pooled upstreams, Envoy-style retries, HTTP/1.1 <-> h2c\n"
"         or h2 over TLS\n"
"Policy outlives the daemon: when hermesd stops (SIGTERM, SIGINT) or crashes, its\n"
"programs stay attached through links pinned under the pin root, so deny rules stay\n"
"enforced and proxied destinations fail open (connect directly); the next start\n"
"swaps its programs into those links with no gap. `hermesctl disable` removes\n"
"everything.\n"
"\n"
"Options:\n"
"  -c, --config FILE|none  YAML configuration (annotated example: etc/hermes.yaml).\n"
"                          Default: %s when that file exists. With\n"
"                          none, or no such file, the embedded default runs: steer\n"
"                          the cgroup v2 root, policy 'pass' for everything until\n"
"                          rules say otherwise\n"
"      --cgroup PATH       cgroup v2 directory whose processes (and descendants) are\n"
"                          steered. Default: the root of the cgroup v2 mount found in\n"
"                          /proc/self/mounts, that is the WHOLE HOST\n"
"      --pin-root DIR      where maps and links are pinned (default /sys/fs/bpf/hermes);\n"
"                          reused on restart, so policy survives restarts. One\n"
"                          hermesd per pin root: it holds an flock on\n"
"                          " HERMES_LOCK_DIR "/<DIR escaped>.lock (holding its pid) for its\n"
"                          life, and a second start on DIR exits 2 at once touching\n"
"                          nothing\n"
"      --detach-on-exit    a stop detaches the steering programs (for labs; config\n"
"                          detach_on_exit: true): deny rules stop applying until the\n"
"                          next start\n"
"      --listen ADDR       outbound transparent listener (default 127.0.0.1:15001);\n"
"                          its port on UDP, every IPv4 address and [::], is the\n"
"                          UDP relay of udp proxy and tunnel rules (udp.relay:\n"
"                          false turns it off); IPv6 ones need the local route\n"
"                          fd48:72::PORT:0/112 (PORT in hex) on lo that hermesd\n"
"                          adds at start, removes at exit (udp.ipv6)\n"
"      --listen6 ADDR|off  IPv6 outbound listener (default [::1]:15001)\n"
"      --admin ADDR|off    admin HTTP endpoint: /ready, /metrics (Prometheus; /stats\n"
"                          too), /flows, /routes, /config (default 127.0.0.1:15000).\n"
"                          Keep it on loopback: /config and /flows show the setup\n"
"      --metrics ADDR|off  a second address that serves only /metrics and /ready,\n"
"                          e.g. 0.0.0.0:15020 for a scraper on the network (default\n"
"                          off; config listeners.metrics)\n"
"      --tunnel-listen ADDR|off\n"
"                          tunnel listener, e.g. 10.0.0.1:15008 (default off): HTTP/2\n"
"                          CONNECT over TLS (ALPN h2) or h2c, HTTP/1.1 CONNECT in clear\n"
"                          text or TLS, told apart by the first byte, and explicit\n"
"                          proxy requests (curl -x: absolute-form http://IP/ targets,\n"
"                          and https://IP/ ones over TLS to the target; over HTTP/2,\n"
"                          streams other than CONNECT with the target in :authority),\n"
"                          served by the http action; without tunnel_access rules it\n"
"                          serves any target it is asked for. With a tls section it\n"
"                          serves TLS only (clients show a certificate from tls.ca)\n"
"                          and refuses clear text (HTTP/1.1: 403, h2c: GOAWAY) unless\n"
"                          the config says tunnel.allow_cleartext: true\n"
"      --inbound-listen ADDR|off\n"
"                          protected ingress: the IPv4 inbound listener (default\n"
"                          0.0.0.0:15006 once the config has an 'inbound' section).\n"
"                          An sk_lookup program hands inbound connections to the\n"
"                          ports in inbound.protect to it; peers outside\n"
"                          inbound.allow_from are reset, the others are proxied to\n"
"                          the service; hermesd's own connections (its tunnel\n"
"                          targets) and connections to a loopback address reach the\n"
"                          service directly.\n"
"                          Refused in the host's init network namespace unless\n"
"                          inbound.allow_init_netns is true. off: no protection\n"
"      --log-level LEVEL   debug, info, warn or error (default info)\n"
"      --log-format FORMAT text, json, journal or auto (default auto: journal when\n"
"                          stderr is journald's stream, $JOURNAL_STREAM, else text).\n"
"                          text: 2026-12-06T19:20:01.123Z info hermesd: MESSAGE (UTC);\n"
"                          json: one object per line, keys time, level, msg;\n"
"                          journal: <6>MESSAGE, syslog priorities, no time\n"
"      --log-bpf LEVEL     the least severe of libbpf's own messages to log: debug,\n"
"                          info, warn (the default) or error; --log-level debug alone\n"
"                          does not bring libbpf's debug output\n"
"      --access-log DEST   off, stderr (the default) or an absolute file path (opened\n"
"                          for appending, reopened on SIGHUP): one line at info per\n"
"                          proxied or tunneled flow when it closes and per http\n"
"                          request: app pid, comm, uid, cgroup id, original\n"
"                          destination, action, upstream, bytes each way, duration\n"
"                          and result; in the log format (JSON objects with json)\n"
"      --etcd-node NAME    this node's name in etcd (etcd.node): its document is\n"
"                          PREFIX/nodes/NAME, so that one file serves every node;\n"
"                          needs etcd.endpoints and etcd.prefix in the file\n"
"      --user NAME         switch to this user once set up (keeps CAP_NET_ADMIN only)\n"
"      --relay ENGINE      uring, splice, kernel or auto: who moves a proxied flow's\n"
"                          bytes (default auto, which picks io_uring on measured\n"
"                          grounds: docs/architecture.md); kernel: for proxy flows\n"
"                          the kernel moves bytes between the app's socket and the\n"
"                          upstream socket directly (sk_msg and a stream verdict),\n"
"                          io_uring where it cannot (docs/architecture.md)\n"
"      --sk-msg on|off     sk_msg on the app <-> hermesd loopback hop (default off:\n"
"                          non-blocking bulk senders can get ENOMEM, see\n"
"                          docs/architecture.md)\n"
"      --flow-table on|off the kernel flow table read by hermes-top (default on)\n"
"      --tc-iface NAME     count packets and bytes on this interface with TC\n"
"                          (repeatable; names in hermesd's network namespace)\n"
"  -t, --check             check everything a start would without attaching anything:\n"
"                          the configuration, the cgroup (a cgroup v2 directory), the\n"
"                          pin root (on bpffs), the user, the TLS certificate, key and\n"
"                          CA (loaded and matched), the TC interfaces, the access log,\n"
"                          the listeners (no two on one port);\n"
"                          print a summary and exit 0, or every problem and exit 2\n"
"      --print             with --check: print the effective configuration (defaults\n"
"                          and command-line options applied) as YAML on stdout, a file\n"
"                          hermesd -c reads back to the same configuration\n"
"  -V, --version           print the version and the git commit built, and exit\n"
"  -h, --help              this text\n"
"\n"
"Command-line options override the configuration file.\n"
"\n"
"Signals: SIGTERM/SIGINT stop accepting, drain flows (proxy.drain_timeout_ms) and exit\n"
"0 (a second signal closes the remaining flows at once). The links and pins stay, as\n"
"after a crash: deny rules stay enforced, proxied destinations connect directly, and\n"
"the next start on the same pin root takes the links over with no gap; only the TC\n"
"counters (--tc-iface) are removed. With --detach-on-exit the steering programs are\n"
"detached instead. The protected-ingress link stays attached after any stop:\n"
"protected ports stay refused (fail-closed) until hermesd is back or `hermesctl\n"
"disable`. SIGHUP reloads the file without dropping flows: policy, endpoints,\n"
"routes, tunnel_access, http_routes, the proxy, tunnel, tls and http settings,\n"
"the log level and format and the access log take effect (the access log file is\n"
"opened again: log rotation). Keys read at start only (cgroup, pin_root, user,\n"
"mark, flow_table, tc_interfaces, listeners, relay, sk_msg, inbound,\n"
"http.max_head_bytes) keep their running values; the reload names at warn those\n"
"the file changed. A command-line option stays over the file at reloads too.\n"
"The file is read, parsed and its TLS files loaded in a thread while flows go on;\n"
"then the new configuration replaces the running one in one step. A SIGHUP during\n"
"a reload asks for one more after it. A file over 4 MiB, nested more than 64\n"
"levels, or with a list over its maximum (routes 256, policy 16384, endpoints 4096,\n"
"tunnel_access 1024, http_routes 256) is refused as it is read, naming the line.\n"
"\n"
"Configuration from etcd: with an `etcd` section in the file (endpoints, prefix,\n"
"node; cert, key and ca for TLS client certificates; state_file), the keys a SIGHUP\n"
"may change come from the node's document in etcd, the key PREFIX/nodes/NODE, which\n"
"holds the same YAML as the file; the file gives the keys read at start only and the\n"
"etcd section itself. The document may list shared documents, `shared: [NAME...]`,\n"
"each the key PREFIX/shared/NAME, merged after it in that order (lists joined, the\n"
"node's entries first; a single value or a mapping set twice, or a shared document\n"
"missing, is an error). hermesd reads them at start (from the state file when no\n"
"etcd endpoint answers), watches them through etcd's JSON gateway, and applies each\n"
"change like a SIGHUP: a merge that fails or does not load is refused (logged with\n"
"the keys, revisions and error) and the running configuration stays. The applied\n"
"one is written to state_file. A SIGHUP then rebuilds the document in use. hermesd\n"
"keeps PREFIX/status/NODE (JSON: address, version, applied revision, health, last\n"
"refusal, pid) under a lease of 10 s, so that it goes when hermesd does; see\n"
"`hermesctl overlay status`. /metrics: hermes_etcd_applied_revision,\n"
"hermes_etcd_staleness_seconds, hermes_etcd_watch_reconnects_total,\n"
"hermes_etcd_documents_refused_total, hermes_etcd_status_up,\n"
"hermes_etcd_status_writes_total, hermes_etcd_status_failures_total,\n"
"hermes_etcd_lease_grants_total.\n"
"\n"
"Health: once a second hermesd checks that its links are attached where they\n"
"should be. A link left defunct (its cgroup removed and made again, as systemd does\n"
"on a unit's restart, or detached by someone else) is attached again as soon as the\n"
"cgroup exists, logged at warn; until then GET /ready answers 503 with the reason\n"
"and `hermesctl status` exits 1. A link whose pin is gone (`hermesctl disable`) is\n"
"left alone. /stats: hermes_links_attached, hermes_links_expected,\n"
"hermes_link_reattach_total. Attaching again needs the privileges --user drops.\n"
"\n"
"No port (outbound, admin, tunnel, inbound, metrics) takes a connection before the\n"
"maps, pins and links are in place: once a port answers, hermesctl works.\n"
"Under systemd (Type=notify, NOTIFY_SOCKET set) hermesd reports READY=1 once ready,\n"
"RELOADING=1 then READY=1 around a SIGHUP reload, and STOPPING=1 when it drains.\n"
"\n"
"hermesd must run in a cgroup other than the root: it serves SO_ORIGINAL_DST to the\n"
"sockets of its own cgroup with a getsockopt program, and never attaches to the root.\n"
"\n"
"Exit status: 0 after a clean stop, 1 on a runtime failure (BPF load, bind),\n"
"2 on a bad command line or configuration, an unknown --user, or a pin root held by\n"
"another hermesd (nothing is attached, written or replaced then).\n"
"\n"
"Examples:\n"
"  hermesd --cgroup /sys/fs/cgroup/apps\n"
"  hermesctl policy add 10.0.0.0/8:80 proxy\n"
"  hermesd -c /etc/hermes/hermes.yaml --user nobody\n", hermes_config_default);
}

static int parse_addr_opt(const char *opt, const char *val, struct cfg_sockaddr *out, bool can_off)
{
	if (can_off && !strcmp(val, "off")) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (addr_parse(val, out)) {
		fprintf(stderr, "hermesd: %s '%s': expected IPv4:PORT or [IPv6]:PORT%s\n", opt, val,
			can_off ? " or off" : "");
		return -EINVAL;
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	enum { O_CGROUP = 256, O_PIN_ROOT, O_LISTEN, O_LISTEN6, O_ADMIN, O_LOG_LEVEL, O_USER, O_RELAY, O_SK_MSG, O_FLOW_TABLE, O_TC_IFACE, O_TUNNEL, O_INBOUND, O_DETACH,
	       O_METRICS, O_LOG_FORMAT, O_LOG_BPF, O_ACCESS_LOG, O_PRINT, O_ETCD_NODE };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "pin-root", required_argument, NULL, O_PIN_ROOT },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "listen6", required_argument, NULL, O_LISTEN6 },
		{ "admin", required_argument, NULL, O_ADMIN },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "log-level", required_argument, NULL, O_LOG_LEVEL },
		{ "user", required_argument, NULL, O_USER },
		{ "relay", required_argument, NULL, O_RELAY },
		{ "sk-msg", required_argument, NULL, O_SK_MSG },
		{ "flow-table", required_argument, NULL, O_FLOW_TABLE },
		{ "tc-iface", required_argument, NULL, O_TC_IFACE },
		{ "tunnel-listen", required_argument, NULL, O_TUNNEL },
		{ "inbound-listen", required_argument, NULL, O_INBOUND },
		{ "detach-on-exit", no_argument, NULL, O_DETACH },
		{ "log-format", required_argument, NULL, O_LOG_FORMAT },
		{ "log-bpf", required_argument, NULL, O_LOG_BPF },
		{ "access-log", required_argument, NULL, O_ACCESS_LOG },
		{ "print", no_argument, NULL, O_PRINT },
		{ "etcd-node", required_argument, NULL, O_ETCD_NODE },
		{ "check", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = NULL, *cgroup = NULL, *pin_root = NULL, *user = NULL, *level = NULL;
	const char *relay = NULL, *sk_msg = NULL, *flow_table = NULL, *tc_ifaces[CFG_MAX_TC_IFACES];
	const char *log_format = NULL, *log_bpf = NULL, *access_log = NULL, *etcd_node = NULL;
	bool print = false;
	int n_tc = 0;
	struct cfg_sockaddr listen = {}, listen6 = {}, admin = {}, tunnel = {}, inbound = {}, metrics = {};
	bool have_listen = false, have_listen6 = false, have_admin = false, have_tunnel = false, check = false;
	bool have_inbound = false, have_metrics = false;
	static struct hermes_config cfg;
	static struct ingress ing;
	static struct loader ld;
	static struct loop lp;
	char err[1024], lock_path[PATH_MAX];
	int opt, rc, bad, lock_fd = -1;
	bool detach = false;
	struct etcd_src *esrc = NULL; /* the etcd section's source of the reload keys */
	char *edoc = NULL;            /* ... its first document, kept for SIGHUPs */
	size_t edoc_len = 0;
	int64_t edoc_rev = 0;

	heap_init();
	/* before anything else can make OpenSSL allocate: its memory counts in the budget */
	if (tls_mem_count_init())
		log_warn("OpenSSL allocated before hermesd could count its memory: hermes_overload_tls_bytes "
			 "stays 0 and the memory budget does not see it");
	while ((opt = getopt_long(argc, argv, "c:thV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case O_CGROUP: cgroup = optarg; break;
		case O_PIN_ROOT: pin_root = optarg; break;
		case O_LISTEN:
			if (parse_addr_opt("--listen", optarg, &listen, false))
				return EXIT_USAGE;
			have_listen = true;
			break;
		case O_LISTEN6:
			if (parse_addr_opt("--listen6", optarg, &listen6, true))
				return EXIT_USAGE;
			have_listen6 = true;
			break;
		case O_ADMIN:
			if (parse_addr_opt("--admin", optarg, &admin, true))
				return EXIT_USAGE;
			have_admin = true;
			break;
		case O_METRICS:
			if (parse_addr_opt("--metrics", optarg, &metrics, true))
				return EXIT_USAGE;
			have_metrics = true;
			break;
		case O_TUNNEL:
			if (parse_addr_opt("--tunnel-listen", optarg, &tunnel, true))
				return EXIT_USAGE;
			have_tunnel = true;
			break;
		case O_INBOUND:
			if (parse_addr_opt("--inbound-listen", optarg, &inbound, true))
				return EXIT_USAGE;
			if (inbound.len && inbound.ss.ss_family != AF_INET) {
				fprintf(stderr, "hermesd: --inbound-listen must be an IPv4:PORT address (IPv6: inbound.listen6)\n");
				return EXIT_USAGE;
			}
			have_inbound = true;
			break;
		case O_LOG_LEVEL: level = optarg; break;
		case O_USER: user = optarg; break;
		case O_RELAY: relay = optarg; break;
		case O_SK_MSG: sk_msg = optarg; break;
		case O_FLOW_TABLE: flow_table = optarg; break;
		case O_TC_IFACE:
			if (n_tc == CFG_MAX_TC_IFACES) {
				fprintf(stderr, "hermesd: at most %d --tc-iface\n", CFG_MAX_TC_IFACES);
				return EXIT_USAGE;
			}
			tc_ifaces[n_tc++] = optarg;
			break;
		case O_DETACH: detach = true; break;
		case O_LOG_FORMAT: log_format = optarg; break;
		case O_LOG_BPF: log_bpf = optarg; break;
		case O_ACCESS_LOG: access_log = optarg; break;
		case O_PRINT: print = true; break;
		case O_ETCD_NODE: etcd_node = optarg; break;
		case 't': check = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': version_print(stdout, "hermesd"); return 0;
		default:
			fprintf(stderr, "Try 'hermesd --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hermesd: unexpected argument '%s'. Try 'hermesd --help'.\n", argv[optind]);
		return EXIT_USAGE;
	}

	/* "none" is how a caller (the tests, a lab) keeps a host's config out */
	if (config_path && !strcmp(config_path, "none"))
		config_path = NULL;
	else if (!config_path && !access(hermes_config_default, F_OK))
		config_path = hermes_config_default;
	config_defaults(&cfg);
	if (config_path && config_load(config_path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "hermesd: %s\n", err);
		return EXIT_USAGE;
	}
	if (print && !check) {
		fprintf(stderr, "hermesd: --print goes with --check. Try 'hermesd --help'.\n");
		return EXIT_USAGE;
	}
	/* problems are reported against the option, not the file's line */
	if (cgroup) {
		snprintf(cfg.cgroup, sizeof(cfg.cgroup), "%s", cgroup);
		config_key_overridden(&cfg, "cgroup");
	}
	if (pin_root) {
		snprintf(cfg.pin_root, sizeof(cfg.pin_root), "%s", pin_root);
		config_key_overridden(&cfg, "pin_root");
	}
	if (user) {
		snprintf(cfg.user, sizeof(cfg.user), "%s", user);
		config_key_overridden(&cfg, "user");
	}
	if (access_log) {
		if (strcmp(access_log, "off") && strcmp(access_log, "stderr") &&
		    (access_log[0] != '/' || strlen(access_log) >= sizeof(cfg.access_log))) {
			fprintf(stderr, "hermesd: --access-log '%s': expected off, stderr or an absolute file path\n",
				access_log);
			return EXIT_USAGE;
		}
		snprintf(cfg.access_log, sizeof(cfg.access_log), "%s", access_log);
		config_key_overridden(&cfg, "access_log");
	}
	if (etcd_node) {
		if (!etcd_node[0] || strchr(etcd_node, '/') || strlen(etcd_node) >= sizeof(cfg.etcd.node)) {
			fprintf(stderr, "hermesd: --etcd-node '%s': expected a name of 1 to %zu characters without '/'\n",
				etcd_node, sizeof(cfg.etcd.node) - 1);
			return EXIT_USAGE;
		}
		if (!cfg.etcd.n_endpoints || !cfg.etcd.prefix[0]) {
			fprintf(stderr, "hermesd: --etcd-node needs an etcd section with endpoints and a prefix in the "
					"config file\n");
			return EXIT_USAGE;
		}
		snprintf(cfg.etcd.node, sizeof(cfg.etcd.node), "%s", etcd_node);
		config_key_overridden(&cfg, "etcd.node");
	}
	if (log_format && log_parse_format(log_format, &cfg.log_format)) {
		fprintf(stderr, "hermesd: --log-format '%s': expected text, json, journal or auto\n", log_format);
		return EXIT_USAGE;
	}
	if (log_format)
		config_key_overridden(&cfg, "log_format");
	if (log_bpf && log_parse_level(log_bpf, &cfg.log_bpf)) {
		fprintf(stderr, "hermesd: --log-bpf '%s': expected debug, info, warn or error\n", log_bpf);
		return EXIT_USAGE;
	}
	if (log_bpf)
		config_key_overridden(&cfg, "log_bpf");
	if (detach) {
		cfg.detach_on_exit = true;
		config_key_overridden(&cfg, "detach_on_exit");
	}
	if (have_listen) {
		cfg.listen = listen;
		config_key_overridden(&cfg, "listeners.outbound");
	}
	if (have_listen6) {
		cfg.listen6 = listen6;
		config_key_overridden(&cfg, "listeners.outbound6");
	}
	if (have_admin) {
		cfg.admin = admin;
		config_key_overridden(&cfg, "listeners.admin");
	}
	if (have_tunnel) {
		cfg.tunnel = tunnel;
		config_key_overridden(&cfg, "listeners.tunnel");
	}
	if (have_metrics) {
		cfg.metrics = metrics;
		config_key_overridden(&cfg, "listeners.metrics");
	}
	if (have_inbound)
		config_key_overridden(&cfg, "inbound");
	if (have_inbound && !inbound.len) {
		cfg.inbound.on = false;
	} else if (have_inbound) {
		config_inbound_on(&cfg);
		cfg.inbound.listen = inbound;
		config_key_overridden(&cfg, "inbound.listen");
	}
	if (level && log_parse_level(level, &cfg.log_level)) {
		fprintf(stderr, "hermesd: --log-level '%s': expected debug, info, warn or error\n", level);
		return EXIT_USAGE;
	}
	if (level)
		config_key_overridden(&cfg, "log_level");
	if (relay && config_parse_relay(relay, &cfg.relay)) {
		fprintf(stderr, "hermesd: --relay '%s': expected uring, splice, kernel or auto\n", relay);
		return EXIT_USAGE;
	}
	if (relay)
		config_key_overridden(&cfg, "proxy.relay");
	if (sk_msg && config_parse_bool(sk_msg, &cfg.sk_msg)) {
		fprintf(stderr, "hermesd: --sk-msg '%s': expected on or off\n", sk_msg);
		return EXIT_USAGE;
	}
	if (sk_msg)
		config_key_overridden(&cfg, "proxy.sk_msg");
	if (n_tc)
		config_key_overridden(&cfg, "tc_interfaces");
	for (int i = 0; i < n_tc; i++) {
		if (config_add_tc_iface(&cfg, tc_ifaces[i])) {
			fprintf(stderr, "hermesd: --tc-iface '%s': not a usable interface name (or more than %d)\n",
				tc_ifaces[i], CFG_MAX_TC_IFACES);
			return EXIT_USAGE;
		}
	}
	if (flow_table && config_parse_bool(flow_table, &cfg.flow_table)) {
		fprintf(stderr, "hermesd: --flow-table '%s': expected on or off\n", flow_table);
		return EXIT_USAGE;
	}
	if (flow_table)
		config_key_overridden(&cfg, "flow_table");
	if (cfg.relay == RELAY_SPLICE && cfg.sk_msg) {
		/* sk_msg hands the app's bytes to hermesd's socket as messages, which the
		 * splice verdict (it sees skbs from TCP) never gets */
		if (sk_msg) {
			fprintf(stderr, "hermesd: --relay splice and --sk-msg on cannot be combined: the app's bytes "
					"would arrive as sk_msg messages, which the splice verdict never sees\n");
			return EXIT_USAGE;
		}
		cfg.sk_msg = false;
		config_key_overridden(&cfg, "proxy.sk_msg"); /* a reload keeps it off too */
		fprintf(stderr, "hermesd: relay splice: sk_msg turned off for the app <-> hermesd hop\n");
	}
	log_set_level(cfg.log_level);
	log_set_format(cfg.log_format);
	if (cfg.listen.ss.ss_family != AF_INET) {
		fprintf(stderr, "hermesd: the outbound listener must be an IPv4 address (IPv6 goes in --listen6)\n");
		return EXIT_USAGE;
	}
	if (cfg.listen6.len && cfg.listen6.ss.ss_family != AF_INET6) {
		fprintf(stderr, "hermesd: --listen6 must be an [IPv6]:PORT address\n");
		return EXIT_USAGE;
	}
	/* with an etcd section, the keys a SIGHUP may change come from the node's document
	 * in etcd (or the state file when etcd cannot be reached), as a reload would take
	 * them: the file's restart keys and the command line stay */
	if (cfg.etcd.n_endpoints && !cfg.etcd.node[0]) {
		fprintf(stderr, "hermesd: %s: the etcd section has no node: give etcd.node or --etcd-node NAME (the "
				"node's document is %s/nodes/NAME)\n", cfg.source, cfg.etcd.prefix);
		return EXIT_USAGE;
	}
	if (cfg.etcd.n_endpoints && !check) {
		char where[96], adm[96];

		/* the status key says how to reach the node: its tunnel listener (the overlay's
		 * hop), else its admin address */
		etcd_status_addr(cfg.tunnel.len ? &cfg.tunnel : &cfg.admin, where, sizeof(where));
		etcd_status_addr(&cfg.admin, adm, sizeof(adm));
		if (etcd_global_init() || etcd_src_new(&cfg.etcd, where, adm, &esrc) ||
		    etcd_src_first_config(esrc, &cfg, &edoc, &edoc_len, &edoc_rev)) {
			fprintf(stderr, "hermesd: cannot set up the etcd client (out of memory or descriptors)\n");
			return 1;
		}
	}
	/* Everything that can fail runs before anything is bound, attached or written: a
	 * start that is refused leaves a running hermesd's links and maps alone. */
	if (!check) {
		int holder;

		lock_fd = pin_lock(cfg.pin_root, lock_path, sizeof(lock_path), &holder);
		if (lock_fd == -EBUSY) {
			fprintf(stderr, "hermesd: pin root %s is held by pid %d (lock %s): one hermesd per pin root; "
					"stop that one first (its links stay), or give this one its own --pin-root\n",
				cfg.pin_root, holder, lock_path);
			config_free(&cfg);
			return EXIT_USAGE;
		}
		if (lock_fd < 0) {
			fprintf(stderr, "hermesd: cannot lock pin root %s with %s: %s (hermesd needs root, and %s "
					"writable)\n", cfg.pin_root, lock_path, strerror(-lock_fd), HERMES_LOCK_DIR);
			config_free(&cfg);
			return 1;
		}
	}
	/* everything that can be wrong is found before anything is attached */
	bad = validate_config(&cfg);
	if (ingress_check(&cfg))
		bad++;
	if (bad) {
		pin_unlock(lock_path, lock_fd);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	if (check) {
		if (print)
			config_print(&cfg, stdout);
		fprintf(print ? stderr : stdout, "%s: ok (cgroup %s, pin root %s, %d policy rules, %d endpoint sets)\n",
			cfg.source, cfg.cgroup, cfg.pin_root, cfg.n_rules, cfg.n_endpoints);
		config_free(&cfg);
		return 0;
	}
	if (log_access_open(cfg.access_log, err, sizeof(err))) {
		fprintf(stderr, "hermesd: %s\n", err);
		pin_unlock(lock_path, lock_fd);
		config_free(&cfg);
		return EXIT_USAGE;
	}

	raise_nofile();
	/* the loop's runtime snapshot takes the config over (a SIGHUP replaces it whole): from
	 * here on it is lp.cfg */
	if (loop_init(&lp, &cfg, &ld, config_path)) {
		loop_fini(&lp);
		pin_unlock(lock_path, lock_fd);
		return 1;
	}
	if (loader_start(&ld, lp.cfg)) {
		loop_fini(&lp);
		pin_unlock(lock_path, lock_fd);
		return 1;
	}
	rc = pol_sync_config(ld.policy_fd, lp.cfg->rules, lp.cfg->n_rules);
	if (rc)
		log_error("cannot write config policy into %s/hermes_policy: %s", lp.cfg->pin_root, strerror(-rc));
	/* readiness is readiness: no port takes a connection (and READY=1 is not sent)
	 * before the maps, pins and links exist */
	if (rc || loop_listen(&lp, true) || ingress_start(&ing, &lp) || loop_listen(&lp, false) ||
	    caps_drop(lp.cfg->user)) {
		ingress_stop(&ing);
		loader_stop(&ld, lp.cfg->detach_on_exit);
		loop_fini(&lp);
		pin_unlock(lock_path, lock_fd);
		return 1;
	}
	if (esrc) {
		reload_follow_etcd(&lp, esrc, edoc, edoc_len, edoc_rev);
		if ((rc = etcd_src_start(esrc)))
			log_error("etcd: cannot start the thread that watches %s: %s: changes in etcd are not applied",
				  etcd_src_key(esrc), strerror(-rc));
	}
	log_info("ready (%s, %d policy rules from config)", lp.cfg->source, lp.cfg->n_rules);
	notify_ready(lp.cfg->cgroup, lp.cfg->n_rules);
	rc = loop_run(&lp);
	etcd_src_free(esrc); /* the thread stops within a second */
	ingress_stop(&ing);
	if (lp.cfg->detach_on_exit)
		log_info("detach_on_exit: detaching the steering programs (deny rules no longer apply)");
	else
		log_info("links and pins stay (deny rules still apply, proxied destinations connect directly) "
			 "until the next start or `hermesctl disable`");
	loader_stop(&ld, lp.cfg->detach_on_exit);
	loop_fini(&lp);
	pin_unlock(lock_path, lock_fd);
	log_info("stopped");
	return rc;
}
