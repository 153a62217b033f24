/* stats-t.h: hermesd's statistics, each declared once. One line of HERMES_STATS names a
 * field of struct loop_stats (what the code bumps: lp->st.FIELD++) together with the
 * /metrics family it is shown as: name, type, help text and labels. Adding a counter is
 * one line here and the ++ where it happens; admin.c prints the list in its order and
 * stats.c describes it for tests/unit/test_stats.c, which checks the names. */
#ifndef HERMES_STATS_T_H
#define HERMES_STATS_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

/* A Prometheus histogram with fixed upper bounds (the last bucket is +Inf). */
#define HIST_MAX_BUCKETS 16
struct histogram {
	const double *bounds;   /* upper bounds, ascending */
	unsigned n_bounds;
	uint64_t counts[HIST_MAX_BUCKETS]; /* per bucket, not cumulative; [n_bounds] = +Inf */
	double sum;
	uint64_t count;
};

/* How a tunnel client's attempt at a route's peer ended: the index of its counter under
 * the peer's name in tunnel_peer_results (its result label in HERMES_STATS). */
enum peer_result { PEER_ESTABLISHED, PEER_REFUSED, PEER_DENIED, PEER_TIMEOUT, PEER_RESET, PEER_ERROR, PEER_NRESULTS };

/* Why the tunnel listener refused a target (tunnel_target_refused) and which of its limits
 * acted (tunnel_limited): indexes of their label values in HERMES_STATS. */
enum tunnel_refusal { TUNNEL_REFUSED_SELF, TUNNEL_REFUSED_LOOPBACK, TUNNEL_NREFUSALS };
enum tunnel_limit {
	TUNNEL_LIMIT_STREAM_BUFFER,
	TUNNEL_LIMIT_CONN_BUFFER,
	TUNNEL_LIMIT_TOTAL_BUFFER,
	TUNNEL_LIMIT_CONNECT_RATE,
	TUNNEL_LIMIT_RESET_RATE,
	TUNNEL_LIMIT_CLIENT_CONNS,
	TUNNEL_NLIMITS
};
/* What became of a tunnel client's optimistic data (tunnel_optimistic's labels). */
enum tunnel_optimistic { TUNNEL_OPT_SENT, TUNNEL_OPT_REFUSED, TUNNEL_OPT_RESET, TUNNEL_NOPT };
/* CONNECT-UDP on the tunnel listener (ep_udp.c): the direction of a datagram, and why one
 * was dropped (tudp_drops' labels). */
enum tudp_dir { TUDP_TO_TARGET, TUDP_TO_CLIENT, TUDP_NDIRS };
enum tudp_drop { TUDP_DROP_OVERSIZE, TUDP_DROP_CONTEXT, TUDP_DROP_SEND, TUDP_DROP_BUFFER, TUDP_NDROPS };
/* CONNECT-UDP on the tunnel client's side (the tunnel action for UDP, udp_tun.c): its
 * streams' outcome; its datagrams and drops use tudp_dir and tudp_drop (the app's side
 * in the place of the target's), and one reason more. */
enum tudpc_stream { TUDPC_OPENED, TUDPC_REFUSED, TUDPC_NSTREAMS };
#define TUDPC_DROP_NO_STREAM TUDP_NDROPS /* the flow's stream failed: datagrams until the next try */
#define TUDPC_NDROPS (TUDP_NDROPS + 1)

/* The UDP relay (udp.c): directions of udp_datagrams/udp_bytes, reasons of udp_drops. */
enum udp_dir { UDP_DIR_OUT, UDP_DIR_IN, UDP_NDIRS };
enum udp_drop {
	UDP_DROP_TOO_BIG,      /* over udp.max_datagram: never truncated */
	UDP_DROP_UNKNOWN_SLOT, /* sent to a slot address the map holds no flow for */
	UDP_DROP_MAX_FLOWS,    /* a new flow over udp.max_flows */
	UDP_DROP_SOCKET,       /* no upstream socket for a new flow */
	UDP_DROP_SEND,         /* the send failed (buffer full, unreachable) */
	UDP_DROP_ICMP,         /* an ICMP error read from an upstream socket */
	UDP_DROP_NOT_SLOT,     /* reached the relay port at an address that is not a slot's */
	UDP_DROP_NOT_OWNER,    /* a new flow's sender is not the socket its slot was given to */
	UDP_NDROPS
};

/* The families of /metrics, in the order they are printed. TYPE is the bare word counter
 * or gauge. The kinds of line:
 *   VALUE(field, TYPE, name, help)          uint64_t field: one sample
 *   PAIR(TYPE, name, help, label, f0, v0, f1, v1)
 *                                           uint64_t f0, f1: samples {label="v0"}, {label="v1"}
 *   ARRAY(field, TYPE, name, help, label, values...)
 *                                           uint64_t field[N], N values: field[i] is {label="values[i]"}
 *   REAL(field, TYPE, name, help)           double field: one sample
 *   HIST(field, name, help)                 struct histogram field (bounds set where it is filled)
 *   LABELS(field, TYPE, name, help, label, label2, values...)
 *                                           struct mlabels field whose names come from the config
 *                                           (metrics_config): {label="NAME",label2="values[i]"}
 *   SCRAPE(id, TYPE, name, help)            no field: computed when scraped, by admin.c's scrape_ID
 *                                           (kernel maps, /proc, live sessions, links) */
