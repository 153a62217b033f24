/* http-t.h: types of the `http` action: a client connection and its current request
 * (struct hconn: http.c the connection, hreq.c the request, exch.c its attempts and
 * response) and its upstream transport, HTTP/1.1 connections pooled per endpoint, in
 * clear text or over TLS (hup.c, struct hup, struct hep, struct hup_tls). Functions live
 * in http.h, hreq.h and exch.h; the retry policy's types in retry-t.h. */
#ifndef HERMES_HTTP_T_H
#define HERMES_HTTP_T_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "buf.h"
#include "config-t.h"
#include "hermes/origdst.h"
#include "http1-t.h"
#include "life.h"
#include "list.h"
#include "loop-t.h"
#include "outlier.h"
#include "retry-t.h"
#include "tls.h"

/* An idle client or pooled upstream connection gives its fixed buffers' pages back at
 * the first tick after this long without an exchange (http.c, hup.c) */
#define HTTP_IDLE_RELEASE_MS 500

/* What a struct hup is: an HTTP/1.1 connection, an HTTP/2 connection (h2up.c, never
 * handed to an exchange), or one stream of an HTTP/2 connection (an exchange's attempt,
 * behind the same interface as an HTTP/1.1 connection). */
enum hup_kind { HUP_K_H1 = 0, HUP_K_H2, HUP_K_STREAM };

/* An upstream endpoint (IP:port): its pool of idle connections and its health. Shared
 * by every route naming it and by flows that reach it with no route; lives until exit. */
struct hep {
	struct list link;        /* lp->http->eps */
	struct hermes_addr addr;
	struct list idle;        /* idle pooled connections (struct hup pool; LIFO: the warmest first) */
	unsigned n_idle;
	unsigned active;         /* requests with an attempt on it now (least_request) */
	uint64_t down_until_ms;  /* failed recently (unhealthy_ms): tried after the others */
	struct outlier ol;       /* failed repeatedly: ejected, skipped while another is usable */
	struct list h2conns;     /* HTTP/2 connections to it (struct hup pool; h2up.c), the latest first */
};

enum hup_state {
	HUP_CONNECTING, /* connect in flight; writes wait in wbuf */
	HUP_OPEN,       /* serving its owner's exchange */
	HUP_IDLE,       /* in its endpoint's pool; a recv is armed to notice a close */
	HUP_CLOSING,    /* cancelled; freed when inflight reaches 0 */
};

/* TLS on an upstream connection (upstream_protocol h2, or h1 with upstream_tls): the
 * connection's rx carries ciphertext, which OpenSSL reads in place, and its ciphertext
 * goes to the connection's wq; an HTTP/1.1 connection keeps its plaintext here (HTTP/2
 * hands it to nghttp2 at once). */
struct hup_tls {
	struct tls_xprt x;
	char name[64];            /* the name verified: tls_name, an https:// target's IP, or
				   * "" (the chain alone) */
	uint64_t start_ms;        /* the handshake began (it has connect_timeout_ms) */
	struct rxbuf in;          /* HTTP/1.1: plaintext received, read by the exchange */
	struct hbuf out;          /* HTTP/1.1: plaintext written before the handshake ended */
};

/* One upstream HTTP/1.1 connection. */
struct hup {
	struct loop *loop;
	uint8_t kind;             /* enum hup_kind */
	void *h2;                 /* HUP_K_H2 / HUP_K_STREAM: h2up.c's state */
	struct hep *ep;
	struct hconn *x;          /* owner while HUP_CONNECTING/HUP_OPEN; NULL otherwise */
	struct list link;         /* all connections (struct http_state.hups) */
	struct list pool;         /* the endpoint's idle list (HTTP/1.1) or its h2conns (HTTP/2) */
	int fd;
	struct life life;         /* closing: HUP_CLOSING */
	enum hup_state state;
	bool reused;              /* taken from the pool for this exchange */
	bool recv_armed, send_inflight;
	struct loop_op op_connect; /* connect (HUP_CONNECTING) */
	struct loop_op op_recv;   /* recv of the response (`recv_armed`) */
	struct loop_op op_send;   /* send of the request (`send_inflight`) */
	struct loop_op op_aux;    /* cancels, the connect's linked timeout */
	bool eof;                 /* the upstream closed its side */
	bool cut;                 /* ... over TLS without close_notify: a close-delimited
				   * body may have been truncated */
	bool got_bytes;           /* received anything for the current exchange */
	struct hup_tls *tls;      /* NULL in clear text */
	struct rxbuf rx;
	size_t rx_touched;        /* of rx, counted in buf_held (buf_touch) */
	char *wbuf;               /* to send: wbuf[woff..wlen) */
	size_t wlen, woff, wcap;
	size_t w_touched;         /* of wbuf, counted in buf_held (buf_touch) */
	struct hbuf wq;           /* to send after wbuf, made while a send reads it (TLS
				   * ciphertext, HTTP/2 frames): swapped in, not copied */
	uint64_t idle_since_ms;
	struct sockaddr_storage dst_ss;
	struct __kernel_timespec ts;
};

