/* loader.c: open -> pin maps -> load -> write settings -> attach through pinned
 * links (libbpf-bootstrap order, one cleanup label). Links are pinned so that deny
 * rules keep working while hermesd is down (proxy fails open in BPF instead), and
 * updated in place on restart so no connection ever sees a gap in policy. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hermes/config.h"
#include "hermes/kpath.h"
#include "hermes/pin.h"
#include "hermes/udp.h"
#include "kpath.h"
#include "loader.h"
#include "log.h"
#include "pinfs.h"
#include "steer.skel.h"

/* libbpf's messages at this level and above are logged (cfg log_bpf, --log-bpf): its
 * debug output (every relocation, every map) is noise unless one asks for it. */
static enum log_level bpf_level = LOG_WARN;

void loader_log_bpf(enum log_level level)
{
	bpf_level = level;
}

static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	enum log_level ours = lvl == LIBBPF_WARN ? LOG_WARN : lvl == LIBBPF_INFO ? LOG_INFO : LOG_DEBUG;
	char *buf;

	if (ours < bpf_level)
		return 0;
	/* asked for with --log-bpf: shown whatever hermesd's own level */
	if (ours < log_get_level())
		ours = log_get_level();
	/* the verifier log can be long, and its verdict is at the end */
	if (vasprintf(&buf, fmt, ap) < 0)
		return 0;
	/* the verifier log comes as one multi-line message: keep every line */
	for (char *line = buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (*line)
			log_msg(ours, "libbpf: %s", line);
		if (!nl)
			break;
	}
	free(buf);
	return 0;
}

/* The cgroup v2 directory this process lives in, for the getsockopt program. */
static int own_cgroup(char *buf, size_t len)
{
	char line[PATH_MAX], mnt[PATH_MAX] = "";
	FILE *f;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char dev[64], dir[PATH_MAX], type[32];

		if (sscanf(line, "%63s %4095s %31s", dev, dir, type) == 3 && !strcmp(type, "cgroup2")) {
			snprintf(mnt, sizeof(mnt), "%s", dir);
			break;
		}
	}
	fclose(f);
	if (!*mnt)
		return -ENOENT;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			fclose(f);
			if (!strcmp(line + 3, "/"))
				return -EPERM; /* the root cgroup: refuse, see loader_start */
			if ((size_t)snprintf(buf, len, "%s%s", mnt, line + 3) >= len)
				return -ENAMETOOLONG;
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

/* The UDP relay's port (the outbound listener's, on UDP) and the slot idle time; the
 * slot cursor goes on from where a previous hermesd left it. */
static int write_udp_config(struct loader *l, const struct hermes_config *cfg)
{
	int fd = bpf_map__fd(l->skel->maps.hermes_udp_conf);
	struct hermes_udp_conf uc = { 0 };
	__u32 zero = 0;

	bpf_map_lookup_elem(fd, &zero, &uc);
	uc.lock = 0;
	uc.port = cfg->udp.relay && cfg->listen.len ? ((const struct sockaddr_in *)(const void *)&cfg->listen.ss)->sin_port : 0;
	uc.idle_ns = (__u64)cfg->udp.idle_timeout_ms * 1000000ull;
	uc.kpath = cfg->udp.kernel_path;
	if (bpf_map_update_elem(fd, &zero, &uc, BPF_ANY))
		return -errno;
	return 0;
}

static int write_bpf_config(struct loader *l, const struct hermes_config *cfg)
{
	struct hermes_bpf_config bc = { .mark = cfg->mark, .flows = cfg->flow_table, .ingress = cfg->inbound.on };
	__u32 zero = 0;

	bc.sk_msg = (cfg->sk_msg ? HERMES_SKMSG_HOP : 0) | (cfg->relay == RELAY_KERNEL ? HERMES_SKMSG_KPATH : 0);
	if (cfg->listen.len) {
		const struct sockaddr_in *a4 = (const void *)&cfg->listen.ss;

		memcpy(bc.listen4, &a4->sin_addr, 4);
		bc.listen4_port = a4->sin_port;
	}
	if (cfg->listen6.len) {
		const struct sockaddr_in6 *a6 = (const void *)&cfg->listen6.ss;

		memcpy(bc.listen6, &a6->sin6_addr, 16);
		bc.listen6_port = a6->sin6_port;
	}
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.hermes_config), &zero, &bc, BPF_ANY))
		return -errno;
	return write_udp_config(l, cfg);
}

