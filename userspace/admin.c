/* admin.c: the admin HTTP endpoint (127.0.0.1:15000 by default) on the same io_uring
 * loop: GET /ready, /metrics (Prometheus text format 0.0.4; /stats is the same), /flows,
 * /routes and /config (JSON), and POST /cache/purge?url=URL (the HTTP cache's stored
 * responses of one URL removed). One request per connection, answered and closed: it serves
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
#include "buf.h"
#include "config.h"
#include "hermes/flow.h"
#include "hcache.h"
#include "http.h"
#include "life.h"
#include "log.h"
#include "fdres.h"
#include "conn.h"
#include "http-t.h"
#include "admin.h"
#include "admin-int.h"
#include "ring.h"
#include "metrics.h"
#include "policy.h"
#include "sess-t.h"
#include "stats.h"
#include "udp.h"
#include "version.h"

#define ADMIN_REQ_MAX 4096

struct admin_conn {
	struct list link;    /* lp->admins */
	int fd;
	struct life life;
	bool metrics_only;   /* accepted on the metrics address */
	struct loop_op op_recv, op_send; /* the request's recv, the response's send */
	struct loop_op op_close; /* cancel of both after listeners.admin_timeout_ms (slow clients) */
	uint64_t started_ms;
	size_t got;
	struct rxbuf resp;   /* the response, sent from resp.off */
	char req[ADMIN_REQ_MAX];
};

static void admin_free(struct admin_conn *a)
{
	list_del(&a->link);
	close(a->fd);
	rx_free(&a->resp);
	free(a);
}

static loop_done_fn admin_recv_done, admin_send_done;

static void admin_recv(struct loop *lp, struct admin_conn *a)
{
	io_uring_prep_recv(loop_sqe(lp, &a->op_recv, admin_recv_done), a->fd, a->req + a->got, ADMIN_REQ_MAX - 1 - a->got, 0);
	life_hold(&a->life, 1);
}

static void accept_conn(struct loop *lp, int fd, bool metrics_only)
{
	struct admin_conn *a = calloc(1, sizeof(*a));

	if (!a) {
		close(fd);
		return;
	}
	a->fd = fd;
	a->metrics_only = metrics_only;
	a->started_ms = lp->now_ms;
	list_add(&lp->admins, &a->link);
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

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (hb_vprintf(&b->h, fmt, ap))
		b->oom = true;
	va_end(ap);
}

static const char *const conn_state_names[] = {
	[CONN_CONNECTING] = "connecting", [CONN_BACKOFF] = "backoff", [CONN_RELAY] = "relay",
	[CONN_CLOSING] = "closing", [CONN_TUNNEL_HEAD] = "tunnel-head", [CONN_TUNNEL_RESP] = "tunnel-resp",
	[CONN_TUNNEL_WAIT] = "tunnel-wait",
};

static void sb_json_str(struct sbuf *b, const char *s);

static const char *const hc_state_names[] = {
	[HC_HEAD] = "head", [HC_BODY] = "body", [HC_WAIT] = "wait", [HC_BACKOFF] = "backoff",
	[HC_RESP] = "resp", [HC_LINGER] = "linger", [HC_CLOSING] = "closing", [HC_H2] = "h2",
};

/* Where an attempt's upstream connection is: connecting, sending the request, waiting for
 * (or reading) the response, or none yet. */
static const char *hup_phase(const struct hup *u)
{
	if (!u)
		return "none";
	if (u->state == HUP_CONNECTING)
		return "connecting";
	if (u->tls && !u->tls->x.hs_done)
		return "tls-handshake";
	if (u->send_inflight || u->woff < u->wlen || u->wq.len)
		return "sending";
	return "response";
}

/* An http action client connection in /flows: the fields every flow has (engine "http",
 * state the exchange's), and "exchange", where its current request sits. */
