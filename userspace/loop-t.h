/* loop-t.h: types of hermesd's io_uring event loop and its proxy connections.
 * user_data of every SQE is the address of a struct loop_op embedded in the object that
 * owns the op; handle_cqe() calls the op's done(). */
#ifndef HERMES_LOOP_T_H
#define HERMES_LOOP_T_H

#include <limits.h> /* before liburing's linux headers: glibc keeps their LINK_MAX out of loader.h's enum */
#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "config-t.h"
#include "ep-t.h"
#include "relay.h"
#include "hermes/origdst.h"
#include "life.h"
#include "list.h"
#include "loader.h"
#include "runtime-t.h"

struct etcd_src;
#include "rxpool.h"
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

enum listener_kind { LST_OUTBOUND, LST_ADMIN, LST_TUNNEL, LST_INBOUND, LST_METRICS };

/* Single-shot accepts a flow listener keeps in flight: each can take in one connection
 * before hermesd sees it, so this bounds the flows that may need their upstream socket
 * from the descriptor reserve (FD_RESERVE) once descriptors run out. A multishot accept
 * took the whole backlog in before the first completion was seen (thousands at c=10000),
 * more than any reserve. 64: with 8, a burst of 1000 connections took 38% longer to be
 * served (one loop turn per 8 accepts); two flow listeners hold 128 of a 256 reserve. */
#define ACCEPTS_IN_FLIGHT 64
/* Descriptors held in reserve (duplicates of /dev/null) for the upstream sockets of flows
 * accepted as the rest ran out; at most a quarter of RLIMIT_NOFILE. */
#define FD_RESERVE 256

