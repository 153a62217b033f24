/* hermesctl: the operator's command line for Hermes. It works directly on the BPF
 * objects hermesd pins under its pin root (links, policy and counter maps), so it
 * works whether or not hermesd is running, and it asks hermesd's admin endpoint only
 * whether the daemon is ready. `certs init` makes the CA and host certificates for
 * the mTLS between peers (tools/certs.c). See `hermesctl --help`. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <mntent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "certs.h"
#include "cli.h"
#include "hermes/pin.h"
#include "hermes/policy.h"
#include "pinfs.h"
#include "version.h"
#include "policy.h"

/* hermesctl asks /ready and /routes, one GET per run */
#define ADMIN_MAX_ANSWER (1u << 20)

const char cli_prog[] = "hermesctl";
static const char *pin_root = HERMES_PIN_ROOT_DEFAULT;
static struct admin_client admin = { .addr = ADMIN_DEFAULT, .max_answer = ADMIN_MAX_ANSWER };

static bool json_out; /* --json, anywhere on the line */

/* Help, one entry per command: `hermesctl --help` prints them all (and is the source of
 * the man page), `hermesctl help policy` or `hermesctl policy add --help` only the
 * entries of that command, with the sections they refer to. */
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
"        exists). Then the decision counters summed over CPUs, and whether\n"
"        hermesd answers GET /ready on its admin address within 1 s (with its\n"
"        reason when it is not ready). Exits 1 unless all is well (every link\n"
"        attached, hermesd ready), so it serves as a health check.\n", 0 },
	{ "policy list", "policy list [--json]",
"        Every rule, sorted by family, address, prefix and port, with its action\n"
"        and origin: \"config\" rules come from hermesd's config file and are\n"
"        replaced on reload; \"manual\" rules come from hermesctl or bpftool and\n"
"        are left alone by reloads (a manual rule also wins over a config rule\n"
"        with the same match). --json prints an array of\n"
"        {\"match\": ..., \"action\": ..., \"origin\": ...} objects.\n", SEC_BPFTOOL },
	{ "policy add", "policy add CIDR[:PORT] ACTION [--json]",
"        Adds or replaces the rule for CIDR[:PORT] (origin manual). Both words\n"
"        are checked before the map is touched. For a tunnel rule, hermesctl\n"
"        then asks hermesd (GET /routes) whether a tunnel route covers the whole\n"
"        match, and warns on stderr when none does (those connections would be\n"
"        reset) or when hermesd does not answer (it could not be checked); the\n"
"        rule is added either way. --json prints {\"match\", \"action\",\n"
"        \"origin\", \"route_check\"}.\n", SEC_MATCHES | SEC_ACTIONS | SEC_BPFTOOL },
	{ "policy del", "policy del CIDR[:PORT] [--json]",
"        Deletes the rule with exactly this match (same prefix, same port).\n"
"        --json prints {\"deleted\": MATCH}.\n", SEC_MATCHES | SEC_BPFTOOL },
	{ "routes", "routes [--json]",
"        The routes of the running hermesd (from its config): the tunnel routes\n"
"        (name, the destinations each carries, its peers in order of preference\n"
"        as PROTO://ADDR: h2 is HTTP/2 over mTLS, h2c HTTP/2 in clear text, h1\n"
"        and h1s HTTP/1.1 CONNECT without and with TLS, h2-post[s] a POST\n"
"        stream), then the http routes of the http action, first match wins\n"
"        (host, path prefix, upstream protocol, endpoints). Asks hermesd's admin\n"
"        endpoint (GET /routes), so hermesd must be running. --json prints\n"
"        {\"routes\": [...], \"http_routes\": [...]} as hermesd answers it.\n", 0 },
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
"    = 32 + CIDR length), family (4 or 6), pad, port (network order, 0 = any),\n"
"    addr[16]. Value (8 bytes): action (0 pass, 1 deny, 2 proxy, 3 tunnel,\n"
"    4 http), origin (0 manual, 1 config), pad[2], route_id (u32). The maps'\n"
"    BTF names the enums, so dumps print \"action\": \"proxy\", \"origin\":\n"
"    \"manual\" (and in hermes_flows \"engine\" and \"state\"). On a\n"
"    little-endian host:\n"
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

static void usage(FILE *f)
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
"    endpoint only for readiness and routes. Most commands need root\n"
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
"        a link could not be detached, hermesd does not answer (routes),\n"
"        a certificate file exists or cannot be written, a CA file lacks\n"
"        its pair\n"
"    2   usage error or bad input: unknown command or option, malformed match,\n"
"        port out of range, unknown action, bad host name\n"
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
"    hermesctl disable\n"
"    hermesctl certs init /etc/hermes/certs --hosts node-a,node-b\n"
"    hermesctl certs init /etc/hermes/certs --hosts node-c   # same CA\n"
"\n");
	help_bpftool(f);
}

/* Help for the command named by words[0..n): every entry it prefixes ("policy" gives
 * list, add and del). Returns EXIT_USAGE when no entry matches. */
static int command_help(char **words, int n)
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
		return usage_error("no help for '%s' (commands: status, policy, routes, disable, certs, help)", name);
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

/* What to try when a pin cannot be used, by errno. */
static const char *pin_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "is hermesd running with this --pin-root?";
	case EACCES:
	case EPERM:
		return "run hermesctl as root: opening pins needs CAP_BPF and CAP_SYS_ADMIN";
	case EPROTO:
	case EINVAL:
		return "not a Hermes map of this version: is --pin-root right?";
	default:
		return "see hermesd's log";
	}
}