#define HERMES_STATS(VALUE, PAIR, ARRAY, REAL, HIST, LABELS, SCRAPE) \
	VALUE(accepted, counter, "hermes_connections_accepted_total", "Steered connections accepted by hermesd.") \
	VALUE(accept_pauses, counter, "hermes_accept_pauses_total", \
	      "Times a listener stopped accepting for 100 ms: out of file descriptors (EMFILE/ENFILE) or memory.") \
	VALUE(fd_reserve_used, counter, "hermes_descriptor_reserve_used_total", \
	      "Upstream sockets opened on a descriptor from hermesd's reserve, its others used up (accepting rests meanwhile).") \
	VALUE(upstream_fd_failures, counter, "hermes_upstream_descriptor_failures_total", \
	      "Connect attempts of proxy or tunnel flows that found no descriptor for their upstream socket, the reserve used up too.") \
	VALUE(active, gauge, "hermes_connections_active", "Steered connections open now.") \
	VALUE(closed, counter, "hermes_connections_closed_total", "Steered connections finished.") \
	VALUE(connect_attempts, counter, "hermes_upstream_connect_attempts_total", "Upstream connect attempts.") \
	VALUE(connect_failures, counter, "hermes_upstream_connect_failures_total", \
	      "Upstream connect attempts that failed.") \
	VALUE(connect_retries, counter, "hermes_upstream_connect_retries_total", \
	      "Upstream connects retried after a failure.") \
	VALUE(upstream_unreachable, counter, "hermes_upstream_unreachable_total", \
	      "Connections reset because every attempt failed.") \
	VALUE(origdst_missing, counter, "hermes_origdst_missing_total", \
	      "Accepted connections with no known original destination.") \
	VALUE(idle_timeouts, counter, "hermes_idle_timeouts_total", "Flows closed by the idle timeout.") \
	VALUE(resets, counter, "hermes_resets_total", "Flows ended by a reset on either side.") \
	/* finished flows; admin.c adds the live ones' bytes when scraped */ \
	PAIR(counter, "hermes_bytes_total", "Bytes relayed by hermesd.", "direction", \
	     bytes_c2u, "client_to_upstream", bytes_u2c, "upstream_to_client") \
	SCRAPE(bpf_decisions, counter, "hermes_bpf_decisions_total", "Connect decisions taken in BPF, by action.") \
	SCRAPE(sk_msg_sockets, counter, "hermes_sk_msg_sockets_total", \
	       "Sockets of the app <-> hermesd hop added to the sk_msg sockhash.") \
	SCRAPE(sk_msg_socket_failures, counter, "hermes_sk_msg_socket_failures_total", \
	       "Sockets that could not be added to the sk_msg sockhash (they use the normal stack).") \
	SCRAPE(sk_msg_path, counter, "hermes_sk_msg_path_total", "Path chosen by a hop socket's first send; kernel: app sockets whose sends went to the upstream's egress (relay kernel).") \
	SCRAPE(bpf_fail_closed, counter, "hermes_bpf_fail_closed_total", \
	       "Connects denied in BPF because the policy held a value hermes does not know, by reason.") \
	PAIR(counter, "hermes_flows_total", "Relayed flows by engine.", "engine", \
	     flows_uring, "uring", flows_splice, "splice") \
	VALUE(tunnel_requests, counter, "hermes_tunnel_requests_total", "Connections accepted on the tunnel listener.") \
	/* in the order of tunnel.c's count_error */ \
	ARRAY(tunnel_errors, counter, "hermes_tunnel_errors_total", \
	      "CONNECT requests answered with an error, by status.", "status", \
	      "400", "403", "405", "431", "502", "504", "429", "508") \
	/* index: enum stats_slow */ \
	ARRAY(slow_clients, counter, "hermes_slow_client_timeouts_total", \
	      "Clients closed because their request (head, TLS handshake) did not arrive in time " \
	      "(http.head_timeout_ms, tunnel.head_timeout_ms, listeners.admin_timeout_ms), by listener.", \
	      "listener", "http", "tunnel", "admin", "metrics") \
	VALUE(inbound_refused, counter, "hermes_inbound_refused_total", \
	      "Connections to protected ports reset by the inbound listener (peer not allowed).") \
	VALUE(inbound_proxied, counter, "hermes_inbound_proxied_total", \
	      "Connections to protected ports from inbound.allow_from peers, proxied to the service.") \
	VALUE(splice_fallbacks, counter, "hermes_splice_fallbacks_total", \
	      "Flows meant for splice relayed with io_uring instead.") \
	VALUE(flows_kpath, counter, "hermes_kernel_path_flows_total", \
	      "Proxied flows put on the kernel path (relay kernel; also counted in hermes_flows_total as uring, " \
	      "whose relay carries their bytes from before the switch and their ends).") \
	VALUE(kpath_held, counter, "hermes_kernel_path_held_total", \
	      "Kernel-path flows whose upstream bytes hermesd relays from some point on (the app did not keep up " \
	      "and its socket's backlog passed its limit, or the app's socket was gone).") \
	VALUE(kpath_repeats, counter, "hermes_kernel_path_repeated_bytes_total", \
	      "Bytes the upstream sent again (a retransmitted skb overlapping bytes already received) that " \
	      "the kernel path's verdict cut off before they reached the app.") \
	VALUE(kpath_broken, counter, "hermes_kernel_path_broken_total", \
	      "Kernel-path flows reset because the verdict met upstream bytes it could not pass on exactly " \
	      "(a repeat it could not cut off).") \
	VALUE(kpath_fallbacks, counter, "hermes_kernel_path_fallbacks_total", \
	      "Flows meant for the kernel path relayed with io_uring alone (the app's socket was not in " \
	      "hermes_sockhash, or a map was full).") \
	SCRAPE(tunnel_sessions, gauge, "hermes_tunnel_sessions", "HTTP/2 tunnel connections open, by direction.") \
	VALUE(sess_opened, counter, "hermes_tunnel_sessions_opened_total", \
	      "HTTP/2 tunnel connections that reached HTTP/2, both directions.") \
	VALUE(sess_failed, counter, "hermes_tunnel_connect_failures_total", \
	      "Tunnel connections to peers that could not connect.") \
	VALUE(sess_tls_failed, counter, "hermes_tunnel_tls_failures_total", \
	      "TLS handshakes that failed (bad, unknown or expired certificates, no ALPN h2).") \
	VALUE(sess_rbuf_released, counter, "hermes_tunnel_idle_releases_total", \
	      "Tunnel connections that gave their receive buffer's pages back after a second without a byte " \
	      "either way (they come back with the next read).") \
	VALUE(h2_streams, counter, "hermes_tunnel_streams_total", "HTTP/2 tunnel streams opened, both directions.") \
	VALUE(h2_resets, counter, "hermes_tunnel_stream_resets_total", \
	      "Tunnel flows ended by a reset of their stream or connection.") \
	/* index: enum tunnel_optimistic */ \
	ARRAY(tunnel_optimistic, counter, "hermes_tunnel_optimistic_total", \
	      "Tunnel client, HTTP/2 peers (tunnel.optimistic_data): CONNECT streams that sent the flow's first " \
	      "bytes before the peer's answer (sent); of those, refused by the peer (an answer other than 200 or " \
	      "REFUSED_STREAM: the peer dropped the bytes, the flow tried its next peer with them or was reset) " \
	      "and reset (no answer: the stream or connection was reset or timed out, the bytes may have reached " \
	      "the target, so the flow was reset, not tried elsewhere).", "outcome", "sent", "refused", "reset") \
	/* index: 0 in place, 1 copied */ \
	ARRAY(tunnel_rx_data, counter, "hermes_tunnel_data_received_bytes_total", \
	      "DATA bytes received on HTTP/2 tunnel streams, by how they reached the stream's buffer: " \
	      "decrypted straight into it (TLS: the records of a DATA frame after the one with its header), " \
	      "or copied (the rest: h2c, a frame's first record, padded DATA, a buffer with no room at its end).", \
	      "path", "in_place", "copied") \
	VALUE(udp_streams, counter, "hermes_tunnel_udp_streams_total", \
	      "CONNECT-UDP requests (RFC 9298) the tunnel listener accepted (200 over HTTP/2, 101 over HTTP/1.1).") \
	/* index: enum tudp_dir */ \
	ARRAY(tudp_dgrams, counter, "hermes_tunnel_udp_datagrams_total", \
	      "CONNECT-UDP datagrams relayed, by direction: to_target (DATAGRAM capsules sent as UDP), " \
	      "to_client (UDP received, sent as DATAGRAM capsules).", "direction", "to_target", "to_client") \
	ARRAY(tudp_bytes, counter, "hermes_tunnel_udp_bytes_total", \
	      "CONNECT-UDP payload bytes relayed (UDP payloads, without capsule heads), by direction.", \
	      "direction", "to_target", "to_client") \
	/* index: enum tudp_drop */ \
	ARRAY(tudp_drops, counter, "hermes_tunnel_udp_drops_total", \
	      "CONNECT-UDP datagrams dropped, by reason: oversize (over tunnel.udp_max_datagram_bytes, either " \
	      "way), context (a context ID other than 0), send_error (the UDP send failed: a full socket buffer, an " \
	      "ICMP error), buffer_full (no room toward the client).", \
	      "reason", "oversize", "context", "send_error", "buffer_full") \
	VALUE(udp_capsules_skipped, counter, "hermes_tunnel_udp_capsules_skipped_total", \
	      "Capsules of unknown types skipped on CONNECT-UDP streams (RFC 9297 3.2).") \
	VALUE(udp_gso_sends, counter, "hermes_tunnel_udp_gso_sends_total", \
	      "GSO sends (UDP_SEGMENT) toward CONNECT-UDP targets, each a run of datagrams of one size that " \
	      "the kernel cut into those datagrams (counted in hermes_tunnel_udp_datagrams_total too).") \
	VALUE(udp_malformed, counter, "hermes_tunnel_udp_malformed_total", \
	      "CONNECT-UDP streams reset for a malformed capsule (a DATAGRAM without a whole context ID, a stream " \
	      "that ended inside a capsule).") \
	VALUE(udp_idle_closes, counter, "hermes_tunnel_udp_idle_closes_total", \
	      "CONNECT-UDP streams closed after tunnel.udp_idle_timeout_ms without a datagram either way.") \
	/* index: enum tudpc_stream */ \
	ARRAY(tudpc_streams, counter, "hermes_tunnel_udp_client_streams_total", \
	      "CONNECT-UDP requests the tunnel action sent for UDP flows (opened), and the streams that could not " \
	      "be sent (refused: an HTTP/2 peer that does not announce SETTINGS_ENABLE_CONNECT_PROTOCOL, an " \
	      "h2-post peer). A peer's answer other than 2xx/101 is in hermes_tunnel_peer_attempts_total.", \
	      "outcome", "opened", "refused") \
	/* index: enum tudp_dir */ \
	ARRAY(tudpc_dgrams, counter, "hermes_tunnel_udp_client_datagrams_total", \
	      "Datagrams of UDP flows the tunnel action carries, by direction: to_app (DATAGRAM capsules from the " \
	      "peer, sent to the app), to_peer (the app's datagrams, sent as DATAGRAM capsules).", \
	      "direction", "to_app", "to_peer") \
	ARRAY(tudpc_bytes, counter, "hermes_tunnel_udp_client_bytes_total", \
	      "UDP payload bytes the tunnel action carried (without capsule heads), by direction.", \
	      "direction", "to_app", "to_peer") \
	/* index: enum tudp_drop, then TUDPC_DROP_NO_STREAM */ \
	ARRAY(tudpc_drops, counter, "hermes_tunnel_udp_client_drops_total", \
	      "Datagrams of UDP tunnel flows dropped, by reason: oversize (over tunnel.udp_max_datagram_bytes, " \
	      "either way), context (a context ID other than 0), send_error (the send to the app failed), " \
	      "queue_full (udp.tunnel_queue_bytes of capsules already wait for the stream: before its answer, " \
	      "or while its window is shut), no_stream (the flow's stream failed; the next datagram after 1 s tries again).", \
	      "reason", "oversize", "context", "send_error", "queue_full", "no_stream") \
	SCRAPE(interface_packets, counter, "hermes_interface_packets_total", \
	       "Packets seen by the TC counters (GSO segments).") \
	SCRAPE(interface_bytes, counter, "hermes_interface_bytes_total", "Bytes seen by the TC counters.") \
	HIST(connect_seconds, "hermes_upstream_connect_seconds", "Time to connect upstream (successful attempts).") \
	HIST(flow_bytes, "hermes_flow_bytes", "Bytes relayed per finished flow, both directions.") \
	HIST(tunnel_setup_seconds, "hermes_tunnel_setup_seconds", \
	     "Tunnel client: from an attempt's start to the next hop's 200.") \
	VALUE(admin_requests, counter, "hermes_admin_requests_total", "Requests served by the admin endpoint.") \
	SCRAPE(links_attached, gauge, "hermes_links_attached", \
	       "Steering links attached where they should be (checked every second).") \
	SCRAPE(links_expected, gauge, "hermes_links_expected", "Steering links hermesd keeps attached.") \
	SCRAPE(link_reattach, counter, "hermes_link_reattach_total", \
	       "Links attached again after they went defunct (their cgroup removed and made again, or detached).") \
	/* the http action (http.c, hup.c, h2up.c, h2dn.c) */ \
	VALUE(http_conns, counter, "hermes_http_connections_total", "Client connections of the http action.") \
	VALUE(http_requests, counter, "hermes_http_requests_total", "Requests read by the http action.") \
	VALUE(http_fwd_conns, counter, "hermes_http_forward_connections_total", \
	      "Explicit proxy clients on the tunnel listener (absolute-form requests, or HTTP/2 sessions " \
	      "with non-CONNECT streams).") \
	VALUE(http_fwd_requests, counter, "hermes_http_forward_requests_total", "Requests of explicit proxy clients.") \
	VALUE(http_rejected, counter, "hermes_http_rejected_total", \
	      "Requests refused before reaching any upstream (malformed, smuggling shapes, limits).") \
	VALUE(http_attempts, counter, "hermes_http_attempts_total", "Upstream attempts (first tries and retries).") \
	VALUE(http_retries, counter, "hermes_http_retries_total", "Retries of requests.") \
	VALUE(http_retry_successes, counter, "hermes_http_retry_successes_total", \
	      "Retried requests whose final response was not a 5xx.") \
	VALUE(http_budget_exhausted, counter, "hermes_http_retry_budget_exhausted_total", \
	      "Retries not made because the retry budget was used up.") \
	VALUE(http_per_try_timeouts, counter, "hermes_http_per_try_timeouts_total", \
	      "Attempts whose per_try_timeout_ms passed before their response head (cut, or hedged).") \
	VALUE(http_hedges, counter, "hermes_http_hedges_total", \
	      "Attempts left outstanding at their per-try timeout while a further attempt started " \
	      "(hedge_on_per_try_timeout).") \
	VALUE(http_fd_waits, counter, "hermes_http_descriptor_waits_total", \
	      "Times an HTTP request waited for a free descriptor to open its upstream connection " \
	      "(hermesd at its RLIMIT_NOFILE).") \
	VALUE(http_pool_trimmed, counter, "hermes_http_pool_trimmed_total", \
	      "Idle pooled upstream connections closed because hermesd's descriptors ran short.") \
	VALUE(http_idle_clients_trimmed, counter, "hermes_http_idle_clients_trimmed_total", \
	      "Idle keep-alive client connections of the http action closed because descriptors ran short.") \
	VALUE(http_hedge_wins, counter, "hermes_http_hedge_wins_total", \
	      "Responses that came from a hedged attempt rather than from the attempts started after it.") \
	/* the http action's HTTP cache (hcache.c, section cache) */ \
	PAIR(counter, "hermes_http_cache_lookups_total", \
	     "GET and HEAD requests looked up in the HTTP cache, by result (hit: answered from the store).", \
	     "result", http_cache_hits, "hit", http_cache_misses, "miss") \
	VALUE(http_cache_stores, counter, "hermes_http_cache_stores_total", "Responses stored in the HTTP cache.") \
	VALUE(http_cache_revalidations, counter, "hermes_http_cache_revalidations_total", \
	      "Stored responses the origin confirmed with a 304 to a conditional request, then served refreshed.") \
	VALUE(http_cache_stale_if_error, counter, "hermes_http_cache_stale_if_error_total", \
	      "Stale stored responses served in place of an origin's error or failure (stale-if-error).") \
	VALUE(http_cache_evictions, counter, "hermes_http_cache_evictions_total", \
	      "Stored responses evicted, least recently used first, to make room.") \
	VALUE(http_cache_invalidations, counter, "hermes_http_cache_invalidations_total", \
	      "Stored responses removed because an unsafe request (POST, PUT, DELETE...) changed their URL.") \
	VALUE(http_cache_collapsed, counter, "hermes_http_cache_collapsed_total", \
	      "Requests served from a response being stored as it arrives, without an upstream request of their own.") \
	VALUE(http_cache_fill_resumes, counter, "hermes_http_cache_fill_resumes_total", \
	      "Responses being stored whose upstream stalled or failed mid-body, asked again for the rest (Range).") \
	VALUE(http_cache_purged, counter, "hermes_http_cache_purged_total", \
	      "Stored responses removed by an operator's purge by URL (POST /cache/purge, hermesctl cache purge).") \
	VALUE(http_cache_bytes, gauge, "hermes_http_cache_bytes", "Bytes the HTTP cache's store holds.") \
	VALUE(http_cache_objects, gauge, "hermes_http_cache_objects", "Responses the HTTP cache's store holds.") \
	/* index: enum hup_fail - 1 */ \
	ARRAY(http_upstream_failures, counter, "hermes_http_upstream_failures_total", "Failed attempts, by kind.", \
	      "kind", "connect", "reset", "timeout", "protocol", "refused", "tls") \
	/* index: status / 100 - 1 */ \
	ARRAY(http_responses, counter, "hermes_http_responses_total", \
	      "Responses sent to clients, by class (hermesd's own errors included).", "code", \
	      "1xx", "2xx", "3xx", "4xx", "5xx") \
	PAIR(counter, "hermes_http_upstream_connections_total", "Upstream connections used, new or taken from the pool.", \
	     "pool", http_pool_new, "new", http_pool_reused, "reused") \
	VALUE(http_tls_conns, counter, "hermes_http_upstream_tls_handshakes_total", \
	      "TLS handshakes completed with origins (upstream_protocol h2, upstream_tls, https:// proxy targets).") \
	VALUE(http_tls_failures, counter, "hermes_http_upstream_tls_failures_total", \
	      "TLS handshakes with origins that failed (certificate, name, ALPN, close or timeout).") \
	VALUE(http_h2up_conns, counter, "hermes_http_h2_upstream_connections_total", \
	      "HTTP/2 connections opened to upstreams (upstream_protocol h2c or h2).") \
	VALUE(http_h2up_streams, counter, "hermes_http_h2_upstream_streams_total", "Attempts sent as HTTP/2 streams.") \
	VALUE(http_h2up_refused, counter, "hermes_http_h2_upstream_refused_total", \
	      "HTTP/2 upstream streams refused (REFUSED_STREAM or left out by a GOAWAY).") \
	VALUE(http_h2up_resets, counter, "hermes_http_h2_upstream_resets_total", \
	      "HTTP/2 upstream streams reset before their response ended.") \
	VALUE(http_h2dn_conns, counter, "hermes_http_h2_client_connections_total", \
	      "Client connections of the http action that spoke HTTP/2 (h2c prior knowledge, or tunnel " \
	      "listener sessions with proxy requests).") \
	VALUE(http_h2dn_streams, counter, "hermes_http_h2_client_streams_total", "Requests received as HTTP/2 streams.") \
	HIST(http_request_seconds, "hermes_http_request_seconds", "Request head read to response end, http action.") \
	/* index: enum h2mux_limit (h2mux-t.h) */ \
	ARRAY(http2_limits, counter, "hermes_http2_limits_total", \
	      "HTTP/2 server sessions' limits that triggered (section http2), by limit.", "limit", \
	      "header_list", "continuations", "resets", "control_flood", "streams", "idle") \
	/* index: enum outlier_kind (outlier.h) */ \
	ARRAY(outlier_ejections, counter, "hermes_outlier_ejections_total", \
	      "Tunnel peers and http endpoints ejected after consecutive failures (section outlier), a failed " \
	      "probe's new ejection included, by kind.", "kind", "tunnel_peer", "http_endpoint") \
	ARRAY(outlier_ejected, gauge, "hermes_outlier_ejected", \
	      "Tunnel peers and http endpoints ejected now (until a probe succeeds), by kind.", "kind", \
	      "tunnel_peer", "http_endpoint") \
	SCRAPE(build_info, gauge, "hermes_build_info", "hermesd's version and git commit (always 1).") \
	/* the process_* families of the Prometheus client libraries: their names and units */ \
	SCRAPE(process_start_time, gauge, "process_start_time_seconds", \
	       "Start time of hermesd since the Unix epoch, in seconds.") \
	SCRAPE(process_cpu, counter, "process_cpu_seconds_total", "User and system CPU time hermesd spent, in seconds.") \
	SCRAPE(process_resident, gauge, "process_resident_memory_bytes", "Resident memory of hermesd, in bytes.") \
	SCRAPE(process_virtual, gauge, "process_virtual_memory_bytes", "Virtual memory size of hermesd, in bytes.") \
	SCRAPE(process_open_fds, gauge, "process_open_fds", "Open file descriptors of hermesd, counted at most every 5 s.") \
	SCRAPE(process_max_fds, gauge, "process_max_fds", "hermesd's limit of open file descriptors (RLIMIT_NOFILE).") \
	/* SIGHUP reloads (loop.c) */ \
	PAIR(counter, "hermes_config_reloads_total", "Configuration reloads (SIGHUP or a document from etcd), by result.", "result", \
	     reloads_ok, "ok", reloads_failed, "failed") \
	SCRAPE(reload_success, gauge, "hermes_config_last_reload_success", \
	       "1 if the last reload applied the file (or none was made since the start), 0 if it failed.") \
	/* seconds since the epoch; the start time until the first reload */ \
	REAL(last_reload_time, gauge, "hermes_config_last_reload_timestamp_seconds", \
	     "When the last reload was tried (the start time before any), seconds since the Unix epoch.") \
	REAL(last_reload_ok_time, gauge, "hermes_config_last_reload_success_timestamp_seconds", \
	     "When a reload last succeeded (the start time before any), seconds since the Unix epoch.") \
	REAL(last_reload_seconds, gauge, "hermes_config_last_reload_duration_seconds", \
	     "How long the last reload took, from the start of its build to the new configuration in use or " \
	     "the failure (0 before any).") \
	VALUE(reload_building, gauge, "hermes_config_reload_in_progress", \
	      "1 while a reload is being built (read, parsed and its TLS contexts made, off the event loop), else 0.") \
	/* configuration from etcd (etcd_src.c); shown only with an etcd section */ \
	SCRAPE(etcd_applied_revision, gauge, "hermes_etcd_applied_revision", \
	       "etcd revision of the node's document in use (0: none yet: the file's keys).") \
	SCRAPE(etcd_staleness, gauge, "hermes_etcd_staleness_seconds", \
	       "Seconds since etcd last answered or the watch was last known open (since the start when never).") \
	SCRAPE(etcd_reconnects, counter, "hermes_etcd_watch_reconnects_total", \
	       "Times the watch of the node's document (or the read of it before a watch) was tried again after " \
	       "a failure or an end of the stream.") \
	SCRAPE(etcd_refused, counter, "hermes_etcd_documents_refused_total", \
	       "Documents from etcd (or the state file at start) refused: the running configuration stayed.") \
	VALUE(reloads_limit, counter, "hermes_config_reload_limits_total", \
	      "Reloads refused because the file passed a limit of the loader (size, nesting, list entries, keys " \
	      "or nodes in all); counted in hermes_config_reloads_total{result=\"failed\"} too.") \
	SCRAPE(policy_rules, gauge, "hermes_policy_rules", \
	       "Rules in the pinned policy map hermes_policy, by who wrote them (config: hermesd's file; " \
	       "manual: hermesctl or bpftool).") \
	SCRAPE(flow_table_entries, gauge, "hermes_flow_table_entries", \
	       "Entries in the kernel flow table hermes_flows (open and recently closed flows), counted at most " \
	       "every 5 s.") \
	SCRAPE(flow_table_max_entries, gauge, "hermes_flow_table_max_entries", \
	       "Capacity of hermes_flows: beyond it the least recently used entries are evicted.") \
	/* index: [0] HTTP/1.1, [1] h2c (sess.c) */ \
	ARRAY(tunnel_cleartext_refused, counter, "hermes_tunnel_cleartext_refused_total", \
	      "Clear-text connections refused by the tunnel listener because tls is set and " \
	      "tunnel.allow_cleartext is not, by protocol.", "protocol", "http1", "h2c") \
	/* the tunnel listener's limits (authz.c, tunnel.c, sess.c, sess_h2.c); index: enum tunnel_refusal */ \
	ARRAY(tunnel_target_refused, counter, "hermes_tunnel_target_refused_total", \
	      "CONNECT and proxy requests refused (403) because the target is one of hermesd's own listeners " \
	      "or a loopback or unspecified address that no tunnel_access rule names.", "reason", "self", "loopback") \
	VALUE(tunnel_loops, counter, "hermes_tunnel_loops_total", \
	      "CONNECT requests refused with 508 because they had crossed tunnel.max_hops hermesd hops.") \
	/* index: enum tunnel_limit */ \
	ARRAY(tunnel_limited, counter, "hermes_tunnel_limited_total", \
	      "Times a limit of the tunnel listener acted: a stream's or a connection's buffer toward its target " \
	      "filled (its window stays shut until the target reads), new streams refused over " \
	      "tunnel.total_buffer_mb, upstream connects refused over tunnel.client_connects_per_second, " \
	      "CONNECTs refused over tunnel.client_resets_per_second (streams reset before they were up), " \
	      "connections refused over tunnel.max_client_connections.", "limit", "stream_buffer", "conn_buffer", \
	      "total_buffer", "connect_rate", "reset_rate", "client_connections") \
	VALUE(tunnel_fd_refused, counter, "hermes_stream_descriptor_refusals_total", \
	      "New streams of the tunnel listener's HTTP/2 connections refused (REFUSED_STREAM) before they " \
	      "could open an upstream socket: open descriptors had reached the last " \
	      "tunnel.stream_fd_headroom_percent of RLIMIT_NOFILE, or the descriptor reserve was in use.") \
	VALUE(tunnel_stream_fds, gauge, "hermes_stream_descriptors", \
	      "Streams of the tunnel listener's HTTP/2 connections open now, each holding at most one upstream socket.") \
	VALUE(tunnel_buffered, gauge, "hermes_tunnel_buffered_bytes", \
	      "Bytes received on the tunnel listener's HTTP/2 CONNECT streams and not yet passed to their targets.") \
	/* the memory budget (overload.c) */ \
	VALUE(overload_bytes, gauge, "hermes_overload_buffer_bytes", \
	      "Buffer memory hermesd holds (byte buffers, stream windows written, socket receive buffers written, " \
	      "the http action's buffers written, nghttp2's allocations), counted against overload.max_buffer_mb " \
	      "with hermes_overload_tls_bytes.") \
	VALUE(overload_tls_bytes, gauge, "hermes_overload_tls_bytes", \
	      "Memory OpenSSL's allocations hold (TLS contexts, sessions, records), counted against " \
	      "overload.max_buffer_mb with the buffer bytes.") \
	VALUE(overload_stage, gauge, "hermes_overload_stage", \
	      "Load shedding stage: 0 none, 1 the heaviest connections are not read, 2 new streams and http " \
	      "requests refused, 3 new connections refused.") \
	/* index: enum overload_action */ \
	ARRAY(overload_actions, counter, "hermes_overload_actions_total", \
	      "Times the memory budget shed load: a connection not read further (stop_reading), a new stream " \
	      "refused with REFUSED_STREAM (refuse_stream), an http request or HTTP/1.1 CONNECT answered 503 " \
	      "(refuse_request), a new transparent flow reset (refuse_connection), a new HTTP/2 connection " \
	      "answered GOAWAY (goaway), a response the HTTP cache would have stored passed on unstored or a " \
	      "background revalidation not started (cache_fill).", "action", "stop_reading", "refuse_stream", \
	      "refuse_request", "refuse_connection", "goaway", "cache_fill") \
	/* the relay's receive buffers (rxpool.c) */ \
	VALUE(rxpool_exhausted, counter, "hermes_relay_buffer_pool_exhausted_total", \
	      "Reads of relayed sockets that found every buffer of the pool (proxy.relay_buffers) held by " \
	      "bytes waiting to be sent: the socket waits, its bytes in the kernel, until a buffer comes back.") \
	VALUE(rxpool_recvs, counter, "hermes_relay_recvs_armed_total", \
	      "Receives armed on relayed sockets (the io_uring engine): one per buffer for a bulk flow; a " \
	      "request/response flow keeps one multishot receive armed across its exchanges (up to 16 KiB).") \
	VALUE(rxpool_held, gauge, "hermes_relay_buffer_pool_held_bytes", \
	      "Bytes of the relay's buffer pool held by sockets (buffers of 16 KiB whose bytes wait to be sent), " \
	      "as of the last tick.") \
	VALUE(rxpool_resident, gauge, "hermes_relay_buffer_pool_resident_bytes", \
	      "Pages of the relay's buffer pool written and not given back yet (those of buffers left unused " \
	      "for a second go back), as of the last tick.") \
	/* the allocator (heap.c) */ \
	SCRAPE(heap_bytes, gauge, "hermes_heap_bytes", \
	       "Memory of glibc's allocator: in use by hermesd (in_use), free in its heap, resident or given " \
	       "back (free), and in mappings of their own (mapped, in use); counted at most every 5 s.") \
	VALUE(heap_trims, counter, "hermes_heap_trims_total", \
	      "Times hermesd gave the allocator's free pages back to the kernel (malloc_trim) after a burst: the " \
	      "buffer memory held fell by 1 MiB and a quarter below its peak since the last time, or 1 MiB of " \
	      "buffers was freed since then and the last second freed under a sixteenth of it.") \
	VALUE(setup_buf_releases, counter, "hermes_setup_buffer_releases_total", \
	      "Setup buffers (16 KiB each: a socket's first bytes, read before it relays) whose pages went back " \
	      "to the kernel after a second unused.") \
	/* index: status / 100 - 1 (metrics_http_response) */ \
	LABELS(http_route_codes, counter, "hermes_http_route_responses_total", \
	       "Responses sent to clients of the http action, by http route (\"-\": no route matched, or " \
	       "refused before routing) and status class.", "route", "code", "1xx", "2xx", "3xx", "4xx", "5xx") \
	/* index: enum peer_result */ \
	LABELS(tunnel_peer_results, counter, "hermes_tunnel_peer_attempts_total", \
	       "Tunnel client attempts at a route's peer (next hop), by result.", "peer", "result", \
	       "established", "refused", "denied", "timeout", "reset", "error") \
	/* index: enum udp_dir */ \
	ARRAY(udp_datagrams, counter, "hermes_udp_datagrams_total", \
	      "UDP datagrams relayed by the proxy action (relay or kernel path), by direction.", "direction", "app_to_upstream", \
	      "upstream_to_app") \
	ARRAY(udp_bytes, counter, "hermes_udp_bytes_total", "UDP payload bytes relayed by the proxy action (relay or kernel path), by direction.", \
	      "direction", "app_to_upstream", "upstream_to_app") \
	VALUE(udp_flows_total, counter, "hermes_udp_flows_total", \
	      "UDP flows (an app socket and an original destination) the relay opened.") \
	VALUE(udp_flows_expired, counter, "hermes_udp_flows_expired_total", "UDP flows forgotten after udp.idle_timeout_ms.") \
	VALUE(udp_flows_active, gauge, "hermes_udp_flows_active", "UDP flows the relay holds now.") \
	VALUE(udp_kpath_flows, counter, "hermes_udp_kernel_path_flows_total", \
	      "UDP proxy flows that took the kernel path (udp.kernel_path): sent from the app's own socket, " \
	      "marked and counted in BPF; also counted in hermes_udp_flows_total.") \
	VALUE(udp_kpath_evicted, counter, "hermes_udp_kernel_path_evicted_total", \
	      "Kernel-path UDP flows whose BPF entry was gone before hermesd ended them (the LRU map was full): " \
	      "their last counts are the ones hermesd had read.") \
	SCRAPE(bpf_udp_decisions, counter, "hermes_bpf_udp_decisions_total", \
	       "UDP decisions taken in BPF (one per connect() and per send with an address), by action; " \
	       "deny includes unsupported (a UDP rule whose action UDP does not take: http, unknown) and no_slot; " \
	       "fail_open: proxy or tunnel wanted, no UDP relay.") \
	/* index: enum udp_drop */ \
	ARRAY(udp_drops, counter, "hermes_udp_drops_total", "UDP datagrams the relay dropped, by reason.", "reason", \
	      "too_big", "unknown_slot", "max_flows", "socket", "send_failed", "icmp_error", "not_slot", "not_owner") \
	/* the HTTP cache's stale-while-revalidate and memory (hcache.c, hfill.c, overload.c) */ \
	VALUE(http_cache_swr_served, counter, "hermes_http_cache_stale_while_revalidate_total", \
	      "Stale responses the HTTP cache served at once within their stale-while-revalidate window (RFC 5861 3); " \
	      "also counted as hits.") \
	VALUE(http_cache_bg_revalidations, counter, "hermes_http_cache_background_revalidations_total", \
	      "Background revalidations the HTTP cache started for stale-while-revalidate, at most one per key at a time.") \
	VALUE(overload_cache_bytes, gauge, "hermes_overload_cache_bytes", \
	      "Memory of the HTTP cache: its store (bounded by cache.max_size_mb, not counted against " \
	      "overload.max_buffer_mb) and the responses being stored now (counted against it).") \
	VALUE(overload_cache_fill_bytes, gauge, "hermes_overload_cache_fill_bytes", \
	      "Bytes of the responses the HTTP cache is storing now, counted against overload.max_buffer_mb; from " \
	      "stage 1 no new one is started.") \
	/* the HTTP cache's disk tier (hdisk.c, cache.disk_path) */ \
	VALUE(http_cache_disk_objects, gauge, "hermes_http_cache_disk_objects", \
	      "Responses the HTTP cache's disk directory holds (indexed, whole and checked).") \
	VALUE(http_cache_disk_bytes, gauge, "hermes_http_cache_disk_bytes", \
	      "Bytes of the files the HTTP cache's disk directory holds (headers, keys, heads and bodies).") \
	VALUE(http_cache_disk_reads, counter, "hermes_http_cache_disk_reads_total", \
	      "Responses read back from disk into memory (a memory miss that the disk held).") \
	VALUE(http_cache_disk_writes, counter, "hermes_http_cache_disk_writes_total", \
	      "Responses written to the disk directory (a file written whole, then renamed into place).") \
	VALUE(http_cache_disk_evictions, counter, "hermes_http_cache_disk_evictions_total", \
	      "Files removed, least recently used first, to keep the directory under cache.disk_max_size_mb.") \
	/* index: enum hdisk_error */ \
	ARRAY(http_cache_disk_errors, counter, "hermes_http_cache_disk_errors_total", \
	      "Disk cache failures, by kind: write (a file not written: ENOSPC, EIO...), read (a file not read " \
	      "back), corrupt (a file whose format or checksum is wrong, at start or when read: skipped and " \
	      "removed), busy (a response not written because the writes waiting passed their byte limit).", \
	      "kind", "write", "read", "corrupt", "busy") \
	VALUE(http_cache_disk_foreign, gauge, "hermes_http_cache_disk_foreign_files", \
	      "Files in the disk cache's directory that are not the cache's (seen at start): left alone, not counted.") \
	/* the node's status key in etcd (etcd_status.c); shown only with an etcd section */ \
	SCRAPE(etcd_status_up, gauge, "hermes_etcd_status_up", \
	       "1 while the node's status key PREFIX/status/NODE is written and its lease renewed, else 0.") \
	SCRAPE(etcd_status_writes, counter, "hermes_etcd_status_writes_total", \
	       "Writes of the node's status key (at each apply, refusal and change of health, and after a new lease).") \
	SCRAPE(etcd_status_failures, counter, "hermes_etcd_status_failures_total", \
	       "Lease grants, status key writes and lease renewals that failed (tried again with a backoff).") \
	SCRAPE(etcd_lease_grants, counter, "hermes_etcd_lease_grants_total", \
	       "Leases granted for the status key: the first, and a new one each time the last expired.")

