/* admin.c: the admin HTTP endpoint (127.0.0.1:15000 by default) on the same io_uring
 * loop: GET /ready, /metrics (Prometheus text format 0.0.4; /stats is the same), /flows,
 * /routes and /config (JSON). One request per connection, answered and closed: it serves
 * scrapers, probes and hermesctl, not browsers. The metrics-only address
 * (listeners.metrics) answers /metrics, /stats and /ready alone, so that it can face a
 * network while the rest stays on loopback. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "config.h"
#include "hermes/flow.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "policy.h"
#include "version.h"

#define ADMIN_REQ_MAX 4096
#define ADMIN_TIMEOUT_MS 5000
/* Counts that cost tens of ms when large (a full flow table, 20000 descriptors) are
 * reused this long: hermes-top reads /stats every second, and the loop waits meanwhile. */
#define SLOW_COUNT_MAX_AGE_MS 5000

struct admin_conn {
	struct admin_conn *next;
	int fd;
	int inflight;
	bool closing;
	bool metrics_only;   /* accepted on the metrics address */
	uint64_t started_ms;
	size_t got;
	char *resp;
	size_t resp_len, resp_off;
	char req[ADMIN_REQ_MAX];
} __attribute__((aligned(LOOP_ALIGN)));

static void admin_free(struct loop *lp, struct admin_conn *a)
{
	struct admin_conn **pp;

	for (pp = &lp->admins; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	close(a->fd);
	free(a->resp);
	free(a);
}

static void admin_recv(struct loop *lp, struct admin_conn *a)
{
	io_uring_prep_recv(loop_sqe(lp, a, OP_ADMIN_RECV), a->fd, a->req + a->got, ADMIN_REQ_MAX - 1 - a->got, 0);
	a->inflight++;
}

static void accept_conn(struct loop *lp, int fd, bool metrics_only)
{
	struct admin_conn *a = loop_zalloc(sizeof(*a));

	if (!a) {
		close(fd);
		return;
	}
	a->fd = fd;
	a->metrics_only = metrics_only;
	a->started_ms = lp->now_ms;
	a->next = lp->admins;
	lp->admins = a;
	admin_recv(lp, a);
}

void admin_accept(struct loop *lp, int fd)
{
	accept_conn(lp, fd, false);
}

void admin_accept_metrics(struct loop *lp, int fd)
{
	accept_conn(lp, fd, true);
}

/* Appends printf output to a growing buffer. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
			char *np = realloc(b->p, ncap);

			if (!np) {
				b->oom = true;
				return;
			}
			b->p = np;
			b->cap = ncap;
		}
	}
}

static void metric(struct sbuf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, (unsigned long long)v);
}

static void histogram(struct sbuf *b, const char *name, const char *help, const struct histogram *h)
{
	uint64_t cum = 0;

	sb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (unsigned i = 0; i < h->n_bounds; i++) {
		cum += h->counts[i];
		sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
	}
	cum += h->counts[h->n_bounds];
	sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", name, (unsigned long long)cum, name,
		  h->sum, name, (unsigned long long)h->count);
}

static void stats_body(struct loop *lp, struct sbuf *b)
{
	const struct loop_stats *s = &lp->st;
	uint64_t c2u = s->bytes_c2u, u2c = s->bytes_u2c, cnt[HERMES_CNT_MAX] = {};

	/* live flows' bytes count too, so a long transfer shows progress */
	for (struct conn *c = lp->conns; c; c = c->next) {
		c2u += c->h[0].bytes;
		u2c += c->h[1].bytes;
	}
	metric(b, "hermes_connections_accepted_total", "counter", "Steered connections accepted by hermesd.", s->accepted);
	metric(b, "hermes_accept_pauses_total", "counter",
	       "Times a listener stopped accepting for 100 ms: out of file descriptors (EMFILE/ENFILE) or memory.",
	       s->accept_pauses);
	metric(b, "hermes_connections_active", "gauge", "Steered connections open now.", s->active);
	metric(b, "hermes_connections_closed_total", "counter", "Steered connections finished.", s->closed);
	metric(b, "hermes_upstream_connect_attempts_total", "counter", "Upstream connect attempts.", s->connect_attempts);
	metric(b, "hermes_upstream_connect_failures_total", "counter", "Upstream connect attempts that failed.", s->connect_failures);
	metric(b, "hermes_upstream_connect_retries_total", "counter", "Upstream connects retried after a failure.", s->connect_retries);
	metric(b, "hermes_upstream_unreachable_total", "counter", "Connections reset because every attempt failed.", s->upstream_unreachable);
	metric(b, "hermes_origdst_missing_total", "counter", "Accepted connections with no known original destination.", s->origdst_missing);
	metric(b, "hermes_idle_timeouts_total", "counter", "Flows closed by the idle timeout.", s->idle_timeouts);
	metric(b, "hermes_resets_total", "counter", "Flows ended by a reset on either side.", s->resets);
	sb_printf(b, "# HELP hermes_bytes_total Bytes relayed by hermesd.\n# TYPE hermes_bytes_total counter\n"
		     "hermes_bytes_total{direction=\"client_to_upstream\"} %llu\n"
		     "hermes_bytes_total{direction=\"upstream_to_client\"} %llu\n",
		  (unsigned long long)c2u, (unsigned long long)u2c);
	if (lp->ld->stats_fd >= 0 && !pol_read_counters(lp->ld->stats_fd, cnt)) {
		sb_printf(b, "# HELP hermes_bpf_decisions_total Connect decisions taken in BPF, by action.\n"
			     "# TYPE hermes_bpf_decisions_total counter\n");
		for (unsigned i = 0; i < HERMES_CNT_SKMSG_SOCK; i++)
			sb_printf(b, "hermes_bpf_decisions_total{action=\"%s\"} %llu\n", pol_counter_name(i),
				  (unsigned long long)cnt[i]);
		metric(b, "hermes_sk_msg_sockets_total", "counter",
		       "Sockets of the app <-> hermesd hop added to the sk_msg sockhash.", cnt[HERMES_CNT_SKMSG_SOCK]);
		metric(b, "hermes_sk_msg_socket_failures_total", "counter",
		       "Sockets that could not be added to the sk_msg sockhash (they use the normal stack).",
		       cnt[HERMES_CNT_SKMSG_FAIL]);
		sb_printf(b, "# HELP hermes_sk_msg_path_total Path chosen by a hop socket's first send.\n"
			     "# TYPE hermes_sk_msg_path_total counter\n"
			     "hermes_sk_msg_path_total{path=\"redirect\"} %llu\n"
			     "hermes_sk_msg_path_total{path=\"tcp\"} %llu\n",
			  (unsigned long long)cnt[HERMES_CNT_SKMSG_REDIR], (unsigned long long)cnt[HERMES_CNT_SKMSG_TCP]);
	}
	sb_printf(b, "# HELP hermes_flows_total Relayed flows by engine.\n# TYPE hermes_flows_total counter\n"
		     "hermes_flows_total{engine=\"uring\"} %llu\nhermes_flows_total{engine=\"splice\"} %llu\n",
		  (unsigned long long)s->flows_uring, (unsigned long long)s->flows_splice);
	metric(b, "hermes_tunnel_requests_total", "counter", "Connections accepted on the tunnel listener.",
	       s->tunnel_requests);
	{
		static const char *const codes[] = { "400", "403", "405", "431", "502", "504" };

		sb_printf(b, "# HELP hermes_tunnel_errors_total CONNECT requests answered with an error, by status.\n"
			     "# TYPE hermes_tunnel_errors_total counter\n");
		for (unsigned i = 0; i < 6; i++)
			sb_printf(b, "hermes_tunnel_errors_total{status=\"%s\"} %llu\n", codes[i],
				  (unsigned long long)s->tunnel_errors[i]);
	}
	metric(b, "hermes_inbound_refused_total", "counter",
	       "Connections to protected ports reset by the inbound listener (peer not allowed).", s->inbound_refused);
	metric(b, "hermes_inbound_proxied_total", "counter",
	       "Connections to protected ports from inbound.allow_from peers, proxied to the service.",
	       s->inbound_proxied);
	metric(b, "hermes_splice_fallbacks_total", "counter", "Flows meant for splice relayed with io_uring instead.",
	       s->splice_fallbacks);
	{
		uint64_t n_in = 0, n_out = 0;

		for (const struct sess *x = lp->sessions; x; x = x->next)
			if (x->state == SESS_OPEN)
				(*(x->server ? &n_in : &n_out))++;
		sb_printf(b, "# HELP hermes_tunnel_sessions HTTP/2 tunnel connections open, by direction.\n"
			     "# TYPE hermes_tunnel_sessions gauge\n"
			     "hermes_tunnel_sessions{direction=\"in\"} %llu\nhermes_tunnel_sessions{direction=\"out\"} %llu\n",
			  (unsigned long long)n_in, (unsigned long long)n_out);
	}
	metric(b, "hermes_tunnel_sessions_opened_total", "counter", "HTTP/2 tunnel connections that reached HTTP/2, both directions.",
	       s->sess_opened);
	metric(b, "hermes_tunnel_connect_failures_total", "counter", "Tunnel connections to peers that could not connect.",
	       s->sess_failed);
	metric(b, "hermes_tunnel_tls_failures_total", "counter", "TLS handshakes that failed (bad, unknown or expired certificates, no ALPN h2).",
	       s->sess_tls_failed);
	metric(b, "hermes_tunnel_streams_total", "counter", "HTTP/2 tunnel streams opened, both directions.", s->h2_streams);
	metric(b, "hermes_tunnel_stream_resets_total", "counter", "Tunnel flows ended by a reset of their stream or connection.",
	       s->h2_resets);
	if (lp->ld->n_tc) {
		struct hermes_ifstats st[CFG_MAX_TC_IFACES];
		const char *const dirs[2] = { "rx", "tx" };

		/* one read of each interface's per-CPU counters serves both families */
		for (int i = 0; i < lp->ld->n_tc; i++)
			loader_ifstats(lp->ld, lp->ld->tc[i].ifindex, &st[i]);
		sb_printf(b, "# HELP hermes_interface_packets_total Packets seen by the TC counters (GSO segments).\n"
			     "# TYPE hermes_interface_packets_total counter\n");
		for (int i = 0; i < lp->ld->n_tc; i++)
			for (int d = 0; d < 2; d++)
				sb_printf(b, "hermes_interface_packets_total{interface=\"%s\",direction=\"%s\"} %llu\n",
					  lp->cfg->tc_ifaces[i], dirs[d],
					  (unsigned long long)(d ? st[i].tx_packets : st[i].rx_packets));
		sb_printf(b, "# HELP hermes_interface_bytes_total Bytes seen by the TC counters.\n"
			     "# TYPE hermes_interface_bytes_total counter\n");
		for (int i = 0; i < lp->ld->n_tc; i++)
			for (int d = 0; d < 2; d++)
				sb_printf(b, "hermes_interface_bytes_total{interface=\"%s\",direction=\"%s\"} %llu\n",
					  lp->cfg->tc_ifaces[i], dirs[d],
					  (unsigned long long)(d ? st[i].tx_bytes : st[i].rx_bytes));
	}
	histogram(b, "hermes_upstream_connect_seconds", "Time to connect upstream (successful attempts).",
		  &s->connect_seconds);
	histogram(b, "hermes_flow_bytes", "Bytes relayed per finished flow, both directions.", &s->flow_bytes);
	histogram(b, "hermes_tunnel_setup_seconds", "Tunnel client: from an attempt's start to the next hop's 200.",
		  &s->tunnel_setup_seconds);
	metric(b, "hermes_admin_requests_total", "counter", "Requests served by the admin endpoint.", s->admin_requests);
	metric(b, "hermes_links_attached", "gauge", "Steering links attached where they should be (checked every second).",
	       lp->ld->links_attached);
	metric(b, "hermes_links_expected", "gauge", "Steering links hermesd keeps attached.", lp->ld->links_expected);
	metric(b, "hermes_link_reattach_total", "counter",
	       "Links attached again after they went defunct (their cgroup removed and made again, or detached).",
	       lp->ld->reattach_total);
	metric(b, "hermes_http_connections_total", "counter", "Client connections of the http action.", s->http_conns);
	metric(b, "hermes_http_requests_total", "counter", "Requests read by the http action.", s->http_requests);
	metric(b, "hermes_http_forward_connections_total", "counter",
	       "Explicit proxy clients on the tunnel listener (absolute-form requests, or HTTP/2 sessions "
	       "with non-CONNECT streams).", s->http_fwd_conns);
	metric(b, "hermes_http_forward_requests_total", "counter",
	       "Requests of explicit proxy clients.", s->http_fwd_requests);
	metric(b, "hermes_http_rejected_total", "counter",
	       "Requests refused before reaching any upstream (malformed, smuggling shapes, limits).", s->http_rejected);
	metric(b, "hermes_http_attempts_total", "counter", "Upstream attempts (first tries and retries).", s->http_attempts);
	metric(b, "hermes_http_retries_total", "counter", "Retries of requests.", s->http_retries);
	metric(b, "hermes_http_retry_successes_total", "counter",
	       "Retried requests whose final response was not a 5xx.", s->http_retry_successes);
	metric(b, "hermes_http_retry_budget_exhausted_total", "counter",
	       "Retries not made because the retry budget was used up.", s->http_budget_exhausted);
	metric(b, "hermes_http_per_try_timeouts_total", "counter",
	       "Attempts whose per_try_timeout_ms passed before their response head (cut, or hedged).",
	       s->http_per_try_timeouts);
	metric(b, "hermes_http_hedges_total", "counter",
	       "Attempts left outstanding at their per-try timeout while a further attempt started "
	       "(hedge_on_per_try_timeout).", s->http_hedges);
	metric(b, "hermes_http_descriptor_waits_total", "counter",
	       "Times an HTTP request waited for a free descriptor to open its upstream connection "
	       "(hermesd at its RLIMIT_NOFILE).", s->http_fd_waits);
	metric(b, "hermes_http_pool_trimmed_total", "counter",
	       "Idle pooled upstream connections closed because hermesd's descriptors ran short.",
	       s->http_pool_trimmed);
	metric(b, "hermes_http_hedge_wins_total", "counter",
	       "Responses that came from a hedged attempt rather than from the attempts started after it.",
	       s->http_hedge_wins);
	{
		static const char *const kinds[] = { "connect", "reset", "timeout", "protocol", "refused", "tls" };

		_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == sizeof(s->http_upstream_failures) /
									 sizeof(s->http_upstream_failures[0]),
			       "a name for each enum hup_fail");

		sb_printf(b, "# HELP hermes_http_upstream_failures_total Failed attempts, by kind.\n"
			     "# TYPE hermes_http_upstream_failures_total counter\n");
		for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			sb_printf(b, "hermes_http_upstream_failures_total{kind=\"%s\"} %llu\n", kinds[i],
				  (unsigned long long)s->http_upstream_failures[i]);
		sb_printf(b, "# HELP hermes_http_responses_total Responses sent to clients, by class (hermesd's own "
			     "errors included).\n# TYPE hermes_http_responses_total counter\n");
		for (unsigned i = 0; i < 5; i++)
			sb_printf(b, "hermes_http_responses_total{code=\"%uxx\"} %llu\n", i + 1,
				  (unsigned long long)s->http_responses[i]);
		sb_printf(b, "# HELP hermes_http_upstream_connections_total Upstream connections used, new or "
			     "taken from the pool.\n# TYPE hermes_http_upstream_connections_total counter\n"
			     "hermes_http_upstream_connections_total{pool=\"new\"} %llu\n"
			     "hermes_http_upstream_connections_total{pool=\"reused\"} %llu\n",
			  (unsigned long long)s->http_pool_new, (unsigned long long)s->http_pool_reused);
	}
	metric(b, "hermes_http_upstream_tls_handshakes_total", "counter",
	       "TLS handshakes completed with origins (upstream_protocol h2, upstream_tls, https:// proxy targets).",
	       s->http_tls_conns);
	metric(b, "hermes_http_upstream_tls_failures_total", "counter",
	       "TLS handshakes with origins that failed (certificate, name, ALPN, close or timeout).",
	       s->http_tls_failures);
	metric(b, "hermes_http_h2_upstream_connections_total", "counter",
	       "HTTP/2 connections opened to upstreams (upstream_protocol h2c or h2).", s->http_h2up_conns);
	metric(b, "hermes_http_h2_upstream_streams_total", "counter", "Attempts sent as HTTP/2 streams.",
	       s->http_h2up_streams);
	metric(b, "hermes_http_h2_upstream_refused_total", "counter",
	       "HTTP/2 upstream streams refused (REFUSED_STREAM or left out by a GOAWAY).", s->http_h2up_refused);
	metric(b, "hermes_http_h2_upstream_resets_total", "counter",
	       "HTTP/2 upstream streams reset before their response ended.", s->http_h2up_resets);
	metric(b, "hermes_http_h2_client_connections_total", "counter",
	       "Client connections of the http action that spoke HTTP/2 (h2c prior knowledge, or tunnel "
	       "listener sessions with proxy requests).", s->http_h2dn_conns);
	metric(b, "hermes_http_h2_client_streams_total", "counter", "Requests received as HTTP/2 streams.",
	       s->http_h2dn_streams);
	histogram(b, "hermes_http_request_seconds", "Request head read to response end, http action.",
		  &s->http_request_seconds);
}

