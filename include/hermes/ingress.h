/* ingress.h: the protected-ingress contract between the sk_lookup program
 * (bpf/ingress.bpf.c), hermesd and bpftool users: which local TCP ports are reachable
 * only through hermesd's inbound listener, and where that listener is. See
 * docs/ingress.md for the bpftool recipes that rely on this exact layout. */
#ifndef HERMES_INGRESS_H
#define HERMES_INGRESS_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/* What the sk_lookup program does with a new inbound connection to a port. Values are
 * stored in maps: never renumber. Any other value fails closed: the port is protected
 * as with HERMES_INGRESS_STEER. */
enum hermes_ingress_action {
	HERMES_INGRESS_PASS = 0,  /* not protected: the normal socket lookup decides */
	HERMES_INGRESS_STEER = 1, /* protected: to hermesd's inbound listener, refused without one */
};

/* hermes_ingress_val.action, named for bpftool as hermes_action_t is (policy.h):
 * `"action": "steer"` */
#ifdef __BPF__
enum __attribute__((packed)) hermes_ingress_action_btf {
	not_protected = HERMES_INGRESS_PASS,
	steer = HERMES_INGRESS_STEER,
};
typedef enum hermes_ingress_action_btf hermes_ingress_action_t;
#else
typedef __u8 hermes_ingress_action_t;
#endif
_Static_assert(sizeof(hermes_ingress_action_t) == 1, "ingress action is one byte");

/* hermes_ingress key: the local destination of the connection (any local address). */
struct hermes_ingress_key {
	__u8 family; /* HERMES_FAMILY_V4 or HERMES_FAMILY_V6 (policy.h) */
	__u8 pad;
	__u16 port;  /* network byte order, like the policy key */
};
_Static_assert(sizeof(struct hermes_ingress_key) == 4, "ingress key layout is ABI");

struct hermes_ingress_val {
	hermes_ingress_action_t action; /* enum hermes_ingress_action */
	__u8 pad[3];
};
_Static_assert(sizeof(struct hermes_ingress_val) == 4, "ingress value layout is ABI");

#define HERMES_INGRESS_MAX_PORTS 1024
/* hermes_ingress_own: hermesd's own connections in flight (struct hermes_addr -> __u8) */
#define HERMES_INGRESS_OWN_MAX 65536

/* Slots of hermes_ingress_listen (a SOCKMAP): hermesd's inbound listener per family. */
enum hermes_ingress_slot {
	HERMES_INGRESS_LISTEN_V4 = 0,
	HERMES_INGRESS_LISTEN_V6 = 1,
	HERMES_INGRESS_LISTEN_MAX
};

/* Counters of the sk_lookup program (a per-CPU array indexed by these slots). */
enum hermes_ingress_counter {
	HERMES_INGRESS_CNT_STEERED = 0,  /* protected-port connections handed to hermesd */
	HERMES_INGRESS_CNT_REFUSED = 1,  /* protected-port connections refused: no listener */
	HERMES_INGRESS_CNT_MAX
};

#endif
