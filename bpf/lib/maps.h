/* maps.h: every map the steering programs share with user space. BTF-defined and
 * pinned by name (LIBBPF_PIN_BY_NAME) so that a restarted hermesd, hermesctl and
 * bpftool all see the same objects under the pin root. */
#ifndef HERMES_BPF_MAPS_H
#define HERMES_BPF_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "hermes/config.h"
#include "hermes/origdst.h"
#include "hermes/policy.h"

/* Policy rules: CIDR[:port] -> action (LPM, see include/hermes/policy.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, HERMES_POLICY_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct hermes_policy_key);
	__type(value, struct hermes_policy_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_policy SEC(".maps");

/* Decision counters per action (enum hermes_counter), summed over CPUs by readers. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HERMES_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_stats SEC(".maps");

/* Runtime settings written by hermesd at start (listener, mark). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hermes_bpf_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_config SEC(".maps");

/* Original destination of a steered flow, keyed by the app socket's local address
 * (= the peer hermesd sees); removed when the app socket closes, LRU as a backstop. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HERMES_ORIGDST_MAX);
	__type(key, struct hermes_addr);
	__type(value, struct hermes_origdst);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_origdst SEC(".maps");

/* Per-socket original destination on the app's own socket: freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hermes_origdst);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_sk_dst SEC(".maps");

/* Established sockets of both ends of the app <-> hermesd loopback hop (sk_msg). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, HERMES_SOCKHASH_MAX);
	__type(key, struct hermes_sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_sockhash SEC(".maps");

/* Per-socket sk_msg state (enum in accel.h): a socket whose first send could not be
 * redirected keeps using TCP for good, so its bytes never overtake each other. (The
 * kernel path keeps its own, hermes_sk_kpath: this layout is a pinned map's.) */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hermes_sk_accel);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_sk_accel SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&hermes_stats, &slot);

	if (v)
		*v += 1;
}

static __always_inline const struct hermes_bpf_config *bpf_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hermes_config, &zero);
}

#endif
