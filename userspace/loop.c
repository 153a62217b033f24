/* loop.c: the single io_uring event loop of hermesd. Listeners keep a few single-shot
 * accepts in flight and a reserve of descriptors for the flows they take in, signals arrive through a signalfd read, a 1 s timer does housekeeping (idle flows,
 * drain deadline); every completion goes through handle_cqe(). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "ep.h"
#include "ep_sock.h"
#include "http.h"
#include "ingress.h"
#include "log.h"
#include "overload.h"
#include "sock.h"
#include "metrics.h"
#include "loader.h"
#include "conn.h"
#include "admin.h"
#include "counters.h"
#include "fdres.h"
#include "heap.h"
#include "loop.h"
#include "notify.h"
#include "policy.h"
#include "reload.h"
#include "runtime.h"
#include "rxpool.h"
#include "sess.h"
#include "tls.h"
#include "udp.h"

#define RING_ENTRIES 4096
#define LISTEN_BACKLOG 4096
/* A connect the programs steered here just before the draining flag is set reaches the
 * backlog within microseconds on loopback; 20 ms leaves room for a busy host. */
#define DRAIN_HANDOVER_MS 20

/* Binds with a few retries: an io_uring server that just exited keeps its port for
 * a few milliseconds (docs/architecture.md, kernel facts). Does not listen yet: a
 * listening port completes handshakes, and none may before the maps, pins and links
 * are in place (loop_listen). */
static int listen_on(const struct cfg_sockaddr *a, int mark, bool flows)
{
	int fd, one = 1, err = 0;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		err = -errno;
		goto fail;
	}
	/* the flows' sockets inherit TCP_NODELAY from their listener (ep_sock_new counts on
	 * it): a setsockopt per accepted flow less */
	if (flows)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int i = 0; i < 50; i++) {
		if (!bind(fd, (const struct sockaddr *)&a->ss, a->len)) {
			err = 0;
			break;
		}
		err = -errno;
		if (err != -EADDRINUSE)
			break;
		usleep(20000);
	}
	if (err)
		goto fail;
	return fd;
fail:
	close(fd);
	return err;
}

static loop_done_fn on_accept, signal_done, tick_done;

/* A listener that takes in flows (outbound, inbound, tunnel), not the admin or metrics
 * address: those keep one accept, no firewall mark, and are never rested or shed. */
static bool lst_serves_flows(enum listener_kind kind)
{
	return kind != LST_ADMIN && kind != LST_METRICS;
}

/* Fills the listener's free accept slots: ACCEPTS_IN_FLIGHT for flows (see there), one
 * for the admin and metrics addresses. */
static void arm_accept(struct loop *lp, struct listener *l)
{
	int want = lst_serves_flows(l->kind) ? ACCEPTS_IN_FLIGHT : 1;

	for (int i = 0; i < want && l->n_armed < want; i++) {
		struct accept_op *a = &l->acc[i];

		if (a->armed)
			continue;
		a->l = l;
		a->peer_len = sizeof(a->peer);
		io_uring_prep_accept(loop_sqe(lp, &a->op, on_accept), l->fd, (struct sockaddr *)&a->peer, &a->peer_len,
				     SOCK_CLOEXEC);
		a->armed = true;
		l->n_armed++;
	}
}

static void arm_signal(struct loop *lp)
{
	io_uring_prep_read(loop_sqe(lp, &lp->op_signal, signal_done), lp->sfd, &lp->sig, sizeof(lp->sig), 0);
}

static void arm_tick(struct loop *lp)
{
	lp->tick_ts.tv_sec = 1;
	lp->tick_ts.tv_nsec = 0;
	io_uring_prep_timeout(loop_sqe(lp, &lp->op_tick, tick_done), &lp->tick_ts, 0, 0);
}