int loader_set_draining(struct loader *l)
{
	struct hermes_bpf_config bc;
	__u32 zero = 0;
	int fd;

	if (!l->skel)
		return -ENOENT;
	fd = bpf_map__fd(l->skel->maps.hermes_config);
	if (bpf_map_lookup_elem(fd, &zero, &bc))
		return -errno;
	bc.draining = 1;
	if (bpf_map_update_elem(fd, &zero, &bc, BPF_ANY))
		return -errno;
	return 0;
}

int loader_link_pinned(const char *path, struct bpf_program *prog, const struct link_target *t,
		       struct bpf_link **out)
{
	struct bpf_link *link = access(path, F_OK) ? NULL : bpf_link__open(path);
	int err;

	if (link) {
		struct bpf_link_info info = {};
		__u32 ilen = sizeof(info);
		__u64 ino = 0;

		if (!bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &ilen) && info.type == t->type)
			ino = t->type == BPF_LINK_TYPE_CGROUP ? info.cgroup.cgroup_id : info.netns.netns_ino;
		if (ino == t->ino && !bpf_link__update_program(link, prog)) {
			log_debug("%s: reused pinned link %s", bpf_program__name(prog), path);
			*out = link;
			return 0;
		}
		/* stale (other cgroup or netns, or detached): replace */
		bpf_link_detach(bpf_link__fd(link));
		bpf_link__unpin(link);
		bpf_link__destroy(link);
		unlink(path);
	}
	link = t->type == BPF_LINK_TYPE_CGROUP ? bpf_program__attach_cgroup(prog, t->fd)
					       : bpf_program__attach_netns(prog, t->fd);
	if (!link) {
		err = -errno;
		log_error("cannot attach %s to %s: %s", bpf_program__name(prog), t->what, strerror(-err));
		return err;
	}
	err = bpf_link__pin(link, path);
	if (err) {
		log_error("cannot pin link %s: %s", path, strerror(-err));
		bpf_link__destroy(link);
		return err;
	}
	*out = link;
	return 0;
}

/* Attach prog to the cgroup through a pinned link (loader_link_pinned). */
static int attach_pinned(struct loader *l, enum loader_link idx, struct bpf_program *prog,
			 const char *cg_path, const char *pin_name)
{
	char path[PATH_MAX], name[128], what[PATH_MAX + 8];
	struct link_target t = { .type = BPF_LINK_TYPE_CGROUP, .what = what };
	struct stat st;
	int err;

	snprintf(name, sizeof(name), "%s/%s", HERMES_PIN_LINKS, pin_name ? pin_name : bpf_program__name(prog));
	if (pin_path(path, sizeof(path), l->pin_root, name))
		return -ENAMETOOLONG;
	t.fd = open(cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t.fd < 0) {
		err = -errno;
		log_error("cannot open cgroup %s: %s (give an existing cgroup v2 directory with --cgroup)",
			  cg_path, strerror(-err));
		return err;
	}
	fstat(t.fd, &st);
	t.ino = st.st_ino;
	snprintf(what, sizeof(what), "cgroup %s", cg_path);
	err = loader_link_pinned(path, prog, &t, &l->links[idx]);
	close(t.fd);
	if (!err)
		l->link_wanted[idx] = true;
	return err;
}

/* A link of prog an earlier hermesd pinned that this one does not want (udp.kernel_path
 * turned off): detached, so that its program stops running on the cgroup. */
static void drop_pinned(struct loader *l, struct bpf_program *prog)
{
	char path[PATH_MAX], name[128];
	struct bpf_link *link;

	snprintf(name, sizeof(name), "%s/%s", HERMES_PIN_LINKS, bpf_program__name(prog));
	if (pin_path(path, sizeof(path), l->pin_root, name) || access(path, F_OK))
		return;
	link = bpf_link__open(path);
	if (link) {
		bpf_link_detach(bpf_link__fd(link));
		bpf_link__destroy(link);
	}
	if (unlink(path))
		log_warn("cannot remove %s: %s (its program keeps running: remove it by hand)", path, strerror(errno));
}

