/* loader.h: loads the steering BPF object, reuses/pins its maps under the pin root,
 * attaches its programs to cgroups through pinned links, and tears them down. */
#ifndef HERMES_LOADER_H
#define HERMES_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "config-t.h"
#include "hermes/flow.h"

enum loader_link {
	LINK_CONNECT4, LINK_CONNECT6, LINK_SOCKOPS, LINK_GETPEERNAME4, LINK_GETPEERNAME6,
	LINK_GETSOCKOPT, LINK_SOCKOPS_SELF, LINK_SENDMSG4, LINK_SENDMSG6, LINK_RECVMSG4, LINK_RECVMSG6,
	LINK_UDP_KEGRESS, LINK_UDP_KINGRESS, /* udp.kernel_path only */
	LINK_MAX
};

struct loader {
	struct steer_bpf *skel;
	struct bpf_link *links[LINK_MAX];
	bool link_wanted[LINK_MAX]; /* attached by loader_start: loader_check keeps it so */
	int policy_fd;  /* borrowed from skel */
	int stats_fd;
	int origdst_fd;
	bool skmsg_attached; /* hermes_skmsg attached to hermes_sockhash */
	bool splice_attached; /* hermes_splice_verdict attached to hermes_splice */
	int splice_fd;       /* hermes_splice (sockhash) */
	int splice_peer_fd;  /* hermes_splice_peer */
	bool kpath_attached; /* hermes_kpath_verdict attached to hermes_kpath_sock */
	int kpath_fd;        /* hermes_kpath */
	int kpath_sock_fd;   /* hermes_kpath_sock (sockhash) */
	int sockhash_fd;     /* hermes_sockhash (the app's sockets: the kernel path's check) */
	struct bpf_link *kpath_iter; /* hermes_kpath_backlog, over the netns' TCP sockets */
	int kpath_iter_fd;   /* its link, for bpf_iter_create; -1 without */
	int flows_fd;        /* hermes_flows */
	struct bpf_link *flows_iter; /* hermes_flows_refresh, pinned at HERMES_PIN_FLOWS_REFRESH */
	int flow_engine_fd;  /* hermes_flow_engine */
	int ifstats_fd;      /* hermes_ifstats */
	int udp_slots_fd;    /* hermes_udp_slots */
	int udp_kflows_fd;   /* hermes_udp_kflows (the UDP kernel path's flows) */
	struct {
		int ifindex;
		bool hook_created; /* we made the clsact qdisc: destroy it on detach */
		bool attached;
	} tc[CFG_MAX_TC_IFACES];
	int n_tc;
	char pin_root[PATH_MAX];
	char cgroup[PATH_MAX];   /* the steered cgroup (every link but GETSOCKOPT, SOCKOPS_SELF) */
	char own_cg[PATH_MAX];   /* hermesd's own cgroup (GETSOCKOPT, SOCKOPS_SELF); "" if none */
	/* health of the links, updated by loader_check */
	unsigned links_expected, links_attached;
	uint64_t reattach_total; /* links attached again after they went defunct */
	char unhealthy[PATH_MAX + 160]; /* why steering is not whole; "" when it is */
};

/* Loads and attaches everything; on failure nothing stays attached and the message
 * has been logged. Returns 0 or -errno. */
int loader_start(struct loader *l, const struct hermes_config *cfg);
/* Tells the connect programs that hermesd is stopping: from now on steered destinations
 * fail open (connect directly) as if its listener were gone, so that the listener can take
 * in what is already queued and close without resetting anything. 0 or -errno. */
int loader_set_draining(struct loader *l);
/* libbpf's messages at level and above are logged from now on (log_bpf; SIGHUP sets it again). */
void loader_log_bpf(enum log_level level);
/* Where a program is attached through a pinned link. */
struct link_target {
	unsigned type;    /* BPF_LINK_TYPE_CGROUP or BPF_LINK_TYPE_NETNS */
	unsigned long long ino; /* the cgroup's id (its directory's inode) or the netns inode */
	int fd;           /* the cgroup directory or the netns, for a new attachment */
	const char *what; /* for messages: "cgroup /sys/fs/cgroup/x" */
};
struct bpf_program;
struct bpf_link;
/* Attaches prog to t through the link pinned at path, reusing a link an earlier hermesd
 * pinned there when it is on the same target (atomic program swap: no connection sees a
 * gap), replacing it otherwise. Failures are logged. */
int loader_link_pinned(const char *path, struct bpf_program *prog, const struct link_target *t,
		       struct bpf_link **out);
/* Sets every map of obj to be pinned (and reused) by name under pin_root; before load. */
struct bpf_object;
int loader_pin_maps(struct bpf_object *obj, const char *pin_root);
/* Detaches every program and removes the link pins (--detach-on-exit). */
void loader_detach(struct loader *l);
/* How hermesd leaves: with detach, loader_detach; without (the default), the links and
 * pins stay as after a crash (deny rules keep working, proxied destinations fail open
 * until the next start swaps its programs in) and only the TC counters, which no pin
 * holds and no policy needs, are removed. */
void loader_stop(struct loader *l, bool detach);
/* Checks that every link is still attached where it should be (a cgroup removed and made
 * again, or a link detached by someone else, leaves it defunct) and attaches it again
 * when its cgroup exists and its pin is still there (a missing pin means `hermesctl
 * disable`: left alone). Updates links_attached and unhealthy; changes are logged at
 * warn. Returns 0 when every link is attached. */
int loader_check(struct loader *l);
/* Sums the per-CPU TC counters of ifindex into out. */
int loader_ifstats(struct loader *l, int ifindex, struct hermes_ifstats *out);
/* Frees the skeleton and link objects without detaching (pinned links stay). */
void loader_close(struct loader *l);

#endif
