/* metrics.h: pieces of hermesd's /metrics that are not the loop's plain counters:
 * counters by a label whose values come from the config (http route names, tunnel peer
 * addresses), so that their number is bounded by the config's size, and the process_*
 * families of the Prometheus client conventions, read from /proc. */
#ifndef HERMES_METRICS_H
#define HERMES_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define MLABEL_LEN 64
#define MLABEL_WIDTH 8 /* counters per label value, at most */

/* A set of label values, each with MLABEL_WIDTH counters (their meaning is the caller's:
 * a status class, a result...). */
struct mlabels {
	struct mlabel {
		char name[MLABEL_LEN];
		uint64_t v[MLABEL_WIDTH];
	} *e;
	int n;
};

/* Makes names[0..n) the set's values (duplicates count once): counters of values that
 * stay keep their counts, values no longer named are dropped (a reload removed them).
 * 0, or -ENOMEM with the set unchanged. */
int mlabels_set(struct mlabels *s, const char (*names)[MLABEL_LEN], int n);
/* The counters of value name, NULL if it is not in the set. */
uint64_t *mlabels_get(struct mlabels *s, const char *name);
void mlabels_free(struct mlabels *s);

/* What the process_* metrics report (prometheus_client's names and units). */
struct proc_stats {
	double start_time;       /* seconds since the epoch */
	double cpu_seconds;      /* user + system */
	uint64_t resident_bytes;
	uint64_t virtual_bytes;
	uint64_t max_fds;        /* RLIMIT_NOFILE soft limit */
};

/* Reads /proc/self/stat, /proc/stat (boot time) and RLIMIT_NOFILE. 0 or -errno. */
int proc_stats_read(struct proc_stats *p);
/* Open descriptors (entries of /proc/self/fd), -1 if it cannot be read. Slow with many:
 * 35 ms for 20000 (measured), the kernel makes an entry for each. */
long proc_count_fds(void);
/* The numbers after the command name of a /proc/PID/stat line (the text after its last
 * ')'), with the clock tick and page size to convert by, and the boot time: 0 or -EINVAL. */
int proc_stat_parse(const char *after_comm, long clk_tck, long page_size, double boot_time,
		    struct proc_stats *p);

#endif