static int add_listener(struct loop *lp, const struct cfg_sockaddr *a, enum listener_kind kind)
{
	struct listener *l = &lp->lst[lp->n_lst];
	char buf[ADDR_STRLEN];
	int fd;

	addr_fmt((const struct sockaddr *)&a->ss, buf, sizeof(buf));
	fd = listen_on(a, lst_serves_flows(kind) ? (int)lp->cfg->mark : 0, lst_serves_flows(kind));
	if (fd < 0) {
		log_error("cannot listen on %s: %s%s", buf, strerror(-fd),
			  fd == -EADDRINUSE ? " (another hermesd? give another address with --listen/--admin/--metrics)" : "");
		return fd;
	}
	/* the steered flows' sockets come with SO_LINGER 0 (the crash reset, ep_sock.h):
	 * inherited, a setsockopt per flow less (conn_accept) */
	if (kind == LST_OUTBOUND)
		sock_reset_on_close(fd);
	l->fd = fd;
	l->kind = kind;
	snprintf(l->name, sizeof(l->name), "%s", buf);
	lp->n_lst++;
	log_info("%s listener on %s", kind == LST_ADMIN ? "admin" : kind == LST_TUNNEL ? "tunnel" :
		 kind == LST_INBOUND ? "inbound" : kind == LST_METRICS ? "metrics" : "outbound", buf);
	return 0;
}


/* The config read at start, moved to the heap as the first snapshot (generation 1). */
static int install_first(struct loop *lp, struct hermes_config *cfg)
{
	struct hermes_config *own = malloc(sizeof(*own));
	struct runtime *rt;
	char err[512];
	int rc;

	if (!own) {
		config_free(cfg);
		log_error("out of memory for the config");
		return -ENOMEM;
	}
	*own = *cfg; /* its arrays move with it */
	memset(cfg, 0, sizeof(*cfg));
	rc = rt_new(own, 1, &rt, err, sizeof(err));
	if (rc) {
		if (rc == -EINVAL)
			log_error("%s: %s", own->source, err);
		else
			log_error("out of memory for the runtime snapshot");
		config_free(own);
		free(own);
		return rc;
	}
	if (rt->tls_server)
		log_info("TLS: certificate %s, CA %s", own->tls.cert, own->tls.ca);
	reload_install(lp, rt);
	return 0;
}

