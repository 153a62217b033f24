/* sample.h: hermes-top's sampler: it reads the kernel flow table (hermes_flows), the
 * decision counters (hermes_stats) and hermesd's admin endpoint, and joins them into
 * one row per application flow with rates against the previous sample. Data
 * collection lives here and only here: the front ends never read a map. Prefix
 * sample_. Types in sample-t.h. */
#ifndef HERMES_TOP_SAMPLE_H
#define HERMES_TOP_SAMPLE_H

#include "sample-t.h"

#ifndef HERMES_MAP_FLOWS
#define HERMES_MAP_FLOWS "hermes_flows"
#endif

/* Opens the pinned maps under pin_root (the flow table must be there; the counters
 * and the policy map are optional) and remembers where hermesd's admin endpoint is
 * (admin->sa already parsed). 0, or -1 after saying on stderr what is wrong and what
 * to do. */
int sample_open(struct sampler *s, const char *pin_root, const struct admin_client *admin);
void sample_close(struct sampler *s);

/* One sample into snap (its previous content freed): hermesd's view, the counters,
 * the table, joined into rows. 0, or -errno with the reason in snap->error (-ENOMEM:
 * the caller gives up; anything else: the sample is shown with its error). */
int sample_collect(struct sampler *s, struct snapshot *snap);
void sample_snapshot_free(struct snapshot *snap);

/* The row of a flow in snap, NULL when it is gone. */
const struct row *sample_row_by_cookie(const struct snapshot *snap, uint64_t cookie);

/* The policy rule that applies to dst now, among the UDP rules for a UDP flow, else the
 * TCP ones (see struct rule_info). */
void sample_rule_lookup(const struct sampler *s, const struct hermes_addr *dst, bool udp, struct rule_info *ri);

#endif
