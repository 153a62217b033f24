/* live.c: hermes-top's live view (see live.h). Drawing never reads a map: a new sample
 * or a key that changes the view rebuilds it from the sampler first. */
#include <curses.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "filter.h"
#include "live.h"
#include "policy.h"
#include "sample.h"
#include "table.h"
#include "util.h"
#include "view.h"

enum { PAIR_DENY = 1, PAIR_PROXY };

struct ui {
	struct view_opts vo;
	char filter[FILTER_MAX];
	struct filter filt;  /* filter, parsed */
	char msg[192];       /* a bad filter, shown in the bottom line until the next key */
	bool paused, help, editing;
	char edit[FILTER_MAX];
	size_t top;       /* first row shown */
	size_t sel;       /* the selected row (Enter shows its details) */
	uint64_t sel_cookie; /* its flow: the selection follows it across samples */
	int hcol;         /* 0: columns by priority; N: the N columns after PID/COMM scrolled away */
	bool detail;      /* the detail view of detail_cookie */
	uint64_t detail_cookie;
	struct rule_info rule; /* the policy rule for the detail view's flow, at the last sample */
	int page;         /* rows per page at the last draw */
	bool colors;
};

static void put_line(int y, const char *s, int w, attr_t attr)
{
	if (attr)
		attron(attr);
	mvaddnstr(y, 0, s, w);
	if (attr)
		attroff(attr);
}

/* Word-wrapped message in the middle of whatever space there is. */
static void draw_too_small(int w, int h)
{
	char msg[128], lines[8][128];
	int nl = 0;
	char *save = NULL, *word;

	snprintf(msg, sizeof(msg), "terminal too small: need at least %dx%d, have %dx%d", LIVE_MIN_COLS, LIVE_MIN_LINES, w, h);
	lines[0][0] = 0;
	for (word = strtok_r(msg, " ", &save); word && nl < 8; word = strtok_r(NULL, " ", &save)) {
		size_t cur = strlen(lines[nl]);

		if (cur && (int)(cur + 1 + strlen(word)) > w) {
			if (++nl == 8)
				break;
			lines[nl][0] = 0;
			cur = 0;
		}
		snprintf(lines[nl] + cur, sizeof(lines[nl]) - cur, "%s%s", cur ? " " : "", word);
	}
	if (nl < 8 && lines[nl][0])
		nl++;
	for (int i = 0; i < nl && i < h; i++)
		mvaddnstr(i + (h - nl > 0 ? (h - nl) / 2 : 0), 0, lines[i], w);
	if (h > nl + 1)
		mvaddnstr(h - 1, 0, "q quits", w);
}

/* fits 80x24 */
static const char *const help_text[] = {
	"hermes-top help                                           (any key returns)",
	"  q quit (also Ctrl-C)   p pause/resume   h, ? this help",
	"  s  next sort key: rate, bytes, age, pid, rtt, dst     S  reverse the order",
	"  /  edit the filter (Enter applies, Esc cancels, Ctrl-U clears):",
	"     pid:N comm:NAME dst:CIDR[:PORT] src: port:N action: engine: state: proto:",
	"     or any text; !word or -word negates",
	"  Enter  details of the selected flow (policy rule, times); Esc goes back",
	"  Left/Right  scroll the columns after PID/COMM",
	"  c  closed flows: last 5 seconds / all still in the table",
	"  Up/Down PgUp/PgDn Home/End   move the selection",
	"",
	"  PID/COMM     who called connect();   SRC  the flow's source address",
	"  ORIG DST     what the application dialled;   ACTION  pass deny proxy tunnel http",
	"  ENGINE/HOP   relay engine (uring, splice, http, udp) / hop (skmsg or tcp);",
	"               direct for pass, - for deny",
	"  RATE IN/OUT  bytes/s received/sent by the app (K, M, G = 1024-based)",
	"  BYTES        bytes received/sent by the app",
	"  RTT          the upstream hop's when hermesd reports it, else the socket's",
	"  RETRANS      retransmitted segments;   PROTO  tcp or udp",
	"  AGE          time since connect (how long it lasted, once closed)",
	"  STATE        TCP state, or closed and when; a UDP flow's idle time",
	"  Data: the pinned flow table and counters; hermesd's /stats and /flows when",
	"  it answers (else the header says \"hermesd: not reachable\"). See --help.",
};

