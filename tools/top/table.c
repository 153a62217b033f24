/* table.c: hermes-top's table and header text (see table.h), the same in the live view
 * and in batch text. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "table.h"
#include "util.h"

static const struct coldef {
	const char *title;
	int width;  /* preferred */
	int minw;   /* when the terminal is narrow */
	int maxw;   /* grows up to this for long contents (IPv6) */
	bool right; /* numbers: right-aligned */
} cols[NCOL] = {
	[C_PROC] = { "PID/COMM", 18, 12, 24, false },
	[C_SRC] = { "SRC", 21, 15, 47, false },
	[C_DST] = { "ORIG DST", 21, 15, 47, false },
	[C_ACTION] = { "ACTION", 6, 6, 6, false },
	[C_ENGINE] = { "ENGINE/HOP", 11, 11, 12, false },
	[C_RATE] = { "RATE IN/OUT", 11, 11, 13, true },
	[C_BYTES] = { "BYTES IN/OUT", 12, 12, 13, true },
	[C_RTT] = { "RTT", 7, 7, 8, true },
	[C_RETRANS] = { "RETRANS", 7, 7, 10, true },
	[C_AGE] = { "AGE", 6, 6, 7, true },
	[C_STATE] = { "STATE", 10, 10, 15, false },
	[C_PROTO] = { "PROTO", 5, 5, 5, false },
};

/* How a narrow terminal fits the table: these steps in order until it fits. */
static const struct { enum col col; bool drop; } narrow_steps[] = {
	{ C_PROTO, true }, { C_RETRANS, true }, { C_SRC, false }, { C_RTT, true }, { C_AGE, true }, { C_PROC, false },
	{ C_DST, false }, { C_SRC, true }, { C_STATE, true }, { C_BYTES, true }, { C_ENGINE, true },
};

void table_engine_hop(const struct row *r, char *buf, size_t len)
{
	if (r->hop == HOP_NA)
		snprintf(buf, len, "%s", engine_names[r->engine]);
	else
		snprintf(buf, len, "%s/%s", engine_names[r->engine], r->hop == HOP_SKMSG ? "skmsg" : "tcp");
}

static void row_cells(const struct row *r, char cell[NCOL][CELL_MAX])
{
	char a[16], b[16];

	if (r->pid)
		snprintf(cell[C_PROC], CELL_MAX, "%u/%s", r->pid, r->comm);
	else
		snprintf(cell[C_PROC], CELL_MAX, "-/%s", r->comm);
	snprintf(cell[C_SRC], CELL_MAX, "%s", r->src);
	snprintf(cell[C_DST], CELL_MAX, "%s", r->dst);
	snprintf(cell[C_ACTION], CELL_MAX, "%s", action_name(r->action));
	table_engine_hop(r, cell[C_ENGINE], CELL_MAX);
	fmt_human(r->rate_in, a, sizeof(a));
	fmt_human(r->rate_out, b, sizeof(b));
	snprintf(cell[C_RATE], CELL_MAX, "%s/%s", a, b);
	fmt_human((double)r->bytes_in, a, sizeof(a));
	fmt_human((double)r->bytes_out, b, sizeof(b));
	snprintf(cell[C_BYTES], CELL_MAX, "%s/%s", a, b);
	fmt_rtt(r->rtt_us, cell[C_RTT], CELL_MAX);
	snprintf(cell[C_RETRANS], CELL_MAX, "%u", r->retrans);
	fmt_age(r->age_ns, cell[C_AGE], CELL_MAX);
	if (r->closed) {
		fmt_clock(r->end_wall, "closed ", cell[C_STATE], CELL_MAX);
	} else if (r->udp && r->idle_ns != UINT64_MAX) {
		fmt_age(r->idle_ns, b, sizeof(b));
		snprintf(cell[C_STATE], CELL_MAX, "idle %s", b);
	} else if (r->udp) {
		snprintf(cell[C_STATE], CELL_MAX, "%s", r->relay_state[0] ? r->relay_state : "open");
	} else {
		snprintf(cell[C_STATE], CELL_MAX, "%s", tcp_state_name(r->tcp_state));
	}
	snprintf(cell[C_PROTO], CELL_MAX, "%s", r->udp ? "udp" : "tcp");
}

