/* rxpool.h: the loop's pool of receive buffers (rxpool.c), shared by the buffer-select
 * recvs of every relaying socket (ep_sock.c): one io_uring provided-buffer ring per loop
 * instead of one per socket, so that an idle flow holds no buffer at all. */
#ifndef HERMES_RXPOOL_H
#define HERMES_RXPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "pagestack.h"

struct io_uring;
struct io_uring_buf_ring;

#define RXPOOL_BUFSZ (16 * 1024) /* one recv's most */
#define RXPOOL_NONE 0xffff       /* no buffer (end of a queue) */

/* A buffer is in one of three places: posted in the ring (the kernel may fill it at
 * any time), held by a socket (bytes waiting to be sent, queued in arrival order through
 * next[]), or on the free stack (neither: its pages may be given back). Only `window`
 * buffers are kept posted, taken from the stack's top, so that the pages in use stay
 * the same few while the load is light; a burst that empties the ring widens it. */
struct rxpool {
	struct io_uring_buf_ring *br;
	uint8_t *mem;            /* n x RXPOOL_BUFSZ, mapped: a page is resident once written */
	uint32_t n;              /* buffers */
	uint32_t entries;        /* of the ring: n rounded up to a power of two, at most 2048 */
	uint32_t posted;         /* in the ring, as far as the completions seen tell */
	uint32_t window;         /* the most kept posted */
	bool widened;            /* the window grew since the last tick */
	uint16_t bgid;
	struct pgstack free;     /* the free buffers (the stack) and the pages written */
	uint32_t held;           /* by sockets */
	uint16_t *next;          /* per held buffer: the next of its socket's queue */
	uint32_t *len;           /* per held buffer: the bytes its recv wrote */
	struct list waiters;     /* sockets whose recv found the ring empty (ep_sock.c) */
	uint64_t dry;            /* recvs that found no buffer free anywhere (exhausted) */
	bool no_mshot;           /* the kernel refused a byte-limited multishot recv (< 6.17) */
};

/* n buffers (at most 32768) in buffer group bgid of ring; 0 or -errno. */
int rxpool_init(struct rxpool *p, struct io_uring *ring, uint32_t n, uint16_t bgid);
void rxpool_fini(struct rxpool *p, struct io_uring *ring);
/* The address of buffer bid. */
static inline uint8_t *rxpool_buf(const struct rxpool *p, unsigned bid)
{
	return pgstack_buf(&p->free, bid);
}
/* A recv's completion took buffer bid and wrote len bytes into it: now held. */
void rxpool_took(struct rxpool *p, unsigned bid, uint32_t len);

/* Buffer bid is no longer held: back to the ring or the stack. */
void rxpool_put(struct rxpool *p, unsigned bid);
/* A recv found the ring empty: posts more (widening the window) when the stack has
 * some; true when the ring holds buffers again, false when the pool is exhausted. */
bool rxpool_refill(struct rxpool *p);
/* Buffers a socket may hold now: `cap`, or 1 while fewer than an eighth of the pool is
 * neither held nor waiting to be (so that sockets whose peer does not read leave the
 * rest to the others). */
unsigned rxpool_cap(const struct rxpool *p, unsigned cap);
/* Once a second: the window narrows back, and the pages of buffers the stack kept
 * unused since the last tick go back to the kernel. */
void rxpool_tick(struct rxpool *p);

#endif