/* The flow table's refresh iterator, pinned for its readers (hermes-top, `cat`): a
 * pin an earlier hermesd left runs that one's program, so it is replaced. */
static int flows_iter_pin(struct loader *l)
{
	char path[PATH_MAX];
	int err;

	if (pin_path(path, sizeof(path), l->pin_root, HERMES_PIN_FLOWS_REFRESH))
		return -ENAMETOOLONG;
	l->flows_iter = bpf_program__attach_iter(l->skel->progs.hermes_flows_refresh, NULL);
	if (!l->flows_iter) {
		err = -errno;
		log_error("cannot attach the flow table's refresh iterator: %s", strerror(-err));
		return err;
	}
	if (unlink(path) && errno != ENOENT)
		log_warn("cannot remove the old %s: %s", path, strerror(errno));
	err = bpf_link__pin(l->flows_iter, path);
	if (err)
		log_error("cannot pin %s: %s (the flow table's refresh iterator, which hermes-top reads)", path,
			  strerror(-err));
	return err;
}

#define TC_HANDLE 0x484d /* fixed, so a restarted hermesd replaces its own filters */
#define TC_PRIO 1

static int tc_attach_one(struct loader *l, const char *name)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	struct bpf_program *progs[2] = { l->skel->progs.hermes_tc_ingress, l->skel->progs.hermes_tc_egress };
	enum bpf_tc_attach_point points[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	int idx = l->n_tc, err;

	hook.ifindex = (int)if_nametoindex(name);
	if (!hook.ifindex) {
		log_error("tc interface %s: %s (names are looked up in hermesd's network namespace)", name,
			  strerror(errno));
		return -ENODEV;
	}
	l->tc[idx].ifindex = hook.ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		log_error("tc interface %s: cannot create the clsact qdisc: %s", name, strerror(-err));
		return err;
	}
	l->tc[idx].hook_created = !err;
	l->n_tc++;
	for (int i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO,
				    .flags = BPF_TC_F_REPLACE, .prog_fd = bpf_program__fd(progs[i]));

		hook.attach_point = points[i];
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			log_error("tc interface %s: cannot attach the %s counter: %s", name,
				  i ? "egress" : "ingress", strerror(-err));
			return err;
		}
	}
	l->tc[idx].attached = true;
	log_info("counting packets on %s (ifindex %d) with TC", name, hook.ifindex);
	return 0;
}

static void tc_detach_all(struct loader *l)
{
	for (int i = 0; i < l->n_tc; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = l->tc[i].ifindex);

		if (l->tc[i].attached) {
			for (int d = 0; d < 2; d++) {
				DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO);

				hook.attach_point = d ? BPF_TC_EGRESS : BPF_TC_INGRESS;
				bpf_tc_detach(&hook, &opts);
			}
		}
		if (l->tc[i].hook_created) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
	}
	l->n_tc = 0;
}

int loader_ifstats(struct loader *l, int ifindex, struct hermes_ifstats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct hermes_ifstats *per;
	__u32 key = (__u32)ifindex;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0 || l->ifstats_fd < 0)
		return -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(l->ifstats_fd, &key, per)) {
		free(per);
		return -ENOENT;
	}
	for (int i = 0; i < ncpu; i++) {
		out->rx_packets += per[i].rx_packets;
		out->rx_bytes += per[i].rx_bytes;
		out->tx_packets += per[i].tx_packets;
		out->tx_bytes += per[i].tx_bytes;
	}
	free(per);
	return 0;
}

int loader_pin_maps(struct bpf_object *obj, const char *pin_root)
{
	char path[PATH_MAX];
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		if (bpf_map__is_internal(map))
			continue;
		if (pin_path(path, sizeof(path), pin_root, bpf_map__name(map)) || bpf_map__set_pin_path(map, path))
			return -ENAMETOOLONG;
	}
	return 0;
}

/* A pinned map of another shape than this build's cannot be reused: libbpf refuses it
 * and the start would fail. For maps whose contents may go: hermes_stats from a build
 * with fewer counter slots (`slots`: the counters start from 0), hermes_kpath from a
 * build with shorter entries (emptied at every start anyway: kpath_iter_attach),
 * hermes_udp_slots from a build with shorter slots (no comm and cgroup, or no action:
 * the UDP flows of the moment take new slots, and the relay new flows); their pin goes.
 * Every other map keeps state. */
