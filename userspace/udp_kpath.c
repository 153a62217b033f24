/* udp_kpath.c: the flow table of the UDP kernel path (udp.kernel_path; include/hermes/udp.h,
 * bpf/lib/udp_kpath.h). hermesd never sees a kernel-path flow's datagrams: the programs
 * record each flow (app socket cookie and original destination) with its owner, count
 * its datagrams and bytes both ways and the time of the last one. Once a second this
 * reads the map whole in batches (at most HERMES_UDP_KFLOWS_MAX entries of 96 bytes): an
 * entry not seen before is a new flow (its id, hermes_udp_flows_total), the counters'
 * growth goes to hermes_udp_datagrams/bytes_total, and a flow whose last datagram is
 * udp.idle_timeout_ms old is deleted from the map and written to the access log, as the
 * relay's flows are. An entry the LRU map dropped before that ends as "evicted". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "access.h"
#include "addr.h"
#include "fnv.h"
#include "hermes/udp.h"
#include "list.h"
#include "log.h"
#include "ring.h"
#include "udp_kpath.h"

#define UKP_HASH 1024 /* buckets (power of two) */
/* Entries one batch lookup reads: 64 calls for a full map, not two per entry */
#define UKP_BATCH 1024

struct ukflow {
	struct list link;             /* k->flows */
	struct list hlink;            /* k->hash[] */
	struct hermes_udp_fkey key;
	struct hermes_udp_kflow v;    /* the entry as last read */
	uint64_t id;
	uint64_t started_ms;
	uint64_t gen;                 /* k->gen of the last read that found it */
	bool idle;                    /* this read found it idle: ends after the read */
};

struct udp_kpath {
	struct loop *lp;
	int fd;                       /* hermes_udp_kflows (the loader's); -1 until open */
	uint64_t gen;                 /* reads so far */
	struct list flows;
	struct list hash[UKP_HASH];
	struct hermes_udp_fkey keys[UKP_BATCH]; /* one batch read (calloc: resident once used) */
	struct hermes_udp_kflow vals[UKP_BATCH];
};

static unsigned key_hash(const struct hermes_udp_fkey *key)
{
	return fnv1a32(key, sizeof(*key)) & (UKP_HASH - 1);
}

static struct ukflow *find(struct udp_kpath *k, const struct hermes_udp_fkey *key)
{
	struct ukflow *f;

	list_for_each(f, &k->hash[key_hash(key)], hlink)
		if (!memcmp(&f->key, key, sizeof(*key)))
			return f;
	return NULL;
}

struct udp_kpath *udp_kpath_new(struct loop *lp)
{
	struct udp_kpath *k = calloc(1, sizeof(*k));

	if (!k) {
		log_error("out of memory for the UDP kernel path's flow table");
		return NULL;
	}
	k->lp = lp;
	k->fd = -1;
	list_init(&k->flows);
	for (int i = 0; i < UKP_HASH; i++)
		list_init(&k->hash[i]);
	return k;
}

/* The flow's access line: a relay flow's fields (udp.c: flow_log), with the destination
 * as upstream (the app's own socket sent to it) and no drops (the kernel counts none). */
static void flow_end(struct udp_kpath *k, struct ukflow *f, const char *result)
{
	struct loop *lp = k->lp;
	struct access_app app = { .pid = f->v.pid, .uid = f->v.uid, .cgroup_id = f->v.cgroup_id };
	struct udp_tally tally = { .dgrams = { f->v.dgrams[0], f->v.dgrams[1] } };
	const struct access_flow a = {
		.id = f->id, .app = &app, .client = &f->v.app, .dst = &f->key.dst, .upstream = &f->key.dst,
		.action = "proxy", .udp = &tally, .sent = f->v.bytes[0], .received = f->v.bytes[1],
		.duration_ms = lp->now_ms - f->started_ms, .result = result,
	};

	memcpy(app.comm, f->v.comm, sizeof(f->v.comm));
	access_flow(&a);
	list_del(&f->link);
	list_del(&f->hlink);
	lp->st.udp_flows_active--;
	free(f);
}

