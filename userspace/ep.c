/* ep.c: the part of an endpoint that is the same for every kind: bytes prepended to
 * its input (what arrived with a tunnel's head goes out before anything read later),
 * and owner callbacks that stop once the owner let go, so that an endpoint finishing
 * its ops after a close never reaches a freed flow. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ep.h"

void ep_init(struct ep *e, const struct ep_ops *ops, const struct ep_owner_ops *own, void *owner, int side)
{
	memset(e, 0, sizeof(*e));
	e->ops = ops;
	e->own = own;
	e->owner = owner;
	e->side = side;
}

void ep_peek(const struct ep *e, const uint8_t **p, size_t *n)
{
	if (e->pre_off < e->pre_len) {
		*p = (const uint8_t *)e->pre + e->pre_off;
		*n = e->pre_len - e->pre_off;
		return;
	}
	e->ops->peek(e, p, n);
}

size_t ep_avail(const struct ep *e)
{
	return e->pre_len - e->pre_off + e->ops->avail(e);
}

void ep_consume(struct ep *e, size_t n)
{
	if (e->pre_off < e->pre_len) {
		e->pre_off += (uint32_t)n;
		if (e->pre_off >= e->pre_len) {
			buf_poison(e->pre, e->pre_len);
			free(e->pre);
			e->pre = NULL;
			e->pre_off = e->pre_len = 0;
		}
		return;
	}
	e->ops->consume(e, n);
}

void ep_prepend(struct ep *e, char *buf, size_t off, size_t len)
{
	memmove(buf, buf + off, len);
	buf_poison(e->pre, e->pre_len);
	free(e->pre);
	e->pre = buf;
	e->pre_off = 0;
	e->pre_len = (uint32_t)len;
	e->bytes += len;
}

void ep_close(struct ep *e, enum ep_end how)
{
	if (!e || e->closed)
		return;
	e->closed = true;
	e->ops->close(e, how, false);
}

void ep_drop(struct ep *e, enum ep_end how)
{
	if (!e)
		return;
	/* closed before too: then only the freeing changes hands */
	e->closed = true;
	e->ops->close(e, how, true);
}

bool ep_busy(const struct ep *e)
{
	return e && e->ops->busy(e);
}

void ep_free(struct ep *e)
{
	if (e)
		e->ops->free(e);
}

void ep_up(struct ep *e)
{
	if (!e->closed && e->own)
		e->own->up(e);
}

void ep_data(struct ep *e)
{
	if (!e->closed && e->own)
		e->own->data(e);
}

void ep_drained(struct ep *e)
{
	if (!e->closed && e->own)
		e->own->drained(e);
}

void ep_error(struct ep *e, int err)
{
	if (!e->closed && e->own)
		e->own->error(e, err);
}

void ep_release(struct ep *e)
{
	buf_poison(e->pre, e->pre_len);
	free(e->pre);
	e->pre = NULL;
	e->pre_off = e->pre_len = 0;
}

void ep_settled(struct ep *e)
{
	if (e->own && e->own->settled)
		e->own->settled(e);
}

/* First chunks kept for the next stream. A short flow through a tunnel (a request and
 * its answer) makes one first chunk for a few bytes and frees it a moment later; from
 * malloc each one came from the heap's top and went back to the kernel (brk up, page
 * faults, brk down and the TLB shootdown of both CPUs) at the connection rate. Only
 * chunks with little written are kept, and a few: what they hold stays counted in
 * buf_held (their pages are resident), at most CHUNK_CACHE_N * CHUNK_CACHE_TOUCHED. One
 * loop thread uses rings, so a plain list does. */
#define CHUNK_CACHE_N 8
#define CHUNK_CACHE_TOUCHED (16 * 1024)
static struct ep_chunk *chunk_cache;
static unsigned chunk_cache_n;

static void chunk_free(struct ep_chunk *c)
{
	if (c->cap == EP_RING_MIN && c->touched <= CHUNK_CACHE_TOUCHED && chunk_cache_n < CHUNK_CACHE_N) {
		c->next = chunk_cache;
		chunk_cache = c;
		chunk_cache_n++;
		return;
	}
	buf_account(-(long long)c->touched);
	buf_poison(c->data, c->touched); /* (what a send can have read) */
	free(c);
}

/* A chunk for at least want bytes, of size bytes when a new one is needed: the spare
 * if it is large enough, else a cached first chunk when that is the size wanted. */
static struct ep_chunk *chunk_get(struct ep_ring *r, size_t want, size_t size)
{
	struct ep_chunk *c = r->spare;

