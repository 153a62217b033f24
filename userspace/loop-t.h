/* loop-t.h: types of hermesd's io_uring event loop and its proxy connections.
 * user_data of every SQE is the address of a struct loop_op embedded in the object that
 * owns the op; handle_cqe() calls the op's done(). */
#ifndef HERMES_LOOP_T_H
#define HERMES_LOOP_T_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config-t.h"
#include "hermes/origdst.h"
#include "loader.h"
#include "runtime-t.h"
#include "stats-t.h"

struct loop;
struct loop_op;

/* What to do when an op completes: the module that submitted it gets its owner back
 * with loop_container_of(op, owner type, member). */
typedef void loop_done_fn(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe);

/* One kind of in-flight op of an owner, embedded in it (no allocation per op). An SQE's
 * user_data is the op's address, so a completion finds its handler, and a cancel its
 * target, without a table of op kinds: adding an op edits only the module that owns it.
 * Several SQEs of one kind may be in flight at once on the same op (cancels): the op
 * holds no per-SQE state. The owner counts what is in flight and is freed only when
 * nothing is (a multishot op stays in flight until a completion without F_MORE). */
struct loop_op {
	loop_done_fn *done;
};

#define loop_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Allocations that nghttp2 stream user data tags in its low bits are aligned to this
 * (loop_zalloc). */
#define LOOP_ALIGN 32

enum listener_kind { LST_OUTBOUND, LST_ADMIN, LST_TUNNEL, LST_INBOUND, LST_METRICS };

struct listener {
	int fd;
	enum listener_kind kind;
	bool armed;
	bool paused;          /* out of descriptors: accepting again at resume_ms */
	bool single;          /* descriptors short: one accept at a time, not multishot */
	struct loop_op op_accept; /* the accept (multishot: in flight while `armed`) */
	struct loop_op op_cancel; /* cancels of the multishot accept (a pause) */
	uint64_t resume_ms;
	char name[64];
} __attribute__((aligned(LOOP_ALIGN)));

#define RELAY_NBUF 8          /* provided buffers per direction: bounds bytes in flight */
#define RELAY_BUFSZ (16 * 1024)

enum conn_state {
	CONN_CONNECTING, /* upstream connect in flight, client not read yet */
	CONN_BACKOFF,    /* waiting before the next connect attempt */
	CONN_RELAY,      /* both sockets open, bytes flowing both ways */
	CONN_CLOSING,    /* waiting for in-flight ops to finish, then close and free */
	CONN_TUNNEL_HEAD,/* tunnel listener: reading the CONNECT request head */
	CONN_TUNNEL_RESP,/* tunnel client: CONNECT sent to the peer, reading its answer */
	CONN_TUNNEL_WAIT,/* tunnel client: waiting for a pooled HTTP/2 connection to the peer */
};

/* A flow's stream buffer (bytes received on an HTTP/2 stream, not yet passed on): also
 * the stream's flow-control window, so a slow receiver holds back only its own stream. */
#define STREAM_WIN (1024 * 1024)

#define TUNNEL_HEAD_MAX 16384
#define TUNNEL_HEAD_TIMEOUT_MS 10000

/* One direction of a relayed connection: bytes read from `from` are queued in
 * provided buffers until written to `to`; a buffer goes back to the ring once sent. */
struct half {
	struct conn *c;
	int from, to;
	uint16_t bgid;
	bool ring_registered;
	bool recv_armed;
	bool send_inflight;
	bool eof;            /* `from` sent FIN */
	bool shut_inflight;
	bool shut_done;      /* FIN forwarded to `to` */
	struct loop_op op_recv;     /* multishot recv from `from` (`recv_armed`) */
	struct loop_op op_send;     /* send to `to` (`send_inflight`) */
	struct loop_op op_shutdown; /* shutdown(to, SHUT_WR) after `from`'s EOF (`shut_inflight`) */
	struct io_uring_buf_ring *br;
	char *bufs;
	uint16_t q_bid[RELAY_NBUF];
	uint32_t q_len[RELAY_NBUF];
	unsigned q_head, q_count;
	uint32_t sent_off;   /* bytes of the head buffer already sent */
	uint64_t bytes;
	/* splice engine */
	bool polling;        /* op_poll in flight */
	bool drain_timer;    /* op_drain in flight */
	uint32_t drain_wait_ms;
	uint64_t base_in;    /* raw received count of `from` when splicing started */
	uint64_t base_out;   /* raw written count of `to` when splicing started */
	struct loop_op op_poll;  /* splice: POLLRDHUP/POLLERR on `from` (`polling`) */
	struct loop_op op_drain; /* splice: re-check that `from`'s bytes all reached `to` (`drain_timer`) */
	struct __kernel_timespec ts;
	/* `from` is an HTTP/2 stream: its DATA wait in this ring (STREAM_WIN bytes) */
	uint8_t *sq;
	uint32_t sq_head, sq_len;
	/* bytes to pass on before anything read from `from` (read with a tunnel's head) */
	char *pre;
	uint32_t pre_off, pre_len;
} __attribute__((aligned(LOOP_ALIGN)));

