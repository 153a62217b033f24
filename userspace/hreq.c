/* hreq.c: the request side of the `http` action. A whole head is checked for what the
 * parser (http1.c) leaves to its callers, the shapes that enable request smuggling: Host
 * count, Transfer-Encoding in HTTP/1.0, CONNECT, the request-target's form, Expect; a
 * refused request gets 400 (405, 417, 403 for tunnel_access) and reaches no upstream.
 * Then it is routed (route.c; an explicit proxy request names its destination, checked
 * against tunnel_access) and its head rebuilt for the upstream (HTTP/1.1 text, or field
 * records an HTTP/2 upstream sends as HEADERS: never text parsed again), hop-by-hop
 * fields dropped, one Content-Length, the route's header edits, Via.
 *
 * A request can be retried only while hermesd holds all of it: no body, or a body read
 * whole before the first attempt (up to retry.max_buffered_body); and only if its method
 * is idempotent or it has such a buffered body. Larger bodies stream upstream as they
 * arrive (exch_push_body) and are never retried. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"
#include "config.h"
#include "exch.h"
#include "h2x.h"
#include "hcache.h"
#include "hmsg.h"
#include "hreq.h"
#include "http.h"
#include "http1.h"
#include "log.h"
#include "authz.h"
#include "overload.h"
#include "ring.h"
#include "retry.h"
#include "route.h"
#include "runtime.h"

/* ---- message heads ---- */

/* Does the comma-separated field value v contain token tok (case-insensitive)? */
static bool has_token(struct h1_slice v, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < v.len) {
		size_t b, e;

		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		b = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		e = i;
		while (e > b && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		if (e - b == tl && !strncasecmp(v.p + b, tok, tl))
			return true;
	}
	return false;
}

bool hreq_any_token(const struct h1_header *hs, unsigned n, const char *name, const char *tok)
{
	for (unsigned i = 0; i < n; i++)
		if (h1_slice_caseeq(hs[i].name, name) && has_token(hs[i].value, tok))
			return true;
	return false;
}

/* Hop-by-hop fields (RFC 9110 7.6.1), the ones a Connection field names, and the ones
 * this hop rewrites itself (Content-Length is re-emitted once, Expect answered here).
 * `conn` says whether the message has a Connection field at all: most do not, and then
 * no field needs the per-name token scan. */
bool hreq_hop_by_hop(const struct h1_header *hs, unsigned n, bool conn, struct h1_slice name)
{
	char tmp[64];

	switch (name.len) { /* the fixed names, compared only where the length matches */
	case 2: if (h1_slice_caseeq(name, "TE")) return true; break;
	case 6: if (h1_slice_caseeq(name, "Expect")) return true; break;
	case 7: if (h1_slice_caseeq(name, "Upgrade")) return true; break;
	case 10: if (h1_slice_caseeq(name, "Connection") || h1_slice_caseeq(name, "Keep-Alive")) return true; break;
	case 14: if (h1_slice_caseeq(name, "Content-Length")) return true; break;
	case 16: if (h1_slice_caseeq(name, "Proxy-Connection")) return true; break;
	case 18: if (h1_slice_caseeq(name, "Proxy-Authenticate")) return true; break;
	case 19: if (h1_slice_caseeq(name, "Proxy-Authorization")) return true; break;
	}
	if (!conn || name.len >= sizeof(tmp))
		return false;
	memcpy(tmp, name.p, name.len);
	tmp[name.len] = 0;
	return hreq_any_token(hs, n, "Connection", tmp);
}

/* A log label (method, target, route) cut to the field: on every request, so no printf. */
static void slice_to_cstr(char *dst, size_t size, const char *p, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, p, len);
	dst[len] = 0;
}

/* ---- routing ---- */

/* The route in the request's snapshot: its endpoints and policy for x. Returns the
 * route, or NULL for the flow's original destination. */
