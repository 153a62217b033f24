/* sample.c: hermes-top's sampler (see sample.h): the kernel flow table reader, the join
 * of application sockets with hermesd's sockets and its /flows, the rates, and the
 * policy rule lookup of the detail view. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "hd.h"
#include "hermes/pin.h"
#include "pinfs.h"
#include "policy.h"
#include "sample.h"
#include "util.h"

struct kflow {
	__u64 cookie;
	struct hermes_flow f;
};

static int kflow_cmp_cookie(const void *a, const void *b)
{
	const struct kflow *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

static int kflows_push(struct kflow **v, size_t *n, size_t *cap, __u64 cookie, const struct hermes_flow *f)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct kflow *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n].cookie = cookie;
	(*v)[*n].f = *f;
	(*n)++;
	return 0;
}

/* Entry by entry, for kernels without batch lookups on this map. Entries deleted
 * meanwhile may restart the walk: bounded, and duplicates are removed by the caller. */
static int read_table_keys(int fd, struct kflow **v, size_t *n, size_t *cap)
{
	struct hermes_flow f;
	__u64 key = 0, next;
	bool first = true;

	for (size_t guard = 0; guard < 4 * (size_t)HERMES_FLOWS_MAX; guard++) {
		if (bpf_map_get_next_key(fd, first ? NULL : &key, &next))
			return errno == ENOENT ? 0 : -errno;
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue;
		if (kflows_push(v, n, cap, key, &f))
			return -ENOMEM;
	}
	return 0;
}

/* The whole table, sorted by cookie without duplicates. */
static int read_table(int fd, struct kflow **out, size_t *n_out)
{
	__u32 chunk = 1024;
	__u64 *keys = NULL, in_batch = 0, out_batch = 0;
	struct hermes_flow *vals = NULL;
	struct kflow *v = NULL;
	size_t n = 0, cap = 0, w;
	bool first = true;
	int err = 0;

	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	for (;;) {
		__u32 cnt = chunk;
		int r;

		if (!keys) {
			keys = calloc(chunk, sizeof(*keys));
			vals = calloc(chunk, sizeof(*vals));
			if (!keys || !vals) {
				err = -ENOMEM;
				goto out;
			}
		}
		r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &cnt, &bo);
		if (r < 0 && errno != ENOENT) {
			if (errno == ENOSPC && !cnt && chunk < HERMES_FLOWS_MAX) {
				/* one hash bucket holds more than chunk entries */
				chunk *= 4;
				free(keys);
				free(vals);
				keys = NULL;
				vals = NULL;
				continue;
			}
			if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
				err = read_table_keys(fd, &v, &n, &cap);
				break;
			}
			err = -errno;
			goto out;
		}
		for (__u32 i = 0; i < cnt; i++)
			if (kflows_push(&v, &n, &cap, keys[i], &vals[i])) {
				err = -ENOMEM;
				goto out;
			}
		if (r < 0) /* ENOENT: that was the last batch */
			break;
		in_batch = out_batch;
		first = false;
	}
	if (err)
		goto out;
	if (n > 1)
		qsort(v, n, sizeof(*v), kflow_cmp_cookie);
	for (size_t i = w = 0; i < n; i++)
		if (!w || v[w - 1].cookie != v[i].cookie)
			v[w++] = v[i];
	n = w;
out:
	free(keys);
	free(vals);
	if (err) {
		free(v);
		v = NULL;
		n = 0;
	}
	*out = v;
	*n_out = n;
	return err;
}

void sample_snapshot_free(struct snapshot *s)
{
	free(s->rows);
	free(s->hd.flows);
	memset(s, 0, sizeof(*s));
}

/* hermesd's sockets, indexed for the join. */
struct sock_ent {
	struct hermes_addr local, remote; /* normalized */
	const struct hermes_flow *f;
};

static int sock_ent_cmp(const void *a, const void *b)
{
	const struct sock_ent *x = a, *y = b;
	int c = haddr_cmp(&x->local, &y->local);

	return c ? c : haddr_cmp(&x->remote, &y->remote);
}

static int sock_ent_cmp_local(const void *a, const void *b)
{
	const struct sock_ent *x = a, *y = b;

	return haddr_cmp(&x->local, &y->local);
}

/* Among the entries equal to key (by cmp), the one whose start is closest to
 * start_ns, preferring open ones: ports get reused, old closed entries linger. */
