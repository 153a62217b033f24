/* kpath.h: the kernel path of a `proxy` flow (relay `kernel`, include/hermes/kpath.h).
 * The app's sends: hermes_skmsg (accel.h) redirects them to the upstream socket's egress
 * (kpath_send). The upstream's bytes: hermes_kpath_verdict redirects every skb the
 * upstream socket receives into the app socket's receive queue (BPF_F_INGRESS). hermesd
 * keeps its relay on both of its sockets for what the kernel cannot carry: the app's
 * bytes sent before the switch, and each direction's FIN and resets (userspace/kpath.c). */
#ifndef HERMES_BPF_KPATH_H
#define HERMES_BPF_KPATH_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "hermes/kpath.h"
#include "lib/maps.h"

/* Both sockets' kernel-path state, by socket cookie (include/hermes/kpath.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HERMES_KPATH_MAX);
	__type(key, __u64);
	__type(value, struct hermes_kpath);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_kpath SEC(".maps");

/* Per app socket: what its sends gave hermesd, and whether it took the kernel path. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hermes_sk_kpath);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_sk_kpath SEC(".maps");

/* Upstream sockets of kernel-path flows, by socket cookie (hermes_kpath_verdict runs on them). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, HERMES_KPATH_MAX);
	__type(key, __u64);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hermes_kpath_sock SEC(".maps");

#define SOL_SOCKET_ 1
#define SO_RCVBUF_ 8

/* The verdict's skbs reach the app's receive queue through its psock backlog, a work
 * item that stops while the socket holds more than sk_rcvbuf and retries a jiffy later;
 * the app's reads do not restart it, and receive-buffer autotuning never runs for these
 * bytes. With the default 128 KiB a bulk download crawled at 0.03-0.08 Gb/s (one buffer
 * per retry), so an app socket that may take the kernel path gets the largest buffer
 * net.core.rmem_max allows (the kernel caps the value). */
static __always_inline void kpath_rcvbuf(struct bpf_sock_ops *skops)
{
	int big = 1 << 30;

	bpf_setsockopt(skops, SOL_SOCKET_, SO_RCVBUF_, &big, sizeof(big));
}

/* An app socket of a proxy flow is established (nothing sent yet: the socket is locked
 * until this returns): its state starts here or not at all, so that to_hermesd counts
 * every byte it ever gave hermesd. */
