/* sockkey.h: a socket's own 4-tuple as the sockops and sk_msg programs see it, in the
 * struct hermes_sock_key form shared with user space (v4-mapped folded to v4). */
#ifndef HERMES_BPF_SOCKKEY_H
#define HERMES_BPF_SOCKKEY_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "hermes/origdst.h"

#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif

static __always_inline int ip6_is_v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/* Fills one side (local or remote) of a key from a context's address words. */
static __always_inline void key_addr(__u8 *dst, __u32 family, __u32 ip4, const __u32 *ip6, int *v4)
{
	if (family == AF_INET) {
		__builtin_memcpy(dst, &ip4, 4);
		*v4 = 1;
	} else if (ip6_is_v4mapped(ip6)) {
		__builtin_memcpy(dst, &ip6[3], 4);
		*v4 = 1;
	} else {
		__builtin_memcpy(dst, ip6, 16);
		*v4 = 0;
	}
}

/* The key of a socket as sockops sees it. remote_port holds the network-order port in
 * its upper 16 bits (docs/architecture.md, kernel facts), local_port is host order. */
static __always_inline void sockops_key(struct bpf_sock_ops *skops, struct hermes_sock_key *k)
{
	__u32 l6[4] = { skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2], skops->local_ip6[3] };
	__u32 r6[4] = { skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2], skops->remote_ip6[3] };
	int v4 = 0;

	__builtin_memset(k, 0, sizeof(*k));
	key_addr(k->local, skops->family, skops->local_ip4, l6, &v4);
	key_addr(k->remote, skops->family, skops->remote_ip4, r6, &v4);
	k->family = v4 ? HERMES_FAMILY_V4 : HERMES_FAMILY_V6;
	k->local_port = (__u16)skops->local_port;
	k->remote_port = (__u16)bpf_ntohl(skops->remote_port);
}

#endif