struct listener;
struct accept_op {
	struct loop_op op; /* first: on_accept gets it as the loop_op */
	struct listener *l;
	bool armed;
	/* the peer's address, written by the accept (a getpeername per flow less) */
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

struct listener {
	int fd;
	enum listener_kind kind;
	int n_armed;          /* accepts in flight */
	bool paused;          /* out of descriptors: accepting again at resume_ms */
	struct accept_op acc[ACCEPTS_IN_FLIGHT];
	uint64_t resume_ms;
	char name[64];
};


enum conn_state {
	CONN_CONNECTING, /* upstream dial in flight, client not read yet */
	CONN_BACKOFF,    /* waiting before the next connect attempt */
	CONN_RELAY,      /* both endpoints open, bytes flowing both ways */
	CONN_CLOSING,    /* waiting for in-flight ops to finish, then close and free */
	CONN_TUNNEL_HEAD,/* tunnel listener: reading the CONNECT request head */
	CONN_TUNNEL_RESP,/* tunnel client: CONNECT sent to the peer, reading its answer */
	CONN_TUNNEL_WAIT,/* tunnel client: the peer's HTTP/2 stream is being opened */
};

#define TUNNEL_HEAD_MAX 16384

/* The splice engine's state for one direction of a flow: bytes from r.ep[i] to
 * r.ep[1 - i], moved by the kernel (splice.c). */
struct splice_dir {
	struct conn *c;
	bool eof;            /* the reading socket sent FIN */
	bool shut_done;      /* FIN forwarded */
	bool polling;        /* op_poll in flight */
	bool drain_timer;    /* op_drain in flight */
	uint32_t drain_wait_ms;
	uint64_t base_in;    /* raw received count of the reading socket when splicing started */
	uint64_t base_out;   /* raw written count of the writing socket when splicing started */
	struct loop_op op_poll;  /* POLLRDHUP/POLLERR on the reading socket (`polling`) */
	struct loop_op op_drain; /* re-check that its bytes all reached the other (`drain_timer`) */
	struct __kernel_timespec ts;
};

/* A UDP flow's own counts, for its access line: the relay's flows (udp.c) and the
 * CONNECT-UDP streams of the tunnel listener (ep_udp.c). */
struct udp_tally {
	uint64_t dgrams[2]; /* [0] toward the destination, [1] back toward the application/client */
	uint64_t drops;     /* its datagrams dropped either way, whatever the reason */
};

/* A proxied or tunnelled flow: a client endpoint, an upstream endpoint, and the role
 * that joins them (proxy, tunnel client, tunnel server, inbound). */
struct conn {
	struct relay r;      /* r.ep[0]: the client side, r.ep[1]: the upstream side */
	struct loop *loop;
	struct list link;    /* lp->conns */
	uint64_t id;
	enum conn_state state;
	struct life life;    /* the flow's own SQEs (backoff, splice polls, cancels); closing:
			      * CONN_CLOSING */
	struct loop_op op_backoff; /* delay before the next connect attempt (CONN_BACKOFF) */
	struct loop_op op_aux;     /* cancels and timeout removals */
	bool rst_client, rst_upstream; /* ended with a reset of that side */
	bool counted_active;
	enum relay_engine engine; /* engine of this flow once relaying */
	bool spliced;        /* both sockets are in hermes_splice */
	uint64_t cookie[2];  /* SO_COOKIE of both sockets (kernel path: the app's, the upstream's) */
	bool kpath;          /* on the kernel path (kpath.c) */
	bool kp_up_ok;       /* kernel path: what hermesd reads from the upstream (its EOF, bytes
			      * the verdict held) may go on to the app: its backlog is empty */
	bool kp_held;        /* kernel path: the upstream's bytes came to hermesd (counted) */
	uint32_t kp_wait_us; /* kernel path: last wait for the app's backlog to drain */
	uint64_t kp_looked_ns; /* kernel path: the upstream's EOF, then the last backlog walk used */
	uint64_t kp_fwd;     /* kernel path: the app's bytes hermesd wrote upstream, as published */
	uint64_t kp_sent;    /* kernel path: the app's bytes the kernel carried */
	uint64_t kp_base_out;/* kernel path: the upstream's written count at the switch */
	uint64_t kp_redir;   /* kernel path: the upstream's bytes the kernel carried */
	uint64_t kp_trimmed; /* kernel path: repeated upstream bytes the verdict cut off (counted) */
	bool kp_broken;      /* kernel path: the verdict could not cut a repeat off: reset */
	struct splice_dir sd[2];
	bool tunnel_server;  /* accepted on the tunnel listener: answers CONNECT */
	bool udp;            /* ... a CONNECT-UDP request: its upstream is a UDP socket (ep_udp.c) */
	struct udp_tally udp_tally; /* udp: its datagrams, counted by its ep_udp */
	bool quiet;          /* a UDP tunnel flow's stream: no access line or /flows entry of its
			      * own (the UDP relay's flow stands for it) */
	struct hbuf head;    /* CONNECT request head (and bytes after it) */
	size_t head_len;     /* ... the head's own length, once parsed */
	bool tunnel_client;  /* reaches its target through a CONNECT to a route's peer */
	bool peer_connects;  /* ... whose upstream endpoint does the CONNECT itself (HTTP/2) */
	bool early;          /* ... and sends the client's first bytes before its answer */
	bool early_polling;  /* ... waiting for them (op_early: POLLIN on the client socket) */
	struct loop_op op_early;
	uint8_t action;      /* enum hermes_action that steered the flow */
	struct hermes_addr target; /* tunnel client: what the CONNECT asks for */
	char *ident;         /* Hermes-* identity header lines sent with the CONNECT */
	struct hbuf resp;    /* tunnel client over HTTP/1.1: the peer's answer (and bytes after it) */
	unsigned attempts;
	unsigned n_eps;
	unsigned cur_ep;     /* eps[] index of the current attempt */
	uint32_t tried_eps;  /* tunnel client: bit i when eps[i] was tried */
	struct hermes_addr eps[1 + CFG_MAX_ALTERNATES];
	struct hermes_addr peer; /* client address as accepted */
	uint64_t last_active_ms;
	uint64_t started_ms;
	uint64_t connect_start_ns; /* current attempt, for the connect-time histogram */
	uint64_t app_cookie;   /* the app socket's cookie (its hermes_flows key), 0 if unknown */
	uint32_t app_pid, app_uid, app_gid;
	struct __kernel_timespec ts;
	struct runtime *rt;      /* the runtime snapshot current at accept, held to the end */
	const struct cfg_peer *tp; /* tunnel client: the route's peers in rt (c->eps order) */
	uint64_t setup_start_ns; /* tunnel client: current attempt, for the setup histogram */
	uint64_t bytes[2];       /* bytes from each side, kept when its endpoint goes */
	/* access log (access.c) */
	const char *result;      /* why it ended when not ok or reset: "connect-failed", ... */
	uint16_t reply_status;   /* tunnel listener: the status answered to the CONNECT */
	bool inbound;            /* protected ingress: accepted on the inbound listener */
	char peer_comm[16];      /* tunnel listener: the app's comm as the previous hop said (Hermes-Comm) */
};

struct sess;

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
	int fd_limit;           /* RLIMIT_NOFILE */
	int fd_spare[FD_RESERVE]; /* the descriptor reserve: n_spare of fd_reserve held */
	int n_spare, fd_reserve;
	/* open descriptors other than streams' at fds_scan_ms (fdres_stream_room), -1 unknown */
	long fds_other;
	int fd_admin_lent;      /* reserve descriptors the admin port's accepts took, not back yet */
	bool fd_short;          /* an upstream socket took one of the reserve: rest the listeners */
	long fds_since_scan;    /* upstream sockets of http requests on streams opened since */
	uint64_t fds_scan_ms;
	int sfd;
	/* read as a struct signalfd_siginfo (its u64 fields): aligned whatever comes before */
	struct signalfd_siginfo_buf { uint8_t b[128]; } __attribute__((aligned(8))) sig;
	struct __kernel_timespec tick_ts;
	struct loop_op op_signal; /* read of the signalfd */
	struct loop_op op_tick;   /* 1 s housekeeping timer */
	struct list conns;       /* all live proxy connections (struct conn) */
	struct list admins;      /* admin.c's connections */
	struct list sessions;    /* tunnel connections, both ways (struct sess) */
	struct list sess_dirty;  /* sessions to flush after the current batch, the latest first */
	uint8_t *scratch;        /* SESS_RBUF bytes for decrypted input */
	uint64_t next_id;
	uint64_t now_ms;
	struct rxpool pool;      /* every relaying socket's receive buffers (ep_sock.c) */
	struct list sock_check;  /* bulk sockets whose recv is armed or checked before the next submit */
	bool ready;
	bool draining;
	uint64_t drain_deadline_ms;
	bool stop;
	int exit_code;
	struct loop_stats st;
	const char *config_path; /* for SIGHUP; NULL = embedded default */
	/* SIGHUP: the next snapshot is built in a thread (runtime.h rt_build_*); its eventfd
	 * is read while it runs, and a SIGHUP meanwhile asks for one more build after it */
	struct rt_build build;
	struct loop_op op_build;  /* read of build.efd (while build.running) */
	uint64_t build_count;     /* what that read receives */
	bool reload_again;
	/* configuration from etcd (reload.c, etcd_src.c); etcd NULL: the file alone */
	struct etcd_src *etcd;
	struct loop_op op_etcd;   /* read of the source's eventfd: a document waits */
	uint64_t etcd_count;
	bool etcd_again;          /* one came during a build: take it after */
	char *etcd_doc;           /* the document in use (a SIGHUP builds it again), its length and revision */
	size_t etcd_doc_len;
	int64_t etcd_rev;
	char *build_doc;          /* the build's document (NULL: the file), its length and revision */
	size_t build_doc_len;
	int64_t build_rev;
	bool build_watched;       /* ... handed over by the source (not a SIGHUP's) */
	char build_name[400];     /* what the build reads, for its log lines */
	struct http_state *http; /* the http action (http.c) */
	struct udp_relay *udp;   /* the UDP relay of the proxy action (udp.c); NULL when off */
	struct outlier_set tunnel_peers; /* failure memory of tunnel peers, by address (conn.c) */
	const struct sess_acceptor *sess_acc; /* where the tunnel listener's flows go (tunnel.c) */
};

#endif