/* One entry as read: a new flow, or an old one's counters moved on. */
static void entry_seen(struct udp_kpath *k, const struct hermes_udp_fkey *key, const struct hermes_udp_kflow *v,
		       uint64_t now_ns, uint64_t idle_ns)
{
	struct loop *lp = k->lp;
	struct ukflow *f = find(k, key);

	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return; /* seen again at the next read */
		f->key = *key;
		f->id = ++lp->next_id;
		/* its first datagram was at most this long ago (read once a second) */
		f->started_ms = lp->now_ms - (now_ns > v->last_ns ? (now_ns - v->last_ns) / 1000000 : 0);
		list_add_tail(&k->flows, &f->link);
		list_add(&k->hash[key_hash(key)], &f->hlink);
		lp->st.udp_flows_total++;
		lp->st.udp_flows_active++;
		lp->st.udp_kpath_flows++;
	}
	for (int d = 0; d < UDP_NDIRS; d++) {
		/* an entry the programs put back after an end (a connected socket's) starts at 0 */
		if (v->dgrams[d] >= f->v.dgrams[d]) {
			lp->st.udp_datagrams[d] += v->dgrams[d] - f->v.dgrams[d];
			lp->st.udp_bytes[d] += v->bytes[d] - f->v.bytes[d];
		}
	}
	f->v = *v;
	f->gen = k->gen;
	f->idle = now_ns > v->last_ns && now_ns - v->last_ns >= idle_ns;
}

void udp_kpath_tick(struct udp_kpath *k, int fd)
{
	struct loop *lp = k->lp;
	uint64_t now_ns = loop_now_ns(), idle_ns = (uint64_t)lp->cfg->udp.idle_timeout_ms * 1000000ull;
	struct hermes_udp_fkey *keys = k->keys;
	struct hermes_udp_kflow *vals = k->vals;
	struct hermes_udp_fkey token; /* the map's place between calls (a bucket, for a hash) */
	struct ukflow *f, *tmp;
	bool first = true, done = false;
	int err;

	k->fd = fd;
	if (fd < 0)
		return;
	k->gen++;
	while (!done) {
		__u32 n = UKP_BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &n, NULL) ? -errno : 0;
		done = err == -ENOENT;
		if (err && !done) {
			/* the flows not read are not ended: next second's read sees them */
			log_warn("udp kernel path: cannot read hermes_udp_kflows: %s", strerror(-err));
			return;
		}
		for (__u32 i = 0; i < n; i++)
			entry_seen(k, &keys[i], &vals[i], now_ns, idle_ns);
		first = false;
	}
	/* ends after the walk: a delete in the middle would disturb it */
	list_for_each_safe(f, tmp, &k->flows, link) {
		if (f->gen != k->gen) {
			lp->st.udp_kpath_evicted++;
			flow_end(k, f, "evicted");
		} else if (f->idle) {
			bpf_map_delete_elem(fd, &f->key);
			lp->st.udp_flows_expired++;
			flow_end(k, f, "idle-timeout");
		}
	}
}

void udp_kpath_foreach(struct udp_kpath *k, void (*cb)(const struct udp_flow_info *, void *), void *arg)
{
	struct loop *lp = k->lp;
	uint64_t now_ns = loop_now_ns();
	struct sockaddr_storage app;
	struct ukflow *f;

	list_for_each(f, &k->flows, link) {
		struct udp_flow_info i = {
			.id = f->id, .app = (const struct sockaddr *)&app, .dst = f->key.dst, .upstream_fd = -1,
			.bytes_up = f->v.bytes[0], .bytes_down = f->v.bytes[1], .age_ms = lp->now_ms - f->started_ms,
			.idle_ms = now_ns > f->v.last_ns ? (now_ns - f->v.last_ns) / 1000000 : 0,
			.pid = f->v.pid, .uid = f->v.uid, .comm = f->v.comm, .slot = 0,
			.action = HERMES_ACT_PROXY, .kernel = true,
		};
		char comm[HERMES_COMM_LEN + 1] = "";

		memcpy(comm, f->v.comm, sizeof(f->v.comm));
		i.comm = comm;
		memset(&app, 0, sizeof(app));
		if (f->v.app.family)
			addr_from_hermes(&f->v.app, &app);
		cb(&i, arg);
	}
}

void udp_kpath_free(struct udp_kpath *k)
{
	if (!k)
		return;
	while (!list_empty(&k->flows)) {
		struct ukflow *f = list_first(&k->flows, struct ukflow, link);

		if (k->fd >= 0)
			bpf_map_delete_elem(k->fd, &f->key);
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): flow_end takes f off the list before freeing it */
		flow_end(k, f, "shutdown");
	}
	free(k);
}
