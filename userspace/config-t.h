/* config-t.h: types of hermesd's configuration (parsed from YAML by config.c,
 * or the embedded default). Functions live in config.h. */
#ifndef HERMES_CONFIG_T_H
#define HERMES_CONFIG_T_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hermes/policy.h"
#include "outlier.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* How log lines look (log.c). */
enum log_format {
	LOG_FMT_AUTO = 0, /* journal when stderr is journald's stream, else text */
	LOG_FMT_TEXT,     /* "2026-12-06T19:20:01.123Z info hermesd: message" */
	LOG_FMT_JSON,     /* one JSON object per line: time, level, msg */
	LOG_FMT_JOURNAL,  /* "<6>message": sd-daemon(3) priority prefixes, journald adds the time */
};

/* Who moves a proxied flow's bytes between hermesd's two sockets. */
enum relay_engine {
	RELAY_URING = 0, /* hermesd reads and writes with io_uring */
	RELAY_SPLICE,    /* sk_skb verdict redirects each socket's ingress to the other's egress */
	RELAY_AUTO,      /* chosen per flow (see conn.c: relay_pick) */
	RELAY_KERNEL,    /* the kernel carries the app's socket <-> upstream directly (kpath.c) */
};

/* An address with port, as written in config ("10.0.0.1:80", "[fd00::1]:80"). */
struct cfg_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* One policy rule: CIDR[:PORT] -> action. */
struct cfg_rule {
	struct hermes_policy_key key; /* key.proto: the rule's protocol (a `both` rule is two cfg_rules) */
	struct hermes_policy_val val;
	unsigned protos;   /* POL_PROTO_* bits as written (`protocol:`), 0 = not written (tcp) */
	int line; /* where it was written, for messages */
};

#define CFG_MAX_ALTERNATES 8
#define CFG_MAX_TC_IFACES 8

/* Alternate endpoints tried when the original destination does not answer. */
struct cfg_endpoint_set {
	struct cfg_sockaddr match;                        /* the dialled destination */
	struct cfg_sockaddr alternates[CFG_MAX_ALTERNATES];
	int n_alternates;
	int line;
};

#define CFG_MAX_ROUTE_MATCH 8
#define CFG_MAX_PEERS 8

/* How a flow travels to a tunnel peer. */
enum tunnel_proto {
	TPROTO_H2 = 0, /* HTTP/2 CONNECT streams on a pooled connection (RFC 9113 8.5) */
	TPROTO_H1,     /* one HTTP/1.1 CONNECT per flow */
	TPROTO_H2_POST,/* HTTP/2 POST to a path, the flow's bytes as bodies (no CONNECT) */
};

/* A tunnel peer (next hop) of a route. */
struct cfg_peer {
	struct cfg_sockaddr addr;
	uint8_t proto;   /* enum tunnel_proto */
	bool tls;        /* TLS 1.3 with our certificate (mTLS) */
	bool proto_set, tls_set; /* given in the file (else the route's defaults) */
	char name[64];   /* the name its certificate must carry (SNI too); "" = any from our CA */
	char path[128];  /* h2-post: the request path */
};

/* A route: destinations it carries and the tunnel peers (next hops) to reach them, in
 * order of preference; each hermesd decides its own next hop (hop by hop). */
struct cfg_route {
	char name[32];
	struct hermes_policy_key match[CFG_MAX_ROUTE_MATCH];
	int n_match;
	struct cfg_peer peers[CFG_MAX_PEERS];
	int n_peers;
	uint8_t proto;   /* for peers written as plain IP:PORT (default h2) */
	bool h2c;        /* protocol: h2c given: h2 without TLS */
	int line;
};

/* tls.ciphersuites' default: AES-128-GCM first, as it costs less CPU per byte than
 * AES-256-GCM (10 AES rounds, not 14: `openssl speed` 4.31 against 4.17 GB/s on a
 * VAES AMD EPYC, more apart without VAES), then the rest of OpenSSL 3's defaults,
 * whose own order puts AES-256-GCM first. */