static void replace_other_shape(const struct bpf_map *map, const char *pin_root, bool slots)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	__u32 have, want;
	int fd;

	if (pin_path(path, sizeof(path), pin_root, bpf_map__name(map)))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		have = slots ? info.max_entries : info.value_size;
		want = slots ? bpf_map__max_entries(map) : bpf_map__value_size(map);
		if (have != want) {
			log_info("%s has %u %s, this build %u: replacing it%s", path, have,
				 slots ? "counter slots" : "bytes per entry", want,
				 slots ? " (the decision counters start from 0)" : "");
			if (unlink(path))
				log_warn("cannot remove %s: %s (the start fails on it: remove it by hand)", path,
					 strerror(errno));
		}
	}
	close(fd);
}

int loader_start(struct loader *l, const struct hermes_config *cfg)
{
	char own_cg[PATH_MAX];
	struct steer_bpf *skel;
	int err;

	memset(l, 0, sizeof(*l));
	l->policy_fd = l->stats_fd = l->origdst_fd = l->splice_fd = l->splice_peer_fd = l->flows_fd = l->ifstats_fd = -1;
	l->flow_engine_fd = l->kpath_fd = l->kpath_sock_fd = l->sockhash_fd = l->kpath_iter_fd = -1;
	l->udp_slots_fd = l->udp_kflows_fd = -1;
	snprintf(l->pin_root, sizeof(l->pin_root), "%s", cfg->pin_root);
	snprintf(l->cgroup, sizeof(l->cgroup), "%s", cfg->cgroup);
	loader_log_bpf(cfg->log_bpf);
	libbpf_set_print(libbpf_log);

	err = pin_ensure_root(cfg->pin_root);
	if (err) {
		log_error("pin root %s: %s (it must be on a bpffs, e.g. under /sys/fs/bpf)",
			  cfg->pin_root, strerror(-err));
		return err;
	}
	skel = steer_bpf__open();
	if (!skel) {
		err = -errno;
		log_error("cannot open BPF object: %s", strerror(-err));
		return err;
	}
	l->skel = skel;
	err = loader_pin_maps(skel->obj, cfg->pin_root);
	if (err)
		goto fail;
	replace_other_shape(skel->maps.hermes_stats, cfg->pin_root, true);
	replace_other_shape(skel->maps.hermes_kpath, cfg->pin_root, false);
	replace_other_shape(skel->maps.hermes_udp_slots, cfg->pin_root, false);
	err = steer_bpf__load(skel);
	if (err) {
		log_error("cannot load BPF programs: %s (run as root on a kernel with BPF, BTF and cgroup v2)",
			  strerror(-err));
		goto fail;
	}
	l->policy_fd = bpf_map__fd(skel->maps.hermes_policy);
	l->stats_fd = bpf_map__fd(skel->maps.hermes_stats);
	l->origdst_fd = bpf_map__fd(skel->maps.hermes_origdst);
	l->splice_fd = bpf_map__fd(skel->maps.hermes_splice);
	l->splice_peer_fd = bpf_map__fd(skel->maps.hermes_splice_peer);
	l->flows_fd = bpf_map__fd(skel->maps.hermes_flows);
	l->flow_engine_fd = bpf_map__fd(skel->maps.hermes_flow_engine);
	l->ifstats_fd = bpf_map__fd(skel->maps.hermes_ifstats);
	l->udp_slots_fd = bpf_map__fd(skel->maps.hermes_udp_slots);
	l->udp_kflows_fd = bpf_map__fd(skel->maps.hermes_udp_kflows);
	l->kpath_fd = bpf_map__fd(skel->maps.hermes_kpath);
	l->kpath_sock_fd = bpf_map__fd(skel->maps.hermes_kpath_sock);
	l->sockhash_fd = bpf_map__fd(skel->maps.hermes_sockhash);
	err = write_bpf_config(l, cfg);
	if (err) {
		log_error("cannot write %s/%s: %s", cfg->pin_root, HERMES_MAP_CONFIG, strerror(-err));
		goto fail;
	}

	/* sk_msg first: sockops starts filling the sockhash as soon as it is attached */
	err = bpf_prog_attach(bpf_program__fd(skel->progs.hermes_skmsg), bpf_map__fd(skel->maps.hermes_sockhash),
			      BPF_SK_MSG_VERDICT, 0);
	if (err) {
		err = -errno;
		log_error("cannot attach sk_msg program to %s/%s: %s", cfg->pin_root, HERMES_MAP_SOCKHASH,
			  strerror(-err));
		goto fail;
	}
	l->skmsg_attached = true;
	err = bpf_prog_attach(bpf_program__fd(skel->progs.hermes_splice_verdict), l->splice_fd,
			      BPF_SK_SKB_VERDICT, 0);
	if (err) {
		err = -errno;
		log_error("cannot attach the splice verdict program to %s/%s: %s", cfg->pin_root,
			  HERMES_MAP_SPLICE, strerror(-err));
		goto fail_detach;
	}
	l->splice_attached = true;
	err = bpf_prog_attach(bpf_program__fd(skel->progs.hermes_kpath_verdict), l->kpath_sock_fd,
			      BPF_SK_SKB_VERDICT, 0);
	if (err) {
		err = -errno;
		log_error("cannot attach the kernel path verdict program to %s/%s: %s", cfg->pin_root,
			  HERMES_MAP_KPATH_SOCK, strerror(-err));
		goto fail_detach;
	}
	l->kpath_attached = true;
	err = flows_iter_pin(l);
	if (err)
		goto fail_detach;
	err = cfg->relay == RELAY_KERNEL ? kpath_iter_attach(l) : 0;
	if (err) {
		log_error("relay kernel: cannot create the TCP socket iterator hermes_kpath_backlog: %s "
			  "(use another --relay engine)", strerror(-err));
		goto fail_detach;
	}
	err = attach_pinned(l, LINK_CONNECT4, skel->progs.hermes_connect4, cfg->cgroup, NULL);
	err = err ?: attach_pinned(l, LINK_CONNECT6, skel->progs.hermes_connect6, cfg->cgroup, NULL);
	err = err ?: attach_pinned(l, LINK_SOCKOPS, skel->progs.hermes_sockops, cfg->cgroup, NULL);
	err = err ?: attach_pinned(l, LINK_GETPEERNAME4, skel->progs.hermes_getpeername4, cfg->cgroup, NULL);
	err = err ?: attach_pinned(l, LINK_GETPEERNAME6, skel->progs.hermes_getpeername6, cfg->cgroup, NULL);
	err = err ?: attach_pinned(l, LINK_SENDMSG4, skel->progs.hermes_sendmsg4, cfg->cgroup, NULL);
	err = err ?: attach_pinned(l, LINK_SENDMSG6, skel->progs.hermes_sendmsg6, cfg->cgroup, NULL);
	err = err ?: attach_pinned(l, LINK_RECVMSG4, skel->progs.hermes_recvmsg4, cfg->cgroup, NULL);
	err = err ?: attach_pinned(l, LINK_RECVMSG6, skel->progs.hermes_recvmsg6, cfg->cgroup, NULL);
	if (cfg->udp.kernel_path) {
		err = err ?: attach_pinned(l, LINK_UDP_KEGRESS, skel->progs.hermes_udp_kegress, cfg->cgroup, NULL);
		err = err ?: attach_pinned(l, LINK_UDP_KINGRESS, skel->progs.hermes_udp_kingress, cfg->cgroup, NULL);
	} else {
		drop_pinned(l, skel->progs.hermes_udp_kegress);
		drop_pinned(l, skel->progs.hermes_udp_kingress);
	}
	if (err)
		goto fail_detach;
	err = own_cgroup(own_cg, sizeof(own_cg));
	if (err == -EPERM) {
		log_warn("hermesd runs in the root cgroup: not attaching the SO_ORIGINAL_DST getsockopt "
			 "program there (it would see every process); hermesd reads %s directly",
			 HERMES_MAP_ORIGDST);
	} else if (err) {
		log_warn("cannot find hermesd's own cgroup (%s): SO_ORIGINAL_DST served from the map only",
			 strerror(-err));
	} else {
		snprintf(l->own_cg, sizeof(l->own_cg), "%s", own_cg);
		err = attach_pinned(l, LINK_GETSOCKOPT, skel->progs.hermes_getsockopt, own_cg, NULL);
		/* sockops on hermesd's cgroup sees its accepted sockets (the sk_msg hop's other end) */
		err = err ?: attach_pinned(l, LINK_SOCKOPS_SELF, skel->progs.hermes_sockops_self, own_cg, NULL);
		if (err)
			goto fail_detach;
		log_info("SO_ORIGINAL_DST served on sockets of cgroup %s", own_cg);
	}
	for (int i = 0; i < cfg->n_tc_ifaces; i++) {
		int terr = tc_attach_one(l, cfg->tc_ifaces[i]);

		if (terr) {
			err = terr;
			goto fail_detach;
		}
	}
	if (cfg->sk_msg && err)
		log_warn("sk_msg needs hermesd's own cgroup for its end of the hop: the loopback hop uses TCP");
	for (int i = 0; i < LINK_MAX; i++)
		l->links_expected += l->link_wanted[i];
	l->links_attached = l->links_expected;
	log_info("steering cgroup %s (pins under %s, sk_msg %s)", cfg->cgroup, cfg->pin_root,
		 cfg->sk_msg ? "on" : "off");
	return 0;

fail_detach:
	/* links an earlier hermesd left run our programs now: keep them as a stop would */
	loader_stop(l, cfg->detach_on_exit);
	return err;
fail:
	loader_close(l);
	return err;
}