static void draw_help(int w, int h)
{
	int n = (int)(sizeof(help_text) / sizeof(help_text[0]));

	for (int i = 0; i < n && i < h; i++)
		put_line(i, help_text[i], w, i == 0 ? A_BOLD : 0);
}

/* The detail view of one flow, from line 4 down: every field of its row, the policy
 * rule that matches its original destination now, and when it started and closed. */
static void draw_detail(const struct ui *u, const struct snapshot *s, int w, int h)
{
	const struct row *r = sample_row_by_cookie(s, u->detail_cookie);
	char l[32][LINE_MAX_LEN], a[16], b[16], c[16], d[16], t[48];
	int n = 0;

	if (!r) {
		put_line(5, "  this flow is no longer in the table (the LRU or the closed-flow reader aged it out)", w, 0);
		put_line(h - 1, "Esc/Enter back to the table  q quit", w, A_REVERSE);
		return;
	}
	if (r->udp) /* its key is hermesd's flow id with the top bit set (sample.c) */
		snprintf(l[n++], LINE_MAX_LEN, "UDP flow %llu (hermesd's id)%s", (unsigned long long)(r->cookie & ~(1ULL << 63)),
			 r->incoming ? ", a CONNECT-UDP stream of the tunnel listener" : ", relayed by hermesd's UDP relay");
	else
		snprintf(l[n++], LINE_MAX_LEN, "flow %llu (socket cookie)%s", (unsigned long long)r->cookie,
			 r->incoming ? ", accepted (incoming)" : ", outgoing");
	snprintf(l[n++], LINE_MAX_LEN, "  process      pid %u, comm %s, uid %u, cgroup id %llu", r->pid, r->comm, r->uid,
		 (unsigned long long)r->cgroup_id);
	snprintf(l[n++], LINE_MAX_LEN, "  source       %s", r->src);
	snprintf(l[n++], LINE_MAX_LEN, "  orig dst     %s", r->dst);
	snprintf(l[n++], LINE_MAX_LEN, "  socket       local %s, remote %s", r->local, r->remote);
	snprintf(l[n++], LINE_MAX_LEN, "  action       %s", action_name(r->action));
	if (u->rule.found)
		snprintf(l[n++], LINE_MAX_LEN, "  policy rule  %s -> %s (%s)%s", u->rule.match, action_name(u->rule.action),
			 pol_origin_name(u->rule.origin),
			 u->rule.action == r->action ? "" : r->action == HERMES_ACT_PASS && u->rule.action == HERMES_ACT_PROXY
			 ? "  (the flow failed open: hermesd was not listening)" : "  (the policy changed since the connect)");
	else if (u->rule.read)
		snprintf(l[n++], LINE_MAX_LEN, "  policy rule  none matches %s: it passes", r->dst);
	else
		snprintf(l[n++], LINE_MAX_LEN, "  policy rule  unknown: %s", u->rule.error);
	table_engine_hop(r, t, sizeof(t));
	snprintf(l[n++], LINE_MAX_LEN, "  engine/hop   %s%s%s", t, r->relay_state[0] ? ", hermesd state " : "",
		 r->relay_state);
	fmt_human((double)r->bytes_in, a, sizeof(a));
	fmt_human((double)r->bytes_out, b, sizeof(b));
	fmt_human(r->rate_in, c, sizeof(c));
	fmt_human(r->rate_out, d, sizeof(d));
	snprintf(l[n++], LINE_MAX_LEN, "  bytes        in %s (%llu) out %s (%llu); rate in %s/s out %s/s", a,
		 (unsigned long long)r->bytes_in, b, (unsigned long long)r->bytes_out, c, d);
	fmt_rtt(r->rtt_us, a, sizeof(a));
	if (!r->udp)
		snprintf(l[n++], LINE_MAX_LEN, "  rtt          %s%s, %u retransmitted segments", a,
			 !r->rtt_us ? "" : r->rtt_upstream ? " (upstream hop)" : " (this socket)", r->retrans);
	fmt_rfc3339(r->start_wall, t, sizeof(t));
	fmt_age(r->age_ns, a, sizeof(a));
	snprintf(l[n++], LINE_MAX_LEN, "  started      %s", t);
	if (r->closed) {
		fmt_rfc3339(r->end_wall, t, sizeof(t));
		snprintf(l[n++], LINE_MAX_LEN, "  closed       %s, after %s", t, a);
	} else if (r->udp) {
		fmt_age(r->idle_ns == UINT64_MAX ? 0 : r->idle_ns, b, sizeof(b));
		snprintf(l[n++], LINE_MAX_LEN, "  state        open for %s%s%s", a, r->idle_ns == UINT64_MAX ? "" : ", idle ",
			 r->idle_ns == UINT64_MAX ? "" : b);
	} else {
		snprintf(l[n++], LINE_MAX_LEN, "  state        %s, open for %s", tcp_state_name(r->tcp_state), a);
	}
	for (int i = 0; i < n && 5 + i < h - 1; i++)
		put_line(5 + i, l[i], w, i ? 0 : A_BOLD);
	put_line(h - 1, "Esc/Enter back to the table  p pause  q quit", w, A_REVERSE);
}