static const struct hermes_flow *sock_find(const struct sock_ent *v, size_t n, const struct sock_ent *key,
					   int (*cmp)(const void *, const void *), uint64_t start_ns)
{
	const struct sock_ent *hit = n ? bsearch(key, v, n, sizeof(*v), cmp) : NULL;
	const struct hermes_flow *best = NULL;
	uint64_t best_d = UINT64_MAX;
	size_t lo, hi;

	if (!hit)
		return NULL;
	lo = hi = (size_t)(hit - v);
	while (lo > 0 && !cmp(&v[lo - 1], key))
		lo--;
	while (hi + 1 < n && !cmp(&v[hi + 1], key))
		hi++;
	for (size_t i = lo; i <= hi; i++) {
		const struct hermes_flow *f = v[i].f;
		uint64_t d = f->start_ns > start_ns ? f->start_ns - start_ns : start_ns - f->start_ns;

		if (!(f->flags & HERMES_FLOW_CLOSED))
			d /= 1024; /* open sockets win unless far off */
		if (d < best_d) {
			best_d = d;
			best = f;
		}
	}
	return best;
}

static enum engine engine_from_flow(unsigned e)
{
	switch (e) {
	case HERMES_ENGINE_URING: return ENG_URING;
	case HERMES_ENGINE_SPLICE: return ENG_SPLICE;
	case HERMES_ENGINE_HTTP: return ENG_HTTP;
	default: return ENG_UNKNOWN;
	}
}

