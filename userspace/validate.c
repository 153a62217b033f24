/* validate.c: hermesd --check, and the checks every start makes before anything is
 * attached: a value that parses may still not work (a certificate file that is not
 * there, a user that does not exist, a cgroup that is a plain directory). Each
 * problem is reported where it was written, FILE:LINE from the key lines the parser
 * recorded, or the command-line option that replaced it. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "addr.h"
#include "config.h"
#include "pinfs.h"
#include "tls.h"
#include "validate.h"

/* The command-line option that sets a key, for messages. */
static const char *key_option(const char *key)
{
	static const struct { const char *key, *opt; } opts[] = {
		{ "cgroup", "--cgroup" }, { "pin_root", "--pin-root" }, { "user", "--user" },
		{ "access_log", "--access-log" }, { "tc_interfaces", "--tc-iface" },
		{ "listeners.outbound", "--listen" }, { "listeners.outbound6", "--listen6" },
		{ "listeners.admin", "--admin" }, { "listeners.tunnel", "--tunnel-listen" },
		{ "inbound.listen", "--inbound-listen" }, { "listeners.metrics", "--metrics" },
		{ "detach_on_exit", "--detach-on-exit" }, { "log_level", "--log-level" },
		{ "log_format", "--log-format" }, { "log_bpf", "--log-bpf" }, { "proxy.relay", "--relay" },
		{ "proxy.sk_msg", "--sk-msg" }, { "flow_table", "--flow-table" }, { "inbound", "--inbound-listen" },
	};

	for (unsigned i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcmp(opts[i].key, key))
			return opts[i].opt;
	return key;
}

/* One problem about key, whose value is val: "FILE:LINE: key 'val': ...",
 * "--option 'val': ..." or "key 'val' (the default): ...". */