static const char *const conn_state_names[] = {
	[CONN_CONNECTING] = "connecting", [CONN_BACKOFF] = "backoff", [CONN_RELAY] = "relay",
	[CONN_CLOSING] = "closing", [CONN_TUNNEL_HEAD] = "tunnel-head", [CONN_TUNNEL_RESP] = "tunnel-resp",
	[CONN_TUNNEL_WAIT] = "tunnel-wait",
};

/* hermesd's own view of its flows, for hermes-top and scripts. */
static void flows_body(struct loop *lp, struct sbuf *b)
{
	bool first = true;

	sb_printf(b, "{\"flows\":[");
	for (struct conn *c = lp->conns; c; c = c->next) {
		struct sockaddr_storage ss;
		char client[ADDR_STRLEN], dst[ADDR_STRLEN], up[ADDR_STRLEN] = "";
		socklen_t len = sizeof(ss);

		addr_from_hermes(&c->peer, &ss);
		addr_fmt((struct sockaddr *)&ss, client, sizeof(client));
		addr_from_hermes(&c->eps[c->attempts ? (c->attempts - 1) % c->n_eps : 0], &ss);
		addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
		if (c->ufd >= 0 && !getsockname(c->ufd, (struct sockaddr *)&ss, &len))
			addr_fmt((struct sockaddr *)&ss, up, sizeof(up));
		sb_printf(b,
			  "%s{\"id\":%llu,\"client\":\"%s\",\"orig_dst\":\"%s\",\"upstream_local\":\"%s\","
			  "\"engine\":\"%s\",\"state\":\"%s\",\"attempts\":%u,\"bytes_up\":%llu,\"bytes_down\":%llu,"
			  "\"age_ms\":%llu,\"app_cookie\":%llu,\"pid\":%u,\"uid\":%u}",
			  first ? "" : ",", (unsigned long long)c->id, client, dst, up,
			  c->state == CONN_RELAY || c->state == CONN_CLOSING ? config_relay_name(c->engine) : "none",
			  conn_state_names[c->state], c->attempts, (unsigned long long)c->h[0].bytes,
			  (unsigned long long)c->h[1].bytes, (unsigned long long)(lp->now_ms - c->started_ms),
			  (unsigned long long)c->app_cookie, c->app_pid, c->app_uid);
		first = false;
	}
	sb_printf(b, "]}\n");
}

