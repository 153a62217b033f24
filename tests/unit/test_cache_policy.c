/* test_cache_policy.c: unit tests (no root) for the HTTP cache's rules, userspace/
 * cache_policy.c and cache_key.c, case by case against RFC 9111 (a shared cache) and RFC
 * 5861: Cache-Control parsing, HTTP dates, what may be stored, the fields kept, freshness
 * lifetime, age, what a request may be answered with, stale-if-error, the conditional
 * request, which stored response a 304 selects and the merge, the served fields, the
 * heads a disk file may hold, the primary key, Vary and invalidation. Exit 0 when every check passes, 1 otherwise. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cache_key.h"
#include "cache_policy.h"
#include "check.h"
#include "http1.h"

static const struct cache_conf conf = { .shared = true, .heuristic_percent = 10, .heuristic_max_s = 86400 };

/* Heads are parsed from text kept in an arena for the whole run (slices point into it). */
static char arena[1 << 18];
static size_t arena_used;

static struct hmsg head(bool req, const char *first, const char *fields)
{
	struct hmsg m;
	char *p = arena + arena_used;
	int n, len = snprintf(p, sizeof(arena) - arena_used, "%s\r\n%s\r\n", first, fields);

	arena_used += (size_t)len + 1;
	n = req ? h1_parse_request(p, (size_t)len, NULL, &m) : h1_parse_response(p, (size_t)len, NULL, &m);
	check_at(n == len, __FILE__, __LINE__, "parse \"%s\": %d", p, n);
	return m;
}

#define REQ(fields) head(true, "GET / HTTP/1.1", "Host: example.com\r\n" fields)

static struct hmsg resp_head(const char *status, const char *fields)
{
	char first[64];

	snprintf(first, sizeof(first), "HTTP/1.1 %s", status);
	return head(false, first, fields);
}
#define RESP(status, fields) resp_head(status, fields)

static struct cache_cc cc_of(const struct hmsg *m, bool req)
{
	struct cache_cc cc;

	cache_cc_head(m, req, &cc);
	return cc;
}

static struct h1_slice S(const char *s)
{
	return (struct h1_slice){ .p = s, .len = strlen(s) };
}

/* RFC 9111 5.2: directives, arguments as tokens or quoted strings, unknown ones ignored */
static bool test_cc_parse(void)
{
	struct cache_cc cc;
	const char *v;

	cache_cc_init(&cc);
	v = "Max-Age=60, s-maxage=30 ,PUBLIC,must-revalidate";
	ASSERT_EQ(cache_cc_parse(v, strlen(v), &cc), strlen(v), "bytes consumed");
	ASSERT_EQ(cc.max_age, 60, "max-age, any case");
	ASSERT_EQ(cc.s_maxage, 30, "s-maxage");
	ASSERT_EQ(cc.flags, CACHE_CC_PUBLIC | CACHE_CC_MUST_REVALIDATE, "flags");

	cache_cc_init(&cc);
	v = "foo=\"a, no-store, b\", no-cache=\"Set-Cookie, X-Token\", private=\"Authorization\", bar";
	ASSERT_EQ(cache_cc_parse(v, strlen(v), &cc), strlen(v), "quoted commas");
	ASSERT_EQ(cc.flags, 0, "a directive inside an unknown one's quoted string is not one");
	ASSERT_TRUE(cache_list_has(cc.no_cache_fields, S("set-cookie")), "qualified no-cache lists Set-Cookie");
	ASSERT_TRUE(cache_list_has(cc.no_cache_fields, S("X-Token")), "and X-Token");
	ASSERT_TRUE(!cache_list_has(cc.no_cache_fields, S("Token")), "not Token");
	ASSERT_TRUE(cache_list_has(cc.private_fields, S("authorization")), "qualified private");

	cache_cc_init(&cc);
	v = "max-age=10, max-age=99, max-stale, min-fresh=abc, stale-while-revalidate=99999999999999";
	cache_cc_parse(v, strlen(v), &cc);
	ASSERT_EQ(cc.max_age, 10, "the first of a repeated directive counts (RFC 9111 4.2.1)");
	ASSERT_TRUE(cc.flags & CACHE_CC_MAX_STALE_ANY, "max-stale without a value: any staleness");
	ASSERT_EQ(cc.max_stale, -1, "no max-stale value");
	ASSERT_EQ(cc.min_fresh, 0, "an invalid delta-seconds reads as 0");
	ASSERT_EQ(cc.stale_while_revalidate, CACHE_DELTA_MAX, "too large: 2^31 (RFC 9111 1.2.2)");

	cache_cc_init(&cc);
	v = "max-age=\"5\", no-cache=\"\", stale-if-error=7";
	cache_cc_parse(v, strlen(v), &cc);
	ASSERT_EQ(cc.max_age, 5, "a quoted max-age is read (lenient)");
	ASSERT_TRUE(cc.flags & CACHE_CC_NO_CACHE, "an empty no-cache list is the plain form");
	ASSERT_EQ(cc.stale_if_error, 7, "stale-if-error (RFC 5861)");

	cache_cc_init(&cc);
	v = "no-store, private=\"a, b";
	ASSERT_EQ(cache_cc_parse(v, strlen(v), &cc), -EBADMSG, "a quoted string without its end");
	ASSERT_EQ(cc.flags, CACHE_CC_NO_STORE | CACHE_CC_BAD, "directives before it kept, marked bad");
	return true;
}

static bool test_cc_head(void)
{
	struct hmsg m = REQ("Cache-Control: max-age=5\r\nCache-Control: no-store\r\nPragma: no-cache\r\n");
	struct cache_cc cc = cc_of(&m, true);

	ASSERT_EQ(cc.max_age, 5, "first field");
	ASSERT_TRUE(cc.flags & CACHE_CC_NO_STORE, "second field");
	ASSERT_TRUE(!(cc.flags & CACHE_CC_NO_CACHE), "Pragma ignored beside Cache-Control (RFC 9111 5.4)");
	m = REQ("Pragma: foo, No-Cache\r\n");
	cc = cc_of(&m, true);
	ASSERT_EQ(cc.flags, CACHE_CC_NO_CACHE | CACHE_CC_PRAGMA_NO_CACHE, "Pragma: no-cache alone");
	m = RESP("200 OK", "Pragma: no-cache\r\n");
	cc = cc_of(&m, false);
	ASSERT_EQ(cc.flags, 0, "Pragma in a response means nothing");
	return true;
}

