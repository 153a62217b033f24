/* ingress.c: protected ingress. On the server host an sk_lookup program (bpf/ingress.bpf.c)
 * hands every inbound TCP connection to a protected local port (inbound.protect) to
 * hermesd's inbound listener, so the service is reachable from other hosts only through
 * hermesd, with no change to the service: tunnel traffic reaches it from hermesd itself
 * over lo, which the program leaves alone. Here: loading and attaching that program (per
 * network namespace, through a pinned link), and the inbound listener's accept path:
 * peers in inbound.allow_from are proxied to the original destination (the accepted
 * socket's local address, which sk_assign keeps), every other peer is counted, logged
 * and reset. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "config.h"
#include "hermes/ingress.h"
#include "hermes/pin.h"
#include "ingress.h"
#include "ingress.skel.h"
#include "loader.h"
#include "log.h"
#include "conn.h"
#include "ring.h"
#include "sock.h"
#include "pinfs.h"

#define LINK_PIN HERMES_PIN_LINKS "/" HERMES_LINK_INGRESS

/* The inode number of the init network namespace on recent kernels (PROC_NET_INIT_INO,
 * include/linux/proc_ns.h), as for the other init namespaces. */
#define NET_INIT_INO 0xEFFFFFF9U

/* 1 if this process is in the init network namespace, 0 if not, -errno if unknown. The
 * fixed inode number answers on recent kernels; older ones are compared with pid 1's
 * namespace, which a sandboxed root may not be allowed to see (this host): then only the
 * fixed number can tell, and a different number means another namespace. */
static int in_init_netns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self))
		return -errno;
	if (self.st_ino == NET_INIT_INO)
		return 1;
	if (stat("/proc/1/ns/net", &init))
		return errno == EACCES || errno == EPERM ? 0 : -errno;
	return self.st_dev == init.st_dev && self.st_ino == init.st_ino;
}

int ingress_check(const struct hermes_config *cfg)
{
	int r;

	if (!cfg->inbound.on || cfg->inbound.allow_init_netns)
		return 0;
	r = in_init_netns();
	if (r < 0) {
		fprintf(stderr, "hermesd: inbound: cannot tell whether this is the host's network namespace "
				"(/proc/self/ns/net, /proc/1/ns/net: %s); refusing to attach the sk_lookup program (set "
				"inbound.allow_init_netns: true to attach anyway)\n", strerror(-r));
		return r;
	}
	if (r) {
		fprintf(stderr, "hermesd: inbound: hermesd runs in the host's (init) network namespace, where "
				"protecting ports steers every inbound connection of this machine to them; run it "
				"in the service's network namespace, or set inbound.allow_init_netns: true if this "
				"is what you want\n");
		return -EPERM;
	}
	return 0;
}

static void port_key(struct hermes_ingress_key *k, uint8_t family, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->port = htons(port);
}

static bool in_config(const struct cfg_inbound *in, const struct hermes_ingress_key *k)
{
	for (int i = 0; i < in->n_protect; i++)
		if (k->port == htons(in->protect[i]))
			return k->family == HERMES_FAMILY_V4 || k->family == HERMES_FAMILY_V6;
	return false;
}

/* hermes_ingress := inbound.protect, both families. New entries go in before stale ones
 * go out, so a port protected before and after a restart is never open in between. */
static int sync_ports(int fd, const struct cfg_inbound *in)
{
	static struct hermes_ingress_key stale[HERMES_INGRESS_MAX_PORTS];
	struct hermes_ingress_val steer = { .action = HERMES_INGRESS_STEER };
	struct hermes_ingress_key k, next;
	int n = 0;

	for (int i = 0; i < in->n_protect; i++) {
		for (int f = 0; f < 2; f++) {
			port_key(&k, f ? HERMES_FAMILY_V6 : HERMES_FAMILY_V4, in->protect[i]);
			if (bpf_map_update_elem(fd, &k, &steer, BPF_ANY))
				return -errno;
		}
	}
	for (void *prev = NULL; !bpf_map_get_next_key(fd, prev, &next); prev = &k) {
		if (!in_config(in, &next) && n < HERMES_INGRESS_MAX_PORTS)
			stale[n++] = next;
		k = next;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &stale[i]);
	return 0;
}