int loop_init(struct loop *lp, struct hermes_config *cfg, struct loader *ld, const char *config_path)
{
	struct io_uring_params p = {};
	sigset_t mask;
	int err;

	static const double connect_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
						  0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
	static const double bytes_bounds[] = { 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10 };

	memset(lp, 0, sizeof(*lp));
	{
		struct rlimit rl;

		/* main raised the soft limit to the hard one already */
		lp->fd_limit = getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur > INT_MAX ? INT_MAX : (int)rl.rlim_cur;
		lp->fd_reserve = lp->fd_limit / 4 < FD_RESERVE ? lp->fd_limit / 4 : FD_RESERVE;
		lp->fds_other = -1;
		if ((err = fdres_fill(lp))) {
			log_error("cannot hold %d descriptors in reserve (RLIMIT_NOFILE %d): %s", lp->fd_reserve,
				  lp->fd_limit, strerror(-err));
			return err;
		}
	}
	lp->st.connect_seconds.bounds = connect_bounds;
	lp->st.connect_seconds.n_bounds = sizeof(connect_bounds) / sizeof(connect_bounds[0]);
	lp->st.flow_bytes.bounds = bytes_bounds;
	lp->st.flow_bytes.n_bounds = sizeof(bytes_bounds) / sizeof(bytes_bounds[0]);
	lp->st.tunnel_setup_seconds.bounds = connect_bounds;
	lp->st.tunnel_setup_seconds.n_bounds = sizeof(connect_bounds) / sizeof(connect_bounds[0]);
	lp->ld = ld;
	lp->sfd = -1;
	lp->build.efd = -1;
	lp->config_path = config_path;
	list_init(&lp->conns);
	list_init(&lp->admins);
	list_init(&lp->sessions);
	list_init(&lp->sess_dirty);
	list_init(&lp->sock_check);
	if ((err = install_first(lp, cfg)))
		return err;
	cfg = lp->cfg;

	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = RING_ENTRIES * 4;
	err = io_uring_queue_init_params(RING_ENTRIES, &lp->ring, &p);
	if (err == -EINVAL) { /* older kernels: no DEFER_TASKRUN */
		p.flags = IORING_SETUP_CQSIZE;
		err = io_uring_queue_init_params(RING_ENTRIES, &lp->ring, &p);
	}
	if (err) {
		log_error("io_uring setup failed: %s", strerror(-err));
		return err;
	}
	/* buffer group 1: the only one */
	if ((err = rxpool_init(&lp->pool, &lp->ring, cfg->relay_buffers, 1))) {
		log_error("cannot set up the pool of %u relay buffers of %u KiB (proxy.relay_buffers): %s%s", cfg->relay_buffers,
			  RXPOOL_BUFSZ / 1024, strerror(-err),
			  err == -EINVAL ? " (this kernel has no io_uring provided-buffer rings: Linux 5.19 or later)" : "");
		return err;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	lp->sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (lp->sfd < 0) {
		err = -errno;
		log_error("signalfd: %s", strerror(-err));
		return err;
	}
	if ((err = rt_build_init(&lp->build))) {
		log_error("eventfd for reloads: %s", strerror(-err));
		return err;
	}
	if ((err = sess_init(lp, &tunnel_acceptor)))
		return err;
	if ((err = http_init(lp)))
		return err;
	if ((err = add_listener(lp, &cfg->listen, LST_OUTBOUND)))
		return err;
	if (cfg->listen6.len && (err = add_listener(lp, &cfg->listen6, LST_OUTBOUND)))
		return err;
	if (cfg->admin.len && (err = add_listener(lp, &cfg->admin, LST_ADMIN)))
		return err;
	if (cfg->tunnel.len && (err = add_listener(lp, &cfg->tunnel, LST_TUNNEL)))
		return err;
	if (cfg->inbound.on && cfg->inbound.listen.len && (err = add_listener(lp, &cfg->inbound.listen, LST_INBOUND)))
		return err;
	if (cfg->inbound.on && cfg->inbound.listen6.len && (err = add_listener(lp, &cfg->inbound.listen6, LST_INBOUND)))
		return err;
	if (cfg->metrics.len && (err = add_listener(lp, &cfg->metrics, LST_METRICS)))
		return err;
	if ((err = udp_init(lp)))
		return err;
	lp->st.last_reload_time = lp->st.last_reload_ok_time = loop_wall_time();
	if ((err = metrics_config(lp))) {
		log_error("out of memory for the metrics' label sets");
		return err;
	}
	arm_signal(lp);
	arm_tick(lp);
	return 0;
}

int loop_listen(struct loop *lp, bool inbound)
{
	for (int i = 0; i < lp->n_lst; i++) {
		struct listener *l = &lp->lst[i];

		if ((l->kind == LST_INBOUND) != inbound)
			continue;
		if (listen(l->fd, LISTEN_BACKLOG) < 0) {
			int err = -errno;

			log_error("cannot listen on %s: %s", l->name, strerror(-err));
			return err;
		}
		arm_accept(lp, l);
	}
	return 0;
}

static void close_listeners(struct loop *lp, bool admin_too)
{
	for (int i = 0; i < lp->n_lst; i++) {
		struct listener *l = &lp->lst[i];

		/* the admin and metrics addresses answer while flows drain */
		if (l->fd < 0 || (!lst_serves_flows(l->kind) && !admin_too))
			continue;
		/* shutdown wakes the accepts in flight (they complete with an error) */
		shutdown(l->fd, SHUT_RDWR);
		close(l->fd);
		l->fd = -1;
	}
}

/* An accepted connection to the module that serves the listener's kind; peer is its
 * address when the accept gave it (else NULL). */
static void accept_dispatch(struct loop *lp, const struct listener *l, int fd, const struct sockaddr *peer)
{
	/* over the memory budget (stage 3) a new inbound flow (no protocol of ours to answer
	 * in) is reset at once; an outbound one once its action is known (conn_accept), a
	 * tunnel listener's in its protocol (sess_h2.c, tunnel.c); the admin and metrics
	 * ports stay open: they show the pressure */
	if (l->kind == LST_INBOUND && overload_shed(lp, OVL_REFUSE_CONNS, OVL_ACT_REFUSE_CONN)) {
		sock_reset_on_close(fd);
		close(fd);
		return;
	}
	switch (l->kind) {
	case LST_ADMIN: admin_accept(lp, fd); break;
	case LST_METRICS: admin_accept_metrics(lp, fd); break;
	case LST_TUNNEL: sess_accept(lp, fd); break;
	case LST_INBOUND: ingress_accept(lp, fd); break;
	case LST_OUTBOUND: conn_accept(lp, fd, peer); break;
	}
}

/* Connections the kernel queued on a listener are reset when it closes: take them in
 * first (served like any other, within the drain). */
static void take_backlog(struct loop *lp)
{
	for (int i = 0; i < lp->n_lst; i++) {
		struct listener *l = &lp->lst[i];
		int fd, n = 0;

		if (l->fd < 0 || !lst_serves_flows(l->kind) ||
		    fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK))
			continue;
		while ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			n++;
			accept_dispatch(lp, l, fd, NULL);
		}
		if (n)
			log_info("%s listener: took in %d queued connection%s before closing", l->name, n,
				 n == 1 ? "" : "s");
	}
}

