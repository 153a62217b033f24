/* test_heap.c: unit tests (no root) for userspace/heap.c, how hermesd uses glibc's
 * allocator: after heap_init a block the size of a stream's window is a mapping of its
 * own even after a larger mapped block was freed (glibc alone would have raised its mmap
 * threshold past it and served it from the heap), and heap_tick, at the end of a burst
 * (the bytes held fell by 1 MiB and a quarter, or a tick was quiet after 1 MiB was
 * freed), gives back the pages of blocks freed in the middle of the heap, which free
 * alone keeps resident. Under ASan the
 * allocator is ASan's, not glibc's: the test is skipped there (77). Exit 0 when every
 * check passes, 1 otherwise. */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "heap.h"

/* Resident bytes of this process (/proc/self/statm), 0 when unreadable. */
static size_t resident(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * (size_t)sysconf(_SC_PAGESIZE);
}

static bool test_window_is_mapped(void)
{
	void *big, *win;
	size_t mapped;

	/* glibc raises its threshold to the size of a mapped block when it is freed */
	big = malloc(4 << 20);
	if (!ASSERT_TRUE(big, "malloc 4 MiB"))
		/* cppcheck-suppress memleak ; ASSERT_TRUE gives back its condition: big is NULL here */
		return false;
	memset(big, 1, 4 << 20);
	free(big);
	mapped = mallinfo2().hblkhd;
	win = malloc(1 << 20);
	ASSERT_TRUE(win, "malloc 1 MiB");
	ASSERT_TRUE(mallinfo2().hblkhd >= mapped + (1 << 20),
		    "a 1 MiB block is mapped after a 4 MiB one was freed (mapped %zu -> %zu bytes)", mapped,
		    mallinfo2().hblkhd);
	free(win);
	return true;
}

#define N_BLOCKS 64
#define BLOCK (64 * 1024) /* below the mmap threshold: from the heap */

/* When heap_tick trims: after a fall of the bytes held of 1 MiB and a quarter of the peak,
 * at most every 5 s. */
static bool test_trim_policy(void)
{
	const long long mb = 1024 * 1024;

	heap_tick(0, 0, 0, 0);
	ASSERT_TRUE(!heap_tick(10 * mb, 0, 0, 1000), "rising: no trim");
	ASSERT_TRUE(!heap_tick(10 * mb - mb / 2, 0, 0, 2000), "half a MiB down: no trim");
	ASSERT_TRUE(!heap_tick(8 * mb, 0, 0, 3000), "2 MiB down, under a quarter of the 10 MiB peak: no trim");
	ASSERT_TRUE(heap_tick(7 * mb, 0, 0, 4000), "3 MiB down, over a quarter: trim");
	ASSERT_TRUE(!heap_tick(7 * mb, 0, 0, 5000), "the peak starts again from 7 MiB: no trim");
	ASSERT_TRUE(!heap_tick(6 * mb + mb / 2, 0, 0, 6000), "half a MiB below it: no trim");
	ASSERT_TRUE(!heap_tick(0, 0, 0, 7000), "all freed, 3 s after the last trim: no trim yet");
	ASSERT_TRUE(heap_tick(0, 0, 0, 9000), "all freed, 5 s after the last trim: trim");
	ASSERT_TRUE(!heap_tick(0, 0, 0, 20000), "nothing more: no trim");
	return true;
}

/* A burst of flows that stay: what is held only grows, but what the flows' setup freed
 * is trimmed at the first quiet tick (one whose flows freed under a sixteenth of it). */