static void http_flow_json(struct loop *lp, struct sbuf *b, const struct hconn *x)
{
	struct sockaddr_storage ss;
	char client[ADDR_STRLEN], dst[ADDR_STRLEN], up[ADDR_STRLEN] = "";
	socklen_t len = sizeof(ss);
	const struct hup *u = x->in_request ? x->up : NULL;
	uint64_t since = x->in_request ? x->req_start_ms : x->idle_since_ms;
	uint64_t age = since && lp->now_ms > since ? lp->now_ms - since : 0;
	const char *st = (unsigned)x->state < sizeof(hc_state_names) / sizeof(hc_state_names[0]) &&
				 hc_state_names[x->state] ? hc_state_names[x->state] : "?";

	addr_from_hermes(&x->peer, &ss);
	addr_fmt((struct sockaddr *)&ss, client, sizeof(client));
	addr_from_hermes(&x->dst, &ss);
	addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
	if (u && u->fd >= 0 && !getsockname(u->fd, (struct sockaddr *)&ss, &len))
		addr_fmt((struct sockaddr *)&ss, up, sizeof(up));
	sb_printf(b,
		  "{\"id\":%llu,\"client\":\"%s\",\"orig_dst\":\"%s\",\"upstream_local\":\"%s\","
		  "\"engine\":\"http\",\"state\":\"%s\",\"attempts\":%u,\"bytes_up\":%llu,\"bytes_down\":%llu,"
		  "\"age_ms\":%llu,\"app_cookie\":0,\"pid\":%u,\"uid\":%u,",
		  (unsigned long long)x->id, client, dst, up, st, x->attempts,
		  (unsigned long long)x->req_bytes_in, (unsigned long long)x->req_bytes_out,
		  (unsigned long long)age, x->app.pid, x->app.uid);
	sb_printf(b, "\"exchange\":{\"state\":\"%s\",\"in_request\":%s,\"method\":", st,
		  x->in_request ? "true" : "false");
	sb_json_str(b, x->in_request ? x->method : "");
	sb_printf(b, ",\"path\":");
	sb_json_str(b, x->in_request ? x->path : "");
	sb_printf(b,
		  ",\"bytes_in\":%llu,\"bytes_out\":%llu,\"body_bytes\":%zu,\"body_left\":%lld,"
		  "\"request_read\":%s,\"buffered\":%s,\"streaming\":%s,\"attempts\":%u,\"retries\":%u,"
		  "\"upstream\":\"%s\",\"upstream_reused\":%s,\"upstream_unsent\":%zu,\"status\":%d,"
		  "\"client_recv\":%s,\"client_send\":%s,\"client_unsent\":%zu,\"descriptor_wait_ms\":%llu,"
		  "\"timer_in_ms\":%lld,\"age_ms\":%llu}}",
		  (unsigned long long)x->req_bytes_in, (unsigned long long)x->req_bytes_out, x->body_bytes,
		  x->req_left, x->req_done ? "true" : "false", x->buffered ? "true" : "false",
		  x->streaming ? "true" : "false", x->attempts, x->retries, hup_phase(u),
		  u && u->reused ? "true" : "false", u ? u->wlen - u->woff + u->wq.len : 0, x->status,
		  x->recv_armed ? "true" : "false", x->send_inflight ? "true" : "false", x->slen - x->soff,
		  (unsigned long long)(x->fd_wait_since_ms ? lp->now_ms - x->fd_wait_since_ms : 0),
		  x->timer_armed ? (long long)x->timer_at_ms - (long long)lp->now_ms : -1LL,
		  (unsigned long long)age);
}

struct udp_json {
	struct sbuf *b;
	bool *first;
};

/* A UDP flow of the relay in /flows: the fields every flow has (engine "udp", state
 * "relay", or "kernel" for a kernel-path flow, udp_kpath.c; app_cookie 0: the kernel
 * flow table has no UDP entries), and its protocol. */