#define CFG_TLS_DEFAULT_CIPHERSUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* Our certificate and the CA that vouches for peers (tunnels over TLS, both ways). */
struct cfg_tls {
	char cert[PATH_MAX];
	char key[PATH_MAX];
	char ca[PATH_MAX];
	char ciphersuites[160]; /* the TLS 1.3 suites offered and accepted, in our order of
				 * preference (the server picks by its own order) */
};

/* Who may use this hermesd's tunnel listener for what (first match wins; when rules
 * exist and none matches, the request is denied). */
struct cfg_access {
	struct hermes_policy_key match; /* destination */
	struct hermes_policy_key from;  /* requesting peer, if has_from */
	bool has_from, has_uid, allow;
	uint32_t uid;                   /* Hermes-Uid must equal, if has_uid */
	char comm[16];                  /* Hermes-Comm must equal, if non-empty */
	char san[128];                  /* the peer certificate must carry this SAN, if non-empty */
	int line;
};

#define CFG_MAX_PROTECT 64
#define CFG_MAX_ALLOW_FROM 64

/* Protected ingress (section `inbound`, or --inbound-listen): the sk_lookup program hands
 * inbound connections to these local ports to the inbound listener. */
struct cfg_inbound {
	bool on;                          /* the section exists (or --inbound-listen ADDR) */
	bool allow_init_netns;            /* attach even in the init network namespace */
	struct cfg_sockaddr listen;       /* IPv4 (0.0.0.0:15006); len 0 = off */
	struct cfg_sockaddr listen6;      /* IPv6; len 0 = off (default) */
	uint16_t protect[CFG_MAX_PROTECT]; /* host order */
	int n_protect;
	struct hermes_policy_key allow_from[CFG_MAX_ALLOW_FROM]; /* peers let through to the service */
	int n_allow_from;
};

/* The `http` action (http.c). Retry conditions, named as Envoy's retry_on. */
enum cfg_retry_on {
	RETRY_CONNECT_FAILURE = 1 << 0, /* the upstream connect failed or timed out */
	RETRY_RESET = 1 << 1,           /* reset, closed or per-try timeout before the response head */
	RETRY_REFUSED_STREAM = 1 << 2,  /* HTTP/2 REFUSED_STREAM (the h2 upstream; accepted for h1) */
	RETRY_5XX = 1 << 3,             /* any 5xx response, and per-try timeouts */
	RETRY_GATEWAY_ERROR = 1 << 4,   /* 502, 503, 504, and per-try timeouts */
	RETRY_STATUS = 1 << 5,          /* a status in retriable_status_codes */
};

#define CFG_HTTP_MAX_CODES 16
#define CFG_HTTP_MAX_RETRIES 10
#define CFG_HTTP_MAX_EPS 16
#define CFG_HTTP_MAX_HDRS 8

struct cfg_http_retry {
	uint32_t on;                  /* enum cfg_retry_on bits */
	uint16_t codes[CFG_HTTP_MAX_CODES];
	int n_codes;
	uint32_t num_retries;         /* retries after the first attempt, <= CFG_HTTP_MAX_RETRIES */
	uint32_t per_try_timeout_ms;  /* attempt start to response head; 0 = none */
	bool hedge_on_per_try_timeout;/* a per-try timeout leaves the attempt outstanding and
				       * starts the next beside it (Envoy's hedging); the first
				       * usable response head wins */
	uint32_t timeout_ms;          /* request start to response head, all attempts; 0 = none */
	uint32_t backoff_base_ms;     /* retry n waits random(0, min(max, base * 2^(n-1))) */
	uint32_t backoff_max_ms;
	uint32_t budget_percent;      /* retries in progress <= this % of active requests ... */
	uint32_t budget_min_retries;  /* ... or this many, whichever is more */
	uint32_t max_buffered_body;   /* bodies up to this size are read whole first: retriable */
};

struct cfg_kv {
	char name[64];
	char value[192];
};

enum cfg_balance { BALANCE_ROUND_ROBIN = 0, BALANCE_LEAST_REQUEST };

