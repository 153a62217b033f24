/* tunnel.c: the tunnel listener (15008), HTTP/1.1 CONNECT side. A client (another
 * hermesd, curl -p -x, any CONNECT proxy client) sends `CONNECT host:port HTTP/1.1`;
 * hermesd reads the head with the strict parser (http1.c), dials the target like the
 * proxy action does (timeout, retries, backoff), answers 200 and relays; errors get the
 * status a CONNECT client expects: 400 malformed request or authority, 403 refused
 * (tunnel_access, or a target that is hermesd itself or loopback: authz.c), 405 not
 * CONNECT, 429 over the client's tunnel.client_connects_per_second (or resets), 431/414 too large,
 * 502 target refused or unreachable, 504 timed out, 408 head too slow, 508 a loop (the
 * Hermes-Hops count every hermesd adds reached tunnel.max_hops).
 * A clear-text request in absolute form (`GET http://10.0.0.1/ HTTP/1.1`, or https://:
 * an explicit proxy client) is not a tunnel: its connection goes to the http action
 * (http.c), which serves it and the requests after it, checked by the same
 * tunnel_access rules.
 * Bytes the client sent after the head (allowed once it has the 200) are forwarded first.
 * The client side may be a socket, TLS (HTTP/1.1 CONNECT over TLS) or an HTTP/2 stream
 * (whose head sess_h2.c hands over as HTTP/1.1 text): this file reads heads from and
 * answers through the endpoint, whichever it is.
 * A CONNECT-UDP request (RFC 9298: `GET` with `Upgrade: connect-udp`, or an HTTP/2
 * extended CONNECT that sess_h2.c hands over in that form) is read by masque.c, checked
 * and authorized the same way, and relayed by a UDP endpoint (ep_udp.c) that speaks
 * the Capsule Protocol, or, when this hermesd's routes cover the target, passed on as
 * a CONNECT-UDP to the route's next hop (the two streams bridged capsule for capsule);
 * its answer is 101 (HTTP/1.1) or 200 (HTTP/2) with Capsule-Protocol: ?1. The tunnel
 * client sends CONNECT-UDP the same two ways (udp_tun.c starts such flows). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "authz.h"
#include "buf.h"
#include "config.h"
#include "conn.h"
#include "ep.h"
#include "hermes/flow.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "masque.h"
#include "overload.h"
#include "ring.h"
#include "sess.h"

static void tunnel_accept(struct loop *lp, int fd);
static void tunnel_serve(struct loop *lp, struct conn *c);
static void tunnel_parse_head(struct loop *lp, struct conn *c);

/* A CONNECT's 200 says what it did; the rest are the standard phrases. */
static const char *reason(int status)
{
	return status == 200 ? "Connection established" :
	       status == 429 ? "Too Many Requests" :
	       status == 508 ? "Loop Detected" :
			       h1_reason(status);
}

static void count_error(struct loop *lp, int status)
{
	/* the order of hermes_tunnel_errors_total's labels (stats-t.h) */
	static const int codes[] = { 400, 403, 405, 431, 502, 504, 429, 508 };

	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i] == status)
			lp->st.tunnel_errors[i]++;
}

void tunnel_reply(struct conn *c, int status)
{
	char buf[160];
	int n;

	if (status == 200 && c->udp)
		/* RFC 9298 3.2 (over HTTP/2, sess_h2.c answers 200 with capsule-protocol: ?1) */
		n = snprintf(buf, sizeof(buf), "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			     "Upgrade: connect-udp\r\n" MASQUE_CAPSULE_FIELD "\r\n\r\n");
	else if (status == 200)
		n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 %s\r\n\r\n", reason(status));
	else
		n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			     status, reason(status));
	c->reply_status = (uint16_t)status;
	if (status != 200)
		count_error(c->loop, status);
	if (c->r.ep[0])
		c->r.ep[0]->ops->reply(c->r.ep[0], status, buf, (size_t)n);
}

static void tunnel_serve(struct loop *lp, struct conn *c)
{
	c->tunnel_server = true;
	c->state = CONN_TUNNEL_HEAD;
	lp->st.tunnel_requests++;
	c->r.ep[0]->ops->read(c->r.ep[0]);
}