/* The pin root must exist before anything else makes sense; says why not. */
static int check_root(void)
{
	struct stat st;

	if (stat(pin_root, &st)) {
		if (errno == ENOENT || errno == ENOTDIR)
			errmsg("no Hermes state at %s (is hermesd running with --pin-root %s?)", pin_root, pin_root);
		else if (errno == EACCES || errno == EPERM)
			errmsg("cannot access %s: %s (run hermesctl as root)", pin_root, strerror(errno));
		else
			errmsg("cannot access %s: %s", pin_root, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		errmsg("%s is not a directory, so not a Hermes pin root (give hermesd's --pin-root)", pin_root);
		return -1;
	}
	return 0;
}

/* A pin under the pin root; says what went wrong and what to try. */
static int open_pinned(const char *name)
{
	char path[PATH_MAX];
	int fd = pin_open(pin_root, name);

	if (fd >= 0)
		return fd;
	if (pin_path(path, sizeof(path), pin_root, name))
		snprintf(path, sizeof(path), "%s/...", pin_root);
	errmsg("cannot open %s: %s (%s)", path, strerror(-fd), pin_hint(-fd));
	return -1;
}

/* The policy map, once the pin root is known to be there: a missing root gets its
 * own message rather than "cannot open". */
static int open_policy(void)
{
	if (check_root())
		return -1;
	return open_pinned(HERMES_MAP_POLICY);
}

/* ---- status: links ---- */

struct link_desc {
	char name[NAME_MAX + 1];
	char prog[128];
	char attach[48];
	char cgroup[PATH_MAX];
	char error[PATH_MAX + 128];
	__u32 link_id, prog_id;
	__u64 cgroup_id;
	bool has_cgroup;
	bool defunct; /* a cgroup link attached nowhere (cgroup removed, or detached) */
};

static const char *attach_name(__u32 t)
{
	switch (t) {
	case BPF_CGROUP_INET4_CONNECT: return "connect4";
	case BPF_CGROUP_INET6_CONNECT: return "connect6";
	case BPF_CGROUP_INET4_GETPEERNAME: return "getpeername4";
	case BPF_CGROUP_INET6_GETPEERNAME: return "getpeername6";
	case BPF_CGROUP_SOCK_OPS: return "sock_ops";
	case BPF_CGROUP_GETSOCKOPT: return "getsockopt";
	case BPF_CGROUP_SETSOCKOPT: return "setsockopt";
	case BPF_CGROUP_UDP4_SENDMSG: return "sendmsg4";
	case BPF_CGROUP_UDP6_SENDMSG: return "sendmsg6";
	case BPF_CGROUP_UDP4_RECVMSG: return "recvmsg4";
	case BPF_CGROUP_UDP6_RECVMSG: return "recvmsg6";
	case BPF_CGROUP_INET4_GETSOCKNAME: return "getsockname4";
	case BPF_CGROUP_INET6_GETSOCKNAME: return "getsockname6";
	case BPF_SK_LOOKUP: return "sk_lookup";
	default: {
		const char *s = libbpf_bpf_attach_type_str((enum bpf_attach_type)t);

		return s ? s : "unknown";
	}
	}
}

/* cgroup id -> path: the id of a cgroup v2 directory is its inode number, and
 * nothing maps it back except walking the hierarchy. */
static __u64 cg_target;
static char cg_found[PATH_MAX];

static int cg_visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (__u64)sb->st_ino == cg_target) {
		snprintf(cg_found, sizeof(cg_found), "%s", path);
		return 1;
	}
	return 0;
}

static int cgroup2_mount(char *buf, size_t len)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/self/mounts", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", m->mnt_dir);
			err = 0;
			break;
		}
	}
	endmntent(f);
	return err;
}

static void cgroup_path(__u64 id, char *out, size_t len)
{
	static char mnt[PATH_MAX];
	static int have_mnt = -1;
	static __u64 last_id;
	static char last_path[PATH_MAX];

	if (have_mnt < 0)
		have_mnt = cgroup2_mount(mnt, sizeof(mnt)) == 0;
	if (last_id && last_id == id) {
		snprintf(out, len, "%s", last_path);
		return;
	}
	snprintf(out, len, "?");
	if (!have_mnt)
		return;
	cg_target = id;
	cg_found[0] = 0;
	if (nftw(mnt, cg_visit, 32, FTW_PHYS | FTW_MOUNT) == 1 && cg_found[0])
		snprintf(out, len, "%s", cg_found);
	last_id = id;
	snprintf(last_path, sizeof(last_path), "%s", out);
}

/* The kernel keeps only 15 characters of a program's name; its BTF has the whole
 * function name (this is how bpftool prints it). Leaves buf alone on failure. */
static void prog_full_name(int pfd, const struct bpf_prog_info *pi, char *buf, size_t len)
{
	struct bpf_prog_info fi;
	struct bpf_func_info func;
	const struct btf_type *t;
	struct btf *btf;
	__u32 flen = sizeof(fi);
	const char *name;

	if (!pi->btf_id || !pi->nr_func_info)
		return;
	memset(&fi, 0, sizeof(fi));
	memset(&func, 0, sizeof(func));
	fi.nr_func_info = 1;
	fi.func_info_rec_size = sizeof(func);
	fi.func_info = (__u64)(unsigned long)&func;
	if (bpf_obj_get_info_by_fd(pfd, &fi, &flen) || fi.func_info_rec_size != sizeof(func))
		return;
	btf = btf__load_from_kernel_by_id(pi->btf_id);
	if (!btf)
		return;
	t = btf__type_by_id(btf, func.type_id);
	name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (name && !strncmp(name, pi->name, BPF_OBJ_NAME_LEN - 1))
		snprintf(buf, len, "%s", name);
	btf__free(btf);
}

