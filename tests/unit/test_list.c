/* test_list.c: unit tests (no root) for userspace/list.h, hermesd's one intrusive list
 * and userspace/life.h, the "free when nothing is in flight" lifecycle: the orders the
 * modules rely on (list_add a LIFO: an endpoint's idle pool hands out the warmest
 * connection first; list_add_tail a FIFO), removal from anywhere and twice, a zeroed
 * node or head as "on no list" / "empty", iteration that frees as it goes, a queue
 * drained while its entries re-queue themselves (the dirty lists), and a lifecycle
 * that says "free it now" exactly once, at the last completion after closing. Exit 0
 * when every check passes, 1 otherwise. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "life.h"
#include "list.h"

struct item {
	int v;
	struct list link;
	struct list dirty;
};

/* The values on h in order, as a string ("1 2 3"). */
static const char *values(struct list *h)
{
	static char buf[256];
	struct item *it;
	size_t n = 0;

	buf[0] = 0;
	list_for_each(it, h, link)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d", n ? " " : "", it->v);
	return buf;
}

static bool test_orders(void)
{
	struct item it[4];
	struct list lifo, fifo;

	memset(it, 0, sizeof(it));
	list_init(&lifo);
	list_init(&fifo);
	ASSERT_TRUE(list_empty(&lifo), "a new list is empty");
	ASSERT_TRUE(list_first(&lifo, struct item, link) == NULL, "nothing first on an empty list");
	for (int i = 0; i < 4; i++) {
		it[i].v = i;
		list_add(&lifo, &it[i].link);
		list_add_tail(&fifo, &it[i].dirty);
	}
	ASSERT_STREQ(values(&lifo), "3 2 1 0", "list_add: the latest first");
	ASSERT_TRUE(list_first(&lifo, struct item, link) == &it[3], "the warmest is first");
	{
		char buf[64];
		struct item *x;
		size_t n = 0;

		list_for_each(x, &fifo, dirty)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d", n ? " " : "", x->v);
		ASSERT_STREQ(buf, "0 1 2 3", "list_add_tail: in order of arrival");
	}
	ASSERT_TRUE(!list_empty(&lifo), "a list with entries is not empty");
	return true;
}

static bool test_del(void)
{
	struct item it[3];
	struct list h;

	memset(it, 0, sizeof(it));
	list_init(&h);
	ASSERT_TRUE(!list_linked(&it[0].link), "a zeroed node is on no list");
	list_del(&it[0].link); /* a zeroed node: nothing to take off */
	ASSERT_TRUE(!list_linked(&it[0].link), "still on no list after list_del");
	for (int i = 0; i < 3; i++) {
		it[i].v = i;
		list_add_tail(&h, &it[i].link);
		ASSERT_TRUE(list_linked(&it[i].link), "an added node is linked");
	}
	list_del(&it[1].link);
	ASSERT_STREQ(values(&h), "0 2", "the middle one went");
	ASSERT_TRUE(!list_linked(&it[1].link), "a removed node is on no list");
	list_del(&it[1].link);
	ASSERT_STREQ(values(&h), "0 2", "removing it twice changes nothing");
	list_del(&it[0].link);
	list_del(&it[2].link);
	ASSERT_TRUE(list_empty(&h), "empty once all went");
	list_add(&h, &it[1].link);
	ASSERT_STREQ(values(&h), "1", "a removed node can be added again");
	{
		struct list zero;

		memset(&zero, 0, sizeof(zero));
		ASSERT_TRUE(list_empty(&zero), "a zeroed head reads as empty");
		ASSERT_TRUE(list_first(&zero, struct item, link) == NULL, "nothing first on a zeroed head");
	}
	return true;
}

static bool test_for_each_safe(void)
{
	struct item *it, *tmp;
	struct list h;
	int n = 0;

	list_init(&h);
	for (int i = 0; i < 5; i++) {
		it = calloc(1, sizeof(*it));
		if (!ASSERT_TRUE(it != NULL, "calloc"))
			return false; /* NOLINT(clang-analyzer-unix.Malloc): the items before stay on h when calloc failed; the test ends failed */
		it->v = i;
		list_add_tail(&h, &it->link);
	}
	/* free the odd ones as we go (a tick closing idle connections) */
	list_for_each_safe(it, tmp, &h, link) {
		n++;
		if (it->v % 2) {
			list_del(&it->link);
			free(it);
		}
	}
	ASSERT_EQ(n, 5, "every entry visited once");
	ASSERT_STREQ(values(&h), "0 2 4", "the even ones stay, in order");
	list_for_each_safe(it, tmp, &h, link) {
		list_del(&it->link);
		free(it);
	}
	ASSERT_TRUE(list_empty(&h), "all freed");
	n = 0;
	list_for_each_safe(it, tmp, &h, link)
		n++;
	ASSERT_EQ(n, 0, "nothing to visit on an empty list");
	return true;
}

/* A dirty queue: taking the first, a flush that marks it (or another) dirty again
 * re-queues it, and the drain ends when nothing re-queues. */
static bool test_dirty_queue(void)
{
	struct item it[3];
	struct list q;
	int flushes[3] = { 0 }, guard = 0;

	memset(it, 0, sizeof(it));
	list_init(&q);
	for (int i = 0; i < 3; i++) {
		it[i].v = i;
		if (!list_linked(&it[i].dirty))
			list_add(&q, &it[i].dirty);
		if (!list_linked(&it[i].dirty)) /* marking twice queues once */
			list_add(&q, &it[i].dirty);
	}
	while (!list_empty(&q) && guard++ < 100) {
		struct item *x = list_first(&q, struct item, dirty);

		list_del(&x->dirty);
		ASSERT_TRUE(!list_linked(&x->dirty), "off the queue while it flushes");
		if (++flushes[x->v] == 1 && x->v == 2 && !list_linked(&x->dirty))
			list_add(&q, &x->dirty); /* its flush made more to do */
	}
	ASSERT_EQ(flushes[0], 1, "item 0 flushed once");
	ASSERT_EQ(flushes[1], 1, "item 1 flushed once");
	ASSERT_EQ(flushes[2], 2, "item 2 flushed again after it re-queued");
	ASSERT_TRUE(guard < 100, "the drain ended");
	return true;
}

static bool test_life(void)
{
	struct life l = { 0 };

	life_hold(&l, 2);
	ASSERT_TRUE(!life_over(&l), "open: not over");
	ASSERT_TRUE(!life_drop(&l), "open: a completion frees nothing");
	ASSERT_TRUE(life_close(&l), "the first close");
	ASSERT_TRUE(!life_close(&l), "a second close is not a first");
	ASSERT_TRUE(!life_over(&l), "closing with one in flight: not yet");
	life_hold(&l, 1); /* a cancel of the one in flight */
	ASSERT_TRUE(!life_drop(&l), "one of two completions: not yet");
	ASSERT_TRUE(life_drop(&l), "the last completion after closing: free it now");
	ASSERT_EQ(l.inflight, 0, "nothing in flight");

	struct life idle = { 0 };

	ASSERT_TRUE(life_close(&idle), "closing with nothing in flight");
	ASSERT_TRUE(life_over(&idle), "... is over at once");
	return true;
}

int main(void)
{
	RUN(test_orders);
	RUN(test_del);
	RUN(test_for_each_safe);
	RUN(test_dirty_queue);
	RUN(test_life);
	return check_summary("test_list");
}