static void __attribute__((format(printf, 4, 5)))
problem(const struct hermes_config *cfg, const char *key, const char *val, const char *fmt, ...)
{
	int line = config_key_line(cfg, key);
	va_list ap;

	if (line > 0)
		fprintf(stderr, "hermesd: %s:%d: %s '%s': ", cfg->source, line, key, val);
	else if (line < 0)
		fprintf(stderr, "hermesd: %s '%s': ", key_option(key), val);
	else
		fprintf(stderr, "hermesd: %s '%s' (the default): ", key, val);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int check_cgroup(const struct hermes_config *cfg)
{
	struct statfs sfs;
	struct stat st;

	if (!cfg->cgroup[0]) {
		problem(cfg, "cgroup", "", "no cgroup v2 mount found in /proc/self/mounts (mount cgroup2, or give "
			"--cgroup or 'cgroup:')");
		return 1;
	}
	if (stat(cfg->cgroup, &st) || statfs(cfg->cgroup, &sfs)) {
		problem(cfg, "cgroup", cfg->cgroup, "%s (expected an existing cgroup v2 directory, e.g. "
			"/sys/fs/cgroup/myapps made with mkdir)", strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode) || sfs.f_type != (typeof(sfs.f_type))CGROUP2_SUPER_MAGIC) {
		problem(cfg, "cgroup", cfg->cgroup, "not a cgroup v2 directory (%s; expected a directory on the cgroup2 "
			"mount, see /proc/self/mounts)", !S_ISDIR(st.st_mode) ? "not a directory" :
			"its file system is not cgroup2");
		return 1;
	}
	return 0;
}

static int check_pin_root(const struct hermes_config *cfg)
{
	int err = pin_root_check(cfg->pin_root);

	if (!err)
		return 0;
	if (err == -ENOTSUP)
		problem(cfg, "pin_root", cfg->pin_root, "not on a bpffs (expected a directory on bpffs, e.g. under "
			"/sys/fs/bpf, or whose parent is on bpffs)");
	else
		problem(cfg, "pin_root", cfg->pin_root, "%s (expected a directory on bpffs, e.g. /sys/fs/bpf/hermes)",
			strerror(-err));
	return 1;
}

static int check_user(const struct hermes_config *cfg)
{
	struct passwd *pw;

	if (!cfg->user[0])
		return 0;
	errno = 0;
	pw = getpwnam(cfg->user);
	if (pw)
		return 0;
	problem(cfg, "user", cfg->user, "%s (expected a user in the passwd database, e.g. nobody)",
		errno ? strerror(errno) : "no such user");
	return 1;
}

/* A file hermesd must read: it exists, is a regular file and opens. */
static int check_readable(const struct hermes_config *cfg, const char *key, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		problem(cfg, key, path, "cannot open: %s", strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		problem(cfg, key, path, "not a regular file (expected a PEM file)");
		return 1;
	}
	close(fd);
	return 0;
}

static int check_tls(const struct hermes_config *cfg)
{
	static const char *const keys[] = { "tls.cert", "tls.key", "tls.ca" };
	const char *const paths[] = { cfg->tls.cert, cfg->tls.key, cfg->tls.ca };
	void *server = NULL, *client = NULL;
	char err[1024];
	int n = 0;

	if (!cfg->tls.cert[0])
		return 0;
	for (int i = 0; i < 3; i++)
		n += check_readable(cfg, keys[i], paths[i]);
	if (n)
		return n;
	/* the same loader as a start: certificate chain, key, their match, the CA */
	if (!tls_ctx_new(&cfg->tls, &server, &client, err, sizeof(err))) {
		tls_ctx_free(server);
		tls_ctx_free(client);
		return 0;
	}
	/* err starts with the key at fault ("tls.key /x: ..."): put its line in front */
	for (int i = 2; i >= 0; i--) {
		if (!strncmp(err, keys[i], strlen(keys[i]))) {
			int line = config_key_line(cfg, keys[i]);

			if (line > 0)
				fprintf(stderr, "hermesd: %s:%d: %s\n", cfg->source, line, err);
			else
				fprintf(stderr, "hermesd: %s\n", err);
			return 1;
		}
	}
	fprintf(stderr, "hermesd: %s: tls: %s\n", cfg->source, err);
	return 1;
}

static int check_tc_ifaces(const struct hermes_config *cfg)
{
	int n = 0;

	for (int i = 0; i < cfg->n_tc_ifaces; i++) {
		if (if_nametoindex(cfg->tc_ifaces[i]))
			continue;
		problem(cfg, "tc_interfaces", cfg->tc_ifaces[i], "no such interface in hermesd's network namespace (%s)",
			strerror(errno));
		n++;
	}
	return n;
}

/* The access log file can be appended to: the file is writable, or its directory is
 * (nothing is created here). */
static int check_access_log(const struct hermes_config *cfg)
{
	char dir[PATH_MAX];

	if (cfg->access_log[0] != '/')
		return 0;
	if (!access(cfg->access_log, W_OK))
		return 0;
	if (errno == ENOENT) {
		snprintf(dir, sizeof(dir), "%s", cfg->access_log);
		if (!access(dirname(dir), W_OK | X_OK))
			return 0;
	}
	problem(cfg, "access_log", cfg->access_log, "cannot be written: %s (expected a file hermesd can append to, "
		"in an existing directory)", strerror(errno));
	return 1;
}

/* Do a and b want the same port of the same family on overlapping addresses (the same
 * one, or either the wildcard)? Then the second bind of a start fails. */
static bool listeners_clash(const struct cfg_sockaddr *a, const struct cfg_sockaddr *b)
{
	if (!a->len || !b->len || a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return x->sin_port == y->sin_port && (x->sin_addr.s_addr == y->sin_addr.s_addr ||
						      !x->sin_addr.s_addr || !y->sin_addr.s_addr);
	} else {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return x->sin6_port == y->sin6_port &&
		       (!memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) ||
			IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr));
	}
}

static int check_listeners(const struct hermes_config *cfg)
{
	const struct { const char *key; const struct cfg_sockaddr *a; } l[] = {
		{ "listeners.outbound", &cfg->listen }, { "listeners.outbound6", &cfg->listen6 },
		{ "listeners.admin", &cfg->admin }, { "listeners.tunnel", &cfg->tunnel },
		{ "listeners.metrics", &cfg->metrics },
		{ "inbound.listen", cfg->inbound.on ? &cfg->inbound.listen : NULL },
		{ "inbound.listen6", cfg->inbound.on ? &cfg->inbound.listen6 : NULL },
	};
	char buf[ADDR_STRLEN];
	int n = 0;

	for (unsigned i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		for (unsigned j = i + 1; j < sizeof(l) / sizeof(l[0]) && l[i].a; j++) {
			if (!l[j].a || !listeners_clash(l[i].a, l[j].a))
				continue;
			problem(cfg, l[j].key, addr_fmt((const struct sockaddr *)&l[j].a->ss, buf, sizeof(buf)),
				"the same port as %s (expected each listener on its own address and port)", l[i].key);
			n++;
		}
	}
	return n;
}

int validate_config(const struct hermes_config *cfg)
{
	return check_cgroup(cfg) + check_pin_root(cfg) + check_user(cfg) + check_tls(cfg) + check_tc_ifaces(cfg) +
	       check_access_log(cfg) + check_listeners(cfg);
}