void loader_detach(struct loader *l)
{
	tc_detach_all(l);
	if (l->skmsg_attached && l->skel)
		bpf_prog_detach2(bpf_program__fd(l->skel->progs.hermes_skmsg),
				 bpf_map__fd(l->skel->maps.hermes_sockhash), BPF_SK_MSG_VERDICT);
	l->skmsg_attached = false;
	if (l->splice_attached && l->skel)
		bpf_prog_detach2(bpf_program__fd(l->skel->progs.hermes_splice_verdict), l->splice_fd,
				 BPF_SK_SKB_VERDICT);
	l->splice_attached = false;
	if (l->kpath_attached && l->skel)
		bpf_prog_detach2(bpf_program__fd(l->skel->progs.hermes_kpath_verdict), l->kpath_sock_fd,
				 BPF_SK_SKB_VERDICT);
	l->kpath_attached = false;
	for (int i = 0; i < LINK_MAX; i++) {
		if (!l->links[i])
			continue;
		bpf_link_detach(bpf_link__fd(l->links[i]));
		bpf_link__unpin(l->links[i]);
	}
	if (l->flows_iter)
		bpf_link__unpin(l->flows_iter);
	loader_close(l);
}

void loader_stop(struct loader *l, bool detach)
{
	if (detach) {
		loader_detach(l);
		return;
	}
	tc_detach_all(l);
	loader_close(l);
}