static void describe_link(const char *dir, const char *name, struct link_desc *d)
{
	char path[PATH_MAX];
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	__u32 len;
	int fd, pfd;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->prog, sizeof(d->prog), "?");
	snprintf(d->attach, sizeof(d->attach), "?");
	snprintf(d->cgroup, sizeof(d->cgroup), "?");
	if (pin_path(path, sizeof(path), dir, name)) {
		snprintf(d->error, sizeof(d->error), "path too long");
		return;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(d->error, sizeof(d->error), "cannot open %s: %s", path, strerror(errno));
		return;
	}
	memset(&li, 0, sizeof(li));
	len = sizeof(li);
	if (bpf_obj_get_info_by_fd(fd, &li, &len)) {
		snprintf(d->error, sizeof(d->error), "cannot read link info: %s", strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	d->link_id = li.id;
	d->prog_id = li.prog_id;
	switch (li.type) {
	case BPF_LINK_TYPE_CGROUP:
		snprintf(d->attach, sizeof(d->attach), "%s", attach_name(li.cgroup.attach_type));
		d->cgroup_id = li.cgroup.cgroup_id;
		d->has_cgroup = true;
		d->defunct = !d->cgroup_id;
		if (d->defunct)
			snprintf(d->cgroup, sizeof(d->cgroup), "DEFUNCT (attached nowhere: its cgroup was removed, or "
				 "it was detached)");
		else
			cgroup_path(d->cgroup_id, d->cgroup, sizeof(d->cgroup));
		break;
	case BPF_LINK_TYPE_NETNS:
		snprintf(d->attach, sizeof(d->attach), "%s", attach_name(li.netns.attach_type));
		snprintf(d->cgroup, sizeof(d->cgroup), "netns inode %u", li.netns.netns_ino);
		break;
	default: {
		const char *t = libbpf_bpf_link_type_str((enum bpf_link_type)li.type);

		snprintf(d->attach, sizeof(d->attach), "%s link", t ? t : "unknown");
		break;
	}
	}

	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0)
		return;
	memset(&pi, 0, sizeof(pi));
	len = sizeof(pi);
	if (!bpf_obj_get_info_by_fd(pfd, &pi, &len) && pi.name[0]) {
		snprintf(d->prog, sizeof(d->prog), "%s", pi.name);
		if (strlen(pi.name) == BPF_OBJ_NAME_LEN - 1)
			prog_full_name(pfd, &pi, d->prog, sizeof(d->prog));
	}
	close(pfd);
}

static int name_filter(const struct dirent *de)
{
	return strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
}

/* Describes every link pinned under <root>/links, in name order. *out is NULL and
 * *n 0 when there are none. */
static int scan_links(struct link_desc **out, int *n)
{
	char dir[PATH_MAX];
	struct dirent **names = NULL;
	struct link_desc *d;
	int cnt, err;

	*out = NULL;
	*n = 0;
	err = pin_path(dir, sizeof(dir), pin_root, HERMES_PIN_LINKS);
	if (err)
		return err;
	cnt = scandir(dir, &names, name_filter, alphasort);
	if (cnt < 0)
		return errno == ENOENT ? 0 : -errno;
	d = cnt ? calloc((size_t)cnt, sizeof(*d)) : NULL;
	for (int i = 0; i < cnt; i++) {
		if (d)
			describe_link(dir, names[i]->d_name, &d[i]);
		free(names[i]);
	}
	free(names);
	if (cnt && !d)
		return -ENOMEM;
	*out = d;
	*n = cnt;
	return 0;
}

/* ---- status: admin probe ---- */

enum admin_state { ADMIN_READY, ADMIN_NOT_READY, ADMIN_UNREACHABLE };

/* The status line of an answer that is not 200, for the messages. */
static void status_line(const struct admin_answer *a, char *detail, size_t len)
{
	snprintf(detail, len, "%.*s", (int)strcspn(a->buf, "\r\n"), a->buf);
}

/* detail gets why hermesd is not ready: its status line, or why it did not answer. */
static enum admin_state probe_admin(char *detail, size_t len)
{
	struct admin_answer a;
	enum admin_state st;

	detail[0] = 0;
	if (admin_get(&admin, "/ready", &a, detail, len))
		return ADMIN_UNREACHABLE;
	st = a.status == 200 ? ADMIN_READY : ADMIN_NOT_READY;
	if (st != ADMIN_READY) {
		size_t n;

		status_line(&a, detail, len);
		/* hermesd says why in the body's first line */
		n = strlen(detail);
		if (a.body && a.body[0] && n + 3 < len)
			snprintf(detail + n, len - n, ": %.*s", (int)strcspn(a.body, "\r\n"), a.body);
	}
	free(a.buf);
	return st;
}

