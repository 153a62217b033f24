/* metrics.c: label sets bounded by the config and the process_* metrics (metrics.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics.h"

uint64_t *mlabels_get(struct mlabels *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->e[i].name, name))
			return s->e[i].v;
	return NULL;
}

int mlabels_set(struct mlabels *s, const char (*names)[MLABEL_LEN], int n)
{
	struct mlabel *e = calloc(n > 0 ? (size_t)n : 1, sizeof(*e));
	struct mlabels ns = { .e = e };

	if (!e)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const uint64_t *old;

		if (mlabels_get(&ns, names[i]))
			continue;
		snprintf(e[ns.n].name, sizeof(e[ns.n].name), "%s", names[i]);
		if ((old = mlabels_get(s, e[ns.n].name)))
			memcpy(e[ns.n].v, old, sizeof(e[ns.n].v));
		ns.n++;
	}
	free(s->e);
	*s = ns;
	return 0;
}

void mlabels_free(struct mlabels *s)
{
	free(s->e);
	s->e = NULL;
	s->n = 0;
}

int proc_stat_parse(const char *after_comm, long clk_tck, long page_size, double boot_time,
		    struct proc_stats *p)
{
	unsigned long utime, stime, vsize;
	unsigned long long start;
	long rss;
	char state;

	/* fields 3 (state) to 24 (rss) of proc(5) */
	if (sscanf(after_comm, " %c %*d %*d %*d %*d %*d %*d %*d %*d %*d %*d %lu %lu %*d %*d %*d %*d %*d %*d %llu %lu %ld",
		   &state, &utime, &stime, &start, &vsize, &rss) != 6 || clk_tck <= 0)
		return -EINVAL;
	p->cpu_seconds = (double)(utime + stime) / (double)clk_tck;
	p->start_time = boot_time + (double)start / (double)clk_tck;
	p->virtual_bytes = vsize;
	p->resident_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page_size : 0;
	return 0;
}

/* btime of /proc/stat: the boot time, in seconds since the epoch. */
static double boot_time(void)
{
	static double bt;
	char line[256];
	FILE *f;

	if (bt > 0)
		return bt;
	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "btime %llu", &v) == 1) {
			bt = (double)v;
			break;
		}
	}
	fclose(f);
	return bt;
}

long proc_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	long n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

int proc_stats_read(struct proc_stats *p)
{
	char buf[1024], *rp;
	struct rlimit rl;
	ssize_t n;
	int fd, err;

	memset(p, 0, sizeof(*p));
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	err = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -err : -EINVAL;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: the last ')' ends it */
	rp = strrchr(buf, ')');
	if (!rp || (err = proc_stat_parse(rp + 1, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time(), p)))
		return -EINVAL;
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		p->max_fds = rl.rlim_cur;
	return 0;
}
