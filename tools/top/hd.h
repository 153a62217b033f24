/* hd.h: hermesd's side of a hermes-top sample, asked of its admin endpoint (GET /stats
 * in the Prometheus text format, GET /flows in JSON) with tools/cli.c's blocking client.
 * Prefix hd_. Types in hd-t.h. */
#ifndef HERMES_TOP_HD_H
#define HERMES_TOP_HD_H

#include "cli.h"
#include "hd-t.h"

/* Fills hd from GET /stats and GET /flows (the flows sorted by app_cookie for
 * hd_find). Never fails: what hermesd did not answer is absent, and hd->detail says
 * why. hd->flows is the caller's to free. */
void hd_fetch(const struct admin_client *ac, struct hd_view *hd);

/* hermesd's record of an app flow: by the app socket's cookie, else by its address
 * (normalized); NULL when hermesd did not report it. */
const struct hd_flow *hd_find(const struct hd_view *hd, uint64_t cookie, const struct hermes_addr *local);

/* The readers of the two answers (NUL-terminated text, whatever answered): GET /stats's
 * Prometheus text into st (what it lacks stays as it was), and GET /flows's JSON into a
 * malloc'ed array (unsorted): 0, or -1 on malformed JSON with nothing returned. */
void hd_parse_stats(const char *text, struct hd_stats *st);
int hd_parse_flows(const char *text, struct hd_flow **out, size_t *n_out);

#endif