/* How many values a list of label values holds (an integer constant). */
#define STATS_NVALUES(...) (sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

#define STATS_FIELD_VALUE(f, type, name, help) uint64_t f;
#define STATS_FIELD_PAIR(type, name, help, label, f0, v0, f1, v1) uint64_t f0, f1;
#define STATS_FIELD_ARRAY(f, type, name, help, label, ...) uint64_t f[STATS_NVALUES(__VA_ARGS__)];
#define STATS_FIELD_REAL(f, type, name, help) double f;
#define STATS_FIELD_HIST(f, name, help) struct histogram f;
#define STATS_FIELD_LABELS(f, type, name, help, label, label2, ...) struct mlabels f;
#define STATS_FIELD_SCRAPE(id, type, name, help)

struct loop_stats {
	HERMES_STATS(STATS_FIELD_VALUE, STATS_FIELD_PAIR, STATS_FIELD_ARRAY, STATS_FIELD_REAL, STATS_FIELD_HIST,
		     STATS_FIELD_LABELS, STATS_FIELD_SCRAPE)
	/* state behind the families above, not shown as such */
	bool last_reload_failed;  /* hermes_config_last_reload_success is its negation */
	long flow_count;          /* entries of hermes_flows at flow_count_ms (admin.c), or -errno */
	uint64_t flow_count_ms;
	long open_fds;            /* process_open_fds at open_fds_ms (admin.c), or -1 */
	uint64_t open_fds_ms;
};

