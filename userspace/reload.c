/* reload.c: how the running configuration is replaced, on the loop's side. Two things
 * start a replacement: a SIGHUP (the file; with an etcd section, the etcd document in
 * use, read again with its TLS files) and a new document from etcd (etcd_src.c hands it
 * over through an eventfd). Both take one path: the snapshot is built in a thread
 * (runtime.c's rt_build: parse, restart-only and command-line keys put back, TLS
 * contexts), then swapped in on the loop (reload_apply), or refused with a log line while
 * the running one stays. One build at a time: a SIGHUP during a build asks for one more
 * after it, and a document from etcd during a build waits for its end (the newest one
 * only: documents are whole). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "etcd_src.h"
#include "loader.h"
#include "log.h"
#include "counters.h"
#include "notify.h"
#include "overload.h"
#include "policy.h"
#include "reload.h"
#include "ring.h"
#include "runtime.h"

void reload_install(struct loop *lp, struct runtime *rt)
{
	struct runtime *old = lp->rt;

	lp->rt = rt;
	lp->cfg = rt->cfg;
	rt_put(old);
}

/* Counts a reload's result for hermes_config_reloads_total and its gauges: rc 0 applied,
 * < 0 failed (-E2BIG or -EFBIG: a limit of the file). */
static void reload_count(struct loop *lp, int rc, uint64_t start_ns, uint64_t end_ns)
{
	lp->st.last_reload_time = loop_wall_time();
	lp->st.last_reload_seconds = (double)(end_ns - start_ns) / 1e9;
	lp->st.last_reload_failed = rc < 0;
	if (rc < 0) {
		lp->st.reloads_failed++;
		if (rc == -E2BIG || rc == -EFBIG)
			lp->st.reloads_limit++;
	} else {
		lp->st.reloads_ok++;
		lp->st.last_reload_ok_time = lp->st.last_reload_time;
	}
}

/* "SIGHUP" or "etcd": who asked for the build in progress, for its log lines */
static const char *who(const struct loop *lp)
{
	return lp->build_watched ? "etcd" : "SIGHUP";
}

/* Swaps in the snapshot a build made: 0, or -errno when it is not applied (the running
 * snapshot stays). Every key marked RELOAD in the key tables takes effect, restart-only
 * ones and those the command line set kept their running values in the build
 * (config_reload_merge), with no list of fields here. Only the policy map can still fail:
 * then nothing has changed. Flows, listeners and attachments stay; requests and flows in
 * progress keep the snapshot they started with (their reference) until they end. */
static int reload_apply(struct loop *lp, struct runtime *nrt, const struct cfg_reload_report *rep)
{
	struct hermes_config *ncfg = nrt->cfg;
	bool had_tls = lp->rt->tls_server != NULL;
	char err[512];
	int rc;

	rc = pol_sync_config(lp->ld->policy_fd, ncfg->rules, ncfg->n_rules);
	if (rc) {
		log_error("%s: policy update failed: %s (keeping the running config)", who(lp), strerror(-rc));
		rt_put(nrt);
		return rc;
	}
	if (rep->n_restart)
		log_warn("%s: %s changed in %s, but %s read at start only: the running value%s stay%s until "
			 "hermesd is restarted", who(lp), rep->restart, lp->build_name,
			 rep->n_restart > 1 ? "these are" : "it is", rep->n_restart > 1 ? "s" : "",
			 rep->n_restart > 1 ? "" : "s");
	if (rep->n_cmdline)
		log_info("%s: %s set by a command-line option: the file's value%s not applied", who(lp), rep->cmdline,
			 rep->n_cmdline > 1 ? "s are" : " is");
	/* what a reloaded key changes outside the config itself; the access log's new
	 * destination (or the same path again, after log rotation) opens before the old one
	 * closes: when it cannot, the log goes on where it was, and the snapshot says so */
	log_set_level(ncfg->log_level);
	log_set_format(ncfg->log_format);
	loader_log_bpf(ncfg->log_bpf);
	if (log_access_open(ncfg->access_log, err, sizeof(err))) {
		log_warn("%s: %s (the access log goes on where it was: %s)", who(lp), err, lp->cfg->access_log);
		snprintf(ncfg->access_log, sizeof(ncfg->access_log), "%s", lp->cfg->access_log);
	}
	/* new connections get the new certificates; open ones keep the SSL_CTX reference
	 * their SSL holds */
	reload_install(lp, nrt);
	if (lp->rt->tls_server)
		log_info("%s: TLS certificate %s, CA %s loaded for new connections", who(lp), lp->cfg->tls.cert,
			 lp->cfg->tls.ca);
	else if (had_tls)
		log_warn("%s: the config has no tls section any more: new TLS connections are refused", who(lp));
	if (metrics_config(lp))
		log_warn("%s: out of memory for the metrics' label sets: per-route and per-peer counters "
			 "keep the previous config's names", who(lp));
	log_info("%s: reloaded %s (%d policy rules, config snapshot %llu, built in %.3f s)", who(lp), lp->build_name,
		 lp->cfg->n_rules, (unsigned long long)lp->rt->gen,
		 (double)(lp->build.end_ns - lp->build.start_ns) / 1e9);
	return 0;
}