static void udp_flow_json(const struct udp_flow_info *i, void *arg)
{
	struct udp_json *u = arg;
	struct sockaddr_storage ss;
	char client[ADDR_STRLEN], dst[ADDR_STRLEN], up[ADDR_STRLEN] = "", comm[HERMES_COMM_LEN + 1];
	socklen_t len = sizeof(ss);
	size_t k;

	/* a command name is the process's to choose: nothing in it may end the JSON string */
	for (k = 0; k < HERMES_COMM_LEN && i->comm[k]; k++)
		comm[k] = (unsigned char)i->comm[k] < 0x20 || i->comm[k] == '"' || i->comm[k] == '\\' ? '?' : i->comm[k];
	comm[k] = 0;
	addr_fmt(i->app, client, sizeof(client));
	addr_from_hermes(&i->dst, &ss);
	addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
	if (i->upstream_fd >= 0 && !getsockname(i->upstream_fd, (struct sockaddr *)&ss, &len))
		addr_fmt((struct sockaddr *)&ss, up, sizeof(up));
	sb_printf(u->b,
		  "%s{\"id\":%llu,\"protocol\":\"udp\",\"action\":\"%s\",\"client\":\"%s\",\"orig_dst\":\"%s\",\"upstream_local\":\"%s\","
		  "\"engine\":\"udp\",\"state\":\"%s\",\"attempts\":1,\"bytes_up\":%llu,\"bytes_down\":%llu,"
		  "\"age_ms\":%llu,\"idle_ms\":%llu,\"slot\":%u,\"app_cookie\":0,\"pid\":%u,\"uid\":%u,\"comm\":\"%s\"}",
		  *u->first ? "" : ",", (unsigned long long)i->id, pol_action_name(i->action), client, dst, up,
		  i->kernel ? "kernel" : "relay", (unsigned long long)i->bytes_up,
		  (unsigned long long)i->bytes_down, (unsigned long long)i->age_ms, (unsigned long long)i->idle_ms,
		  i->slot, i->pid, i->uid, comm);
	*u->first = false;
}

/* hermesd's own view of its flows, for hermes-top and scripts: proxy and tunnel flows,
 * then the http action's client connections (HTTP/2 ones as one entry, state "h2"), then
 * the UDP relay's flows ("protocol": "udp"; the others are TCP). */
static void flows_body(struct loop *lp, struct sbuf *b)
{
	bool first = true;
	struct udp_json uj = { b, &first };

	sb_printf(b, "{\"flows\":[");
	struct conn *c;

	list_for_each(c, &lp->conns, link) {
		struct sockaddr_storage ss;
		char client[ADDR_STRLEN], dst[ADDR_STRLEN], up[ADDR_STRLEN] = "";
		socklen_t len = sizeof(ss);

		if (c->quiet)
			continue;

		addr_from_hermes(&c->peer, &ss);
		addr_fmt((struct sockaddr *)&ss, client, sizeof(client));
		addr_from_hermes(&c->eps[c->cur_ep], &ss);
		addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
		int ufd = c->r.ep[1] ? c->r.ep[1]->ops->sock(c->r.ep[1]) : -1;

		if (ufd >= 0 && !getsockname(ufd, (struct sockaddr *)&ss, &len))
			addr_fmt((struct sockaddr *)&ss, up, sizeof(up));
		sb_printf(b,
			  "%s{\"id\":%llu,\"client\":\"%s\",\"orig_dst\":\"%s\",\"upstream_local\":\"%s\","
			  "\"engine\":\"%s\",\"state\":\"%s\",\"attempts\":%u,\"bytes_up\":%llu,\"bytes_down\":%llu,"
			  "\"age_ms\":%llu,\"app_cookie\":%llu,\"pid\":%u,\"uid\":%u,\"protocol\":\"%s\"}",
			  first ? "" : ",", (unsigned long long)c->id, client, dst, up,
			  c->state == CONN_RELAY || c->state == CONN_CLOSING ? config_relay_name(c->engine) : "none",
			  conn_state_names[c->state], c->attempts, (unsigned long long)conn_bytes(c, 0),
			  (unsigned long long)conn_bytes(c, 1), (unsigned long long)(lp->now_ms - c->started_ms),
			  (unsigned long long)c->app_cookie, c->app_pid, c->app_uid, c->udp ? "udp" : "tcp");
		first = false;
	}
	if (lp->http) {
		const struct hconn *x;

		list_for_each(x, &lp->http->conns, link) {
			sb_printf(b, first ? "" : ",");
			http_flow_json(lp, b, x);
			first = false;
		}
	}
	udp_flows_foreach(lp, udp_flow_json, &uj);
	sb_printf(b, "]}\n");
}