static void ui_draw(struct ui *u, const struct sampler *smp, const struct snapshot *s, const struct view *v)
{
	char sum[SUM_LINES][LINE_MAX_LEN], line[NCOL * (CELL_MAX + 1) + 1], st[LINE_MAX_LEN], scroll[48] = "";
	int w, h, width[NCOL], y;
	bool show[NCOL];

	getmaxyx(stdscr, h, w);
	erase();
	if (w < LIVE_MIN_COLS || h < LIVE_MIN_LINES) {
		draw_too_small(w, h);
		refresh();
		return;
	}
	if (u->help) {
		draw_help(w, h);
		refresh();
		return;
	}
	table_summary(smp, s, v, sum);
	put_line(0, sum[0], w, A_BOLD);
	put_line(1, sum[1], w, 0);
	put_line(2, sum[2], w, 0);
	if (u->hcol)
		snprintf(scroll, sizeof(scroll), " columns from %s |", table_col_title((enum col)(u->hcol + 1)));
	snprintf(st, sizeof(st), "sort %s %s | filter %s%s%s |%s closed flows: %s%s", view_sort_names[u->vo.sort],
		 (u->vo.reverse ? "(reversed)" : "(default order)"), u->filter[0] ? "\"" : "", u->filter[0] ? u->filter : "none",
		 u->filter[0] ? "\"" : "", scroll, u->vo.all_closed ? "all" : "last 5 s", u->paused ? " | PAUSED" : "");
	put_line(3, st, w, u->paused ? A_BOLD : 0);
	if (u->detail) {
		draw_detail(u, s, w, h);
		refresh();
		return;
	}

	if (u->hcol)
		table_layout_scrolled(s, v, w, u->hcol, width, show);
	else
		table_layout(s, v, w, width, show);
	table_line(NULL, width, show, line, sizeof(line));
	attron(A_REVERSE);
	mvhline(4, 0, ' ', w);
	mvaddnstr(4, 0, line, w);
	attroff(A_REVERSE);

	u->page = h - 6;
	if (u->sel >= v->n)
		u->sel = v->n ? v->n - 1 : 0;
	if (u->sel < u->top)
		u->top = u->sel;
	if (u->sel >= u->top + (size_t)u->page)
		u->top = u->sel - (size_t)u->page + 1;
	if (u->top + (size_t)u->page > v->n)
		u->top = v->n > (size_t)u->page ? v->n - (size_t)u->page : 0;
	u->sel_cookie = v->n ? s->rows[v->idx[u->sel]].cookie : 0;
	y = 5;
	for (size_t i = u->top; i < v->n && y < h - 1; i++, y++) {
		const struct row *r = &s->rows[v->idx[i]];
		attr_t a = 0;

		if (r->closed)
			a |= A_DIM;
		if (u->colors && r->action == HERMES_ACT_DENY)
			a |= COLOR_PAIR(PAIR_DENY);
		else if (u->colors && r->action == HERMES_ACT_PROXY)
			a |= COLOR_PAIR(PAIR_PROXY);
		if (i == u->sel)
			a |= A_REVERSE;
		table_line(r, width, show, line, sizeof(line));
		if (i == u->sel)
			mvhline(y, 0, ' ', w);
		put_line(y, line, w, a);
	}
	if (!v->n)
		mvaddnstr(6, 2, u->filter[0] ? "no flow matches the filter" : "no flows in the table window", w - 2);

	if (u->editing) {
		snprintf(st, sizeof(st), "filter: %s", u->edit);
		put_line(h - 1, st, w, A_BOLD);
		curs_set(1);
		move(h - 1, (int)strlen(st) < w ? (int)strlen(st) : w - 1);
	} else if (u->msg[0]) {
		curs_set(0);
		put_line(h - 1, u->msg, w, A_BOLD);
	} else {
		curs_set(0);
		snprintf(st, sizeof(st), "rows %zu-%zu of %zu | q quit  Enter details  </> columns  / filter  s sort  ? help",
			 v->n ? u->top + 1 : 0, u->top + (size_t)(y - 5), v->n);
		put_line(h - 1, st, w, A_REVERSE);
	}
	refresh();
}

