/* authz.c: tunnel_access, the rules that say who may open a tunnel (or send an explicit
 * proxy request) to what: by destination, client address, the identity the previous hop
 * vouched for (Hermes-Uid, Hermes-Comm) and the client certificate's SANs. Used by the
 * tunnel listener (tunnel.c) and the http action's proxy requests (hreq.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "config.h"
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

int tunnel_access(const struct hermes_config *cfg, const struct hermes_addr *peer, const struct hermes_addr *target,
		  const struct h1_request *req, const char (*sans)[128], unsigned n_sans, char *why, size_t why_len)
{
	const struct cfg_access *a;
	char comm[16];
	uint32_t uid = 0;
	bool have_uid;

	if (!cfg->n_access)
		return 0;
	authz_identity(req, &uid, &have_uid, comm);
	a = config_find_access(cfg, target, peer, have_uid ? &uid : NULL, comm[0] ? comm : NULL, sans, n_sans);
	if (a && a->allow)
		return 0;
	if (a)
		snprintf(why, why_len, "denied by tunnel_access rule at line %d", a->line);
	else
		snprintf(why, why_len, "no tunnel_access rule allows it");
	return -EACCES;
}