void table_layout(const struct snapshot *s, const struct view *v, int avail, int width[NCOL], bool show[NCOL])
{
	int total = -1, want[NCOL];

	for (int c = 0; c < NCOL; c++) {
		width[c] = cols[c].width;
		show[c] = true;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &s->rows[v->idx[i]];
		char cell[NCOL][CELL_MAX];

		row_cells(r, cell);
		for (int c = 0; c < NCOL; c++) {
			int l = (int)strlen(cell[c]);

			if (l > width[c])
				width[c] = l < cols[c].maxw ? l : cols[c].maxw;
		}
	}
	for (int c = 0; c < NCOL; c++) {
		want[c] = width[c];
		total += width[c] + 1;
	}
	for (size_t i = 0; avail > 0 && total > avail && i < sizeof(narrow_steps) / sizeof(narrow_steps[0]); i++) {
		enum col c = narrow_steps[i].col;

		if (narrow_steps[i].drop) {
			show[c] = false;
			total -= width[c] + 1;
		} else if (width[c] > cols[c].minw) {
			int cut = width[c] - cols[c].minw;

			if (cut > total - avail)
				cut = total - avail;
			width[c] -= cut;
			total -= cut;
		}
	}
	/* what dropping a wide column freed goes back to the columns shrunk before it */
	for (size_t i = 0; avail > 0 && total < avail && i < sizeof(narrow_steps) / sizeof(narrow_steps[0]); i++) {
		enum col c = narrow_steps[i].col;
		int grow;

		if (narrow_steps[i].drop || !show[c] || width[c] >= want[c])
			continue;
		grow = want[c] - width[c] < avail - total ? want[c] - width[c] : avail - total;
		width[c] += grow;
		total += grow;
	}
}

void table_layout_scrolled(const struct snapshot *s, const struct view *v, int avail, int hcol, int width[NCOL],
			   bool show[NCOL])
{
	int used;
	bool full = false;

	table_layout(s, v, 0, width, show);
	used = width[C_PROC];
	for (int c = 1; c < NCOL; c++) {
		show[c] = !full && c > hcol && used + 1 + width[c] <= avail;
		if (c > hcol && !show[c])
			full = true; /* no gaps: the columns after it wait for the next Right */
		if (show[c])
			used += 1 + width[c];
	}
}

/* cell fitted to w columns; addresses keep their right end (the port), with a '~'. */
const char *table_col_title(enum col c)
{
	return cols[c].title;
}

static void fit(char *out, size_t len, const char *cell, int w, enum col c)
{
	int l = (int)strlen(cell);

	if (l <= w) {
		snprintf(out, len, cols[c].right ? "%*s" : "%-*s", w, cell);
	} else if (c == C_SRC || c == C_DST) {
		snprintf(out, len, "~%s", cell + (l - w + 1));
	} else {
		snprintf(out, len, "%.*s", w, cell);
	}
}

void table_line(const struct row *r, const int width[NCOL], const bool show[NCOL], char *out, size_t len)
{
	char cell[NCOL][CELL_MAX], piece[CELL_MAX + 2];
	size_t n = 0;
	bool first = true;

	if (r)
		row_cells(r, cell);
	out[0] = 0;
	for (int c = 0; c < NCOL; c++) {
		if (!show[c])
			continue;
		fit(piece, sizeof(piece), r ? cell[c] : cols[c].title, width[c], (enum col)c);
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", first ? "" : " ", piece);
		first = false;
		if (n >= len)
			break;
	}
	/* no trailing blanks in batch text */
	n = strlen(out);
	while (n && out[n - 1] == ' ')
		out[--n] = 0;
}

