/* status.c: `hermesctl status`: the pinned links, the decision counters and whether
 * hermesd is ready, as text or JSON; its exit status makes it a health check. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "hermes/pin.h"
#include "links.h"
#include "policy.h"

enum admin_state { ADMIN_READY, ADMIN_NOT_READY, ADMIN_UNREACHABLE };

/* detail gets why hermesd is not ready: its status line, or why it did not answer. */
static enum admin_state probe_admin(const struct admin_client *admin, char *detail, size_t len)
{
	struct admin_answer a;
	enum admin_state st;

	detail[0] = 0;
	if (admin_get(admin, "/ready", &a, detail, len))
		return ADMIN_UNREACHABLE;
	st = a.status == 200 ? ADMIN_READY : ADMIN_NOT_READY;
	if (st != ADMIN_READY) {
		size_t n;

		ctl_status_line(&a, detail, len);
		/* hermesd says why in the body's first line */
		n = strlen(detail);
		if (a.body && a.body[0] && n + 3 < len)
			snprintf(detail + n, len - n, ": %.*s", (int)strcspn(a.body, "\r\n"), a.body);
	}
	free(a.buf);
	return st;
}

/* What status shows from /metrics: the memory budget's stage and bytes held, and the
 * configuration from etcd (hermes_etcd_*, present only with an etcd section). -1: not
 * known. */
enum { M_OVL_STAGE, M_OVL_BYTES, M_ETCD_REV, M_ETCD_STALE, M_ETCD_RECONNECTS, M_ETCD_REFUSED, M_ETCD_STATUS_UP,
       M_N };
static void probe_metrics(const struct admin_client *admin, double m[M_N])
{
	static const char *const names[M_N] = { "\nhermes_overload_stage ", "\nhermes_overload_buffer_bytes ",
						"\nhermes_etcd_applied_revision ", "\nhermes_etcd_staleness_seconds ",
						"\nhermes_etcd_watch_reconnects_total ",
						"\nhermes_etcd_documents_refused_total ",
						"\nhermes_etcd_status_up " };
	struct admin_answer a;
	char err[128];

	for (int i = 0; i < M_N; i++)
		m[i] = -1;
	if (admin_get(admin, "/metrics", &a, err, sizeof(err)))
		return;
	for (int i = 0; i < M_N && a.status == 200 && a.body; i++) {
		const char *p = strstr(a.body, names[i]);

		if (p)
			m[i] = strtod(p + strlen(names[i]), NULL);
	}
	free(a.buf);
}

static const char *overload_stage_name(long long stage)
{
	return stage == 0 ? "normal" : stage == 1 ? "the heaviest connections are not read" :
	       stage == 2 ? "new streams and http requests refused" : stage == 3 ? "new connections refused" : "?";
}

