/* cache_text.c: the head the HTTP cache stores, written as HTTP/1.1 text. Apart from
 * cache_policy.c because it writes through hmsg.c, which the policy's unit tests do not
 * link; hcache.c stores with it and the cache fuzz target checks what it writes. */
#include "cache_text.h"

#include "http1.h"

int cache_stored_text(const struct hmsg *resp, const struct cache_cc *cc, int64_t now, struct hbuf *b)
{
	struct hmsg kept;
	struct hmsg_w w = { .b = b };
	char date[30];

	cache_stored_fields(resp, cc, &kept);
	hmsg_w_status(&w, resp->status, resp->reason);
	for (unsigned i = 0; i < kept.n_headers; i++)
		hmsg_w_field(&w, kept.headers[i].name.p, kept.headers[i].name.len, kept.headers[i].value.p,
			     kept.headers[i].value.len);
	if (!h1_find(resp->headers, resp->n_headers, "date") && cache_date_fmt(now, date) > 0)
		hmsg_w_field(&w, "Date", 4, date, 29);
	return hmsg_w_end(&w);
}