/* A CONNECT stream (HTTP/2) whose head sess_h2.c translated. */
static int accept_stream(struct loop *lp, struct ep *e, const struct hermes_addr *peer, char *head, size_t len)
{
	struct conn *c = conn_new(lp, -1);

	if (!c)
		return -ENOMEM;
	conn_set_client(c, e);
	c->peer = *peer;
	c->tunnel_server = true;
	c->state = CONN_TUNNEL_HEAD;
	c->head = (struct hbuf){ head, len, len };
	buf_account((long long)len); /* adopted: hb_free counts it out */
	lp->st.tunnel_requests++;
	tunnel_parse_head(lp, c);
	return 0;
}

/* HTTP/1.1 CONNECT over TLS: its head comes through the endpoint, as over TCP. */
static int accept_flow(struct loop *lp, struct ep *e, const struct hermes_addr *peer)
{
	struct conn *c = conn_new(lp, -1);

	if (!c)
		return -ENOMEM;
	conn_set_client(c, e);
	c->peer = *peer;
	tunnel_serve(lp, c);
	return 0;
}

const struct sess_acceptor tunnel_acceptor = {
	.socket = tunnel_accept,
	.stream = accept_stream,
	.flow = accept_flow,
};

static void tunnel_accept(struct loop *lp, int fd)
{
	struct conn *c = conn_new(lp, fd);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!c)
		return;
	if (!getpeername(fd, (struct sockaddr *)&ss, &len))
		addr_to_hermes((struct sockaddr *)&ss, &c->peer);
	tunnel_serve(lp, c);
}

static void fail(struct loop *lp, struct conn *c, int status, const char *why)
{
	struct sockaddr_storage ss;
	char peer[ADDR_STRLEN];

	addr_from_hermes(&c->peer, &ss);
	addr_fmt((struct sockaddr *)&ss, peer, sizeof(peer));
	log_info("tunnel conn %llu from %s: %d %s (%s)", (unsigned long long)c->id, peer, status, reason(status), why);
	tunnel_reply(c, status);
	conn_end(lp, c, false, false);
}

/* Logs who asks for what and applies tunnel_access (403 when refused). Returns non-zero
 * when the request was refused (and c is gone). */
static int tunnel_authorize(struct loop *lp, struct conn *c, const struct h1_request *req,
			    const struct sockaddr *dst_sa, const char *dst)
{
	const struct h1_header *uid_h = h1_find(req->headers, req->n_headers, "Hermes-Uid");
	const struct h1_header *pid_h = h1_find(req->headers, req->n_headers, "Hermes-Pid");
	char comm[16], why[96], uidbuf[16] = "-";
	const struct sess *s = sess_of(c->r.ep[0]);
	struct hermes_addr target;
	uint32_t uid = 0;
	bool have_uid;
	int err;

	authz_identity(req, &uid, &have_uid, comm);
	/* the app behind the previous hop, for the access log */
	c->app_uid = uid;
	memcpy(c->peer_comm, comm, sizeof(c->peer_comm));
	if (pid_h && pid_h->value.len && pid_h->value.len < 11) {
		char num[12];

		memcpy(num, pid_h->value.p, pid_h->value.len);
		num[pid_h->value.len] = 0;
		c->app_pid = (uint32_t)strtoul(num, NULL, 10);
	}
	log_info("tunnel conn %llu: %s %s for uid %.*s pid %.*s comm %s%s%s%s", (unsigned long long)c->id,
		 c->udp ? "CONNECT-UDP" : "CONNECT", dst,
		 uid_h ? (int)uid_h->value.len : 1, uid_h ? uid_h->value.p : "-", pid_h ? (int)pid_h->value.len : 1,
		 pid_h ? pid_h->value.p : "-", comm[0] ? comm : "-", s ? (s->h1 ? " over TLS" : " over h2") : "",
		 s && s->n_sans ? ", peer certificate " : "", s && s->n_sans ? s->sans[0] : "");
	addr_to_hermes(dst_sa, &target);
	err = tunnel_access(lp->cfg, &c->peer, &target, req, s ? s->sans : NULL, s ? s->n_sans : 0, why, sizeof(why));
	if (!err)
		return 0;
	if (err == AUTHZ_SELF || err == AUTHZ_LOOPBACK)
		lp->st.tunnel_target_refused[err == AUTHZ_SELF ? TUNNEL_REFUSED_SELF : TUNNEL_REFUSED_LOOPBACK]++;
	if (have_uid)
		snprintf(uidbuf, sizeof(uidbuf), "%u", uid);
	log_warn("tunnel conn %llu: %s %s for uid %s comm %s refused: %s", (unsigned long long)c->id,
		 c->udp ? "CONNECT-UDP" : "CONNECT", dst, uidbuf, comm[0] ? comm : "-", why);
	c->target = target; /* what was refused, for the access log */
	fail(lp, c, 403, why);
	return -EACCES;
}

