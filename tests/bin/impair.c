/* impair.c: TEST-ONLY loader of tests/bpf/impair.bpf.c, the TC program that cuts a link in
 * bursts. Run it inside a test network namespace (nsenter --net=/run/netns/NS); it refuses
 * the root one. It pins nothing: the TC filter holds the program, and `set`/`stats` find
 * the program's maps through the filter (fixed handle and priority) on DEV.
 *   impair attach DEV [ingress|egress|both]   (default both: the link is cut both ways)
 *   impair set DEV PERIOD_MS OUTAGE_MS DROP_PCT [START_MS]
 *       an outage of OUTAGE_MS (DROP_PCT % of IP packets dropped) at the start of every
 *       PERIOD_MS, the first one START_MS (default 0) from now
 *   impair set DEV off
 *   impair stats DEV      one line: passed_pkts= passed_bytes= dropped_pkts= dropped_bytes=
 *   impair detach DEV     removes the filters (the clsact qdisc goes with the netns) */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "../bpf/impair.h"
#include "tests/bpf/impair.skel.h"

/* not hermesd's 0x484d/1: both may sit on one interface */
#define IMPAIR_HANDLE 0x494d
#define IMPAIR_PRIO 2

static int usage(void)
{
	fprintf(stderr, "usage: impair attach DEV [ingress|egress|both] | set DEV PERIOD_MS OUTAGE_MS DROP_PCT [START_MS] |"
			" set DEV off | stats DEV | detach DEV\n");
	return 2;
}

/* TC programs only ever go on test interfaces: the current network namespace must be a
 * named one (/run/netns/NAME, as the tests' are), and not init's when that is visible. */
static int not_root_netns(void)
{
	struct stat self, other;
	struct dirent *e;
	DIR *d;
	int named = 0;

	if (stat("/proc/self/ns/net", &self)) {
		perror("impair: /proc/self/ns/net");
		return -1;
	}
	if (!stat("/proc/1/ns/net", &other) && self.st_ino == other.st_ino && self.st_dev == other.st_dev) {
		fprintf(stderr, "impair: refusing to run in the root network namespace\n");
		return -1;
	}
	d = opendir("/run/netns");
	while (d && (e = readdir(d))) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
		if (e->d_name[0] != '.' && !stat(path, &other) && self.st_ino == other.st_ino && self.st_dev == other.st_dev)
			named = 1;
	}
	if (d)
		closedir(d);
	if (!named)
		fprintf(stderr, "impair: refusing to run outside a named test namespace (use nsenter --net=/run/netns/NS)\n");
	return named ? 0 : -1;
}

static int ifindex_of(const char *dev)
{
	int i = (int)if_nametoindex(dev);

	if (!i)
		fprintf(stderr, "impair: interface %s: %s\n", dev, strerror(errno));
	return i;
}

static int attach(int ifindex, const char *where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	bool in = !strcmp(where, "ingress") || !strcmp(where, "both");
	bool out = !strcmp(where, "egress") || !strcmp(where, "both");
	struct impair_bpf *skel;
	int err;

	if (!in && !out)
		return usage();
	skel = impair_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "impair: cannot load the program: %s\n", strerror(errno));
		return 1;
	}
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		fprintf(stderr, "impair: cannot create the clsact qdisc: %s\n", strerror(-err));
		impair_bpf__destroy(skel);
		return 1;
	}
	for (int d = 0; d < 2 && !err; d++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = IMPAIR_HANDLE, .priority = IMPAIR_PRIO,
				    .flags = BPF_TC_F_REPLACE, .prog_fd = bpf_program__fd(skel->progs.impair_tc));

		if (!(d ? out : in))
			continue;
		hook.attach_point = d ? BPF_TC_EGRESS : BPF_TC_INGRESS;
		err = bpf_tc_attach(&hook, &opts);
		if (err)
			fprintf(stderr, "impair: cannot attach at %s: %s\n", d ? "egress" : "ingress", strerror(-err));
	}
	/* the filters keep the program (and its maps) after the skeleton is gone */
	impair_bpf__destroy(skel);
	if (!err)
		printf("impair: attached to ifindex %d (%s), passing everything until `impair set`\n", ifindex, where);
	return err ? 1 : 0;
}