int cmd_status(const struct ctl *c, int argc, char **argv)
{
	double m[M_N] = { -1, -1, -1, -1, -1, -1 };
	long long ovl_stage, ovl_bytes;
	uint64_t cnt[HERMES_CNT_MAX];
	struct link_desc *links = NULL;
	char detail[256];
	enum admin_state st;
	bool json, have_cnt = false;
	int n_links = 0, err, fd, rc;

	rc = ctl_json_arg(c, argc, argv, "status", "", &json);
	if (rc)
		return rc;
	if (ctl_check_root(c))
		return EXIT_RUNTIME;

	err = links_scan(c->pin_root, &links, &n_links);
	if (err) {
		errmsg("cannot list %s/%s: %s (%s)", c->pin_root, HERMES_PIN_LINKS, strerror(-err), ctl_pin_hint(-err));
		rc = EXIT_RUNTIME;
	}
	fd = ctl_open_pinned(c, HERMES_MAP_STATS);
	if (fd >= 0) {
		err = pol_read_counters(fd, cnt);
		close(fd);
		if (err)
			errmsg("cannot read %s/%s: %s", c->pin_root, HERMES_MAP_STATS, strerror(-err));
		else
			have_cnt = true;
	}
	if (!have_cnt)
		rc = EXIT_RUNTIME;
	st = probe_admin(&c->admin, detail, sizeof(detail));
	if (st != ADMIN_UNREACHABLE)
		probe_metrics(&c->admin, m);
	ovl_stage = (long long)m[M_OVL_STAGE];
	ovl_bytes = (long long)m[M_OVL_BYTES];

	if (json) {
		printf("{\"pin_root\": ");
		json_str(stdout, c->pin_root);
		printf(", \"links\": [");
		for (int i = 0; i < n_links; i++) {
			const struct link_desc *d = &links[i];

			printf("%s\n  {\"name\": ", i ? "," : "");
			json_str(stdout, d->name);
			printf(", \"link_id\": %u, \"program\": ", d->link_id);
			json_str(stdout, d->prog);
			printf(", \"program_id\": %u, \"attach_type\": ", d->prog_id);
			json_str(stdout, d->attach);
			printf(", \"defunct\": %s", d->defunct ? "true" : "false");
			if (d->has_cgroup)
				printf(", \"cgroup_id\": %llu", (unsigned long long)d->cgroup_id);
			else
				printf(", \"cgroup_id\": null");
			printf(", \"cgroup\": ");
			json_str(stdout, d->cgroup);
			if (d->error[0]) {
				printf(", \"error\": ");
				json_str(stdout, d->error);
			}
			printf("}");
		}
		printf("%s],\n \"counters\": ", n_links ? "\n" : "");
		if (have_cnt) {
			printf("{");
			for (unsigned i = 0; i < HERMES_CNT_MAX; i++)
				printf("%s\"%s\": %llu", i ? ", " : "", pol_counter_name(i), (unsigned long long)cnt[i]);
			printf("}");
		} else {
			printf("null");
		}
		printf(",\n \"hermesd\": {\"admin\": ");
		json_str(stdout, c->admin.addr);
		printf(", \"ready\": %s, \"state\": \"%s\"", st == ADMIN_READY ? "true" : "false",
		       st == ADMIN_READY ? "ready" : st == ADMIN_NOT_READY ? "not_ready" : "unreachable");
		if (detail[0]) {
			printf(", \"detail\": ");
			json_str(stdout, detail);
		}
		if (ovl_stage >= 0)
			printf(", \"overload_stage\": %lld, \"buffer_bytes\": %lld", ovl_stage, ovl_bytes);
		if (m[M_ETCD_REV] >= 0)
			printf(", \"etcd\": {\"applied_revision\": %.0f, \"staleness_seconds\": %.3f, "
			       "\"watch_reconnects\": %.0f, \"documents_refused\": %.0f, \"status_key_up\": %s}",
			       m[M_ETCD_REV], m[M_ETCD_STALE], m[M_ETCD_RECONNECTS], m[M_ETCD_REFUSED],
			       m[M_ETCD_STATUS_UP] > 0 ? "true" : "false");
		printf("}}\n");
	} else {
		printf("pin root: %s\n", c->pin_root);
		if (!n_links) {
			printf("links: none (nothing attached: no connection is steered)\n");
		} else {
			printf("links:\n  %-20s %-22s %8s  %-13s %s\n", "LINK", "PROGRAM", "PROG_ID", "ATTACH", "CGROUP");
			for (int i = 0; i < n_links; i++) {
				const struct link_desc *d = &links[i];

				if (d->error[0]) {
					printf("  %-20s %s\n", d->name, d->error);
					continue;
				}
				printf("  %-20s %-22s %8u  %-13s ", d->name, d->prog, d->prog_id, d->attach);
				if (d->has_cgroup && !d->defunct)
					printf("%s (id %llu)\n", d->cgroup, (unsigned long long)d->cgroup_id);
				else
					printf("%s\n", d->cgroup);
			}
		}
		if (have_cnt) {
			printf("decisions:\n");
			for (unsigned i = 0; i < HERMES_CNT_MAX; i++)
				printf("  %-14s %llu\n", pol_counter_name(i), (unsigned long long)cnt[i]);
			if (cnt[HERMES_CNT_UNKNOWN_ACTION])
				printf("  (unknown_action: connects denied because their rule's action is not one hermes "
				       "knows: see 'hermesctl policy list')\n");
		}
		if (st == ADMIN_READY)
			printf("hermesd: ready (%s)\n", c->admin.addr);
		else if (st == ADMIN_NOT_READY)
			printf("hermesd: answering at %s but not ready (%s)\n", c->admin.addr, detail);
		else
			printf("hermesd: not reachable at %s (%s)\n", c->admin.addr, detail);
		/* shedding load is not unreadiness: shown, and the exit status stays 0 */
		if (ovl_stage >= 0)
			printf("hermesd: overload stage %lld (%s), %lld buffer bytes held\n", ovl_stage,
			       overload_stage_name(ovl_stage), ovl_bytes);
		/* a stale etcd is not unreadiness either: hermesd serves its last config */
		if (m[M_ETCD_REV] >= 0)
			printf("hermesd: config from etcd at revision %.0f%s, etcd last heard %.1f s ago, %.0f watch "
			       "reconnects, %.0f documents refused, status key %s\n", m[M_ETCD_REV],
			       m[M_ETCD_REV] == 0 ? " (none yet: the file's keys)" : "", m[M_ETCD_STALE],
			       m[M_ETCD_RECONNECTS], m[M_ETCD_REFUSED],
			       m[M_ETCD_STATUS_UP] > 0 ? "written" : "not written (etcd not reached)");
	}
	/* a health check: anything short of "all attached, hermesd ready" is 1 */
	for (int i = 0; i < n_links; i++)
		if (links[i].defunct || links[i].error[0])
			rc = EXIT_RUNTIME;
	if (st != ADMIN_READY)
		rc = EXIT_RUNTIME;
	free(links);
	return rc;
}