static int cmd_status(int argc, char **argv)
{
	uint64_t cnt[HERMES_CNT_MAX];
	struct link_desc *links = NULL;
	char detail[256];
	enum admin_state st;
	bool json = json_out, have_cnt = false;
	int n_links = 0, err, fd, rc = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return usage_error("status: unexpected argument '%s'", argv[i]);
	}
	if (check_root())
		return EXIT_RUNTIME;

	err = scan_links(&links, &n_links);
	if (err) {
		errmsg("cannot list %s/%s: %s (%s)", pin_root, HERMES_PIN_LINKS, strerror(-err), pin_hint(-err));
		rc = EXIT_RUNTIME;
	}
	fd = open_pinned(HERMES_MAP_STATS);
	if (fd >= 0) {
		err = pol_read_counters(fd, cnt);
		close(fd);
		if (err)
			errmsg("cannot read %s/%s: %s", pin_root, HERMES_MAP_STATS, strerror(-err));
		else
			have_cnt = true;
	}
	if (!have_cnt)
		rc = EXIT_RUNTIME;
	st = probe_admin(detail, sizeof(detail));

	if (json) {
		printf("{\"pin_root\": ");
		json_str(stdout, pin_root);
		printf(", \"links\": [");
		for (int i = 0; i < n_links; i++) {
			const struct link_desc *d = &links[i];

			printf("%s\n  {\"name\": ", i ? "," : "");
			json_str(stdout, d->name);
			printf(", \"link_id\": %u, \"program\": ", d->link_id);
			json_str(stdout, d->prog);
			printf(", \"program_id\": %u, \"attach_type\": ", d->prog_id);
			json_str(stdout, d->attach);
			printf(", \"defunct\": %s", d->defunct ? "true" : "false");
			if (d->has_cgroup)
				printf(", \"cgroup_id\": %llu", (unsigned long long)d->cgroup_id);
			else
				printf(", \"cgroup_id\": null");
			printf(", \"cgroup\": ");
			json_str(stdout, d->cgroup);
			if (d->error[0]) {
				printf(", \"error\": ");
				json_str(stdout, d->error);
			}
			printf("}");
		}
		printf("%s],\n \"counters\": ", n_links ? "\n" : "");
		if (have_cnt) {
			printf("{");
			for (unsigned i = 0; i < HERMES_CNT_MAX; i++)
				printf("%s\"%s\": %llu", i ? ", " : "", pol_counter_name(i), (unsigned long long)cnt[i]);
			printf("}");
		} else {
			printf("null");
		}
		printf(",\n \"hermesd\": {\"admin\": ");
		json_str(stdout, admin.addr);
		printf(", \"ready\": %s, \"state\": \"%s\"", st == ADMIN_READY ? "true" : "false",
		       st == ADMIN_READY ? "ready" : st == ADMIN_NOT_READY ? "not_ready" : "unreachable");
		if (detail[0]) {
			printf(", \"detail\": ");
			json_str(stdout, detail);
		}
		printf("}}\n");
	} else {
		printf("pin root: %s\n", pin_root);
		if (!n_links) {
			printf("links: none (nothing attached: no connection is steered)\n");
		} else {
			printf("links:\n  %-20s %-22s %8s  %-13s %s\n", "LINK", "PROGRAM", "PROG_ID", "ATTACH", "CGROUP");
			for (int i = 0; i < n_links; i++) {
				const struct link_desc *d = &links[i];

				if (d->error[0]) {
					printf("  %-20s %s\n", d->name, d->error);
					continue;
				}
				printf("  %-20s %-22s %8u  %-13s ", d->name, d->prog, d->prog_id, d->attach);
				if (d->has_cgroup && !d->defunct)
					printf("%s (id %llu)\n", d->cgroup, (unsigned long long)d->cgroup_id);
				else
					printf("%s\n", d->cgroup);
			}
		}
		if (have_cnt) {
			printf("decisions:\n");
			for (unsigned i = 0; i < HERMES_CNT_MAX; i++)
				printf("  %-14s %llu\n", pol_counter_name(i), (unsigned long long)cnt[i]);
		}
		if (st == ADMIN_READY)
			printf("hermesd: ready (%s)\n", admin.addr);
		else if (st == ADMIN_NOT_READY)
			printf("hermesd: answering at %s but not ready (%s)\n", admin.addr, detail);
		else
			printf("hermesd: not reachable at %s (%s)\n", admin.addr, detail);
	}
	/* a health check: anything short of "all attached, hermesd ready" is 1 */
	for (int i = 0; i < n_links; i++)
		if (links[i].defunct || links[i].error[0])
			rc = EXIT_RUNTIME;
	if (st != ADMIN_READY)
		rc = EXIT_RUNTIME;
	free(links);
	return rc;
}

/* ---- policy ---- */

struct rule_row {
	char match[80];
	unsigned action, origin;
};

struct rule_list {
	struct rule_row *rows;
	size_t n, cap;
	int err;
};

static int collect_rule(const struct hermes_policy_key *k, const struct hermes_policy_val *v, void *arg)
{
	struct rule_list *l = arg;
	struct rule_row *r;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct rule_row *p = realloc(l->rows, ncap * sizeof(*p));

		if (!p) {
			l->err = -ENOMEM;
			return 1;
		}
		l->rows = p;
		l->cap = ncap;
	}
	r = &l->rows[l->n++];
	/* A key written by hand with bpftool may not be expressible as CIDR[:PORT]:
	 * show its raw fields rather than hiding it. */
	if (pol_fmt_match(k, r->match, sizeof(r->match)))
		snprintf(r->match, sizeof(r->match), "<raw prefixlen=%u family=%u port=%u>",
			 k->prefixlen, k->family, ntohs(k->port));
	r->action = v->action;
	r->origin = v->origin;
	return 0;
}

static void print_action(char *buf, size_t len, unsigned a)
{
	if (a < HERMES_ACT_MAX)
		snprintf(buf, len, "%s", pol_action_name(a));
	else
		snprintf(buf, len, "action %u", a);
}