/* Moves what the endpoint holds (up to `cap` bytes in all) to b, which grows to fit: a
 * head or an answer of a few hundred bytes takes as much memory, not `cap` (an idle flow
 * would keep a page of it touched). 0 or -ENOMEM. */
static int take_bytes(struct ep *e, struct hbuf *b, size_t cap)
{
	size_t want = ep_avail(e);

	if (want > cap - b->len)
		want = cap - b->len;
	if (!want)
		return 0;
	if (hb_reserve(b, want))
		return -ENOMEM;
	while (want) {
		const uint8_t *p;
		size_t n;

		ep_peek(e, &p, &n);
		if (n > want)
			n = want;
		memcpy(b->p + b->len, p, n);
		b->len += n;
		want -= n;
		ep_consume(e, n);
	}
	return 0;
}

void tunnel_head(struct loop *lp, struct conn *c)
{
	struct ep *e = c->r.ep[0];
	size_t had = c->head.len;

	if (take_bytes(e, &c->head, TUNNEL_HEAD_MAX)) {
		conn_end(lp, c, true, false);
		return;
	}
	if (c->head.len == had && e->eof) {
		/* the client went away before finishing its request */
		conn_end(lp, c, false, false);
		return;
	}
	c->last_active_ms = lp->now_ms;
	tunnel_parse_head(lp, c);
}

/* The hop count hermesd adds to every CONNECT it sends (1 from the first hop, one more
 * from each relay) and checks on each it receives, so that a loop of routes across
 * hosts ends at tunnel.max_hops (508) instead of going round. */
#define HOPS_FIELD "Hermes-Hops"

/* The hops a request says it crossed: 0 without the field, -EINVAL when it is not one
 * decimal number (or given twice). */
static int tunnel_hops(const struct h1_request *req)
{
	int hops = -1;

	for (unsigned i = 0; i < req->n_headers; i++) {
		const struct h1_header *h = &req->headers[i];

		if (!h1_slice_caseeq(h->name, HOPS_FIELD))
			continue;
		if (hops >= 0 || !h->value.len || h->value.len > 3)
			return -EINVAL;
		hops = 0;
		for (size_t j = 0; j < h->value.len; j++) {
			if (h->value.p[j] < '0' || h->value.p[j] > '9')
				return -EINVAL;
			hops = hops * 10 + (h->value.p[j] - '0');
		}
	}
	return hops < 0 ? 0 : hops;
}

/* A port written with a leading zero ("0080"): the parser takes it (RFC 3986 allows
 * it), but no client means it, and a check on the text ("...:80") could be fooled. */
static bool port_text_bad(struct h1_slice t)
{
	const char *colon = t.len ? memrchr(t.p, ':', t.len) : NULL;

	return colon && colon + 1 < t.p + t.len && colon[1] == '0';
}

/* Bytes the client sent after its head go back to its endpoint, read before anything it
 * sends later: by the relay once the target is up, or, on a relay hop, as optimistic data
 * with the next CONNECT (conn_connect). */
static void keep_after_head(struct conn *c)
{
	if (c->head.len > c->head_len) {
		ep_prepend(c->r.ep[0], c->head.p, c->head_len, c->head.len - c->head_len);
		buf_account(-(long long)c->head.cap); /* the endpoint's now, outside the family */
		c->head = (struct hbuf){ 0 };
	}
	hb_free(&c->head);
}

/* A relay hop passes the identity on, hop by hop, one hop more: the request's Hermes-*
 * fields become the CONNECT's to the next hop. */
static void relay_ident(struct conn *c, const struct h1_request *req, int hops)
{
	size_t cap = 32, len = 0;

	for (unsigned i = 0; i < req->n_headers; i++)
		cap += req->headers[i].name.len + req->headers[i].value.len + 4;
	free(c->ident);
	c->ident = malloc(cap);
	if (!c->ident)
		return;
	for (unsigned i = 0; i < req->n_headers; i++) {
		const struct h1_header *h = &req->headers[i];

		if (h->name.len > 7 && !strncasecmp(h->name.p, "Hermes-", 7) && !h1_slice_caseeq(h->name, HOPS_FIELD))
			len += (size_t)sprintf(c->ident + len, "%.*s: %.*s\r\n", (int)h->name.len, h->name.p,
					       (int)h->value.len, h->value.p);
	}
	sprintf(c->ident + len, HOPS_FIELD ": %d\r\n", hops + 1);
}

