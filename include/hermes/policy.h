/* policy.h: the policy contract between the steering BPF programs and user space
 * (hermesd, hermesctl, bpftool users). One LPM trie holds every rule; see
 * docs/policy.md for the bpftool recipes that rely on this exact layout. */
#ifndef HERMES_POLICY_H
#define HERMES_POLICY_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/* What happens to a new connection. Values are stored in maps: never renumber. Any
 * other value (a map written by hand, or by a newer hermes) fails closed: the BPF
 * programs deny the connect and count HERMES_CNT_UNKNOWN_ACTION, so a typo in a
 * bpftool command can never open what a covering deny closes. */
enum hermes_action {
	HERMES_ACT_PASS = 0,   /* untouched: the connect goes where the app asked */
	HERMES_ACT_DENY = 1,   /* connect() fails with EPERM in BPF */
	HERMES_ACT_PROXY = 2,  /* rewritten to hermesd's outbound listener */
	HERMES_ACT_TUNNEL = 3, /* hermesd carries it in a CONNECT tunnel to a route's peer */
	HERMES_ACT_HTTP = 4,   /* hermesd reads its HTTP/1.1 requests (routes, retries, pools) */
	HERMES_ACT_MAX
};

/* The type of every map field that holds an enum hermes_action. bpftool map dump prints
 * a field whose BTF type is an enum by its enumerator's name, so in the BPF objects
 * (whose BTF bpftool reads) the field is this 1-byte enum, spelled as hermesctl spells
 * the actions: `"action": "deny"`. User space, where names such as `pass` or `http`
 * would collide with ordinary identifiers, sees the same byte as __u8. A kernel whose
 * vmlinux.h declares one of these names fails the BPF build: rename the enumerator. */
#ifdef __BPF__
enum __attribute__((packed)) hermes_action_btf {
	pass = HERMES_ACT_PASS,
	deny = HERMES_ACT_DENY,
	proxy = HERMES_ACT_PROXY,
	tunnel = HERMES_ACT_TUNNEL,
	http = HERMES_ACT_HTTP,
};
typedef enum hermes_action_btf hermes_action_t;
#else
typedef __u8 hermes_action_t;
#endif
_Static_assert(sizeof(hermes_action_t) == 1, "action fields are one byte");

/* Who wrote a rule: hermesd's reload replaces its own (config) rules and leaves
 * rules written by hermesctl or bpftool alone. */
enum hermes_origin {
	HERMES_ORIGIN_MANUAL = 0, /* hermesctl policy add, bpftool */
	HERMES_ORIGIN_CONFIG = 1, /* hermesd config file */
};

/* hermes_policy_val.origin, named for bpftool as hermes_action_t is */
#ifdef __BPF__
enum __attribute__((packed)) hermes_origin_btf {
	manual = HERMES_ORIGIN_MANUAL,
	config_file = HERMES_ORIGIN_CONFIG,
};
typedef enum hermes_origin_btf hermes_origin_t;
#else
typedef __u8 hermes_origin_t;
#endif
_Static_assert(sizeof(hermes_origin_t) == 1, "origin fields are one byte");

/* The protocol a rule applies to: the policy key's proto byte, part of the matched data.
 * 0 is TCP so that every rule written before UDP steering (that byte was padding, always
 * 0) keeps meaning TCP only: an upgrade never widens what a rule catches. */
enum hermes_proto {
	HERMES_PROTO_TCP = 0,
	HERMES_PROTO_UDP = 1,
};

/* hermes_policy_key.proto, named for bpftool as hermes_action_t is */
#ifdef __BPF__
enum __attribute__((packed)) hermes_proto_btf {
	tcp = HERMES_PROTO_TCP,
	udp = HERMES_PROTO_UDP,
};
typedef enum hermes_proto_btf hermes_proto_t;
#else
typedef __u8 hermes_proto_t;
#endif
_Static_assert(sizeof(hermes_proto_t) == 1, "proto fields are one byte");

#define HERMES_FAMILY_V4 4
#define HERMES_FAMILY_V6 6

