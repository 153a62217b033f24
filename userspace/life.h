/* life.h: the one lifecycle of hermesd's io_uring owners (flows, sessions, http client
 * and upstream connections, admin connections): an owner counts its SQEs in flight, and
 * once it is closing it is freed with the completion of the last one, never before (the
 * kernel may still write into its buffers, and each completion finds the owner through
 * its embedded op). Each module frees its owner in one place: where life_drop or
 * life_over says "now". Header only. */
#ifndef HERMES_LIFE_H
#define HERMES_LIFE_H

#include <stdbool.h>

struct life {
	int inflight; /* SQEs of the owner the kernel has not completed */
	bool closing; /* the owner is ending: freed when inflight reaches 0 */
};

/* n more SQEs submitted. */
static inline void life_hold(struct life *l, int n)
{
	l->inflight += n;
}

/* Closing and nothing in flight: free it now. */
static inline bool life_over(const struct life *l)
{
	return l->closing && l->inflight == 0;
}

/* One SQE completed: true when the owner is closing and that was its last one (free
 * it now). */
static inline bool life_drop(struct life *l)
{
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the completion being dropped still counts, so life_over was false and nothing freed the owner (clang does not model the count: hup.c) */
	l->inflight--;
	return life_over(l);
}

/* The owner starts closing: false when it already was (closing happens once). */
static inline bool life_close(struct life *l)
{
	bool first = !l->closing;

	l->closing = true;
	return first;
}

#endif