enum hc_state {
	HC_HEAD,    /* reading a request head (idle keep-alive when nothing is buffered) */
	HC_BODY,    /* reading a request body whole before the first attempt (retriable) */
	HC_WAIT,    /* an attempt is connecting, sending or waiting for the response head */
	HC_BACKOFF, /* waiting before the next attempt */
	HC_RESP,    /* passing the response body on */
	HC_LINGER,  /* answered and shut down for writing: reading until the client closes */
	HC_CLOSING, /* cancelled; freed when inflight reaches 0 */
	HC_H2,      /* an HTTP/2 connection (h2dn.c): its streams are hconns of their own */
};

/* An earlier attempt that hedging keeps outstanding beside a later one: its per-try
 * timeout passed with hedge_on_per_try_timeout, so only its answer, its failure or the
 * overall timeout ends it. */
struct hc_hedged {
	struct hup *up;           /* NULL once the transport freed it without a word (exit) */
	struct hep *ep;
};

struct h2sess; /* h2dn.c: an HTTP/2 client connection's state */
struct hcache_req;
struct cache_store;
struct hdisk;
struct h2mux;

/* A connection of another module that carries http streams beside its own (the tunnel
 * listener's HTTP/2 sessions, sess_h2.c): h2dn.c serves those streams through this and
 * knows nothing else of it. */
struct h2dn_host {
	struct h2mux *mux;                 /* the connection's HTTP/2 session */
	void (*kick)(struct h2dn_host *h); /* frames to produce: the host flushes after this batch */
	struct hermes_addr peer;           /* the client's address */
	uint64_t id;                       /* the connection's, for log lines */
	const char (*sans)[128];           /* the client certificate's SANs (tunnel_access) */
	unsigned n_sans;
	struct h2sess *http;               /* h2dn's state, NULL until the first stream */
};

/* One client connection of the http action, with its current request (requests are
 * served one after the other; pipelined ones wait in rx). */
struct hconn {
	struct loop *loop;
	struct list link;         /* lp->http->conns */
	uint64_t id;
	int fd;                   /* -1 for an HTTP/2 stream */
	struct h2sess *h2p;       /* an HTTP/2 stream: its connection (NULL once that is gone) */
	void *h2;                 /* HC_H2 connection or stream: h2dn.c's state */
	struct life life;         /* closing: HC_CLOSING */
	enum hc_state state;
	bool recv_armed, send_inflight, timer_armed;
	struct loop_op op_recv;   /* recv from the client (`recv_armed`) */
	struct loop_op op_send;   /* send to the client (`send_inflight`) */
	struct loop_op op_timer;  /* per-try / overall timeout or backoff (`timer_armed`) */
	struct loop_op op_aux;    /* cancels, timer updates and removals */
	bool client_eof;
	bool fwd;                 /* an explicit proxy client (tunnel listener): every request
				   * names its target in absolute form */
	bool close_after;         /* close once this response is out */
	bool rst;                 /* close with a reset */
	bool crash_rst;           /* SO_LINGER 0 since a close-delimited body started (sock.h) */
	struct rxbuf rx;          /* from the client */
	size_t rx_touched;        /* of rx, counted in buf_held (buf_touch) */
	char *sbuf;               /* to the client: sbuf[soff..slen) */
	size_t slen, soff, scap;
	size_t s_touched;         /* of sbuf, counted in buf_held (buf_touch) */
	/* A cache hit's body sent from its stored entry instead of copied into sbuf
	 * (http_conn_out_entry): zp[0..zlen) goes out after sbuf[soff..zat) and before
	 * sbuf[zat..slen). zhold is a reference on the entry owning zp: a send in flight
	 * reads zp until it completes, so it is dropped when the last byte is sent or when
	 * x is freed, not when the request ends (a purge or replacement meanwhile frees the
	 * old body only then). */
	struct cache_entry *zhold;
	const char *zp;
	size_t zlen, zat;
	struct msghdr smsg;       /* the sendmsg in flight when zlen (its iovecs: siov) */
	struct iovec siov[3];
	struct hermes_addr peer, dst;
	uint64_t idle_since_ms, head_start_ms, linger_since_ms;
	uint64_t timer_at_ms;     /* expiry of the timer in flight */
	struct __kernel_timespec ts, ts_upd;

