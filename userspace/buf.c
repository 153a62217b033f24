/* buf.c: hermesd's byte buffers (see buf.h): growable strings and consumed-from-the-front
 * receive buffers. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "pagestack.h"

long long buf_held;
unsigned long long buf_freed;
long long tls_mem_held;

void *buf_malloc(size_t n)
{
	void *p = malloc(n);

	if (p)
		buf_account((long long)n);
	return p;
}

#define BUF_PAGE ((size_t)4096)

void *buf_pages_alloc(size_t *cap)
{
	size_t c = (*cap + BUF_PAGE - 1) & ~(BUF_PAGE - 1);
	void *p = aligned_alloc(BUF_PAGE, c);

	if (p)
		*cap = c;
	return p;
}

bool buf_pages_drop(void *p, size_t n)
{
	buf_poison(p, n);
	return !madvise(p, n, MADV_DONTNEED);
}

bool buf_pages_idle(void *p, size_t cap, size_t *touched)
{
	uintptr_t a = ((uintptr_t)p + BUF_PAGE - 1) & ~(uintptr_t)(BUF_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + cap) & ~(uintptr_t)(BUF_PAGE - 1);

	if (!p || !*touched || e <= a || !buf_pages_drop((void *)a, e - a))
		return false;
	buf_account(-(long long)*touched);
	*touched = 0;
	return true;
}

void buf_free(void *p, size_t cap)
{
	if (p)
		buf_account(-(long long)cap);
	buf_poison(p, cap);
	free(p);
}

int hb_put(struct hbuf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t ncap = (b->cap ? b->cap * 2 : 1024) + n;
		char *np = realloc(b->p, ncap);

		if (!np)
			return -ENOMEM;
		buf_account((long long)ncap - (long long)b->cap);
		b->p = np;
		b->cap = ncap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int hb_printf(struct hbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -EINVAL;
	return hb_put(b, tmp, (size_t)n);
}

int hb_vprintf(struct hbuf *b, const char *fmt, va_list ap)
{
	size_t room = b->cap - b->len;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	if (!b->p || (size_t)n >= room) {
		/* too long for the room left: grow (the terminating NUL too), format again */
		size_t ncap = (b->cap ? b->cap * 2 : 1024) + (size_t)n + 1;
		char *np = realloc(b->p, ncap);

		if (!np)
			return -ENOMEM;
		buf_account((long long)ncap - (long long)b->cap);
		b->p = np;
		b->cap = ncap;
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
	return 0;
}

int hb_reserve(struct hbuf *b, size_t n)
{
	char *np;

	if (b->len + n <= b->cap)
		return 0;
	if (!(np = realloc(b->p, b->len + n)))
		return -ENOMEM;
	buf_account((long long)(b->len + n) - (long long)b->cap);
	b->p = np;
	b->cap = b->len + n;
	return 0;
}

void hb_free(struct hbuf *b)
{
	buf_account(-(long long)b->cap);
	buf_poison(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void rx_compact(struct rxbuf *b)
{
	if (!b->off)
		return;
	memmove(b->p, b->p + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

int rx_put(struct rxbuf *b, const void *p, size_t n)
{
	if (b->off && b->len + n > b->cap)
		rx_compact(b);
	if (b->len + n > b->cap) {
		size_t ncap = b->cap * 2 + n;
		char *np = realloc(b->p, ncap);

		if (!np)
			return -ENOMEM;
		buf_account((long long)ncap - (long long)b->cap);
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int rx_reserve(struct rxbuf *b, size_t n, size_t first)
{
	size_t cap = b->cap ? b->cap : first ? first : 1;
	char *np;

	if (b->len + n <= b->cap)
		return 0;
	while (cap < b->len + n)
		cap *= 2;
	if (!(np = realloc(b->p, cap)))
		return -ENOMEM;
	buf_account((long long)cap - (long long)b->cap);
	b->p = np;
	b->cap = cap;
	return 0;
}

void rx_free(struct rxbuf *b)
{
	buf_account(-(long long)b->cap);
	buf_poison(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}

/* ---- setup buffers, outside the heap ---- */

/* Buffers given out from one mapping reserved at the first call (address space only: a
 * page costs memory once written), the free ones on a page stack (pagestack.h). */
static struct {
	uint8_t *base;     /* BUF_SETUP_MAX x BUF_SETUP_SIZE; NULL: not mapped (yet) */
	bool failed;       /* the mapping was refused: the heap serves them all */
	uint32_t made;     /* buffers handed out at least once: [0, made) */
	struct pgstack free;
} setup;

static bool setup_map(void)
{
	void *m;

	if (setup.base || setup.failed)
		return setup.base != NULL;
	m = mmap(NULL, (size_t)BUF_SETUP_MAX * BUF_SETUP_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED || pgstack_init(&setup.free, m, BUF_SETUP_SIZE, BUF_SETUP_MAX)) {
		if (m != MAP_FAILED)
			munmap(m, (size_t)BUF_SETUP_MAX * BUF_SETUP_SIZE);
		setup.failed = true;
		return false;
	}
	setup.base = m;
	return true;
}

static bool setup_owns(const void *p)
{
	return setup.base && (const uint8_t *)p >= setup.base &&
	       (const uint8_t *)p < setup.base + (size_t)BUF_SETUP_MAX * BUF_SETUP_SIZE;
}

int rx_setup(struct rxbuf *b)
{
	uint32_t id;

	if (!setup_map() || (!setup.free.n_free && setup.made == BUF_SETUP_MAX))
		return rx_reserve(b, BUF_SETUP_SIZE, BUF_SETUP_SIZE); /* from the heap, as before */
	id = setup.free.n_free ? pgstack_pop(&setup.free) : setup.made++;
	/* (counted written as a whole: what the flow writes is not followed) */
	pgstack_wrote(&setup.free, id, BUF_SETUP_SIZE / 4096);
	b->p = pgstack_buf(&setup.free, id);
	b->cap = BUF_SETUP_SIZE;
	b->off = b->len = 0;
	buf_account(BUF_SETUP_SIZE);
	return 0;
}

void rx_setup_free(struct rxbuf *b)
{
	if (!setup_owns(b->p)) {
		rx_free(b);
		return;
	}
	buf_poison(b->p, b->cap);
	pgstack_push(&setup.free, (uint32_t)(((uint8_t *)b->p - setup.base) / BUF_SETUP_SIZE));
	buf_account(-(long long)b->cap);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}

unsigned buf_setup_tick(void)
{
	return setup.base ? pgstack_tick(&setup.free, setup.made) : 0;
}