static struct bpf_program *link_prog(struct loader *l, enum loader_link i)
{
	switch (i) {
	case LINK_CONNECT4: return l->skel->progs.hermes_connect4;
	case LINK_CONNECT6: return l->skel->progs.hermes_connect6;
	case LINK_SOCKOPS: return l->skel->progs.hermes_sockops;
	case LINK_GETPEERNAME4: return l->skel->progs.hermes_getpeername4;
	case LINK_GETPEERNAME6: return l->skel->progs.hermes_getpeername6;
	case LINK_GETSOCKOPT: return l->skel->progs.hermes_getsockopt;
	case LINK_SOCKOPS_SELF: return l->skel->progs.hermes_sockops_self;
	case LINK_SENDMSG4: return l->skel->progs.hermes_sendmsg4;
	case LINK_SENDMSG6: return l->skel->progs.hermes_sendmsg6;
	case LINK_RECVMSG4: return l->skel->progs.hermes_recvmsg4;
	case LINK_RECVMSG6: return l->skel->progs.hermes_recvmsg6;
	case LINK_UDP_KEGRESS: return l->skel->progs.hermes_udp_kegress;
	case LINK_UDP_KINGRESS: return l->skel->progs.hermes_udp_kingress;
	default: return NULL;
	}
}

/* The cgroup id a link is attached to; 0 once it is defunct (its cgroup was removed,
 * or someone detached it). */
static __u64 link_cgroup_id(struct bpf_link *link)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (!link || bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) || info.type != BPF_LINK_TYPE_CGROUP)
		return 0;
	return info.cgroup.cgroup_id;
}

