/* ownsk.h: hermesd's own outgoing TCP connections, keyed by their local address, so the
 * protected-ingress sk_lookup program lets them through to the local service instead of
 * steering them back to hermesd. Local connections cannot be told apart by interface:
 * a connection to an address of eth0 arrives with eth0's ifindex even over lo. sockops on
 * hermesd's own cgroup records each one as its SYN is about to leave and forgets it at close. */
#ifndef HERMES_BPF_OWNSK_H
#define HERMES_BPF_OWNSK_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "hermes/ingress.h"
#include "hermes/origdst.h"

/* hermesd's connecting/connected sockets by local address (value unused); LRU as a backstop. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HERMES_INGRESS_OWN_MAX);
	__type(key, struct hermes_addr);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_ingress_own SEC(".maps");

#endif