/* Returns true when the key asks to quit. *rebuild: the view must be rebuilt. */
static bool ui_key(struct ui *u, int ch, const struct view *v, bool *rebuild)
{
	size_t page = u->page > 0 ? (size_t)u->page : 1;

	if (u->editing) {
		size_t l = strlen(u->edit);

		switch (ch) {
		case 27: /* Esc */
			u->editing = false;
			break;
		case '\n':
		case '\r':
		case KEY_ENTER: {
			struct filter nf;

			u->editing = false;
			if (filter_parse(u->edit, &nf, u->msg, sizeof(u->msg)))
				break; /* the old filter stays; the message says why */
			snprintf(u->filter, sizeof(u->filter), "%s", u->edit);
			u->filt = nf;
			u->top = 0;
			*rebuild = true;
			break;
		}
		case KEY_BACKSPACE:
		case 127:
		case 8:
			if (l)
				u->edit[l - 1] = 0;
			break;
		case 21: /* Ctrl-U */
			u->edit[0] = 0;
			break;
		default:
			if (ch >= 32 && ch < 127 && l + 1 < sizeof(u->edit)) {
				u->edit[l] = (char)ch;
				u->edit[l + 1] = 0;
			}
			break;
		}
		return false;
	}
	if (u->help) {
		u->help = false;
		return ch == 'q';
	}
	u->msg[0] = 0;
	if (u->detail) {
		if (ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == KEY_BACKSPACE || ch == 127 ||
		    ch == KEY_LEFT)
			u->detail = false;
		else if (ch == 'p')
			u->paused = !u->paused;
		return ch == 'q';
	}
	switch (ch) {
	case 'q':
		return true;
	case 'p':
		u->paused = !u->paused;
		break;
	case 's':
		u->vo.sort = (enum sort_key)((u->vo.sort + 1) % SORT_MAX);
		*rebuild = true;
		break;
	case 'S':
		u->vo.reverse = !u->vo.reverse;
		*rebuild = true;
		break;
	case '/':
		u->editing = true;
		snprintf(u->edit, sizeof(u->edit), "%s", u->filter);
		break;
	case 'c':
		u->vo.all_closed = !u->vo.all_closed;
		*rebuild = true;
		break;
	case 'h':
	case '?':
		u->help = true;
		break;
	case KEY_UP:
		if (u->sel)
			u->sel--;
		break;
	case KEY_DOWN:
		if (u->sel + 1 < v->n)
			u->sel++;
		break;
	case KEY_PPAGE:
		u->sel = u->sel > page ? u->sel - page : 0;
		break;
	case KEY_NPAGE:
		u->sel = u->sel + page < v->n ? u->sel + page : v->n ? v->n - 1 : 0;
		break;
	case KEY_HOME:
		u->sel = 0;
		break;
	case KEY_END:
		u->sel = v->n ? v->n - 1 : 0;
		break;
	case KEY_RIGHT:
		if (u->hcol < NCOL - 2)
			u->hcol++;
		break;
	case KEY_LEFT:
		if (u->hcol)
			u->hcol--;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (v->n) {
			u->detail = true;
			u->detail_cookie = u->sel_cookie;
			*rebuild = true; /* run_live looks the rule up */
		}
		break;
	default:
		break;
	}
	return false;
}

