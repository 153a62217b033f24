/* test_ep_ring.c: unit tests (no root) for a stream's receive ring (ep.c, struct
 * ep_ring), whose most is the stream's flow-control window: bytes come out in order
 * whatever the sizes put and consumed; it takes exactly its window and refuses a byte
 * more (-ENOBUFS, a flow-control violation); its memory grows with what waits in it, not
 * with the window (a 32 MiB window holding 100 KiB costs a few hundred KiB); bytes never
 * move once written (a send in flight reads them where peek showed them); drained, a
 * stream that keeps up writes the same pages again; trimmed empty, it holds nothing,
 * and buf_held (the memory budget's count) returns to where it was; bytes written in
 * place (ep_ring_tail + ep_ring_commit, DATA decrypted straight into the ring) mix with
 * copied ones in order across chunks, and the room offered never passes the window; putting
 * no bytes changes nothing, also in an empty ring. Exit 0 when every
 * check passes, 1 otherwise. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "ep.h"

static uint8_t pat(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 9));
}

static void fill(uint8_t *p, uint64_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(from + i);
}

/* Reads and checks up to n bytes from the ring (expecting byte `*next` first). */
static bool drain(struct ep_ring *r, uint64_t *next, size_t n)
{
	while (n) {
		const uint8_t *p;
		size_t k;

		ep_ring_peek(r, &p, &k);
		if (!ASSERT_TRUE(k > 0, "bytes to read (%zu left)", n))
			return false;
		if (k > n)
			k = n;
		for (size_t i = 0; i < k; i++)
			if (p[i] != pat(*next + i))
				return ASSERT_TRUE(false, "byte %llu out of order", (unsigned long long)(*next + i));
		*next += k;
		ep_ring_consume(r, k);
		n -= k;
	}
	return true;
}

static bool test_order_any_sizes(void)
{
	struct ep_ring r = { .max = 3 << 20 };
	static uint8_t buf[300000];
	uint64_t put = 0, got = 0;
	long long held0 = buf_held;
	unsigned seed = 1;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(buf)), room = r.max - r.len;

		if (n > room)
			n = room;
		fill(buf, put, n);
		if (!ASSERT_EQ(ep_ring_put(&r, buf, n), 0, "put within the window"))
			return false;
		put += n;
		if (!ASSERT_EQ(r.len, put - got, "bytes held"))
			return false;
		if (!drain(&r, &got, (size_t)(rand_r(&seed) % (r.len + 1))))
			return false;
	}
	if (!drain(&r, &got, r.len))
		return false;
	ep_ring_trim(&r);
	ASSERT_EQ(buf_held, held0, "buf_held back where it was once trimmed");
	return ASSERT_TRUE(!r.first && !r.spare, "nothing allocated once trimmed");
}

static bool test_window_exact(void)
{
	struct ep_ring r = { .max = 1000000 };
	static uint8_t buf[1000001];
	uint64_t got = 0;

	fill(buf, 0, sizeof(buf));
	ASSERT_EQ(ep_ring_put(&r, buf, 999999), 0, "all but a byte of the window");
	ASSERT_EQ(ep_ring_put(&r, buf + 999999, 2), -ENOBUFS, "two bytes past it");
	ASSERT_EQ(ep_ring_put(&r, buf + 999999, 1), 0, "the window's last byte");
	ASSERT_EQ(ep_ring_put(&r, buf, 1), -ENOBUFS, "a byte past a full window");
	ASSERT_EQ(r.len, 1000000, "held: the window");
	drain(&r, &got, 1000000);
	ep_ring_free(&r);
	/* no max: the HTTP/1.1-over-TLS ring, EP_RING_SIZE */
	r = (struct ep_ring){ 0 };
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(ep_ring_put(&r, buf, EP_RING_SIZE / 16), 0, "up to EP_RING_SIZE");
	ASSERT_EQ(ep_ring_put(&r, buf, 1), -ENOBUFS, "past EP_RING_SIZE");
	ep_ring_free(&r);
	return true;
}

/* Putting no bytes is a no-op, also into an empty ring (lint: that dereferenced its
 * missing last chunk). */
static bool test_put_nothing(void)
{
	struct ep_ring r = { .max = 1000 };
	uint8_t b[4] = { 1, 2, 3, 4 };
	uint64_t got = 0;

	ASSERT_EQ(ep_ring_put(&r, b, 0), 0, "no bytes into an empty ring");
	ASSERT_EQ(r.len, 0, "... holds none");
	ASSERT_TRUE(!r.first && !r.last, "... and makes no chunk");
	fill(b, 0, sizeof(b));
	ASSERT_EQ(ep_ring_put(&r, b, sizeof(b)), 0, "four bytes");
	ASSERT_EQ(ep_ring_put(&r, b, 0), 0, "then none");
	ASSERT_EQ(r.len, 4, "... holds the four");
	drain(&r, &got, 4);
	ep_ring_free(&r);
	return true;
}

