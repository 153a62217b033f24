/* view.h: what hermes-top shows of a sample: the closed-flow window (the last 5
 * seconds, or all), the filter and the sort, and the summary counts over the window.
 * The same view serves the live table, batch text and batch JSON. Prefix view_. Types
 * in view-t.h. */
#ifndef HERMES_TOP_VIEW_H
#define HERMES_TOP_VIEW_H

#include "view-t.h"

/* The sort keys as -s and the live view's status line name them. */
extern const char *const view_sort_names[SORT_MAX];

/* Builds v (its previous idx freed) over s; 0 or -ENOMEM. v->idx is the caller's to free. */
int view_build(const struct snapshot *s, const struct view_opts *vo, struct view *v);

#endif