struct sess;

struct conn {
	struct half h[2];    /* h[0]: client -> upstream, h[1]: upstream -> client */
	struct loop *loop;
	struct conn *prev, *next;
	uint64_t id;
	int cfd, ufd;
	enum conn_state state;
	int inflight;        /* SQEs not completed yet: free only at 0 */
	struct loop_op op_connect; /* upstream connect (state CONN_CONNECTING) */
	struct loop_op op_backoff; /* delay before the next connect attempt (CONN_BACKOFF) */
	struct loop_op op_aux;     /* cancels, timeout removals, the connect's linked timeout */
	bool rst_client, rst_upstream; /* close with SO_LINGER 0 (RST) */
	bool counted_active;
	enum relay_engine engine; /* engine of this flow once relaying */
	bool spliced;        /* both sockets are in hermes_splice */
	uint64_t cookie[2];  /* SO_COOKIE of cfd and ufd */
	bool tunnel_server;  /* accepted on the tunnel listener: answers CONNECT */
	char *hbuf;          /* CONNECT request head (and bytes after it) */
	size_t hlen, head_len;
	bool tunnel_client;  /* reaches its target through a CONNECT to a route's peer */
	uint8_t action;      /* enum hermes_action that steered the flow */
	struct hermes_addr target; /* tunnel client: what the CONNECT asks for */
	char *ident;         /* Hermes-* identity header lines sent with the CONNECT */
	char *rbuf;          /* tunnel client: the peer's answer (and bytes after it) */
	size_t rlen;
	bool resp_timed_out; /* tunnel client: the peer did not answer in connect_timeout_ms */
	unsigned attempts;
	unsigned n_eps;
	struct hermes_addr eps[1 + CFG_MAX_ALTERNATES];
	struct hermes_addr peer; /* client address as accepted */
	struct sockaddr_storage dst_ss; /* current connect target: read by the kernel at submit */
	uint64_t last_active_ms;
	uint64_t started_ms;
	uint64_t connect_start_ns; /* current attempt, for the connect-time histogram */
	uint64_t app_cookie;   /* the app socket's cookie (its hermes_flows key), 0 if unknown */
	uint32_t app_pid, app_uid, app_gid;
	struct __kernel_timespec ts;
	/* HTTP/2 tunnel streams. Side 0 is the client side (cfd), side 1 the upstream side
	 * (ufd); a side whose ss[] is set is a stream of that session instead of a socket,
	 * and half h[i] reads from side i. */
	bool sside[2];           /* the side is (or was) an HTTP/2 stream */
	struct sess *ss[2];      /* its session while the stream is attached */
	int32_t sid[2];          /* stream ids (0: not opened yet) */
	bool s_ended[2];         /* END_STREAM sent on the side's stream */
	struct conn *snext[2], *sprev[2]; /* the session's list of flows */
	struct runtime *rt;      /* the runtime snapshot current at accept, held to the end */
	const struct cfg_peer *tp; /* tunnel client: the route's peers in rt (c->eps order) */
	uint64_t setup_start_ns; /* tunnel client: current attempt, for the setup histogram */
	int resp_status;         /* tunnel client over HTTP/2: the peer's :status */
	/* access log (access.c) */
	const char *result;      /* why it ended when not ok or reset: "connect-failed", ... */
	uint16_t reply_status;   /* tunnel listener: the status answered to the CONNECT */
	bool inbound;            /* protected ingress: accepted on the inbound listener */
	char peer_comm[16];      /* tunnel listener: the app's comm as the previous hop said (Hermes-Comm) */
} __attribute__((aligned(LOOP_ALIGN)));

enum sess_state {
	SESS_CONNECTING, /* client: TCP connect in flight */
	SESS_SNIFF,      /* server: peeking at the first byte (TLS, h2c preface or HTTP/1.1) */
	SESS_HANDSHAKE,  /* TLS handshake */
	SESS_OPEN,       /* HTTP/2 running */
	SESS_CLOSING,    /* waiting for in-flight ops, then freed */
};

#define SESS_RBUF (64 * 1024)
#define SESS_MAX_SANS 8

