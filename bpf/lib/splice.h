/* splice.h: the `splice` relay engine. hermesd puts both of a proxied flow's sockets
 * (client side and upstream side) in hermes_splice, keyed by socket cookie, and
 * records each one's peer in hermes_splice_peer; the stream verdict program then hands
 * every skb received on one socket to the other socket's egress, so the payload never
 * reaches user space. hermesd only watches for FIN/RST and forwards them once every
 * received byte has entered the other socket's send queue (conn.c: splice_drained). */
#ifndef HERMES_BPF_SPLICE_H
#define HERMES_BPF_SPLICE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "hermes/origdst.h"

/* Sockets of spliced flows, by socket cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, HERMES_SPLICE_MAX);
	__type(key, __u64);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_splice SEC(".maps");

/* socket cookie -> cookie of the socket its bytes go to. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HERMES_SPLICE_MAX);
	__type(key, __u64);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_splice_peer SEC(".maps");

SEC("sk_skb/stream_verdict")
int hermes_splice_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	__u64 *peer = bpf_map_lookup_elem(&hermes_splice_peer, &cookie);

	/* A FIN arrives as an empty skb: TCP has already recorded it, and hermesd forwards
	 * it with shutdown() once drained; redirected, it would hit a socket already shut
	 * for writing and raise EPIPE there. */
	if (!skb->len)
		return SK_DROP;
	/* no peer: keep the bytes on this socket (hermesd reads them) rather than drop */
	if (!peer)
		return SK_PASS;
	return bpf_sk_redirect_hash(skb, &hermes_splice, peer, 0);
}

#endif
