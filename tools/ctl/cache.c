/* cache.c: `hermesctl cache purge URL...` and `hermesctl cache stats`: the http
 * action's HTTP cache lives in hermesd's memory, not in a map, so both ask hermesd's
 * admin endpoint (POST /cache/purge?url=URL, GET /metrics). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctl.h"

/* url percent-encoded into out (every byte but the unreserved ones of RFC 3986). */
static int url_encode(const char *url, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			     strchr("-._~", *p);

		if (n + 4 > cap)
			return -1;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = 0;
	return 0;
}

/* The error hermesd put in its JSON answer ({"error":"..."}), or its status line. */
static void answer_reason(const struct admin_answer *a, char *out, size_t len)
{
	const char *e = a->body ? strstr(a->body, "\"error\":\"") : NULL;

	if (e) {
		e += 9;
		snprintf(out, len, "%.*s", (int)strcspn(e, "\""), e);
	} else {
		ctl_status_line(a, out, len);
	}
}

static int purge(const struct ctl *c, int n, char **urls, bool json)
{
	int rc = EXIT_OK;

	if (json)
		printf("[");
	for (int i = 0; i < n; i++) {
		char path[3200], detail[256];
		struct admin_answer a;
		long purged = -1;

		if (url_encode(urls[i], path + 17, sizeof(path) - 17)) {
			errmsg("cache purge: URL too long (%zu bytes): %.60s...", strlen(urls[i]), urls[i]);
			rc = EXIT_USAGE;
			continue;
		}
		memcpy(path, "/cache/purge?url=", 17);
		if (admin_request(&c->admin, "POST", path, &a, detail, sizeof(detail))) {
			errmsg("cache purge: hermesd not reachable at %s (%s); the cache is in hermesd's memory, so it must "
			       "be running (give its admin address with --admin)", c->admin.addr, detail);
			rc = EXIT_RUNTIME;
			break;
		}
		if (a.body && strstr(a.body, "\"purged\":"))
			purged = strtol(strstr(a.body, "\"purged\":") + 9, NULL, 10);
		if (purged < 0) {
			answer_reason(&a, detail, sizeof(detail));
			errmsg("cache purge %s: %s", urls[i], detail);
			rc = a.status == 400 ? EXIT_USAGE : EXIT_RUNTIME;
			free(a.buf);
			if (a.status == 409)
				break; /* the cache is off: the rest would say the same */
			continue;
		}
		if (json) {
			printf("%s{\"url\": ", i ? ", " : "");
			json_str(stdout, urls[i]);
			printf(", \"purged\": %ld}", purged);
		} else {
			printf("%s: %ld purged\n", urls[i], purged);
		}
		free(a.buf);
	}
	if (json)
		printf("]\n");
	return rc;
}

/* The counters `cache stats` shows: a metric line's name (with its labels), a label. */
static const char *const stat_names[][2] = {
	{ "hermes_http_cache_lookups_total{result=\"hit\"}", "hits" },
	{ "hermes_http_cache_lookups_total{result=\"miss\"}", "misses" },
	{ "hermes_http_cache_revalidations_total", "revalidations" },
	{ "hermes_http_cache_stale_if_error_total", "stale_served" },
	{ "hermes_http_cache_stores_total", "stores" },
	{ "hermes_http_cache_collapsed_total", "collapsed" },
	{ "hermes_http_cache_fill_resumes_total", "fill_resumes" },
	{ "hermes_http_cache_invalidations_total", "invalidations" },
	{ "hermes_http_cache_evictions_total", "evictions" },
	{ "hermes_http_cache_purged_total", "purged" },
	{ "hermes_http_cache_stale_while_revalidate_total", "stale_while_revalidate" },
	{ "hermes_http_cache_background_revalidations_total", "background_revalidations" },
	{ "hermes_http_cache_bytes", "bytes" },
	{ "hermes_http_cache_objects", "objects" },
	/* the disk tier (cache.disk_path; zero without one) */
	{ "hermes_http_cache_disk_objects", "disk_objects" },
	{ "hermes_http_cache_disk_bytes", "disk_bytes" },
	{ "hermes_http_cache_disk_reads_total", "disk_reads" },
	{ "hermes_http_cache_disk_writes_total", "disk_writes" },
	{ "hermes_http_cache_disk_evictions_total", "disk_evictions" },
	{ "hermes_http_cache_disk_errors_total{kind=\"write\"}", "disk_write_errors" },
	{ "hermes_http_cache_disk_errors_total{kind=\"read\"}", "disk_read_errors" },
	{ "hermes_http_cache_disk_errors_total{kind=\"corrupt\"}", "disk_corrupt" },
	{ "hermes_http_cache_disk_errors_total{kind=\"busy\"}", "disk_busy" },
};

static int stats(const struct ctl *c, bool json)
{
	struct admin_answer a;
	char detail[256];
	size_t n = sizeof(stat_names) / sizeof(stat_names[0]);

	if (admin_get(&c->admin, "/metrics", &a, detail, sizeof(detail))) {
		errmsg("cache stats: hermesd not reachable at %s (%s); the counters are hermesd's, so it must be running "
		       "(give its admin address with --admin)", c->admin.addr, detail);
		return EXIT_RUNTIME;
	}
	if (a.status != 200 || !a.body) {
		ctl_status_line(&a, detail, sizeof(detail));
		errmsg("cache stats: hermesd at %s answered %s", c->admin.addr, detail);
		free(a.buf);
		return EXIT_RUNTIME;
	}
	if (json)
		printf("{");
	for (size_t i = 0; i < n; i++) {
		char want[128];
		const char *p;
		unsigned long long v = 0;

		snprintf(want, sizeof(want), "\n%s ", stat_names[i][0]);
		p = strstr(a.body, want);
		if (p)
			v = strtoull(p + strlen(want), NULL, 10);
		if (json)
			printf("%s\"%s\": %llu", i ? ", " : "", stat_names[i][1], v);
		else
			printf("%-14s %llu\n", stat_names[i][1], v);
	}
	if (json)
		printf("}\n");
	free(a.buf);
	return EXIT_OK;
}

int cmd_cache(const struct ctl *c, int argc, char **argv)
{
	bool json = c->json;
	int n = 0;

	if (argc < 2)
		return usage_error("cache: missing subcommand (purge URL... or stats)");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			argv[2 + n++] = argv[i];
	}
	if (!strcmp(argv[1], "purge")) {
		if (!n)
			return usage_error("cache purge: give at least one URL (absolute: http://HOST/PATH)");
		return purge(c, n, argv + 2, json);
	}
	if (!strcmp(argv[1], "stats")) {
		if (n)
			return usage_error("cache stats: unexpected argument '%s' (expected --json)", argv[2]);
		return stats(c, json);
	}
	return usage_error("cache: unknown subcommand '%s' (expected purge or stats)", argv[1]);
}