/* The request's hop count, checked against tunnel.max_hops (400 or 508 answered and
 * counted, then -1: c is gone). */
static int check_hops(struct loop *lp, struct conn *c, const struct h1_request *req)
{
	int hops = tunnel_hops(req);

	if (hops < 0) {
		fail(lp, c, 400, "Hermes-Hops must be one number");
		return -1;
	}
	if ((uint32_t)hops >= lp->cfg->tunnel_max_hops) {
		lp->st.tunnel_loops++;
		log_warn("tunnel conn %llu: %s %.*s refused: it crossed %d hermesd hops (tunnel.max_hops %u): a loop?",
			 (unsigned long long)c->id, c->udp ? "CONNECT-UDP" : "CONNECT", (int)req->target.len,
			 req->target.p, hops, lp->cfg->tunnel_max_hops);
		fail(lp, c, 508, "too many hops: a loop");
		return -1;
	}
	return hops;
}

/* A CONNECT-UDP request (masque.c reads it): checked, limited and authorized as a
 * CONNECT is, then either a UDP socket to the target (ep_udp.c) is its upstream, or,
 * when a route covers the target, a CONNECT-UDP to the route's next hop (a relay hop:
 * the capsules go through unchanged, the next hop applies the datagram limits). */
static void tunnel_udp_head(struct loop *lp, struct conn *c, const struct h1_request *req, int n)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char dst[ADDR_STRLEN];
	const char *why;
	int status, hops;

	if (overload_shed(lp, OVL_REFUSE_STREAMS, OVL_ACT_REFUSE_REQUEST)) {
		fail(lp, c, 503, OVL_REFUSE_WHY);
		return;
	}
	if ((status = masque_target(req, &ss, &sslen, &why))) {
		fail(lp, c, status, why);
		return;
	}
	c->udp = true;
	if ((hops = check_hops(lp, c, req)) < 0)
		return;
	c->head_len = (size_t)n;
	addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
	if (sess_client_connect(lp, &c->peer)) {
		log_debug("tunnel conn %llu: CONNECT-UDP %s: 429, over tunnel.client_connects_per_second or _resets_",
			  (unsigned long long)c->id, dst);
		tunnel_reply(c, 429);
		conn_end(lp, c, false, false);
		return;
	}
	if (tunnel_authorize(lp, c, req, (struct sockaddr *)&ss, dst))
		return;
	addr_to_hermes((struct sockaddr *)&ss, &c->target);
	if (!tunnel_route(lp, c, &c->target)) {
		relay_ident(c, req, hops);
	} else {
		c->eps[0] = c->target;
		c->n_eps = 1;
	}
	keep_after_head(c);
	conn_connect(lp, c);
}