/* How an http route speaks to its endpoints (upstream_protocol). */
enum cfg_http_proto {
	HPROTO_H1 = 0, /* HTTP/1.1, pooled keep-alive connections (hup.c) */
	HPROTO_H2C,    /* HTTP/2 in clear text with prior knowledge, streams multiplexed (h2up.c) */
	HPROTO_H2,     /* the same over TLS 1.3 (ALPN h2), the origin verified against tls.ca */
	HPROTO_H1_TLS, /* HTTP/1.1 over TLS 1.3 (ALPN http/1.1), pooled like HPROTO_H1, verified
			* like HPROTO_H2 (upstream_protocol h1 with upstream_tls: true) */
};

/* An http route's `cache:` (false, true or a mapping of these keys): the HTTP cache for
 * the requests it routes, what it does not give taken from the section `cache` when the
 * file is loaded (cfghttp_resolve); `given` says which keys it gave (CFG_RCACHE_*). */
enum { CFG_RCACHE_SET = 1u << 0, CFG_RCACHE_ENABLED = 1u << 1, CFG_RCACHE_MAX_OBJECT = 1u << 2 };
struct cfg_route_cache {
	bool enabled;                 /* look up and store (default: cache.enabled) */
	bool heuristic;               /* heuristic freshness (RFC 9111 4.2.2) for responses
				       * without an explicit lifetime (default true) */
	bool store_set_cookie;        /* store responses that carry Set-Cookie (default true,
				       * as RFC 9111 allows) */
	uint32_t max_object_kb;       /* a larger response is passed on, not stored (default
				       * and at most: cache.max_object_kb, the store's limit) */
	uint32_t default_ttl_s;       /* the lifetime of a heuristically cacheable response
				       * without an explicit one, instead of 10% of its age
				       * since Last-Modified (0: that) */
	uint8_t given;
};

/* An HTTP route: requests matching host, path prefix and headers (all optional) go to
 * one of its endpoints. The first matching route wins. */
struct cfg_http_route {
	char name[32];
	char host[128];               /* "" = any; without a port it matches any port */
	char path_prefix[128];        /* "" = any */
	struct cfg_kv match_headers[CFG_HTTP_MAX_HDRS]; /* exact values, names case-insensitive */
	int n_match_headers;
	struct cfg_sockaddr eps[CFG_HTTP_MAX_EPS];
	int n_eps;
	uint8_t balance;              /* enum cfg_balance */
	uint8_t proto;                /* enum cfg_http_proto */
	bool tls, tls_set;            /* TLS to the endpoints (resolved at load from
				       * upstream_tls and the protocol), and whether
				       * upstream_tls was given */
	bool upstream_proxy;          /* the endpoints are HTTP proxies: the target goes to them
				       * in absolute form (HTTP/1.1) or as :scheme and
				       * :authority (HTTP/2), as to a parent proxy */
	char tls_name[64];            /* TLS upstreams: SNI and the name the origin's certificate
				       * must carry (an IP address: an IP SAN, no SNI); "" = no
				       * SNI, the certificate chain alone is checked */
	bool has_retry;
	struct cfg_http_retry retry;
	struct cfg_kv add[CFG_HTTP_MAX_HDRS];
	int n_add;
	char remove[CFG_HTTP_MAX_HDRS][64];
	int n_remove;
	unsigned rr;                  /* runtime: next round-robin position */
	int line;
	struct cfg_route_cache cache; /* its `cache:`, resolved at load */
};

/* Section `http`: limits and defaults of the http action. */
struct cfg_http {
	uint32_t max_head;            /* request/response head bytes (431 above) */
	uint32_t max_line;            /* request line (414) and header line bytes (431) */
	uint32_t max_headers;         /* header fields (431 above), at most 64 */
	uint32_t max_idle;            /* idle pooled connections kept per endpoint */
	uint32_t pool_idle_timeout_ms;/* a pooled connection idle this long is closed */
	uint32_t keepalive_timeout_ms;/* a client connection idle between requests this long is closed */
	uint32_t head_timeout_ms;     /* a request head not complete this long after its first byte: 408 */
	uint32_t unhealthy_ms;        /* an endpoint that failed is avoided this long */
	bool via;                     /* add "Via: 1.1 hermes" both ways */
	struct cfg_http_retry retry;  /* for requests no route matches (default: no retries) */
};

