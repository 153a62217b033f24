/* rxpool.c: the loop's pool of receive buffers (see rxpool.h). One provided-buffer ring
 * for every relaying socket: a socket holds buffers only while their bytes wait to be
 * sent, so an idle flow costs its sockets and its structs, not 2 x 128 KiB of buffers
 * and 2 rings. The buffers live in one mapping whose pages become resident as recvs
 * write them; the free ones sit on a stack (the most recently used on top) and only a
 * window of them is posted to the kernel, so a light load keeps reusing the same warm
 * pages, and the pages of buffers left unused for a tick go back to the kernel. */
#include <errno.h>
#include <limits.h> /* before liburing's linux headers (see loop-t.h) */
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "rxpool.h"

#define PAGE 4096u
#define WINDOW_MIN 64u
/* The ring's entries at most: the kernel pins the ring (16 bytes an entry), and more
 * than this many recvs completing in one loop turn only send the rest back for a
 * refill (not counted as the pool running dry). */
#define RING_MAX 2048u

static unsigned pages_of(uint32_t len)
{
	return (len + PAGE - 1) / PAGE;
}

/* k buffers from the stack's top into the ring. */
static void post(struct rxpool *p, unsigned k)
{
	int mask = io_uring_buf_ring_mask(p->entries);

	for (unsigned i = 0; i < k; i++) {
		unsigned bid = pgstack_pop(&p->free);

		io_uring_buf_ring_add(p->br, rxpool_buf(p, bid), RXPOOL_BUFSZ, (unsigned short)bid, mask, (int)i);
	}
	io_uring_buf_ring_advance(p->br, (int)k);
	p->posted += k;
}

int rxpool_init(struct rxpool *p, struct io_uring *ring, uint32_t n, uint16_t bgid)
{
	struct io_uring_buf_reg reg = {};
	size_t ring_sz;
	int err;

	memset(p, 0, sizeof(*p));
	list_init(&p->waiters);
	if (n < 1 || n > 32768)
		return -EINVAL;
	p->n = n;
	for (p->entries = 1; p->entries < n && p->entries < RING_MAX; p->entries <<= 1)
		;
	ring_sz = (size_t)p->entries * sizeof(struct io_uring_buf);
	if (posix_memalign((void **)&p->br, PAGE, ring_sz < PAGE ? PAGE : ring_sz)) {
		p->br = NULL;
		return -ENOMEM;
	}
	p->mem = mmap(NULL, (size_t)n * RXPOOL_BUFSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -errno;
	}
	p->next = malloc(n * sizeof(*p->next));
	p->len = calloc(n, sizeof(*p->len));
	if (pgstack_init(&p->free, p->mem, RXPOOL_BUFSZ, n) || !p->next || !p->len)
		return -ENOMEM;
	io_uring_buf_ring_init(p->br);
	reg.ring_addr = (uint64_t)(uintptr_t)p->br;
	reg.ring_entries = p->entries;
	reg.bgid = bgid;
	if ((err = io_uring_register_buf_ring(ring, &reg, 0)))
		return err;
	p->bgid = bgid;
	/* buffer 0 on top: the first used are the lowest addresses */
	for (uint32_t i = 0; i < n; i++)
		pgstack_push(&p->free, n - 1 - i);
	p->free.low = n;
	p->window = n < WINDOW_MIN ? n : WINDOW_MIN; /* (entries >= it) */
	post(p, p->window);
	return 0;
}

void rxpool_fini(struct rxpool *p, struct io_uring *ring)
{
	if (p->bgid)
		io_uring_unregister_buf_ring(ring, p->bgid);
	if (p->mem)
		munmap(p->mem, (size_t)p->n * RXPOOL_BUFSZ);
	free(p->br);
	pgstack_fini(&p->free);
	free(p->next);
	free(p->len);
	memset(p, 0, sizeof(*p));
}

void rxpool_took(struct rxpool *p, unsigned bid, uint32_t len)
{
	unsigned pg = pages_of(len);

	p->posted--;
	p->held++;
	p->len[bid] = len;
	p->next[bid] = RXPOOL_NONE;
	pgstack_wrote(&p->free, bid, pg);
	/* what a flow holds is the pages its bytes take, while they wait */
	buf_account((long long)pg * PAGE);
}

void rxpool_put(struct rxpool *p, unsigned bid)
{
	buf_account(-(long long)pages_of(p->len[bid]) * PAGE);
	buf_poison(rxpool_buf(p, bid), p->len[bid]);
	p->held--;
	pgstack_push(&p->free, bid);
	if (p->posted < p->window)
		post(p, 1); /* the same buffer again, still warm */
}

bool rxpool_refill(struct rxpool *p)
{
	unsigned k;

	if (p->posted)
		return true;
	if (!p->free.n_free) {
		p->dry++;
		return false;
	}
	if (p->window < p->n && p->window < p->entries) {
		p->window *= 2;
		if (p->window > p->n)
			p->window = p->n;
		if (p->window > p->entries)
			p->window = p->entries;
		p->widened = true;
	}
	k = p->free.n_free < p->window ? p->free.n_free : p->window;
	post(p, k);
	return true;
}

unsigned rxpool_cap(const struct rxpool *p, unsigned cap)
{
	return (uint64_t)(p->posted + p->free.n_free) * 8 < p->n ? 1 : cap;
}

void rxpool_tick(struct rxpool *p)
{
	if (!p->mem)
		return;
	if (!p->widened && p->window / 2 >= WINDOW_MIN)
		p->window /= 2; /* the ring empties down to it as buffers come back */
	p->widened = false;
	pgstack_tick(&p->free, p->n);
}
