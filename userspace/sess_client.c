/* sess_client.c: the tunnel listener's clients by address (sess.c's connections count
 * here): how many connections each holds open, and the token buckets that bound the
 * upstream connects and early resets its CONNECT streams may cost. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-t.h"
#include "fnv.h"
#include "list.h"
#include "loop-t.h"
#include "sess-int.h"
#include "sess.h"

/* A client of the tunnel listener is its address (not its connection: one that
 * reconnects, or opens many, is still one client). Each has two token buckets, each
 * holding one second's worth: upstream connects (tunnel.client_connects_per_second: a
 * peer hermesd carries all of its host's new flows, so this one is generous), and CONNECT
 * streams it reset before their tunnel was up (tunnel.client_resets_per_second): such a
 * stream already opened a real connection to its target, so a client resetting streams
 * as soon as it sends them (rapid reset) would multiply its bytes into a flood of
 * connects; an honest one rarely resets. Once either bucket is empty its CONNECTs are
 * refused. And a count of its open connections (tunnel.max_client_connections). An
 * entry lives while the client has connections and until its buckets are full again
 * (sess_tick), so reconnecting does not refill them. hermesd runs one loop: the table
 * is the process's. */
#define CLIENT_BUCKETS 1024

struct sess_client {
	struct list link;         /* its bucket of clients[] */
	struct hermes_addr addr;  /* port 0 */
	unsigned conns;
	double tokens, rtokens;   /* connects, resets left */
	uint64_t at_ms;           /* tokens as of this time */
};

static struct list clients[CLIENT_BUCKETS];

static unsigned client_hash(const struct hermes_addr *a)
{
	return (fnv1a32(a->addr, sizeof(a->addr)) ^ a->family) % CLIENT_BUCKETS;
}

static struct sess_client *client_get(struct loop *lp, const struct hermes_addr *peer)
{
	struct hermes_addr key = *peer;
	struct sess_client *cl;
	unsigned h;

	key.port = 0;
	key.pad = 0;
	h = client_hash(&key);
	if (list_empty(&clients[h]))
		list_init(&clients[h]);
	list_for_each(cl, &clients[h], link)
		if (!memcmp(&cl->addr, &key, sizeof(key)))
			return cl;
	if (!(cl = calloc(1, sizeof(*cl))))
		return NULL;
	cl->addr = key;
	cl->tokens = lp->cfg->tunnel_connect_rate;
	cl->rtokens = lp->cfg->tunnel_reset_rate;
	cl->at_ms = lp->now_ms;
	list_add(&clients[h], &cl->link);
	return cl;
}

static void bucket_refill(double *tokens, double rate, uint64_t ms)
{
	*tokens += (double)ms * rate / 1000.0;
	if (*tokens > rate)
		*tokens = rate;
}

static void client_refill(struct loop *lp, struct sess_client *cl)
{
	bucket_refill(&cl->tokens, lp->cfg->tunnel_connect_rate, lp->now_ms - cl->at_ms);
	bucket_refill(&cl->rtokens, lp->cfg->tunnel_reset_rate, lp->now_ms - cl->at_ms);
	cl->at_ms = lp->now_ms;
}

int sess_client_connect(struct loop *lp, const struct hermes_addr *peer)
{
	struct sess_client *cl;

	if (!lp->cfg->tunnel_connect_rate && !lp->cfg->tunnel_reset_rate)
		return 0;
	if (!(cl = client_get(lp, peer)))
		return -ENOMEM;
	client_refill(lp, cl);
	if (lp->cfg->tunnel_reset_rate && cl->rtokens < 1) {
		lp->st.tunnel_limited[TUNNEL_LIMIT_RESET_RATE]++;
		return -EAGAIN;
	}
	if (lp->cfg->tunnel_connect_rate) {
		if (cl->tokens < 1) {
			lp->st.tunnel_limited[TUNNEL_LIMIT_CONNECT_RATE]++;
			return -EAGAIN;
		}
		cl->tokens -= 1;
	}
	return 0;
}

void sess_client_reset(struct loop *lp, const struct hermes_addr *peer)
{
	struct sess_client *cl;

	if (lp->cfg->tunnel_reset_rate && (cl = client_get(lp, peer))) {
		client_refill(lp, cl);
		if (cl->rtokens >= 1)
			cl->rtokens -= 1;
	}
}

/* Entries of clients with no connection whose bucket is full again go. */
void sess_clients_trim(struct loop *lp)
{
	struct sess_client *cl, *n;

	for (unsigned h = 0; h < CLIENT_BUCKETS; h++) {
		if (list_empty(&clients[h]))
			continue;
		list_for_each_safe(cl, n, &clients[h], link) {
			client_refill(lp, cl);
			if (!cl->conns && cl->tokens >= lp->cfg->tunnel_connect_rate &&
			    cl->rtokens >= lp->cfg->tunnel_reset_rate) {
				list_del(&cl->link);
				free(cl);
			}
		}
	}
}

int sess_client_attach(struct loop *lp, const struct hermes_addr *peer, struct sess_client **cl, unsigned *open)
{
	*cl = client_get(lp, peer);
	if (*cl && lp->cfg->tunnel_client_conns && (*cl)->conns >= lp->cfg->tunnel_client_conns) {
		*open = (*cl)->conns;
		*cl = NULL;
		return -EUSERS;
	}
	if (*cl)
		(*cl)->conns++;
	return 0;
}

void sess_client_detach(struct sess_client *cl)
{
	if (cl)
		cl->conns--;
}

void sess_clients_free(void)
{
	struct sess_client *cl, *n;

	for (unsigned h = 0; h < CLIENT_BUCKETS; h++) {
		if (list_empty(&clients[h]))
			continue;
		list_for_each_safe(cl, n, &clients[h], link) {
			list_del(&cl->link);
			free(cl);
		}
	}
}