	/* the current request */
	bool in_request;          /* counted in active requests */
	bool kept_alive;          /* answered a request and kept open for the next (idle in HC_HEAD) */
	bool in_retry;            /* counted in active retries (the budget) */
	bool http10, keepalive, is_head, idempotent, has_body;
	bool buffered;            /* out holds the whole request: it can be sent again */
	bool streaming;           /* the body goes upstream as it arrives (not retriable) */
	bool req_done;            /* the whole request was read from the client */
	long long req_left;       /* Content-Length body bytes still to read (-1: none/chunked) */
	bool req_chunked;
	bool req_stream;          /* the body is an HTTP/2 client's DATA until END_STREAM:
				   * unframed bytes in rx (h2dn.c), chunked only for an
				   * HTTP/1.1 upstream */
	bool req_end_sent;        /* ... its end went to the current attempt */
	bool fwd_tls;             /* a forward to an https:// target */
	struct h1_chunked req_ck;
	size_t body_bytes;
	struct hbuf out;          /* the request as sent upstream: head (+ body when buffered) */
	char method[16];
	char path[96];            /* for log lines */
	/* routing and retries: the runtime snapshot current at request start, held until
	 * the request ends (a reload meanwhile does not free it), and its route in it */
	struct runtime *rt;       /* NULL outside a request */
	const struct cfg_http_route *r; /* NULL: the flow's original destination */
	const struct cfg_http_retry *rp; /* the route's policy, or the http section's */
	struct hep *eps[CFG_HTTP_MAX_EPS];
	unsigned n_eps;
	uint8_t balance;
	uint8_t proto;            /* enum cfg_http_proto of the route */
	const char *tls_name;     /* TLS upstreams: the route's tls_name, or fwd_name */
	char fwd_name[INET6_ADDRSTRLEN]; /* an https:// target's IP, the name its certificate must carry */
	unsigned rr;
	uint32_t tried;           /* endpoints (bits of eps[]) tried by this request */
	unsigned attempts, retries;
	uint64_t req_start_ms, req_start_ns, try_deadline_ms, all_deadline_ms, backoff_until_ms;
	uint64_t fd_wait_since_ms; /* waiting for a descriptor for an upstream connection */
	struct hep *ep;           /* endpoint of the current attempt */
	struct hup *up;           /* its connection */
	/* hedged attempts, outstanding beside the current one (each hedge is a retry, so
	 * there are never more than num_retries) */
	struct hc_hedged hedged[CFG_HTTP_MAX_RETRIES];
	unsigned n_hedged;
	bool up_hedged;           /* the current attempt was hedged before (its answer is a hedge's win) */
	/* the response */
	int status;
	bool no_body, resp_chunked, until_close, dechunk, resp_reusable, resp_done;
	bool resp_stream;         /* the upstream's body is DATA until its END_STREAM (HTTP/2
				   * without content-length): bytes with no framing to read */
	bool rechunk;             /* ... which an HTTP/1.1 client gets chunked */
	long long resp_left;
	struct h1_chunked resp_ck;
	/* access log (access.c) */
	struct access_app app;    /* the process behind the client connection, looked up once */
	struct hermes_addr last_ep; /* endpoint of the request's last attempt (family 0: none) */
	uint64_t req_bytes_in, req_bytes_out; /* from and to the client for this request */
	struct hcache_req *cache; /* the request's use of the HTTP cache (hcache.c), or NULL */
	uint64_t stall_at_ms;     /* hfill.c: the upstream's silence is checked then (0: never) */
	uint64_t stall_since_ms;  /* ... counted from then at the earliest */
};

/* The http action's state in the loop. */
struct http_state {
	struct list eps;          /* struct hep, the latest first */
	struct list hups;         /* struct hup */
	struct list conns;        /* struct hconn: client connections and HTTP/2 streams */
	struct retry_budget budget; /* active requests and retries (retry.c) */
	struct list h2up_dirty;   /* HTTP/2 upstream connections with frames to produce (h2up.c) */
	struct list h2dn_dirty;   /* HTTP/2 client connections with frames to produce (h2dn.c) */
	struct cache_store *cache; /* the HTTP cache (section cache; hcache.c), or NULL: off */
	struct list fills;        /* responses being stored as they arrive (hfill.c) */
	struct list revals;       /* background revalidations (stale-while-revalidate, hfill.c) */
	struct hdisk *disk;       /* the cache's disk tier (cache.disk_path; hdisk.c), or NULL */
};

#endif