/* Section `http2`: what a peer of an HTTP/2 server session (the http action's h2c
 * clients, the tunnel listener's h2 and h2c sessions) may make hermesd hold or do, and
 * how long a session with no stream stays. h2mux.c enforces them; a session takes them
 * when it starts (idle_timeout_ms: at each tick). */
struct cfg_http2 {
	uint32_t max_header_list;     /* decoded bytes of one header or trailer section (name + value + 32 per field) */
	uint32_t max_header_fields;   /* fields of one section */
	uint32_t max_continuations;   /* CONTINUATION frames after one HEADERS */
	uint32_t max_streams;         /* SETTINGS_MAX_CONCURRENT_STREAMS */
	uint32_t reset_burst;         /* RST_STREAM frames a client may send at once ... */
	uint32_t reset_rate;          /* ... and per second after that (token bucket) */
	uint32_t max_pending_acks;    /* SETTINGS/PING acknowledgements queued for a peer that does not read */
	uint32_t idle_timeout_ms;     /* a session with no open stream this long: GOAWAY, closed */
};

/* Section `cache`: the http action's HTTP cache (hcache.c: the store made at start). */
struct cfg_cache {
	bool enabled;                 /* answer from and store into the cache */
	uint32_t max_size_mb;         /* the store's bytes (heads, bodies, keys), LRU evicted */
	uint32_t max_object_kb;       /* a larger response is passed on, not stored */
	uint32_t fill_stall_ms;       /* a response being stored whose upstream sends nothing
				       * this long is asked again for the rest (Range) */
	/* the disk tier: every stored response also written to files in this directory
	 * ("": memory only), read back on a memory miss and after a restart (hdisk.c) */
	char disk_path[256];
	uint32_t disk_max_size_mb;    /* the files' bytes, LRU evicted */
};

/* Section `udp`: the relay of UDP flows the policy proxies (udp.c). */
struct cfg_udp {
	bool relay;                /* bind the UDP relay (the outbound listener's port, on UDP) */
	bool ipv6;                 /* its IPv6 socket too, and the local route of its slot addresses */
	bool kernel_path;          /* proxy flows go direct from the app's socket, marked and counted
				    * in BPF (udp_kpath.c); tunnel flows keep the relay */
	uint32_t idle_timeout_ms;  /* a flow with no datagram either way this long is forgotten */
	uint32_t max_flows;        /* flows held at once; a new one over it is dropped (counted) */
	uint32_t max_datagram;     /* bytes of the largest datagram relayed; a larger one is dropped (counted) */
	uint32_t tunnel_queue_bytes; /* tunnel action: capsules waiting for a flow's stream (its answer, its
				      * window); a datagram over it is dropped (counted queue_full) */
};

/* Section `overload`: the global memory budget (overload.c). Over a share of
 * max_buffer_mb of buffer memory held, hermesd sheds load in stages; each stage is left
 * once the bytes fell hysteresis_pct of the budget below its threshold. */
struct cfg_overload {
	uint32_t max_buffer_mb;       /* the budget; 0: no budget, nothing is shed */
	uint32_t stop_reading_pct;    /* stage 1: the heaviest connections are not read */
	uint32_t refuse_streams_pct;  /* stage 2: new streams refused, new http requests 503 */
	uint32_t refuse_conns_pct;    /* stage 3: new connections refused */
	uint32_t hysteresis_pct;
};

#define CFG_MAX_KEY_LINES 120

/* Limits of the file itself, checked while it is read and parsed so that a hostile or
 * broken file fails at once, naming the line, instead of being built whole first (150,000
 * routes took 251 MB before their count was checked). The lists of the top level have
 * their own maxima (CFG_MAX_ROUTES, ...: counted as their entries arrive). */