static void sb_json_str(struct sbuf *b, const char *s);
static void http_routes_body(const struct hermes_config *cfg, struct sbuf *b, bool text);

/* The config's tunnel routes and http routes, as JSON or as tables for hermesctl routes. */
static void routes_body(struct loop *lp, struct sbuf *b, bool text)
{
	const struct hermes_config *cfg = lp->cfg;

	if (text)
		sb_printf(b, "%-20s %-40s %s\n", "NAME", "MATCH", "PEERS");
	else
		sb_printf(b, "{\"routes\":[");
	for (int i = 0; i < cfg->n_routes; i++) {
		const struct cfg_route *r = &cfg->routes[i];
		char m[64], p[ADDR_STRLEN], match[512] = "", peers[2048] = "", protos[512] = "";
		size_t ml = 0, pl = 0, ql = 0;

		for (int j = 0; j < r->n_match && ml < sizeof(match); j++) {
			pol_fmt_match(&r->match[j], m, sizeof(m));
			ml += (size_t)snprintf(match + ml, sizeof(match) - ml, text ? "%s%s" : "%s\"%s\"", j ? "," : "", m);
		}
		for (int j = 0; j < r->n_peers && pl < sizeof(peers) && ql < sizeof(protos); j++) {
			const struct cfg_peer *pe = &r->peers[j];
			/* as a URL-like word: h1://, h1s:// (TLS), h2:// (TLS), h2c://, h2-post[s]://ADDR/PATH */
			const char *scheme = pe->proto == TPROTO_H1 ? (pe->tls ? "h1s" : "h1")
					     : pe->proto == TPROTO_H2 ? (pe->tls ? "h2" : "h2c")
					     : (pe->tls ? "h2-posts" : "h2-post");

			addr_fmt((const struct sockaddr *)&pe->addr.ss, p, sizeof(p));
			if (text)
				pl += (size_t)snprintf(peers + pl, sizeof(peers) - pl, "%s%s://%s%s", j ? "," : "", scheme,
						       p, pe->path);
			else
				pl += (size_t)snprintf(peers + pl, sizeof(peers) - pl, "%s\"%s\"", j ? "," : "", p);
			ql += (size_t)snprintf(protos + ql, sizeof(protos) - ql, "%s\"%s\"", j ? "," : "", scheme);
		}
		if (text)
			sb_printf(b, "%-20s %-40s %s\n", r->name, match, peers);
		else
			sb_printf(b, "%s{\"name\":\"%s\",\"match\":[%s],\"peers\":[%s],\"protocols\":[%s],\"line\":%d}",
				  i ? "," : "", r->name, match, peers, protos, r->line);
	}
	http_routes_body(cfg, b, text);
}

