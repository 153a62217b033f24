/* test_buf.c: unit tests (no root) for userspace/buf.c, hermesd's byte buffers: a
 * growable string (hb_put doubling, hb_printf for a line, hb_vprintf for output of any
 * length, as admin.c builds /metrics with it; hb_reserve growing to exactly what is asked:
 * a tunnel's short head takes its size) and a receive buffer consumed from the
 * front (rx_put compacting before it grows, rx_reserve never moving bytes a send may be
 * reading, rx_consume starting over once empty, rx_compact), and the fixed buffers an
 * idle connection gives back (buf_pages_alloc whole pages, buf_pages_idle: the pages read
 * as zeros after, the count of written pages back to where it was, and a buffer a realloc
 * moved off its page boundary gives back only the pages wholly inside it). Exit 0 when
 * every check passes, 1 otherwise. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"

static bool test_hbuf(void)
{
	struct hbuf b = { 0 };
	char big[5000];

	ASSERT_EQ(hb_put(&b, "GET ", 4), 0, "hb_put");
	ASSERT_EQ(hb_printf(&b, "%s %d", "/x", 42), 0, "hb_printf");
	ASSERT_EQ(b.len, 9, "length");
	ASSERT_TRUE(!memcmp(b.p, "GET /x 42", 9), "content: %.*s", (int)b.len, b.p);
	ASSERT_TRUE(b.cap >= 1024, "the first growth leaves room (cap %zu)", b.cap);
	memset(big, 'a', sizeof(big));
	ASSERT_EQ(hb_put(&b, big, sizeof(big)), 0, "a put past the capacity grows");
	ASSERT_EQ(b.len, 9 + sizeof(big), "length after growing");
	ASSERT_TRUE(b.cap >= b.len, "cap %zu holds len %zu", b.cap, b.len);
	ASSERT_TRUE(!memcmp(b.p, "GET /x 42", 9) && b.p[b.len - 1] == 'a', "bytes kept across the growth");
	ASSERT_EQ(hb_put(&b, NULL, 0), 0, "an empty put");
	ASSERT_EQ(hb_printf(&b, "%600s", "x"), -EINVAL, "a formatted line past 512 bytes is refused");
	hb_free(&b);
	ASSERT_TRUE(!b.p && !b.len && !b.cap, "hb_free leaves an empty buffer");
	return true;
}

static int vprintf_to(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vprintf_to(struct hbuf *b, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = hb_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

static bool test_hb_vprintf(void)
{
	struct hbuf b = { 0 };
	char want[64];

	ASSERT_EQ(vprintf_to(&b, "%s", ""), 0, "nothing to an empty buffer");
	ASSERT_EQ(b.len, 0, "nothing appended");
	for (int i = 0; i < 1000; i++)
		if (!ASSERT_EQ(vprintf_to(&b, "line %d\n", i), 0, "hb_vprintf"))
			return false;
	ASSERT_EQ(vprintf_to(&b, "%3000s|", "x"), 0, "one piece longer than the room left");
	snprintf(want, sizeof(want), "line 999\n");
	ASSERT_TRUE(b.len > 3001 && b.p[b.len - 1] == '|' && b.p[b.len - 2] == 'x', "the long piece whole");
	ASSERT_TRUE(!memcmp(b.p, "line 0\nline 1\n", 14), "the start kept across growths");
	ASSERT_TRUE(!memcmp(b.p + b.len - 3001 - strlen(want), want, strlen(want)), "the pieces in order");
	ASSERT_TRUE(b.cap > b.len, "room for the terminating NUL vsnprintf writes");
	hb_free(&b);
	return true;
}

static bool test_hb_reserve(void)
{
	struct hbuf b = { 0 };

	ASSERT_EQ(hb_reserve(&b, 300), 0, "hb_reserve");
	ASSERT_EQ(b.cap, 300, "exactly the size asked for");
	memcpy(b.p, "x", 1);
	b.len = 100;
	ASSERT_EQ(hb_reserve(&b, 200), 0, "room that is there");
	ASSERT_EQ(b.cap, 300, "nothing reallocated when it fits");
	ASSERT_EQ(hb_reserve(&b, 250), 0, "more room");
	ASSERT_EQ(b.cap, 350, "grown to len + n, no more");
	ASSERT_TRUE(b.p[0] == 'x', "bytes kept");
	hb_free(&b);
	return true;
}

static bool test_rx_put_consume(void)
{
	struct rxbuf b = { 0 };

	b.cap = 8;
	b.p = malloc(b.cap);
	if (!ASSERT_TRUE(b.p != NULL, "malloc"))
		return false;
	ASSERT_EQ(rx_put(&b, "abcdef", 6), 0, "rx_put");
	rx_consume(&b, 4);
	ASSERT_EQ(rx_avail(&b), 2, "two bytes left");
	ASSERT_EQ(b.off, 4, "consumed from the front");
	ASSERT_EQ(rx_put(&b, "ghij", 4), 0, "a put that fits once compacted");
	ASSERT_EQ(b.off, 0, "compacted instead of grown");
	ASSERT_EQ(b.cap, 8, "capacity unchanged");
	ASSERT_TRUE(!memcmp(b.p, "efghij", 6), "content %.*s", (int)b.len, b.p);
	ASSERT_EQ(rx_put(&b, "klmnop", 6), 0, "a put past the capacity");
	ASSERT_TRUE(b.cap >= 12 && !memcmp(b.p, "efghijklmnop", 12), "grown, bytes in order");
	rx_consume(&b, 12);
	ASSERT_TRUE(b.off == 0 && b.len == 0, "all consumed: back to the front");
	rx_free(&b);
	ASSERT_TRUE(!b.p && !b.cap, "rx_free leaves an empty buffer");
	return true;
}

static bool test_rx_reserve_compact(void)
{
	struct rxbuf b = { 0 };
	char *before;

	ASSERT_EQ(rx_reserve(&b, 100, 16384), 0, "rx_reserve");
	ASSERT_EQ(b.cap, 16384, "the first capacity");
	memset(b.p, 'x', 100);
	b.len = 100;
	b.off = 60; /* a send in flight reads p[60..100) */
	before = b.p;
	ASSERT_EQ(rx_reserve(&b, 1000, 16384), 0, "room that is there");
	ASSERT_TRUE(b.p == before && b.off == 60, "nothing moved");
	ASSERT_EQ(rx_reserve(&b, 40000, 16384), 0, "more than the capacity");
	ASSERT_EQ(b.cap, 65536, "doubled until it fits");
	ASSERT_EQ(b.off, 60, "never compacted: the bytes stay where a send reads them");
	b.p[60] = 'y';
	rx_compact(&b);
	ASSERT_TRUE(b.off == 0 && b.len == 40 && b.p[0] == 'y', "compacted to the front");
	rx_compact(&b);
	ASSERT_EQ(b.len, 40, "compacting a compacted buffer changes nothing");
	rx_free(&b);
	ASSERT_EQ(rx_reserve(&b, 10, 0), 0, "no first capacity given");
	ASSERT_TRUE(b.cap >= 10, "cap %zu", b.cap);
	rx_free(&b);
	return true;
}