static void start_drain(struct loop *lp, int signo)
{
	if (lp->draining) {
		log_warn("second signal %d: closing every flow now", signo);
		conn_abort_all(lp);
		http_abort_all(lp);
		return;
	}
	lp->draining = true;
	notify_stopping(lp->st.active);
	lp->drain_deadline_ms = loop_now_ms() + lp->cfg->drain_timeout_ms;
	log_info("signal %d: no new flows; draining %llu active flows (up to %u ms)", signo,
		 (unsigned long long)lp->st.active, lp->cfg->drain_timeout_ms);
	/* A hand-over with no reset: the connect programs stop steering to us (steered
	 * destinations fail open from now on), connects they steered here a moment ago get
	 * the time to reach the backlog, and the backlog is taken in before the close. */
	if (loader_set_draining(lp->ld))
		log_warn("cannot tell the connect programs that hermesd is stopping: a connect steered "
			 "here while the listener closes may be reset");
	else
		usleep(DRAIN_HANDOVER_MS * 1000);
	take_backlog(lp);
	close_listeners(lp, false);
}

static void on_signal(struct loop *lp, int res)
{
	const struct signalfd_siginfo *si = (const void *)&lp->sig;

	if (res == (int)sizeof(struct signalfd_siginfo)) {
		if (si->ssi_signo == SIGHUP)
			reload_sighup(lp); /* systemd hears RELOADING=1 and READY=1 around each build */
		else
			start_drain(lp, (int)si->ssi_signo);
	}
	arm_signal(lp);
}

static void on_tick(struct loop *lp)
{
	/* what the flows freed since the last tick, before this tick's housekeeping gives
	 * idle ones' buffers back (heap_tick: that is quiet, not traffic) */
	unsigned long long freed_by_traffic = buf_freed;

	conn_tick(lp);
	http_tick(lp);
	sess_tick(lp);
	udp_tick(lp);
	admin_tick(lp);
	rxpool_tick(&lp->pool);
	lp->st.setup_buf_releases += buf_setup_tick();
	lp->st.rxpool_held = (uint64_t)lp->pool.held * RXPOOL_BUFSZ;
	lp->st.rxpool_resident = lp->pool.free.resident;
	overload_tick(lp);
	if (heap_tick(buf_held, freed_by_traffic, buf_freed, lp->now_ms))
		lp->st.heap_trims++;
	/* what the admin port took of the reserve (listeners resting refill it themselves) */
	if (lp->n_spare >= lp->fd_reserve)
		lp->fd_admin_lent = 0;
	while (lp->fd_admin_lent && !lp->n_paused && !fdres_spare_add(lp))
		lp->fd_admin_lent--;
	/* a cgroup removed and made again (systemd does on every restart of a unit) leaves
	 * its links defunct: attach them again, or say so in /ready, once a second */
	loader_check(lp->ld);
	reload_tick(lp);
	if (lp->draining && (lp->st.active || !list_empty(&lp->sessions)) && lp->now_ms >= lp->drain_deadline_ms) {
		log_warn("drain timeout: closing %llu remaining flows", (unsigned long long)lp->st.active);
		conn_abort_all(lp);
		http_abort_all(lp);
		sess_close_all(lp);
	}
	arm_tick(lp);
}

/* Out of descriptors (or kernel memory) the backlog cannot be taken in: re-arming at once
 * would fail again at once, a busy loop that starves the flows already open (it did at
 * 10000 connections under a 20000-descriptor limit). So the listener rests ACCEPT_PAUSE_MS,
 * as nginx does, and connections wait in the backlog meanwhile.
 * A flow needs a second descriptor for its upstream after the accept. hermesd holds
 * fd_reserve descriptors (duplicates of /dev/null) that no accept can take: a flow whose
 * upstream socket finds none free gets one of them (fdres_take), and every flow
 * listener rests, so the few accepts still in flight (ACCEPTS_IN_FLIGHT each) are all the
 * reserve must serve. A rest ends only once the reserve holds a descriptor for each accept
 * in flight again (reserve_floor; it is topped up to the full fd_reserve whenever it can
 * be, for the http action's and tunnel streams' upstream sockets). (The accepted
 * descriptor's number, watched before, tells how many are open only while none below it
 * was closed: at c=10000 the numbers stayed low, accept failed with EMFILE and flows
 * accepted just before were reset.)
 * Idle pooled upstream connections of the http action hold descriptors too: a pause
 * closes up to FD_RESERVE of them, so that the backlog is taken in after the rest rather
 * than one connection per rest (clients in it timed out), as HAProxy gives up idle server
 * connections when its descriptors run short. */