static bool test_trim_after_churn(void)
{
	const long long mb = 1024 * 1024;

	heap_tick(0, 0, 0, 30000);
	ASSERT_TRUE(!heap_tick(2 * mb, 4 * mb, 4 * mb, 31000), "growing, 4 MiB freed in this tick: no trim");
	ASSERT_TRUE(!heap_tick(4 * mb, 8 * mb, 8 * mb, 32000), "growing, as much freed again: no trim");
	ASSERT_TRUE(heap_tick(4 * mb, 8 * mb + mb / 4, 8 * mb + mb / 4, 33000), "a tick that freed 1/32 of the 8 MiB: trim");
	ASSERT_TRUE(!heap_tick(4 * mb, 8 * mb + mb / 2, 8 * mb + mb / 2, 34000), "a quarter MiB more: no trim");
	ASSERT_TRUE(!heap_tick(8 * mb, 16 * mb, 16 * mb, 35000), "another burst: no trim");
	ASSERT_TRUE(!heap_tick(8 * mb, 16 * mb, 16 * mb, 36000), "quiet, 3 s after the last trim: not yet");
	ASSERT_TRUE(heap_tick(8 * mb, 16 * mb, 16 * mb, 38000), "quiet, 5 s after it: trim");
	/* a steady load: the same every second; a trim once the churn is 16 ticks' worth */
	for (int i = 1; i < 16; i++)
		ASSERT_TRUE(!heap_tick(8 * mb, 16 * mb + i * mb, 16 * mb + i * mb, 38000 + i * 1000), "steady, tick %d: no trim", i);
	ASSERT_TRUE(heap_tick(8 * mb, 32 * mb, 32 * mb, 54000), "steady, 16 MiB since the last trim, 1 in this tick: trim");
	/* the burst's last flows gave their buffers back in this tick's housekeeping (idle
	 * streams' rings): that is the quiet, and the trim comes in the same tick */
	ASSERT_TRUE(!heap_tick(8 * mb, 48 * mb, 48 * mb, 60000), "a burst: no trim");
	ASSERT_TRUE(heap_tick(4 * mb, 48 * mb, 52 * mb, 61000), "4 MiB freed by the tick's housekeeping alone: trim");
	return true;
}

#define N_BLOCKS 64
#define BLOCK (64 * 1024) /* below the mmap threshold: from the heap */

static bool test_trim_after_burst(void)
{
	void *blocks[N_BLOCKS], *pins[N_BLOCKS];
	size_t before, after_free, after_tick;

	heap_tick(0, 0, 0, 100000);
	/* a burst: blocks written whole, each followed by a small block that stays, so that
	 * the freed blocks sit in the middle of the heap, not at its top */
	for (int i = 0; i < N_BLOCKS; i++) {
		blocks[i] = malloc(BLOCK);
		pins[i] = malloc(32);
		ASSERT_TRUE(blocks[i] && pins[i], "malloc %d", i);
		memset(blocks[i], 1, BLOCK);
	}
	ASSERT_TRUE(!heap_tick(N_BLOCKS * BLOCK, 0, 0, 101000), "the burst's bytes held: no trim");
	before = resident();
	for (int i = 0; i < N_BLOCKS; i++)
		free(blocks[i]);
	after_free = resident();
	ASSERT_TRUE(after_free + N_BLOCKS * BLOCK / 2 > before,
		    "free keeps the burst resident (%zu -> %zu bytes): the test is meaningful", before, after_free);
	ASSERT_TRUE(heap_tick(0, 0, 0, 102000), "heap_tick trims once the %d KiB held are freed", N_BLOCKS * BLOCK / 1024);
	after_tick = resident();
	ASSERT_TRUE(after_tick + N_BLOCKS * BLOCK * 3 / 4 < after_free,
		    "the burst's pages went back: resident %zu -> %zu bytes", after_free, after_tick);
	for (int i = 0; i < N_BLOCKS; i++)
		free(pins[i]);
	return true;
}

int main(void)
{
#ifdef __SANITIZE_ADDRESS__
	printf("test_heap: skipped, the allocator under ASan is ASan's, not glibc's\n");
	return 77;
#endif
	heap_init();
	RUN(test_window_is_mapped);
	RUN(test_trim_policy);
	RUN(test_trim_after_burst);
	RUN(test_trim_after_churn); /* last: its running total of bytes freed stays */
	return check_summary("test_heap");
}
