/* tunnel.c: the tunnel listener (15008), HTTP/1.1 CONNECT side. A client (another
 * hermesd, curl -p -x, any CONNECT proxy client) sends `CONNECT host:port HTTP/1.1`;
 * hermesd reads the head with the strict parser (http1.c), dials the target like the
 * proxy action does (timeout, retries, backoff), answers 200 and relays; errors get the
 * status a CONNECT client expects: 400 malformed request or authority, 405 not CONNECT,
 * 431/414 too large, 502 target refused or unreachable, 504 timed out, 408 head too slow.
 * Bytes the client sent after the head (allowed once it has the 200) are forwarded first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "http1.h"
#include "log.h"
#include "loop.h"

static const char *reason(int status)
{
	switch (status) {
	case 200: return "Connection established";
	case 400: return "Bad Request";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 502: return "Bad Gateway";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void count_error(struct loop *lp, int status)
{
	static const int codes[] = { 400, 403, 405, 431, 502, 504 };

	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i] == status)
			lp->st.tunnel_errors[i]++;
}

/* The reply is a few dozen bytes on a socket that has sent nothing yet: it fits the
 * send buffer, so a plain non-blocking send is enough. */
void tunnel_reply(struct conn *c, int status)
{
	char buf[160];
	int n;

	if (status == 200)
		n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 %s\r\n\r\n", reason(status));
	else
		n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			     status, reason(status));
	if (status != 200)
		count_error(c->loop, status);
	if (send(c->cfd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		log_debug("conn %llu: could not send the %d reply", (unsigned long long)c->id, status);
}

static void arm_head_recv(struct loop *lp, struct conn *c)
{
	io_uring_prep_recv(loop_sqe(lp, &c->h[0], OP_RECV), c->cfd, c->hbuf + c->hlen,
			   TUNNEL_HEAD_MAX - c->hlen, 0);
	c->h[0].recv_armed = true;
	c->inflight++;
}

void tunnel_accept(struct loop *lp, int fd)
{
	struct conn *c = conn_new(lp, fd);

	if (!c)
		return;
	c->tunnel_server = true;
	c->state = CONN_TUNNEL_HEAD;
	{
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if (!getpeername(fd, (struct sockaddr *)&ss, &len))
			addr_to_hermes((struct sockaddr *)&ss, &c->peer);
	}
	c->hbuf = malloc(TUNNEL_HEAD_MAX);
	if (!c->hbuf) {
		c->state = CONN_RELAY;
		conn_abort(lp, c, true, false);
		conn_maybe_free(lp, c);
		return;
	}
	lp->st.tunnel_requests++;
	arm_head_recv(lp, c);
}

static void fail(struct loop *lp, struct conn *c, int status, const char *why)
{
	struct sockaddr_storage ss;
	char peer[ADDR_STRLEN];
	socklen_t len = sizeof(ss);

	if (getpeername(c->cfd, (struct sockaddr *)&ss, &len))
		snprintf(peer, sizeof(peer), "?");
	else
		addr_fmt((struct sockaddr *)&ss, peer, sizeof(peer));
	log_info("tunnel conn %llu from %s: %d %s (%s)", (unsigned long long)c->id, peer, status, reason(status), why);
	tunnel_reply(c, status);
	c->state = CONN_RELAY; /* so that abort runs its normal path */
	conn_abort(lp, c, false, false);
	conn_maybe_free(lp, c);
}

void tunnel_head(struct loop *lp, struct conn *c, int res)
{
	struct h1_request req;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char dst[ADDR_STRLEN];
	int n;

	if (res <= 0) {
		/* the client went away before finishing its request */
		c->state = CONN_RELAY;
		conn_abort(lp, c, res < 0, false);
		conn_maybe_free(lp, c);
		return;
	}
	c->hlen += (size_t)res;
	c->last_active_ms = lp->now_ms;
	n = h1_parse_request(c->hbuf, c->hlen, NULL, &req);
	if (n == 0) {
		if (c->hlen >= TUNNEL_HEAD_MAX) {
			fail(lp, c, 431, "request head too large");
			return;
		}
		arm_head_recv(lp, c);
		return;
	}
	if (n < 0) {
		fail(lp, c, h1_error_status(n), "malformed request");
		return;
	}
	if (!h1_slice_eq(req.method, "CONNECT")) {
		fail(lp, c, 405, "only CONNECT is served here");
		return;
	}
	if (h1_parse_authority(req.target, &ss, &sslen)) {
		fail(lp, c, 400, "authority must be IPv4:port or [IPv6]:port");
		return;
	}
	c->head_len = (size_t)n;
	addr_to_hermes((struct sockaddr *)&ss, &c->eps[0]);
	c->n_eps = 1;
	addr_fmt((struct sockaddr *)&ss, dst, sizeof(dst));
	log_debug("tunnel conn %llu: CONNECT %s (%zu bytes after the head)", (unsigned long long)c->id, dst,
		  c->hlen - c->head_len);
	conn_connect(lp, c);
}

/* Target connected: 200 to the client, then the bytes it already sent after its head.
 * Returns 0, or -errno if the client or the target cannot take them. */
int tunnel_established(struct loop *lp, struct conn *c)
{
	size_t extra = c->hlen - c->head_len;

	(void)lp;
	tunnel_reply(c, 200);
	if (extra) {
		ssize_t w = send(c->ufd, c->hbuf + c->head_len, extra, MSG_NOSIGNAL);

		if (w < 0 || (size_t)w != extra)
			return w < 0 ? -errno : -EIO;
		c->h[0].bytes += extra;
	}
	free(c->hbuf);
	c->hbuf = NULL;
	return 0;
}