static const struct cfg_http_route *hreq_route(struct loop *lp, struct hconn *x, const struct h1_request *req,
					       const struct h1_header *host)
{
	struct hermes_config *cfg = x->rt->cfg;
	int ri = route_find(cfg->http_routes, cfg->n_http_routes, req, host);
	struct cfg_http_route *r = ri < 0 ? NULL : &cfg->http_routes[ri];

	x->n_eps = 0;
	x->r = r;
	if (!r) {
		x->rp = &cfg->http.retry;
		x->balance = BALANCE_ROUND_ROBIN;
		x->proto = x->fwd_tls ? HPROTO_H1_TLS : HPROTO_H1;
		x->fwd_name[0] = 0;
		/* an https:// target: its certificate must name the IP address asked for */
		if (x->fwd_tls)
			inet_ntop(x->dst.family == HERMES_FAMILY_V4 ? AF_INET : AF_INET6, x->dst.addr, x->fwd_name,
				  sizeof(x->fwd_name));
		x->tls_name = x->fwd_name;
		x->rr = 0;
		if ((x->eps[0] = hep_get(lp, &x->dst)))
			x->n_eps = 1;
		return NULL;
	}
	x->rp = &r->retry;
	x->balance = r->balance;
	x->proto = r->proto;
	x->tls_name = r->tls_name;
	x->rr = r->rr++; /* the snapshot's own position: a reload starts it again */
	for (int i = 0; i < r->n_eps; i++) {
		struct hermes_addr a;

		if (!addr_to_hermes((const struct sockaddr *)&r->eps[i].ss, &a) && (x->eps[x->n_eps] = hep_get(lp, &a)))
			x->n_eps++;
	}
	return r;
}

/* ---- the request ---- */

/* The head sent upstream: hop-by-hop fields dropped, one Content-Length, the route's
 * header edits, Via; HTTP/1.1 text for an HTTP/1.1 upstream, field records for an
 * HTTP/2 one (h2up.c makes its HEADERS from them). Room for what is added here: */
_Static_assert(CFG_HTTP_MAX_HDRS + 3 <= H1_ADDED_HEADERS, "Host, Content-Length, Via and a route's add list");
/* The address the client dialled as an authority ("IP:PORT", "[IPv6]:PORT"): its length. */
static size_t dst_authority(const struct hconn *x, char *a, size_t size)
{
	struct sockaddr_storage ss;

	addr_from_hermes(&x->dst, &ss);
	addr_fmt((struct sockaddr *)&ss, a, size);
	return strlen(a);
}

/* A forward (fwd_path set): the target in origin form and Host from the URL (RFC 9112
 * 3.2.2: the client's own Host field gives way to the absolute form's authority); to a
 * route's parent proxies (upstream_proxy) in absolute form instead. */
static int hreq_build_head(struct hconn *x, const struct hmsg *req, const struct cfg_http_route *r, long long cl,
			   const struct h1_header *host, const struct h1_slice *fwd_path, bool fwd_slash)
{
	struct hmsg_w w = { .b = &x->out, .rec = x->proto == HPROTO_H2C || x->proto == HPROTO_H2 };
	char tmp[ADDR_STRLEN + 64];
	int n;

	struct h1_slice target = fwd_path ? *fwd_path : req->target;
	struct hbuf tb = { 0 };
	int err = 0;

	if (r && r->upstream_proxy && (fwd_path || (target.len && target.p[0] == '/'))) {
		/* to a parent proxy: the target in absolute form, which h2up turns into :scheme
		 * and :authority (an absolute target from a steered client goes as it came) */
		char a[ADDR_STRLEN];
		struct h1_slice auth = host ? host->value : (struct h1_slice){ a, dst_authority(x, a, sizeof(a)) };

		err |= hb_put(&tb, x->fwd_tls ? "https://" : "http://", x->fwd_tls ? 8 : 7);
		err |= hb_put(&tb, auth.p, auth.len);
	}
	if (fwd_path && fwd_slash)
		err |= hb_put(&tb, "/", 1); /* "" or "?query": the path "/" before it */
	if (tb.len) {
		err |= hb_put(&tb, target.p, target.len);
		target = (struct h1_slice){ tb.p, tb.len };
	}
	if (err) {
		buf_free(tb.p, tb.cap);
		return -ENOMEM;
	}
	hmsg_w_request(&w, req->method, target);
	buf_free(tb.p, tb.cap);
	if (fwd_path && host) /* host: the URL's authority whenever fwd_path is set */
		hmsg_w_field(&w, "Host", 4, host->value.p, host->value.len);
	bool conn = h1_find(req->headers, req->n_headers, "Connection") != NULL;

	for (unsigned i = 0; i < req->n_headers; i++) {
		const struct h1_header *h = &req->headers[i];
		bool drop = hreq_hop_by_hop(req->headers, req->n_headers, conn, h->name) ||
			    (fwd_path && h1_slice_caseeq(h->name, "Host"));

		for (int j = 0; r && !drop && j < r->n_remove; j++)
			drop = h1_slice_caseeq(h->name, r->remove[j]);
		if (!drop)
			hmsg_w_field(&w, h->name.p, h->name.len, h->value.p, h->value.len);
	}
	/* an HTTP/2 body without content-length: chunked for an HTTP/1.1 upstream (its end
	 * is END_STREAM for an HTTP/2 one) */
	if (x->req_stream && !w.rec)
		hmsg_w_field(&w, "transfer-encoding", 17, "chunked", 7);
	if (!host) {
		/* an HTTP/1.0 request without Host: the address the client dialled */
		char a[ADDR_STRLEN];

		hmsg_w_field(&w, "Host", 4, a, dst_authority(x, a, sizeof(a)));
	}
	if (cl >= 0) {
		n = snprintf(tmp, sizeof(tmp), "%lld", cl);
		hmsg_w_field(&w, "Content-Length", 14, tmp, (size_t)n);
	}
	for (int j = 0; r && j < r->n_add; j++)
		hmsg_w_field(&w, r->add[j].name, strlen(r->add[j].name), r->add[j].value, strlen(r->add[j].value));
	if (x->rt->cfg->http.via) {
		n = snprintf(tmp, sizeof(tmp), "1.%d hermes", x->http10 ? 0 : 1);
		hmsg_w_field(&w, "Via", 3, tmp, (size_t)n);
	}
	return hmsg_w_end(&w);
}

