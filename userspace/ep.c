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
	free(e->pre);
	e->pre = NULL;
	e->pre_off = e->pre_len = 0;
}

void ep_settled(struct ep *e)
{
	if (e->own && e->own->settled)
		e->own->settled(e);
}

/* Rings that went empty: freed at the next tick unless written meanwhile. */
static struct list idle_rings = { &idle_rings, &idle_rings };

int ep_ring_put(struct ep_ring *r, const void *p, size_t n)
{
	uint32_t tail;
	size_t first;

	if (!r->p && !(r->p = malloc(EP_RING_SIZE)))
		return -ENOMEM;
	if (r->len + n > EP_RING_SIZE)
		return -ENOBUFS;
	tail = (r->head + r->len) % EP_RING_SIZE;
	first = EP_RING_SIZE - tail < n ? EP_RING_SIZE - tail : n;
	memcpy(r->p + tail, p, first);
	memcpy(r->p, (const uint8_t *)p + first, n - first);
	r->used = true;
	if (first < n || tail + n > r->touched) {
		/* the pages written are what the ring costs, not its size */
		uint32_t t = first < n ? EP_RING_SIZE : tail + (uint32_t)n;

		buf_account((long long)t - r->touched);
		r->touched = t;
	}
	r->len += (uint32_t)n;
	return 0;
}

void ep_ring_peek(const struct ep_ring *r, const uint8_t **p, size_t *n)
{
	*p = r->p ? r->p + r->head : NULL;
	*n = r->len < EP_RING_SIZE - r->head ? r->len : EP_RING_SIZE - r->head;
}

void ep_ring_consume(struct ep_ring *r, size_t n)
{
	r->head = (uint32_t)((r->head + n) % EP_RING_SIZE);
	r->len -= (uint32_t)n;
	/* empty: the next bytes go to its front again, on pages written already, so that a
	 * long-lived stream of small messages keeps a page or two resident, not the whole
	 * ring as its head walks round it */
	if (!r->len) {
		r->head = 0;
		if (!list_linked(&r->idle))
			list_add_tail(&idle_rings, &r->idle);
		r->used = false;
	}
}

void ep_ring_tick(void)
{
	struct ep_ring *r, *tmp;

	list_for_each_safe(r, tmp, &idle_rings, idle) {
		if (r->len || r->used) {
			/* in use: queued again when it goes empty */
			list_del(&r->idle);
			continue;
		}
		ep_ring_free(r);
	}
}

void ep_ring_free(struct ep_ring *r)
{
	list_del(&r->idle);
	buf_account(-(long long)r->touched);
	free(r->p);
	r->p = NULL;
	r->head = r->len = r->touched = 0;
}
