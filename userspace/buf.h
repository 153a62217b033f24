/* buf.h: hermesd's byte buffers, one family (buf.c), two shapes:
 *  - struct hbuf, a growable byte string p[0..len): a message being built (a request
 *    head, HTTP/2 fields turned into HTTP/1.1 lines, a tunnel's CONNECT head as it
 *    arrives), appended to and read whole;
 *  - struct rxbuf, bytes consumed from the front, p[off..len): what a recv filled and
 *    the parser has not taken yet, or output a send is taking (a tunnel session's). A
 *    recv in flight writes at p + len and a send in flight reads p[off..len), so a buffer
 *    is compacted (rx_compact, rx_put) only while no op is in flight on it.
 * Two buffers stay outside the family, for what they hold: a relaying socket's queue of
 * provided buffers (ep_sock.c) is a ring of buffers the kernel owns and fills, handed
 * back by buffer id, not bytes hermesd copies into; and struct ep_ring (ep-t.h, an
 * HTTP/2 stream's or TLS flow's received bytes) is a fixed circular window whose size is
 * the stream's flow-control window, read in place in up to two runs and never grown.
 * Functions return 0 or -ENOMEM.
 *
 * buf_held counts the buffer memory hermesd holds, for its memory budget (overload.h):
 * the capacity of every hbuf and rxbuf, and what the buffers outside the family
 * (ep_sock.c, ep_ring, a tunnel session's read buffer, the http action's fixed buffers
 * through buf_touch, nghttp2's own allocations) add with buf_account where they allocate,
 * write and free. OpenSSL's allocations are counted apart (tls_mem_held, below). One
 * add per allocation and free, no lock: only the loop thread allocates buffers (the
 * reload builder thread uses none). */
#ifndef HERMES_BUF_H
#define HERMES_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A debug aid, compiled in only by -DHERMES_POISON (make CFLAGS='-O2 -g -DHERMES_POISON'):
 * a buffer is overwritten with 0xA5 as it is freed or its pages given back, so that a
 * kernel op still in flight on it (a send reading it, a recv about to fill it) or a use
 * after free works on garbage at once instead of on old bytes the allocator happened to
 * leave (malloc_trim and MADV_DONTNEED zero them only sometimes). Nothing otherwise. */
static inline void buf_poison(void *p, size_t n)
{
#ifdef HERMES_POISON
	if (p)
		memset(p, 0xA5, n);
#else
	(void)p;
	(void)n;
#endif
}

extern long long buf_held;
/* Buffer bytes freed so far, a running total: the churn after which heap.c trims. */
extern unsigned long long buf_freed;
/* n more bytes of buffer held (n < 0: freed). */
static inline void buf_account(long long n)
{
	buf_held += n;
	if (n < 0)
		buf_freed += (unsigned long long)-n;
}

/* OpenSSL's memory, for the same budget: the bytes its allocations hold now (as malloc
 * gave them), kept by the allocator wrappers tls_mem_count_init (tls.h) installs.
 * Atomic, unlike buf_held: the reload builder thread makes TLS contexts. */
extern long long tls_mem_held;
static inline long long tls_mem_now(void)
{
	return __atomic_load_n(&tls_mem_held, __ATOMIC_RELAXED);
}

/* A buffer outside the family, counted in buf_held: malloc(n). */
void *buf_malloc(size_t n);
/* Frees p, cap bytes counted in buf_held: an hbuf's or rxbuf's p, buf_malloc's, or a
 * fixed buffer's (its *touched). */
void buf_free(void *p, size_t cap);

/* A fixed buffer (plain malloc, counted nothing yet) counted by what was written into it,
 * not by its size: malloc hands out address space, and a page costs memory only once it
 * is written, so an idle connection's 80 KiB send buffer holds the few bytes of its last
 * head, not 80 KiB. *touched is the high-water mark of the bytes written (end: the
 * offset one past the last byte written now), in whole 4 KiB pages; the buffer is freed
 * with buf_free(p, *touched). What was written once stays counted: it stays resident. */
