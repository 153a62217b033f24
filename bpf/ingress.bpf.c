// SPDX-License-Identifier: GPL-2.0
/* ingress.bpf.c: protected ingress. An sk_lookup program, attached to the server
 * host's network namespace, hands every new inbound TCP connection to a protected local
 * port (hermes_ingress) to hermesd's inbound listener with bpf_sk_assign, so the
 * accepted socket's local address is the original destination and the service itself
 * is reachable from other hosts only through hermesd. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/ingress.h"

char LICENSE[] SEC("license") = "GPL";

#define IPPROTO_TCP 6

SEC("sk_lookup")
int hermes_ingress_lookup(struct bpf_sk_lookup *ctx)
{
	struct bpf_sock *sk;
	__u32 slot;
	long err;

	if (ctx->protocol != IPPROTO_TCP || (ctx->family != AF_INET && ctx->family != AF_INET6))
		return SK_PASS;
	if (!ingress_protected(ctx))
		return SK_PASS;
	/* hermesd's own connections to the service (tunnel and inbound targets) reach it;
	 * so do connections to a loopback address of a protected port */
	if (ctx->ingress_ifindex == LOOPBACK_IFINDEX || ingress_own(ctx))
		return SK_PASS;
	slot = ctx->family == AF_INET6 ? HERMES_INGRESS_LISTEN_V6 : HERMES_INGRESS_LISTEN_V4;
	sk = bpf_map_lookup_elem(&hermes_ingress_listen, &slot);
	if (!sk) {
		/* Fail closed: protection is the point, so with no hermesd listener (stopped,
		 * crashed, or no listener of this family) the port is refused (the peer gets a
		 * reset) rather than opened to everyone. hermesctl disable lifts it. */
		ingress_count(HERMES_INGRESS_CNT_REFUSED);
		return SK_DROP;
	}
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		ingress_count(HERMES_INGRESS_CNT_REFUSED);
		return SK_DROP;
	}
	ingress_count(HERMES_INGRESS_CNT_STEERED);
	return SK_PASS;
}