static void print_origin(char *buf, size_t len, unsigned o)
{
	if (o == HERMES_ORIGIN_MANUAL || o == HERMES_ORIGIN_CONFIG)
		snprintf(buf, len, "%s", pol_origin_name(o));
	else
		snprintf(buf, len, "origin %u", o);
}

static int policy_list(int argc, char **argv)
{
	struct rule_list l = { 0 };
	bool json = json_out;
	size_t w = strlen("MATCH");
	int fd, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return usage_error("policy list: unexpected argument '%s'", argv[i]);
	}
	fd = open_policy();
	if (fd < 0)
		return EXIT_RUNTIME;
	err = pol_map_foreach(fd, collect_rule, &l);
	close(fd);
	if (!err)
		err = l.err;
	if (err) {
		errmsg("cannot read %s/%s: %s (%s)", pin_root, HERMES_MAP_POLICY, strerror(-err), pin_hint(-err));
		free(l.rows);
		return EXIT_RUNTIME;
	}

	for (size_t i = 0; i < l.n; i++)
		if (strlen(l.rows[i].match) > w)
			w = strlen(l.rows[i].match);
	if (json)
		printf("[");
	else
		printf("%-*s  %-8s %s\n", (int)w, "MATCH", "ACTION", "ORIGIN");
	for (size_t i = 0; i < l.n; i++) {
		char a[24], o[24];

		print_action(a, sizeof(a), l.rows[i].action);
		print_origin(o, sizeof(o), l.rows[i].origin);
		if (json) {
			printf("%s\n  {\"match\": ", i ? "," : "");
			json_str(stdout, l.rows[i].match);
			printf(", \"action\": ");
			json_str(stdout, a);
			printf(", \"origin\": ");
			json_str(stdout, o);
			printf("}");
		} else {
			printf("%-*s  %-8s %s\n", (int)w, l.rows[i].match, a, o);
		}
	}
	if (json)
		printf("%s]\n", l.n ? "\n" : "");
	free(l.rows);
	return EXIT_OK;
}

/* Parses a match for add/del, and how messages write it (as stored: host bits
 * cleared); prints the reason and returns -1 when it is bad. */
static int parse_match_arg(const char *s, struct hermes_policy_key *key, char *canon, size_t len)
{
	char why[256];

	if (pol_parse_match_err(s, key, why, sizeof(why))) {
		errmsg("%s", why);
		return -1;
	}
	if (pol_fmt_match(key, canon, len))
		snprintf(canon, len, "%s", s);
	return 0;
}

/* Whether hermesd has a tunnel route for every destination of a tunnel rule: asks
 * GET /routes and compares each route match with the rule's. */
struct route_check {
	bool checked;           /* hermesd answered with its routes */
	bool answered;          /* hermesd answered, but not 200 */
	char covered_by[64];    /* a route covering the whole match, "" if none */
	char partial[256];      /* routes covering only part of it, comma-separated */
	char detail[256];       /* why it could not be checked */
};

/* Whether name is one of the words of a comma-separated list. */
static bool in_list(const char *list, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = list; (p = strstr(p, name)); p += l)
		if ((p == list || p[-1] == ',') && (p[l] == ',' || !p[l]))
			return true;
	return false;
}

static void route_check(const struct hermes_policy_key *rule, struct route_check *rc)
{
	struct admin_answer a;
	const char *p, *end;

	memset(rc, 0, sizeof(*rc));
	if (admin_get(&admin, "/routes", &a, rc->detail, sizeof(rc->detail)))
		return;
	if (a.status != 200) {
		rc->answered = true;
		status_line(&a, rc->detail, sizeof(rc->detail));
		free(a.buf);
		return;
	}
	rc->checked = true;
	/* {"routes":[{"name":"N","match":["CIDR",...],...},...],"http_routes":[...]}: the
	 * names and matches are hermesd's canonical words, no escapes in them */
	end = strstr(a.body, "\"http_routes\"");
	for (p = a.body; (p = strstr(p, "{\"name\":\"")) && (!end || p < end);) {
		char name[64] = "";
		const char *m;

		p += strlen("{\"name\":\"");
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, "\""), p);
		m = strstr(p, "\"match\":[");
		if (!m)
			break;
		for (m += strlen("\"match\":["); *m == '"';) {
			struct hermes_policy_key k;
			char word[80];
			size_t l = strcspn(m + 1, "\"");

			snprintf(word, sizeof(word), "%.*s", (int)l, m + 1);
			m += l + 2;
			if (*m == ',')
				m++;
			if (pol_parse_match(word, &k))
				continue;
			if (pol_key_covers(&k, rule)) {
				if (!rc->covered_by[0])
					snprintf(rc->covered_by, sizeof(rc->covered_by), "%s", name);
			} else if (pol_key_covers(rule, &k) && !in_list(rc->partial, name)) {
				size_t pl = strlen(rc->partial);

				snprintf(rc->partial + pl, sizeof(rc->partial) - pl, "%s%s", pl ? "," : "", name);
			}
		}
	}
	free(a.buf);
}