static void http_routes_body(struct loop *lp, struct sbuf *b, bool text);

/* A target's outlier state for /routes: appended to the text's peer word, and its
 * entry of "ejected_ms" in JSON (null: in rotation; else the ms until its probe may go,
 * 0 when due). o may be NULL (no memory yet: in rotation). */
static void outlier_note(const struct outlier *o, uint64_t now_ms, char *txt, size_t tl, char *js, size_t jl,
			 bool first)
{
	uint64_t left = o && o->ejections && o->until_ms > now_ms ? o->until_ms - now_ms : 0;

	if (!o || !o->ejections) {
		snprintf(txt, tl, "%s", "");
		snprintf(js, jl, "%snull", first ? "" : ",");
		return;
	}
	if (left)
		snprintf(txt, tl, "(ejected,%llums)", (unsigned long long)left);
	else
		snprintf(txt, tl, "(ejected,probe)");
	snprintf(js, jl, "%s%llu", first ? "" : ",", (unsigned long long)left);
}

/* The config's tunnel routes and http routes, as JSON or as tables for hermesctl routes;
 * each peer and endpoint with its outlier state (outlier.h). */
static void routes_body(struct loop *lp, struct sbuf *b, bool text)
{
	const struct hermes_config *cfg = lp->cfg;

	if (text)
		sb_printf(b, "%-20s %-40s %s\n", "NAME", "MATCH", "PEERS");
	else
		sb_printf(b, "{\"routes\":[");
	for (int i = 0; i < cfg->n_routes; i++) {
		const struct cfg_route *r = &cfg->routes[i];
		char m[64], p[ADDR_STRLEN], match[512] = "", peers[2048] = "", protos[512] = "", ej[256] = "";
		char ot[40], oj[24];
		size_t ml = 0, pl = 0, ql = 0, el = 0;

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

			struct hermes_addr ha;

			addr_to_hermes((const struct sockaddr *)&pe->addr.ss, &ha);
			outlier_note(outlier_find(&lp->tunnel_peers, &ha), lp->now_ms, ot, sizeof(ot), oj, sizeof(oj), !j);
			if (el < sizeof(ej))
				el += (size_t)snprintf(ej + el, sizeof(ej) - el, "%s", oj);
			addr_fmt((const struct sockaddr *)&pe->addr.ss, p, sizeof(p));
			if (text)
				pl += (size_t)snprintf(peers + pl, sizeof(peers) - pl, "%s%s://%s%s%s", j ? "," : "", scheme,
						       p, pe->path, ot);
			else
				pl += (size_t)snprintf(peers + pl, sizeof(peers) - pl, "%s\"%s\"", j ? "," : "", p);
			ql += (size_t)snprintf(protos + ql, sizeof(protos) - ql, "%s\"%s\"", j ? "," : "", scheme);
		}
		if (text)
			sb_printf(b, "%-20s %-40s %s\n", r->name, match, peers);
		else
			sb_printf(b, "%s{\"name\":\"%s\",\"match\":[%s],\"peers\":[%s],\"protocols\":[%s],"
				  "\"ejected_ms\":[%s],\"line\":%d}",
				  i ? "," : "", r->name, match, peers, protos, ej, r->line);
	}
	http_routes_body(lp, b, text);
}

