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

bool buf_pages_idle(void *p, size_t cap, size_t *touched)
{
	uintptr_t a = ((uintptr_t)p + BUF_PAGE - 1) & ~(uintptr_t)(BUF_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + cap) & ~(uintptr_t)(BUF_PAGE - 1);

	if (!p || !*touched || e <= a || madvise((void *)a, e - a, MADV_DONTNEED))
		return false;
	buf_account(-(long long)*touched);
	*touched = 0;
	return true;
}

void buf_free(void *p, size_t cap)
{
	if (p)
		buf_account(-(long long)cap);
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
	free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}