static int policy_add(int argc, char **argv)
{
	struct hermes_policy_key key;
	struct hermes_policy_val val;
	struct route_check rc = { 0 };
	enum hermes_action act = HERMES_ACT_PASS;
	char canon[80];
	int fd, err;

	if (argc != 3)
		return usage_error("policy add: expected CIDR[:PORT] ACTION, e.g. 'policy add 10.0.0.0/8:80 proxy'");
	/* Both words are checked before the map is opened: a typo must never leave a
	 * half-applied change or a misleading "cannot open" error. */
	if (parse_match_arg(argv[1], &key, canon, sizeof(canon)))
		return EXIT_USAGE;
	if (pol_parse_action(argv[2], &act)) {
		errmsg("unknown action '%s' (expected pass, deny, proxy, tunnel or http)", argv[2]);
		return EXIT_USAGE;
	}
	fd = open_policy();
	if (fd < 0)
		return EXIT_RUNTIME;
	memset(&val, 0, sizeof(val));
	val.action = (__u8)act;
	val.origin = HERMES_ORIGIN_MANUAL;
	err = pol_map_put(fd, &key, &val);
	close(fd);
	if (err) {
		errmsg("cannot write %s -> %s to %s/%s: %s%s", canon, argv[2], pin_root, HERMES_MAP_POLICY,
		       strerror(-err), err == -ENOSPC || err == -E2BIG ? " (the map is full: delete unused rules)" : "");
		return EXIT_RUNTIME;
	}
	if (act == HERMES_ACT_TUNNEL) {
		route_check(&key, &rc);
		if (!rc.checked)
			errmsg("warning: could not check that a tunnel route covers %s: hermesd %s at %s (%s)", canon,
			       rc.answered ? "refused GET /routes" : "did not answer", admin.addr, rc.detail);
		else if (!rc.covered_by[0] && rc.partial[0])
			errmsg("warning: tunnel route(s) %s cover only part of %s: connections to the rest of it will be "
			       "reset until hermesd's config has a route for them (see 'hermesctl routes')", rc.partial, canon);
		else if (!rc.covered_by[0])
			errmsg("warning: no tunnel route of hermesd at %s covers %s: its connections will be reset until "
			       "hermesd's config has a route for them (see 'hermesctl routes')", admin.addr, canon);
	}
	if (!json_out) {
		printf("policy: %s -> %s (manual)\n", canon, pol_action_name(act));
		return EXIT_OK;
	}
	printf("{\"match\": ");
	json_str(stdout, canon);
	printf(", \"action\": \"%s\", \"origin\": \"manual\", \"route_check\": ", pol_action_name(act));
	if (act != HERMES_ACT_TUNNEL) {
		printf("null}\n");
		return EXIT_OK;
	}
	printf("{\"checked\": %s, \"covered_by\": ", rc.checked ? "true" : "false");
	if (rc.covered_by[0])
		json_str(stdout, rc.covered_by);
	else
		printf("null");
	printf(", \"partial\": [");
	for (char *save = NULL, *t = strtok_r(rc.partial, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		printf("%s", t == rc.partial ? "" : ", ");
		json_str(stdout, t);
	}
	printf("]");
	if (!rc.checked) {
		printf(", \"detail\": ");
		json_str(stdout, rc.detail);
	}
	printf("}}\n");
	return EXIT_OK;
}

static int policy_del(int argc, char **argv)
{
	struct hermes_policy_key key;
	char canon[80];
	int fd, err;

	if (argc != 2)
		return usage_error("policy del: expected CIDR[:PORT], e.g. 'policy del 10.0.0.0/8:80'");
	if (parse_match_arg(argv[1], &key, canon, sizeof(canon)))
		return EXIT_USAGE;
	fd = open_policy();
	if (fd < 0)
		return EXIT_RUNTIME;
	err = pol_map_del(fd, &key);
	close(fd);
	if (err == -ENOENT) {
		errmsg("no rule for %s (see 'hermesctl policy list': the prefix and port must match exactly)", canon);
		return EXIT_RUNTIME;
	}
	if (err) {
		errmsg("cannot delete %s from %s/%s: %s", canon, pin_root, HERMES_MAP_POLICY, strerror(-err));
		return EXIT_RUNTIME;
	}
	if (json_out) {
		printf("{\"deleted\": ");
		json_str(stdout, canon);
		printf("}\n");
	} else {
		printf("policy: deleted %s\n", canon);
	}
	return EXIT_OK;
}

static int cmd_policy(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("policy: expected list, add or del");
	if (!strcmp(argv[1], "list"))
		return policy_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "add"))
		return policy_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete"))
		return policy_del(argc - 1, argv + 1);
	return usage_error("policy: unknown command '%s' (expected list, add or del)", argv[1]);
}

/* ---- disable ---- */

/* A JSON array of strings built as events come (--json output of disable). */
struct json_list {
	char *buf;
	size_t len;
	FILE *f;
};

static void json_list_add(struct json_list *l, const char *s)
{
	if (!l->f && !(l->f = open_memstream(&l->buf, &l->len)))
		return;
	fputs(ftell(l->f) ? ", " : "", l->f);
	json_str(l->f, s);
}