static loop_done_fn build_done;
static void etcd_next(struct loop *lp);

/* What becomes of the build's document: applied, it is the one in use (and the source
 * writes it to the state file when it came from the watch); refused, it is counted. */
static void build_settle(struct loop *lp, int rc)
{
	char *doc = lp->build_doc;
	char *copy;

	lp->build_doc = NULL;
	if (!doc)
		return;
	if (lp->build_watched) {
		copy = rc ? NULL : malloc(lp->build_doc_len + 1);
		if (copy)
			memcpy(copy, doc, lp->build_doc_len + 1);
		etcd_src_result(lp->etcd, copy, lp->build_doc_len, lp->build_rev, rc,
				rc && lp->build.err[0] ? lp->build.err : NULL);
	}
	if (rc) {
		free(doc);
		return;
	}
	free(lp->etcd_doc);
	lp->etcd_doc = doc;
	lp->etcd_doc_len = lp->build_doc_len;
	lp->etcd_rev = lp->build_rev;
}

/* After a build (or one that could not start): counted, the document settled, systemd
 * told, and what waited meanwhile started. */
static void build_end(struct loop *lp, int rc, uint64_t start_ns, uint64_t end_ns)
{
	reload_count(lp, rc, start_ns, end_ns);
	build_settle(lp, rc);
	notify_ready(lp->cfg->cgroup, lp->cfg->n_rules);
	if (lp->reload_again) {
		lp->reload_again = false;
		reload_sighup(lp);
	} else if (lp->etcd_again) {
		lp->etcd_again = false;
		etcd_next(lp);
	}
}

/* Starts the build of doc (NULL: the file) off the loop; its end comes to build_done.
 * doc becomes the build's; name (NULL: the key and rev) is what it is called in logs. */
static void build_start(struct loop *lp, char *doc, size_t len, int64_t rev, bool watched, const char *name)
{
	int rc;

	lp->build_doc = doc;
	lp->build_doc_len = len;
	lp->build_rev = rev;
	lp->build_watched = watched;
	if (name)
		snprintf(lp->build_name, sizeof(lp->build_name), "%s", name);
	else if (doc)
		snprintf(lp->build_name, sizeof(lp->build_name), "%s revision %" PRId64, etcd_src_key(lp->etcd), rev);
	else
		snprintf(lp->build_name, sizeof(lp->build_name), "%s", lp->config_path);
	notify_reloading();
	rc = rt_build_start(&lp->build, lp->build_name, doc, len, lp->rt);
	if (rc) {
		log_error("%s: reload failed, keeping the running config: cannot start the thread that reads %s: %s",
			  who(lp), lp->build_name, strerror(-rc));
		build_end(lp, rc, 0, 0);
		return;
	}
	lp->st.reload_building = 1;
	io_uring_prep_read(loop_sqe(lp, &lp->op_build, build_done), lp->build.efd, &lp->build_count,
			   sizeof(lp->build_count), 0);
}

/* The build's thread is done: its snapshot is swapped in, or its failure logged (for a
 * document from etcd: its key, revision and why). */
static void build_done(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	struct rt_build *b = &lp->build;
	int rc;

	(void)op;
	if (cqe->res == -EINTR || cqe->res == -EAGAIN) {
		io_uring_prep_read(loop_sqe(lp, &lp->op_build, build_done), b->efd, &lp->build_count,
				   sizeof(lp->build_count), 0);
		return;
	}
	if (cqe->res != (int)sizeof(lp->build_count)) /* cannot happen; the join below waits */
		log_warn("%s: reading the reload's eventfd: %s: waiting for the build on the loop", who(lp),
			 cqe->res < 0 ? strerror(-cqe->res) : "short read");
	rt_build_join(b);
	lp->st.reload_building = 0;
	rc = b->rc;
	if (rc == -ENOMEM)
		log_error("%s: reload failed, keeping the running config: out of memory", who(lp));
	else if (rc && lp->build_doc)
		log_error("%s: %s refused, keeping the running config: %s", who(lp), lp->build_name, b->err);
	else if (rc && b->tls_failed)
		log_error("SIGHUP: reload failed, keeping the running config and certificates: %s: %s",
			  lp->config_path, b->err);
	else if (rc)
		log_error("SIGHUP: reload failed, keeping the running config: %s", b->err);
	else
		rc = reload_apply(lp, b->rt, &b->rep);
	b->rt = NULL;
	build_end(lp, rc, b->start_ns, loop_now_ns());
}