int hreq_out(struct hconn *x, struct hreq_out *o)
{
	if (!o->built) {
		o->built = true;
		o->err = hreq_build_head(x, o->req, o->r, o->cl, o->host, o->fwd_path, o->fwd_slash);
	}
	return o->err;
}

void hreq_reset(struct hconn *x)
{
	x->out.len = 0;
	x->in_request = x->in_retry = x->http10 = x->keepalive = x->is_head = x->idempotent = x->has_body = false;
	x->buffered = x->streaming = x->req_done = x->req_chunked = x->fwd_tls = false;
	x->req_stream = x->req_end_sent = false;
	x->req_left = -1;
	memset(&x->req_ck, 0, sizeof(x->req_ck));
	x->body_bytes = 0;
	x->method[0] = x->path[0] = 0;
	hreq_release(x); /* not routed yet */
	x->tried = 0;
	x->attempts = x->retries = 0;
	x->try_deadline_ms = x->all_deadline_ms = x->backoff_until_ms = x->fd_wait_since_ms = 0;
	x->status = 0;
	x->no_body = x->resp_chunked = x->until_close = x->dechunk = x->resp_reusable = x->resp_done = false;
	x->resp_stream = x->rechunk = false;
	x->resp_left = -1;
	memset(&x->resp_ck, 0, sizeof(x->resp_ck));
	x->head_start_ms = 0;
	x->last_ep.family = 0;
	x->req_bytes_in = x->req_bytes_out = 0;
}

void hreq_release(struct hconn *x)
{
	hcache_release(x);
	rt_put(x->rt);
	x->rt = NULL;
	x->r = NULL;
	x->rp = NULL;
	x->tls_name = NULL;
}