/* RFC 9110 5.6.7: the three date forms are the same instant */
static bool test_dates(void)
{
	int64_t t = 0;
	char out[30];

	ASSERT_EQ(cache_date_parse(S("Sun, 06 Nov 1994 08:49:37 GMT"), &t), 0, "IMF-fixdate");
	ASSERT_EQ(t, 784111777, "IMF-fixdate value");
	t = 0;
	ASSERT_EQ(cache_date_parse(S("Sunday, 06-Nov-94 08:49:37 GMT"), &t), 0, "RFC 850");
	ASSERT_EQ(t, 784111777, "RFC 850 value");
	t = 0;
	ASSERT_EQ(cache_date_parse(S("Sun Nov  6 08:49:37 1994"), &t), 0, "asctime");
	ASSERT_EQ(t, 784111777, "asctime value");
	ASSERT_EQ(cache_date_parse(S("Thu, 01 Jan 1970 00:00:00 GMT"), &t), 0, "epoch");
	ASSERT_EQ(t, 0, "epoch value");
	ASSERT_EQ(cache_date_parse(S("Tue, 29 Feb 2028 23:59:59 GMT"), &t), 0, "leap day");
	ASSERT_EQ(t, 1835481599, "leap day value");
	ASSERT_EQ(cache_date_parse(S("0"), &t), -EINVAL, "not a date");
	ASSERT_EQ(cache_date_parse(S("Sun, 06 Nov 1994 08:49:37 UTC"), &t), -EINVAL, "only GMT");
	ASSERT_EQ(cache_date_parse(S("Sun, 06 Foo 1994 08:49:37 GMT"), &t), -EINVAL, "no such month");
	ASSERT_EQ(cache_date_parse(S("Sun, 06 Nov 1994 25:49:37 GMT"), &t), -EINVAL, "no such hour");
	ASSERT_EQ(cache_date_fmt(784111777, out), 29, "format");
	ASSERT_STREQ(out, "Sun, 06 Nov 1994 08:49:37 GMT", "format value");
	cache_date_fmt(1835481599, out);
	ASSERT_STREQ(out, "Tue, 29 Feb 2028 23:59:59 GMT", "format leap day");
	return true;
}

