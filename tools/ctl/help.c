/* help.c: hermesctl's help text (see help.h): the command entries, the sections they
 * refer to (matches, actions, options, bpftool), and the whole page. */
#include <stdio.h>
#include <string.h>

#include "certs.h"
#include "cli.h"
#include "ctl_etcd.h"
#include "help.h"
#include "hermes/pin.h"

enum help_section { SEC_MATCHES = 1, SEC_ACTIONS = 2, SEC_BPFTOOL = 4 };

struct help_entry {
	const char *cmd;      /* command words */
	const char *synopsis; /* after "hermesctl [OPTIONS] " */
	const char *text;     /* printf format: CERTS_MAX_DAYS, CERTS_DEFAULT_DAYS */
	unsigned sections;
};

static const struct help_entry help_entries[] = {
	{ "status", "status [--json]",
"        For every pinned link: its name, program name and id, attach type\n"
"        (connect4, connect6, getpeername4, getpeername6, sock_ops, getsockopt)\n"
"        and the cgroup it is attached to (path and id), or DEFUNCT when the\n"
"        link is attached nowhere any more (its cgroup was removed, or someone\n"
"        detached it; a running hermesd attaches it again once the cgroup\n"
"        exists). Then the decision counters summed over CPUs (unknown_action:\n"
"        connects denied because their rule held an action value hermes does\n"
"        not know), and whether hermesd answers GET /ready on its admin\n"
"        address within 1 s (with its reason when it is not ready), and the\n"
"        stage of its memory budget (overload.max_buffer_mb: 0 none, 1 the\n"
"        heaviest connections are not read, 2 new streams and http requests\n"
"        refused, 3 new connections refused) with the buffer bytes it holds;\n"
"        with configuration from etcd (hermesd's etcd section), the revision of\n"
"        the node's document in use, how long ago etcd was last heard from, the\n"
"        watch's reconnects, the documents refused and whether the node's\n"
"        status key is written (--json: \"etcd\").\n"
"        Exits 1 unless all is well (every link attached, hermesd ready;\n"
"        shedding load and a stale etcd are not unreadiness), so it serves as a\n"
"        health check.\n", 0 },
	{ "policy list", "policy list [--json]",
"        Every rule, sorted by family, address, prefix and port, with its action,\n"
"        origin and protocol (tcp or udp; a rule added with --protocol both is\n"
"        listed twice, once per protocol): \"config\" rules come from hermesd's\n"
"        config file and are replaced on reload; \"manual\" rules come from\n"
"        hermesctl or bpftool and are left alone by reloads (a manual rule also\n"
"        wins over a config rule with the same match and protocol). An action\n"
"        value hermes does not know (written with bpftool) shows as unknown(N):\n"
"        the BPF programs deny its connects. --json prints an array of\n"
"        {\"match\": ..., \"protocol\": ..., \"action\": ..., \"origin\": ...} objects.\n", SEC_BPFTOOL },
	{ "policy add", "policy add CIDR[:PORT] ACTION [--protocol tcp|udp|both] [--json]",
"        Adds or replaces the rule for CIDR[:PORT] (origin manual). Both words\n"
"        are checked before the map is touched. --protocol says what the rule\n"
"        steers: tcp (the default: a rule never catches UDP unless it says so),\n"
"        udp, or both (two map entries). UDP rules take pass, deny (sendto()\n"
"        and connect() fail with EPERM), proxy (hermesd relays the datagrams)\n"
"        and tunnel (hermesd carries them in a CONNECT-UDP stream to the\n"
"        route's next hop); http is refused for UDP. For a tunnel rule,\n"
"        hermesctl then asks hermesd (GET /routes) whether a tunnel route\n"
"        covers the whole match, and warns on stderr when none does (those\n"
"        connections would be reset) or when hermesd does not answer (it could\n"
"        not be checked); the rule is added either way. --json prints\n"
"        {\"match\", \"protocol\", \"action\", \"origin\", \"route_check\"}.\n",
	  SEC_MATCHES | SEC_ACTIONS | SEC_BPFTOOL },
	{ "policy del", "policy del CIDR[:PORT] [--protocol tcp|udp|both] [--json]",
"        Deletes the rule with exactly this match (same prefix, same port) and\n"
"        protocol (tcp unless --protocol says otherwise; both: either entry).\n"
"        --json prints {\"deleted\": MATCH}.\n", SEC_MATCHES | SEC_BPFTOOL },
	{ "routes", "routes [--json]",
"        The routes of the running hermesd (from its config): the tunnel routes\n"
"        (name, the destinations each carries, its peers in order of preference\n"
"        as PROTO://ADDR: h2 is HTTP/2 over mTLS, h2c HTTP/2 in clear text, h1\n"
"        and h1s HTTP/1.1 CONNECT without and with TLS, h2-post[s] a POST\n"
"        stream), then the http routes of the http action, first match wins\n"
"        (host, path prefix, upstream protocol, endpoints). A peer or endpoint\n"
"        that failed repeatedly (section outlier) is marked (ejected,Nms): new\n"
"        flows skip it for N ms more, then one flow probes it; (ejected,probe):\n"
"        its probe may go now. Asks hermesd's admin endpoint (GET /routes), so\n"
"        hermesd must be running. --json prints {\"routes\": [...],\n"
"        \"http_routes\": [...]} as hermesd answers it (\"ejected_ms\" per peer or\n"
"        endpoint: null in rotation, else the ms left of its ejection).\n", 0 },
	{ "disable", "disable [--json]",
"        Detaches every pinned link (BPF_LINK_DETACH, which also works while\n"
"        hermesd holds the link open) and removes every pin under DIR, then DIR\n"
"        itself. Afterwards no Hermes program is attached and connections go\n"
"        where applications send them. Start hermesd again to re-enable.\n"
"        This is the one way to remove Hermes: a stopped hermesd leaves its\n"
"        links attached. With nothing left under DIR it says so and exits 0.\n"
"        --json prints {\"pin_root\", \"detached\", \"removed\", \"failed\"}.\n", 0 },
	{ "certs init", "certs init DIR [--hosts NAME[,NAME...]] [--days N]\n"
			"            [--force] [--expired] [--json]",
"        Makes the certificates for mTLS between hermesd peers, with no\n"
"        openssl command line or config (EC P-256 keys, SHA-256 signatures):\n"
"        DIR/ca.crt and DIR/ca.key, a self-signed CA (basicConstraints CA:TRUE\n"
"        critical, keyUsage keyCertSign and cRLSign, valid 3650 days or --days\n"
"        if longer), and for each NAME (default: hermes) DIR/NAME.crt and\n"
"        DIR/NAME.key, signed by the CA, with subjectAltName DNS:NAME (IP:NAME\n"
"        when NAME is an IPv4 or IPv6 address: origins reached by address, e.g.\n"
"        https:// proxy targets) and URI:spiffe://hermes/NAME and\n"
"        extendedKeyUsage serverAuth and clientAuth (one certificate serves\n"
"        as server and as client). DIR is\n"
"        created if missing (one level). Keys are mode 0600, certificates 0644.\n"
"        A CA already in DIR is reused, so `certs init DIR --hosts new` adds\n"
"        a host to an existing CA. An existing NAME.key or NAME.crt is never\n"
"        overwritten: the command fails naming it and writes nothing.\n"
"        A NAME may hold letters, digits, '-' and '.' (not \"ca\"), or be an\n"
"        IP address. --json prints {\"dir\", \"hosts\", \"messages\"}.\n"
"        --hosts NAME[,NAME...]  hosts to issue certificates for\n"
"        --days N    validity of the host certificates, 1..%d (default %d)\n"
"        --force     make a new CA (host certificates signed by the old one\n"
"                    stop verifying) and replace existing host files\n"
"        --expired   TESTS ONLY: issue host certificates whose validity ended\n"
"                    a day ago, to test that peers refuse them\n", 0 },
	{ "cache purge", "cache purge URL [URL...] [--json]",
"        Removes from the running hermesd's HTTP cache (section cache of the\n"
"        http action) every stored response of each URL: every Vary variant,\n"
"        stored through any http route or original destination, in memory and\n"
"        in the disk tier (cache.disk_path: its files are removed). A URL is\n"
"        absolute (http://HOST[:PORT]/PATH[?QUERY] or https://...) and is\n"
"        normalised as the cache's keys are (scheme and host lowercased, the\n"
"        default port and a #fragment dropped); quote it for the shell. A\n"
"        response being sent from the store goes on and is freed when it ends;\n"
"        one still arriving (store-and-forward) goes on to the clients already\n"
"        reading it, but is not stored and no new request joins it. Prints\n"
"        \"URL: N purged\" per URL (N is 0 when nothing was stored, which is not\n"
"        an error). Asks hermesd's admin endpoint (POST /cache/purge?url=URL),\n"
"        so hermesd must be running; fails with hermesd's reason when its cache\n"
"        is off (no store: cache.enabled is false and no route's cache: has\n"
"        turned it on yet; exit 1) or a URL is not one the cache can key\n"
"        (exit 2).\n"
"        --json prints [{\"url\", \"purged\"}, ...].\n", 0 },
	{ "cache stats", "cache stats [--json]",
"        The running hermesd's HTTP cache counters, from its /metrics\n"
"        (hermes_http_cache_*): hits, misses, revalidations (a 304 confirmed a\n"
"        stored response), stale_served (stale-if-error), stores, collapsed\n"
"        (requests that followed a response being stored instead of going\n"
"        upstream), fill_resumes, invalidations (by unsafe requests),\n"
"        evictions (LRU), purged (by cache purge), stale_while_revalidate\n"
"        (stale responses served at once, revalidated in the background),\n"
"        background_revalidations, and bytes and objects held now in memory;\n"
"        then the disk tier's (cache.disk_path): disk_objects and\n"
"        disk_bytes held now, disk_reads (memory misses answered from a file),\n"
"        disk_writes, disk_evictions (LRU under cache.disk_max_size_mb), and\n"
"        its failures: disk_write_errors, disk_read_errors, disk_corrupt (files\n"
"        whose format or checksum is wrong: skipped and removed) and disk_busy\n"
"        (responses not written because the writes waiting passed 64 MB).\n"
"        Counters are 0 when the cache (or its disk tier) is off. --json\n"
"        prints one object with those names.\n", 0 },
	{ "overlay status", "overlay status [--json] [ETCD OPTIONS]",
"        Every node of the overlay in etcd, one line each: its address (the\n"
"        tunnel listener, else the admin address), hermesd's version, the\n"
"        applied revision, the revision its documents are at (its document\n"
"        PREFIX/nodes/NODE and the shared documents PREFIX/shared/NAME that\n"
"        it lists: the newest of them), the lag (in sync; behind by N\n"
"        revisions: it has not applied its newest documents, or refused them,\n"
"        shown under it; down (no status): no status key, which hermesd\n"
"        keeps under a lease of 10 s, so a node is down 10 s at most after\n"
"        it died; no document: a status key but no document) and its health\n"
"        (ok, or degraded: why). Documents that do not merge (a shared\n"
"        document missing, a key set twice) are shown under the node. One\n"
"        read of PREFIX/ at one revision. --json prints {\"revision\",\n"
"        \"in_sync\", \"nodes\": [{\"node\", \"state\" (in_sync, behind, down,\n"
"        no_document), \"doc_revision\", \"applied_revision\", \"behind\",\n"
"        \"documents_error\", \"status\" (the status key's JSON, or null)}]}.\n"
"        Exits 3 when a node is not in sync, so that a script can wait for a\n"
"        change to reach every node:\n"
"            until hermesctl overlay status -c hermes.yaml >/dev/null; do\n"
"                sleep 0.2; done\n"
CTL_ETCD_HELP, 0 },
	{ "overlay apply", "overlay apply FILE [--dry-run [--show N]] [--force|--base-revision REV] [--json]",
"        Declares the whole overlay from one YAML file (etc/overlay.yaml shows\n"
"        every key): its nodes (name, addresses, tunnel listener, roles client,\n"
"        relay, egress, ingress, their own reload keys verbatim, the shared\n"
"        documents they use), shared documents, and routes between nodes (from\n"
"        NODES, to CIDR[:PORT] or node names, via one path of nodes or alternate\n"
"        paths, protocol h2, h2c or h1, steer tcp, udp or both). Each route\n"
"        becomes, at every node it crosses, the tunnel route an operator would\n"
"        write by hand (hop by hop; the path's last node dials the destination),\n"
"        and optionally the from nodes' policy rules. Before anything is written\n"
"        the whole file is checked: unknown or repeated keys, duplicate nodes or\n"
"        addresses, unknown nodes or shared documents in routes, roles, loops and\n"
"        paths over 8 hops, and each node's document as hermesd will build it\n"
"        (its shared documents merged in by hermesd's own merge) with hermesd's\n"
"        own config loader; each\n"
"        fault names the node and the line (of the file, or of the generated\n"
"        document, quoted). Then one etcd transaction writes PREFIX/overlay (the\n"
"        file), PREFIX/overlay-meta ({\"applied_at\", \"by\", \"sha256\", \"overlay\",\n"
"        \"nodes\", \"shared\"}), the node documents PREFIX/nodes/NAME and shared\n"
"        documents PREFIX/shared/NAME that changed, and deletes the node and\n"
"        shared keys an earlier apply wrote that the file no longer has;\n"
"        unchanged keys are not rewritten, so their nodes do not reload. Unless\n"
"        --force, the transaction holds only if overlay-meta and every key it\n"
"        replaces are as read (another operator's apply or a hand edit in\n"
"        between: nothing written, exit 1); --base-revision REV makes it hold\n"
"        only if none of them changed after REV (the revision a reviewed dry run\n"
"        printed), so that what is written is what was reviewed. Prints each node\n"
"        and shared document added, changed or removed and the new revision\n"
"        (--json: {\"overlay\", \"prefix\", \"revision\", \"written\", \"changes\":\n"
"        [{\"key\", \"what\": added|changed|removed}], \"unchanged\"}). --dry-run: the\n"
"        same checks and report, nothing written; without --etcd or -c it only\n"
"        checks the file; --show NODE prints that node's document. The prefix is\n"
"        --prefix, else the file's prefix, else the etcd section's (--prefix at\n"
"        odds with the file's is refused). FILE - is standard input. At most 128\n"
"        nodes and 127 changed keys at once (etcd's default --max-txn-ops).\n"
CTL_ETCD_HELP, 0 },
	{ "overlay diff", "overlay diff FILE [ETCD OPTIONS]",
"        What overlay apply FILE would change, as a unified diff per key (diff\n"
"        -u) between what etcd holds and what the file would write: the\n"
"        overlay file itself, each node's and shared document, and the keys it\n"
"        would delete. Exit 0: no difference, 1: differences, 2: trouble (a\n"
"        bad file, etcd unreachable), as diff(1). The file is checked as by\n"
"        apply first. etcd is reached as for overlay apply.\n", 0 },
	{ "overlay get", "overlay get [--node NODE] [ETCD OPTIONS]",
"        Prints the overlay file last applied under the prefix (PREFIX/overlay)\n"
"        as it was written, or with --node the node's document as stored\n"
"        (PREFIX/nodes/NODE, what that hermesd reads). Exit 1 when the key is\n"
"        not there. etcd is reached as for overlay apply.\n", 0 },
	{ "help", "help [COMMAND [SUBCOMMAND]]",
"        This help, or only the part about COMMAND (the same as\n"
"        `hermesctl COMMAND --help`).\n", 0 },
};
#define N_HELP (sizeof(help_entries) / sizeof(help_entries[0]))

