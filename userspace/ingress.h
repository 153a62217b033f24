/* ingress.h: protected ingress (ingress.c): the sk_lookup program that hands inbound
 * connections to protected local ports to hermesd's inbound listener, and what hermesd
 * does with them. Prefix ingress_. Functions return 0 or -errno unless stated. */
#ifndef HERMES_INGRESS_USER_H
#define HERMES_INGRESS_USER_H

#include "config-t.h"
#include "loop-t.h"

struct ingress {
	struct ingress_bpf *skel;
	struct bpf_link *link; /* pinned under <pin root>/links/: it outlives hermesd */
	int ports_fd;          /* hermes_ingress, borrowed from skel */
};

/* Refuses (-EPERM, message on stderr) to protect ports in the init network namespace,
 * pid 1's, unless inbound.allow_init_netns: a workstation is never steered by accident. */
int ingress_check(const struct hermes_config *cfg);
/* With inbound on: loads the sk_lookup program, writes the protected ports, puts the
 * inbound listeners of lp in the sockmap and attaches to this netns through a pinned
 * link (updated in place when an earlier hermesd left one). With inbound off: detaches a
 * link an earlier hermesd left. Sets lp->ing. Failures are logged. */
int ingress_start(struct ingress *ing, struct loop *lp);
/* Frees the objects and leaves the link pinned and attached: protected ports stay
 * refused (fail-closed) until hermesd is back or `hermesctl disable`. */
void ingress_stop(struct ingress *ing);
/* A connection accepted on an inbound listener: proxied to its original destination
 * (its local address) when the peer is in inbound.allow_from, reset otherwise. */
void ingress_accept(struct loop *lp, int fd);

#endif