#define CFG_MAX_FILE_BYTES (4u << 20) /* hermes.yaml at every list's maximum is about 2 MiB */
#define CFG_MAX_DEPTH 64              /* nesting; hermes.yaml's keys nest 5 levels at most */
#define CFG_MAX_NODES 262144          /* keys, values and entries in all (the lists at their
				       * maxima hold 208,000); ~170 bytes each in libyaml */
#define CFG_MAX_ROUTES 256
#define CFG_MAX_ENDPOINTS 4096        /* each is compared with every other (duplicates) */
#define CFG_MAX_ACCESS 1024
#define CFG_HTTP_MAX_ROUTES 256

/* What a SIGHUP does with a key of the file (its mark in the key tables: config.c's top
 * level, cfg_net.c's and cfg_http.c's sections). */
enum cfg_apply {
	CFG_APPLY_NONE = 0, /* a section whose keys carry their own marks (never a leaf key) */
	CFG_APPLY_RELOAD,   /* the file's new value takes effect on SIGHUP */
	CFG_APPLY_RESTART,  /* read at start only: a SIGHUP keeps the running value and warns */
};

/* What config_reload_merge() found: keys whose new value waits for a restart, and keys
 * a command-line option holds (their new value in the file is not applied either). */
struct cfg_reload_report {
	char restart[512]; /* "listeners.admin, mark" */
	int n_restart;
	char cmdline[256]; /* "log_level" */
	int n_cmdline;
};

/* Configuration from etcd (etcd_src.c): where the node's document is, and how to reach
 * the cluster; n_endpoints 0: off (the file alone). Read at start only. */
#define CFG_ETCD_MAX_ENDPOINTS 8
struct cfg_etcd {
	char endpoints[CFG_ETCD_MAX_ENDPOINTS][256]; /* http(s)://HOST:PORT */
	int n_endpoints;
	char prefix[256];          /* the overlay's keys, e.g. /hermes/lab */
	char node[64];             /* this node's name: its document is PREFIX/nodes/NODE */
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX]; /* TLS client certificate to etcd; "" = none */
	char state_file[PATH_MAX]; /* the last applied document, read when etcd cannot be reached */
};

