/* origdst.h: how the original destination of a steered connection travels from the
 * application's connect() to hermesd. connect4/6 keep it in socket storage of the
 * app's socket; sockops re-keys it by the app's local address when the connection is
 * established, which is the peer address hermesd sees on the accepted socket. */
#ifndef HERMES_ORIGDST_H
#define HERMES_ORIGDST_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#include "hermes/policy.h"

/* An address as both sides see it. IPv4 (and IPv4-mapped IPv6) use family V4 and addr[0..3]. */
struct hermes_addr {
	__u8 family;   /* HERMES_FAMILY_V4 / HERMES_FAMILY_V6 (policy.h) */
	__u8 pad;
	__u16 port;    /* network byte order */
	__u8 addr[16]; /* network byte order */
};
_Static_assert(sizeof(struct hermes_addr) == 20, "hermes_addr layout is ABI");

/* hermes_origdst value; key is the app socket's local address (struct hermes_addr). */
struct hermes_origdst {
	struct hermes_addr dst; /* what the application dialled */
	hermes_action_t action; /* enum hermes_action that steered it */
	__u8 pad[3];
	__u32 route_id;
	__u64 cookie;           /* socket cookie of the application's socket */
	__u32 pid;              /* tgid that called connect() */
	__u32 uid;
	__u32 gid;
	__u32 pad2;
};
_Static_assert(sizeof(struct hermes_origdst) == 56, "hermes_origdst layout is ABI");
_Static_assert(__builtin_offsetof(struct hermes_origdst, route_id) == 24, "hermes_origdst layout is ABI");

#define HERMES_ORIGDST_MAX 262144

/* hermes_sockhash key: a local TCP socket by its own 4-tuple (v4-mapped folded to v4).
 * sk_msg finds the other end of the app <-> hermesd hop by swapping local and remote. */
struct hermes_sock_key {
	__u8 family;     /* HERMES_FAMILY_V4 / HERMES_FAMILY_V6 */
	__u8 pad[3];
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u8 local[16];
	__u8 remote[16];
};
_Static_assert(sizeof(struct hermes_sock_key) == 40, "hermes_sock_key layout is ABI");

#define HERMES_SOCKHASH_MAX 65536

/* hermes_sk_accel value (socket storage of hop sockets). */
struct hermes_sk_accel {
	__u32 state;   /* 0 undecided, 1 sk_msg redirect, 2 TCP (bpf/lib/accel.h) */
	__u32 pad;
	__u64 cookie;  /* the socket's cookie: its hermes_flows key */
};
#define HERMES_SPLICE_MAX 65536 /* sockets of spliced flows: two per flow */

#endif
