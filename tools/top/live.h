/* live.h: hermes-top's live view with ncurses: the table, the detail view of one flow,
 * the help screen, and the keys that sort, filter, scroll and pause. Prefix live_. */
#ifndef HERMES_TOP_LIVE_H
#define HERMES_TOP_LIVE_H

#include "sample-t.h"
#include "top-t.h"

/* The smallest terminal the live view draws in. */
#define LIVE_MIN_COLS 80
#define LIVE_MIN_LINES 10

/* Runs until q, a signal or o->iterations samples; returns the exit status
 * (EXIT_RUNTIME: no terminal, out of memory). */
int live_run(struct sampler *smp, const struct top_opts *o);

#endif