/* The http action's routes (first match wins), after the tunnel routes: their own
 * table in text, "http_routes" in JSON. */
static void http_routes_body(const struct hermes_config *cfg, struct sbuf *b, bool text)
{
	static const char *const protos[] = { [HPROTO_H1] = "h1", [HPROTO_H2C] = "h2c", [HPROTO_H2] = "h2",
					      [HPROTO_H1_TLS] = "h1-tls" };

	if (text)
		sb_printf(b, "\n%-20s %-24s %-16s %-7s %s\n", "HTTP ROUTE", "HOST", "PATH", "PROTO", "ENDPOINTS");
	else
		sb_printf(b, "],\"http_routes\":[");
	for (int i = 0; i < cfg->n_http_routes; i++) {
		const struct cfg_http_route *r = &cfg->http_routes[i];
		char ep[ADDR_STRLEN];

		if (text) {
			sb_printf(b, "%-20s %-24s %-16s %-7s ", r->name, r->host[0] ? r->host : "*",
				  r->path_prefix[0] ? r->path_prefix : "/", protos[r->proto]);
			for (int j = 0; j < r->n_eps; j++)
				sb_printf(b, "%s%s", j ? "," : "", addr_fmt((const struct sockaddr *)&r->eps[j].ss, ep, sizeof(ep)));
			sb_printf(b, "%s\n", r->n_match_headers ? " (and headers)" : "");
			continue;
		}
		sb_printf(b, "%s{\"name\":", i ? "," : "");
		sb_json_str(b, r->name);
		sb_printf(b, ",\"host\":");
		sb_json_str(b, r->host);
		sb_printf(b, ",\"path_prefix\":");
		sb_json_str(b, r->path_prefix);
		sb_printf(b, ",\"match_headers\":{");
		for (int j = 0; j < r->n_match_headers; j++) {
			sb_printf(b, "%s", j ? "," : "");
			sb_json_str(b, r->match_headers[j].name);
			sb_printf(b, ":");
			sb_json_str(b, r->match_headers[j].value);
		}
		sb_printf(b, "},\"endpoints\":[");
		for (int j = 0; j < r->n_eps; j++)
			sb_printf(b, "%s\"%s\"", j ? "," : "", addr_fmt((const struct sockaddr *)&r->eps[j].ss, ep, sizeof(ep)));
		sb_printf(b, "],\"protocol\":\"%s\",\"line\":%d}", protos[r->proto], r->line);
	}
	if (!text)
		sb_printf(b, "]}\n");
}