/* A 32 MiB window costs what waits in it; growing never moves bytes already written. */
static bool test_memory_follows_backlog(void)
{
	struct ep_ring r = { .max = 32 << 20 };
	static uint8_t buf[16384];
	long long held0 = buf_held;
	const uint8_t *first;
	size_t n;
	uint64_t put = 0, got = 0;

	for (int i = 0; i < 7; i++, put += sizeof(buf)) { /* 112 KiB waiting */
		fill(buf, put, sizeof(buf));
		ep_ring_put(&r, buf, sizeof(buf));
	}
	ep_ring_peek(&r, &first, &n);
	ASSERT_TRUE(buf_held - held0 <= 256 << 10, "112 KiB held costs %lld bytes", buf_held - held0);
	ASSERT_TRUE(r.cap <= 256 << 10, "chunks of %llu bytes for 112 KiB", (unsigned long long)r.cap);
	for (int i = 0; i < 2000; i++, put += sizeof(buf)) { /* 31 MiB more: grows to the window */
		fill(buf, put, sizeof(buf));
		if (!ASSERT_EQ(ep_ring_put(&r, buf, sizeof(buf)), 0, "within the window"))
			return false;
	}
	ASSERT_TRUE(first[0] == pat(0) && first[n - 1] == pat(n - 1), "the first bytes stayed where peek showed them");
	ASSERT_TRUE(buf_held - held0 >= (long long)r.len, "what is held is counted (%lld for %u)",
		    buf_held - held0, r.len);
	ASSERT_TRUE(r.cap <= 2ULL * r.len + (64 << 10), "chunks of %llu bytes for %u held", (unsigned long long)r.cap,
		    r.len);
	drain(&r, &got, r.len);
	ASSERT_TRUE(r.first && r.first == r.last && !r.first->next && r.cap == r.last->cap,
		    "drained: the chunks went but the last");
	ep_ring_trim(&r);
	ASSERT_EQ(buf_held, held0, "trimmed: buf_held back where it was");
	return true;
}

/* A stream whose reader keeps up writes the same pages over and over. */
static bool test_keeping_up_reuses_pages(void)
{
	struct ep_ring r = { .max = 32 << 20 };
	static uint8_t buf[40000];
	long long held0 = buf_held, peak = 0;
	uint64_t put = 0, got = 0;

	for (int i = 0; i < 5000; i++) { /* 200 MB through, never more than 80 kB waiting */
		fill(buf, put, sizeof(buf));
		ep_ring_put(&r, buf, sizeof(buf));
		put += sizeof(buf);
		if (i % 2) {
			if (!drain(&r, &got, r.len))
				return false;
		}
		if (buf_held - held0 > peak)
			peak = buf_held - held0;
	}
	ASSERT_TRUE(peak <= 256 << 10, "200 MB through with 80 kB waiting at most held %lld bytes at most", peak);
	ep_ring_trim(&r);
	ASSERT_EQ(buf_held, held0, "trimmed: buf_held back where it was");
	ep_ring_trim(&r); /* twice: nothing to free */
	return ASSERT_EQ(buf_held, held0, "trimmed twice");
}

/* Written in place, in pieces of any size mixed with copies, as sess_h2rx.c does: the
 * room offered is one run at the end (a new chunk when the last is full), never past
 * the window, and the bytes come out in order. */
static bool test_in_place(void)
{
	struct ep_ring r = { .max = 1 << 20 };
	static uint8_t buf[100000];
	uint64_t put = 0, got = 0;
	long long held0 = buf_held;
	unsigned seed = 7;

	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)(rand_r(&seed) % 70000), room;
		uint8_t *p;

		if (rand_r(&seed) % 3) {
			if (!ASSERT_EQ(ep_ring_tail(&r, &p, &room), 0, "tail"))
				return false;
			if (!ASSERT_TRUE(room <= r.max - r.len, "room %zu within the window (%u held)", room, r.len))
				return false;
			if (!ASSERT_TRUE(room > 0 || r.len == r.max, "room unless the window is full"))
				return false;
			if (n > room)
				n = room;
			fill(p, put, n);
			ep_ring_commit(&r, n);
		} else {
			if (n > r.max - r.len)
				n = r.max - r.len;
			fill(buf, put, n);
			if (!ASSERT_EQ(ep_ring_put(&r, buf, n), 0, "put"))
				return false;
		}
		put += n;
		n = (size_t)(rand_r(&seed) % 90000);
		if (!drain(&r, &got, n < r.len ? n : r.len))
			return false;
	}
	if (!drain(&r, &got, r.len))
		return false;
	ep_ring_free(&r);
	return ASSERT_EQ(got, put, "every byte out") && ASSERT_EQ(buf_held, held0, "buf_held back");
}

int main(void)
{
	RUN(test_order_any_sizes);
	RUN(test_window_exact);
	RUN(test_memory_follows_backlog);
	RUN(test_keeping_up_reuses_pages);
	RUN(test_in_place);
	RUN(test_put_nothing);
	return check_summary("test_ep_ring");
}