static enum engine engine_from_name(const char *s)
{
	return !strcmp(s, "uring") ? ENG_URING : !strcmp(s, "splice") ? ENG_SPLICE : ENG_UNKNOWN;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Fills r from an application socket's entry, joined with hermesd's sockets. */
static void row_build(struct row *r, __u64 cookie, const struct hermes_flow *f, const struct sock_ent *hop_v,
		      size_t n_hop, const struct sock_ent *up_v, size_t n_up, const struct hd_view *hd,
		      uint64_t now_ns)
{
	struct hermes_addr local, remote, dst;
	const struct hermes_flow *peer = NULL, *up = NULL;
	const struct hd_flow *hf = NULL;

	memset(r, 0, sizeof(*r));
	r->cookie = cookie;
	r->pid = f->pid;
	r->uid = f->uid;
	fmt_comm(f->comm, r->comm, sizeof(r->comm));
	haddr_norm(&local, &f->local);
	haddr_norm(&remote, &f->remote);
	fmt_haddr(&local, r->local, sizeof(r->local));
	fmt_haddr(&remote, r->remote, sizeof(r->remote));
	r->incoming = f->flags & HERMES_FLOW_PASSIVE;
	if (r->incoming) {
		snprintf(r->src, sizeof(r->src), "%s", r->remote);
		r->src_addr = remote;
		dst = local;
	} else {
		snprintf(r->src, sizeof(r->src), "%s", r->local);
		r->src_addr = local;
		haddr_norm(&dst, &f->orig_dst);
	}
	r->cgroup_id = f->cgroup_id;
	fmt_haddr(&dst, r->dst, sizeof(r->dst));
	r->dst_addr = dst;
	r->action = f->action;
	r->tcp_state = f->state;
	r->closed = f->flags & HERMES_FLOW_CLOSED;
	r->start_ns = f->start_ns;
	r->end_ns = f->end_ns;
	if (r->closed)
		r->age_ns = f->end_ns > f->start_ns ? f->end_ns - f->start_ns : 0;
	else
		r->age_ns = now_ns > f->start_ns ? now_ns - f->start_ns : 0;
	r->bytes_in = f->bytes_in;
	r->bytes_out = f->bytes_out;
	r->rtt_us = f->srtt_us;
	r->retrans = f->retrans;

	switch (f->action) {
	case HERMES_ACT_PASS:
		r->engine = ENG_DIRECT;
		return;
	case HERMES_ACT_DENY:
		r->engine = ENG_NONE;
		return;
	default:
		break;
	}

	/* Proxied: hermesd's accepted socket is this one with the addresses swapped. What
	 * the app received through sk_msg is what that socket redirected (its skmsg_out);
	 * either side's TCP counters give the rest, whichever was updated last. */
	if (local.family) {
		struct sock_ent key = { .local = remote, .remote = local };

		peer = sock_find(hop_v, n_hop, &key, sock_ent_cmp, f->start_ns);
	}
	if (peer) {
		r->bytes_in = max_u64(f->bytes_in + peer->skmsg_out, peer->bytes_out);
		r->bytes_out = max_u64(f->bytes_out, peer->bytes_in + f->skmsg_out);
		r->retrans += peer->retrans;
	}
	r->hop = ((f->flags | (peer ? peer->flags : 0)) & HERMES_FLOW_SKMSG) ? HOP_SKMSG : HOP_TCP;
	r->engine = engine_from_flow(f->engine);
	if (r->engine == ENG_UNKNOWN && peer)
		r->engine = engine_from_flow(peer->engine);
	hf = r->closed ? NULL : hd_find(hd, cookie, &local);
	if (hf) {
		if (r->engine == ENG_UNKNOWN)
			r->engine = engine_from_name(hf->engine);
		scopy(r->relay_state, sizeof(r->relay_state), hf->state);
		if (hf->upstream_local.family) {
			struct sock_ent key = { .local = hf->upstream_local };

			up = sock_find(up_v, n_up, &key, sock_ent_cmp_local, f->start_ns);
		}
	}
	if (up) {
		if (up->srtt_us) {
			r->rtt_us = up->srtt_us;
			r->rtt_upstream = true;
		}
		r->retrans += up->retrans;
	}
}

/* The UDP flows of hermesd's /flows (the kernel flow table holds TCP sockets only): the
 * relay's flows (engine "udp": the proxy or tunnel action) and the CONNECT-UDP streams of the
 * tunnel listener (the far end of someone's tunnel: direction in). Their key for rates
 * and follow mode is hermesd's flow id with the top bit set, which no socket cookie
 * reaches. */
static size_t udp_rows_add(struct row *rows, const struct hd_view *hd, uint64_t now_ns, double wall)
{
	size_t n = 0;

	for (size_t i = 0; i < hd->n_flows; i++) {
		const struct hd_flow *hf = &hd->flows[i];
		struct row *r = &rows[n];

		if (!hf->udp)
			continue;
		memset(r, 0, sizeof(*r));
		r->udp = true;
		r->cookie = (1ULL << 63) | hf->id;
		r->pid = hf->pid;
		r->uid = hf->uid;
		/* hermesd read a relay flow's when it opened; a CONNECT-UDP stream's client
		 * process is on another host ("?") */
		fmt_comm(hf->comm, r->comm, sizeof(r->comm));
		r->src_addr = hf->client;
		r->dst_addr = hf->orig_dst;
		fmt_haddr(&hf->client, r->src, sizeof(r->src));
		fmt_haddr(&hf->client, r->local, sizeof(r->local));
		fmt_haddr(&hf->orig_dst, r->dst, sizeof(r->dst));
		fmt_haddr(&hf->upstream_local, r->remote, sizeof(r->remote));
		if (!strcmp(hf->engine, "udp")) {
			r->action = hf->tunnel ? HERMES_ACT_TUNNEL : HERMES_ACT_PROXY;
			r->engine = ENG_UDP;
		} else {
			r->action = HERMES_ACT_TUNNEL;
			r->engine = engine_from_name(hf->engine);
			r->incoming = true;
		}
		r->hop = HOP_NA;
		r->bytes_in = hf->bytes_down;
		r->bytes_out = hf->bytes_up;
		r->age_ns = hf->age_ms * 1000000ULL;
		r->start_ns = now_ns > r->age_ns ? now_ns - r->age_ns : 0;
		r->start_wall = wall - (double)r->age_ns / 1e9;
		r->idle_ns = hf->has_idle ? hf->idle_ms * 1000000ULL : UINT64_MAX;
		scopy(r->relay_state, sizeof(r->relay_state), hf->state);
		n++;
	}
	return n;
}

static int prev_cmp(const void *a, const void *b)
{
	const struct prev_bytes *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

/* Rates against the previous sample, then this sample becomes the previous one. */
static void rates_update(struct sampler *s, struct snapshot *snap)
{
	double dt = s->have_prev && snap->now_ns > s->prev_ns ? (double)(snap->now_ns - s->prev_ns) / 1e9 : 0;
	struct prev_bytes *np = snap->n ? calloc(snap->n, sizeof(*np)) : NULL;

	snap->rates_valid = dt > 0;
	for (size_t i = 0; i < snap->n; i++) {
		struct row *r = &snap->rows[i];
		struct prev_bytes key = { .cookie = r->cookie }, *p = NULL;
		uint64_t in0 = 0, out0 = 0;

		if (dt > 0) {
			p = s->n_prev ? bsearch(&key, s->prev, s->n_prev, sizeof(key), prev_cmp) : NULL;
			if (p) {
				in0 = p->in;
				out0 = p->out;
			}
			/* a flow first seen now counts from 0 only if it started after the last sample */
			if (p || r->start_ns >= s->prev_ns) {
				r->rate_in = r->bytes_in > in0 ? (double)(r->bytes_in - in0) / dt : 0;
				r->rate_out = r->bytes_out > out0 ? (double)(r->bytes_out - out0) / dt : 0;
			}
		}
		if (np) {
			np[i].cookie = r->cookie;
			np[i].in = r->bytes_in;
			np[i].out = r->bytes_out;
		}
	}
	free(s->prev);
	s->prev = np;
	s->n_prev = np ? snap->n : 0;
	if (s->n_prev > 1) /* rows come in cookie order already; keep it robust anyway */
		qsort(np, s->n_prev, sizeof(*np), prev_cmp);
	s->prev_ns = snap->now_ns;
	s->have_prev = true;
}

/* Brings the open flows' counters up to date (hermes/flow.h): reading the iterator
 * hermesd pinned does it, in the kernel. Opened anew every time, so that a restarted
 * hermesd's is the one run; without it (an older hermesd) the counters are those of
 * each flow's last state change. */
static void refresh_flows(const struct sampler *s)
{
	char buf[64];
	int lfd = pin_open(s->pin_root, HERMES_PIN_FLOWS_REFRESH), fd;

	if (lfd < 0)
		return;
	fd = bpf_iter_create(lfd);
	close(lfd);
	if (fd < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

int sample_collect(struct sampler *s, struct snapshot *snap)
{
	struct sock_ent *hop_v = NULL, *up_v = NULL;
	size_t n_hop = 0, n_up = 0, n_k = 0, n_udp = 0;
	struct kflow *k = NULL;
	int err;

	sample_snapshot_free(snap);
	hd_fetch(s->admin, &snap->hd);
	if (s->stats_fd >= 0 && !pol_read_counters(s->stats_fd, snap->counters))
		snap->have_counters = true;
	refresh_flows(s);
	err = read_table(s->flows_fd, &k, &n_k);
	snap->now_ns = mono_ns();
	snap->wall = wall_time();
	if (err) {
		snprintf(snap->error, sizeof(snap->error), "cannot read %s/%s: %s", s->pin_root, HERMES_MAP_FLOWS,
			 strerror(-err));
		return err;
	}

	for (size_t i = 0; i < snap->hd.n_flows; i++)
		n_udp += snap->hd.flows[i].udp;
	if (n_k + n_udp) {
		hop_v = calloc(n_k + 1, sizeof(*hop_v));
		up_v = calloc(n_k + 1, sizeof(*up_v));
		snap->rows = calloc(n_k + n_udp, sizeof(*snap->rows));
		if (!hop_v || !up_v || !snap->rows) {
			err = -ENOMEM;
			snprintf(snap->error, sizeof(snap->error), "out of memory for %zu flows", n_k + n_udp);
			goto out;
		}
	}
	for (size_t i = 0; i < n_k; i++) {
		const struct hermes_flow *f = &k[i].f;
		struct sock_ent *e;

		if (!(f->flags & HERMES_FLOW_HERMESD))
			continue;
		e = (f->flags & HERMES_FLOW_PASSIVE) ? &hop_v[n_hop++] : &up_v[n_up++];
		haddr_norm(&e->local, &f->local);
		haddr_norm(&e->remote, &f->remote);
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): n_k > 0 made hop_v and up_v above */
		e->f = f;
	}
	if (n_hop > 1)
		qsort(hop_v, n_hop, sizeof(*hop_v), sock_ent_cmp);
	if (n_up > 1)
		qsort(up_v, n_up, sizeof(*up_v), sock_ent_cmp_local);

	for (size_t i = 0; i < n_k; i++) {
		const struct hermes_flow *f = &k[i].f;

		if (f->flags & HERMES_FLOW_HERMESD)
			continue;
		if (f->flags & HERMES_FLOW_PASSIVE) {
			/* hermesd's admin sockets are accepted in hermesd's cgroup without the
			 * HERMESD flag: they are not application flows */
			struct hermes_addr l;

			haddr_norm(&l, &f->local);
			if (!haddr_cmp(&l, &s->admin_haddr))
				continue;
		}
		row_build(&snap->rows[snap->n], k[i].cookie, f, hop_v, n_hop, up_v, n_up, &snap->hd, snap->now_ns);
		/* CLOCK_MONOTONIC stamps as wall-clock times, through this sample's pair */
		snap->rows[snap->n].start_wall = snap->wall - ((double)snap->now_ns - (double)f->start_ns) / 1e9;
		if (snap->rows[snap->n].closed)
			snap->rows[snap->n].end_wall = snap->wall - ((double)snap->now_ns - (double)f->end_ns) / 1e9;
		snap->n++;
	}
	snap->n += udp_rows_add(snap->rows + snap->n, &snap->hd, snap->now_ns, snap->wall);
	rates_update(s, snap);
out:
	free(hop_v);
	free(up_v);
	free(k);
	return err;
}

struct rule_collect {
	struct hermes_policy_key *keys;
	struct hermes_policy_val *vals;
	size_t n, cap;
};

static int rule_collect_cb(const struct hermes_policy_key *k, const struct hermes_policy_val *v, void *arg)
{
	struct rule_collect *c = arg;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		void *nk = realloc(c->keys, ncap * sizeof(*c->keys)), *nv;

		if (!nk)
			return 1;
		c->keys = nk;
		nv = realloc(c->vals, ncap * sizeof(*c->vals));
		if (!nv)
			return 1;
		c->vals = nv;
		c->cap = ncap;
	}
	c->keys[c->n] = *k;
	c->vals[c->n++] = *v;
	return 0;
}

void sample_rule_lookup(const struct sampler *s, const struct hermes_addr *dst, bool udp, struct rule_info *ri)
{
	struct rule_collect c = { 0 };
	int err, best;

	memset(ri, 0, sizeof(*ri));
	if (s->policy_fd < 0) {
		snprintf(ri->error, sizeof(ri->error), "%s/%s could not be opened", s->pin_root, HERMES_MAP_POLICY);
		return;
	}
	err = pol_map_foreach(s->policy_fd, rule_collect_cb, &c);
	if (err) {
		snprintf(ri->error, sizeof(ri->error), "cannot read %s/%s: %s", s->pin_root, HERMES_MAP_POLICY,
			 strerror(-err));
	} else {
		ri->read = true;
		best = pol_best_rule(c.keys, c.n, dst, udp ? HERMES_PROTO_UDP : HERMES_PROTO_TCP);
		if (best >= 0) {
			ri->found = true;
			if (pol_fmt_match(&c.keys[best], ri->match, sizeof(ri->match)))
				snprintf(ri->match, sizeof(ri->match), "<raw prefixlen %u>", c.keys[best].prefixlen);
			ri->action = c.vals[best].action;
			ri->origin = c.vals[best].origin;
		}
	}
	free(c.keys);
	free(c.vals);
}

const struct row *sample_row_by_cookie(const struct snapshot *s, uint64_t cookie)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->rows[i].cookie == cookie)
			return &s->rows[i];
	return NULL;
}


