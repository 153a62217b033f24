/* admin_metrics.c: the admin endpoint's GET /metrics (and /stats), Prometheus text
 * format 0.0.4: the families of HERMES_STATS (stats-t.h) in its order, from the loop's
 * counters and what a scrape reads itself (BPF maps, /proc, the policy map). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "admin-int.h"
#include "config.h"
#include "conn.h"
#include "etcd_src.h"
#include "fdres.h"
#include "hermes/flow.h"
#include "metrics.h"
#include "policy.h"
#include "ring.h"
#include "sess-t.h"
#include "stats.h"
#include "version.h"

/* Counts that cost tens of ms when large (a full flow table, 20000 descriptors) are
 * reused this long: hermes-top reads /stats every second, and the loop waits meanwhile. */
#define SLOW_COUNT_MAX_AGE_MS 5000

static int count_rule(const struct hermes_policy_key *k, const struct hermes_policy_val *v, void *arg)
{
	uint64_t *n = arg;

	(void)k;
	n[v->origin == HERMES_ORIGIN_CONFIG ? 1 : 0]++;
	return 0;
}

/* Entries in a hash map, read in batches (one syscall per 4096, not one per key: the
 * flow table can hold 65536 and the loop waits meanwhile). -errno on failure. */
static long map_entries(int fd, size_t key_size, size_t value_size)
{
	enum { CHUNK = 4096 };
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	void *keys = malloc(CHUNK * key_size), *vals = malloc(CHUNK * value_size);
	uint64_t in = 0, out = 0;
	long total = 0;
	bool first = true;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (;;) {
		uint32_t count = CHUNK;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &opts);

		if (err && err != -ENOENT) {
			total = err;
			break;
		}
		total += count;
		if (err) /* -ENOENT: the last batch */
			break;
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
	return total;
}

/* One scrape: the loop's counters as of now, and what the SCRAPE families show, read once
 * (one read of the per-CPU decision counters serves four families, one of /proc six). A
 * family whose source cannot be read is left out. */
struct scrape {
	struct loop *lp;
	struct sbuf *b;
	struct loop_stats s;      /* lp->st, the live flows' bytes added */
	bool have_cnt, have_proc, have_rules, have_flows;
	uint64_t cnt[HERMES_CNT_MAX];
	struct hermes_ifstats ifs[CFG_MAX_TC_IFACES];
	struct proc_stats proc;
	uint64_t rules[2];        /* [1] written by the config, [0] by hand */
	uint32_t flows_max;
};

static void scrape_read(struct loop *lp, struct sbuf *b, struct scrape *x)
{
	struct loop_stats *st = &lp->st;

	memset(x, 0, sizeof(*x));
	x->lp = lp;
	x->b = b;
	x->have_cnt = lp->ld->stats_fd >= 0 && !pol_read_counters(lp->ld->stats_fd, x->cnt);
	for (int i = 0; i < lp->ld->n_tc; i++)
		loader_ifstats(lp->ld, lp->ld->tc[i].ifindex, &x->ifs[i]);
	/* /proc opens even when streams or flows used every descriptor up: one of the reserve
	 * is lent for it */
	bool lent = fdres_lend(lp);

	x->have_proc = !proc_stats_read(&x->proc);
	/* like the flow table: 35 ms at 20000 descriptors (measured), so reused for a while */
	if (x->have_proc &&
	    (!st->open_fds_ms || lp->now_ms - st->open_fds_ms >= SLOW_COUNT_MAX_AGE_MS || st->open_fds < 0)) {
		st->open_fds = proc_count_fds();
		st->open_fds_ms = lp->now_ms;
	}
	if (lent)
		fdres_give_back(lp);
	x->have_rules = lp->ld->policy_fd >= 0 && !pol_map_foreach(lp->ld->policy_fd, count_rule, x->rules);
	if (lp->ld->flows_fd >= 0) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);

		/* 20 ms for a full table (65536, measured) */
		if (!st->flow_count_ms || lp->now_ms - st->flow_count_ms >= SLOW_COUNT_MAX_AGE_MS || st->flow_count < 0) {
			st->flow_count = map_entries(lp->ld->flows_fd, sizeof(uint64_t), sizeof(struct hermes_flow));
			st->flow_count_ms = lp->now_ms;
		}
		x->have_flows = st->flow_count >= 0 && !bpf_obj_get_info_by_fd(lp->ld->flows_fd, &info, &len);
		x->flows_max = info.max_entries;
	}
	x->s = *st;
	/* live flows' bytes count too, so a long transfer shows progress */
	struct conn *c;

	list_for_each(c, &lp->conns, link) {
		x->s.bytes_c2u += conn_bytes(c, 0);
		x->s.bytes_u2c += conn_bytes(c, 1);
	}
}