/* The http action's routes (first match wins), after the tunnel routes: their own
 * table in text, "http_routes" in JSON. */
static void http_routes_body(struct loop *lp, struct sbuf *b, bool text)
{
	const struct hermes_config *cfg = lp->cfg;
	static const char *const protos[] = { [HPROTO_H1] = "h1", [HPROTO_H2C] = "h2c", [HPROTO_H2] = "h2",
					      [HPROTO_H1_TLS] = "h1-tls" };

	if (text)
		sb_printf(b, "\n%-20s %-24s %-16s %-7s %s\n", "HTTP ROUTE", "HOST", "PATH", "PROTO", "ENDPOINTS");
	else
		sb_printf(b, "],\"http_routes\":[");
	for (int i = 0; i < cfg->n_http_routes; i++) {
		const struct cfg_http_route *r = &cfg->http_routes[i];
		char ep[ADDR_STRLEN], ot[CFG_HTTP_MAX_EPS][40], oj[CFG_HTTP_MAX_EPS][24];

		for (int j = 0; j < r->n_eps; j++) {
			struct hermes_addr ha;
			struct hep *h;

			addr_to_hermes((const struct sockaddr *)&r->eps[j].ss, &ha);
			h = lp->http ? hep_get(lp, &ha) : NULL;
			outlier_note(h ? &h->ol : NULL, lp->now_ms, ot[j], sizeof(ot[j]), oj[j], sizeof(oj[j]), !j);
		}

		if (text) {
			sb_printf(b, "%-20s %-24s %-16s %-7s ", r->name, r->host[0] ? r->host : "*",
				  r->path_prefix[0] ? r->path_prefix : "/", protos[r->proto]);
			for (int j = 0; j < r->n_eps; j++)
				sb_printf(b, "%s%s%s", j ? "," : "",
					  addr_fmt((const struct sockaddr *)&r->eps[j].ss, ep, sizeof(ep)), ot[j]);
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
		sb_printf(b, "],\"ejected_ms\":[");
		for (int j = 0; j < r->n_eps; j++)
			sb_printf(b, "%s", oj[j]);
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
	sb_printf(b, "\"admin_timeout_ms\":%u,", c->admin_timeout_ms);
	sb_json_addr(b, "inbound", &c->inbound.listen);
	sb_json_addr(b, "inbound6", &c->inbound.listen6);
	if (b->h.len && b->h.p[b->h.len - 1] == ',')
		b->h.len--; /* the last comma */
	sb_printf(b, "},\"proxy\":{\"connect_timeout_ms\":%u,\"connect_attempts\":%u,\"backoff_base_ms\":%u,"
		     "\"backoff_max_ms\":%u,\"idle_timeout_ms\":%u,\"drain_timeout_ms\":%u,\"relay\":\"%s\","
		     "\"sk_msg\":%s,\"relay_buffers\":%u,\"buffers_per_socket\":%u},",
		  c->connect_timeout_ms, c->connect_attempts, c->backoff_base_ms, c->backoff_max_ms, c->idle_timeout_ms,
		  c->drain_timeout_ms, config_relay_name(c->relay), c->sk_msg ? "true" : "false", c->relay_buffers,
		  c->buffers_per_socket);
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
		sb_printf(b, ",\"ciphersuites\":");
		sb_json_str(b, c->tls.ciphersuites);
		sb_printf(b, "}");
	} else {
		sb_printf(b, "null");
	}
	sb_printf(b, ",\"tunnel\":{\"h2_max_streams\":%u,\"h2_pool_mbps\":%u,\"h2_stream_window_bytes\":%u,"
		     "\"h2_conn_window_bytes\":%u,\"allow_cleartext\":%s,\"head_timeout_ms\":%u,\"post_path\":",
		  c->h2_max_streams, c->h2_pool_mbps, c->h2_stream_window, c->h2_conn_window,
		  c->tunnel_allow_cleartext ? "true" : "false", c->tunnel_head_timeout_ms);
	sb_json_str(b, c->tunnel_post_path);
	sb_printf(b, ",\"max_hops\":%u,\"stream_buffer_bytes\":%u,\"conn_buffer_bytes\":%u,\"total_buffer_mb\":%u,"
		     "\"client_connects_per_second\":%u,\"client_resets_per_second\":%u,\"max_client_connections\":%u",
		  c->tunnel_max_hops, c->tunnel_stream_buffer, c->tunnel_conn_buffer, c->tunnel_total_buffer_mb,
		  c->tunnel_connect_rate, c->tunnel_reset_rate, c->tunnel_client_conns);
	sb_printf(b, ",\"stream_fd_headroom_percent\":%u", c->tunnel_fd_headroom_pct);
	sb_printf(b, ",\"optimistic_data\":%s", c->tunnel_optimistic ? "true" : "false");
	sb_printf(b, ",\"udp_max_datagram_bytes\":%u,\"udp_idle_timeout_ms\":%u", c->tunnel_udp_max_dgram,
		  c->tunnel_udp_idle_ms);
	sb_printf(b, "},\"inbound\":{\"on\":%s,\"protect\":[", c->inbound.on ? "true" : "false");
	for (int i = 0; i < c->inbound.n_protect; i++)
		sb_printf(b, "%s%u", i ? "," : "", c->inbound.protect[i]);
	sb_printf(b, "]},\"counts\":{\"policy_rules\":%d,\"endpoints\":%d,\"routes\":%d,\"tunnel_access\":%d,"
		     "\"http_routes\":%d,\"tc_interfaces\":%d}}\n",
		  c->n_rules, c->n_endpoints, c->n_routes, c->n_access, c->n_http_routes, c->n_tc_ifaces);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* POST /cache/purge?url=URL (percent-encoded; '+' is a plus): {"purged":N}, 200 when
 * N > 0, 404 when nothing was stored; 400 for a URL the cache cannot key, 409 when the
 * cache is off. Returns the status. */
static const char *purge_body(struct loop *lp, const char *query, struct sbuf *b)
{
	char url[ADMIN_REQ_MAX];
	size_t n = 0;
	int rc;

	if (strncmp(query, "url=", 4)) {
		sb_printf(b, "{\"error\":\"give the URL to purge as ?url=URL-ENCODED-ABSOLUTE-URL\"}\n");
		return "400 Bad Request";
	}
	for (const char *p = query + 4; *p && *p != '&'; p++) {
		if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			url[n++] = (char)(hexval(p[1]) << 4 | hexval(p[2]));
			p += 2;
		} else {
			url[n++] = *p;
		}
	}
	url[n] = 0;
	rc = hcache_purge(lp, url, n);
	if (rc == -ENODEV) {
		sb_printf(b, "{\"error\":\"the HTTP cache is off: no store (cache.enabled is false and no http route whose cache: turns it on has had a request yet): nothing to purge\"}\n");
		return "409 Conflict";
	}
	if (rc < 0) {
		sb_printf(b, "{\"error\":");
		sb_json_str(b, "not an absolute http:// or https:// URL (with a host, no user info, no spaces)");
		sb_printf(b, ",\"url\":");
		sb_json_str(b, url);
		sb_printf(b, "}\n");
		return "400 Bad Request";
	}
	sb_printf(b, "{\"purged\":%d}\n", rc);
	return rc ? "200 OK" : "404 Not Found";
}

static void admin_respond(struct loop *lp, struct admin_conn *a)
{
	struct sbuf body = {}, out = {};
	const char *status = "200 OK", *ctype = "text/plain; charset=utf-8";
	char method[16] = "", path[ADMIN_REQ_MAX] = "";

	lp->st.admin_requests++;
	if (sscanf(a->req, "%15s %4095s", method, path) != 2) {
		status = "400 Bad Request";
		sb_printf(&body, "bad request\n");
	} else if (!a->metrics_only && !strcmp(method, "POST") &&
		   (!strcmp(path, "/cache/purge") || !strncmp(path, "/cache/purge?", 13))) {
		ctype = "application/json";
		status = purge_body(lp, path[12] ? path + 13 : "", &body);
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = "405 Method Not Allowed";
		sb_printf(&body, "only GET (and POST /cache/purge on the admin address)\n");
	} else if (!strcmp(path, "/ready")) {
		if (lp->ready && !lp->draining && !lp->ld->unhealthy[0]) {
			sb_printf(&body, "ready\n");
		} else {
			status = "503 Service Unavailable";
			sb_printf(&body, "%s\n", lp->draining ? "draining" : !lp->ready ? "starting" : lp->ld->unhealthy);
		}
	} else if (!strcmp(path, "/metrics") || !strcmp(path, "/stats")) {
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		admin_metrics_body(lp, &body);
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
		  status, ctype, body.h.len);
	if (strcmp(method, "HEAD") && body.h.len)
		sb_printf(&out, "%.*s", (int)body.h.len, body.h.p);
	hb_free(&body.h);
	if (out.oom || !out.h.p) {
		hb_free(&out.h);
		life_close(&a->life);
		return;
	}
	a->resp = (struct rxbuf){ .p = out.h.p, .len = out.h.len, .cap = out.h.cap };
	io_uring_prep_send(loop_sqe(lp, &a->op_send, admin_send_done), a->fd, a->resp.p, a->resp.len, MSG_NOSIGNAL);
	life_hold(&a->life, 1);
}

/* One of a's ops completed: true when a is closing (then freed with its last op). */
static bool admin_op_done(struct admin_conn *a)
{
	if (life_drop(&a->life)) {
		admin_free(a);
		return true;
	}
	return a->life.closing;
}

static void admin_recv_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct admin_conn *a = loop_container_of(op, struct admin_conn, op_recv);

	if (admin_op_done(a))
		return;
	if (cqe->res <= 0) {
		life_close(&a->life);
	} else {
		a->got += (size_t)cqe->res;
		a->req[a->got] = 0;
		if (strstr(a->req, "\r\n\r\n") || strstr(a->req, "\n\n"))
			admin_respond(lp, a);
		else if (a->got >= ADMIN_REQ_MAX - 1)
			life_close(&a->life);
		else
			admin_recv(lp, a);
	}
	if (life_over(&a->life))
		admin_free(a);
}

