/* heap.c: freed memory back to the kernel after a burst (see heap.h).
 * Measured on the soak (tests/soak/soak.sh) before this: the relay that takes over the
 * tunnel flows of a killed relay grew by 0.3 to 1.2 MB at each failover, for good, with
 * the memory free inside glibc's heap (malloc_info: 18 MB of heap, 10 MB of it free, no
 * mmapped chunk at all; malloc_trim from a debugger took its RSS from 24.7 to 16.5 MB).
 * Two causes: glibc raises its mmap threshold to the size of each mapped chunk freed
 * (up to 32 MiB), after which the 1 MiB stream windows came from the heap, where their
 * written pages stay resident once freed; and free memory in the middle of the heap is
 * given back only by malloc_trim, never by free. */
#include <malloc.h>
#include <stdint.h>

#include "heap.h"

/* Relayed sockets' buffer sets (RELAY_NBUF * RELAY_BUFSZ, 128 KiB), allocated and freed
 * at the connection rate, stay in the heap, where a freed set fits the next one exactly;
 * anything larger gets its own mapping. Setting it also stops glibc moving its trim
 * threshold (M_TRIM_THRESHOLD stays 128 KiB: the heap's top goes back on free). */
#define HEAP_MMAP_THRESHOLD (256 * 1024)
/* Free memory risen by this much since the last trim is given back at the next tick:
 * well above what a tick of steady traffic frees and takes again, well below the few
 * MB of a burst. */
#define HEAP_TRIM_STEP (1024 * 1024)

/* The allocator's free bytes right after the last trim, or the lowest since (memory
 * reused and freed again is resident again). */
static size_t free_floor;

void heap_init(void)
{
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
}

bool heap_tick(void)
{
	/* a walk of the arenas' bins: tens of microseconds at the soak's heap sizes */
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks < free_floor)
		free_floor = mi.fordblks;
	if (mi.fordblks - free_floor < HEAP_TRIM_STEP)
		return false;
	malloc_trim(0);
	free_floor = mallinfo2().fordblks;
	return true;
}
