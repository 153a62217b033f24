/* sess-t.h: types of the tunnel connections (sess.c, the transport: a socket, TLS or
 * not; sess_h2.c, HTTP/2 CONNECT streams on it; sess_h1.c, HTTP/1.1 CONNECT over TLS)
 * and of the endpoint each flow on them holds (struct sstream). Functions in sess.h. */
#ifndef HERMES_SESS_T_H
#define HERMES_SESS_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "config-t.h"
#include "ep-t.h"
#include "h2mux-t.h"
#include "hermes/origdst.h"
#include "life.h"
#include "list.h"
#include "loop-t.h"
#include "http-t.h"
#include "tls.h"

enum sess_state {
	SESS_CONNECTING, /* client: TCP connect in flight */
	SESS_SNIFF,      /* server: peeking at the first bytes (TLS, the h2c preface or HTTP/1.1) */
	SESS_HANDSHAKE,  /* TLS handshake */
	SESS_OPEN,       /* HTTP/2 (or the one HTTP/1.1 flow) running */
	SESS_CLOSING,    /* waiting for in-flight ops, then freed */
};

#define SESS_RBUF (64 * 1024)

struct sess_client; /* a client address of the tunnel listener (sess.c) */
#define SESS_MAX_SANS 8


/* A flow's endpoint on a tunnel connection: an HTTP/2 stream, or the one flow of an
 * HTTP/1.1 CONNECT over TLS. Its owner (a struct conn) frees it; the session lets go of
 * it when the owner closes it or the session ends. */
struct sstream {
	struct ep e;
	struct h2mux_stream ms;    /* an HTTP/2 stream's nghttp2 user data (h2mux.c) */
	struct sess *s;            /* NULL once off its session */
	struct list link;          /* s->streams */
	struct list rx_ready;      /* on s->rx_ready: DATA came in this read, its owner not told yet */
	int32_t sid;               /* 0: not opened yet; -1: closed */
	bool client;               /* ours: a CONNECT to a peer */
	bool udp;                  /* client: CONNECT-UDP (RFC 9298), sent once the peer's SETTINGS came */
	bool started;              /* relaying: its DATA may go out */
	bool answered;             /* client: the peer's final answer came */
	bool deferred;             /* its data source waits for bytes */
	bool early;                /* client: DATA may go before the answer (tunnel.optimistic_data) */
	uint32_t early_sent;       /* client: bytes of e.src's first run sent before the answer,
				    * not consumed from it until the 200 (a refusal leaves them there) */
	int resp_status;           /* client: the peer's :status */
	struct hermes_addr target; /* client: what the CONNECT asks for */
	const char *ident;         /* client: Hermes-* lines to send with it (the owner's) */
	struct ep_ring rx;         /* bytes received, until passed on */
	struct hbuf head;          /* server: the request head as HTTP/1.1 lines */
	uint64_t held;             /* server: bytes of rx counted in s->held and *gauge */
	uint64_t *gauge;           /* server: the process's count of such bytes */
	uint64_t *fds;             /* server: the process's count of streams (fdres_stream_room) */
};

/* One TCP connection carrying tunnel flows, TLS or not, accepted on the tunnel listener
 * (server) or opened to a route's peer (client, pooled when HTTP/2). TLS runs on
 * tls.c's adapter over rbuf/ob: ciphertext moves with io_uring recv/send. */
struct sess {
	struct loop *loop;
	struct list link;           /* lp->sessions */
	struct list dirty;          /* on lp->sess_dirty: wants a flush after this batch */
	uint64_t id;
	int fd;
	enum sess_state state;
	bool server, tls;
	struct life life;           /* closing: SESS_CLOSING */
	int in_ng;                  /* inside an nghttp2 call: do not free */
	bool recv_armed, send_inflight, goaway, busy;
	bool settings_rx;           /* client: the peer's first SETTINGS came (extended CONNECT known) */
	struct loop_op op_connect;  /* client: connect to the peer (SESS_CONNECTING); server:
				     * the pause before peeking again at part of the h2c preface */
	struct __kernel_timespec sniff_ts;
	struct loop_op op_recv;     /* recv, MSG_PEEK while sniffing (`recv_armed`) */
	struct loop_op op_send;     /* send of ob[ob_send] (`send_inflight`) */
	struct loop_op op_aux;      /* cancels, the connect's linked timeout */
	struct loop_op op_poll;     /* while not read (ovl_paused): the client's hang-up (`poll_armed`) */
	bool h1;                    /* HTTP/1.1 CONNECT over TLS: one flow, no framing */
	bool close_when_sent;       /* h1: the flow ended; close once the output is out */
	bool tcp_eof, h1_eof;       /* h1: the peer's FIN was read; its end reached the flow */
	int close_err;              /* why it is closing (-errno), for its flows */
	struct tls_xprt x;          /* TLS (when `tls`): reads ciphertext straight from rbuf,
				     * writes it straight into the output */
	struct h2mux mux;           /* HTTP/2 (mux.ng NULL: not, or not yet) */
	uint8_t *rbuf;
	size_t rbuf_touched;        /* of rbuf, in pages a recv wrote (buf_touch): in buf_held */
	bool ovl_paused;            /* not read: among the heaviest over the memory budget (stage 1) */
	bool poll_armed, hung_up;   /* op_poll in flight; it saw the client hang up: read to the end */
	/* output: ob[ob_send] is on the wire (or goes next); while a send is in flight,
	 * new output fills the other one, so producing never waits for the socket */
	struct rxbuf ob[2];
	unsigned ob_send;
	struct list streams;        /* flows with a stream (or a pending one) here (struct sstream) */
	struct list rx_ready;       /* streams that received DATA in this read (sess_rx_ready) */
	/* HTTP/2 over TLS: where the plaintext read next stands in the frames (sess_h2_rx_track),
	 * so that a DATA frame's payload is decrypted straight into its stream's ring */
	uint32_t rx_pass;           /* bytes of the preface or of a frame not placed directly */
	uint32_t rx_data;           /* payload bytes of the DATA frame of rx_sid still to come */
	int32_t rx_sid;
	uint8_t rx_fh[9], rx_fh_len; /* a frame header read in part */
	unsigned n_flows;
	struct cfg_peer peer;       /* client: whom it reaches */
	struct hermes_addr paddr;   /* the peer's address */
	char sans[SESS_MAX_SANS][128]; /* server: the client certificate's DNS/URI SANs */
	struct h2dn_host host;      /* server: its non-CONNECT streams, explicit proxy requests
				     * of the http action, are h2dn.c's through this */
	unsigned n_sans;
	uint64_t started_ms, idle_since_ms;
	uint64_t bytes, bytes_mark; /* bytes sent + received; at the last tick */
	struct sockaddr_storage dst_ss;
	struct __kernel_timespec ts;
	/* server: limits of the tunnel listener (sess.c, sess_h2.c) */
	struct sess_client *client; /* its client address's entry (connections, connects) */
	uint32_t stream_win;        /* each stream's window: bytes held per stream at most */
	uint64_t held;              /* bytes its CONNECT streams hold (received, not passed on) */
	bool conn_full;             /* its window shut (counted once until it opens) */
};

#endif
