/* heap.h: how hermesd uses glibc's allocator so that memory freed after a burst goes
 * back to the kernel (heap.c). glibc keeps freed heap memory for reuse: its RSS would
 * stay at the high-water mark of every burst (a relay failover, a link cut) and, with
 * the heap fragmented by long-lived allocations, rise in steps from one burst to the
 * next. Both calls run on the loop thread. */
#ifndef HERMES_HEAP_H
#define HERMES_HEAP_H

#include <stdbool.h>
#include <stdint.h>

/* Pins glibc's mmap threshold (HEAP_MMAP_THRESHOLD), once at start-up: allocations of
 * that size and over (a stream's 1 MiB window, grown session buffers) are mappings of
 * their own, unmapped when freed. */
void heap_init(void);
/* Each tick, after its housekeeping, with the buffer memory held now (buf_held) and
 * freed so far (buf_freed, a running total: `freed_before` as the tick began, before the
 * housekeeping, `freed` now): once held fell by HEAP_TRIM_STEP and a quarter below its
 * peak since the last trim, or once HEAP_TRIM_STEP was freed since then and the flows
 * freed little of it since the last tick (a burst is over), and at most every
 * HEAP_TRIM_EVERY_MS (now_ms: the loop's clock), gives the allocator's free pages back
 * (malloc_trim). True when it did (the loop counts it in hermes_heap_trims_total). */
bool heap_tick(long long held, unsigned long long freed_before, unsigned long long freed, uint64_t now_ms);

#endif