static void head(struct sbuf *b, const struct stats_family *f)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
}

/* A family of one sample. */
static void value(struct sbuf *b, const struct stats_family *f, uint64_t v)
{
	head(b, f);
	sb_printf(b, "%s %llu\n", f->name, (unsigned long long)v);
}

static void real(struct sbuf *b, const struct stats_family *f, double v)
{
	head(b, f);
	sb_printf(b, "%s %.15g\n", f->name, v);
}

/* One sample of a family with one label. */
static void sample(struct sbuf *b, const struct stats_family *f, const char *label, const char *lv, uint64_t v)
{
	sb_printf(b, "%s{%s=\"%s\"} %llu\n", f->name, label, lv, (unsigned long long)v);
}

static void histogram(struct sbuf *b, const struct stats_family *f, const struct histogram *h)
{
	uint64_t cum = 0;

	head(b, f);
	for (unsigned i = 0; i < h->n_bounds; i++) {
		cum += h->counts[i];
		sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", f->name, h->bounds[i], (unsigned long long)cum);
	}
	cum += h->counts[h->n_bounds];
	sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", f->name, (unsigned long long)cum,
		  f->name, h->sum, f->name, (unsigned long long)h->count);
}

static void labels(struct sbuf *b, const struct stats_family *f, const struct mlabels *m)
{
	head(b, f);
	for (int i = 0; i < m->n; i++)
		for (unsigned k = 0; k < f->n_values; k++)
			sb_printf(b, "%s{%s=\"%s\",%s=\"%s\"} %llu\n", f->name, f->label, m->e[i].name, f->label2,
				  f->values[k], (unsigned long long)m->e[i].v[k]);
}

/* The SCRAPE families, named as in HERMES_STATS. */
static void scrape_bpf_decisions(const struct scrape *x, const struct stats_family *f)
{
	if (!x->have_cnt)
		return;
	head(x->b, f);
	for (unsigned i = 0; i < HERMES_CNT_SKMSG_SOCK; i++)
		sample(x->b, f, "action", pol_counter_name(i), x->cnt[i]);
}

static void scrape_bpf_udp_decisions(const struct scrape *x, const struct stats_family *f)
{
	static const struct { unsigned cnt; const char *action; } rows[] = {
		{ HERMES_CNT_UDP_PASS, "pass" },
		{ HERMES_CNT_UDP_DENY, "deny" },
		{ HERMES_CNT_UDP_PROXY, "proxy" },
		{ HERMES_CNT_UDP_TUNNEL, "tunnel" },
		{ HERMES_CNT_UDP_UNSUPPORTED, "unsupported" },
		{ HERMES_CNT_UDP_NOSLOT, "no_slot" },
		{ HERMES_CNT_UDP_FAILOPEN, "fail_open" },
	};

	if (!x->have_cnt)
		return;
	head(x->b, f);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		sample(x->b, f, "action", rows[i].action, x->cnt[rows[i].cnt]);
}

static void scrape_sk_msg_sockets(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_cnt)
		value(x->b, f, x->cnt[HERMES_CNT_SKMSG_SOCK]);
}

static void scrape_sk_msg_socket_failures(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_cnt)
		value(x->b, f, x->cnt[HERMES_CNT_SKMSG_FAIL]);
}

static void scrape_sk_msg_path(const struct scrape *x, const struct stats_family *f)
{
	if (!x->have_cnt)
		return;
	head(x->b, f);
	sample(x->b, f, "path", "redirect", x->cnt[HERMES_CNT_SKMSG_REDIR]);
	sample(x->b, f, "path", "tcp", x->cnt[HERMES_CNT_SKMSG_TCP]);
	sample(x->b, f, "path", "kernel", x->cnt[HERMES_CNT_KPATH_SEND]);
}

