/* test_overload.c: unit tests (no root) for the memory budget: the count of buffer bytes
 * held (buf.c) going up and back to nothing with every shape of buffer, and the stage
 * (overload_next in overload.c) rising threshold by threshold and falling only once the
 * bytes are the hysteresis below a threshold. Exit 0 when every check passes, 1 otherwise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "config-t.h"
#include "overload.h"

#define MB (1ull << 20)

static bool test_buf_count(void)
{
	struct hbuf h = { 0 };
	struct rxbuf r = { 0 };
	long long base = buf_held;
	char line[3000];
	void *p;

	memset(line, 'x', sizeof(line));
	ASSERT_EQ(hb_put(&h, line, sizeof(line)), 0, "hb_put");
	ASSERT_EQ(buf_held - base, (long long)h.cap, "an hbuf counts its capacity");
	ASSERT_EQ(hb_put(&h, line, sizeof(line)), 0, "hb_put grows");
	ASSERT_EQ(buf_held - base, (long long)h.cap, "and its growth");
	ASSERT_EQ(hb_reserve(&h, 100000), 0, "hb_reserve");
	ASSERT_EQ(buf_held - base, (long long)h.cap, "and a reserve");
	ASSERT_EQ(rx_reserve(&r, 5000, 16384), 0, "rx_reserve");
	ASSERT_EQ(rx_put(&r, line, sizeof(line)), 0, "rx_put");
	ASSERT_EQ(buf_held - base, (long long)(h.cap + r.cap), "an rxbuf counts its capacity too");
	hb_free(&h);
	ASSERT_EQ(buf_held - base, (long long)r.cap, "hb_free counts it out");
	buf_free(r.p, r.cap); /* as a module that frees an rxbuf's bytes itself does */
	ASSERT_EQ(buf_held, base, "buf_free of an rxbuf's p counts it out");
	p = buf_malloc(4096);
	ASSERT_EQ(buf_held - base, 4096, "buf_malloc counts what it allocated");
	buf_free(p, 4096);
	ASSERT_EQ(buf_held, base, "and buf_free takes it back");
	return true;
}

/* A fixed buffer (the http action's) counts the pages written into it, not its size. */
static bool test_buf_touch(void)
{
	long long base = buf_held;
	size_t touched = 0;
	char *p = malloc(128 * 1024);

	ASSERT_TRUE(p != NULL, "malloc");
	ASSERT_EQ(buf_held, base, "allocated, nothing written: nothing counted");
	buf_touch(&touched, 100);
	ASSERT_EQ(buf_held - base, 4096, "a short head: its page");
	buf_touch(&touched, 4096);
	ASSERT_EQ(buf_held - base, 4096, "the rest of that page: nothing more");
	buf_touch(&touched, 40000);
	ASSERT_EQ(buf_held - base, 40960, "40000 bytes: 10 pages");
	buf_touch(&touched, 10);
	ASSERT_EQ(buf_held - base, 40960, "written from the front again: still what was written once");
	buf_free(p, touched);
	ASSERT_EQ(buf_held, base, "buf_free with the pages written takes them back");
	return true;
}

static bool test_stages(void)
{
	struct cfg_overload o = { .max_buffer_mb = 100, .stop_reading_pct = 80, .refuse_streams_pct = 90,
				  .refuse_conns_pct = 95, .hysteresis_pct = 5 };

	ASSERT_EQ(overload_next(&o, 0, 0), 0, "nothing held");
	ASSERT_EQ(overload_next(&o, 79 * MB, 0), 0, "under the first threshold");
	ASSERT_EQ(overload_next(&o, 80 * MB, 0), 1, "at 80%: stop reading");
	ASSERT_EQ(overload_next(&o, 90 * MB, 1), 2, "at 90%: refuse streams");
	ASSERT_EQ(overload_next(&o, 96 * MB, 0), 3, "at 95% straight from 0: refuse connections");
	ASSERT_EQ(overload_next(&o, 92 * MB, 3), 3, "falling: 3 kept within the hysteresis (95 - 5)");
	ASSERT_EQ(overload_next(&o, 89 * MB, 3), 2, "under 90%: 3 left, 2 kept (85 <= 89)");
	ASSERT_EQ(overload_next(&o, 84 * MB, 2), 1, "under 85%: 2 left, 1 kept");
	ASSERT_EQ(overload_next(&o, 76 * MB, 1), 1, "76%: 1 kept (75 <= 76)");
	ASSERT_EQ(overload_next(&o, 74 * MB, 1), 0, "under 75%: back to 0");
	ASSERT_EQ(overload_next(&o, 76 * MB, 0), 0, "rising again needs the threshold itself");
	o.hysteresis_pct = 0;
	ASSERT_EQ(overload_next(&o, 80 * MB - 1, 1), 0, "no hysteresis: left just under");
	o.max_buffer_mb = 0;
	ASSERT_EQ(overload_next(&o, 1ull << 40, 3), 0, "no budget: never shed");
	return true;
}

int main(void)
{
	RUN(test_buf_count);
	RUN(test_buf_touch);
	RUN(test_stages);
	return check_summary("test_overload");
}