static bool test_pages_idle(void)
{
	long long held0 = buf_held;
	size_t cap = 10000, touched = 0, cap2 = 3 * 4096;
	char *p = buf_pages_alloc(&cap), *q;

	ASSERT_TRUE(p && !((uintptr_t)p & 4095), "page-aligned (%p)", (void *)p);
	ASSERT_EQ(cap, 12288, "the size rounded up to whole pages");
	ASSERT_TRUE(!buf_pages_idle(p, cap, &touched), "nothing written: nothing to give back");
	memset(p, 'x', 5000);
	buf_touch(&touched, 5000);
	ASSERT_EQ(buf_held - held0, 8192, "two pages written, two counted");
	ASSERT_TRUE(buf_pages_idle(p, cap, &touched), "given back");
	ASSERT_EQ(touched, 0, "nothing counted as written");
	ASSERT_EQ(buf_held, held0, "buf_held back where it was");
	ASSERT_TRUE(p[0] == 0 && p[4999] == 0, "the pages read as zeros");
	memset(p, 'y', 100); /* still the owner's: written again */
	buf_touch(&touched, 100);
	ASSERT_EQ(p[99], 'y', "written again");
	buf_free(p, touched);
	ASSERT_EQ(buf_held, held0, "freed");

	/* a block that does not start on a page: its first partial page stays */
	q = buf_pages_alloc(&cap2);
	if (!ASSERT_TRUE(q != NULL, "allocated"))
		return false;
	memset(q, 'z', cap2);
	touched = 0;
	buf_touch(&touched, cap2);
	ASSERT_TRUE(buf_pages_idle(q + 8, cap2 - 8, &touched), "the two whole pages inside go");
	ASSERT_EQ(q[8], 'z', "the partial first page is kept");
	ASSERT_EQ(q[4096], 0, "a whole page inside is given back");
	buf_free(q, touched);
	ASSERT_EQ(buf_held, held0, "freed");
	return true;
}

int main(void)
{
	RUN(test_hbuf);
	RUN(test_hb_vprintf);
	RUN(test_hb_reserve);
	RUN(test_rx_put_consume);
	RUN(test_rx_reserve_compact);
	RUN(test_pages_idle);
	return check_summary("test_buf");
}
