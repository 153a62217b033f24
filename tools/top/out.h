/* out.h: hermes-top's output for scripts and logs: batch mode (-b: each sample as
 * text, or as one JSON document per line with --json) and follow mode (-f: one line
 * per flow event). Prefix out_. */
#ifndef HERMES_TOP_OUT_H
#define HERMES_TOP_OUT_H

#include "sample-t.h"
#include "top-t.h"

/* Follow mode samples this often unless -d says otherwise (seconds). */
#define OUT_FOLLOW_INTERVAL 0.2

/* Each run returns the exit status: EXIT_OK, or EXIT_RUNTIME (out of memory, stdout
 * failed). */
int out_batch(struct sampler *smp, const struct top_opts *o);
int out_follow(struct sampler *smp, const struct top_opts *o);

#endif