static void help_matches(FILE *f)
{
	fprintf(f,
"MATCHES\n"
"    A match is an address prefix and an optional port (1..65535; none = any):\n"
"        10.0.0.0/8   10.0.0.1 (= /32)   10.0.0.0/8:80   10.0.0.1:80   0.0.0.0/0\n"
"        fd00::/64    fd00::1 (= /128)   [fd00::/64]:443 [fd00::1]:443 ::/0\n"
"    IPv6 with a port needs brackets. Host bits below the prefix are cleared\n"
"    (10.1.2.3/8 is stored as 10.0.0.0/8). Rules naming the destination port\n"
"    are looked up first, longest prefix winning among them; only when none\n"
"    matches are the any-port rules looked up, again longest prefix first. So\n"
"    10.0.0.0/8:80 proxy beats 10.0.0.1 deny for 10.0.0.1:80. Unmatched\n"
"    connections pass.\n"
"\n");
}

static void help_actions(FILE *f)
{
	fprintf(f,
"ACTIONS\n"
"    pass     the connection is untouched (use it to carve holes in wider rules)\n"
"    deny     connect() fails with EPERM\n"
"    proxy    the connection goes through hermesd's transparent listener, which\n"
"             connects to the original destination itself (retries, failover)\n"
"    tunnel   hermesd carries the connection in a CONNECT tunnel to the peer of\n"
"             the route that covers the destination (routes: in hermesd's\n"
"             config; by default HTTP/2 CONNECT over mTLS, HTTP/1.1 CONNECT and\n"
"             clear-text h2c when the route says so); with no such route the\n"
"             connection is reset\n"
"    http     hermesd reads the HTTP/1.1 requests and forwards each one (routes,\n"
"             retries, connection pools: http and http_routes in hermesd's\n"
"             config)\n"
"\n");
}