/* STATS_N_FIELD: the number of counters of an ARRAY or LABELS family (its values), for
 * the code that indexes them. */
#define STATS_N_ARRAY(f, type, name, help, label, ...) STATS_N_##f = STATS_NVALUES(__VA_ARGS__),
#define STATS_N_LABELS(f, type, name, help, label, label2, ...) STATS_N_##f = STATS_NVALUES(__VA_ARGS__),
#define STATS_SKIP(...)
enum {
	HERMES_STATS(STATS_SKIP, STATS_SKIP, STATS_N_ARRAY, STATS_SKIP, STATS_SKIP, STATS_N_LABELS, STATS_SKIP)
};
_Static_assert((int)STATS_N_tunnel_peer_results == (int)PEER_NRESULTS, "a result label for each enum peer_result");
_Static_assert((int)STATS_N_tunnel_target_refused == (int)TUNNEL_NREFUSALS, "a label for each enum tunnel_refusal");
_Static_assert((int)STATS_N_tunnel_limited == (int)TUNNEL_NLIMITS, "a label for each enum tunnel_limit");
_Static_assert((int)STATS_N_tunnel_optimistic == (int)TUNNEL_NOPT, "a label for each enum tunnel_optimistic");
/* hermes_slow_client_timeouts_total's index: the listener a slow client was closed on */
enum stats_slow { STATS_SLOW_HTTP, STATS_SLOW_TUNNEL, STATS_SLOW_ADMIN, STATS_SLOW_METRICS, STATS_SLOW_N };
_Static_assert((int)STATS_N_slow_clients == (int)STATS_SLOW_N, "a listener label for each enum stats_slow");
_Static_assert(STATS_N_http_route_codes <= MLABEL_WIDTH && STATS_N_tunnel_peer_results <= MLABEL_WIDTH,
	       "struct mlabels holds MLABEL_WIDTH counters per name");

/* The families computed when scraped, one scrape_ID function each in admin.c. */
#define STATS_SCRAPE_ID(id, type, name, help) STATS_S_##id,
enum stats_scrape {
	HERMES_STATS(STATS_SKIP, STATS_SKIP, STATS_SKIP, STATS_SKIP, STATS_SKIP, STATS_SKIP, STATS_SCRAPE_ID)
	STATS_S_COUNT
};

/* One family of HERMES_STATS, as stats.c describes it. */
enum stats_kind { STATS_VALUE, STATS_PAIR, STATS_ARRAY, STATS_REAL, STATS_HIST, STATS_LABELS, STATS_SCRAPE };
struct stats_family {
	const char *name, *type, *help;  /* type: "counter", "gauge" or "histogram" */
	enum stats_kind kind;
	size_t off[2];           /* offsetof(struct loop_stats, field); [1]: a PAIR's second field */
	const char *label;       /* PAIR, ARRAY, LABELS: the label's name */
	const char *label2;      /* LABELS: the name of the label inside a config name */
	const char *const *values; /* PAIR, ARRAY, LABELS: a label value per counter */
	unsigned n_values;
	enum stats_scrape scrape; /* SCRAPE */
};

#endif
