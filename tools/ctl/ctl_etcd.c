/* ctl_etcd.c: the etcd options of hermesctl's overlay commands and the client they make
 * (ctl_etcd.h). The file's section is read with hermesd's own loader (config.c), so a
 * hermes.yaml that hermesd takes gives hermesctl the same cluster and prefix. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "ctl_etcd.h"
#include "version.h"

/* --name VALUE or --name=VALUE at argv[*i]: the value (and *i past it), or NULL when
 * argv[*i] is not that option; *missing when the value is not there. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t l = strlen(name);
	const char *a = argv[*i];

	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): argv[*i] is not NULL below argc */
	if (strncmp(a, name, l) || (a[l] && a[l] != '='))
		return NULL;
	if (a[l] == '=')
		return a + l + 1;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static int set_path(char *dst, size_t size, const char *v, const char *cmd, const char *opt)
{
	if (!v[0] || strlen(v) >= size)
		return usage_error("%s: %s '%s': expected a file path of 1 to %zu bytes", cmd, opt, v, size - 1);
	snprintf(dst, size, "%s", v);
	return EXIT_OK;
}

static int set_endpoints(struct cfg_etcd *e, const char *list, const char *cmd)
{
	char buf[CFG_ETCD_MAX_ENDPOINTS * 256], *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return usage_error("%s: --etcd: the list is too long", cmd);
	snprintf(buf, sizeof(buf), "%s", list);
	e->n_endpoints = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if ((strncmp(t, "http://", 7) && strncmp(t, "https://", 8)) || strlen(t) >= sizeof(e->endpoints[0]))
			return usage_error("%s: --etcd: bad endpoint '%s' (expected http://HOST:PORT or https://HOST:PORT, "
					   "etcd's client URL)", cmd, t);
		if (e->n_endpoints == CFG_ETCD_MAX_ENDPOINTS)
			return usage_error("%s: --etcd: more than %d endpoints", cmd, CFG_ETCD_MAX_ENDPOINTS);
		snprintf(e->endpoints[e->n_endpoints++], sizeof(e->endpoints[0]), "%s", t);
	}
	if (!e->n_endpoints)
		return usage_error("%s: --etcd: no endpoint given", cmd);
	return EXIT_OK;
}

int ctl_etcd_parse(int argc, char **argv, const char *cmd, struct ctl_etcd *x, char **rest, int *n_rest)
{
	memset(x, 0, sizeof(*x));
	*n_rest = 0;
	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *v;
		int rc = EXIT_OK;

		if ((v = opt_value(argc, argv, &i, "--etcd", &missing)))
			rc = set_endpoints(&x->e, v, cmd);
		else if ((v = opt_value(argc, argv, &i, "--prefix", &missing)))
			rc = v[0] == '/' && strlen(v) > 1 && strlen(v) < sizeof(x->e.prefix) ?
				     (snprintf(x->e.prefix, sizeof(x->e.prefix), "%s", v), EXIT_OK) :
				     usage_error("%s: --prefix '%s': expected the overlay's key prefix, beginning with '/', "
						 "e.g. /hermes/lab", cmd, v);
		else if ((v = opt_value(argc, argv, &i, "--etcd-cert", &missing)))
			rc = set_path(x->e.cert, sizeof(x->e.cert), v, cmd, "--etcd-cert");
		else if ((v = opt_value(argc, argv, &i, "--etcd-key", &missing)))
			rc = set_path(x->e.key, sizeof(x->e.key), v, cmd, "--etcd-key");
		else if ((v = opt_value(argc, argv, &i, "--etcd-ca", &missing)))
			rc = set_path(x->e.ca, sizeof(x->e.ca), v, cmd, "--etcd-ca");
		else if ((v = opt_value(argc, argv, &i, "-c", &missing)) ||
			 (v = opt_value(argc, argv, &i, "--config", &missing)))
			x->config = v;
		else if (missing)
			;
		else
			rest[(*n_rest)++] = argv[i];
		if (missing)
			return usage_error("%s: option '%s' needs an argument", cmd, argv[i]);
		if (rc)
			return rc;
	}
	return EXIT_OK;
}

int ctl_etcd_open(struct ctl_etcd *x, const char *cmd)
{
	static struct hermes_config cfg; /* large: not on the stack */
	const char *path = x->config;
	struct etcd_opts o;
	struct cfg_etcd *f = &cfg.etcd, *e = &x->e;
	char err[1024];

	if (!path && !e->n_endpoints && !access(hermes_config_default, R_OK))
		path = hermes_config_default;
	if (path) {
		if (config_load(path, &cfg, err, sizeof(err)))
			return usage_error("%s: %s", cmd, err);
		if (!e->n_endpoints) {
			memcpy(e->endpoints, f->endpoints, sizeof(e->endpoints));
			e->n_endpoints = f->n_endpoints;
		}
		if (!e->prefix[0])
			memcpy(e->prefix, f->prefix, sizeof(e->prefix));
		if (!e->cert[0] && !e->key[0] && !e->ca[0]) {
			memcpy(e->cert, f->cert, sizeof(e->cert));
			memcpy(e->key, f->key, sizeof(e->key));
			memcpy(e->ca, f->ca, sizeof(e->ca));
		}
		config_free(&cfg);
	}
	if (!e->n_endpoints || !e->prefix[0])
		return usage_error("%s: no etcd %s: give --etcd URL and --prefix P, or -c FILE with an etcd section "
				   "(endpoints, prefix)%s", cmd, !e->n_endpoints ? "endpoint" : "prefix",
				   path ? "" : " (no default config file to read)");
	if (etcd_global_init()) {
		errmsg("%s: cannot set up libcurl", cmd);
		return EXIT_RUNTIME;
	}
	etcd_opts_from(&o, e);
	etcd_init(&x->cl, &o);
	return EXIT_OK;
}

void ctl_etcd_close(struct ctl_etcd *x)
{
	(void)x;
	etcd_global_fini();
}
