/* view.c: the rows of a sample that hermes-top shows, and in what order (see view.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "util.h"
#include "view.h"

#define CLOSED_WINDOW_NS (5 * NSEC_PER_SEC) /* closed flows stay this long by default */

const char *const view_sort_names[SORT_MAX] = { "rate", "bytes", "age", "pid", "rtt", "dst" };

static bool row_in_window(const struct row *r, uint64_t now_ns, bool all_closed)
{
	if (!r->closed || all_closed)
		return true;
	return r->end_ns + CLOSED_WINDOW_NS >= now_ns;
}

static int view_cmp(const void *a, const void *b, void *arg)
{
	const struct row *rows = ((void **)arg)[0];
	const struct view_opts *vo = ((void **)arg)[1];
	const struct row *x = &rows[*(const size_t *)a], *y = &rows[*(const size_t *)b];
	int c = 0;

	switch (vo->sort) {
	case SORT_RATE: {
		double rx = x->rate_in + x->rate_out, ry = y->rate_in + y->rate_out;

		c = rx > ry ? -1 : rx < ry;
		break;
	}
	case SORT_BYTES: {
		uint64_t bx = x->bytes_in + x->bytes_out, by = y->bytes_in + y->bytes_out;

		c = bx > by ? -1 : bx < by;
		break;
	}
	case SORT_AGE:
		c = x->age_ns > y->age_ns ? -1 : x->age_ns < y->age_ns;
		break;
	case SORT_PID:
		c = x->pid < y->pid ? -1 : x->pid > y->pid;
		break;
	case SORT_RTT:
		c = x->rtt_us > y->rtt_us ? -1 : x->rtt_us < y->rtt_us;
		break;
	case SORT_DST:
		c = haddr_order(&x->dst_addr, &y->dst_addr);
		break;
	case SORT_MAX:
		break;
	}
	if (!c) /* stable order between samples: oldest first, then cookie */
		c = x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns ? 1 :
		    x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
	return vo->reverse ? -c : c;
}

int view_build(const struct snapshot *s, const struct view_opts *vo, struct view *v)
{
	void *ctx[2] = { s->rows, (void *)vo };

	free(v->idx);
	memset(v, 0, sizeof(*v));
	if (s->n && !(v->idx = calloc(s->n, sizeof(*v->idx))))
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct row *r = &s->rows[i];

		v->rate_in += r->rate_in;
		v->rate_out += r->rate_out;
		if (!row_in_window(r, s->now_ns, vo->all_closed))
			continue;
		v->in_window++;
		v->by_action[r->action < HERMES_ACT_MAX ? r->action : HERMES_ACT_MAX]++;
		if (r->closed) {
			v->closed++;
		} else {
			v->open++;
			v->by_engine[r->engine]++;
		}
		if (filter_match(vo->filter, r))
			v->idx[v->n++] = i;
	}
	if (v->n > 1)
		qsort_r(v->idx, v->n, sizeof(*v->idx), view_cmp, ctx);
	return 0;
}
