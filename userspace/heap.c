/* heap.c: freed memory back to the kernel after a burst (see heap.h).
 * Measured on the soak (tests/soak/soak.sh) before this: the relay that takes over the
 * tunnel flows of a killed relay grew by 0.3 to 1.2 MB at each failover, for good, with
 * the memory free inside glibc's heap (malloc_info: 18 MB of heap, 10 MB of it free, no
 * mmapped chunk at all; malloc_trim from a debugger took its RSS from 24.7 to 16.5 MB).
 * Two causes: glibc raises its mmap threshold to the size of each mapped chunk freed
 * (up to 32 MiB), after which the 1 MiB stream windows came from the heap, where their
 * written pages stay resident once freed; and free memory in the middle of the heap is
 * given back only by malloc_trim, never by free.
 * The price of the pinned threshold: a 1 MiB block with 64 KiB written, then freed,
 * costs 42 us of CPU as a mapping of its own (mmap, page faults, munmap) against 0.6 us
 * from the heap (measured), once for each stream or TLS flow that receives data. The
 * trim alone, with glibc's moving threshold, kept more in 10 minutes of a 30-minute soak:
 * RSS peaks under load of 17.7-20.4 MB against 13.1-16.0, C's baseline 17.9 against 11.4. */
#include <malloc.h>

#include "heap.h"

/* Blocks allocated and freed at the connection rate (a socket's 16 KiB setup buffer,
 * the http action's buffers) stay in the heap, where a freed one fits the next;
 * anything larger gets its own mapping. Setting it also stops glibc moving its trim
 * threshold (M_TRIM_THRESHOLD stays 128 KiB: the heap's top goes back on free). */
#define HEAP_MMAP_THRESHOLD (256 * 1024)
/* A trim follows a fall of the buffer memory held of at least this much and at least
 * HEAP_TRIM_SHARE of its peak since the last trim: the end of a burst, not the ups and
 * downs of steady traffic. malloc_trim walks every free chunk (measured: 4 ms for 20k
 * free chunks, 0.6 s for 200k), so it must not run every second under load. */
#define HEAP_TRIM_STEP (1024 * 1024)
#define HEAP_TRIM_SHARE 4 /* a quarter */
/* A fall of what is held misses the commonest burst: a burst of new flows that stay
 * open. Each flow's setup-only buffers (a socket's 16 KiB setup read, a stream's first
 * ring chunk of 64 KiB: one written page each) are freed between the structs of the
 * flows that stay, so the heap is full of resident holes while the bytes held only grew
 * (measured: 10,000 idle h2 tunnel flows left the tunnel listener's hermesd at 79 MB
 * RSS, 37 MB after a malloc_trim; none ran). So a trim also follows a quiet tick after
 * churn: once buffers of at least HEAP_TRIM_STEP were freed since the last trim, at the
 * first tick whose flows freed less than a HEAP_TRIM_QUIET-th of that (the burst is
 * over; a steady load gets a trim every HEAP_TRIM_QUIET seconds or so, a few ms of
 * walking). What the tick's own housekeeping freed (idle streams' rings) is not traffic:
 * it is trimmed in the same tick, not the next. */
#define HEAP_TRIM_QUIET 16
/* ...and at most this often: a load that swings by more than that every second would
 * otherwise have its pages given back and faulted in again every second, each trim a
 * walk of the free chunks on the loop. */
#define HEAP_TRIM_EVERY_MS 5000

static uint64_t last_trim_ms;
static bool trimmed;

/* The most buffer memory held since the last trim. */
static long long peak;
/* Bytes freed (the running total) at the last trim and at the end of the last tick. */
static unsigned long long freed_at_trim, freed_at_tick;

void heap_init(void)
{
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
}

bool heap_tick(long long held, unsigned long long freed_before, unsigned long long freed, uint64_t now_ms)
{
	unsigned long long churn = freed - freed_at_trim, tick = freed_before - freed_at_tick;
	long long fell;
	bool fall, quiet;

	freed_at_tick = freed;
	if (held > peak)
		peak = held;
	fell = peak - held;
	fall = fell >= HEAP_TRIM_STEP && fell >= peak / HEAP_TRIM_SHARE;
	quiet = churn >= HEAP_TRIM_STEP && tick <= churn / HEAP_TRIM_QUIET;
	if (!fall && !quiet)
		return false;
	if (trimmed && now_ms - last_trim_ms < HEAP_TRIM_EVERY_MS)
		return false;
	malloc_trim(0);
	peak = held;
	freed_at_trim = freed;
	last_trim_ms = now_ms;
	trimmed = true;
	return true;
}