#define ACCEPT_PAUSE_MS 100

static void trim_pool(struct loop *lp)
{
	if (!lp->http)
		return;
	/* idle pooled upstream connections first, then idle keep-alive clients: a client that
	 * keeps its idle connection open while its next requests wait in the backlog for a
	 * descriptor (curl --parallel does) would otherwise hold them until it gives up */
	lp->st.http_pool_trimmed += hup_trim_idle(lp, FD_RESERVE);
	lp->st.http_idle_clients_trimmed += http_trim_idle_clients(lp, FD_RESERVE);
}

static void pause_listener(struct loop *lp, struct listener *l, int err)
{
	if (!l->paused) {
		if (!lp->st.accept_pauses)
			log_warn("accept on %s: %s: resting %d ms at a time while it lasts (connections wait in "
				 "the backlog; /stats hermes_accept_pauses_total counts it)",
				 l->name, err ? strerror(err) : "descriptors nearly used up (RLIMIT_NOFILE)",
				 ACCEPT_PAUSE_MS);
		lp->st.accept_pauses++;
		lp->n_paused++;
		/* not pushed on by more shortage meanwhile: the backlog would starve */
		l->resume_ms = lp->now_ms + ACCEPT_PAUSE_MS;
	}
	l->paused = true;
}

static bool accept_starved(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* What the reserve must hold again before the flow listeners accept: a descriptor for
 * each accept they keep in flight (all of it, when it is smaller). */
static int reserve_floor(const struct loop *lp)
{
	int n = 0;

	for (int i = 0; i < lp->n_lst; i++)
		if (lp->lst[i].fd >= 0 && lst_serves_flows(lp->lst[i].kind))
			n += ACCEPTS_IN_FLIGHT;
	return n < lp->fd_reserve ? n : lp->fd_reserve;
}

static void resume_listeners(struct loop *lp)
{
	bool enough = false, tried = false;

	lp->n_paused = 0;
	for (int i = 0; i < lp->n_lst; i++) {
		struct listener *l = &lp->lst[i];

		if (!l->paused)
			continue;
		if (l->fd >= 0 && lp->now_ms < l->resume_ms) {
			lp->n_paused++;
			continue;
		}
		if (l->fd >= 0 && !tried) {
			tried = true;
			if (fdres_fill(lp)) { /* idle pooled connections give theirs back first */
				trim_pool(lp);
				fdres_fill(lp);
			}
			enough = lp->n_spare >= reserve_floor(lp);
		}
		if (l->fd >= 0 && !enough) { /* rest again: the reserve comes first */
			l->resume_ms = lp->now_ms + ACCEPT_PAUSE_MS;
			lp->n_paused++;
			continue;
		}
		l->paused = false;
		if (l->fd >= 0)
			arm_accept(lp, l);
	}
}

static void on_accept(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct accept_op *a = loop_container_of(op, struct accept_op, op);
	struct listener *l = a->l;

	a->armed = false;
	l->n_armed--;
	if (cqe->res < 0) {
		/* the admin and metrics addresses answer though flows used every descriptor up:
		 * their connection takes one of the reserve (topped up again by the tick) */
		if ((cqe->res == -EMFILE || cqe->res == -ENFILE) && l->fd >= 0 &&
		    !lst_serves_flows(l->kind) && fdres_lend(lp)) {
			lp->st.fd_reserve_used++;
			lp->fd_admin_lent++;
			arm_accept(lp, l);
			return;
		}
		if (l->fd >= 0 && accept_starved(-cqe->res)) {
			if (cqe->res == -EMFILE || cqe->res == -ENFILE)
				trim_pool(lp);
			pause_listener(lp, l, -cqe->res);
			return; /* resume_listeners re-arms it */
		}
		if (l->fd >= 0 && cqe->res != -ECANCELED && cqe->res != -EINVAL)
			log_warn("accept on %s: %s", l->name, strerror(-cqe->res));
	} else {
		accept_dispatch(lp, l, cqe->res, a->peer_len <= sizeof(a->peer) ? (struct sockaddr *)&a->peer : NULL);
	}
	/* a flow that took a reserved descriptor paused the listener: it stays unarmed */
	if (l->fd >= 0 && !l->paused)
		arm_accept(lp, l);
}

static void signal_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	(void)op;
	on_signal(lp, cqe->res);
}