/* LPM trie key. The matched bits are data = family, proto, port, addr, in that order,
 * so prefixlen = 32 + CIDR length. port is network order; port 0 means "any port".
 * Lookups are done twice: first with the real port (only exact-port rules can match,
 * their prefix covers the port), then with port 0 (any-port rules): an exact-port
 * rule wins over any any-port rule. IPv4 addresses use addr[0..3], the rest is 0. */
struct hermes_policy_key {
	__u32 prefixlen;
	__u8 family;   /* HERMES_FAMILY_V4 or HERMES_FAMILY_V6 */
	hermes_proto_t proto; /* enum hermes_proto: a UDP lookup never finds a TCP rule */
	__u16 port;    /* network byte order, 0 = any port */
	__u8 addr[16]; /* network byte order */
};
_Static_assert(sizeof(struct hermes_policy_key) == 24, "policy key layout is ABI");

#define HERMES_POLICY_PREFIX_BASE 32 /* bits of family+proto+port before the address */

struct hermes_policy_val {
	hermes_action_t action; /* enum hermes_action */
	hermes_origin_t origin; /* enum hermes_origin */
	__u16 pad;
	__u32 route_id; /* for tunnel/http: which route (later issues); 0 otherwise */
};
_Static_assert(sizeof(struct hermes_policy_val) == 8, "policy value layout is ABI");
_Static_assert(__builtin_offsetof(struct hermes_policy_val, route_id) == 4, "policy value layout is ABI");

#define HERMES_POLICY_MAX_RULES 16384

/* Per-action decision counters: a per-CPU array indexed by these slots. New slots go
 * at the end (hermesd replaces a pinned hermes_stats of another size: loader.c). */
enum hermes_counter {
	HERMES_CNT_PASS = HERMES_ACT_PASS,
	HERMES_CNT_DENY = HERMES_ACT_DENY,
	HERMES_CNT_PROXY = HERMES_ACT_PROXY,
	HERMES_CNT_TUNNEL = HERMES_ACT_TUNNEL,
	HERMES_CNT_HTTP = HERMES_ACT_HTTP,
	HERMES_CNT_FAILOPEN,    /* proxy wanted but no hermesd listener: went direct */
	HERMES_CNT_OWN,         /* hermesd's own (marked) sockets, never steered */
	HERMES_CNT_ORIGDST_MISS,/* established steered socket whose origdst could not be recorded */
	HERMES_CNT_SKMSG_SOCK,  /* sockets added to hermes_sockhash (sk_msg hop) */
	HERMES_CNT_SKMSG_FAIL,  /* sockets that could not be added (map full, ...) */
	HERMES_CNT_SKMSG_REDIR, /* sockets whose first send was redirected: sk_msg for good */
	HERMES_CNT_SKMSG_TCP,   /* sockets whose first send found no peer: TCP for good */
	HERMES_CNT_UNKNOWN_ACTION, /* connects denied because their rule's action is unknown (also counted as deny) */
	HERMES_CNT_KPATH_SEND,  /* app sockets whose sends took the kernel path to the upstream */
	/* UDP decisions: one per connect() and per sendto()/sendmsg() with an address */
	HERMES_CNT_UDP_PASS,
	HERMES_CNT_UDP_DENY,    /* EPERM; includes UDP_UNSUPPORTED and UDP_NOSLOT */
	HERMES_CNT_UDP_PROXY,
	HERMES_CNT_UDP_UNSUPPORTED, /* a UDP rule whose action UDP does not have (http, unknown) */
	HERMES_CNT_UDP_NOSLOT,  /* proxy wanted but no free flow slot (hermes_udp_slots) */
	HERMES_CNT_UDP_FAILOPEN,/* proxy or tunnel wanted but no hermesd UDP relay: went direct */
	HERMES_CNT_UDP_TUNNEL,  /* sent to hermesd's UDP relay for a tunnel (CONNECT-UDP) */
	HERMES_CNT_MAX
};

#endif