/* A JSON string of s (paths and names from the config: escape what JSON needs). */
static void sb_json_str(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			sb_printf(b, "\\u%04x", (unsigned char)*s);
		else
			sb_printf(b, "%c", *s);
	}
	sb_printf(b, "\"");
}

static void sb_json_addr(struct sbuf *b, const char *key, const struct cfg_sockaddr *a)
{
	char buf[ADDR_STRLEN];

	if (a->len)
		sb_printf(b, "\"%s\":\"%s\",", key, addr_fmt((const struct sockaddr *)&a->ss, buf, sizeof(buf)));
	else
		sb_printf(b, "\"%s\":null,", key);
}

/* The running configuration, as hermesd applies it (file + command line + defaults).
 * Secrets stay out: the TLS key is named by path only. */
static void config_body(struct loop *lp, struct sbuf *b)
{
	const struct hermes_config *c = lp->cfg;

	sb_printf(b, "{\"source\":");
	sb_json_str(b, c->source);
	sb_printf(b, ",\"cgroup\":");
	sb_json_str(b, c->cgroup);
	sb_printf(b, ",\"pin_root\":");
	sb_json_str(b, c->pin_root);
	sb_printf(b, ",\"listeners\":{");
	sb_json_addr(b, "outbound", &c->listen);
	sb_json_addr(b, "outbound6", &c->listen6);
	sb_json_addr(b, "admin", &c->admin);
	sb_json_addr(b, "tunnel", &c->tunnel);
	sb_json_addr(b, "metrics", &c->metrics);
	sb_json_addr(b, "inbound", &c->inbound.listen);
	sb_json_addr(b, "inbound6", &c->inbound.listen6);
	if (b->len && b->p[b->len - 1] == ',')
		b->len--; /* the last comma */
	sb_printf(b, "},\"proxy\":{\"connect_timeout_ms\":%u,\"connect_attempts\":%u,\"backoff_base_ms\":%u,"
		     "\"backoff_max_ms\":%u,\"idle_timeout_ms\":%u,\"drain_timeout_ms\":%u,\"relay\":\"%s\","
		     "\"sk_msg\":%s},",
		  c->connect_timeout_ms, c->connect_attempts, c->backoff_base_ms, c->backoff_max_ms, c->idle_timeout_ms,
		  c->drain_timeout_ms, config_relay_name(c->relay), c->sk_msg ? "true" : "false");
	sb_printf(b, "\"flow_table\":%s,\"mark\":%u,\"log_level\":%d,\"log_format\":\"%s\",\"access_log\":",
		  c->flow_table ? "true" : "false", c->mark, (int)c->log_level, log_format_name(log_get_format()));
	sb_json_str(b, c->access_log);
	sb_printf(b, ",");
	sb_printf(b, "\"tls\":");
	if (c->tls.cert[0]) {
		sb_printf(b, "{\"cert\":");
		sb_json_str(b, c->tls.cert);
		sb_printf(b, ",\"key\":");
		sb_json_str(b, c->tls.key);
		sb_printf(b, ",\"ca\":");
		sb_json_str(b, c->tls.ca);
		sb_printf(b, "}");
	} else {
		sb_printf(b, "null");
	}
	sb_printf(b, ",\"tunnel\":{\"h2_max_streams\":%u,\"h2_pool_mbps\":%u,\"allow_cleartext\":%s,\"post_path\":",
		  c->h2_max_streams, c->h2_pool_mbps, c->tunnel_allow_cleartext ? "true" : "false");
	sb_json_str(b, c->tunnel_post_path);
	sb_printf(b, "},\"inbound\":{\"on\":%s,\"protect\":[", c->inbound.on ? "true" : "false");
	for (int i = 0; i < c->inbound.n_protect; i++)
		sb_printf(b, "%s%u", i ? "," : "", c->inbound.protect[i]);
	sb_printf(b, "]},\"counts\":{\"policy_rules\":%d,\"endpoints\":%d,\"routes\":%d,\"tunnel_access\":%d,"
		     "\"http_routes\":%d,\"tc_interfaces\":%d}}\n",
		  c->n_rules, c->n_endpoints, c->n_routes, c->n_access, c->n_http_routes, c->n_tc_ifaces);
}