/* The inbound listeners into hermes_ingress_listen, by family; a family without one is
 * emptied, so its protected connections are refused rather than sent anywhere else. */
static int put_listeners(int fd, const struct loop *lp)
{
	bool have[HERMES_INGRESS_LISTEN_MAX] = { false };

	for (int i = 0; i < lp->n_lst; i++) {
		const struct listener *l = &lp->lst[i];
		int domain = 0;
		socklen_t len = sizeof(domain);
		__u32 slot;
		__u64 sfd = (__u64)l->fd;

		if (l->kind != LST_INBOUND)
			continue;
		if (getsockopt(l->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
			return -errno;
		slot = domain == AF_INET6 ? HERMES_INGRESS_LISTEN_V6 : HERMES_INGRESS_LISTEN_V4;
		if (bpf_map_update_elem(fd, &slot, &sfd, BPF_ANY))
			return -errno;
		have[slot] = true;
	}
	for (__u32 slot = 0; slot < HERMES_INGRESS_LISTEN_MAX; slot++)
		if (!have[slot])
			bpf_map_delete_elem(fd, &slot);
	return 0;
}

/* Attach to this netns through the pinned link (reused when an earlier hermesd left it on
 * this netns: the ports are never open in between). */
static int attach(struct ingress *ing, const char *pin_root)
{
	struct link_target t = { .type = BPF_LINK_TYPE_NETNS, .what = "this network namespace" };
	char path[PATH_MAX];
	struct stat st;
	int err;

	if (pin_path(path, sizeof(path), pin_root, LINK_PIN))
		return -ENAMETOOLONG;
	t.fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (t.fd < 0 || fstat(t.fd, &st)) {
		err = -errno;
		log_error("inbound: cannot open /proc/self/ns/net: %s", strerror(-err));
		if (t.fd >= 0)
			close(t.fd);
		return err;
	}
	t.ino = st.st_ino;
	err = loader_link_pinned(path, ing->skel->progs.hermes_ingress_lookup, &t, &ing->link);
	close(t.fd);
	return err;
}

/* inbound is off: a link an earlier hermesd left would keep refusing its ports. */
static void remove_stale_link(const char *pin_root)
{
	char path[PATH_MAX];
	int fd;

	if (pin_path(path, sizeof(path), pin_root, LINK_PIN) || (fd = bpf_obj_get(path)) < 0)
		return;
	bpf_link_detach(fd);
	close(fd);
	unlink(path);
	log_info("inbound is off: detached the protected-ingress link an earlier hermesd left (%s)", path);
}

int ingress_start(struct ingress *ing, struct loop *lp)
{
	const struct hermes_config *cfg = lp->cfg;
	struct ingress_bpf *skel;
	int err;

	memset(ing, 0, sizeof(*ing));
	ing->ports_fd = -1;
	if (!cfg->inbound.on) {
		remove_stale_link(cfg->pin_root);
		return 0;
	}
	if (!lp->ld->links[LINK_SOCKOPS_SELF]) {
		/* without it hermesd's own connections to the service would be steered back to it */
		log_error("inbound: protected ingress needs hermesd in a cgroup of its own (not the root), where "
			  "a sockops program recognises hermesd's connections to the protected services");
		return -EPERM;
	}
	skel = ingress_bpf__open();
	if (!skel) {
		err = -errno;
		log_error("inbound: cannot open the sk_lookup BPF object: %s", strerror(-err));
		return err;
	}
	ing->skel = skel;
	err = loader_pin_maps(skel->obj, cfg->pin_root);
	if (err)
		goto fail;
	err = ingress_bpf__load(skel);
	if (err) {
		log_error("inbound: cannot load the sk_lookup program: %s (needs a kernel with sk_lookup, 5.9+)",
			  strerror(-err));
		goto fail;
	}
	ing->ports_fd = bpf_map__fd(skel->maps.hermes_ingress);
	err = sync_ports(ing->ports_fd, &cfg->inbound);
	if (err) {
		log_error("inbound: cannot write %s/%s: %s", cfg->pin_root, HERMES_MAP_INGRESS, strerror(-err));
		goto fail;
	}
	err = put_listeners(bpf_map__fd(skel->maps.hermes_ingress_listen), lp);
	if (err) {
		log_error("inbound: cannot put the inbound listener in %s/%s: %s", cfg->pin_root,
			  HERMES_MAP_INGRESS_LISTEN, strerror(-err));
		goto fail;
	}
	err = attach(ing, cfg->pin_root);
	if (err)
		goto fail;
	lp->ing = ing;
	log_info("protected ingress: %d port(s) reachable only through hermesd, %d allow_from CIDR(s)",
		 cfg->inbound.n_protect, cfg->inbound.n_allow_from);
	return 0;
fail:
	ingress_stop(ing);
	return err;
}

void ingress_stop(struct ingress *ing)
{
	if (ing->link)
		log_info("protected ports stay refused until hermesd is back or `hermesctl disable` "
			 "(the sk_lookup link stays pinned)");
	/* the pin holds the link: destroying our handle does not detach it */
	bpf_link__destroy(ing->link);
	ingress_bpf__destroy(ing->skel);
	memset(ing, 0, sizeof(*ing));
	ing->ports_fd = -1;
}

/* As the sk_lookup program decides: any value but "not protected" protects. */
static bool port_protected(const struct loop *lp, const struct hermes_addr *dst)
{
	struct hermes_ingress_key k;
	struct hermes_ingress_val v;

	port_key(&k, dst->family, ntohs(dst->port));
	return lp->ing && !bpf_map_lookup_elem(lp->ing->ports_fd, &k, &v) && v.action != HERMES_INGRESS_PASS;
}

static void refuse(struct loop *lp, int fd, const char *peer, const char *dst, const char *why)
{
	lp->st.inbound_refused++;
	log_info("inbound connection from %s to %s refused: %s", peer, dst, why);
	sock_reset_on_close(fd);
	close(fd);
}

void ingress_accept(struct loop *lp, int fd)
{
	char pbuf[ADDR_STRLEN] = "?", dbuf[ADDR_STRLEN] = "?";
	struct hermes_addr peer = { 0 }, dst = { 0 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct conn *c;

	if (!getpeername(fd, (struct sockaddr *)&ss, &len) && !addr_to_hermes((struct sockaddr *)&ss, &peer))
		addr_fmt((struct sockaddr *)&ss, pbuf, sizeof(pbuf));
	len = sizeof(ss);
	/* sk_assign keeps the destination the peer dialled as the local address */
	if (!getsockname(fd, (struct sockaddr *)&ss, &len) && !addr_to_hermes((struct sockaddr *)&ss, &dst))
		addr_fmt((struct sockaddr *)&ss, dbuf, sizeof(dbuf));
	if (!port_protected(lp, &dst)) {
		/* dialled the listener itself: proxying it would connect hermesd to itself */
		refuse(lp, fd, pbuf, dbuf, "not a protected port");
		return;
	}
	if (!config_inbound_allowed(lp->cfg, &peer)) {
		refuse(lp, fd, pbuf, dbuf, "peer not in inbound.allow_from (protected ports are reached through "
					   "the tunnel listener)");
		return;
	}
	c = conn_new(lp, fd);
	if (!c)
		return;
	lp->st.inbound_proxied++;
	c->inbound = true;
	c->peer = peer;
	c->eps[0] = dst;
	c->n_eps = 1;
	log_debug("conn %llu: inbound from %s to %s: allowed, proxying to the service", (unsigned long long)c->id, pbuf,
		  dbuf);
	conn_connect(lp, c);
}
