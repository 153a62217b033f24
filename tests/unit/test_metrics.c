/* test_metrics.c: unit tests (no root) for userspace/metrics.c: label sets that follow
 * the config across reloads (counts kept for values that stay, dropped for the others,
 * duplicates once), the /proc/PID/stat parsing behind the process_* metrics, and a read
 * of this process's own numbers. Exit 0 when every check passes, 1 otherwise. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"

static bool test_labels(void)
{
	static const char first[][MLABEL_LEN] = { "api", "-", "web", "api" };
	static const char second[][MLABEL_LEN] = { "web", "new", "-" };
	struct mlabels s = { 0 };
	uint64_t *v;
	bool ok = true;

	ok &= ASSERT_EQ(mlabels_set(&s, first, 4), 0, "first set");
	ok &= ASSERT_EQ(s.n, 3, "a duplicate name counts once");
	ok &= ASSERT_TRUE(mlabels_get(&s, "nothere") == NULL, "an unknown value has no counters");
	if (!ASSERT_TRUE((v = mlabels_get(&s, "web")) != NULL, "web is in the set"))
		return false;
	v[1] = 7;
	mlabels_get(&s, "api")[0] = 3;
	mlabels_get(&s, "-")[4] = 2;
	ok &= ASSERT_EQ(mlabels_set(&s, second, 3), 0, "second set (a reload)");
	ok &= ASSERT_EQ(s.n, 3, "three values after the reload");
	ok &= ASSERT_TRUE(mlabels_get(&s, "api") == NULL, "a value the reload removed is dropped");
	ok &= ASSERT_EQ(mlabels_get(&s, "web")[1], 7, "web keeps its count");
	ok &= ASSERT_EQ(mlabels_get(&s, "-")[4], 2, "- keeps its count");
	ok &= ASSERT_EQ(mlabels_get(&s, "new")[0], 0, "a new value starts at 0");
	ok &= ASSERT_STREQ(s.e[0].name, "web", "config order is kept");
	ok &= ASSERT_EQ(mlabels_set(&s, second, 0), 0, "an empty set");
	ok &= ASSERT_EQ(s.n, 0, "no values");
	mlabels_free(&s);
	return ok;
}

static bool test_stat_parse(void)
{
	/* a /proc/PID/stat line of a process named "a) b" (the text after its last ')') */
	static const char line[] = " S 1 2 3 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 104857600 2560 "
				   "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
	struct proc_stats p;
	bool ok = true;

	ok &= ASSERT_EQ(proc_stat_parse(line, 100, 4096, 1000.0, &p), 0, "parses");
	ok &= ASSERT_TRUE(p.cpu_seconds > 2.999 && p.cpu_seconds < 3.001, "cpu 300 ticks = 3 s, got %g", p.cpu_seconds);
	ok &= ASSERT_TRUE(p.start_time > 1123.449 && p.start_time < 1123.451, "start = boot + 12345 ticks, got %f",
			  p.start_time);
	ok &= ASSERT_EQ(p.resident_bytes, 2560ULL * 4096, "rss pages * page size");
	ok &= ASSERT_EQ(p.virtual_bytes, 104857600, "vsize");
	ok &= ASSERT_EQ(proc_stat_parse(" S 1 2", 100, 4096, 0, &p), -22, "a cut line is refused");
	return ok;
}

static bool test_self(void)
{
	struct proc_stats p;
	struct rlimit rl;
	bool ok = true;

	if (!ASSERT_EQ(proc_stats_read(&p), 0, "reads /proc/self"))
		return false;
	ok &= ASSERT_TRUE(p.start_time > (double)time(NULL) - 600 && p.start_time <= (double)time(NULL) + 1,
			  "started in the last 10 minutes: %f", p.start_time);
	ok &= ASSERT_TRUE(p.resident_bytes > 4096, "some resident memory: %llu", (unsigned long long)p.resident_bytes);
	ok &= ASSERT_TRUE(proc_count_fds() >= 3, "stdin, stdout, stderr at least: %ld", proc_count_fds());
	getrlimit(RLIMIT_NOFILE, &rl);
	ok &= ASSERT_EQ(p.max_fds, rl.rlim_cur, "max fds is RLIMIT_NOFILE");
	{
		int fds[2];
		long before = proc_count_fds();

		if (!pipe(fds)) {
			ok &= ASSERT_EQ(proc_count_fds(), before + 2, "a pipe adds two descriptors");
			close(fds[0]);
			close(fds[1]);
		}
	}
	return ok;
}

int main(void)
{
	RUN(test_labels);
	RUN(test_stat_parse);
	RUN(test_self);
	return check_summary("test_metrics");
}