/* A new view (new sample, sort, filter): the selection stays on its flow, and the
 * detail view's rule is looked up again (reading a map is data collection, not drawing). */
static int ui_rebuild(struct ui *u, struct sampler *smp, const struct snapshot *s, struct view *v)
{
	const struct row *r;

	if (view_build(s, &u->vo, v))
		return -ENOMEM;
	for (size_t i = 0; u->sel_cookie && i < v->n; i++) {
		if (s->rows[v->idx[i]].cookie == u->sel_cookie) {
			u->sel = i;
			break;
		}
	}
	if (u->detail && (r = sample_row_by_cookie(s, u->detail_cookie)))
		sample_rule_lookup(smp, &r->dst_addr, r->udp, &u->rule);
	return 0;
}

int live_run(struct sampler *smp, const struct top_opts *o)
{
	struct ui u = { .vo = { .sort = o->sort, .all_closed = o->all_closed } };
	struct snapshot snap = { 0 };
	struct view v = { 0 };
	uint64_t interval_ns = (uint64_t)(o->interval * 1e9), next;
	long samples = 0;
	bool dirty = true, have = false;
	int rc = EXIT_OK;

	snprintf(u.filter, sizeof(u.filter), "%s", o->filter);
	u.filt = o->filt;
	u.vo.filter = &u.filt;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		errmsg("the live view needs a terminal: use -b for batch output");
		return EXIT_RUNTIME;
	}
	if (!initscr()) {
		errmsg("cannot initialise the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		return EXIT_RUNTIME;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	/* colours only on the terminal's own background; plain attributes otherwise */
	u.colors = has_colors() && start_color() == OK && use_default_colors() == OK &&
		   init_pair(PAIR_DENY, COLOR_RED, -1) == OK && init_pair(PAIR_PROXY, COLOR_CYAN, -1) == OK;

	next = mono_ns();
	while (!*o->stop) {
		uint64_t now = mono_ns();
		int ch, wait_ms;
		bool rebuild = false;

		if (!u.paused && now >= next) {
			if (o->iterations && samples >= o->iterations)
				break;
			if (sample_collect(smp, &snap) == -ENOMEM) {
				rc = EXIT_RUNTIME;
				break;
			}
			samples++;
			have = true;
			rebuild = true;
			next += interval_ns;
			if (next <= now)
				next = now + interval_ns;
		}
		if (rebuild && ui_rebuild(&u, smp, &snap, &v)) {
			rc = EXIT_RUNTIME;
			break;
		}
		if ((dirty || rebuild) && have) {
			ui_draw(&u, smp, &snap, &v);
			dirty = false;
		}
		now = mono_ns();
		wait_ms = u.paused || next <= now ? 250 : (int)((next - now) / 1000000);
		if (wait_ms > 250)
			wait_ms = 250;
		timeout(wait_ms);
		ch = getch();
		if (ch == ERR)
			continue;
		dirty = true;
		if (ch == KEY_RESIZE)
			continue;
		if (ui_key(&u, ch, &v, &rebuild))
			break;
		if (rebuild && ui_rebuild(&u, smp, &snap, &v)) {
			rc = EXIT_RUNTIME;
			break;
		}
	}
	endwin();
	if (rc)
		errmsg("out of memory");
	free(v.idx);
	sample_snapshot_free(&snap);
	return rc;
}