/* ---- /metrics beyond the loop's counters: process, build, reloads, maps, labels ---- */

static void gauge_d(struct sbuf *b, const char *name, const char *type, const char *help, double v)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name, type, name, v);
}

static int count_rule(const struct hermes_policy_key *k, const struct hermes_policy_val *v, void *arg)
{
	uint64_t *n = arg;

	(void)k;
	n[v->origin == HERMES_ORIGIN_CONFIG ? 1 : 0]++;
	return 0;
}

/* Entries in a hash map, read in batches (one syscall per 4096, not one per key: the
 * flow table can hold 65536 and the loop waits meanwhile). -errno on failure. */
static long map_entries(int fd, size_t key_size, size_t value_size)
{
	enum { CHUNK = 4096 };
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	void *keys = malloc(CHUNK * key_size), *vals = malloc(CHUNK * value_size);
	uint64_t in = 0, out = 0;
	long total = 0;
	bool first = true;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (;;) {
		uint32_t count = CHUNK;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &opts);

		if (err && err != -ENOENT) {
			total = err;
			break;
		}
		total += count;
		if (err) /* -ENOENT: the last batch */
			break;
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
	return total;
}

static void process_body(struct loop *lp, struct sbuf *b)
{
	struct proc_stats p;

	if (proc_stats_read(&p))
		return;
	gauge_d(b, "process_start_time_seconds", "gauge", "Start time of hermesd since the Unix epoch, in seconds.",
		p.start_time);
	gauge_d(b, "process_cpu_seconds_total", "counter", "User and system CPU time hermesd spent, in seconds.",
		p.cpu_seconds);
	metric(b, "process_resident_memory_bytes", "gauge", "Resident memory of hermesd, in bytes.", p.resident_bytes);
	metric(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size of hermesd, in bytes.", p.virtual_bytes);
	/* like the flow table: 35 ms at 20000 descriptors (measured), so reused for a while */
	if (!lp->st.open_fds_ms || lp->now_ms - lp->st.open_fds_ms >= SLOW_COUNT_MAX_AGE_MS || lp->st.open_fds < 0) {
		lp->st.open_fds = proc_count_fds();
		lp->st.open_fds_ms = lp->now_ms;
	}
	if (lp->st.open_fds >= 0)
		metric(b, "process_open_fds", "gauge", "Open file descriptors of hermesd, counted at most every 5 s.",
		       (uint64_t)lp->st.open_fds);
	metric(b, "process_max_fds", "gauge", "hermesd's limit of open file descriptors (RLIMIT_NOFILE).", p.max_fds);
}

static void labels_body(struct loop *lp, struct sbuf *b)
{
	static const char *const results[PEER_NRESULTS] = {
		[PEER_ESTABLISHED] = "established", [PEER_REFUSED] = "refused", [PEER_DENIED] = "denied",
		[PEER_TIMEOUT] = "timeout", [PEER_RESET] = "reset", [PEER_ERROR] = "error",
	};
	const struct mlabels *rc = &lp->st.http_route_codes, *pr = &lp->st.tunnel_peer_results;

	sb_printf(b, "# HELP hermes_http_route_responses_total Responses sent to clients of the http action, by "
		     "http route (\"-\": no route matched, or refused before routing) and status class.\n"
		     "# TYPE hermes_http_route_responses_total counter\n");
	for (int i = 0; i < rc->n; i++)
		for (unsigned k = 0; k < 5; k++)
			sb_printf(b, "hermes_http_route_responses_total{route=\"%s\",code=\"%uxx\"} %llu\n",
				  rc->e[i].name, k + 1, (unsigned long long)rc->e[i].v[k]);
	sb_printf(b, "# HELP hermes_tunnel_peer_attempts_total Tunnel client attempts at a route's peer "
		     "(next hop), by result.\n# TYPE hermes_tunnel_peer_attempts_total counter\n");
	for (int i = 0; i < pr->n; i++)
		for (unsigned k = 0; k < PEER_NRESULTS; k++)
			sb_printf(b, "hermes_tunnel_peer_attempts_total{peer=\"%s\",result=\"%s\"} %llu\n",
				  pr->e[i].name, results[k], (unsigned long long)pr->e[i].v[k]);
}

/* What /metrics adds to stats_body's families. */
static void metrics_body(struct loop *lp, struct sbuf *b)
{
	const struct loop_stats *s = &lp->st;

	sb_printf(b, "# HELP hermes_build_info hermesd's version and git commit (always 1).\n"
		     "# TYPE hermes_build_info gauge\n"
		     "hermes_build_info{version=\"%s\",commit=\"%s\"} 1\n", hermes_version, hermes_commit);
	process_body(lp, b);
	sb_printf(b, "# HELP hermes_config_reloads_total Configuration reloads (SIGHUP), by result.\n"
		     "# TYPE hermes_config_reloads_total counter\n"
		     "hermes_config_reloads_total{result=\"ok\"} %llu\n"
		     "hermes_config_reloads_total{result=\"failed\"} %llu\n",
		  (unsigned long long)s->reloads_ok, (unsigned long long)s->reloads_failed);
	metric(b, "hermes_config_last_reload_success", "gauge",
	       "1 if the last reload applied the file (or none was made since the start), 0 if it failed.",
	       !s->last_reload_failed);
	gauge_d(b, "hermes_config_last_reload_timestamp_seconds", "gauge",
		"When the last reload was tried (the start time before any), seconds since the Unix epoch.",
		s->last_reload_time);
	gauge_d(b, "hermes_config_last_reload_success_timestamp_seconds", "gauge",
		"When a reload last succeeded (the start time before any), seconds since the Unix epoch.",
		s->last_reload_ok_time);
	{
		uint64_t n[2] = { 0, 0 };

		if (lp->ld->policy_fd >= 0 && !pol_map_foreach(lp->ld->policy_fd, count_rule, n))
			sb_printf(b, "# HELP hermes_policy_rules Rules in the pinned policy map hermes_policy, by who "
				     "wrote them (config: hermesd's file; manual: hermesctl or bpftool).\n"
				     "# TYPE hermes_policy_rules gauge\n"
				     "hermes_policy_rules{origin=\"config\"} %llu\nhermes_policy_rules{origin=\"manual\"} %llu\n",
				  (unsigned long long)n[1], (unsigned long long)n[0]);
	}
	if (lp->ld->flows_fd >= 0) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);

		/* 20 ms for a full table (65536, measured) */
		if (!lp->st.flow_count_ms || lp->now_ms - lp->st.flow_count_ms >= SLOW_COUNT_MAX_AGE_MS ||
		    lp->st.flow_count < 0) {
			lp->st.flow_count = map_entries(lp->ld->flows_fd, sizeof(uint64_t), sizeof(struct hermes_flow));
			lp->st.flow_count_ms = lp->now_ms;
		}
		if (lp->st.flow_count >= 0 && !bpf_obj_get_info_by_fd(lp->ld->flows_fd, &info, &len)) {
			metric(b, "hermes_flow_table_entries", "gauge",
			       "Entries in the kernel flow table hermes_flows (open and recently closed flows), "
			       "counted at most every 5 s.", (uint64_t)lp->st.flow_count);
			metric(b, "hermes_flow_table_max_entries", "gauge",
			       "Capacity of hermes_flows: beyond it the least recently used entries are evicted.",
			       info.max_entries);
		}
	}
	sb_printf(b, "# HELP hermes_tunnel_cleartext_refused_total Clear-text connections refused by the tunnel "
		     "listener because tls is set and tunnel.allow_cleartext is not, by protocol.\n"
		     "# TYPE hermes_tunnel_cleartext_refused_total counter\n"
		     "hermes_tunnel_cleartext_refused_total{protocol=\"http1\"} %llu\n"
		     "hermes_tunnel_cleartext_refused_total{protocol=\"h2c\"} %llu\n",
		  (unsigned long long)s->tunnel_cleartext_refused[0], (unsigned long long)s->tunnel_cleartext_refused[1]);
	labels_body(lp, b);
}