static void help_bpftool(FILE *f)
{
	fprintf(f,
"BPFTOOL\n"
"    The same with bpftool. Policy key (24 bytes): prefixlen (u32, host order,\n"
"    = 32 + CIDR length), family (4 or 6), proto (0 tcp, 1 udp), port (network\n"
"    order, 0 = any),\n"
"    addr[16]. Value (8 bytes): action (0 pass, 1 deny, 2 proxy, 3 tunnel,\n"
"    4 http; any other value denies, counted as unknown_action), origin\n"
"    (0 manual, 1 config), pad[2], route_id (u32). The maps' BTF names the\n"
"    enums, so dumps print \"action\": \"proxy\", \"origin\": \"manual\" (and\n"
"    in hermes_flows \"engine\" and \"state\"). On a little-endian host:\n"
"        bpftool map dump pinned %s/hermes_policy\n"
"        # 10.0.3.0/24:80 -> proxy (prefixlen 32+24 = 56 = 0x38, port 80 = 00 50)\n"
"        bpftool map update pinned %s/hermes_policy \\\n"
"            key hex 38 00 00 00 04 00 00 50 0a 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00 \\\n"
"            value hex 02 00 00 00 00 00 00 00\n"
"        bpftool map delete pinned %s/hermes_policy \\\n"
"            key hex 38 00 00 00 04 00 00 50 0a 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
"        bpftool map dump pinned %s/hermes_stats    # per-CPU counters\n"
"        bpftool map dump pinned %s/hermes_flows    # the flow table\n"
"        bpftool link show; bpftool cgroup tree     # what status shows\n"
"        bpftool link detach pinned %s/links/NAME   # what disable does, per link\n"
"\n",
		HERMES_PIN_ROOT_DEFAULT, HERMES_PIN_ROOT_DEFAULT, HERMES_PIN_ROOT_DEFAULT, HERMES_PIN_ROOT_DEFAULT,
		HERMES_PIN_ROOT_DEFAULT, HERMES_PIN_ROOT_DEFAULT);
}

