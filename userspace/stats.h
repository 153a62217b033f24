/* stats.h: the description of hermesd's statistics (stats-t.h's HERMES_STATS, one entry
 * per /metrics family in its order), which admin.c walks to print /metrics. */
#ifndef HERMES_STATS_H
#define HERMES_STATS_H

#include "stats-t.h"

extern const struct stats_family stats_families[];
extern const unsigned stats_n_families;

/* The value of a counter of family f in s: the first field (i = 0) or, for a PAIR or an
 * ARRAY, the i-th of its n_values. */
uint64_t stats_value(const struct loop_stats *s, const struct stats_family *f, unsigned i);

#endif