/* SIGHUP: the file (or the etcd document in use) becomes a whole new runtime snapshot
 * (rules, routes, tunnel_access, http routes, TLS contexts), built off the loop so that
 * flows go on meanwhile, then swapped in one step. One build at a time: a SIGHUP during a
 * build asks for one more after it (any number of them, one more), which reads the file
 * as it is then. */
void reload_sighup(struct loop *lp)
{
	char *doc = NULL;

	if (!lp->config_path && !lp->etcd_doc) {
		notify_reloading();
		log_info("SIGHUP: no config file (embedded default): nothing to reload");
		notify_ready(lp->cfg->cgroup, lp->cfg->n_rules);
		return;
	}
	if (lp->build.running) {
		if (!lp->reload_again)
			log_info("SIGHUP: a reload of %s is being built: one more follows it", lp->build_name);
		lp->reload_again = true;
		return;
	}
	if (lp->etcd_doc && !(doc = malloc(lp->etcd_doc_len + 1))) {
		log_error("SIGHUP: reload failed, keeping the running config: out of memory");
		return;
	}
	if (doc)
		memcpy(doc, lp->etcd_doc, lp->etcd_doc_len + 1);
	build_start(lp, doc, lp->etcd_doc_len, lp->etcd_rev, false, NULL);
}

/* ---- documents from etcd ---- */

static loop_done_fn etcd_ready;

static void etcd_arm(struct loop *lp)
{
	io_uring_prep_read(loop_sqe(lp, &lp->op_etcd, etcd_ready), etcd_src_fd(lp->etcd), &lp->etcd_count,
			   sizeof(lp->etcd_count), 0);
}

/* The newest document the source holds, built now; the same as the one in use (a key
 * beside the node's changed) only advances the applied revision; a merge the source
 * refused is counted and logged as a build that failed. */
static void etcd_next(struct loop *lp)
{
	struct etcd_src_doc d;
	uint64_t now;

	if (!etcd_src_take(lp->etcd, &d))
		return;
	if (!d.doc) {
		now = loop_now_ns();
		log_error("etcd: %s refused, keeping the running config: %s", d.name, d.err);
		reload_count(lp, -EINVAL, now, now);
		etcd_src_result(lp->etcd, NULL, 0, d.rev, -EINVAL, d.err);
		return;
	}
	if (lp->etcd_doc && d.len == lp->etcd_doc_len && !memcmp(d.doc, lp->etcd_doc, d.len)) {
		log_debug("etcd: %s is the document in use: nothing to build", d.name);
		lp->etcd_rev = d.rev;
		etcd_src_unchanged(lp->etcd, d.rev);
		free(d.doc);
		return;
	}
	build_start(lp, d.doc, d.len, d.rev, true, d.name);
}

static void etcd_ready(struct loop *lp, struct loop_op *op, const struct io_uring_cqe *cqe)
{
	(void)op;
	if (cqe->res < 0 && cqe->res != -EINTR && cqe->res != -EAGAIN) {
		log_error("etcd: reading the source's eventfd: %s: changes in etcd are no longer applied",
			  strerror(-cqe->res));
		return;
	}
	etcd_arm(lp);
	if (lp->build.running)
		lp->etcd_again = true;
	else
		etcd_next(lp);
}

void reload_follow_etcd(struct loop *lp, struct etcd_src *src, char *first_doc, size_t len, int64_t rev)
{
	lp->etcd = src;
	lp->etcd_doc = first_doc;
	lp->etcd_doc_len = len;
	lp->etcd_rev = rev;
	etcd_arm(lp);
}

/* The node's health for its status key, once a second: what /ready says, and load shed. */
void reload_tick(struct loop *lp)
{
	char h[256];
	int stage;

	if (!lp->etcd)
		return;
	stage = overload_stage(lp);
	if (lp->draining)
		snprintf(h, sizeof(h), "degraded: draining (stopping)");
	else if (lp->ld->unhealthy[0])
		snprintf(h, sizeof(h), "degraded: %.200s", lp->ld->unhealthy);
	else if (stage)
		snprintf(h, sizeof(h), "degraded: shedding load (overload stage %d of 3)", stage);
	else
		snprintf(h, sizeof(h), "ok");
	etcd_src_health(lp->etcd, h);
}

void reload_fini(struct loop *lp)
{
	free(lp->etcd_doc);
	lp->etcd_doc = NULL;
	free(lp->build_doc);
	lp->build_doc = NULL;
}
