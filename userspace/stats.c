/* stats.c: HERMES_STATS (stats-t.h) as data: the name, type, help, labels and field
 * offset of each /metrics family, in the order admin.c prints them. */
#include "stats.h"

#define VALUES(...) .values = (const char *const[]){ __VA_ARGS__ }, .n_values = STATS_NVALUES(__VA_ARGS__)
#define HEAD(k, t, n, h) .name = n, .type = t, .help = h, .kind = k
#define OFF(f) offsetof(struct loop_stats, f)

#define D_VALUE(f, t, n, h) { HEAD(STATS_VALUE, #t, n, h), .off = { OFF(f) } },
#define D_PAIR(t, n, h, l, f0, v0, f1, v1) \
	{ HEAD(STATS_PAIR, #t, n, h), .off = { OFF(f0), OFF(f1) }, .label = l, VALUES(v0, v1) },
#define D_ARRAY(f, t, n, h, l, ...) { HEAD(STATS_ARRAY, #t, n, h), .off = { OFF(f) }, .label = l, VALUES(__VA_ARGS__) },
#define D_REAL(f, t, n, h) { HEAD(STATS_REAL, #t, n, h), .off = { OFF(f) } },
#define D_HIST(f, n, h) { HEAD(STATS_HIST, "histogram", n, h), .off = { OFF(f) } },
#define D_LABELS(f, t, n, h, l, l2, ...) \
	{ HEAD(STATS_LABELS, #t, n, h), .off = { OFF(f) }, .label = l, .label2 = l2, VALUES(__VA_ARGS__) },
#define D_SCRAPE(id, t, n, h) { HEAD(STATS_SCRAPE, #t, n, h), .scrape = STATS_S_##id },

const struct stats_family stats_families[] = {
	HERMES_STATS(D_VALUE, D_PAIR, D_ARRAY, D_REAL, D_HIST, D_LABELS, D_SCRAPE)
};
const unsigned stats_n_families = sizeof(stats_families) / sizeof(stats_families[0]);

uint64_t stats_value(const struct loop_stats *s, const struct stats_family *f, unsigned i)
{
	const char *base = (const char *)s;

	if (f->kind == STATS_PAIR)
		return *(const uint64_t *)(base + f->off[i]);
	return ((const uint64_t *)(base + f->off[0]))[i];
}
