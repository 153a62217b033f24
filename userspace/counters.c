/* counters.c: the labelled counters the modules bump as things happen (responses by
 * route and status class, tunnel attempts by peer and outcome, outlier ejections with
 * their log lines) and their label sets, which follow the config. admin.c only reads
 * them for /metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "counters.h"
#include "log.h"
#include "metrics.h"

int metrics_config(struct loop *lp)
{
	const struct hermes_config *cfg = lp->cfg;
	char (*names)[MLABEL_LEN];
	int n = 0, cap = cfg->n_http_routes + 1, n_peers = 0, err;

	for (int i = 0; i < cfg->n_routes; i++)
		n_peers += cfg->routes[i].n_peers;
	/* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI): cap is at least 1 (n_http_routes >= 0) */
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

/* A peer's address as its label: the one formatted last is kept, since every flow of a
 * route asks for the same (formatting it cost a percent of a tunnelled flow's CPU). */
static void peer_name(const struct cfg_sockaddr *a, char name[ADDR_STRLEN])
{
	static struct cfg_sockaddr last;
	static char last_name[ADDR_STRLEN];

	if (!last.len || a->len != last.len || memcmp(&a->ss, &last.ss, a->len)) {
		addr_fmt((const struct sockaddr *)&a->ss, last_name, sizeof(last_name));
		last.len = a->len;
		memcpy(&last.ss, &a->ss, a->len);
	}
	memcpy(name, last_name, ADDR_STRLEN);
}

void metrics_peer_attempt(struct loop *lp, const struct cfg_peer *peer, int err)
{
	char name[ADDR_STRLEN];
	uint64_t *v;

	if (!peer)
		return;
	peer_name(&peer->addr, name);
	if (!(v = mlabels_get(&lp->st.tunnel_peer_results, name)))
		return;
	v[!err ? PEER_ESTABLISHED : err == -ECONNREFUSED ? PEER_REFUSED : err == -EACCES ? PEER_DENIED :
	  err == -ETIMEDOUT ? PEER_TIMEOUT : err == -ECONNRESET ? PEER_RESET : PEER_ERROR]++;
}


static const char *const outlier_what[OUTLIER_NKINDS] = { "tunnel peer", "http endpoint" };

static const char *outlier_name(const struct hermes_addr *addr, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	addr_from_hermes(addr, &ss);
	return addr_fmt((struct sockaddr *)&ss, buf, len);
}

void metrics_outlier_outcome(struct loop *lp, enum outlier_kind kind, const struct hermes_addr *addr,
			     struct outlier *o, bool ok, const char *why)
{
	char name[ADDR_STRLEN];
	bool again = o->ejections;
	uint64_t ms = 0;

	if (ok) {
		if (outlier_success(o) != OUTLIER_RETURNED)
			return;
		lp->st.outlier_ejected[kind]--;
		log_info("%s %s is back: an attempt on it succeeded after its ejection", outlier_what[kind],
			 outlier_name(addr, name, sizeof(name)));
		return;
	}
	if (outlier_failure(o, &lp->cfg->outlier, lp->now_ms, &ms) != OUTLIER_EJECTED)
		return;
	lp->st.outlier_ejections[kind]++;
	if (!again)
		lp->st.outlier_ejected[kind]++;
	if (again)
		log_info("%s %s ejected again for %llu ms (ejection %u in a row): its probe failed: %s",
			 outlier_what[kind], outlier_name(addr, name, sizeof(name)), (unsigned long long)ms,
			 o->ejections, why);
	else
		log_info("%s %s ejected for %llu ms: %u failures in a row, the last: %s; new flows go elsewhere",
			 outlier_what[kind], outlier_name(addr, name, sizeof(name)), (unsigned long long)ms,
			 lp->cfg->outlier.consecutive_failures, why);
}

void metrics_outlier_attempt(struct loop *lp, enum outlier_kind kind, const struct hermes_addr *addr,
			     struct outlier *o, bool forced)
{
	char name[ADDR_STRLEN];

	if (outlier_attempt(o, &lp->cfg->outlier, lp->now_ms))
		log_info("%s %s: its ejection time is up: this attempt is its probe", outlier_what[kind],
			 outlier_name(addr, name, sizeof(name)));
	else if (forced && !o->told) {
		o->told = true;
		log_info("%s %s: every one it was chosen among is ejected: trying it, whose ejection ends soonest",
			 outlier_what[kind], outlier_name(addr, name, sizeof(name)));
	}
}