static void tick_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	(void)op;
	(void)cqe;
	on_tick(lp);
}

/* An upstream socket took a descriptor of the reserve (fdres_take): idle pooled
 * connections give theirs back and the flow listeners rest, before any of them is armed
 * again, so the flows already taken in get their upstream sockets. */
static void on_fd_short(struct loop *lp)
{
	lp->fd_short = false;
	trim_pool(lp);
	for (int i = 0; i < lp->n_lst; i++) {
		struct listener *l = &lp->lst[i];

		if (l->fd >= 0 && lst_serves_flows(l->kind))
			pause_listener(lp, l, 0);
	}
}

static void handle_cqe(struct loop *lp, const struct io_uring_cqe *cqe)
{
	struct loop_op *op = io_uring_cqe_get_data(cqe);

	op->done(lp, op, cqe);
	if (lp->fd_short)
		on_fd_short(lp);
}

/* Waits for completions; while a listener rests, no longer than until its rest ends (with
 * nothing else happening the loop would sleep until the next 1 s tick, and the backlog
 * would be taken in one connection per second). */
static int loop_wait(struct loop *lp)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	uint64_t until = UINT64_MAX, now = loop_now_ms(), rel;
	int rc;

	if (!lp->n_paused)
		return io_uring_submit_and_wait(&lp->ring, 1);
	for (int i = 0; i < lp->n_lst; i++)
		if (lp->lst[i].paused && lp->lst[i].resume_ms < until)
			until = lp->lst[i].resume_ms;
	rel = until > now ? until - now : 0;
	ts.tv_sec = (long long)(rel / 1000);
	ts.tv_nsec = (long long)(rel % 1000) * 1000000;
	rc = io_uring_submit_and_wait_timeout(&lp->ring, &cqe, 1, &ts, NULL);
	return rc == -ETIME ? 0 : rc;
}

int loop_run(struct loop *lp)
{
	lp->ready = true;
	while (!(lp->draining && lp->st.active == 0 && list_empty(&lp->conns) && list_empty(&lp->sessions))) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int rc;

		rc = loop_wait(lp);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			log_error("io_uring_submit_and_wait: %s", strerror(-rc));
			return 1;
		}
		lp->now_ms = loop_now_ms();
		io_uring_for_each_cqe(&lp->ring, head, cqe) {
			handle_cqe(lp, cqe);
			n++;
		}
		io_uring_cq_advance(&lp->ring, n);
		if (lp->n_paused)
			resume_listeners(lp);
		/* an http exchange may have output for a tunnel session's stream (h2dn.c):
		 * flush until neither side has anything left */
		for (int guard = 0; guard < 16; guard++) {
			sess_flush_dirty(lp);
			if (lp->http)
				http_flush_dirty(lp);
			if (list_empty(&lp->sess_dirty))
				break;
		}
		ep_sock_check(lp);
	}
	log_info("all flows drained");
	return lp->exit_code;
}

void loop_fini(struct loop *lp)
{
	close_listeners(lp, true);
	udp_fini(lp);
	http_fini(lp);
	sess_fini(lp);
	outlier_set_free(&lp->tunnel_peers);
	if (lp->sfd >= 0)
		close(lp->sfd);
	while (lp->n_spare)
		close(lp->fd_spare[--lp->n_spare]);
	rxpool_fini(&lp->pool, &lp->ring);
	io_uring_queue_exit(&lp->ring);
	/* a reload in progress is waited for a little; one reading a file that does not come
	 * is left to the exit, with the snapshot it reads (its reference keeps it) */
	if (!rt_build_fini(&lp->build, 1000))
		log_warn("a reload of %s is still being built: not waiting for it", lp->build_name);
	else
		reload_fini(lp);
	mlabels_free(&lp->st.http_route_codes);
	mlabels_free(&lp->st.tunnel_peer_results);
	/* the last holders (requests, flows) are gone: this frees the current snapshot */
	rt_put(lp->rt);
	lp->rt = NULL;
	lp->cfg = NULL;
}