/* One reason so far; the label leaves room for others (the deny itself is in bpf_decisions). */
static void scrape_bpf_fail_closed(const struct scrape *x, const struct stats_family *f)
{
	if (!x->have_cnt)
		return;
	head(x->b, f);
	sample(x->b, f, "reason", pol_counter_name(HERMES_CNT_UNKNOWN_ACTION), x->cnt[HERMES_CNT_UNKNOWN_ACTION]);
}

static void scrape_tunnel_sessions(const struct scrape *x, const struct stats_family *f)
{
	uint64_t n_in = 0, n_out = 0;

	const struct sess *s;

	list_for_each(s, &x->lp->sessions, link)
		if (s->state == SESS_OPEN)
			(*(s->server ? &n_in : &n_out))++;
	head(x->b, f);
	sample(x->b, f, "direction", "in", n_in);
	sample(x->b, f, "direction", "out", n_out);
}

static void scrape_heap_bytes(const struct scrape *x, const struct stats_family *f)
{
	/* mallinfo2 walks the allocator's free chunks: 1.7 ms for 10k, 62 ms for 100k (measured) */
	static struct mallinfo2 mi;
	static uint64_t mi_ms;

	if (!mi_ms || x->lp->now_ms - mi_ms >= SLOW_COUNT_MAX_AGE_MS) {
		mi = mallinfo2();
		mi_ms = x->lp->now_ms;
	}
	head(x->b, f);
	sample(x->b, f, "state", "in_use", mi.uordblks);
	sample(x->b, f, "state", "free", mi.fordblks);
	sample(x->b, f, "state", "mapped", mi.hblkhd);
}

static void interfaces(const struct scrape *x, const struct stats_family *f, bool bytes)
{
	const struct loader *ld = x->lp->ld;

	if (!ld->n_tc)
		return;
	head(x->b, f);
	for (int i = 0; i < ld->n_tc; i++) {
		const struct hermes_ifstats *s = &x->ifs[i];

		sb_printf(x->b, "%s{interface=\"%s\",direction=\"rx\"} %llu\n", f->name, x->lp->cfg->tc_ifaces[i],
			  (unsigned long long)(bytes ? s->rx_bytes : s->rx_packets));
		sb_printf(x->b, "%s{interface=\"%s\",direction=\"tx\"} %llu\n", f->name, x->lp->cfg->tc_ifaces[i],
			  (unsigned long long)(bytes ? s->tx_bytes : s->tx_packets));
	}
}

static void scrape_interface_packets(const struct scrape *x, const struct stats_family *f)
{
	interfaces(x, f, false);
}

static void scrape_interface_bytes(const struct scrape *x, const struct stats_family *f)
{
	interfaces(x, f, true);
}

static void scrape_links_attached(const struct scrape *x, const struct stats_family *f)
{
	value(x->b, f, x->lp->ld->links_attached);
}

static void scrape_links_expected(const struct scrape *x, const struct stats_family *f)
{
	value(x->b, f, x->lp->ld->links_expected);
}

static void scrape_link_reattach(const struct scrape *x, const struct stats_family *f)
{
	value(x->b, f, x->lp->ld->reattach_total);
}

static void scrape_build_info(const struct scrape *x, const struct stats_family *f)
{
	head(x->b, f);
	sb_printf(x->b, "%s{version=\"%s\",commit=\"%s\"} 1\n", f->name, hermes_version, hermes_commit);
}

static void scrape_process_start_time(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_proc)
		real(x->b, f, x->proc.start_time);
}

static void scrape_process_cpu(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_proc)
		real(x->b, f, x->proc.cpu_seconds);
}

static void scrape_process_resident(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_proc)
		value(x->b, f, x->proc.resident_bytes);
}

static void scrape_process_virtual(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_proc)
		value(x->b, f, x->proc.virtual_bytes);
}

static void scrape_process_open_fds(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_proc && x->s.open_fds >= 0)
		value(x->b, f, (uint64_t)x->s.open_fds);
}

