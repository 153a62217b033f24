/* config.h: the runtime settings hermesd hands to the BPF programs (one-slot array
 * map hermes_config), so the programs never need reloading to change them. */
#ifndef HERMES_BPFCONF_H
#define HERMES_BPFCONF_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

struct hermes_bpf_config {
	__u32 mark;          /* SO_MARK on hermesd's own sockets: never steered */
	__u8 listen4[4];     /* outbound listener, IPv4, network order */
	__u16 listen4_port;  /* network order; 0 = no IPv4 listener */
	__u16 listen6_port;  /* network order; 0 = no IPv6 listener */
	__u8 listen6[16];    /* outbound listener, IPv6, network order */
	__u8 sk_msg;         /* 1: splice the app <-> hermesd hop with sk_msg (hermes_sockhash) */
	__u8 flows;          /* 1: keep the flow table (hermes_flows) */
	__u8 ingress;        /* 1: protected ingress is on: record hermesd's own connects */
	__u8 draining;       /* 1: hermesd is stopping: steered destinations fail open while its
	                      * listener still takes in what was already steered to it */
};
_Static_assert(sizeof(struct hermes_bpf_config) == 32, "hermes_bpf_config layout is ABI");

#endif