/* RFC 9111 3: what a shared cache may store */
static bool test_storable(void)
{
	static const struct {
		const char *method, *req_fields, *status, *resp_fields;
		bool shared;
		enum cache_nostore want;
	} cases[] = {
		{ "GET", "", "200 OK", "Cache-Control: max-age=60\r\n", true, CACHE_STORE_OK },
		{ "GET", "", "200 OK", "", true, CACHE_STORE_OK },              /* heuristically cacheable */
		{ "GET", "", "404 Not Found", "", true, CACHE_STORE_OK },
		{ "GET", "", "410 Gone", "", true, CACHE_STORE_OK },
		{ "GET", "", "302 Found", "", true, CACHE_NS_NOT_CACHEABLE },   /* not heuristically */
		{ "GET", "", "302 Found", "Cache-Control: max-age=5\r\n", true, CACHE_STORE_OK },
		{ "GET", "", "302 Found", "Expires: Sun, 06 Nov 1994 08:49:37 GMT\r\n", true, CACHE_STORE_OK },
		{ "GET", "", "302 Found", "Cache-Control: public\r\n", true, CACHE_STORE_OK },
		{ "GET", "", "302 Found", "Cache-Control: s-maxage=5\r\n", true, CACHE_STORE_OK },
		{ "GET", "", "302 Found", "Cache-Control: s-maxage=5\r\n", false, CACHE_NS_NOT_CACHEABLE },
		{ "GET", "", "302 Found", "Cache-Control: private\r\n", false, CACHE_STORE_OK },
		{ "POST", "", "200 OK", "Cache-Control: max-age=60\r\n", true, CACHE_NS_METHOD },
		{ "HEAD", "", "200 OK", "Cache-Control: max-age=60\r\n", true, CACHE_NS_METHOD },
		{ "GET", "", "206 Partial Content", "Cache-Control: max-age=60\r\n", true, CACHE_NS_STATUS },
		{ "GET", "", "304 Not Modified", "Cache-Control: max-age=60\r\n", true, CACHE_NS_STATUS },
		/* any final status with an explicit lifetime (RFC 9111 3); an unknown one is not
		 * heuristically cacheable */
		{ "GET", "", "599 Odd", "Cache-Control: max-age=60\r\n", true, CACHE_STORE_OK },
		{ "GET", "", "999 Odd", "Cache-Control: max-age=60\r\n", true, CACHE_STORE_OK },
		{ "GET", "", "999 Odd", "Last-Modified: Sun, 06 Nov 1994 06:49:37 GMT\r\n", true, CACHE_NS_NOT_CACHEABLE },
		{ "GET", "", "599 Odd", "Cache-Control: max-age=60, must-understand\r\n", true, CACHE_NS_STATUS },
		{ "GET", "", "100 Continue", "Cache-Control: max-age=60\r\n", true, CACHE_NS_STATUS },
		{ "GET", "", "299 Odd", "Cache-Control: max-age=60, must-understand\r\n", true, CACHE_NS_STATUS },
		{ "GET", "", "200 OK", "Cache-Control: max-age=60, no-store\r\n", true, CACHE_NS_NO_STORE },
		{ "GET", "", "200 OK", "Cache-Control: no-store, must-understand, max-age=9\r\n", true, CACHE_STORE_OK },
		{ "GET", "Cache-Control: no-store\r\n", "200 OK", "Cache-Control: max-age=60\r\n", true, CACHE_NS_NO_STORE },
		{ "GET", "", "200 OK", "Cache-Control: max-age=60, private\r\n", true, CACHE_NS_PRIVATE },
		{ "GET", "", "200 OK", "Cache-Control: max-age=60, private\r\n", false, CACHE_STORE_OK },
		{ "GET", "", "200 OK", "Cache-Control: max-age=60, private=\"X-A\"\r\n", true, CACHE_STORE_OK },
		{ "GET", "Authorization: Basic eDp5\r\n", "200 OK", "Cache-Control: max-age=60\r\n", true,
		  CACHE_NS_AUTHORIZATION },
		{ "GET", "Authorization: Basic eDp5\r\n", "200 OK", "Cache-Control: max-age=60\r\n", false, CACHE_STORE_OK },
		{ "GET", "Authorization: Basic eDp5\r\n", "200 OK", "Cache-Control: public\r\n", true, CACHE_STORE_OK },
		{ "GET", "Authorization: Basic eDp5\r\n", "200 OK", "Cache-Control: s-maxage=5\r\n", true, CACHE_STORE_OK },
		{ "GET", "Authorization: Basic eDp5\r\n", "200 OK", "Cache-Control: must-revalidate\r\n", true,
		  CACHE_STORE_OK },
		{ "GET", "", "200 OK", "Cache-Control: max-age=60\r\nVary: Accept, *\r\n", true, CACHE_NS_VARY_STAR },
		{ "GET", "", "200 OK", "Cache-Control: max-age=60, private=\"X\r\n", true, CACHE_NS_BAD },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char first[64], fields[512];
		struct cache_conf cf = conf;
		struct hmsg req, resp;
		struct cache_cc rcc, cc;

		snprintf(first, sizeof(first), "%s / HTTP/1.1", cases[i].method);
		snprintf(fields, sizeof(fields), "Host: a\r\n%s", cases[i].req_fields);
		req = head(true, first, fields);
		resp = RESP(cases[i].status, cases[i].resp_fields);
		/* built from a copied fields string: point nothing at the stack */
		rcc = cc_of(&req, true);
		cc = cc_of(&resp, false);
		cf.shared = cases[i].shared;
		ASSERT_TRUE(cache_storable(&cf, &req, &rcc, &resp, &cc) == cases[i].want,
			    "case %u: %s, %s%s%s: got %d, want %d", i, cases[i].method, cases[i].req_fields,
			    cases[i].status, cases[i].resp_fields, cache_storable(&cf, &req, &rcc, &resp, &cc),
			    cases[i].want);
	}
	/* a route's store_set_cookie: false; RFC 9111 itself allows storing it */
	{
		struct hmsg req = head(true, "GET / HTTP/1.1", "Host: a\r\n");
		struct hmsg resp = RESP("200 OK", "Cache-Control: max-age=60\r\nSet-Cookie: a=b\r\n");
		struct cache_cc rcc = cc_of(&req, true), cc = cc_of(&resp, false);
		struct cache_conf nc = conf;

		ASSERT_TRUE(cache_storable(&conf, &req, &rcc, &resp, &cc) == CACHE_STORE_OK, "Set-Cookie: stored");
		nc.no_set_cookie = true;
		ASSERT_TRUE(cache_storable(&nc, &req, &rcc, &resp, &cc) == CACHE_NS_SET_COOKIE,
			    "Set-Cookie with no_set_cookie: not stored");
		resp = RESP("200 OK", "Cache-Control: max-age=60\r\n");
		cc = cc_of(&resp, false);
		ASSERT_TRUE(cache_storable(&nc, &req, &rcc, &resp, &cc) == CACHE_STORE_OK,
			    "no Set-Cookie with no_set_cookie: stored");
	}
	return true;
}

static bool has_field(const struct hmsg *m, const char *name)
{
	return h1_find(m->headers, m->n_headers, name) != NULL;
}

/* RFC 9111 3.1: the fields a store keeps */
static bool test_stored_fields(void)
{
	struct hmsg r = RESP("200 OK", "Connection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
				       "Transfer-Encoding: chunked\r\nTE: trailers\r\nUpgrade: h2c\r\n"
				       "Proxy-Authenticate: Basic\r\nCache-Control: no-cache=\"Set-Cookie\", "
				       "private=\"X-Secret\"\r\nSet-Cookie: a=b\r\nX-Secret: s\r\nETag: \"1\"\r\n"
				       "X-Other: o\r\n");
	struct cache_cc cc = cc_of(&r, false);
	struct hmsg out;

	cache_stored_fields(&r, &cc, &out);
	ASSERT_EQ(out.status, 200, "status kept");
	ASSERT_EQ(out.n_headers, 3, "Cache-Control, ETag, X-Other");
	ASSERT_TRUE(has_field(&out, "etag") && has_field(&out, "x-other") && has_field(&out, "cache-control"), "kept");
	ASSERT_TRUE(!has_field(&out, "x-hop") && !has_field(&out, "set-cookie") && !has_field(&out, "x-secret"),
		    "named by Connection, qualified no-cache and private: dropped");
	/* a head read back from a disk file must be one of these (found by fuzz_cdisk.c) */
	out.n_headers = 0;
	ASSERT_TRUE(cache_head_stored(&out), "a stored 200 without fields");
	cache_stored_fields(&r, &cc, &out);
	ASSERT_TRUE(cache_head_stored(&out), "what cache_stored_fields keeps");
	ASSERT_TRUE(!cache_head_stored(&r), "with the fields it drops");
	r = RESP("101 Switching Protocols", "Upgrade: websocket\r\n");
	ASSERT_TRUE(!cache_head_stored(&r), "an interim status");
	r = RESP("304 Not Modified", "ETag: \"1\"\r\n");
	ASSERT_TRUE(!cache_head_stored(&r), "a 304");
	r = RESP("206 Partial Content", "Content-Range: bytes 0-1/2\r\n");
	ASSERT_TRUE(!cache_head_stored(&r), "a 206");
	r = RESP("200 OK", "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n");
	ASSERT_TRUE(!cache_head_stored(&r), "Transfer-Encoding");
	r = RESP("404 Not Found", "Content-Length: 0\r\n");
	ASSERT_TRUE(cache_head_stored(&r), "a stored 404");
	return true;
}

