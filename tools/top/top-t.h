/* top-t.h: what hermes-top's main (main.c) hands its front ends (out.c, live.c): the
 * options of one run, checked and parsed. */
#ifndef HERMES_TOP_T_H
#define HERMES_TOP_T_H

#include <signal.h>
#include <stdbool.h>

#include "filter-t.h"
#include "view-t.h"

struct top_opts {
	double interval;             /* seconds between samples */
	long iterations;             /* samples (follow mode: events); 0: until interrupted */
	bool json;
	enum sort_key sort;
	bool all_closed;
	char filter[FILTER_MAX];     /* --filter and the words after the options */
	struct filter filt;          /* filter, parsed */
	const volatile sig_atomic_t *stop; /* set by SIGINT, SIGTERM, SIGHUP: end normally */
};

#endif