static void admin_send_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct admin_conn *a = loop_container_of(op, struct admin_conn, op_send);

	if (admin_op_done(a))
		return;
	if (cqe->res <= 0) {
		life_close(&a->life);
	} else {
		a->resp.off += (size_t)cqe->res;
		if (rx_avail(&a->resp)) {
			io_uring_prep_send(loop_sqe(lp, &a->op_send, admin_send_done), a->fd, a->resp.p + a->resp.off,
					   rx_avail(&a->resp), MSG_NOSIGNAL);
			life_hold(&a->life, 1);
		} else {
			shutdown(a->fd, SHUT_WR);
			life_close(&a->life);
		}
	}
	if (life_over(&a->life))
		admin_free(a);
}

static void admin_close_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	(void)lp;
	(void)cqe;
	admin_op_done(loop_container_of(op, struct admin_conn, op_close));
}

void admin_tick(struct loop *lp)
{
	struct admin_conn *a;

	list_for_each(a, &lp->admins, link) {
		if (!a->life.closing && lp->now_ms - a->started_ms > lp->cfg->admin_timeout_ms) {
			lp->st.slow_clients[a->metrics_only ? STATS_SLOW_METRICS : STATS_SLOW_ADMIN]++;
			life_close(&a->life);
			io_uring_prep_cancel_fd(loop_sqe(lp, &a->op_close, admin_close_done), a->fd, IORING_ASYNC_CANCEL_ALL);
			life_hold(&a->life, 1);
		}
	}
}
