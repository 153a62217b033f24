/* served.h: what the cache's fuzz targets (fuzz_cache.c, fuzz_cdisk.c) check of a head
 * served from a stored entry: written as hcache.c's hcache_serve writes it (the served
 * fields, Content-Length, Age), it parses again in full, carries the stored status, and
 * frames exactly the body sent (one Content-Length, no Transfer-Encoding). */
#ifndef HERMES_FUZZ_SERVED_H
#define HERMES_FUZZ_SERVED_H

#include <stdio.h>

#include "buf.h"
#include "cache_policy.h"
#include "cache_store.h"
#include "fuzz.h"
#include "hmsg.h"
#include "http1.h"

static void check_served(const struct cache_entry *e, const struct hmsg *sh, int64_t age)
{
	static struct hmsg out, back;
	struct hbuf b = { 0 };
	struct hmsg_w w = { .b = &b };
	char num[32];
	long long cl = -2;
	bool chunked = true;
	int n, r;

	cache_served_fields(sh, &out);
	hmsg_w_status(&w, sh->status, sh->reason);
	for (unsigned i = 0; i < out.n_headers; i++)
		hmsg_w_field(&w, out.headers[i].name.p, out.headers[i].name.len, out.headers[i].value.p,
			     out.headers[i].value.len);
	n = snprintf(num, sizeof(num), "%zu", e->body->len);
	hmsg_w_field(&w, "Content-Length", 14, num, (size_t)n);
	n = snprintf(num, sizeof(num), "%lld", (long long)cache_age_value(age));
	hmsg_w_field(&w, "Age", 3, num, (size_t)n);
	CHECK(!hmsg_w_end(&w));
	{
		struct h1_limits lim = { .max_head = b.len + 1, .max_line = b.len + 1, .max_headers = H1_HEADERS_CAP };

		r = h1_parse_response(b.p, b.len, &lim, &back);
	}
	if (r != (int)b.len) {
		fprintf(stderr, "served head does not parse (%d):\n%.*s\n", r, (int)b.len, b.p);
		CHECK(!"the served head parses");
	}
	CHECK(back.status == sh->status && back.status >= 200);
	CHECK(!h1_find(back.headers, back.n_headers, "transfer-encoding"));
	CHECK(!h1_body_framing(back.headers, back.n_headers, &cl, &chunked) && !chunked && cl == (long long)e->body->len);
	buf_free(b.p, b.cap);
}

#endif
