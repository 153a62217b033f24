/* etcdc.c: a test driver of hermesd's etcd client (userspace/etcd.c) against a real
 * etcd, for the parts hermesd itself does not use yet or that a running hermesd cannot
 * show (tests/e2e/etcd_config.sh):
 *   etcdc ENDPOINTS range PREFIX            every key under PREFIX: "KEY=VALUE mod REV"
 *                                           (values up to their first line end)
 *   etcdc ENDPOINTS watch KEY FROM COUNT    COUNT events of KEY from revision FROM:
 *                                           "PUT|DELETE KEY=VALUE mod REV", then "next N";
 *                                           exit 3 and "compacted REV" when FROM was
 *                                           compacted
 *   etcdc ENDPOINTS lease KEY VALUE TTL MS  a lease of TTL s, KEY=VALUE bound to it, kept
 *                                           alive for MS ms ("ttl N" at each keepalive),
 *                                           then left to expire; exit 1 if KEY went
 *                                           meanwhile
 * ENDPOINTS: comma-separated URLs (the first that answers is used). ETCDC_CERT,
 * ETCDC_KEY and ETCDC_CA: a TLS client certificate, its key and the CA of the server's. Exit 0 ok, 1 failure,
 * 2 usage, 3 compacted. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"

static int usage(void)
{
	fprintf(stderr, "usage: etcdc ENDPOINTS range PREFIX | watch KEY FROM COUNT | lease KEY VALUE TTL MS\n");
	return 2;
}

struct counted {
	int left;
};

static int print_event(void *arg, const struct etcd_event *ev)
{
	struct counted *c = arg;

	printf("%s %s=%.*s mod %" PRId64 "\n", ev->type == ETCD_EV_PUT ? "PUT" : "DELETE", ev->kv.key,
	       (int)strcspn(ev->kv.value, "\n"), ev->kv.value, ev->kv.mod_rev);
	fflush(stdout);
	return --c->left <= 0;
}

static bool forever(void *arg)
{
	(void)arg;
	return true;
}

int main(int argc, char **argv)
{
	struct etcd_opts o = { .connect_timeout_ms = 1000, .request_timeout_ms = 3000 };
	struct etcd c;
	char err[512], *eps, *tok, *save = NULL;
	int rc;

	if (argc < 4)
		return usage();
	eps = argv[1]; /* cut in place */
	for (tok = strtok_r(eps, ",", &save); tok && o.n_endpoints < ETCD_MAX_ENDPOINTS; tok = strtok_r(NULL, ",", &save))
		o.endpoints[o.n_endpoints++] = tok;
	/* TLS client certificate, as hermesd's etcd.cert, etcd.key and etcd.ca */
	o.cert = getenv("ETCDC_CERT");
	o.key = getenv("ETCDC_KEY");
	o.ca = getenv("ETCDC_CA");
	if (etcd_global_init())
		return 1;
	etcd_init(&c, &o);
	if (!strcmp(argv[2], "range")) {
		struct etcd_range r;

		if ((rc = etcd_range(&c, argv[3], true, &r, err, sizeof(err)))) {
			fprintf(stderr, "etcdc: %s\n", err);
			return 1;
		}
		for (size_t i = 0; i < r.n; i++)
			printf("%s=%.*s mod %" PRId64 "\n", r.kvs[i].key, (int)strcspn(r.kvs[i].value, "\n"),
			       r.kvs[i].value, r.kvs[i].mod_rev);
		printf("revision %" PRId64 "\n", r.revision);
		etcd_range_free(&r);
		return 0;
	}
	if (!strcmp(argv[2], "watch") && argc == 6) {
		struct etcd_watch w = { .next_rev = strtoll(argv[4], NULL, 10) };
		struct counted n = { atoi(argv[5]) };

		rc = etcd_watch(&c, argv[3], false, &w, print_event, forever, &n, err, sizeof(err));
		etcd_watch_reset(&w);
		if (rc == -ESTALE) {
			printf("compacted %" PRId64 "\n", w.compact_rev);
			return 3;
		}
		if (rc != 1) {
			fprintf(stderr, "etcdc: %s\n", err);
			return 1;
		}
		printf("next %" PRId64 "\n", w.next_rev);
		return 0;
	}
	if (!strcmp(argv[2], "lease") && argc == 7) {
		int64_t id, ttl, left = atoll(argv[6]);
		struct etcd_range r;

		if ((rc = etcd_lease_grant(&c, atoll(argv[5]), &id, &ttl, err, sizeof(err))) ||
		    (rc = etcd_put(&c, argv[3], argv[4], strlen(argv[4]), id, NULL, err, sizeof(err)))) {
			fprintf(stderr, "etcdc: %s\n", err);
			return 1;
		}
		printf("lease %" PRId64 " ttl %" PRId64 "\n", id, ttl);
		for (; left > 0; left -= 300) {
			usleep(300000);
			if ((rc = etcd_lease_keepalive(&c, id, &ttl, err, sizeof(err)))) {
				fprintf(stderr, "etcdc: %s\n", err);
				return 1;
			}
			printf("ttl %" PRId64 "\n", ttl);
		}
		if ((rc = etcd_range(&c, argv[3], false, &r, err, sizeof(err))) || r.n != 1) {
			fprintf(stderr, "etcdc: %s is gone although its lease was kept alive\n", argv[3]);
			return 1;
		}
		etcd_range_free(&r);
		printf("kept\n");
		return 0;
	}
	return usage();
}
