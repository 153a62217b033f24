/* out.c: hermes-top's batch and follow output (see out.h). Batch JSON and follow
 * events write a flow with the same fields. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "filter.h"
#include "out.h"
#include "policy.h"
#include "sample.h"
#include "table.h"
#include "util.h"
#include "view.h"

static void json_str_or_null(FILE *f, const char *s)
{
	if (s && *s)
		json_str(f, s);
	else
		fputs("null", f);
}

static void print_text(const struct sampler *smp, const struct snapshot *s, const struct view *v)
{
	char sum[SUM_LINES][LINE_MAX_LEN], line[NCOL * (CELL_MAX + 1) + 1];
	int width[NCOL];
	bool show[NCOL];

	table_summary(smp, s, v, sum);
	for (int i = 0; i < SUM_LINES; i++)
		printf("%s\n", sum[i]);
	printf("\n");
	table_layout(s, v, 0, width, show);
	table_line(NULL, width, show, line, sizeof(line));
	printf("%s\n", line);
	for (size_t i = 0; i < v->n; i++) {
		table_line(&s->rows[v->idx[i]], width, show, line, sizeof(line));
		printf("%s\n", line);
	}
	printf("\n");
}

static void json_u64_or_null(bool ok, uint64_t v)
{
	if (ok)
		printf("%llu", (unsigned long long)v);
	else
		printf("null");
}

/* ,"started_at":"RFC 3339","closed_at":"RFC 3339"|null */
static void json_times(const struct row *r)
{
	char t[40];

	fmt_rfc3339(r->start_wall, t, sizeof(t));
	printf(",\"started_at\":\"%s\",\"closed_at\":", t);
	fmt_rfc3339(r->end_wall, t, sizeof(t));
	json_str_or_null(stdout, r->closed ? t : NULL);
}

/* The fields a flow has in batch JSON and in follow events, without the braces. */
static void json_flow_fields(const struct row *r)
{
	/* a UDP row's key is hermesd's flow id, not a socket cookie: 0 here */
	printf("\"cookie\":%llu,\"pid\":%u,\"uid\":%u,\"comm\":", (unsigned long long)(r->udp ? 0 : r->cookie), r->pid,
	       r->uid);
	json_str(stdout, r->comm);
	printf(",\"direction\":\"%s\",\"src\":", r->incoming ? "in" : "out");
	json_str(stdout, r->src);
	printf(",\"orig_dst\":");
	json_str(stdout, r->dst);
	printf(",\"local\":");
	json_str(stdout, r->local);
	printf(",\"remote\":");
	json_str(stdout, r->remote);
	printf(",\"action\":\"%s\",\"engine\":", action_name(r->action));
	json_str_or_null(stdout, engine_json_names[r->engine]);
	printf(",\"hop\":");
	json_str_or_null(stdout, r->hop == HOP_SKMSG ? "skmsg" : r->hop == HOP_TCP ? "tcp" : NULL);
	printf(",\"bytes_in\":%llu,\"bytes_out\":%llu,\"protocol\":\"%s\"", (unsigned long long)r->bytes_in,
	       (unsigned long long)r->bytes_out, r->udp ? "udp" : "tcp");
	if (r->udp && r->idle_ns != UINT64_MAX)
		printf(",\"idle_s\":%.3f", (double)r->idle_ns / 1e9);
}