static void tunnel_parse_head(struct loop *lp, struct conn *c)
{
	struct h1_request req;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char dst[ADDR_STRLEN];
	bool abs_tls;
	const struct h1_header *host;
	int n, hops;

	n = h1_parse_request(c->head.p, c->head.len, NULL, &req);
	if (n == 0) {
		if (c->head.len >= TUNNEL_HEAD_MAX) {
			fail(lp, c, 431, "request head too large");
			return;
		}
		if (c->r.ep[0]->eof) {
			conn_end(lp, c, false, false);
			return;
		}
		c->r.ep[0]->ops->read(c->r.ep[0]);
		return;
	}
	if (n < 0) {
		fail(lp, c, h1_error_status(n), "malformed request");
		return;
	}
	if (masque_upgrade(&req)) {
		tunnel_udp_head(lp, c, &req, n);
		return;
	}
	/* a socket can go to the http action; over TLS or HTTP/2 the request is refused */
	if (!h1_slice_eq(req.method, "CONNECT") && c->r.ep[0]->ops->sock(c->r.ep[0]) >= 0 &&
	    h1_abs_scheme(req.target, &abs_tls)) {
		/* an explicit proxy request (absolute form, in clear text): the http action
		 * serves this connection from now on, starting with the bytes read so far */
		struct hermes_addr peer = c->peer;
		struct hbuf bytes = c->head;
		int fd;

		c->head = (struct hbuf){ 0 };
		fd = conn_hand_over(lp, c);

		http_accept_fwd(lp, fd, &peer, bytes.p, bytes.len);
		hb_free(&bytes);
		return;
	}
	/* over the memory budget (stage 2 on, and a new connection's first CONNECT in stage
	 * 3): refused in HTTP (an HTTP/2 stream was refused before it got here) */
	if (h1_slice_eq(req.method, "CONNECT") && overload_shed(lp, OVL_REFUSE_STREAMS, OVL_ACT_REFUSE_REQUEST)) {
		fail(lp, c, 503, OVL_REFUSE_WHY);
		return;
	}
	if (!h1_slice_eq(req.method, "CONNECT")) {
		fail(lp, c, 405, c->r.ep[0]->ops->sock(c->r.ep[0]) < 0 ? "only CONNECT is served here" :
			    "only CONNECT and absolute-form http:// or https:// requests are served here");
		return;
	}
	if (h1_parse_authority(req.target, &ss, &sslen) || port_text_bad(req.target)) {
		fail(lp, c, 400, "authority must be IPv4:port or [IPv6]:port (port 1..65535, no leading zero)");
		return;
	}
	/* RFC 9112 3.2: a request with two Host fields is refused (one proxy could take the
	 * first, the next the second) */
	host = h1_find(req.headers, req.n_headers, "Host");
	if (host && h1_find_after(req.headers, req.n_headers, host, "Host")) {
		fail(lp, c, 400, "more than one Host field");
		return;
	}
	if ((hops = check_hops(lp, c, &req)) < 0)
		return;
	c->head_len = (size_t)n;
	addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
	if (sess_client_connect(lp, &c->peer)) {
		/* counted, and in the access log; not two more lines each (a flood of them is
		 * what this limit stops) */
		log_debug("tunnel conn %llu: CONNECT %s: 429, over tunnel.client_connects_per_second or _resets_",
			  (unsigned long long)c->id, dst);
		tunnel_reply(c, 429);
		conn_end(lp, c, false, false);
		return;
	}
	if (tunnel_authorize(lp, c, &req, (struct sockaddr *)&ss, dst))
		return;
	{
		struct hermes_addr target;

		addr_to_hermes((struct sockaddr *)&ss, &target);
		if (!tunnel_route(lp, c, &target)) {
			relay_ident(c, &req, hops);
		} else {
			c->eps[0] = target;
			c->n_eps = 1;
		}
	}
	keep_after_head(c);
	conn_connect(lp, c);
}

/* Target connected: 200 to the client; the relay then starts with the bytes it already
 * sent after its head. Returns 0, or -errno if the client cannot take the answer. */
int tunnel_established(struct loop *lp, struct conn *c)
{
	if (c->udp)
		lp->st.udp_streams++;
	tunnel_reply(c, 200);
	return 0;
}

/* ---- tunnel client: reaching a target through a route's peer ---- */

/* The route's peers, in the flow's runtime snapshot, become the endpoints to try, in
 * order (failover). */
int tunnel_route(struct loop *lp, struct conn *c, const struct hermes_addr *target)
{
	const struct cfg_route *r = config_find_route(c->rt->cfg, target);

	(void)lp;
	if (!r)
		return -ENOENT;
	c->tunnel_client = true;
	c->target = *target;
	c->n_eps = 0;
	c->tp = r->peers;
	for (int i = 0; i < r->n_peers && c->n_eps < 1 + CFG_MAX_ALTERNATES; i++) {
		addr_to_hermes((const struct sockaddr *)&r->peers[i].addr.ss, &c->eps[c->n_eps++]);
	}
	log_debug("conn %llu: route %s, %u peer(s)", (unsigned long long)c->id, r->name, c->n_eps);
	return 0;
}