/* Prints the array and frees it. */
static void json_list_print(struct json_list *l)
{
	if (l->f)
		fclose(l->f);
	printf("[%s]", l->buf ? l->buf : "");
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

struct teardown_ctx {
	const struct link_desc *links;
	int n_links;
	int detached, unpinned, failed;
	struct json_list det, rm; /* --json: the links detached, the pins removed */
};

static void on_teardown(enum pin_event ev, const char *path, int err, void *arg)
{
	struct teardown_ctx *c = arg;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (err) {
		c->failed++;
		errmsg("cannot %s %s: %s", ev == PIN_EV_DETACH ? "detach" : ev == PIN_EV_UNPIN ? "remove pin" : "remove directory",
		       path, strerror(-err));
		return;
	}
	if (json_out) {
		char dir[PATH_MAX + 1];

		snprintf(dir, sizeof(dir), "%s/", path);
		json_list_add(ev == PIN_EV_DETACH ? &c->det : &c->rm, ev == PIN_EV_DETACH ? base : ev == PIN_EV_RMDIR ? dir : path);
		if (ev == PIN_EV_DETACH)
			c->detached++;
		else if (ev == PIN_EV_UNPIN)
			c->unpinned++;
		return;
	}
	switch (ev) {
	case PIN_EV_DETACH: {
		const struct link_desc *d = NULL;

		for (int i = 0; i < c->n_links; i++)
			if (!strcmp(c->links[i].name, base))
				d = &c->links[i];
		c->detached++;
		if (d && !d->error[0])
			printf("detached %s (%s, program %s) from %s\n", base, d->attach, d->prog, d->cgroup);
		else
			printf("detached %s\n", base);
		break;
	}
	case PIN_EV_UNPIN:
		c->unpinned++;
		printf("removed pin %s\n", path);
		break;
	case PIN_EV_RMDIR:
		printf("removed %s/\n", path);
		break;
	}
}

static void disable_json(struct teardown_ctx *c)
{
	printf("{\"pin_root\": ");
	json_str(stdout, pin_root);
	printf(", \"detached\": ");
	json_list_print(&c->det);
	printf(", \"removed\": ");
	json_list_print(&c->rm);
	printf(", \"failed\": %d}\n", c->failed);
}

static int cmd_disable(int argc, char **argv)
{
	struct teardown_ctx c = { 0 };
	struct link_desc *links = NULL;
	int n_links = 0, err;

	if (argc > 1)
		return usage_error("disable: unexpected argument '%s'", argv[1]);
	if (access(pin_root, F_OK) && errno == ENOENT) {
		/* idempotent: a second disable (or one after nothing ran) has nothing to do */
		if (json_out)
			disable_json(&c);
		else
			printf("Hermes is not enabled at %s: nothing to disable.\n", pin_root);
		return EXIT_OK;
	}
	if (check_root())
		return EXIT_RUNTIME;
	/* Described before teardown: afterwards there is nothing left to ask. */
	if (scan_links(&links, &n_links))
		n_links = 0;
	c.links = links;
	c.n_links = n_links;
	err = pin_teardown_report(pin_root, on_teardown, &c);
	free(links);
	if (err == -ENOTSUP) {
		errmsg("%s is not on bpffs: not a Hermes pin root, refusing to delete anything in it", pin_root);
		return EXIT_RUNTIME;
	}
	if (err == -EBUSY) {
		errmsg("%s is a bpffs mount point, not a Hermes pin root: refusing to remove every pin in it "
		       "(give hermesd's --pin-root, e.g. %s)", pin_root, HERMES_PIN_ROOT_DEFAULT);
		return EXIT_RUNTIME;
	}
	if (err && !c.failed) {
		errmsg("cannot tear down %s: %s (%s)", pin_root, strerror(-err), pin_hint(-err));
		return EXIT_RUNTIME;
	}
	if (err) {
		errmsg("%d step(s) failed: Hermes may still be partly attached (check 'bpftool cgroup tree')", c.failed);
		return EXIT_RUNTIME;
	}
	if (json_out)
		disable_json(&c);
	else
		printf("Hermes disabled: %d link(s) detached, %d pin(s) removed; connections are no longer steered.\n",
		       c.detached, c.unpinned);
	return EXIT_OK;
}

/* Routes live in hermesd's config, not in a map: ask hermesd. */
static int cmd_routes(int argc, char **argv)
{
	struct admin_answer a;
	bool json = json_out;
	char detail[256];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return usage_error("routes: unexpected argument '%s' (expected --json)", argv[i]);
	}
	if (admin_get(&admin, json ? "/routes" : "/routes?format=text", &a, detail, sizeof(detail))) {
		errmsg("routes: hermesd not reachable at %s (%s); routes come from hermesd's config, so it must be "
		       "running (give its admin address with --admin)", admin.addr, detail);
		return EXIT_RUNTIME;
	}
	if (a.status != 200) {
		status_line(&a, detail, sizeof(detail));
		errmsg("routes: hermesd at %s answered %s", admin.addr, detail);
		free(a.buf);
		return EXIT_RUNTIME;
	}
	fputs(a.body, stdout);
	free(a.buf);
	return EXIT_OK;
}

/* ---- certs ---- */

#define CERTS_MAX_HOSTS 64

/* certs init with --json: certs_init's lines (one per file written or CA reused)
 * become "messages". */
static int certs_init_json(const struct certs_opts *o)
{
	char err[PATH_MAX + 512], *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);
	int e;

	if (!mf) {
		errmsg("certs init: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	e = certs_init(o, mf, err, sizeof(err));
	fclose(mf);
	if (e) {
		free(buf);
		errmsg("certs init: %s", err);
		return EXIT_RUNTIME;
	}
	printf("{\"dir\": ");
	json_str(stdout, o->dir);
	printf(", \"hosts\": [");
	for (size_t i = 0; i < o->nhosts; i++) {
		printf("%s", i ? ", " : "");
		json_str(stdout, o->hosts[i]);
	}
	printf("], \"messages\": [");
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		printf("%s", l == buf ? "" : ", ");
		json_str(stdout, l);
	}
	printf("]}\n");
	free(buf);
	return EXIT_OK;
}