static void print_json(const struct sampler *smp, const struct snapshot *s, const struct view *v)
{
	const struct hd_view *hd = &s->hd;

	printf("{\"time\":%.3f,\"summary\":{\"flows\":%zu,\"open\":%zu,\"closed\":%zu,\"by_action\":{", s->wall,
	       v->in_window, v->open, v->closed);
	for (unsigned a = 0; a < HERMES_ACT_MAX; a++)
		printf("%s\"%s\":%zu", a ? "," : "", pol_action_name(a), v->by_action[a]);
	printf("},\"by_engine\":{\"uring\":%zu,\"splice\":%zu,\"http\":%zu,\"udp\":%zu,\"direct\":%zu,"
	       "\"unknown\":%zu}", v->by_engine[ENG_URING], v->by_engine[ENG_SPLICE], v->by_engine[ENG_HTTP],
	       v->by_engine[ENG_UDP], v->by_engine[ENG_DIRECT], v->by_engine[ENG_UNKNOWN]);
	printf(",\"rate_in\":%.1f,\"rate_out\":%.1f,\"drops\":", v->rate_in, v->rate_out);
	json_u64_or_null(s->have_counters, s->counters[HERMES_CNT_DENY]);
	printf(",\"upstream_retries\":");
	json_u64_or_null(hd->st.has_retries, hd->st.retries);
	printf(",\"decisions\":");
	if (s->have_counters) {
		printf("{");
		for (unsigned i = 0; i < HERMES_CNT_MAX; i++)
			printf("%s\"%s\":%llu", i ? "," : "", pol_counter_name(i), (unsigned long long)s->counters[i]);
		printf("}");
	} else {
		printf("null");
	}
	printf(",\"hermesd\":{\"admin\":");
	json_str(stdout, smp->admin->addr);
	printf(",\"reachable\":%s,\"detail\":", hd->reachable ? "true" : "false");
	json_str_or_null(stdout, hd->detail);
	printf(",\"connections_active\":");
	json_u64_or_null(hd->st.has_active, hd->st.active);
	printf(",\"flows_total\":");
	if (hd->st.has_flows)
		printf("{\"uring\":%llu,\"splice\":%llu}", (unsigned long long)hd->st.flows_uring,
		       (unsigned long long)hd->st.flows_splice);
	else
		printf("null");
	printf(",\"flows_endpoint\":%s}", hd->have_flows ? "true" : "false");
	if (s->error[0]) {
		printf(",\"error\":");
		json_str(stdout, s->error);
	}
	printf("},\"flows\":[");
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &s->rows[v->idx[i]];

		printf("%s{", i ? "," : "");
		json_flow_fields(r);
		printf(",\"rate_in\":%.1f,\"rate_out\":%.1f,\"rtt_us\":", r->rate_in, r->rate_out);
		json_u64_or_null(r->rtt_us != 0, r->rtt_us);
		printf(",\"rtt_hop\":");
		json_str_or_null(stdout, !r->rtt_us ? NULL : r->rtt_upstream ? "upstream" : "local");
		printf(",\"retrans\":%u,\"age_s\":%.3f,\"state\":\"%s\",\"closed\":%s,\"relay_state\":", r->retrans,
		       (double)r->age_ns / 1e9, r->closed ? "closed" : r->udp ? "open" : tcp_state_name(r->tcp_state),
		       r->closed ? "true" : "false");
		json_str_or_null(stdout, r->relay_state);
		json_times(r);
		printf("}");
	}
	printf("]}\n");
}

/* Sleeps until the CLOCK_MONOTONIC deadline or a signal asks to stop. */
static void sleep_until(const volatile sig_atomic_t *stop, uint64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC),
			       .tv_nsec = (long)(deadline_ns % NSEC_PER_SEC) };

	while (!*stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int out_batch(struct sampler *smp, const struct top_opts *o)
{
	struct view_opts vo = { .sort = o->sort, .all_closed = o->all_closed, .filter = &o->filt };
	struct snapshot snap = { 0 };
	struct view v = { 0 };
	uint64_t interval_ns = (uint64_t)(o->interval * 1e9), next = mono_ns();
	int rc = EXIT_OK;

	for (long i = 0; !*o->stop && (!o->iterations || i < o->iterations); i++) {
		if (i) {
			next += interval_ns;
			sleep_until(o->stop, next);
			if (*o->stop)
				break;
		}
		if (sample_collect(smp, &snap) == -ENOMEM || view_build(&snap, &vo, &v)) {
			errmsg("out of memory");
			rc = EXIT_RUNTIME;
			break;
		}
		if (snap.error[0] && !o->json)
			errmsg("%s", snap.error);
		if (o->json)
			print_json(smp, &snap, &v);
		else
			print_text(smp, &snap, &v);
		if (fflush(stdout)) {
			rc = EXIT_RUNTIME;
			break;
		}
	}
	free(v.idx);
	sample_snapshot_free(&snap);
	return rc;
}

/* ---------------------------------------------------------------- follow mode */

/* Follow mode prints flow events as the table changes, one line each: a flow seen
 * open for the first time ("open", at its connect time), a flow seen closed ("close",
 * at its close time; a flow that opened and closed between two samples gets both),
 * a connect denied by policy ("deny"). Flows already in the table at start are not
 * printed. Events of one sample are printed in time order. A UDP flow has no closed
 * entry: it closes when hermesd forgot it, seen as its absence from the next sample
 * (its close time is that sample's, its counts the last ones seen). */
enum fev { EV_OPEN, EV_CLOSE, EV_DENY };
static const char *const fev_names[] = { "open", "close", "deny" };

struct seen {
	uint64_t cookie;
	bool closed;
};

struct event {
	double t;
	const struct row *r;
	enum fev ev;
};

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (int)x->ev - (int)y->ev; /* open before close at the same instant */
}

