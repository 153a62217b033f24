/* ingress.h: maps and helpers of the protected-ingress sk_lookup program. BTF-defined
 * and pinned by name, like every Hermes map, so bpftool and a restarted hermesd see the
 * same protected ports. */
#ifndef HERMES_BPF_INGRESS_H
#define HERMES_BPF_INGRESS_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "hermes/ingress.h"
#include "hermes/policy.h"
#include "lib/ownsk.h"

/* Protected local ports: (family, port) -> action (include/hermes/ingress.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HERMES_INGRESS_MAX_PORTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct hermes_ingress_key);
	__type(value, struct hermes_ingress_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_ingress SEC(".maps");

/* hermesd's inbound listening sockets by family (enum hermes_ingress_slot), for sk_assign. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, HERMES_INGRESS_LISTEN_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_ingress_listen SEC(".maps");

/* sk_lookup verdict counters (enum hermes_ingress_counter), summed over CPUs by readers. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HERMES_INGRESS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_ingress_stats SEC(".maps");

#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
/* Is the connection one of hermesd's own (its source is in hermes_ingress_own)? */
static __always_inline int ingress_own(const struct bpf_sk_lookup *ctx)
{
	struct hermes_addr a = {};

	a.port = ctx->remote_port;
	if (ctx->family == AF_INET6) {
		__u32 ip6[4] = { ctx->remote_ip6[0], ctx->remote_ip6[1], ctx->remote_ip6[2], ctx->remote_ip6[3] };

		a.family = HERMES_FAMILY_V6;
		__builtin_memcpy(a.addr, ip6, 16);
	} else {
		__u32 ip4 = ctx->remote_ip4;

		a.family = HERMES_FAMILY_V4;
		__builtin_memcpy(a.addr, &ip4, 4);
	}
	return bpf_map_lookup_elem(&hermes_ingress_own, &a) != NULL;
}

#endif

#define LOOPBACK_IFINDEX 1 /* lo is always ifindex 1 in its network namespace */

static __always_inline void ingress_count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&hermes_ingress_stats, &slot);

	if (v)
		*v += 1;
}

/* Is the connection's local (destination) port protected? */
static __always_inline int ingress_protected(const struct bpf_sk_lookup *ctx)
{
	struct hermes_ingress_key key = {};
	const struct hermes_ingress_val *val;

	key.family = ctx->family == AF_INET6 ? HERMES_FAMILY_V6 : HERMES_FAMILY_V4;
	key.port = bpf_htons((__u16)ctx->local_port);
	val = bpf_map_lookup_elem(&hermes_ingress, &key);
	/* fail closed: any value but "not protected" (bpftool typos too) protects */
	return val && val->action != HERMES_INGRESS_PASS;
}

#endif