/* The fd of map NAME of the program attached on either side of ifindex, or -1. */
static int find_map(int ifindex, const char *name)
{
	for (int d = 0; d < 2; d++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = d ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = IMPAIR_HANDLE, .priority = IMPAIR_PRIO);
		struct bpf_prog_info pinfo = {};
		__u32 ids[8], len = sizeof(pinfo);
		int pfd;

		if (bpf_tc_query(&hook, &opts))
			continue;
		pfd = bpf_prog_get_fd_by_id(opts.prog_id);
		if (pfd < 0)
			continue;
		pinfo.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
		pinfo.map_ids = (__u64)(unsigned long)ids;
		if (bpf_obj_get_info_by_fd(pfd, &pinfo, &len)) {
			close(pfd);
			continue;
		}
		close(pfd);
		for (__u32 i = 0; i < pinfo.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++) {
			struct bpf_map_info minfo = {};
			__u32 mlen = sizeof(minfo);
			int mfd = bpf_map_get_fd_by_id(ids[i]);

			if (mfd < 0)
				continue;
			if (!bpf_obj_get_info_by_fd(mfd, &minfo, &mlen) && !strcmp(minfo.name, name))
				return mfd;
			close(mfd);
		}
	}
	fprintf(stderr, "impair: no impair program (map %s) attached on ifindex %d\n", name, ifindex);
	return -1;
}

static int set(int ifindex, int argc, char **argv)
{
	struct impair_conf c = {};
	struct timespec ts;
	__u32 zero = 0;
	int fd, err;

	if (argc == 1 && !strcmp(argv[0], "off")) {
		c.enabled = 0;
	} else if (argc == 3 || argc == 4) {
		unsigned long period = strtoul(argv[0], NULL, 10), outage = strtoul(argv[1], NULL, 10),
			      pct = strtoul(argv[2], NULL, 10), start = argc == 4 ? strtoul(argv[3], NULL, 10) : 0;

		if (!period || outage > period || pct > 100) {
			fprintf(stderr, "impair: expected PERIOD_MS > 0, OUTAGE_MS <= PERIOD_MS, DROP_PCT <= 100\n");
			return 2;
		}
		/* bpf_ktime_get_ns() is CLOCK_MONOTONIC */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		c.start_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec + start * 1000000ull;
		c.period_ns = period * 1000000ull;
		c.outage_ns = outage * 1000000ull;
		c.drop_pct = (__u32)pct;
		c.enabled = 1;
	} else {
		return usage();
	}
	fd = find_map(ifindex, "impair_cfg");
	if (fd < 0)
		return 1;
	err = bpf_map_update_elem(fd, &zero, &c, BPF_ANY);
	close(fd);
	if (err) {
		fprintf(stderr, "impair: cannot write impair_cfg: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int stats(int ifindex)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	struct impair_counters sum = {}, *per;
	__u32 zero = 0;

	if (ncpu <= 0)
		return 1;
	fd = find_map(ifindex, "impair_stats");
	if (fd < 0)
		return 1;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per || bpf_map_lookup_elem(fd, &zero, per)) {
		fprintf(stderr, "impair: cannot read impair_stats: %s\n", strerror(errno));
		free(per);
		close(fd);
		return 1;
	}
	for (int i = 0; i < ncpu; i++) {
		sum.passed_pkts += per[i].passed_pkts;
		sum.passed_bytes += per[i].passed_bytes;
		sum.dropped_pkts += per[i].dropped_pkts;
		sum.dropped_bytes += per[i].dropped_bytes;
	}
	printf("passed_pkts=%llu passed_bytes=%llu dropped_pkts=%llu dropped_bytes=%llu\n",
	       (unsigned long long)sum.passed_pkts, (unsigned long long)sum.passed_bytes,
	       (unsigned long long)sum.dropped_pkts, (unsigned long long)sum.dropped_bytes);
	free(per);
	close(fd);
	return 0;
}

static int detach(int ifindex)
{
	int gone = 0;

	for (int d = 0; d < 2; d++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = d ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = IMPAIR_HANDLE, .priority = IMPAIR_PRIO);

		if (!bpf_tc_detach(&hook, &opts))
			gone++;
	}
	printf("impair: %d filter(s) removed from ifindex %d\n", gone, ifindex);
	return 0;
}

int main(int argc, char **argv)
{
	int ifindex;

	if (argc < 3)
		return usage();
	if (not_root_netns())
		return 1;
	ifindex = ifindex_of(argv[2]);
	if (!ifindex)
		return 1;
	if (!strcmp(argv[1], "attach"))
		return attach(ifindex, argc > 3 ? argv[3] : "both");
	if (!strcmp(argv[1], "set"))
		return set(ifindex, argc - 3, argv + 3);
	if (!strcmp(argv[1], "stats"))
		return stats(ifindex);
	if (!strcmp(argv[1], "detach"))
		return detach(ifindex);
	return usage();
}
