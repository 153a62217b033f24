/* list.h: the one intrusive list of hermesd: a circular doubly linked node embedded in
 * its owner (all flows, all sessions, a session's streams, an endpoint's idle pool, the
 * queues of connections to flush after a batch), found again with list_entry. The node
 * costs no allocation and removing an owner is O(1) wherever it sits, so a queue of
 * "dirty" owners needs no search when one is freed. A node is self-linked while on no
 * list (list_init, list_del), and a zeroed one (calloc) counts as on no list too, so
 * list_linked answers "is it queued?" without a flag beside it. Header only. */
#ifndef HERMES_LIST_H
#define HERMES_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list {
	struct list *next, *prev;
};

/* The owner of node n, a struct list named member inside a type. */
#define list_entry(n, type, member) ((type *)(void *)((char *)(n) - offsetof(type, member)))

/* An empty list head, or a node on no list. */
static inline void list_init(struct list *h)
{
	h->next = h->prev = h;
}

/* (A zeroed head, of an owner set up only in part, reads as empty too; it takes no
 * node before list_init.) */
static inline bool list_empty(const struct list *h)
{
	return !h->next || h->next == h;
}

/* Node n is on a list (false for a zeroed node or one list_del took off). */
static inline bool list_linked(const struct list *n)
{
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): loops that list_del and free the first node until the list is empty: clang does not see that list_del took it off the head (hdisk.c, hup.c, sess.c) */
	return n->next && n->next != n;
}

static inline void list_insert_(struct list *n, struct list *prev, struct list *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

/* n first on h (a LIFO: what was added last comes first). */
static inline void list_add(struct list *h, struct list *n)
{
	list_insert_(n, h, h->next);
}

/* n last on h (a FIFO). */
static inline void list_add_tail(struct list *h, struct list *n)
{
	list_insert_(n, h->prev, h);
}

/* Takes n off its list, if it is on one; n is then on no list. */
static inline void list_del(struct list *n)
{
	if (list_linked(n)) {
		n->prev->next = n->next;
		n->next->prev = n->prev;
	}
	list_init(n);
}

/* The first owner on h, or NULL. */
#define list_first(h, type, member) (list_empty(h) ? NULL : list_entry((h)->next, type, member))

/* Every owner on h, first to last; pos may not leave the list meanwhile. */
#define list_for_each(pos, h, member)                                                  \
	for (pos = list_entry((h)->next, __typeof__(*pos), member); &pos->member != (h); \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))

/* Every owner on h, first to last; pos may leave the list (or be freed) in the body,
 * tmp holds the one after it. */
#define list_for_each_safe(pos, tmp, h, member)                                           \
	for (pos = list_entry((h)->next, __typeof__(*pos), member),                        \
	    tmp = list_entry(pos->member.next, __typeof__(*pos), member);                  \
	     &pos->member != (h); pos = tmp, tmp = list_entry(tmp->member.next, __typeof__(*pos), member))

#endif