static void print_event(const struct event *e, bool json)
{
	const struct row *r = e->r;
	char t[40], eng[24], a[16], b[16], dur[16];

	fmt_rfc3339(e->t, t, sizeof(t));
	table_engine_hop(r, eng, sizeof(eng));
	if (json) {
		printf("{\"time\":\"%s\",\"event\":\"%s\",", t, fev_names[e->ev]);
		json_flow_fields(r);
		printf(",\"duration_s\":");
		if (e->ev == EV_OPEN)
			printf("null");
		else
			printf("%.3f", (double)r->age_ns / 1e9);
		json_times(r);
		printf("}\n");
		return;
	}
	printf("%s %-5s %u/%s %s -> %s %s %s", t, fev_names[e->ev], r->pid, r->comm, r->src, r->dst,
	       action_name(r->action), eng);
	if (e->ev == EV_CLOSE) {
		fmt_human((double)r->bytes_in, a, sizeof(a));
		fmt_human((double)r->bytes_out, b, sizeof(b));
		fmt_age(r->age_ns, dur, sizeof(dur));
		printf(" in %s out %s lasted %s", a, b, dur);
	}
	putchar('\n');
}

/* The UDP rows of a sample, kept for the next one: those missing from it have closed. */
static struct row *udp_rows_keep(const struct snapshot *s, size_t *n)
{
	struct row *v = NULL;

	*n = 0;
	for (size_t j = 0; j < s->n; j++) {
		if (!s->rows[j].udp)
			continue;
		if (!v && !(v = calloc(s->n, sizeof(*v))))
			return NULL;
		v[(*n)++] = s->rows[j];
	}
	return v;
}

int out_follow(struct sampler *smp, const struct top_opts *o)
{
	struct snapshot snap = { 0 };
	struct seen *seen = NULL;
	struct row *udp_prev = NULL;
	size_t n_seen = 0, n_udp_prev = 0;
	uint64_t interval_ns = (uint64_t)(o->interval * 1e9), next = mono_ns();
	long printed = 0;
	int rc = EXIT_OK;

	for (long i = 0; !*o->stop; i++) {
		struct event *ev = NULL;
		struct seen *ns = NULL;
		size_t n_ev = 0;

		if (i) {
			next += interval_ns;
			sleep_until(o->stop, next);
			if (*o->stop)
				break;
		}
		if (sample_collect(smp, &snap) == -ENOMEM)
			goto oom;
		if (snap.error[0])
			errmsg("%s", snap.error);
		if ((snap.n || n_udp_prev) &&
		    (!(ns = calloc(snap.n + 1, sizeof(*ns))) || !(ev = calloc(snap.n * 2 + n_udp_prev, sizeof(*ev))))) {
			free(ns);
			goto oom;
		}
		for (size_t j = 0; j < snap.n; j++) {
			const struct row *r = &snap.rows[j];
			struct seen key = { .cookie = r->cookie }, *p;

			ns[j] = (struct seen){ .cookie = r->cookie, .closed = r->closed };
			if (!i || !filter_match(&o->filt, r))
				continue;
			p = n_seen ? bsearch(&key, seen, n_seen, sizeof(key), seen_cmp) : NULL;
			if (!p && r->action == HERMES_ACT_DENY) {
				ev[n_ev++] = (struct event){ r->start_wall, r, EV_DENY };
				continue;
			}
			if (!p)
				ev[n_ev++] = (struct event){ r->start_wall, r, EV_OPEN };
			if (r->closed && (!p || !p->closed))
				ev[n_ev++] = (struct event){ r->end_wall, r, EV_CLOSE };
		}
		if (snap.n > 1)
			qsort(ns, snap.n, sizeof(*ns), seen_cmp);
		for (size_t j = 0; j < n_udp_prev; j++) {
			struct row *r = &udp_prev[j];
			struct seen key = { .cookie = r->cookie };

			if ((snap.n && bsearch(&key, ns, snap.n, sizeof(key), seen_cmp)) || !filter_match(&o->filt, r))
				continue;
			r->closed = true;
			r->end_wall = snap.wall;
			r->age_ns = (uint64_t)((snap.wall - r->start_wall) * 1e9);
			ev[n_ev++] = (struct event){ r->end_wall, r, EV_CLOSE };
		}
		if (n_ev > 1)
			qsort(ev, n_ev, sizeof(*ev), event_cmp);
		for (size_t j = 0; j < n_ev && !(o->iterations && printed >= o->iterations); j++, printed++)
			print_event(&ev[j], o->json);
		free(ev);
		free(udp_prev);
		udp_prev = udp_rows_keep(&snap, &n_udp_prev);
		free(seen);
		seen = ns;
		n_seen = snap.n;
		if (n_seen > 1)
			qsort(seen, n_seen, sizeof(*seen), seen_cmp);
		if (fflush(stdout)) {
			rc = EXIT_RUNTIME;
			break;
		}
		if (o->iterations && printed >= o->iterations)
			break;
	}
	free(seen);
	free(udp_prev);
	sample_snapshot_free(&snap);
	return rc;
oom:
	errmsg("out of memory");
	free(seen);
	free(udp_prev);
	sample_snapshot_free(&snap);
	return EXIT_RUNTIME;
}
