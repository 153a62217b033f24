/* authz.c: tunnel_access, the rules that say who may open a tunnel (or send an explicit
 * proxy request) to what: by destination, client address, the identity the previous hop
 * vouched for (Hermes-Uid, Hermes-Comm) and the client certificate's SANs. Used by the
 * tunnel listener (tunnel.c) and the http action's proxy requests (hreq.c). */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "authz.h"
#include "config.h"
#include "hermes/policy.h"
#include "http1.h"

/* Who a request says it is for (Hermes-Uid, Hermes-Comm from the previous hop). */
void authz_identity(const struct h1_request *req, uint32_t *uid, bool *have_uid, char comm[16])
{
	const struct h1_header *uid_h = h1_find(req->headers, req->n_headers, "Hermes-Uid");
	const struct h1_header *comm_h = h1_find(req->headers, req->n_headers, "Hermes-Comm");

	*have_uid = false;
	comm[0] = 0;
	if (uid_h && uid_h->value.len && uid_h->value.len < 11) {
		char num[12];
		char *end;
		unsigned long v;

		memcpy(num, uid_h->value.p, uid_h->value.len);
		num[uid_h->value.len] = 0;
		v = strtoul(num, &end, 10);
		if (!*end && v <= 0xffffffffUL) {
			*uid = (uint32_t)v;
			*have_uid = true;
		}
	}
	if (comm_h && comm_h->value.len < 16) {
		memcpy(comm, comm_h->value.p, comm_h->value.len);
		comm[comm_h->value.len] = 0;
	}
}

/* The host's own addresses, for listeners bound to a wildcard address: read again at
 * most once a second (addresses come and go), so a CONNECT costs no system call. */
#define LOCAL_MAX 64
static struct local_addrs {
	struct hermes_addr a[LOCAL_MAX];
	unsigned n;
	time_t at;
	bool read;
} local;

static void local_refresh(void)
{
	struct timespec ts;
	struct ifaddrs *ifa, *i;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (local.read && ts.tv_sec == local.at)
		return;
	local.read = true;
	local.at = ts.tv_sec;
	if (getifaddrs(&ifa))
		return; /* keep what we had */
	local.n = 0;
	for (i = ifa; i && local.n < LOCAL_MAX; i = i->ifa_next)
		if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
			addr_to_hermes(i->ifa_addr, &local.a[local.n++]);
	freeifaddrs(ifa);
}

static bool same_host(const struct hermes_addr *a, const struct hermes_addr *b)
{
	size_t n = a->family == HERMES_FAMILY_V4 ? 4 : 16;

	return a->family == b->family && !memcmp(a->addr, b->addr, n);
}

static bool addr_is_any(const struct hermes_addr *a)
{
	static const uint8_t zero[16];

	return !memcmp(a->addr, zero, a->family == HERMES_FAMILY_V4 ? 4 : 16);
}

/* Loopback (127.0.0.0/8, ::1) or unspecified (0.0.0.0, ::): a connect to it reaches
 * this host. (addr_to_hermes made a v4-mapped IPv6 address IPv4.) */
static bool addr_is_local_only(const struct hermes_addr *a)
{
	static const uint8_t v6_loop[16] = { [15] = 1 };

	if (a->family == HERMES_FAMILY_V4)
		return a->addr[0] == 127 || addr_is_any(a);
	return !memcmp(a->addr, v6_loop, 16) || addr_is_any(a);
}

/* Is target one of hermesd's own listeners: the same port, and the listener's address or,
 * for a wildcard listener, any address of this host? */
static bool target_is_self(const struct hermes_config *cfg, const struct hermes_addr *target)
{
	/* as loop.c opens them; the last two only with an inbound section */
	const struct cfg_sockaddr *ls[] = { &cfg->listen, &cfg->listen6, &cfg->admin, &cfg->metrics, &cfg->tunnel,
					    &cfg->inbound.listen, &cfg->inbound.listen6 };

	for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
		struct hermes_addr l;

		if (!ls[i]->len || (i >= 5 && !cfg->inbound.on))
			continue;
		addr_to_hermes((const struct sockaddr *)&ls[i]->ss, &l);
		if (l.port != target->port)
			continue;
		if (addr_is_local_only(target) || same_host(&l, target))
			return true;
		if (addr_is_any(&l)) {
			local_refresh();
			for (unsigned j = 0; j < local.n; j++)
				if (same_host(&local.a[j], target))
					return true;
		}
	}
	return false;
}

int tunnel_access(const struct hermes_config *cfg, const struct hermes_addr *peer, const struct hermes_addr *target,
		  const struct h1_request *req, const char (*sans)[128], unsigned n_sans, char *why, size_t why_len)
{
	const struct cfg_access *a;
	char comm[16];
	uint32_t uid = 0;
	bool have_uid, self = target_is_self(cfg, target), local_only = addr_is_local_only(target);

	if (!cfg->n_access && !self && !local_only)
		return 0;
	authz_identity(req, &uid, &have_uid, comm);
	a = cfg->n_access ? config_find_access(cfg, target, peer, have_uid ? &uid : NULL, comm[0] ? comm : NULL, sans,
					       n_sans) :
			    NULL;
	/* hermesd itself (its admin port, its own tunnel listener: a loop) and this host's
	 * loopback are never reached by a catch-all: only a rule that names them allows
	 * them (a port, for a listener; an address range narrower than 0.0.0.0/0 or ::/0,
	 * for loopback) */
	if (self && !(a && a->allow && a->match.port)) {
		snprintf(why, why_len, "target is one of hermesd's own listeners (only a rule naming its port allows it)");
		return AUTHZ_SELF;
	}
	if (local_only && !(a && a->allow && a->match.prefixlen > HERMES_POLICY_PREFIX_BASE)) {
		snprintf(why, why_len, "target is a loopback or unspecified address (only a rule naming it allows it)");
		return AUTHZ_LOOPBACK;
	}
	if (!cfg->n_access)
		return 0;
	if (a && a->allow)
		return 0;
	if (a)
		snprintf(why, why_len, "denied by tunnel_access rule at line %d", a->line);
	else
		snprintf(why, why_len, "no tunnel_access rule allows it");
	return -EACCES;
}
