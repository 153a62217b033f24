/* overload.c: the global memory budget (see overload.h): the stage from buf_held and the
 * configured thresholds, with hysteresis, and the share above which a connection counts
 * as one of the heaviest (giving freed memory back to the system is heap.c's). */
#include "buf.h"
#include "log.h"
#include "overload.h"
#include "ring.h"

_Static_assert((int)STATS_N_overload_actions == (int)OVL_NACTIONS, "a label for each enum overload_action");

static const char *const stage_names[OVL_NSTAGES] = {
	"normal", "stop reading from the heaviest connections", "refuse new streams and requests",
	"refuse new connections",
};

/* The mean held by the sessions that held bytes at the last tick (0: none did, so any
 * session holding bytes is one of the heaviest). */
static uint64_t heavy_share;

static uint64_t threshold(const struct cfg_overload *o, int stage)
{
	uint32_t pct = stage == OVL_STOP_READING ? o->stop_reading_pct :
		       stage == OVL_REFUSE_STREAMS ? o->refuse_streams_pct : o->refuse_conns_pct;

	return ((uint64_t)o->max_buffer_mb << 20) / 100 * pct;
}

int overload_next(const struct cfg_overload *o, uint64_t held, int cur)
{
	uint64_t hyst = ((uint64_t)o->max_buffer_mb << 20) / 100 * o->hysteresis_pct;
	int next = OVL_NORMAL;

	if (!o->max_buffer_mb)
		return OVL_NORMAL;
	for (int s = OVL_STOP_READING; s < OVL_NSTAGES; s++) {
		uint64_t t = threshold(o, s);

		/* rising: its threshold reached; staying: not yet hyst below it */
		if (held >= t || (s <= cur && held + hyst >= t))
			next = s;
	}
	return next;
}

int overload_stage(struct loop *lp)
{
	const struct cfg_overload *o = &lp->cfg->overload;
	uint64_t bufs = buf_held > 0 ? (uint64_t)buf_held : 0;
	long long t = tls_mem_now();
	/* the HTTP cache's responses being stored (hfill.c); its store has its own limit */
	uint64_t tls = t > 0 ? (uint64_t)t : 0, held = bufs + tls + lp->st.overload_cache_fill_bytes;
	int cur = (int)lp->st.overload_stage, next;

	lp->st.overload_bytes = bufs;
	lp->st.overload_tls_bytes = tls;
	next = overload_next(o, held, cur);
	if (next == cur)
		return cur;
	lp->st.overload_stage = (uint64_t)next;
	/* every stage crossed is named, in the order it was crossed */
	for (int s = cur + 1; s <= next; s++)
		log_warn("overload: %llu bytes held (%llu in OpenSSL), over %u%% of overload.max_buffer_mb (%u): "
			 "stage %d, %s", (unsigned long long)held, (unsigned long long)tls, s == 1 ? o->stop_reading_pct : s == 2 ? o->refuse_streams_pct :
			 o->refuse_conns_pct, o->max_buffer_mb, s, stage_names[s]);
	for (int s = cur; s > next; s--)
		log_info("overload: %llu bytes held (%llu in OpenSSL): stage %d (%s) left, now stage %d",
			 (unsigned long long)held, (unsigned long long)tls, s, stage_names[s], s - 1);
	return next;
}

bool overload_shed(struct loop *lp, enum overload_stage stage, enum overload_action act)
{
	if (overload_stage(lp) < (int)stage)
		return false;
	lp->st.overload_actions[act]++;
	return true;
}

bool overload_heavy(struct loop *lp, uint64_t held)
{
	int stage;

	if (!held)
		return false;
	stage = overload_stage(lp);
	/* from stage 2 on every connection holding bytes waits: the lighter ones reading on
	 * would otherwise raise the mean, and the bytes held, tick after tick */
	return stage >= OVL_REFUSE_STREAMS || (stage == OVL_STOP_READING && held >= heavy_share);
}

void overload_set_share(uint64_t sum, uint64_t n)
{
	heavy_share = n ? sum / n : 0;
}

void overload_tick(struct loop *lp)
{
	overload_stage(lp);
}