/* Line 1's word on hermesd: ready, answering, or not reachable and why. */
static void hermesd_status(const char *admin, const struct hd_view *hd, char *buf, size_t len)
{
	if (!hd->reachable)
		snprintf(buf, len, "hermesd: not reachable at %s (%s)", admin, hd->detail);
	else if (hd->st.has_active)
		snprintf(buf, len, "hermesd: ready at %s, %llu active%s%s", admin, (unsigned long long)hd->st.active,
			 hd->detail[0] ? "; " : "", hd->detail);
	else
		snprintf(buf, len, "hermesd: answering at %s%s%s", admin, hd->detail[0] ? "; " : "", hd->detail);
}

void table_summary(const struct sampler *smp, const struct snapshot *s, const struct view *v,
		   char out[SUM_LINES][LINE_MAX_LEN])
{
	char tbuf[16], hd[256], ri[16], ro[16], drops[32], retries[32], relayed[64], acts[160] = "";
	time_t t = (time_t)s->wall;
	struct tm tm;
	size_t n = 0;

	localtime_r(&t, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	hermesd_status(smp->admin->addr, &s->hd, hd, sizeof(hd));
	snprintf(out[0], LINE_MAX_LEN, "hermes-top %s  %s%s%s  pin root %s", tbuf, hd, s->error[0] ? "  ERROR: " : "",
		 s->error, smp->pin_root);

	for (unsigned a = 0; a <= HERMES_ACT_MAX; a++) {
		if (!v->by_action[a] && a != HERMES_ACT_PASS && a != HERMES_ACT_DENY && a != HERMES_ACT_PROXY)
			continue;
		n += (size_t)snprintf(acts + n, n < sizeof(acts) ? sizeof(acts) - n : 0, "%s%s %zu", n ? " " : "",
				      a < HERMES_ACT_MAX ? pol_action_name(a) : "other", v->by_action[a]);
	}
	n = (size_t)snprintf(out[1], LINE_MAX_LEN, "flows %zu: %zu open %zu closed | %s | open:", v->in_window, v->open,
			     v->closed, acts);
	/* engines with open flows only: the line must fit 80 columns */
	for (int e = ENG_URING; e < ENG_MAX; e++)
		if (e != ENG_NONE && v->by_engine[e] && n < LINE_MAX_LEN)
			n += (size_t)snprintf(out[1] + n, LINE_MAX_LEN - n, " %s %zu", engine_names[e], v->by_engine[e]);
	if (v->by_engine[ENG_UNKNOWN] && n < LINE_MAX_LEN)
		n += (size_t)snprintf(out[1] + n, LINE_MAX_LEN - n, " unknown %zu", v->by_engine[ENG_UNKNOWN]);
	if (!v->open && n < LINE_MAX_LEN)
		snprintf(out[1] + n, LINE_MAX_LEN - n, " none");

	fmt_human(v->rate_in, ri, sizeof(ri));
	fmt_human(v->rate_out, ro, sizeof(ro));
	if (s->have_counters)
		snprintf(drops, sizeof(drops), "%llu", (unsigned long long)s->counters[HERMES_CNT_DENY]);
	else
		snprintf(drops, sizeof(drops), "?");
	if (s->hd.st.has_retries)
		snprintf(retries, sizeof(retries), "%llu", (unsigned long long)s->hd.st.retries);
	else
		snprintf(retries, sizeof(retries), "-");
	if (s->hd.st.has_flows)
		snprintf(relayed, sizeof(relayed), "uring %llu splice %llu", (unsigned long long)s->hd.st.flows_uring,
			 (unsigned long long)s->hd.st.flows_splice);
	else
		snprintf(relayed, sizeof(relayed), "-");
	snprintf(out[2], LINE_MAX_LEN, "rate in %s/s out %s/s%s | denied %s | retries %s | relayed: %s",
		 ri, ro, s->rates_valid ? "" : " (first sample)", drops, retries, relayed);
}