static const struct cache_times at_1000 = { .request_time = 999, .response_time = 1000 };

static int64_t lifetime_of(const struct cache_conf *cf, const char *status, const char *fields)
{
	struct hmsg r = RESP(status, fields);
	struct cache_cc cc = cc_of(&r, false);

	return cache_lifetime(cf, &r, &cc, &at_1000);
}

/* RFC 9111 4.2.1, 4.2.2: explicit lifetimes in their order, then the heuristic */
static bool test_lifetime(void)
{
	struct cache_conf priv = conf;
	/* Date 784111777 (Sun, 06 Nov 1994 08:49:37 GMT) */
#define DATE "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	priv.shared = false;
	ASSERT_EQ(lifetime_of(&conf, "200 OK", "Cache-Control: max-age=60, s-maxage=30\r\n"), 30,
		  "s-maxage first in a shared cache");
	ASSERT_EQ(lifetime_of(&priv, "200 OK", "Cache-Control: max-age=60, s-maxage=30\r\n"), 60,
		  "a private cache ignores s-maxage");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", "Cache-Control: max-age=60\r\n" DATE
						"Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n"),
		  60, "max-age over Expires");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", DATE "Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n"), 3600,
		  "Expires - Date");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", DATE "Expires: Sun, 06 Nov 1994 07:49:37 GMT\r\n"), 0,
		  "Expires before Date");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", DATE "Expires: 0\r\nLast-Modified: Sat, 05 Nov 1994 08:49:37 GMT\r\n"),
		  0, "an invalid Expires is in the past (RFC 9111 5.3), no heuristic");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", "Expires: Thu, 01 Jan 1970 00:20:00 GMT\r\n"), 200,
		  "no Date: response_time (1000) stands for it");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", DATE "Last-Modified: Sun, 06 Nov 1994 06:49:37 GMT\r\n"), 720,
		  "heuristic: 10% of Date - Last-Modified (2 h)");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", DATE "Last-Modified: Sun, 06 Nov 1984 06:49:37 GMT\r\n"), 86400,
		  "heuristic capped at heuristic_max_s");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", DATE), 0, "no Last-Modified: no heuristic");
	ASSERT_EQ(lifetime_of(&conf, "302 Found", DATE "Last-Modified: Sun, 06 Nov 1994 06:49:37 GMT\r\n"), 0,
		  "302 is not heuristically cacheable");
	ASSERT_EQ(lifetime_of(&conf, "302 Found", "Cache-Control: public\r\n" DATE
						   "Last-Modified: Sun, 06 Nov 1994 06:49:37 GMT\r\n"),
		  720, "public allows the heuristic");
	ASSERT_EQ(lifetime_of(&conf, "200 OK", "Cache-Control: max-age=bogus\r\n"), 0,
		  "an invalid max-age is stale (RFC 9111 4.2.1)");
	/* a route's settings: heuristic off, default_ttl_s */
	{
		struct cache_conf off = conf, ttl = conf;

		off.heuristic_percent = 0;
		ttl.default_ttl_s = 300;
		ASSERT_EQ(lifetime_of(&off, "200 OK", DATE "Last-Modified: Sun, 06 Nov 1994 06:49:37 GMT\r\n"), 0,
			  "heuristic off: no heuristic lifetime");
		ASSERT_EQ(lifetime_of(&off, "200 OK", "Cache-Control: max-age=60\r\n"), 60,
			  "heuristic off: an explicit lifetime holds");
		ASSERT_EQ(lifetime_of(&ttl, "200 OK", DATE), 300, "default_ttl_s without Last-Modified");
		ASSERT_EQ(lifetime_of(&ttl, "200 OK", DATE "Last-Modified: Sun, 06 Nov 1994 06:49:37 GMT\r\n"), 300,
			  "default_ttl_s in place of 10% of Date - Last-Modified");
		ASSERT_EQ(lifetime_of(&ttl, "200 OK", "Cache-Control: max-age=60\r\n"), 60,
			  "default_ttl_s never over an explicit lifetime");
		ASSERT_EQ(lifetime_of(&ttl, "302 Found", DATE), 0, "default_ttl_s only for heuristically cacheable statuses");
		ASSERT_EQ(lifetime_of(&ttl, "999 Odd", DATE), 0, "an unknown status is not heuristically cacheable");
	}
#undef DATE
	return true;
}