static inline void buf_touch(size_t *touched, size_t end)
{
	end = (end + 4095) & ~(size_t)4095; /* memory comes in pages */
	if (end > *touched) {
		buf_account((long long)(end - *touched));
		*touched = end;
	}
}

/* The whole pages [p, p+n) go back to the kernel (MADV_DONTNEED; poisoned first in a
 * poison build) and read as zeros from then on: true when they went. */
bool buf_pages_drop(void *p, size_t n);
/* A fixed buffer an idle owner can give back (buf_pages_idle): whole pages of its own,
 * *cap rounded up to them. Freed with buf_free like any fixed buffer. */
void *buf_pages_alloc(size_t *cap);
/* The pages of a fixed buffer [p, p+cap) whose bytes nobody needs any more (an idle
 * connection's: everything received was taken, everything to send was sent) go back to
 * the kernel (MADV_DONTNEED) and *touched is counted out; the buffer stays the owner's
 * and reads as zeros. A recv armed on it meanwhile is safe: the kernel copies into it at
 * completion, into fresh pages, and does so in hermesd's own thread (io_uring task
 * work: no SQPOLL, no IOSQE_ASYNC), never while this runs. Only the whole pages inside
 * it go (all of it from buf_pages_alloc, which a realloc may have moved). True when it
 * gave some back. */
bool buf_pages_idle(void *p, size_t cap, size_t *touched);

/* Received bytes: data is p[off..len). */
struct rxbuf {
	char *p;
	size_t off, len, cap;
};

/* A growable byte string. */
struct hbuf {
	char *p;
	size_t len, cap;
};

/* Appends p[0..n) to b, doubling its capacity as it fills. */
int hb_put(struct hbuf *b, const void *p, size_t n);
/* A formatted line of at most 511 bytes (a header line hermesd adds): -EINVAL beyond. */
int hb_printf(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Formatted output of any length (a /metrics or /flows body). 0, -ENOMEM or -EINVAL. */
int hb_vprintf(struct hbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Room for n more bytes after b->len, the allocation grown to exactly that (a short
 * head held by an idle flow takes its size, not a page). */
int hb_reserve(struct hbuf *b, size_t n);
void hb_free(struct hbuf *b);

/* Appends to a receive buffer that no recv fills (an HTTP/2 stream's): compacts, grows. */
int rx_put(struct rxbuf *b, const void *p, size_t n);
/* Room for n more bytes after b->len without moving what is there (a send may be
 * reading it): the capacity starts at `first` and doubles until it fits. */
int rx_reserve(struct rxbuf *b, size_t n, size_t first);
/* Moves p[off..len) to the front (nothing may be in flight on b). */
void rx_compact(struct rxbuf *b);
/* n bytes at the front were taken; once all are, b starts again at its front. */
static inline void rx_consume(struct rxbuf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}
static inline size_t rx_avail(const struct rxbuf *b)
{
	return b->len - b->off;
}
void rx_free(struct rxbuf *b);

/* A socket's setup reads (the first bytes of a flow, read before it relays: a request
 * head, a CONNECT, optimistic data) go into a fixed buffer of BUF_SETUP_SIZE bytes that
 * the flow gives back once relaying. From the heap, such a buffer freed between the
 * structs of flows that stay open left a hole whose first page (its few bytes, the
 * allocator's header) stayed resident for good: malloc_trim cannot give that page
 * back (measured: 10,000 idle tunnel flows kept 22 MB so). So they come from a mapping
 * of their own (BUF_SETUP_MAX of them, address space only; beyond, or where the mapping
 * is refused, from the heap) and the pages of those unused for a whole tick go back
 * (buf_setup_tick). Loop thread only. Counted in buf_held while given out. */
#define BUF_SETUP_SIZE 16384
#define BUF_SETUP_MAX 16384 /* 256 MiB of address space */
/* b (empty) gets a setup buffer: 0 or -ENOMEM. */
int rx_setup(struct rxbuf *b);
/* Gives b's setup buffer back (b may hold none, or one from rx_reserve). */
void rx_setup_free(struct rxbuf *b);
/* Once a second: the pages of the setup buffers no flow used since the last tick go
 * back to the kernel. The number of buffers whose pages went. */
unsigned buf_setup_tick(void);

#endif
