/* test_pagestack.c: unit tests (no root) for userspace/pagestack.h, the free list that
 * buf.c's setup buffers and rxpool.c's receive buffers share: the most recently freed
 * buffer is taken first; a tick gives back the written pages of exactly the buffers that
 * stayed on the stack since the last tick (they read as zeros after; a buffer used in
 * between keeps its bytes), counting them and the resident bytes out; every buffer ever
 * handed out idle for a tick goes back in one call; and through buf.c, the setup buffers
 * (rx_setup, rx_setup_free, buf_setup_tick: the count behind
 * hermes_setup_buffer_releases_total, buf_held while given out). Exit 0 when every check
 * passes, 1 otherwise. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "check.h"
#include "pagestack.h"

#define N 8
#define SZ (4 * 4096)

static uint8_t *map(void)
{
	void *m = mmap(NULL, N * SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

static bool zeros(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Take a buffer, write `pages` pages of it with byte v. */
static uint32_t use(struct pgstack *s, unsigned pages, uint8_t v)
{
	uint32_t id = pgstack_pop(s);

	memset(pgstack_buf(s, id), v, (size_t)pages * 4096);
	pgstack_wrote(s, id, pages);
	return id;
}

static bool test_order_and_tick(void)
{
	struct pgstack s;
	uint8_t *m = map();
	uint32_t a, b, c;
	bool ok = true;

	if (!ASSERT_TRUE(m != NULL, "mmap") || !ASSERT_EQ(pgstack_init(&s, m, SZ, N), 0, "init"))
		return false;
	for (uint32_t i = 0; i < N; i++)
		pgstack_push(&s, N - 1 - i); /* 0 on top */
	s.low = N;
	a = use(&s, 1, 0xa1);
	b = use(&s, 2, 0xb2);
	c = use(&s, 4, 0xc3);
	ok &= ASSERT_EQ(a, 0, "the top first");
	ok &= ASSERT_EQ(b, 1, "then the next");
	ok &= ASSERT_EQ(s.resident, 7 * 4096, "resident: the pages written");
	pgstack_wrote(&s, b, 1);
	ok &= ASSERT_EQ(s.resident, 7 * 4096, "writing fewer pages again adds nothing");
	pgstack_push(&s, a);
	pgstack_push(&s, b);
	pgstack_push(&s, c);
	ok &= ASSERT_EQ(pgstack_pop(&s), c, "the most recently freed first");
	pgstack_push(&s, c);
	/* the stack was at its lowest (5) with a, b, c taken: they were used this tick */
	ok &= ASSERT_EQ(pgstack_tick(&s, N), 0, "tick: nothing below the low mark was written");
	ok &= ASSERT_TRUE(pgstack_buf(&s, a) == m && m[0] == 0xa1, "a used this tick keeps its bytes");
	/* next tick: only c is taken and put back; a and b idle below it */
	c = use(&s, 1, 0xc4);
	pgstack_push(&s, c);
	ok &= ASSERT_EQ(pgstack_tick(&s, N), 2, "tick: a and b (written, idle for a tick) given back");
	ok &= ASSERT_TRUE(zeros(pgstack_buf(&s, a), SZ) && zeros(pgstack_buf(&s, b), SZ), "their pages read as zeros");
	ok &= ASSERT_EQ(((uint8_t *)pgstack_buf(&s, c))[0], 0xc4, "c, used this tick, keeps its bytes");
	ok &= ASSERT_EQ(s.resident, 4 * 4096, "resident: c's 4 pages left");
	/* a whole tick with every buffer on the stack: the range in one call, c's pages too */
	ok &= ASSERT_EQ(pgstack_tick(&s, N), 1, "tick: c idle a whole tick now: given back");
	ok &= ASSERT_EQ(pgstack_tick(&s, N), 0, "tick: nothing written since");
	ok &= ASSERT_TRUE(zeros(m, N * SZ), "every page reads as zeros");
	ok &= ASSERT_EQ(s.resident, 0, "resident: none");
	pgstack_fini(&s);
	munmap(m, N * SZ);
	return ok;
}

static bool test_setup_buffers(void)
{
	struct rxbuf b[3] = { 0 }, again = { 0 };
	long long held0 = buf_held;
	void *last;
	bool ok = true;

	buf_setup_tick(); /* whatever ran before in this process: a tick of its own */
	buf_setup_tick();
	for (int i = 0; i < 3; i++) {
		ok &= ASSERT_EQ(rx_setup(&b[i]), 0, "rx_setup");
		ok &= ASSERT_EQ(b[i].cap, BUF_SETUP_SIZE, "a setup buffer's size");
		memset(b[i].p, 'x', 100);
	}
	ok &= ASSERT_EQ(buf_held - held0, 3 * BUF_SETUP_SIZE, "counted in buf_held while given out");
	last = b[2].p;
	for (int i = 0; i < 3; i++)
		rx_setup_free(&b[i]);
	ok &= ASSERT_EQ(buf_held, held0, "buf_held back");
	ok &= ASSERT_EQ(rx_setup(&again), 0, "rx_setup again");
	ok &= ASSERT_TRUE(again.p == last, "the last one given back is the one taken again");
	rx_setup_free(&again);
	ok &= ASSERT_EQ(buf_setup_tick(), 0, "first tick: they were used during it");
	ok &= ASSERT_EQ(buf_setup_tick(), 3, "second tick: the 3 buffers written go back");
	ok &= ASSERT_TRUE(zeros(last, BUF_SETUP_SIZE), "and read as zeros");
	ok &= ASSERT_EQ(buf_setup_tick(), 0, "nothing written since: nothing more");
	return ok;
}

int main(void)
{
	RUN(test_order_and_tick);
	RUN(test_setup_buffers);
	return check_summary("test_pagestack");
}