int metrics_config(struct loop *lp)
{
	const struct hermes_config *cfg = lp->cfg;
	char (*names)[MLABEL_LEN];
	int n = 0, cap = cfg->n_http_routes + 1, n_peers = 0, err;

	for (int i = 0; i < cfg->n_routes; i++)
		n_peers += cfg->routes[i].n_peers;
	names = calloc((size_t)(n_peers > cap ? n_peers : cap), sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (int i = 0; i < cfg->n_http_routes; i++)
		snprintf(names[n++], MLABEL_LEN, "%s", cfg->http_routes[i].name);
	snprintf(names[n++], MLABEL_LEN, "-");
	err = mlabels_set(&lp->st.http_route_codes, (const char (*)[MLABEL_LEN])names, n);
	n = 0;
	for (int i = 0; i < cfg->n_routes && !err; i++)
		for (int j = 0; j < cfg->routes[i].n_peers; j++)
			addr_fmt((const struct sockaddr *)&cfg->routes[i].peers[j].addr.ss, names[n++], MLABEL_LEN);
	if (!err)
		err = mlabels_set(&lp->st.tunnel_peer_results, (const char (*)[MLABEL_LEN])names, n);
	free(names);
	return err;
}

void metrics_http_response(struct loop *lp, const char *route, int status)
{
	uint64_t *v;

	/* a request on a route that a reload has removed since is not counted by route */
	if (status >= 100 && status < 600 && (v = mlabels_get(&lp->st.http_route_codes, route[0] ? route : "-")))
		v[status / 100 - 1]++;
}

void metrics_peer_attempt(struct loop *lp, const struct conn *c, int err)
{
	char name[ADDR_STRLEN];
	uint64_t *v;

	if (!c->tp || !c->n_eps || !c->attempts)
		return;
	addr_fmt((const struct sockaddr *)&c->tp[(c->attempts - 1) % c->n_eps].addr.ss, name, sizeof(name));
	if (!(v = mlabels_get(&lp->st.tunnel_peer_results, name)))
		return;
	v[!err ? PEER_ESTABLISHED : err == -ECONNREFUSED ? PEER_REFUSED : err == -EACCES ? PEER_DENIED :
	  err == -ETIMEDOUT ? PEER_TIMEOUT : err == -ECONNRESET ? PEER_RESET : PEER_ERROR]++;
}

static void admin_respond(struct loop *lp, struct admin_conn *a)
{
	struct sbuf body = {}, out = {};
	const char *status = "200 OK", *ctype = "text/plain; charset=utf-8";
	char method[16] = "", path[256] = "";

	lp->st.admin_requests++;
	if (sscanf(a->req, "%15s %255s", method, path) != 2) {
		status = "400 Bad Request";
		sb_printf(&body, "bad request\n");
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = "405 Method Not Allowed";
		sb_printf(&body, "only GET\n");
	} else if (!strcmp(path, "/ready")) {
		if (lp->ready && !lp->draining && !lp->ld->unhealthy[0]) {
			sb_printf(&body, "ready\n");
		} else {
			status = "503 Service Unavailable";
			sb_printf(&body, "%s\n", lp->draining ? "draining" : !lp->ready ? "starting" : lp->ld->unhealthy);
		}
	} else if (!strcmp(path, "/metrics") || !strcmp(path, "/stats")) {
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		stats_body(lp, &body);
		metrics_body(lp, &body);
	} else if (a->metrics_only) {
		status = "404 Not Found";
		sb_printf(&body, "unknown path %s: this is the metrics address (listeners.metrics), which serves only "
				 "/metrics and /ready; the rest is on the admin address\n", path);
	} else if (!strcmp(path, "/routes") || !strcmp(path, "/routes?format=text")) {
		bool text = path[7] == '?';

		ctype = text ? "text/plain; charset=utf-8" : "application/json";
		routes_body(lp, &body, text);
	} else if (!strcmp(path, "/flows")) {
		ctype = "application/json";
		flows_body(lp, &body);
	} else if (!strcmp(path, "/config")) {
		ctype = "application/json";
		config_body(lp, &body);
	} else {
		status = "404 Not Found";
		sb_printf(&body, "unknown path %s (try /ready, /metrics, /flows, /routes or /config)\n", path);
	}
	sb_printf(&out, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		  status, ctype, body.len);
	if (strcmp(method, "HEAD") && body.len)
		sb_printf(&out, "%.*s", (int)body.len, body.p);
	free(body.p);
	if (out.oom || !out.p) {
		free(out.p);
		a->closing = true;
		return;
	}
	a->resp = out.p;
	a->resp_len = out.len;
	io_uring_prep_send(loop_sqe(lp, a, OP_ADMIN_SEND), a->fd, a->resp, a->resp_len, MSG_NOSIGNAL);
	a->inflight++;
}

void admin_handle(struct loop *lp, void *obj, enum op op, const struct io_uring_cqe *cqe)
{
	struct admin_conn *a = obj;

	a->inflight--;
	if (a->closing) {
		if (!a->inflight)
			admin_free(lp, a);
		return;
	}
	if (op == OP_ADMIN_RECV) {
		if (cqe->res <= 0) {
			a->closing = true;
		} else {
			a->got += (size_t)cqe->res;
			a->req[a->got] = 0;
			if (strstr(a->req, "\r\n\r\n") || strstr(a->req, "\n\n"))
				admin_respond(lp, a);
			else if (a->got >= ADMIN_REQ_MAX - 1)
				a->closing = true;
			else
				admin_recv(lp, a);
		}
	} else if (op == OP_ADMIN_SEND) {
		if (cqe->res <= 0) {
			a->closing = true;
		} else {
			a->resp_off += (size_t)cqe->res;
			if (a->resp_off < a->resp_len) {
				io_uring_prep_send(loop_sqe(lp, a, OP_ADMIN_SEND), a->fd, a->resp + a->resp_off,
						   a->resp_len - a->resp_off, MSG_NOSIGNAL);
				a->inflight++;
			} else {
				shutdown(a->fd, SHUT_WR);
				a->closing = true;
			}
		}
	}
	if (a->closing && !a->inflight)
		admin_free(lp, a);
}

void admin_tick(struct loop *lp)
{
	for (struct admin_conn *a = lp->admins; a; a = a->next) {
		if (!a->closing && lp->now_ms - a->started_ms > ADMIN_TIMEOUT_MS) {
			a->closing = true;
			io_uring_prep_cancel_fd(loop_sqe(lp, a, OP_ADMIN_CLOSE), a->fd, IORING_ASYNC_CANCEL_ALL);
			a->inflight++;
		}
	}
}
