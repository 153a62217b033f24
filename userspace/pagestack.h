/* pagestack.h: the free list of a pool of fixed-size buffers in one mapping, shared by
 * buf.c's setup buffers and rxpool.c's receive buffers. The free ones sit on a stack,
 * the most recently freed on top, so that a light load keeps writing the same few warm
 * buffers; the stack's lowest depth since the last tick says which went unused for a
 * whole tick (those below it), and their written pages go back to the kernel
 * (pgstack_tick). A buffer's pages cost memory once written, and only those are given
 * back. Header only; loop thread only. */
#ifndef HERMES_PAGESTACK_H
#define HERMES_PAGESTACK_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct pgstack {
	uint8_t *base;     /* buffer i at base + i * size (the owner's mapping) */
	size_t size;       /* bytes per buffer, whole 4 KiB pages */
	uint32_t n;        /* buffers */
	uint32_t *ids;     /* the free ones, [0, n_free), the most recently freed on top */
	uint32_t n_free;
	uint32_t low;      /* the fewest on the stack since the last tick */
	uint8_t *pages;    /* per buffer: pages written since they were last given back */
	uint64_t resident; /* bytes of those pages, all buffers */
};

/* n buffers of size bytes at base, none free yet (the owner pushes them): 0 or -ENOMEM. */
static inline int pgstack_init(struct pgstack *s, void *base, size_t size, uint32_t n)
{
	memset(s, 0, sizeof(*s));
	s->ids = malloc((size_t)n * sizeof(*s->ids));
	s->pages = calloc(n, 1);
	if (!s->ids || !s->pages) {
		free(s->ids);
		free(s->pages);
		s->ids = NULL;
		s->pages = NULL;
		return -ENOMEM;
	}
	s->base = base;
	s->size = size;
	s->n = n;
	return 0;
}

static inline void pgstack_fini(struct pgstack *s)
{
	free(s->ids);
	free(s->pages);
	memset(s, 0, sizeof(*s));
}

static inline void *pgstack_buf(const struct pgstack *s, uint32_t id)
{
	return s->base + (size_t)id * s->size;
}

/* Buffer id is free (on top). */
static inline void pgstack_push(struct pgstack *s, uint32_t id)
{
	s->ids[s->n_free++] = id;
}

/* The free buffer on top, taken (the stack must not be empty). */
static inline uint32_t pgstack_pop(struct pgstack *s)
{
	uint32_t id = s->ids[--s->n_free];

	if (s->n_free < s->low)
		s->low = s->n_free;
	return id;
}

/* Buffer id has its first `pages` pages written. */
static inline void pgstack_wrote(struct pgstack *s, uint32_t id, unsigned pages)
{
	if (pages > s->pages[id]) {
		s->resident += (uint64_t)(pages - s->pages[id]) * 4096;
		s->pages[id] = (uint8_t)pages;
	}
}

/* Once a second: the written pages of the buffers that stayed on the stack since the
 * last tick go back to the kernel. When every buffer of [0, made) did (made: the ones
 * ever handed out, all below it), the whole range at once in one call. The number of
 * buffers whose pages went. */
static inline unsigned pgstack_tick(struct pgstack *s, uint32_t made)
{
	unsigned given = 0;

	if (made && s->low == made) {
		for (uint32_t i = 0; i < made; i++)
			given += s->pages[i] != 0;
		if (given && buf_pages_drop(s->base, (size_t)made * s->size)) {
			memset(s->pages, 0, made);
			s->resident = 0;
		} else {
			given = 0;
		}
	} else {
		for (uint32_t i = 0; i < s->low; i++) {
			uint32_t id = s->ids[i];

			if (!s->pages[id])
				continue;
			if (!buf_pages_drop(pgstack_buf(s, id), s->size))
				break;
			s->resident -= (uint64_t)s->pages[id] * 4096;
			s->pages[id] = 0;
			given++;
		}
	}
	s->low = s->n_free;
	return given;
}

#endif