/* One link: 1 if attached where it should be (or attached again now), 0 if not, with
 * why in l->unhealthy (the first reason found wins). */
static int check_link(struct loader *l, enum loader_link i)
{
	struct bpf_program *prog = link_prog(l, i);
	const char *cg = i == LINK_GETSOCKOPT || i == LINK_SOCKOPS_SELF ? l->own_cg : l->cgroup;
	__u64 id = link_cgroup_id(l->links[i]);
	char pin[PATH_MAX], name[128];
	struct stat st;
	int err;

	if (stat(cg, &st)) {
		if (!l->unhealthy[0])
			snprintf(l->unhealthy, sizeof(l->unhealthy), "cgroup %s is gone (%s): its links are defunct, "
				 "nothing there is steered; attaching them again once the cgroup exists", cg,
				 strerror(errno));
		return 0;
	}
	if (id && id == (__u64)st.st_ino)
		return 1;
	snprintf(name, sizeof(name), "%s/%s", HERMES_PIN_LINKS, bpf_program__name(prog));
	if (pin_path(pin, sizeof(pin), l->pin_root, name) || access(pin, F_OK)) {
		/* as --user, the pin root (root's, mode 0700) cannot even be looked into */
		if (!l->unhealthy[0] && errno == ENOENT)
			snprintf(l->unhealthy, sizeof(l->unhealthy), "link %s is no longer pinned (hermesctl disable?): "
				 "not attaching it again; restart hermesd to steer again", pin);
		else if (!l->unhealthy[0])
			snprintf(l->unhealthy, sizeof(l->unhealthy), "%s is defunct and cannot be attached again: %s: %s "
				 "(hermesd has dropped the privileges it needs: restart it)", bpf_program__name(prog), pin,
				 strerror(errno));
		return 0;
	}
	bpf_link__destroy(l->links[i]);
	l->links[i] = NULL;
	err = attach_pinned(l, i, prog, cg, NULL);
	if (err) {
		if (!l->unhealthy[0])
			snprintf(l->unhealthy, sizeof(l->unhealthy), "cannot attach %s to cgroup %s again: %s%s",
				 bpf_program__name(prog), cg, strerror(-err),
				 err == -EPERM || err == -EACCES ? " (hermesd has dropped the privileges it needs: "
				 "restart it)" : "");
		return 0;
	}
	l->reattach_total++;
	log_warn("%s was %s: attached it again to cgroup %s (inode %llu)", bpf_program__name(prog),
		 id ? "attached to an older cgroup of that path" : "defunct (its cgroup was removed, or it was detached)",
		 cg, (unsigned long long)st.st_ino);
	return 1;
}

int loader_check(struct loader *l)
{
	char before[sizeof(l->unhealthy)];
	unsigned n = 0;

	if (!l->skel)
		return 0;
	memcpy(before, l->unhealthy, sizeof(before));
	l->unhealthy[0] = 0;
	for (int i = 0; i < LINK_MAX; i++)
		if (l->link_wanted[i])
			n += (unsigned)check_link(l, (enum loader_link)i);
	l->links_attached = n;
	if (strcmp(before, l->unhealthy)) {
		if (l->unhealthy[0])
			log_warn("steering is not whole (%u of %u links attached): %s", n, l->links_expected,
				 l->unhealthy);
		else
			log_warn("steering is whole again: %u of %u links attached", n, l->links_expected);
	}
	return l->unhealthy[0] ? -ENOLINK : 0;
}

void loader_close(struct loader *l)
{
	for (int i = 0; i < LINK_MAX; i++) {
		bpf_link__destroy(l->links[i]);
		l->links[i] = NULL;
	}
	bpf_link__destroy(l->kpath_iter);
	l->kpath_iter = NULL;
	bpf_link__destroy(l->flows_iter);
	l->flows_iter = NULL;
	l->kpath_iter_fd = -1;
	steer_bpf__destroy(l->skel);
	l->skel = NULL;
	l->policy_fd = l->stats_fd = l->origdst_fd = l->splice_fd = l->splice_peer_fd = l->flows_fd = -1;
	l->kpath_fd = l->kpath_sock_fd = l->sockhash_fd = -1;
	l->ifstats_fd = l->udp_slots_fd = l->udp_kflows_fd = -1;
}