/* certs init DIR [--hosts A,B] [--days N] [--force] [--expired]; options in any order. */
static int certs_init_cmd(int argc, char **argv)
{
	struct certs_opts o = { .days = CERTS_DEFAULT_DAYS };
	const char *hosts[CERTS_MAX_HOSTS], *why;
	char *list = NULL, *end, err[PATH_MAX + 512];
	size_t n = 0;
	long days;
	int e;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--force")) {
			o.force = true;
		} else if (!strcmp(a, "--expired")) {
			o.expired = true;
		} else if (!strcmp(a, "--hosts") || !strcmp(a, "--days")) {
			if (i + 1 >= argc)
				return usage_error("certs init: %s needs an argument", a);
			if (a[2] == 'h') {
				list = argv[++i];
				continue;
			}
			errno = 0;
			days = strtol(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || days < 1 || days > CERTS_MAX_DAYS)
				return usage_error("certs init: bad --days '%s': expected 1 to %d", argv[i], CERTS_MAX_DAYS);
			o.days = (int)days;
		} else if (a[0] == '-') {
			return usage_error("certs init: unknown option '%s'", a);
		} else if (o.dir) {
			return usage_error("certs init: unexpected argument '%s' (one DIR only)", a);
		} else {
			o.dir = a;
		}
	}
	if (!o.dir || !*o.dir)
		return usage_error("certs init: missing DIR (where ca.crt, ca.key and the host files go)");
	if (list) {
		/* split in place: argv strings are ours to modify */
		for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (n == CERTS_MAX_HOSTS)
				return usage_error("certs init: more than %d host names", CERTS_MAX_HOSTS);
			if (certs_check_name(tok, &why))
				return usage_error("certs init: host name '%s' %s", tok, why);
			for (size_t j = 0; j < n; j++)
				if (!strcmp(hosts[j], tok))
					return usage_error("certs init: host name '%s' is given twice", tok);
			hosts[n++] = tok;
		}
		if (!n)
			return usage_error("certs init: --hosts needs at least one name");
	} else {
		hosts[n++] = CERTS_DEFAULT_HOST;
	}
	o.hosts = hosts;
	o.nhosts = n;
	if (json_out)
		return certs_init_json(&o);
	e = certs_init(&o, stdout, err, sizeof(err));
	if (e) {
		errmsg("certs init: %s", err);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int cmd_certs(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("certs: expected init");
	if (!strcmp(argv[1], "init"))
		return certs_init_cmd(argc - 1, argv + 1);
	return usage_error("certs: unknown command '%s' (expected init)", argv[1]);
}

/* The command named by words[0..n) (global options already taken out). */
static int run(char **argv, int argc, bool help)
{
	const char *cmd;

	if (help && (!argc || !strcmp(argv[0], "help"))) {
		usage(stdout);
		return EXIT_OK;
	}
	if (help)
		return command_help(argv, argc);
	if (cli_check_options(pin_root, &admin))
		return EXIT_USAGE;
	if (!argc)
		return usage_error("missing command (status, policy, routes, disable, certs or help)");
	cmd = argv[0];
	if (cmd[0] == '-' && cmd[1])
		return usage_error("unknown option '%s'", cmd);
	if (!strcmp(cmd, "help")) {
		if (argc == 1) {
			usage(stdout);
			return EXIT_OK;
		}
		return command_help(argv + 1, argc - 1);
	}
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc, argv);
	if (!strcmp(cmd, "disable"))
		return cmd_disable(argc, argv);
	if (!strcmp(cmd, "routes"))
		return cmd_routes(argc, argv);
	if (!strcmp(cmd, "certs"))
		return cmd_certs(argc, argv);
	return usage_error("unknown command '%s' (expected status, policy, routes, disable, certs or help)", cmd);
}

/* Takes the global options out of argv, wherever they are (before a "--"), leaving the
 * command words and the command's own options (certs init --hosts ...) in order in
 * words. Returns -1 to go on, or the exit status of a usage error. */
static int parse_global(int argc, char **argv, char **words, int *n_words, bool *help)
{
	bool dashdash = false;

	*n_words = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		const char **target = NULL;
		size_t l = 0;

		if (dashdash || a[0] != '-' || !a[1]) {
			words[(*n_words)++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = true;
		} else if (!strcmp(a, "--json")) {
			json_out = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			version_print(stdout, cli_prog);
			return EXIT_OK;
		} else if (!strncmp(a, "--pin-root", l = strlen("--pin-root")) && (!a[l] || a[l] == '=')) {
			target = &pin_root;
		} else if (!strncmp(a, "--admin", l = strlen("--admin")) && (!a[l] || a[l] == '=')) {
			target = &admin.addr;
		} else {
			words[(*n_words)++] = a; /* the command's own option, or an error it reports */
			continue;
		}
		if (!target)
			continue;
		if (a[l] == '=')
			*target = a + l + 1;
		else if (i + 1 < argc)
			*target = argv[++i];
		else
			return usage_error("option '%s' needs an argument", a);
	}
	words[*n_words] = NULL;
	return -1;
}

int main(int argc, char **argv)
{
	const char *env;
	char **words = calloc((size_t)argc + 1, sizeof(*words));
	bool help = false;
	int n, rc;

	if (!words) {
		errmsg("out of memory");
		return EXIT_RUNTIME;
	}
	/* the environment gives defaults; options on the line win */
	if ((env = getenv("HERMES_PIN_ROOT")) && *env)
		pin_root = env;
	if ((env = getenv("HERMES_ADMIN")) && *env)
		admin.addr = env;
	rc = parse_global(argc, argv, words, &n, &help);
	if (rc < 0)
		rc = run(words, n, help);
	free(words);
	return rc;
}
