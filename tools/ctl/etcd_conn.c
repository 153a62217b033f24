/* etcd_conn.c: a hermesctl command's etcd client (etcd_conn.h): the options, or the etcd
 * section of a hermes.yaml (read with hermesd's own loader, so that hermesctl and hermesd
 * read the same endpoints, prefix and certificates). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "etcd_conn.h"

int ctl_etcd_option(struct ctl_etcd *e, int argc, char **argv, int *i)
{
	static const struct {
		const char *name;
		size_t off;
	} opts[] = {
		{ "--etcd", offsetof(struct ctl_etcd, eps) },       { "--prefix", offsetof(struct ctl_etcd, prefix) },
		{ "--etcd-cert", offsetof(struct ctl_etcd, cert) }, { "--etcd-key", offsetof(struct ctl_etcd, key) },
		{ "--etcd-ca", offsetof(struct ctl_etcd, ca) },     { "-c", offsetof(struct ctl_etcd, conf) },
	};
	const char *a = argv[*i];

	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		size_t l = strlen(opts[k].name);
		const char **dst = (const char **)((char *)e + opts[k].off);

		if (strncmp(a, opts[k].name, l) || (a[l] && a[l] != '='))
			continue;
		if (a[l] == '=') {
			*dst = a + l + 1;
		} else if (*i + 1 < argc) {
			*dst = argv[++*i];
		} else {
			usage_error("option '%s' needs an argument", a);
			return -1;
		}
		(*i)++;
		return 1;
	}
	return 0;
}

static int copy(char *dst, size_t cap, const char *src, const char *what, const char *cmd)
{
	if (strlen(src) >= cap) {
		errmsg("%s: %s is too long (at most %zu characters)", cmd, what, cap - 1);
		return -1;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int ctl_etcd_open(struct ctl_etcd *e, const char *cmd)
{
	struct etcd_opts o = { .connect_timeout_ms = 1000, .request_timeout_ms = 5000 };
	const char *eps = e->eps;

	memset(&e->e, 0, sizeof(e->e));
	if (e->conf) {
		struct hermes_config *cfg = malloc(sizeof(*cfg));
		char err[1024];

		if (!cfg || config_load(e->conf, cfg, err, sizeof(err))) {
			errmsg("%s: %s", cmd, cfg ? err : "out of memory");
			free(cfg);
			return -1;
		}
		e->e = cfg->etcd;
		config_free(cfg);
		free(cfg);
		if (!e->e.n_endpoints && !eps) {
			errmsg("%s: %s has no etcd section with endpoints (expected etcd: {endpoints: [URL], prefix: P}, or "
			       "give --etcd URL)", cmd, e->conf);
			return -1;
		}
	}
	if (!eps && !e->e.n_endpoints)
		eps = getenv("HERMES_ETCD");
	if (eps) {
		char list[CFG_ETCD_MAX_ENDPOINTS * 256], *save = NULL;

		if (copy(list, sizeof(list), eps, "--etcd", cmd))
			return -1;
		e->e.n_endpoints = 0;
		for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
			if (e->e.n_endpoints == CFG_ETCD_MAX_ENDPOINTS) {
				errmsg("%s: more than %d etcd endpoints in --etcd", cmd, CFG_ETCD_MAX_ENDPOINTS);
				return -1;
			}
			if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) {
				errmsg("%s: bad etcd endpoint '%s' (expected http://HOST:PORT or https://HOST:PORT, etcd's "
				       "client URL)", cmd, u);
				return -1;
			}
			if (copy(e->e.endpoints[e->e.n_endpoints++], sizeof(e->e.endpoints[0]), u, "an endpoint", cmd))
				return -1;
		}
	}
	if (!e->e.n_endpoints) {
		errmsg("%s: no etcd endpoint (give --etcd URL[,URL], -c hermes.yaml with an etcd section, or set "
		       "HERMES_ETCD)", cmd);
		return -1;
	}
	if ((e->cert && copy(e->e.cert, sizeof(e->e.cert), e->cert, "--etcd-cert", cmd)) ||
	    (e->key && copy(e->e.key, sizeof(e->e.key), e->key, "--etcd-key", cmd)) ||
	    (e->ca && copy(e->e.ca, sizeof(e->e.ca), e->ca, "--etcd-ca", cmd)))
		return -1;
	if (e->prefix) {
		if (e->prefix[0] != '/' || e->prefix[strlen(e->prefix) - 1] == '/') {
			errmsg("%s: bad --prefix '%s' (expected /NAME[/NAME...] without a trailing '/')", cmd, e->prefix);
			return -1;
		}
		if (copy(e->e.prefix, sizeof(e->e.prefix), e->prefix, "--prefix", cmd))
			return -1;
	}
	e->prefix_given = e->e.prefix[0] != 0;
	for (int i = 0; i < e->e.n_endpoints && i < ETCD_MAX_ENDPOINTS; i++)
		o.endpoints[o.n_endpoints++] = e->e.endpoints[i];
	o.cert = e->e.cert[0] ? e->e.cert : NULL;
	o.key = e->e.key[0] ? e->e.key : NULL;
	o.ca = e->e.ca[0] ? e->e.ca : NULL;
	if (etcd_global_init()) {
		errmsg("%s: libcurl could not be initialized", cmd);
		return -1;
	}
	etcd_init(&e->cl, &o);
	return 0;
}