static void scrape_process_max_fds(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_proc)
		value(x->b, f, x->proc.max_fds);
}

static void scrape_reload_success(const struct scrape *x, const struct stats_family *f)
{
	value(x->b, f, !x->s.last_reload_failed);
}

static void scrape_etcd(const struct scrape *x, const struct stats_family *f, int which)
{
	struct etcd_src_stats es;

	if (!x->lp->etcd)
		return;
	etcd_src_get_stats(x->lp->etcd, &es);
	switch (which) {
	case 0: value(x->b, f, (uint64_t)es.applied_rev); break;
	case 1: real(x->b, f, loop_wall_time() - es.last_contact); break;
	case 2: value(x->b, f, es.reconnects); break;
	case 3: value(x->b, f, es.refused); break;
	case 4: value(x->b, f, es.status_up); break;
	case 5: value(x->b, f, es.status_writes); break;
	case 6: value(x->b, f, es.status_failures); break;
	default: value(x->b, f, es.lease_grants); break;
	}
}

static void scrape_etcd_applied_revision(const struct scrape *x, const struct stats_family *f) { scrape_etcd(x, f, 0); }
static void scrape_etcd_staleness(const struct scrape *x, const struct stats_family *f) { scrape_etcd(x, f, 1); }
static void scrape_etcd_reconnects(const struct scrape *x, const struct stats_family *f) { scrape_etcd(x, f, 2); }
static void scrape_etcd_refused(const struct scrape *x, const struct stats_family *f) { scrape_etcd(x, f, 3); }
static void scrape_etcd_status_up(const struct scrape *x, const struct stats_family *f) { scrape_etcd(x, f, 4); }
static void scrape_etcd_status_writes(const struct scrape *x, const struct stats_family *f) { scrape_etcd(x, f, 5); }
static void scrape_etcd_status_failures(const struct scrape *x, const struct stats_family *f) { scrape_etcd(x, f, 6); }
static void scrape_etcd_lease_grants(const struct scrape *x, const struct stats_family *f) { scrape_etcd(x, f, 7); }

static void scrape_policy_rules(const struct scrape *x, const struct stats_family *f)
{
	if (!x->have_rules)
		return;
	head(x->b, f);
	sample(x->b, f, "origin", "config", x->rules[1]);
	sample(x->b, f, "origin", "manual", x->rules[0]);
}

static void scrape_flow_table_entries(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_flows)
		value(x->b, f, (uint64_t)x->s.flow_count);
}

static void scrape_flow_table_max_entries(const struct scrape *x, const struct stats_family *f)
{
	if (x->have_flows)
		value(x->b, f, x->flows_max);
}

#define SCRAPER(id, type, name, help) [STATS_S_##id] = scrape_##id,
static void (*const scrapers[STATS_S_COUNT])(const struct scrape *, const struct stats_family *) = {
	HERMES_STATS(STATS_SKIP, STATS_SKIP, STATS_SKIP, STATS_SKIP, STATS_SKIP, STATS_SKIP, SCRAPER)
};

void admin_metrics_body(struct loop *lp, struct sbuf *b)
{
	struct scrape x;

	scrape_read(lp, b, &x);
	for (unsigned i = 0; i < stats_n_families; i++) {
		const struct stats_family *f = &stats_families[i];
		const char *field = (const char *)&x.s + f->off[0];

		switch (f->kind) {
		case STATS_VALUE:
			value(b, f, stats_value(&x.s, f, 0));
			break;
		case STATS_PAIR:
		case STATS_ARRAY:
			head(b, f);
			for (unsigned k = 0; k < f->n_values; k++)
				sample(b, f, f->label, f->values[k], stats_value(&x.s, f, k));
			break;
		case STATS_REAL:
			/* cppcheck-suppress invalidPointerCast ; field is x.s + the offset of a double member (STATS_REAL) */
			real(b, f, *(const double *)field);
			break;
		case STATS_HIST:
			histogram(b, f, (const struct histogram *)field);
			break;
		case STATS_LABELS:
			labels(b, f, (const struct mlabels *)field);
			break;
		case STATS_SCRAPE:
			scrapers[f->scrape](&x, f);
			break;
		}
	}
}