/* A whole head is in rx: check it, route it, start reading its body or its first attempt. */
void hreq_start(struct loop *lp, struct hconn *x, const struct hmsg *req, size_t n)
{
	const struct h1_header *host = h1_find(req->headers, req->n_headers, "Host"), *expect;
	const struct cfg_http_route *r;
	struct h1_header fwd_host = { 0 };
	struct h1_slice fwd_path = { 0 };
	bool fwd_slash = false, abs_tls;
	struct hreq_out o;
	long long cl;
	bool chunked;

	hreq_reset(x);
	lp->st.http_requests++;
	x->in_request = true;
	x->rt = rt_get(lp->rt); /* everything this request reads of the config, to its end */
	lp->http->budget.active_requests++;
	x->req_start_ms = lp->now_ms;
	x->req_start_ns = loop_now_ns();
	slice_to_cstr(x->method, sizeof(x->method), req->method.p, req->method.len);
	slice_to_cstr(x->path, sizeof(x->path), req->target.p, req->target.len);
	x->http10 = req->version_minor == 0;
	x->keepalive = x->http10 ? hreq_any_token(req->headers, req->n_headers, "Connection", "keep-alive")
				 : !hreq_any_token(req->headers, req->n_headers, "Connection", "close");
	x->is_head = h1_slice_eq(req->method, "HEAD");
	x->idempotent = retry_idempotent_method(req->method);
	if (!x->keepalive)
		x->close_after = true;
	http_rx_consume(x, n);
	if (overload_shed(lp, OVL_REFUSE_STREAMS, OVL_ACT_REFUSE_REQUEST)) {
		http_refuse(lp, x, 503, OVL_REFUSE_WHY);
		return;
	}

	/* what the parser leaves to its callers (an HTTP/2 head: nghttp2 checked what RFC
	 * 9113 8.2 asks, and it has no Transfer-Encoding) */
	if (h1_body_framing(req->headers, req->n_headers, &cl, &chunked)) {
		http_refuse(lp, x, 400, "ambiguous body framing (Content-Length/Transfer-Encoding)");
		return;
	}
	/* DATA until END_STREAM: unframed bytes, chunked only for an HTTP/1.1 upstream */
	x->req_stream = req->h2 && req->body == HMSG_BODY_STREAM && cl < 0;
	if (chunked && x->http10) {
		http_refuse(lp, x, 400, "Transfer-Encoding in an HTTP/1.0 request");
		return;
	}
	/* RFC 9112 3.2: two Host fields are refused in any request, HTTP/1.0 too (which
	 * needs none) */
	if (host ? h1_find_after(req->headers, req->n_headers, host, "Host") != NULL : !x->http10) {
		http_refuse(lp, x, 400, host ? "more than one Host field" : "no Host field");
		return;
	}
	if (host && (!host->value.len || memchr(host->value.p, ' ', host->value.len) ||
		     memchr(host->value.p, '/', host->value.len) || memchr(host->value.p, '@', host->value.len))) {
		http_refuse(lp, x, 400, "bad Host field");
		return;
	}
	if (h1_slice_eq(req->method, "CONNECT")) {
		http_refuse(lp, x, 405, x->fwd ? "CONNECT after a proxy request: send it on a new connection" :
					  "CONNECT is served by the tunnel listener, not the http action");
		return;
	}
	/* https:// only from explicit proxy clients: a steered flow's request is passed on as
	 * it came, in clear text */
	if (!req->target.len || (req->target.p[0] != '/' && !(h1_abs_scheme(req->target, &abs_tls) && (!abs_tls || x->fwd)) &&
				 !h1_slice_eq(req->target, "*"))) {
		http_refuse(lp, x, 400, x->fwd ? "request-target is neither origin-form nor absolute http:// or https://"
					       : "request-target is neither origin-form nor absolute http://");
		return;
	}
	expect = h1_find(req->headers, req->n_headers, "Expect");
	if (expect && !h1_slice_caseeq(expect->value, "100-continue")) {
		http_refuse(lp, x, 417, "only Expect: 100-continue is understood");
		return;
	}
	if (x->fwd) {
		/* an explicit proxy request: the URL names the destination, which must be one
		 * tunnel_access allows, as a CONNECT to it would have to be */
		int e = route_fwd_target(req->target, &fwd_host.value, &fwd_path, &fwd_slash, &x->dst, &x->fwd_tls);
		char why[96];

		lp->st.http_fwd_requests++;
		if (e == -EHOSTUNREACH) {
			http_refuse(lp, x, 400, "host names are not resolved (hermes has no resolver): use an IP address");
			return;
		}
		if (e) {
			http_refuse(lp, x, 400, "a proxy request needs an absolute http://IP[:port] or https://IP[:port] target");
			return;
		}
		if (x->fwd_tls && !x->rt->tls_client) {
			log_warn("http conn %llu: %s %s refused: https:// targets need the tls section (its ca verifies "
				 "the origin)", (unsigned long long)x->id, x->method, x->path);
			http_refuse(lp, x, 502, "https:// targets need the tls section in hermesd's config");
			return;
		}
		const struct h2dn_host *th = h2dn_tunnel_of(x);

		if (tunnel_access(lp->cfg, &x->peer, &x->dst, req, th ? th->sans : NULL, th ? th->n_sans : 0, why,
				  sizeof(why))) {
			log_warn("http conn %llu: %s %s refused: %s", (unsigned long long)x->id, x->method, x->path, why);
			http_refuse(lp, x, 403, why);
			return;
		}
		fwd_host.name = (struct h1_slice){ .p = "Host", .len = 4 };
		host = &fwd_host;
	}
	x->req_chunked = chunked;
	x->req_left = chunked ? -1 : cl;
	x->has_body = chunked || cl > 0 || x->req_stream;
	r = hreq_route(lp, x, req, host);
	if (!x->n_eps) {
		http_reply(lp, x, 503, "no usable endpoint", true);
		return;
	}
	o = (struct hreq_out){ .req = req, .r = r, .cl = chunked ? -1 : cl, .host = host,
			       .fwd_path = x->fwd ? &fwd_path : NULL, .fwd_slash = fwd_slash };
	x->head_start_ms = lp->now_ms; /* a buffered body has head_timeout_ms too */
	log_debug("http conn %llu: %s %s route %s", (unsigned long long)x->id, x->method, x->path,
		  hreq_route_name(x));
	if (expect && x->has_body && http_conn_room(x) > 32) {
		/* answered here: the body is read (and maybe buffered) by hermesd, and the
		 * upstream gets the request without the expectation */
		struct hmsg_w w;

		http_head_begin(x, &w, 100, (struct h1_slice){ "Continue", 8 });
		http_head_end(lp, x, &w, 0, 0, true);
		http_count_status(lp, x, 100);
	}
	if (hcache_lookup(lp, x, req, &o))
		return; /* answered from the cache */
	if (hreq_out(x, &o)) {
		http_reply(lp, x, 500, "out of memory", true);
		return;
	}
	if (!x->has_body) {
		x->req_done = x->buffered = true;
		x->req_left = -1;
		exch_attempt(lp, x);
		return;
	}
	if ((!chunked && cl > (long long)x->rp->max_buffered_body) || !x->rp->max_buffered_body) {
		/* with max_buffered_body 0 even a chunked body streams before its first byte */
		x->streaming = true;
		exch_attempt(lp, x);
		return;
	}
	x->state = HC_BODY;
}

