/* view-t.h: types of a hermes-top view (view.c): which rows of a sample are shown, in
 * which order, and the counts the header shows. Functions live in view.h. */
#ifndef HERMES_TOP_VIEW_T_H
#define HERMES_TOP_VIEW_T_H

#include <stdbool.h>
#include <stddef.h>

#include "filter-t.h"
#include "hermes/policy.h"
#include "sample-t.h"

enum sort_key { SORT_RATE, SORT_BYTES, SORT_AGE, SORT_PID, SORT_RTT, SORT_DST, SORT_MAX };

/* What the user chose: sort order, closed-flow window, filter. */
struct view_opts {
	enum sort_key sort;
	bool reverse;
	bool all_closed;
	const struct filter *filter;
};

/* One sample as shown. */
struct view {
	size_t *idx;      /* rows to show, in order */
	size_t n;
	/* over the window (open + shown closed flows), before the text filter */
	size_t in_window, open, closed;
	size_t by_action[HERMES_ACT_MAX + 1]; /* last: unknown values */
	size_t by_engine[ENG_MAX];            /* open flows */
	/* over every application flow */
	double rate_in, rate_out;
};

#endif