static void help_options(FILE *f)
{
	fprintf(f,
"OPTIONS\n"
"    Options may come anywhere on the line, before or after the command words.\n"
"    --pin-root DIR\n"
"        Pin root of the hermesd instance to work on (default %s,\n"
"        or $HERMES_PIN_ROOT). Must match hermesd's --pin-root.\n"
"    --admin ADDR\n"
"        hermesd's admin address, IPv4:PORT or [IPv6]:PORT (default\n"
"        %s, or $HERMES_ADMIN).\n"
"    --json\n"
"        Machine-readable output (one JSON document on stdout) for any command.\n"
"    -h, --help\n"
"        Show this help; after a command, only that command's help.\n"
"    -V, --version\n"
"        Print the version and the git commit built.\n"
"\n"
"ENVIRONMENT\n"
"    HERMES_PIN_ROOT   default for --pin-root\n"
"    HERMES_ADMIN      default for --admin\n"
"\n",
		HERMES_PIN_ROOT_DEFAULT, ADMIN_DEFAULT);
}

static void help_entry_print(FILE *f, const struct help_entry *e)
{
	fprintf(f, "    %s\n", e->synopsis);
	fprintf(f, e->text, CERTS_MAX_DAYS, CERTS_DEFAULT_DAYS);
	fputc('\n', f);
}