/* Next run of request body from rx: Content-Length bytes, or a run of chunked framing or
 * data (passed on as it is). Returns its length (0: nothing available), -EBADMSG/-EMSGSIZE
 * for a bad chunked body. */
long hreq_body_run(struct loop *lp, struct hconn *x, size_t max)
{
	size_t avail = x->rx.len - x->rx.off;
	struct h1_limits lim = http_limits(lp);
	bool is_data;
	long r;

	if (avail > max)
		avail = max;
	if (x->req_done)
		return 0;
	if (x->req_stream) {
		/* the bytes as they came; the end once the stream's END_STREAM was read */
		if (!avail && h2dn_req_ended(x))
			x->req_done = true;
		return (long)avail;
	}
	if (!avail)
		return 0;
	if (!x->req_chunked) {
		r = (long)(avail < (unsigned long long)x->req_left ? avail : (size_t)x->req_left);
		x->req_left -= r;
		x->req_done = !x->req_left;
		return r;
	}
	r = h1_chunked_parse(&x->req_ck, x->rx.p + x->rx.off, avail, &lim, &is_data);
	if (r > 0 && x->req_ck.done)
		x->req_done = true;
	return r;
}

bool hreq_rechunk(const struct hconn *x)
{
	return x->req_stream && x->proto != HPROTO_H2C && x->proto != HPROTO_H2;
}

int hreq_body_put(const struct hconn *x, struct hbuf *b, const char *p, size_t n)
{
	return hreq_rechunk(x) ? h2x_chunk(b, p, n) : hb_put(b, p, n);
}

int hreq_body_end(const struct hconn *x, struct hbuf *b)
{
	const struct hbuf *tr = h2dn_req_trailers(x);
	struct hmsg t;

	if (!hreq_rechunk(x))
		return 0;
	return h2x_chunk_end(b, tr && hmsg_from_rec(tr->p, tr->len, &t) > 0 ? &t : NULL);
}

/* HC_BODY: read the body into out; once whole, the first attempt (retriable). A chunked
 * body that outgrows max_buffered_body starts streaming instead. */
bool hreq_buffer_body(struct loop *lp, struct hconn *x)
{
	for (;;) {
		long r = hreq_body_run(lp, x, (size_t)-1);

		if (r < 0) {
			http_refuse(lp, x, 400, "malformed chunked body");
			return true;
		}
		if (r == 0 && !x->req_done)
			return false;
		if (r > 0) {
			if (hreq_body_put(x, &x->out, x->rx.p + x->rx.off, (size_t)r)) {
				http_reply(lp, x, 500, "out of memory", true);
				return true;
			}
			http_rx_consume(x, (size_t)r);
			x->body_bytes += (size_t)r;
		}
		if (x->req_done && hreq_body_end(x, &x->out)) {
			http_reply(lp, x, 500, "out of memory", true);
			return true;
		}
		if (x->req_done) {
			x->buffered = true;
			exch_attempt(lp, x);
			return true;
		}
		if (x->body_bytes > x->rp->max_buffered_body) {
			x->streaming = true;
			exch_attempt(lp, x);
			return true;
		}
	}
}

