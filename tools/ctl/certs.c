/* certs.c: `hermesctl certs init`: its options and output; the certificate authority
 * itself is tools/certs.c. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "cmd.h"
#include "ctl.h"

#define CERTS_MAX_HOSTS 64

/* certs init with --json: certs_init's lines (one per file written or CA reused)
 * become "messages". */
static int certs_init_json(const struct certs_opts *o)
{
	char err[PATH_MAX + 512], *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);
	int e;

	if (!mf) {
		errmsg("certs init: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	e = certs_init(o, mf, err, sizeof(err));
	fclose(mf);
	if (e) {
		free(buf);
		errmsg("certs init: %s", err);
		return EXIT_RUNTIME;
	}
	printf("{\"dir\": ");
	json_str(stdout, o->dir);
	printf(", \"hosts\": [");
	for (size_t i = 0; i < o->nhosts; i++) {
		printf("%s", i ? ", " : "");
		json_str(stdout, o->hosts[i]);
	}
	printf("], \"messages\": ");
	ctl_json_words(buf, "\n");
	printf("}\n");
	free(buf);
	return EXIT_OK;
}

/* certs init DIR [--hosts A,B] [--days N] [--force] [--expired]; options in any order. */
static int certs_init_cmd(const struct ctl *c, int argc, char **argv)
{
	struct certs_opts o = { .days = CERTS_DEFAULT_DAYS };
	const char *hosts[CERTS_MAX_HOSTS], *why;
	char *list = NULL, *end, err[PATH_MAX + 512];
	size_t n = 0;
	long days;
	int e;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--force")) {
			o.force = true;
		} else if (!strcmp(a, "--expired")) {
			o.expired = true;
		} else if (!strcmp(a, "--hosts") || !strcmp(a, "--days")) {
			if (i + 1 >= argc)
				return usage_error("certs init: %s needs an argument", a);
			if (a[2] == 'h') {
				list = argv[++i];
				continue;
			}
			errno = 0;
			days = strtol(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || days < 1 || days > CERTS_MAX_DAYS)
				return usage_error("certs init: bad --days '%s': expected 1 to %d", argv[i], CERTS_MAX_DAYS);
			o.days = (int)days;
		} else if (a[0] == '-') {
			return usage_error("certs init: unknown option '%s'", a);
		} else if (o.dir) {
			return usage_error("certs init: unexpected argument '%s' (one DIR only)", a);
		} else {
			o.dir = a;
		}
	}
	if (!o.dir || !*o.dir)
		return usage_error("certs init: missing DIR (where ca.crt, ca.key and the host files go)");
	if (list) {
		/* split in place: argv strings are ours to modify */
		for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (n == CERTS_MAX_HOSTS)
				return usage_error("certs init: more than %d host names", CERTS_MAX_HOSTS);
			if (certs_check_name(tok, &why))
				return usage_error("certs init: host name '%s' %s", tok, why);
			for (size_t j = 0; j < n; j++)
				if (!strcmp(hosts[j], tok))
					return usage_error("certs init: host name '%s' is given twice", tok);
			hosts[n++] = tok;
		}
		if (!n)
			return usage_error("certs init: --hosts needs at least one name");
	} else {
		hosts[n++] = CERTS_DEFAULT_HOST;
	}
	o.hosts = hosts;
	o.nhosts = n;
	if (c->json)
		return certs_init_json(&o);
	e = certs_init(&o, stdout, err, sizeof(err));
	if (e) {
		errmsg("certs init: %s", err);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cmd_certs(const struct ctl *c, int argc, char **argv)
{
	if (argc < 2)
		return usage_error("certs: expected init");
	if (!strcmp(argv[1], "init"))
		return certs_init_cmd(c, argc - 1, argv + 1);
	return usage_error("certs: unknown command '%s' (expected init)", argv[1]);
}
