/* outlier.c: failure memory of targets (outlier ejection); see outlier.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "outlier.h"

/* The length of the k-th ejection in a row (k >= 1): base, then doubled, up to max. */
static uint64_t ejection_ms(const struct outlier_cfg *cfg, uint32_t k)
{
	uint64_t ms = cfg->base_ejection_ms;

	for (uint32_t i = 1; i < k && ms < cfg->max_ejection_ms; i++)
		ms *= 2;
	return ms < cfg->max_ejection_ms ? ms : cfg->max_ejection_ms;
}

bool outlier_usable(const struct outlier *o, uint64_t now_ms)
{
	return !o->ejections || now_ms >= o->until_ms;
}

uint64_t outlier_back_ms(const struct outlier *o, uint64_t now_ms)
{
	return outlier_usable(o, now_ms) ? 0 : o->until_ms;
}

bool outlier_attempt(struct outlier *o, const struct outlier_cfg *cfg, uint64_t now_ms)
{
	if (!o->ejections || now_ms < o->until_ms)
		return false;
	o->probing = true;
	o->until_ms = now_ms + ejection_ms(cfg, o->ejections);
	return true;
}

enum outlier_event outlier_failure(struct outlier *o, const struct outlier_cfg *cfg, uint64_t now_ms, uint64_t *ms)
{
	if (o->ejections) {
		if (!o->probing)
			return OUTLIER_NONE;
		o->ejections++;
	} else {
		if (!cfg->consecutive_failures || ++o->fails < cfg->consecutive_failures)
			return OUTLIER_NONE;
		o->ejections = 1;
	}
	o->fails = 0;
	o->probing = false;
	o->told = false;
	*ms = ejection_ms(cfg, o->ejections);
	o->until_ms = now_ms + *ms;
	return OUTLIER_EJECTED;
}

enum outlier_event outlier_success(struct outlier *o)
{
	bool was = o->ejections;

	*o = (struct outlier){ 0 };
	return was ? OUTLIER_RETURNED : OUTLIER_NONE;
}

int outlier_pick(const struct outlier *const *v, unsigned n, unsigned start, uint32_t tried, uint64_t now_ms,
		 bool *forced)
{
	uint32_t all = n >= 32 ? ~0u : (1u << n) - 1;
	int best = -1;

	*forced = false;
	if (!n)
		return -1;
	/* every one tried: the flow goes round again */
	if ((tried & all) == all)
		tried = 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (start + k) % n;

		if (!(tried & (1u << i)) && outlier_usable(v[i], now_ms))
			return (int)i;
	}
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (start + k) % n;

		if (!(tried & (1u << i)) && (best < 0 || v[i]->until_ms < v[best]->until_ms))
			best = (int)i;
	}
	*forced = true;
	return best;
}

struct outlier *outlier_find(struct outlier_set *s, const struct hermes_addr *addr)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!memcmp(&s->v[i].addr, addr, sizeof(*addr)))
			return &s->v[i].o;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 16;
		struct outlier_target *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = (struct outlier_target){ .addr = *addr };
	return &s->v[s->n++].o;
}

void outlier_set_free(struct outlier_set *s)
{
	free(s->v);
	*s = (struct outlier_set){ 0 };
}
