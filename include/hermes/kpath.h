/* kpath.h: the kernel path of a `proxy` flow (relay `kernel`), shared by the BPF programs
 * (bpf/lib/kpath.h) and hermesd (userspace/kpath.c). Once the upstream is connected, the
 * app's sends are redirected by sk_msg to the upstream socket's egress and the upstream's
 * received skbs by a stream verdict into the app socket's receive queue, so neither the
 * loopback hop nor hermesd carries the payload. */
#ifndef HERMES_KPATH_H
#define HERMES_KPATH_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#include "hermes/origdst.h"

/* hermes_kpath value, keyed by socket cookie: one entry for the app's socket (its sends
 * go to `up`, the upstream socket in hermes_kpath_sock) and one for the upstream socket
 * (its skbs go to `app`, the app's socket in hermes_sockhash). */
struct hermes_kpath {
	__u64 up;        /* app entry: cookie of the upstream socket */
	__u64 fwd;       /* app entry: bytes hermesd itself wrote to the upstream (the app's
	                  * bytes that reached hermesd before the switch); the app's sends
	                  * take the kernel path once all it sent through TCP is that many */
	__u64 redir;     /* upstream entry: bytes the verdict moved to the app */
	__u64 passed;    /* upstream entry: bytes left to hermesd (held, or the app's socket gone) */
	struct hermes_sock_key app; /* upstream entry: the app's socket, key in hermes_sockhash */
	__u32 held;      /* upstream entry: 1 once the app's backlog overflowed: its bytes
	                  * stay on the upstream socket for hermesd from then on */
	__u32 seq_known; /* upstream entry: next_seq is set (from the first skb on) */
	__u32 next_seq;  /* upstream entry: TCP sequence number where the bytes the verdict
	                  * took end; an skb starting before it repeats bytes (bpf/lib/kpath.h) */
	__u32 broken;    /* upstream entry: 1 when a repeat could not be cut off: hermesd
	                  * resets the flow rather than deliver bytes twice */
	__u64 trimmed;   /* upstream entry: repeated bytes cut off skbs' heads */
};
_Static_assert(sizeof(struct hermes_kpath) == 96, "hermes_kpath layout is ABI");

/* skbs in an app socket's psock backlog past which the upstream's bytes are held
 * (bpf/lib/kpath.h: app_backlogged); skbs from veth carry up to 64 KiB each */
#define HERMES_KPATH_BACKLOG_MAX 256

/* hermes_sk_kpath value: the kernel path's state on an app socket of a proxy flow. */
struct hermes_sk_kpath {
	__u64 to_hermesd; /* bytes its sends gave hermesd's socket (TCP or the sk_msg hop) */
	__u32 on;         /* 1: its sends go to the upstream's egress for good */
	__u32 pad;
};

/* One record of the hermes_kpath_backlog iterator: an app socket whose psock backlog
 * still holds skbs the verdict redirected to it (not yet in its receive queue). */
struct hermes_kpath_backlog {
	__u64 cookie;
	__u32 skbs;
	__u32 pad;
};

#define HERMES_KPATH_MAX 65536 /* two entries per flow */

/* hermes_bpf_config.sk_msg bits */
#define HERMES_SKMSG_HOP 1   /* the app <-> hermesd hop (--sk-msg on) */
#define HERMES_SKMSG_KPATH 2 /* the app's sockets join hermes_sockhash for the kernel path */

#endif