	if (c && c->cap >= want) {
		r->spare = NULL;
	} else if (size == EP_RING_MIN && chunk_cache) {
		c = chunk_cache;
		chunk_cache = c->next;
		chunk_cache_n--;
	} else {
		if (!(c = malloc(sizeof(*c) + size)))
			return NULL;
		c->cap = (uint32_t)size;
		c->touched = 0;
	}
	c->next = NULL;
	c->head = c->len = 0;
	return c;
}

/* n bytes written at c's end count in (it has the room). */
static void chunk_grow(struct ep_chunk *c, size_t n)
{
	size_t end = c->head + c->len + n;

	c->len += (uint32_t)n;
	/* the pages written are what a chunk costs, not its size */
	if (end > c->touched) {
		buf_account((long long)end - c->touched);
		c->touched = (uint32_t)end;
	}
}

/* n bytes at c's end (it has the room). */
static void chunk_put(struct ep_chunk *c, const uint8_t *p, size_t n)
{
	memcpy(c->data + c->head + c->len, p, n);
	chunk_grow(c, n);
}

int ep_ring_put(struct ep_ring *r, const void *p, size_t n)
{
	size_t max = r->max ? r->max : EP_RING_SIZE, room = 0;
	struct ep_chunk *c = r->last, *nc;

	if (!n) /* nothing: an empty ring has no chunk to put it in */
		return 0;
	if (n > max - r->len)
		return -ENOBUFS;
	if (c)
		room = c->cap - c->head - c->len;
	if (room < n) {
		/* as large as the chunks before it (a backlog costs a few of them), no larger
		 * than the window leaves room for */
		size_t want = n - room, size = r->cap > EP_RING_MIN ? r->cap : EP_RING_MIN;

		if (size > max - r->len - room)
			size = max - r->len - room;
		if (!(nc = chunk_get(r, want, size < want ? want : size)))
			return -ENOMEM;
		if (room)
			chunk_put(c, p, room);
		chunk_put(nc, (const uint8_t *)p + room, want);
		if (c)
			c->next = nc;
		else
			r->first = nc;
		r->last = nc;
		r->cap += nc->cap;
	} else {
		chunk_put(c, p, n);
	}
	r->len += (uint32_t)n;
	return 0;
}

int ep_ring_tail(struct ep_ring *r, uint8_t **p, size_t *room)
{
	size_t max = r->max ? r->max : EP_RING_SIZE, have = 0;
	struct ep_chunk *c = r->last, *nc;

	if (c)
		have = c->cap - c->head - c->len;
	if (!have && r->len < max) {
		/* the next chunk, as ep_ring_put would make it */
		size_t size = r->cap > EP_RING_MIN ? r->cap : EP_RING_MIN;

		if (size > max - r->len)
			size = max - r->len;
		if (!(nc = chunk_get(r, 1, size)))
			return -ENOMEM;
		if (c)
			c->next = nc;
		else
			r->first = nc;
		r->last = c = nc;
		r->cap += nc->cap;
		have = nc->cap;
	}
	if (have > max - r->len)
		have = max - r->len;
	*p = c ? c->data + c->head + c->len : NULL;
	*room = have;
	return 0;
}

void ep_ring_commit(struct ep_ring *r, size_t n)
{
	chunk_grow(r->last, n);
	r->len += (uint32_t)n;
}

void ep_ring_peek(const struct ep_ring *r, const uint8_t **p, size_t *n)
{
	const struct ep_chunk *c = r->first;

	*p = c ? c->data + c->head : NULL;
	*n = c ? c->len : 0;
}

/* c was drained and leaves the ring: kept as the spare if it is the larger. */
static void chunk_retire(struct ep_ring *r, struct ep_chunk *c)
{
	r->cap -= c->cap;
	if (r->spare && r->spare->cap >= c->cap) {
		chunk_free(c);
		return;
	}
	if (r->spare)
		chunk_free(r->spare);
	r->spare = c;
}

void ep_ring_consume(struct ep_ring *r, size_t n)
{
	r->len -= (uint32_t)n;
	while (n) {
		struct ep_chunk *c = r->first;
		size_t k = n < c->len ? n : c->len;

		c->head += (uint32_t)k;
		c->len -= (uint32_t)k;
		n -= k;
		if (c->len)
			break;
		if (c == r->last) {
			/* empty: the next bytes go to its start again, into pages already
			 * written, so a stream that keeps up writes only its longest backlog */
			c->head = 0;
			break;
		}
		r->first = c->next;
		chunk_retire(r, c);
	}
}

void ep_ring_free(struct ep_ring *r)
{
	struct ep_chunk *c, *next;

	for (c = r->first; c; c = next) {
		next = c->next;
		chunk_free(c);
	}
	if (r->spare)
		chunk_free(r->spare);
	r->first = r->last = r->spare = NULL;
	r->len = r->cap = 0;
}

void ep_ring_trim(struct ep_ring *r)
{
	if (!r->len)
		ep_ring_free(r);
}