struct h2sess;

/* One TCP connection carrying HTTP/2 tunnel streams, TLS or not, accepted on the tunnel
 * listener (server) or opened to a route's peer (client, pooled). OpenSSL runs on
 * a BIO of ours over rbuf/ob: ciphertext moves with io_uring recv/send. */
struct sess {
	struct loop *loop;
	struct sess *prev, *next;   /* lp->sessions */
	struct sess *dnext;         /* lp->sess_dirty: wants a flush after this batch */
	bool dirty;
	uint64_t id;
	int fd;
	enum sess_state state;
	bool server, tls;
	int inflight;
	int in_ng;                  /* inside an nghttp2 call: do not free */
	bool recv_armed, send_inflight, goaway, busy;
	struct loop_op op_connect;  /* client: connect to the peer (SESS_CONNECTING) */
	struct loop_op op_recv;     /* recv, MSG_PEEK while sniffing (`recv_armed`) */
	struct loop_op op_send;     /* send of ob[ob_send] (`send_inflight`) */
	struct loop_op op_aux;      /* cancels, the connect's linked timeout */
	bool h1;                    /* HTTP/1.1 CONNECT over TLS: one flow, no framing */
	bool close_when_sent;       /* h1: the flow ended; close once the output is out */
	bool tcp_eof, h1_eof;       /* h1: the peer's FIN was read; its end reached the flow */
	int close_err;              /* why it is closing (-errno), for its flows */
	void *ssl;                  /* SSL * */
	size_t rin_off, rin_len;    /* TLS: ciphertext in rbuf not read by OpenSSL yet */
	void *ng;                   /* nghttp2_session * */
	uint8_t *rbuf;
	/* output: ob[ob_send] is on the wire (or goes next); while a send is in flight,
	 * new output fills the other one, so producing never waits for the socket */
	struct sess_obuf { uint8_t *p; size_t len, off, cap; } ob[2];
	unsigned ob_send;
	struct conn *flows;         /* flows with a stream (or a pending one) here */
	unsigned n_flows;
	struct cfg_peer peer;       /* client: whom it reaches */
	struct hermes_addr paddr;   /* the peer's address */
	char sans[SESS_MAX_SANS][128]; /* server: the client certificate's DNS/URI SANs */
	struct h2sess *http;        /* server: its non-CONNECT streams, explicit proxy requests
				     * of the http action (h2dn.c); NULL until the first */
	unsigned n_sans;
	uint64_t started_ms, idle_since_ms;
	uint64_t bytes, bytes_mark; /* bytes sent + received; at the last tick */
	struct sockaddr_storage dst_ss;
	struct __kernel_timespec ts;
} __attribute__((aligned(LOOP_ALIGN)));

struct loop {
	struct io_uring ring;
	/* The current runtime snapshot (runtime-t.h), swapped whole by a SIGHUP, and its
	 * config: cfg is always rt->cfg, a pointer that follows the swap, so it is read for
	 * what applies now and never kept across a return to the loop. What must stay the
	 * same for a request or a flow from its start to its end is read from the snapshot
	 * it holds a reference to (hconn rt, conn rt), not from here. */
	struct runtime *rt;
	struct hermes_config *cfg;
	struct loader *ld;
	struct ingress *ing;  /* protected ingress, NULL when off */
	struct listener lst[7]; /* outbound v4, outbound v6, admin, tunnel, inbound v4, inbound v6, metrics */
	int n_lst;
	int n_paused;           /* listeners resting after running out of descriptors */
	int fd_limit;           /* RLIMIT_NOFILE: accepting pauses FD_RESERVE below it */
	int sfd;
	struct signalfd_siginfo_buf { uint8_t b[128]; } sig;
	struct __kernel_timespec tick_ts;
	struct loop_op op_signal; /* read of the signalfd */
	struct loop_op op_tick;   /* 1 s housekeeping timer */
	struct conn *conns;   /* all live proxy connections */
	struct admin_conn *admins;
	struct sess *sessions;   /* tunnel connections, both ways */
	struct sess *sess_dirty; /* sessions to flush after the current batch */
	uint8_t *scratch;        /* SESS_RBUF bytes for decrypted input */
	uint64_t next_id;
	uint64_t now_ms;
	uint32_t bgid_next;
	uint16_t *bgid_free;
	unsigned n_bgid_free;
	bool ready;
	bool draining;
	uint64_t drain_deadline_ms;
	bool stop;
	int exit_code;
	struct loop_stats st;
	const char *config_path; /* for SIGHUP; NULL = embedded default */
	struct http_state *http; /* the http action (http.c) */
};

#endif