static __always_inline void kpath_established(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;

	if (sk)
		bpf_sk_storage_get(&hermes_sk_kpath, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	kpath_rcvbuf(skops);
}

/* The app's socket sends msg: to the upstream's egress when its flow is on the kernel
 * path and every byte it gave hermesd before is already in the upstream's send queue
 * (hermesd publishes that count as fwd after each send completes; a send is redirected
 * synchronously, so the redirected bytes queue after them). Returns 1 when redirected. */
static __always_inline int kpath_send(struct sk_msg_md *msg, __u64 cookie, struct hermes_sk_kpath *st)
{
	struct hermes_kpath *kp;
	__u64 up;

	if (!cookie)
		return 0;
	kp = bpf_map_lookup_elem(&hermes_kpath, &cookie);
	if (!kp)
		return 0;
	if (!st->on && kp->fwd != st->to_hermesd)
		return 0;
	up = kp->up;
	/* fails only when the upstream left the map (hermesd ends the flow): TCP then.
	 * (msg->size counts no bytes here: a redirect that sent part of a message runs the
	 * program again on the rest, so hermesd counts them from the upstream's TCP_INFO.) */
	if (bpf_msg_redirect_hash(msg, &hermes_kpath_sock, &up, 0) != SK_PASS)
		return 0;
	if (!st->on) {
		st->on = 1;
		count(HERMES_CNT_KPATH_SEND);
	}
	return 1;
}

/* sk->sk_user_data flag bits (include/net/sock.h: SK_USER_DATA_PTRMASK) */
#define SK_USER_DATA_FLAGS_ 7UL

/* skbs waiting in a socket's psock backlog (not yet in its receive queue). */
static __always_inline __u32 backlog_skbs(struct sock *sk)
{
	struct sk_psock *psock;

	psock = (struct sk_psock *)((unsigned long)BPF_CORE_READ(sk, sk_user_data) & ~SK_USER_DATA_FLAGS_);
	return psock ? BPF_CORE_READ(psock, ingress_skb.qlen) : 0;
}

/* Nothing limits the backlog: the verdict takes every skb off the upstream socket, whose
 * receive window therefore never closes (a server sent 2.8 GB more than iperf3 -R had
 * read in 6 s). The work item empties it at once while the app socket can take more
 * (it held 0 to 9 skbs in a download the app kept up with); it grows when the app's
 * receive buffer is full or its memory cannot be charged (a stalled backlog stood at
 * 2.3 of 8 MiB of receive buffer here). Past HERMES_KPATH_BACKLOG_MAX skbs the flow's
 * upstream bytes
 * stay on the upstream socket for good (`held`): charged to its receive buffer, so TCP
 * slows the server down, and hermesd relays them once the backlog is empty
 * (userspace/kpath.c). */
static __always_inline int app_backlogged(struct hermes_sock_key *app)
{
	struct bpf_sock *bsk = bpf_map_lookup_elem(&hermes_sockhash, app);
	struct tcp_sock *tp;
	__u32 n = 0;

	if (!bsk)
		return 0;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (tp)
		n = backlog_skbs((struct sock *)tp);
	bpf_sk_release(bsk);
	return n > HERMES_KPATH_BACKLOG_MAX;
}

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* bpf_skb_adjust_room takes at most this many bytes off an sk_skb's head per call */
#define KPATH_TRIM_STEP 4095
/* calls per skb: 64 x 4095 bytes covers the largest GRO skb (64 KiB) twice over */
#define KPATH_TRIM_CALLS 64

/* The verdict reads whole skbs off the upstream's receive queue (tcp_read_skb), but TCP
 * queues a retransmitted skb that starts before rcv_nxt (seq < rcv_nxt < end_seq: its
 * head was already received) whole: a reader through tcp_recvmsg skips the head by
 * copied_seq, tcp_read_skb does not. So on this kernel (6.18) the head reached the app
 * twice; a sender retransmits such an skb when ACKs come late (a loaded machine, an app
 * short of receive memory whose backlog holds the upstream's memory). The verdict keeps
 * the sequence number where the bytes it has taken end (kp->next_seq) and cuts what an
 * skb repeats off its head before it goes anywhere; tcp_eat_skb then also advances
 * copied_seq by what is left. An skb whose bytes are all old (a retransmitted last
 * segment that now carries the FIN: TCP queues it for the FIN) is cut to nothing.
 * Returns 0 (the skb goes on), 1 (nothing of it is left: drop it), or -1 when the repeat
 * cannot be cut (the cut failed for want of memory): the flow's bytes are no longer
 * exact, it is `broken` and hermesd resets it (userspace/kpath.c). */
static __always_inline int kpath_trim_repeat(struct __sk_buff *skb, struct hermes_kpath *kp)
{
	struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
	__u32 cb[2], seq, len = skb->len, over;

	if (bpf_probe_read_kernel(cb, sizeof(cb), k->cb))
		return -1;
	seq = cb[0]; /* struct tcp_skb_cb: seq, end_seq first */
	if (!kp->seq_known) {
		/* the first skb since the switch: hermesd may have read up to copied_seq */
		struct tcp_sock *tp = (struct tcp_sock *)BPF_CORE_READ(k, sk);

		kp->next_seq = tp ? BPF_CORE_READ(tp, copied_seq) : seq;
		kp->seq_known = 1;
	}
	over = kp->next_seq - seq;
	/* not behind next_seq (seq after it would be a gap: TCP queues only in order) */
	if ((__s32)over <= 0) {
		kp->next_seq = seq + len;
		return 0;
	}
	if (over < len)
		kp->next_seq = seq + len;
	else
		over = len;
	__sync_fetch_and_add(&kp->trimmed, over);
	for (int i = 0; i < KPATH_TRIM_CALLS && over; i++) {
		__u32 n = over > KPATH_TRIM_STEP ? KPATH_TRIM_STEP : over;

		if (bpf_skb_adjust_room(skb, -(__s32)n, 0, 0))
			return -1;
		over -= n;
	}
	if (over)
		return -1;
	return skb->len ? 0 : 1;
}

SEC("sk_skb/stream_verdict")
int hermes_kpath_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct hermes_kpath *kp = bpf_map_lookup_elem(&hermes_kpath, &cookie);
	struct hermes_sock_key app;

	/* a FIN arrives as an empty skb: TCP has recorded it, hermesd's read sees the EOF and
	 * forwards it once the bytes before it reached the app (userspace/kpath.c) */
	if (!skb->len)
		return SK_DROP;
	if (!kp)
		return SK_PASS;
	if (!kp->broken) {
		int r = kpath_trim_repeat(skb, kp);

		if (r > 0) /* all old: dropped empty, so tcp_eat_skb counts nothing */
			return SK_DROP;
		if (r < 0)
			kp->broken = 1;
	}
	if (kp->broken)
		return SK_DROP;
	__builtin_memcpy(&app, &kp->app, sizeof(app));
	if (!kp->held && app_backlogged(&app))
		kp->held = 1;
	if (kp->held) {
		__sync_fetch_and_add(&kp->passed, skb->len);
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &hermes_sockhash, &app, BPF_F_INGRESS) == SK_PASS) {
		__sync_fetch_and_add(&kp->redir, skb->len);
		return SK_PASS;
	}
	/* the app's socket is gone: hermesd reads the bytes and its relay meets the close */
	__sync_fetch_and_add(&kp->passed, skb->len);
	return SK_PASS;
}

/* Run by hermesd on demand (bpf_iter_create) over the TCP sockets of its network
 * namespace: one record per app socket of a kernel-path flow whose psock backlog still
 * holds redirected skbs. The verdict queues them there and a work item moves them into
 * the socket's receive queue; hermesd forwards the upstream's FIN (or its bytes held on
 * the upstream socket) to the app only once its socket is not listed (userspace/kpath.c). (A sockmap iterator would visit only
 * hermes_sockhash, but this kernel refuses to load one: EPERM.) */
SEC("iter/tcp")
int hermes_kpath_backlog(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct hermes_kpath_backlog rec = {};

	if (!skc)
		return 0;
	rec.cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	/* only app sockets of kernel-path flows have an entry: full sockets all */
	if (!rec.cookie || !bpf_map_lookup_elem(&hermes_kpath, &rec.cookie))
		return 0;
	rec.skbs = backlog_skbs((struct sock *)skc);
	if (rec.skbs)
		bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

#endif
