/* authz.h: tunnel_access rules (authz.c). */
#ifndef HERMES_AUTHZ_H
#define HERMES_AUTHZ_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-t.h"
#include "hermes/origdst.h"
#include "http1-t.h"

/* Who a request says it is for (Hermes-Uid, Hermes-Comm from the previous hop). */
void authz_identity(const struct h1_request *req, uint32_t *uid, bool *have_uid, char comm[16]);
/* What tunnel_access returns when the target is hermesd's own listener or loopback. */
#define AUTHZ_SELF (-EPERM)
#define AUTHZ_LOOPBACK (-EADDRNOTAVAIL)

/* tunnel_access for a request from peer to target; sans: the client certificate's
 * subjectAltNames (n_sans of them, 0 without TLS). A target that is one of hermesd's
 * own listeners, or a loopback or unspecified address, is refused unless the first
 * matching rule allows it and names it (AUTHZ_SELF, AUTHZ_LOOPBACK). Otherwise, with
 * rules, the first match decides and no match is a denial. 0, or -errno with why. */
int tunnel_access(const struct hermes_config *cfg, const struct hermes_addr *peer, const struct hermes_addr *target,
		  const struct h1_request *req, const char (*sans)[128], unsigned n_sans, char *why, size_t why_len);

#endif
