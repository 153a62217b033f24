/* access.c: the access log of flows and http requests. The kernel flow table
 * (hermes_flows, keyed by the app socket's cookie) says which process opened the flow:
 * its comm and cgroup; hermes_origdst gave hermesd the pid, uid and cookie when it
 * accepted the flow. Looked up only when the access log is on, once per flow (and once
 * per client connection of the http action). */
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "log.h"
#include "ring.h"
#include "policy.h"
#include "access.h"

void access_app_by_cookie(struct loop *lp, uint64_t cookie, struct access_app *app)
{
	struct hermes_flow f;

	app->looked_up = true;
	if (!cookie || lp->ld->flows_fd < 0 || bpf_map_lookup_elem(lp->ld->flows_fd, &cookie, &f))
		return;
	memcpy(app->comm, f.comm, HERMES_COMM_LEN);
	app->comm[HERMES_COMM_LEN] = 0;
	app->cgroup_id = f.cgroup_id;
	if (!app->pid)
		app->pid = f.pid;
	if (!app->uid)
		app->uid = f.uid;
}

void access_app_by_peer(struct loop *lp, const struct hermes_addr *peer, struct access_app *app)
{
	struct hermes_origdst od;

	if (app->looked_up)
		return;
	app->looked_up = true;
	if (lp->ld->origdst_fd < 0 || bpf_map_lookup_elem(lp->ld->origdst_fd, peer, &od))
		return;
	app->pid = od.pid;
	app->uid = od.uid;
	access_app_by_cookie(lp, od.cookie, app);
}

static const char *fmt_addr(const struct hermes_addr *a, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	if (!a || !a->family)
		return "";
	addr_from_hermes(a, &ss);
	return addr_fmt((struct sockaddr *)&ss, buf, len);
}

void access_conn(struct loop *lp, const struct conn *c)
{
	char status[16];
	const struct hermes_addr *d = NULL, *u = NULL;
	struct access_app app = { .pid = c->app_pid, .uid = c->app_uid };
	const char *action, *result;

	if (!log_access_on() || c->quiet)
		return;
	if (c->tunnel_client || c->target.family)
		d = &c->target;
	else if (c->n_eps)
		d = &c->eps[0];
	if (!d || !d->family)
		return; /* never steered anywhere (no original destination): nothing to account */
	if (c->attempts && c->n_eps)
		u = &c->eps[c->cur_ep];
	access_app_by_cookie(lp, c->app_cookie, &app);
	if (!app.comm[0] && c->peer_comm[0])
		memcpy(app.comm, c->peer_comm, sizeof(c->peer_comm));
	action = c->udp ? "connect-udp" : c->tunnel_server ? "tunnel-in" : c->inbound ? "inbound" : pol_action_name(c->action);
	if (c->result) {
		result = c->result;
	} else if (c->reply_status && c->reply_status != 200) {
		snprintf(status, sizeof(status), "%u", c->reply_status);
		result = status;
	} else {
		result = c->rst_client || c->rst_upstream ? "reset" : "ok";
	}
	const struct access_flow a = {
		.id = c->id, .app = &app, .client = &c->peer, .dst = d, .upstream = u, .action = action,
		.udp = c->udp ? &c->udp_tally : NULL, .sent = c->bytes[0], .received = c->bytes[1],
		.duration_ms = lp->now_ms - c->started_ms, .result = result,
	};
	access_flow(&a);
}

void access_flow(const struct access_flow *a)
{
	char client[ADDR_STRLEN], dst[ADDR_STRLEN], up[ADDR_STRLEN];
	struct log_field f[17];
	size_t n = 0;

	if (!log_access_on())
		return;
	f[n++] = LOG_NUM("conn", a->id);
	f[n++] = LOG_NUM("pid", a->app->pid);
	f[n++] = LOG_STR("comm", a->app->comm);
	f[n++] = LOG_NUM("uid", a->app->uid);
	f[n++] = LOG_NUM("cgroup", a->app->cgroup_id);
	f[n++] = LOG_STR("client", fmt_addr(a->client, client, sizeof(client)));
	f[n++] = LOG_STR("dst", fmt_addr(a->dst, dst, sizeof(dst)));
	f[n++] = LOG_STR("action", a->action);
	/* a TCP line stays as it was: no protocol field means tcp */
	if (a->udp)
		f[n++] = LOG_STR("protocol", "udp");
	f[n++] = LOG_STR("upstream", fmt_addr(a->upstream, up, sizeof(up)));
	f[n++] = LOG_NUM("sent", a->sent);
	f[n++] = LOG_NUM("received", a->received);
	if (a->udp) {
		f[n++] = LOG_NUM("datagrams_sent", a->udp->dgrams[0]);
		f[n++] = LOG_NUM("datagrams_received", a->udp->dgrams[1]);
		f[n++] = LOG_NUM("drops", a->udp->drops);
	}
	f[n++] = LOG_NUM("duration_ms", a->duration_ms);
	f[n++] = LOG_STR("result", a->result);
	log_access(f, n);
}

void access_http(const struct access_http *h)
{
	char client[ADDR_STRLEN], dst[ADDR_STRLEN], up[ADDR_STRLEN], status[16];
	const struct access_app none = { 0 }, *app = h->app ? h->app : &none;

	if (!log_access_on())
		return;
	if (h->status)
		snprintf(status, sizeof(status), "%d", h->status);
	else
		snprintf(status, sizeof(status), "reset");
	const struct log_field f[] = {
		LOG_NUM("conn", h->id),
		LOG_NUM("pid", app->pid),
		LOG_STR("comm", app->comm),
		LOG_NUM("uid", app->uid),
		LOG_NUM("cgroup", app->cgroup_id),
		LOG_STR("client", fmt_addr(h->client, client, sizeof(client))),
		LOG_STR("dst", fmt_addr(h->dst, dst, sizeof(dst))),
		LOG_STR("action", "http"),
		LOG_STR("method", h->method),
		LOG_STR("path", h->path),
		LOG_STR("route", h->route),
		LOG_STR("upstream", fmt_addr(h->upstream, up, sizeof(up))),
		LOG_NUM("attempts", h->attempts),
		LOG_NUM("sent", h->bytes_in),
		LOG_NUM("received", h->bytes_out),
		LOG_NUM("duration_ms", h->duration_ms),
		LOG_STR("result", status),
	};
	log_access(f, sizeof(f) / sizeof(f[0]));
}
