/* sess_accept.c: the tunnel listener's side of sess.c: a connection accepted is
 * admitted (tunnel.max_client_connections), then sniffed by its first bytes: a TLS
 * handshake, the whole h2c preface (a part of it: peeked again after a pause), or
 * anything else, which is HTTP/1.1 (a CONNECT or an explicit proxy request) and goes to
 * tunnel.c as a socket. Clear text on a listener that wants TLS is refused in the
 * client's own protocol. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "ring.h"
#include "sess-int.h"

#define SESS_SNIFF_PAUSE_NS 5000000 /* part of the h2c preface came: peek again after this, */
#define SESS_SNIFF_PAUSE_MAX_NS 640000000 /* twice as long each time, up to this */

void sess_accept(struct loop *lp, int fd)
{
	struct sess *s = sess_new(lp, fd, true);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned open = 0;

	if (!s) {
		close(fd);
		return;
	}
	if (!getpeername(fd, (struct sockaddr *)&ss, &len))
		addr_to_hermes((struct sockaddr *)&ss, &s->paddr);
	if (sess_client_attach(lp, &s->paddr, &s->client, &open)) {
		char name[ADDR_STRLEN];

		lp->st.tunnel_limited[TUNNEL_LIMIT_CLIENT_CONNS]++;
		log_info("tunnel connection from %s refused: it has %u open (tunnel.max_client_connections)",
			 sess_name(s, name, sizeof(name)), open);
		s->state = SESS_CLOSING;
		life_close(&s->life); /* (without it, the session and its socket stayed open for good) */
		sess_maybe_free(s);
		return;
	}
	{
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	s->state = SESS_SNIFF;
	sess_arm_recv(s);
}

/* Clear text on a listener with tls set (and tunnel.allow_cleartext off): the client is
 * told in its own protocol, the refusal logged and counted, the connection closed. What
 * it sent so far is read first, so that the close does not turn into a reset that could
 * overtake the answer. */
static void refuse_cleartext(struct sess *s, bool h2c)
{
	static const char body[] = "this hermes tunnel listener serves TLS only (mutual TLS with a client certificate); "
				   "clear text is refused\n";
	static const uint8_t goaway[] = {
		0, 0, 0, 4, 0, 0, 0, 0, 0,                 /* SETTINGS, empty: the server preface */
		0, 0, 20, 7, 0, 0, 0, 0, 0,                /* GOAWAY, 20 bytes, stream 0 */
		0, 0, 0, 0, 0, 0, 0, 0xc,                  /* last stream 0, INADEQUATE_SECURITY */
		'T', 'L', 'S', ' ', 'r', 'e', 'q', 'u', 'i', 'r', 'e', 'd',
	};
	struct loop *lp = s->loop;
	char name[ADDR_STRLEN], resp[320];
	int n;

	for (int i = 0; i < 4 && recv(s->fd, lp->scratch, SESS_RBUF, MSG_DONTWAIT) > 0; i++)
		;
	if (h2c) {
		(void)!send(s->fd, goaway, sizeof(goaway), MSG_NOSIGNAL | MSG_DONTWAIT);
	} else {
		n = snprintf(resp, sizeof(resp), "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", sizeof(body) - 1, body);
		(void)!send(s->fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	shutdown(s->fd, SHUT_WR);
	lp->st.tunnel_cleartext_refused[h2c]++;
	log_warn("tunnel connection from %s refused: clear-text %s on a tunnel listener with tls set (TLS with a "
		 "client certificate only; tunnel.allow_cleartext: true in %s serves clear text too)",
		 sess_name(s, name, sizeof(name)), h2c ? "h2c" : "HTTP/1.1 (CONNECT or proxy request)",
		 lp->config_path ? lp->config_path : "the config");
	sess_close(s, 0, "clear text refused");
}

static void sess_sniff_pause_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct sess *s = loop_container_of(op, struct sess, op_connect);

	(void)lp;
	(void)cqe;
	life_drop(&s->life);
	if (s->state == SESS_SNIFF)
		sess_arm_recv(s);
	sess_maybe_free(s);
}

void sess_on_sniff(struct sess *s, int res)
{
	struct loop *lp = s->loop;
	char name[ADDR_STRLEN];
	bool h2c;

	if (res <= 0) {
		sess_close(s, 0, "closed before sending anything");
		return;
	}
	/* only the whole preface is h2c; the start of it, so far: peek again after a pause
	 * (a peek returns at once while anything is queued), longer each time, so that a
	 * client that stops there costs a few wakeups until sess_tick ends the wait */
	h2c = !memcmp(s->rbuf, SESS_H2C_PREFACE, (size_t)res);
	if (h2c && (size_t)res < SESS_H2C_PREFACE_LEN) {
		long long ns = s->sniff_ts.tv_nsec ? s->sniff_ts.tv_nsec * 2 : SESS_SNIFF_PAUSE_NS;

		s->sniff_ts = (struct __kernel_timespec){ .tv_nsec = ns < SESS_SNIFF_PAUSE_MAX_NS ? ns : SESS_SNIFF_PAUSE_MAX_NS };
		io_uring_prep_timeout(loop_sqe(lp, &s->op_connect, sess_sniff_pause_done), &s->sniff_ts, 0, 0);
		life_hold(&s->life, 1);
		return;
	}
	if (s->rbuf[0] == 0x16) {
		if (!lp->rt->tls_server) {
			log_warn("tunnel connection from %s speaks TLS, but this hermesd has no tls section: closing",
				 sess_name(s, name, sizeof(name)));
			sess_close(s, -EPROTO, "TLS without a tls section");
			return;
		}
		if (sess_tls_new(s)) {
			sess_close(s, -ENOMEM, "out of memory for TLS");
			return;
		}
		sess_arm_recv(s);
		return;
	}
	if (lp->rt->tls_server && !lp->cfg->tunnel_allow_cleartext) {
		refuse_cleartext(s, h2c);
		return;
	}
	if (h2c) {
		if (!sess_h2_start(s))
			sess_arm_recv(s);
		return;
	}
	/* HTTP/1.1 CONNECT: tunnel.c takes the socket over */
	lp->sess_acc->socket(lp, s->fd);
	s->fd = -1;
	s->state = SESS_CLOSING;
	life_close(&s->life);
}
