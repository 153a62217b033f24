/* sess_h2pool.c: the tunnel client's pool of HTTP/2 connections, one per peer until its
 * stream limit: which connection a new CONNECT stream joins (a new one when none has
 * room), and the CONNECT (or h2-post POST) request it sends there with the flow's
 * identity fields. A CONNECT-UDP stream (RFC 9298 3.3: extended CONNECT, RFC 8441) waits
 * for the peer's SETTINGS, which must allow extended CONNECT, before its request goes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "addr.h"
#include "config-t.h"
#include "ep.h"
#include "h2mux.h"
#include "list.h"
#include "log.h"
#include "loop-t.h"
#include "masque.h"
#include "sess-int.h"

#define NG(s) ((s)->mux.ng)

static bool same_peer(const struct cfg_peer *a, const struct cfg_peer *b)
{
	return a->proto == b->proto && a->tls == b->tls && !strcmp(a->name, b->name) &&
	       a->addr.len == b->addr.len && !memcmp(&a->addr.ss, &b->addr.ss, a->addr.len);
}

static struct sess *pool_find(struct loop *lp, const struct cfg_peer *p)
{
	struct sess *s;

	list_for_each(s, &lp->sessions, link) {
		uint32_t limit = lp->cfg->h2_max_streams;

		if (s->server || s->state == SESS_CLOSING || s->goaway || s->busy || !same_peer(&s->peer, p))
			continue;
		if (s->state == SESS_OPEN) {
			uint32_t remote = nghttp2_session_get_remote_settings(NG(s), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);

			if (remote < limit)
				limit = remote;
		}
		if (s->n_flows < limit)
			return s;
	}
	return NULL;
}

/* The flow's Hermes-* identity lines ("Name: value\r\n", copied into buf) as HTTP/2
 * fields (lower case). */
static size_t ident_nv(char *buf, nghttp2_nv *nv, size_t max)
{
	size_t n = 0;

	for (char *p = buf; *p && n < max;) {
		char *colon = strchr(p, ':'), *eol = strstr(p, "\r\n");

		if (!colon || !eol || colon > eol)
			break;
		for (char *q = p; q < colon; q++)
			*q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
		nv[n].name = (uint8_t *)p;
		nv[n].namelen = (size_t)(colon - p);
		nv[n].value = (uint8_t *)colon + 2;
		nv[n].valuelen = (size_t)(eol - colon - 2);
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
		n++;
		p = eol + 2;
	}
	return n;
}

/* Whether a CONNECT-UDP stream may go on s now: 1 yes, 0 not yet (the peer's SETTINGS
 * have not come), or -EPROTONOSUPPORT (logged, counted): the peer does not announce
 * SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3), so it cannot take extended CONNECT. */
static int udp_ready(struct sess *s)
{
	char name[ADDR_STRLEN];

	if (!s->settings_rx)
		return 0;
	if (s->peer.proto != TPROTO_H2_POST &&
	    nghttp2_session_get_remote_settings(NG(s), NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL))
		return 1;
	s->loop->st.tudpc_streams[TUDPC_REFUSED]++;
	log_warn("tunnel peer %s: %s: the UDP flow cannot go to this peer", sess_name(s, name, sizeof(name)),
		 s->peer.proto == TPROTO_H2_POST ? "an h2-post peer carries no CONNECT-UDP (use proto h2 or h1)" :
						   "it does not announce SETTINGS_ENABLE_CONNECT_PROTOCOL, so it takes "
						   "no extended CONNECT (RFC 8441) and no CONNECT-UDP over HTTP/2");
	return -EPROTONOSUPPORT;
}

int sess_h2_submit(struct sess *s, struct sstream *st)
{
	struct loop *lp = s->loop;
	struct sockaddr_storage ss;
	char authority[ADDR_STRLEN], path[MASQUE_PATH_MAX], *ident = NULL;
	nghttp2_nv nv[24];
	size_t n = 0;
	int32_t sid;
	int ready;

	if (st->udp && (ready = udp_ready(s)) <= 0)
		return ready; /* 0: sess_h2_settings sends it */
	if (st->ident && !(ident = strdup(st->ident)))
		return -ENOMEM;
#define NV(k, v) \
	nv[n++] = (nghttp2_nv){ (uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE }
	addr_from_hermes(&st->target, &ss);
	addr_fmt((struct sockaddr *)&ss, authority, sizeof(authority));
	if (st->udp) {
		/* RFC 9298 3.3; the authority is the peer's (the target is in the path) */
		masque_path(&st->target, path, sizeof(path));
		addr_from_hermes(&s->paddr, &ss);
		addr_fmt((struct sockaddr *)&ss, authority, sizeof(authority));
		NV(":method", "CONNECT");
		NV(":protocol", "connect-udp");
		NV(":scheme", "https");
		NV(":path", path);
		NV(":authority", authority);
		NV("capsule-protocol", "?1");
	} else if (s->peer.proto == TPROTO_H2_POST) {
		NV(":method", "POST");
		NV(":scheme", s->tls ? "https" : "http");
		NV(":path", s->peer.path);
		NV(":authority", authority);
	} else {
		NV(":method", "CONNECT");
		NV(":authority", authority);
	}
#undef NV
	if (ident)
		n += ident_nv(ident, nv + n, sizeof(nv) / sizeof(nv[0]) - n);
	sid = nghttp2_submit_request(NG(s), NULL, nv, n, &h2mux_body, &st->ms);
	free(ident);
	if (sid < 0) {
		/* this connection has no stream ids left: the stream goes to another one */
		s->goaway = true;
		sess_unlink(st);
		return sess_h2_attach(lp, st, &s->peer);
	}
	st->sid = sid;
	lp->st.h2_streams++;
	if (st->udp)
		lp->st.tudpc_streams[TUDPC_OPENED]++;
	sess_dirty(s);
	return 0;
}

int sess_h2_attach(struct loop *lp, struct sstream *st, const struct cfg_peer *p)
{
	struct sess *s = pool_find(lp, p);
	int err = 0;

	if (!s && !(s = sess_connect(lp, p, &err)))
		return err;
	st->sid = 0;
	st->answered = false;
	st->resp_status = 0;
	sess_link(s, st);
	if (s->state == SESS_OPEN && (err = sess_h2_submit(s, st))) {
		sess_h2_stream_off(st);
		return err;
	}
	return 0;
}

void sess_h2_settings(struct h2mux *m)
{
	struct sess *s = loop_container_of(m, struct sess, mux);
	struct sstream *st, *next;
	int err;

	if (s->server || s->settings_rx)
		return;
	s->settings_rx = true;
	list_for_each_safe(st, next, &s->streams, link) {
		if (st->udp && !st->sid && (err = sess_h2_submit(s, st))) {
			sess_h2_stream_off(st);
			ep_error(&st->e, err);
		}
	}
	sess_dirty(s);
}