int sample_open(struct sampler *s, const char *pin_root, const struct admin_client *admin)
{
	char path[PATH_MAX];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct hermes_addr a;
	int fd;

	s->pin_root = pin_root;
	s->admin = admin;
	addr_to_hermes((struct sockaddr *)&admin->sa.ss, &a);
	haddr_norm(&s->admin_haddr, &a);
	if (pin_path(path, sizeof(path), pin_root, HERMES_MAP_FLOWS)) {
		errmsg("--pin-root %s: path too long", pin_root);
		return -1;
	}
	fd = pin_open(pin_root, HERMES_MAP_FLOWS);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		errmsg("no Hermes flow table at %s (is hermesd running with --pin-root %s?)", path, pin_root);
		return -1;
	}
	if (fd == -EACCES || fd == -EPERM) {
		errmsg("cannot open %s: %s (run hermes-top as root: opening pins needs CAP_BPF and CAP_SYS_ADMIN)", path,
		       strerror(-fd));
		return -1;
	}
	if (fd < 0) {
		errmsg("cannot open %s: %s", path, strerror(-fd));
		return -1;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != sizeof(__u64) ||
	    info.value_size != sizeof(struct hermes_flow)) {
		errmsg("%s is not a Hermes flow table of this version (key %u, value %u bytes; expected %zu and %zu): "
		       "is --pin-root right, and hermes-top as new as hermesd?",
		       path, info.key_size, info.value_size, sizeof(__u64), sizeof(struct hermes_flow));
		close(fd);
		return -1;
	}
	s->flows_fd = fd;
	/* the counters only feed the header: without them it says "?" */
	s->stats_fd = pin_open(pin_root, HERMES_MAP_STATS);
	s->policy_fd = pin_open(pin_root, HERMES_MAP_POLICY);
	return 0;
}

void sample_close(struct sampler *s)
{
	if (s->flows_fd >= 0)
		close(s->flows_fd);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	if (s->policy_fd >= 0)
		close(s->policy_fd);
	free(s->prev);
}