struct hermes_config {
	char source[PATH_MAX];      /* file name, or "<embedded default>" */
	char cgroup[PATH_MAX];      /* cgroup v2 directory to steer */
	char pin_root[PATH_MAX];
	char user[64];              /* switch to this user after set-up; "" = stay */
	enum log_level log_level;
	enum log_format log_format;  /* auto: journal when stderr is journald's, else text */
	enum log_level log_bpf;      /* libbpf's messages at this level and above (default warn) */
	char access_log[PATH_MAX];   /* "off", "stderr" (default) or an absolute file path */
	struct cfg_sockaddr listen;  /* outbound transparent listener, IPv4 (127.0.0.1:15001) */
	struct cfg_sockaddr listen6; /* outbound transparent listener, IPv6 ([::1]:15001); len 0 = off */
	struct cfg_sockaddr admin;   /* admin HTTP (127.0.0.1:15000); len 0 = off */
	struct cfg_sockaddr metrics; /* metrics-only HTTP (/metrics, /ready); len 0 = off (default) */
	uint32_t admin_timeout_ms;   /* an admin or metrics client's whole exchange (request read, answer sent) */
	struct cfg_sockaddr tunnel;  /* HTTP CONNECT tunnel listener (:15008); len 0 = off (default) */
	struct cfg_tls tls;          /* cert/key/ca for tunnels over TLS; "" = none */
	uint32_t h2_max_streams;     /* streams we open on one pooled connection before opening another */
	char tunnel_post_path[128];  /* the tunnel listener takes POST to this path as CONNECT (h2-post) */
	bool tunnel_allow_cleartext; /* with tls set, the tunnel listener still serves clear text
				      * (HTTP/1.1 CONNECT, h2c, proxy requests); refused by default */
	uint32_t h2_pool_mbps;       /* a pooled connection busier than this (Mbit/s) gets no new flows; 0 = no limit */
	uint32_t h2_stream_window;   /* our receive window per stream on a pooled connection (bytes) */
	uint32_t h2_conn_window;     /* ... and per pooled connection */
	/* the tunnel listener against abuse (authz.c, tunnel.c, sess.c, sess_h2.c) */
	uint32_t tunnel_max_hops;         /* a CONNECT whose Hermes-Hops is this or more gets 508 */
	uint32_t tunnel_stream_buffer;    /* bytes held per CONNECT stream toward its target (its window) */
	uint32_t tunnel_conn_buffer;      /* bytes held per HTTP/2 connection (its window) */
	uint32_t tunnel_total_buffer_mb;  /* held on all of them together: over it, new streams are refused */
	uint32_t tunnel_connect_rate;     /* upstream connects per client address per second; 0 = no limit */
	uint32_t tunnel_reset_rate;       /* CONNECT streams a client address resets before they are up, per
					   * second: over it, its CONNECTs are refused; 0 = no limit */
	uint32_t tunnel_client_conns;     /* connections per client address; 0 = no limit */
	uint32_t tunnel_head_timeout_ms; /* tunnel listener: for the TLS handshake / protocol sniff
					  * from accept, then for an HTTP/1.1 head (408); slowloris */
	uint32_t tunnel_fd_headroom_pct;  /* share of RLIMIT_NOFILE (%) new HTTP/2 streams may not take */
	uint32_t tunnel_udp_max_dgram;    /* CONNECT-UDP: the largest UDP payload relayed, either way */
	uint32_t tunnel_udp_idle_ms;      /* CONNECT-UDP: a stream this long without a datagram closes */
	bool tunnel_optimistic;           /* tunnel client, HTTP/2 peers: first bytes ride with the CONNECT */
	struct cfg_inbound inbound;  /* protected ingress; off by default */
	uint32_t mark;               /* SO_MARK of hermesd's own sockets */

	/* proxy action */
	uint32_t connect_timeout_ms; /* per attempt */
	uint32_t connect_attempts;   /* total attempts, >= 1 */
	uint32_t backoff_base_ms;    /* delay before retry n is min(max, base * 2^(n-1)) */
	uint32_t backoff_max_ms;
	uint32_t idle_timeout_ms;    /* relay with no byte either way for this long is closed */
	uint32_t drain_timeout_ms;   /* on SIGTERM, wait this long for flows to end */
	enum relay_engine relay;
	uint32_t relay_buffers;      /* the loop's pool of 16 KiB receive buffers (rxpool.h) */
	uint32_t buffers_per_socket; /* the most of them one relaying socket holds */
	bool sk_msg;                 /* sk_msg on the app <-> hermesd loopback hop */
	bool flow_table;             /* keep the kernel flow table (hermes_flows) */
	bool detach_on_exit;         /* a stop detaches the links (labs); by default they stay */
	char tc_ifaces[CFG_MAX_TC_IFACES][16]; /* interfaces whose packets TC counts */
	int n_tc_ifaces;

	struct cfg_rule *rules;
	int n_rules;
	struct cfg_endpoint_set *endpoints;
	int n_endpoints;
	struct cfg_route *routes;
	int n_routes;
	struct cfg_access *access;
	int n_access;
	struct cfg_http http;
	struct cfg_http2 http2;
	struct outlier_cfg outlier;  /* failure memory of tunnel peers and http endpoints */
	struct cfg_etcd etcd;        /* the reload keys from etcd instead of the file */
	struct cfg_overload overload;
	struct cfg_udp udp;
	struct cfg_cache cache;
	struct cfg_http_route *http_routes;
	int n_http_routes;

	/* where the file set each key of the top level and of its sections ("tls.cert"), for
	 * messages about values that parse but do not work (validate.c) */
	struct cfg_key_line { char key[64]; int line; } key_lines[CFG_MAX_KEY_LINES];
	int n_key_lines;
};

#endif