void help_usage(FILE *f)
{
	fprintf(f,
"NAME\n"
"    hermesctl - inspect and control Hermes transparent steering\n"
"\n"
"SYNOPSIS\n");
	for (size_t i = 0; i < N_HELP; i++)
		fprintf(f, "    hermesctl [OPTIONS] %s\n", help_entries[i].synopsis);
	fprintf(f,
"    hermesctl -h | --help\n"
"    hermesctl -V | --version\n"
"\n"
"DESCRIPTION\n"
"    hermesd steers the connections of a cgroup with BPF programs and keeps its\n"
"    state pinned on bpffs under a pin root: the programs' links in DIR/links/,\n"
"    the policy trie (hermes_policy), the decision counters (hermes_stats) and\n"
"    the flow table (hermes_flows) in DIR. hermesctl reads and changes those\n"
"    pins directly, so policy changes take effect on the next connect() with\n"
"    no reload, and work while hermesd is down. It asks hermesd's admin\n"
"    endpoint only for readiness, routes and the HTTP cache. Most commands need root\n"
"    (CAP_BPF and CAP_SYS_ADMIN) to open the pins.\n"
"\n"
"COMMANDS\n");
	for (size_t i = 0; i < N_HELP; i++)
		help_entry_print(f, &help_entries[i]);
	help_matches(f);
	help_actions(f);
	help_options(f);
	fprintf(f,
"EXIT STATUS\n"
"    0   success; for status: every link attached and hermesd ready\n"
"    1   runtime error: no pin root, a pin cannot be opened, no such rule,\n"
"        status with a defunct link or a hermesd that is not ready or does\n"
"        not answer,\n"
"        a link could not be detached, hermesd does not answer (routes,\n"
"        cache), cache purge with the cache off,\n"
"        a certificate file exists or cannot be written, a CA file lacks\n"
"        its pair, an overlay file refused, etcd unreachable, an overlay\n"
"        changed meanwhile (apply), no such key (overlay get); overlay diff:\n"
"        1 means differences and 2 any error\n"
"    2   usage error or bad input: unknown command or option, malformed match,\n"
"        port out of range, unknown action, bad host name, a URL cache purge\n"
"        cannot use\n""    3   overlay status: a node is behind, down or has no document\n"
"\n"
"EXAMPLES\n"
"    hermesctl status\n"
"    hermesctl policy add 10.0.3.0/24:80 proxy\n"
"    hermesctl policy add '[fd00::/64]:443' deny\n"
"    hermesctl policy add 10.0.3.7 pass\n"
"    hermesctl policy add 10.8.0.0/16 tunnel     # warns if no route covers it\n"
"    hermesctl policy del 10.0.3.0/24:80\n"
"    hermesctl policy list --json --pin-root /sys/fs/bpf/hermes-test\n"
"    HERMES_PIN_ROOT=/sys/fs/bpf/hermes-test hermesctl policy list\n"
"    hermesctl help policy\n"
"    hermesctl cache purge 'http://example.com/app.js?v=2'\n"
"    hermesctl cache stats --json\n""    hermesctl overlay status --etcd http://10.0.0.1:2379 --prefix /hermes/lab\n"
"    hermesctl disable\n"
"    hermesctl certs init /etc/hermes/certs --hosts node-a,node-b\n"
"    hermesctl certs init /etc/hermes/certs --hosts node-c   # same CA\n"
"    hermesctl overlay apply --dry-run lab.yaml   # check only\n"
"    hermesctl overlay diff lab.yaml --etcd http://10.0.0.5:2379\n"
"    hermesctl overlay apply lab.yaml -c /etc/hermes/hermes.yaml\n"
"    hermesctl overlay get --node relay-1 --etcd http://10.0.0.5:2379 --prefix /hermes/lab\n"
"\n");
	help_bpftool(f);
}