/* RFC 9111 4.2.3 */
static bool test_age(void)
{
	struct cache_times t = { .request_time = 1000, .response_time = 1003 };
	struct hmsg r = RESP("200 OK", "Date: Thu, 01 Jan 1970 00:16:30 GMT\r\nAge: 5\r\n"); /* Date 990 */

	ASSERT_EQ(cache_initial_age(&r, &t), 13, "apparent age 13 over Age 5 + delay 3");
	r = RESP("200 OK", "Date: Thu, 01 Jan 1970 00:16:41 GMT\r\nAge: 50\r\n"); /* Date 1001 */
	ASSERT_EQ(cache_initial_age(&r, &t), 53, "Age 50 + delay 3 over apparent age 2");
	r = RESP("200 OK", "Date: Thu, 01 Jan 1970 00:17:00 GMT\r\n"); /* a Date ahead of us */
	ASSERT_EQ(cache_initial_age(&r, &t), 3, "apparent age never negative");
	r = RESP("200 OK", "Age: 99999999999\r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), CACHE_DELTA_MAX, "Age capped at 2^31");
	/* RFC 9111 5.1: an invalid Age makes the response stale */
	r = RESP("200 OK", "Age: -4\r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), CACHE_DELTA_MAX, "a negative Age: stale");
	r = RESP("200 OK", "Age: abc\r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), CACHE_DELTA_MAX, "a non-numeric Age: stale");
	r = RESP("200 OK", "Age: 7200.0\r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), CACHE_DELTA_MAX, "a fraction: stale");
	r = RESP("200 OK", "Age: 0, 0\r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), CACHE_DELTA_MAX, "a list: stale");
	r = RESP("200 OK", "Age: 0\r\nAge: 0\r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), CACHE_DELTA_MAX, "two Age lines: stale");
	r = RESP("200 OK", "Age: 7200;foo=1\r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), CACHE_DELTA_MAX, "a parameter: stale");
	r = RESP("200 OK", "Age:  7 \r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), 10, "whitespace around one integer is fine");
	/* found by tests/fuzz/fuzz_cache.c: the current age came out below the initial one */
	t = (struct cache_times){ .request_time = 1765000000, .response_time = 1765000000 };
	r = RESP("200 OK", "Date: Sun, 06 Nov 0997 08:49:37 GMT\r\n");
	ASSERT_EQ(cache_initial_age(&r, &t), CACHE_DELTA_MAX, "an apparent age of a thousand years capped too");
	ASSERT_EQ(cache_current_age(cache_initial_age(&r, &t), &t, 1765000100), CACHE_DELTA_MAX, "and stays");
	t = (struct cache_times){ .request_time = 1000, .response_time = 1003 };
	ASSERT_EQ(cache_current_age(13, &t, 1103), 113, "plus the time resident");
	ASSERT_EQ(cache_current_age(13, &t, 900), 13, "a clock gone back adds nothing");
	ASSERT_EQ(cache_age_value(CACHE_DELTA_MAX + 5), CACHE_DELTA_MAX, "Age sent is capped");
	ASSERT_EQ(cache_age_value(-1), 0, "never negative");
	return true;
}

/* The directives of a request's and a response's Cache-Control values */
static void ccs(const char *req_cc, const char *resp_cc, struct cache_cc *rcc, struct cache_cc *cc)
{
	cache_cc_init(rcc);
	cache_cc_init(cc);
	cache_cc_parse(req_cc, strlen(req_cc), rcc);
	cache_cc_parse(resp_cc, strlen(resp_cc), cc);
}

static enum cache_use use(const char *req_cc, const char *resp_cc, int64_t lifetime, int64_t age)
{
	struct cache_cc rcc, cc;

	ccs(req_cc, resp_cc, &rcc, &cc);
	return cache_use(&conf, &rcc, &cc, lifetime, age);
}

/* RFC 9111 4.2, 5.2.1, 5.2.2; RFC 5861 3 */
static bool test_use(void)
{
	ASSERT_EQ(use("", "", 60, 59), CACHE_USE_FRESH, "fresh");
	ASSERT_EQ(use("", "", 60, 60), CACHE_USE_VALIDATE, "age = lifetime is stale");
	ASSERT_EQ(use("max-stale", "", 60, 6000), CACHE_USE_STALE, "max-stale: any staleness");
	ASSERT_EQ(use("max-stale=10", "", 60, 70), CACHE_USE_STALE, "max-stale=10, 10 s stale");
	ASSERT_EQ(use("max-stale=10", "", 60, 71), CACHE_USE_VALIDATE, "max-stale=10, 11 s stale");
	ASSERT_EQ(use("max-age=5", "", 60, 6), CACHE_USE_VALIDATE, "request max-age below the age");
	ASSERT_EQ(use("max-age=5", "", 60, 5), CACHE_USE_FRESH, "request max-age = age");
	ASSERT_EQ(use("min-fresh=10", "", 60, 49), CACHE_USE_FRESH, "11 s of freshness left");
	ASSERT_EQ(use("min-fresh=10", "", 60, 50), CACHE_USE_VALIDATE, "10 s left is not more than min-fresh");
	ASSERT_EQ(use("no-cache", "", 60, 1), CACHE_USE_VALIDATE, "request no-cache");
	ASSERT_EQ(use("", "no-cache", 60, 1), CACHE_USE_VALIDATE, "response no-cache");
	ASSERT_EQ(use("", "no-cache=\"Set-Cookie\"", 60, 1), CACHE_USE_FRESH, "qualified no-cache: fields dropped");
	ASSERT_EQ(use("max-stale", "must-revalidate", 60, 61), CACHE_USE_VALIDATE, "must-revalidate: never stale");
	ASSERT_EQ(use("max-stale", "proxy-revalidate", 60, 61), CACHE_USE_VALIDATE, "proxy-revalidate (shared)");
	ASSERT_EQ(use("max-stale", "s-maxage=60", 60, 61), CACHE_USE_VALIDATE, "s-maxage implies proxy-revalidate");
	ASSERT_EQ(use("", "must-revalidate", 60, 59), CACHE_USE_FRESH, "must-revalidate while fresh");
	ASSERT_EQ(use("", "stale-while-revalidate=30", 60, 90), CACHE_USE_SWR, "within stale-while-revalidate");
	ASSERT_EQ(use("", "stale-while-revalidate=30", 60, 91), CACHE_USE_VALIDATE, "past it");
	ASSERT_EQ(use("", "stale-while-revalidate=30, must-revalidate", 60, 61), CACHE_USE_VALIDATE,
		  "must-revalidate wins over stale-while-revalidate");
	ASSERT_EQ(use("only-if-cached", "", 60, 61), CACHE_USE_504, "only-if-cached, stale: 504 (RFC 9111 5.2.1.7)");
	ASSERT_EQ(use("only-if-cached", "", 60, 1), CACHE_USE_FRESH, "only-if-cached, fresh");
	ASSERT_EQ(use("only-if-cached, max-stale", "", 60, 100), CACHE_USE_STALE, "only-if-cached, max-stale");
	return true;
}

static bool sie(const char *req_cc, const char *resp_cc, int64_t lifetime, int64_t age, int status)
{
	struct cache_cc rcc, cc;

	ccs(req_cc, resp_cc, &rcc, &cc);
	return cache_stale_if_error(&conf, &rcc, &cc, lifetime, age, status);
}

/* RFC 5861 4 */
static bool test_stale_if_error(void)
{
	ASSERT_TRUE(sie("", "stale-if-error=30", 60, 90, 503), "response window, 503");
	ASSERT_TRUE(sie("", "stale-if-error=30", 60, 90, 0), "response window, no response at all");
	ASSERT_TRUE(!sie("", "stale-if-error=30", 60, 91, 503), "past the window");
	ASSERT_TRUE(!sie("", "stale-if-error=30", 60, 90, 404), "404 is an answer, not an error");
	ASSERT_TRUE(sie("stale-if-error=100", "", 60, 160, 500), "the request's window");
	ASSERT_TRUE(!sie("", "", 60, 61, 502), "no window");
	ASSERT_TRUE(!sie("", "stale-if-error=30, must-revalidate", 60, 61, 502), "must-revalidate forbids it");
	ASSERT_TRUE(!sie("", "stale-if-error=30, s-maxage=60", 60, 61, 502), "s-maxage forbids it (shared)");
	return true;
}

/* RFC 9111 4.3.1, 4.3.4, 3.2 */
static bool test_validation(void)
{
	struct hmsg st = RESP("200 OK", "ETag: \"v1\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
					"Content-Length: 5\r\nX-A: old\r\nX-A: old2\r\nX-Keep: k\r\n");
	struct hmsg plain = RESP("200 OK", "X-B: b\r\n"), plain_weak = RESP("200 OK", "ETag: W/\"v1\"\r\n"), r304,
		    out;
	struct h1_header cond[4];

	ASSERT_EQ(cache_conditional(&st, cond, 4), 2, "two validators");
	ASSERT_TRUE(h1_slice_eq(cond[0].name, "If-None-Match") && h1_slice_eq(cond[0].value, "\"v1\""),
		    "If-None-Match from ETag");
	ASSERT_TRUE(h1_slice_eq(cond[1].name, "If-Modified-Since") &&
			    h1_slice_eq(cond[1].value, "Sun, 06 Nov 1994 08:49:37 GMT"),
		    "If-Modified-Since from Last-Modified");
	ASSERT_EQ(cache_conditional(&st, cond, 1), 1, "within max");
	ASSERT_EQ(cache_conditional(&plain, cond, 4), 0, "no validator");

	r304 = RESP("304 Not Modified", "ETag: \"v1\"\r\n");
	ASSERT_TRUE(cache_304_selects(&st, &r304), "strong ETag match");
	r304 = RESP("304 Not Modified", "ETag: W/\"v1\"\r\n");
	ASSERT_TRUE(cache_304_selects(&st, &r304), "a weak ETag, weak comparison");
	r304 = RESP("304 Not Modified", "ETag: W/\"v2\"\r\n");
	ASSERT_TRUE(!cache_304_selects(&st, &r304), "another weak ETag");
	r304 = RESP("304 Not Modified", "ETag: \"v1\"\r\n");
	ASSERT_TRUE(!cache_304_selects(&plain_weak, &r304), "a strong ETag does not select a weak one");
	ASSERT_TRUE(!cache_304_selects(&plain, &r304), "nor a response without one");
	r304 = RESP("304 Not Modified", "ETag: \"v2\"\r\n");
	ASSERT_TRUE(!cache_304_selects(&st, &r304), "another ETag");
	r304 = RESP("304 Not Modified", "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
	ASSERT_TRUE(cache_304_selects(&st, &r304), "Last-Modified match");
	r304 = RESP("304 Not Modified", "");
	ASSERT_TRUE(!cache_304_selects(&st, &r304), "no validator in the 304, but stored has them");
	ASSERT_TRUE(cache_304_selects(&plain, &r304), "neither has validators");

	r304 = RESP("304 Not Modified", "ETag: \"v1\"\r\nX-A: new\r\nContent-Length: 0\r\nX-New: n\r\n"
					"Connection: X-Hop\r\nX-Hop: h\r\n");
	ASSERT_EQ(cache_merge_304(&st, &r304, &out), 0, "merge");
	ASSERT_EQ(out.status, 200, "stored status");
	{
		const struct h1_header *a = h1_find(out.headers, out.n_headers, "x-a");
		const struct h1_header *cl = h1_find(out.headers, out.n_headers, "content-length");

		ASSERT_TRUE(a && h1_slice_eq(a->value, "new") && !h1_find_after(out.headers, out.n_headers, a, "x-a"),
			    "both X-A lines replaced by the 304's one");
		ASSERT_TRUE(cl && h1_slice_eq(cl->value, "5"), "Content-Length not updated");
	}
	ASSERT_TRUE(has_field(&out, "x-new") && has_field(&out, "x-keep") && has_field(&out, "last-modified"),
		    "new fields added, others kept");
	ASSERT_TRUE(!has_field(&out, "connection") && !has_field(&out, "x-hop"), "hop-by-hop fields not merged");
	ASSERT_EQ(out.n_headers, 6, "ETag, Last-Modified, Content-Length, X-Keep, X-A, X-New");

	/* the stored bytes' coding and digest stay (RFC 9111 3.2's integrity exception) */
	st = RESP("200 OK", "ETag: \"v1\"\r\nContent-Encoding: gzip\r\nContent-MD5: AAAA\r\n");
	r304 = RESP("304 Not Modified", "ETag: \"v1\"\r\nContent-Encoding: br\r\nContent-MD5: BBBB\r\n");
	ASSERT_EQ(cache_merge_304(&st, &r304, &out), 0, "merge");
	{
		const struct h1_header *ce = h1_find(out.headers, out.n_headers, "content-encoding");
		const struct h1_header *md = h1_find(out.headers, out.n_headers, "content-md5");

		ASSERT_TRUE(ce && h1_slice_eq(ce->value, "gzip") && !h1_find_after(out.headers, out.n_headers, ce, "content-encoding"),
			    "Content-Encoding not updated");
		ASSERT_TRUE(md && h1_slice_eq(md->value, "AAAA") && !h1_find_after(out.headers, out.n_headers, md, "content-md5"),
			    "Content-MD5 not updated");
	}

	st = RESP("200 OK", "Age: 7\r\nContent-Length: 5\r\nETag: \"v1\"\r\n");
	cache_served_fields(&st, &out);
	ASSERT_EQ(out.n_headers, 1, "Age and Content-Length are the caller's to write");
	return true;
}

static bool not_modified(const char *req_fields, const char *stored_fields)
{
	char f[512];
	struct hmsg req, st = RESP("200 OK", stored_fields);

	snprintf(f, sizeof(f), "Host: a\r\n%s", req_fields);
	req = head(true, "GET / HTTP/1.1", f);
	return cache_not_modified(&req, &st);
}

/* RFC 9111 4.3.2, RFC 9110 13.1.1-13.1.3, 13.2.2 */
static bool test_not_modified(void)
{
#define ST "ETag: \"v1\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	ASSERT_TRUE(not_modified("If-None-Match: \"v1\"\r\n", ST), "the ETag");
	ASSERT_TRUE(not_modified("If-None-Match: \"x\", W/\"v1\"\r\n", ST), "in a list, weak comparison");
	ASSERT_TRUE(not_modified("If-None-Match: \"x\"\r\nIf-None-Match: \"v1\"\r\n", ST), "on a second line");
	ASSERT_TRUE(not_modified("If-None-Match: *\r\n", ST), "*");
	ASSERT_TRUE(!not_modified("If-None-Match: \"v2\"\r\n", ST), "another ETag");
	ASSERT_TRUE(!not_modified("If-None-Match: \"v2\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 09:00:00 GMT\r\n", ST),
		    "If-Modified-Since is ignored beside If-None-Match");
	ASSERT_TRUE(not_modified("If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", ST), "not modified since");
	ASSERT_TRUE(!not_modified("If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n", ST), "modified since");
	ASSERT_TRUE(!not_modified("If-Modified-Since: yesterday\r\n", ST), "an invalid date is ignored");
	ASSERT_TRUE(not_modified("If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
				 "Date: Sun, 06 Nov 1994 08:00:00 GMT\r\n"), "Date stands for a missing Last-Modified");
	ASSERT_TRUE(!not_modified("If-None-Match: \"v1\"\r\n", "X: y\r\n"), "no ETag stored");
	ASSERT_TRUE(!not_modified("", ST), "no conditional");
#undef ST
	return true;
}

static int key_of(const char *first, const char *fields, bool tls, char *out)
{
	struct hmsg r = head(true, first, fields);

	return cache_key(&r, tls, out, CACHE_KEY_MAX);
}

/* RFC 9111 4: the target URI, normalised as RFC 9110 4.2.3 allows */
static bool test_key(void)
{
	char k[CACHE_KEY_MAX], small[16];
	struct hmsg r;

	static const struct {
		const char *first, *fields;
		bool tls;
		const char *want, *what;
	} cases[] = {
		{ "GET /a?b=1 HTTP/1.1", "Host: Example.COM\r\n", false, "http://example.com/a?b=1",
		  "origin-form, host lowercased, path as sent" },
		{ "GET /A HTTP/1.1", "Host: example.com:80\r\n", false, "http://example.com/A",
		  "default port dropped, path case kept" },
		{ "GET / HTTP/1.1", "Host: example.com:443\r\n", true, "https://example.com/", "https default port" },
		{ "GET / HTTP/1.1", "Host: example.com:443\r\n", false, "http://example.com:443/",
		  "443 is not http's default" },
		{ "GET / HTTP/1.1", "Host: [::1]:8080\r\n", false, "http://[::1]:8080/", "IPv6 literal with a port" },
		{ "GET / HTTP/1.1", "Host: example.com:\r\n", false, "http://example.com/", "empty port" },
		{ "GET HTTP://Example.com:80?q HTTP/1.1", "Host: other\r\n", false, "http://example.com/?q",
		  "absolute form over Host, empty path as /" },
		{ "HEAD /x HTTP/1.1", "Host: a\r\n", false, "http://a/x", "HEAD shares GET's key" },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = key_of(cases[i].first, cases[i].fields, cases[i].tls, k);

		ASSERT_EQ(n, (int)strlen(cases[i].want), cases[i].what);
		ASSERT_STREQ(k, cases[i].want, cases[i].what);
	}
	ASSERT_EQ(key_of("GET / HTTP/1.1", "X: y\r\n", false, k), -EINVAL, "no Host");
	ASSERT_EQ(key_of("OPTIONS * HTTP/1.1", "Host: a\r\n", false, k), -EINVAL, "asterisk-form");
	ASSERT_EQ(key_of("GET http://u@a/ HTTP/1.1", "Host: a\r\n", false, k), -EINVAL, "userinfo");
	/* found by tests/fuzz/fuzz_cache.c: each was a key that reads as another as a URI */
	ASSERT_EQ(key_of("GET https://a.example:443:/p HTTP/1.1", "Host: a\r\n", true, k), -EINVAL, "two ports");
	ASSERT_EQ(key_of("GET / HTTP/1.1", "Host: a.example::\r\n", false, k), -EINVAL, "two colons");
	ASSERT_EQ(key_of("GET / HTTP/1.1", "Host: [::1\r\n", false, k), -EINVAL, "IPv6 without its bracket");
	ASSERT_EQ(key_of("GET / HTTP/1.1", "Host: [::1]\r\n", false, k), 13, "IPv6 without a port");
	r = head(true, "GET /long/path HTTP/1.1", "Host: a\r\n");
	ASSERT_EQ(cache_key(&r, false, small, sizeof(small)), -ENAMETOOLONG, "too long for out");
	r.authority = S("H2.example");
	r.scheme = S("https");
	ASSERT_TRUE(cache_key(&r, false, k, sizeof(k)) > 0, "HTTP/2");
	ASSERT_STREQ(k, "https://h2.example/long/path", ":scheme and :authority");
	ASSERT_EQ(cache_key_uri(S("https://b.example/p#frag"), k, sizeof(k)), 19, "a URI");
	ASSERT_STREQ(k, "https://b.example/p", "fragment cut");
	return true;
}

/* RFC 9111 4.1 */
static bool test_vary(void)
{
	char names[256], k1[256], k2[256];
	struct hmsg resp = RESP("200 OK", "Vary: Accept-Encoding , ACCEPT-language\r\nVary: X-A\r\n");
	struct hmsg a, b;
	int n;

	n = cache_vary_names(&resp, names, sizeof(names));
	ASSERT_STREQ(names, "accept-encoding\naccept-language\nx-a\n", "names lowercased, lines combined");
	ASSERT_EQ(n, (int)strlen(names), "length");
	resp = RESP("200 OK", "Vary: *\r\n");
	ASSERT_EQ(cache_vary_names(&resp, names, sizeof(names)), -EINVAL, "Vary: * matches nothing");
	resp = RESP("200 OK", "");
	ASSERT_EQ(cache_vary_names(&resp, names, sizeof(names)), 0, "no Vary");

	strcpy(names, "accept-encoding\nx-a\n");
	a = REQ("Accept-Encoding: gzip,  br\r\nX-A: 1\r\n");
	b = REQ("accept-encoding: gzip\r\nX-A: 1\r\nAccept-Encoding: br\r\n");
	cache_vary_key(names, strlen(names), &a, k1, sizeof(k1));
	cache_vary_key(names, strlen(names), &b, k2, sizeof(k2));
	ASSERT_STREQ(k1, "accept-encoding:gzip,br\nx-a:1\n", "normalised");
	ASSERT_STREQ(k2, k1, "two field lines and whitespace match one line");
	b = REQ("Accept-Encoding: br, gzip\r\nX-A: 1\r\n");
	cache_vary_key(names, strlen(names), &b, k2, sizeof(k2));
	ASSERT_TRUE(strcmp(k1, k2), "another order is another value");
	b = REQ("Accept-Encoding: gzip, br\r\n");
	cache_vary_key(names, strlen(names), &b, k2, sizeof(k2));
	ASSERT_STREQ(k2, "accept-encoding:gzip,br\nx-a!\n", "absent");
	b = REQ("Accept-Encoding: gzip, br\r\nX-A:\r\n");
	cache_vary_key(names, strlen(names), &b, k1, sizeof(k1));
	ASSERT_STREQ(k1, "accept-encoding:gzip,br\nx-a:\n", "empty is not absent");
	ASSERT_EQ(cache_vary_key(names, strlen(names), &b, k1, 8), -ENAMETOOLONG, "too long");
	ASSERT_EQ(cache_vary_key("", 0, &b, k1, sizeof(k1)), 0, "no Vary: an empty secondary key");
	return true;
}

static int invalidated(const char *method, const char *status, const char *fields, char (*out)[CACHE_KEY_MAX])
{
	char first[64];
	struct hmsg req, resp;

	snprintf(first, sizeof(first), "%s /r HTTP/1.1", method);
	req = head(true, first, "Host: a.example\r\n");
	resp = RESP(status, fields);
	return cache_invalidated(&req, &resp, "http://a.example/r", out, 3);
}

/* RFC 9111 4.4 */
static bool test_invalidation(void)
{
	static char out[3][CACHE_KEY_MAX];

	ASSERT_EQ(invalidated("POST", "201 Created", "Location: /new#x\r\nContent-Location: http://A.example/r2\r\n",
			      out),
		  3, "target, Location, Content-Location");
	ASSERT_STREQ(out[0], "http://a.example/r", "target");
	ASSERT_STREQ(out[1], "http://a.example/new", "absolute path, fragment cut");
	ASSERT_STREQ(out[2], "http://a.example/r2", "same origin, normalised");
	ASSERT_EQ(invalidated("PUT", "204 No Content", "Location: http://b.example/x\r\n", out), 1,
		  "another host's Location is left alone");
	ASSERT_EQ(invalidated("DELETE", "200 OK", "Content-Location: //a.example/y\r\n", out), 2,
		  "network-path reference");
	ASSERT_STREQ(out[1], "http://a.example/y", "network-path resolved");
	ASSERT_EQ(invalidated("POST", "303 See Other", "Location: rel/x\r\n", out), 1,
		  "a relative path is not resolved");
	ASSERT_EQ(invalidated("POST", "200 OK", "Location: /r\r\n", out), 1, "the same key once");
	ASSERT_EQ(invalidated("PATCHY", "200 OK", "", out), 1, "an unknown method is unsafe");
	ASSERT_EQ(invalidated("POST", "500 Internal Server Error", "", out), 0, "an error invalidates nothing");
	ASSERT_EQ(invalidated("POST", "404 Not Found", "", out), 0, "nor a 4xx");
	ASSERT_EQ(invalidated("GET", "200 OK", "", out), 0, "GET is safe");
	ASSERT_EQ(invalidated("OPTIONS", "200 OK", "", out), 0, "OPTIONS is safe");
	return true;
}

static bool test_lookup_status(void)
{
	struct hmsg r = REQ("");

	ASSERT_TRUE(cache_lookup_ok(&r), "GET");
	r = head(true, "HEAD / HTTP/1.1", "Host: a\r\n");
	ASSERT_TRUE(cache_lookup_ok(&r), "HEAD");
	r = head(true, "POST / HTTP/1.1", "Host: a\r\n");
	ASSERT_TRUE(!cache_lookup_ok(&r), "POST");
	r = head(true, "get / HTTP/1.1", "Host: a\r\n");
	ASSERT_TRUE(!cache_lookup_ok(&r), "methods are case-sensitive");
	ASSERT_TRUE(cache_status_heuristic(301) && !cache_status_heuristic(302) && cache_status_heuristic(501),
		    "RFC 9110 15.1");
	ASSERT_TRUE(!cache_status_understood(100) && !cache_status_understood(206) && !cache_status_understood(304),
		    "interim, partial and 304 are not stored");
	return true;
}

int main(void)
{
	RUN(test_cc_parse);
	RUN(test_cc_head);
	RUN(test_dates);
	RUN(test_storable);
	RUN(test_stored_fields);
	RUN(test_lifetime);
	RUN(test_age);
	RUN(test_use);
	RUN(test_stale_if_error);
	RUN(test_validation);
	RUN(test_not_modified);
	RUN(test_key);
	RUN(test_vary);
	RUN(test_invalidation);
	RUN(test_lookup_status);
	return check_summary("test_cache_policy");
}