/* Who opened the flow, from BPF (first hop): sent to the peer with the CONNECT. */
void tunnel_identity(struct loop *lp, struct conn *c, const struct hermes_addr *target)
{
	struct hermes_flow f;
	struct sockaddr_storage ss;
	char comm[HERMES_COMM_LEN + 1] = "", dst[ADDR_STRLEN];
	unsigned long long cgid = 0;

	if (c->app_cookie && lp->ld->flows_fd >= 0 && !bpf_map_lookup_elem(lp->ld->flows_fd, &c->app_cookie, &f)) {
		memcpy(comm, f.comm, HERMES_COMM_LEN);
		cgid = f.cgroup_id;
		/* a header value: keep it to visible ASCII */
		for (char *p = comm; *p; p++)
			if (*p < 0x21 || *p > 0x7e)
				*p = '_';
	}
	addr_from_hermes(target, &ss);
	addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
	free(c->ident);
	if (asprintf(&c->ident, "Hermes-Uid: %u\r\nHermes-Gid: %u\r\nHermes-Pid: %u\r\nHermes-Comm: %s\r\n"
		     "Hermes-Cgroup-Id: %llu\r\nHermes-Original-Dst: %s\r\n" HOPS_FIELD ": 1\r\n",
		     c->app_uid, c->app_gid, c->app_pid, comm[0] ? comm : "-", cgid, dst) < 0)
		c->ident = NULL;
}

/* Peer connected (TCP, or TLS with ALPN http/1.1): the CONNECT goes out (a few hundred
 * bytes on a fresh connection), then its answer is read into resp. */
void tunnel_send_connect(struct loop *lp, struct conn *c)
{
	struct sockaddr_storage ss;
	char dst[ADDR_STRLEN], *req = NULL;
	int n;

	addr_from_hermes(&c->target, &ss);
	addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
	if (c->udp) {
		/* RFC 9298 3.2; Host is the peer (the target is in the path) */
		char path[MASQUE_PATH_MAX], host[ADDR_STRLEN];

		masque_path(&c->target, path, sizeof(path));
		addr_from_hermes(&c->eps[c->cur_ep], &ss);
		addr_fmt((struct sockaddr *)&ss, host, sizeof(host));
		n = asprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: connect-udp\r\n"
			     MASQUE_CAPSULE_FIELD "\r\n%s\r\n", path, host, c->ident ? c->ident : "");
		if (n >= 0)
			lp->st.tudpc_streams[TUDPC_OPENED]++;
	} else {
		n = asprintf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", dst, dst, c->ident ? c->ident : "");
	}
	if (n < 0 || c->r.ep[1]->ops->write(c->r.ep[1], req, (size_t)n)) {
		free(req);
		conn_fail_attempt(lp, c, -EIO);
		return;
	}
	free(req);
	c->resp.len = 0;
	c->state = CONN_TUNNEL_RESP;
	c->r.ep[1]->ops->read(c->r.ep[1]);
}

/* The peer's answer to our CONNECT. 200: the tunnel is up, relay (bytes after the answer
 * belong to the client); anything else: this peer failed, try the next one. */
void tunnel_resp(struct loop *lp, struct conn *c)
{
	struct ep *e = c->r.ep[1];
	struct h1_response resp;
	int n;

	if (take_bytes(e, &c->resp, TUNNEL_HEAD_MAX)) {
		conn_fail_attempt(lp, c, -ENOMEM);
		return;
	}
	n = h1_parse_response(c->resp.p, c->resp.len, NULL, &resp);
	if (n == 0 && e->eof) {
		conn_fail_attempt(lp, c, -ECONNRESET);
		return;
	}
	if (n == 0 && c->resp.len < TUNNEL_HEAD_MAX) {
		e->ops->read(e);
		return;
	}
	if (n <= 0 || resp.status != (c->udp ? 101 : 200)) {
		log_info("conn %llu: tunnel peer answered %d to %s", (unsigned long long)c->id, n > 0 ? resp.status : 0,
			 c->udp ? "CONNECT-UDP (Upgrade: connect-udp)" : "CONNECT");
		conn_fail_attempt(lp, c, n > 0 && resp.status == 504 ? -ETIMEDOUT : n > 0 && resp.status == 403 ? -EACCES :
					 n > 0 && resp.status == 508 ? -ELOOP : -ECONNREFUSED);
		return;
	}
	/* bytes after the answer are the target's: they go to the client first */
	if ((size_t)n < c->resp.len) {
		ep_prepend(e, c->resp.p, (size_t)n, c->resp.len - (size_t)n);
		buf_account(-(long long)c->resp.cap); /* the endpoint's now, outside the family */
		c->resp = (struct hbuf){ 0 };
	}
	hb_free(&c->resp);
	conn_tunnel_up(lp, c);
}