int help_command(char **words, int n)
{
	char name[64] = "";
	unsigned sections = 0;
	size_t l;

	for (int i = 0; i < n && i < 2; i++)
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "%s%s", i ? " " : "",
			 !strcmp(words[i], "delete") ? "del" : words[i]);
	l = strlen(name);
	for (size_t i = 0; i < N_HELP; i++) {
		const struct help_entry *e = &help_entries[i];

		if (strncmp(e->cmd, name, l) || (e->cmd[l] && e->cmd[l] != ' '))
			continue;
		printf("%shermesctl [OPTIONS] %s\n", sections ? "\n" : "", e->synopsis);
		printf(e->text, CERTS_MAX_DAYS, CERTS_DEFAULT_DAYS);
		sections |= help_entries[i].sections | 0x100; /* 0x100: something matched */
	}
	if (!sections)
		return usage_error("no help for '%s' (commands: status, policy, routes, disable, certs, cache, overlay, help)", name);
	putchar('\n');
	if (sections & SEC_MATCHES)
		help_matches(stdout);
	if (sections & SEC_ACTIONS)
		help_actions(stdout);
	help_options(stdout);
	if (sections & SEC_BPFTOOL)
		help_bpftool(stdout);
	printf("See 'hermesctl --help' for every command.\n");
	return EXIT_OK;
}
