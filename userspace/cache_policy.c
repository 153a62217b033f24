/* cache_policy.c: the HTTP cache's rules as pure functions (RFC 9111 as a shared cache,
 * RFC 5861): what a message's Cache-Control says, which responses may be stored, how long
 * they stay fresh and how old they are, what a request may be answered with, and how a
 * stored head is revalidated and updated. No store, loop, socket or clock: callers pass
 * heads, settings and times. API and the rules in cache_policy.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cache_policy.h"
#include "http1.h"

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

static struct h1_slice trim(struct h1_slice s)
{
	while (s.len && ows(s.p[0]))
		s.p++, s.len--;
	while (s.len && ows(s.p[s.len - 1]))
		s.len--;
	return s;
}

bool cache_list_next(struct h1_slice *rest, struct h1_slice *elem)
{
	while (rest->len) {
		const char *c = memchr(rest->p, ',', rest->len);
		size_t n = c ? (size_t)(c - rest->p) : rest->len;

		*elem = trim((struct h1_slice){ .p = rest->p, .len = n });
		rest->p += c ? n + 1 : n;
		rest->len -= c ? n + 1 : n;
		if (elem->len)
			return true;
	}
	return false;
}

bool cache_list_has(struct h1_slice list, struct h1_slice name)
{
	struct h1_slice e;

	while (cache_list_next(&list, &e))
		if (e.len == name.len && !strncasecmp(e.p, name.p, e.len))
			return true;
	return false;
}

/* ---- Cache-Control ---- */

void cache_cc_init(struct cache_cc *cc)
{
	*cc = (struct cache_cc){ .max_age = -1, .s_maxage = -1, .max_stale = -1, .min_fresh = -1,
				 .stale_while_revalidate = -1, .stale_if_error = -1 };
}

/* delta-seconds (RFC 9111 1.2.2), capped at CACHE_DELTA_MAX; anything else, empty too,
 * reads as invalid */
static int64_t delta_or(struct h1_slice a, int64_t invalid)
{
	int64_t v = 0;

	if (!a.len)
		return invalid;
	for (size_t i = 0; i < a.len; i++) {
		if (a.p[i] < '0' || a.p[i] > '9')
			return invalid;
		if (v < CACHE_DELTA_MAX)
			v = v * 10 + (a.p[i] - '0');
	}
	return v > CACHE_DELTA_MAX ? CACHE_DELTA_MAX : v;
}

/* a directive's delta-seconds: anything else reads as 0, which makes a response stale */
static int64_t delta(struct h1_slice a)
{
	return delta_or(a, 0);
}

static void set_delta(int64_t *v, struct h1_slice a)
{
	if (*v < 0)
		*v = delta(a);
}

/* A qualified no-cache or private names fields; an empty list is the plain form. */
static void qualified(struct cache_cc *cc, bool has_arg, struct h1_slice a, struct h1_slice *fields, uint32_t flag)
{
	if (!has_arg || !trim(a).len)
		cc->flags |= flag;
	else if (!fields->len)
		*fields = a;
}

static void directive(struct cache_cc *cc, struct h1_slice n, bool has_arg, struct h1_slice a)
{
	static const struct {
		const char *name;
		uint32_t flag;
	} flags[] = {
		{ "no-store", CACHE_CC_NO_STORE },
		{ "public", CACHE_CC_PUBLIC },
		{ "must-revalidate", CACHE_CC_MUST_REVALIDATE },
		{ "proxy-revalidate", CACHE_CC_PROXY_REVALIDATE },
		{ "only-if-cached", CACHE_CC_ONLY_IF_CACHED },
		{ "must-understand", CACHE_CC_MUST_UNDERSTAND },
		{ "no-transform", CACHE_CC_NO_TRANSFORM },
		{ "immutable", CACHE_CC_IMMUTABLE },
	};

	for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (h1_slice_caseeq(n, flags[i].name)) {
			cc->flags |= flags[i].flag;
			return;
		}
	if (h1_slice_caseeq(n, "no-cache")) {
		qualified(cc, has_arg, a, &cc->no_cache_fields, CACHE_CC_NO_CACHE);
	} else if (h1_slice_caseeq(n, "private")) {
		qualified(cc, has_arg, a, &cc->private_fields, CACHE_CC_PRIVATE);
	} else if (h1_slice_caseeq(n, "max-age")) {
		set_delta(&cc->max_age, a);
	} else if (h1_slice_caseeq(n, "s-maxage")) {
		set_delta(&cc->s_maxage, a);
	} else if (h1_slice_caseeq(n, "min-fresh")) {
		set_delta(&cc->min_fresh, a);
	} else if (h1_slice_caseeq(n, "stale-while-revalidate")) {
		set_delta(&cc->stale_while_revalidate, a);
	} else if (h1_slice_caseeq(n, "stale-if-error")) {
		set_delta(&cc->stale_if_error, a);
	} else if (h1_slice_caseeq(n, "max-stale")) {
		if (!has_arg)
			cc->flags |= CACHE_CC_MAX_STALE_ANY;
		else
			set_delta(&cc->max_stale, a);
	}
}

int cache_cc_parse(const char *p, size_t len, struct cache_cc *cc)
{
	size_t i = 0;

	while (i < len) {
		struct h1_slice n, a = { .p = p + i, .len = 0 };
		bool has_arg = false;

		while (i < len && (ows(p[i]) || p[i] == ','))
			i++;
		if (i == len)
			break;
		n.p = p + i;
		while (i < len && p[i] != '=' && p[i] != ',' && !ows(p[i]))
			i++;
		n.len = (size_t)(p + i - n.p);
		while (i < len && ows(p[i]))
			i++;
		if (i < len && p[i] == '=') {
			has_arg = true;
			i++;
			while (i < len && ows(p[i]))
				i++;
			if (i < len && p[i] == '"') {
				a.p = p + ++i;
				while (i < len && p[i] != '"')
					i += p[i] == '\\' ? 2 : 1;
				if (i >= len) {
					cc->flags |= CACHE_CC_BAD;
					return -EBADMSG;
				}
				a.len = (size_t)(p + i - a.p);
				i++;
			} else {
				a.p = p + i;
				while (i < len && p[i] != ',' && !ows(p[i]))
					i++;
				a.len = (size_t)(p + i - a.p);
			}
		}
		/* whatever else comes before the next comma is not a directive */
		while (i < len && p[i] != ',')
			i++;
		if (n.len)
			directive(cc, n, has_arg, a);
	}
	return (int)len;
}

void cache_cc_head(const struct hmsg *m, bool req, struct cache_cc *cc)
{
	bool any = false;

	cache_cc_init(cc);
	for (unsigned i = 0; i < m->n_headers; i++)
		if (h1_slice_caseeq(m->headers[i].name, "cache-control")) {
			any = true;
			(void)cache_cc_parse(m->headers[i].value.p, m->headers[i].value.len, cc);
		}
	if (req && !any)
		for (unsigned i = 0; i < m->n_headers; i++)
			if (h1_slice_caseeq(m->headers[i].name, "pragma") &&
			    cache_list_has(m->headers[i].value, (struct h1_slice){ "no-cache", 8 }))
				cc->flags |= CACHE_CC_NO_CACHE | CACHE_CC_PRAGMA_NO_CACHE;
}

/* ---- HTTP dates ---- */

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char *const wkdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int num(const char **s, const char *end, unsigned digits, unsigned *v)
{
	*v = 0;
	for (unsigned i = 0; i < digits; i++, (*s)++) {
		if (*s >= end || **s < '0' || **s > '9')
			return -EINVAL;
		*v = *v * 10 + (unsigned)(**s - '0');
	}
	return 0;
}

static int lit(const char **s, const char *end, const char *want)
{
	size_t n = strlen(want);

	if ((size_t)(end - *s) < n || memcmp(*s, want, n))
		return -EINVAL;
	*s += n;
	return 0;
}

static int month(const char **s, const char *end, unsigned *m)
{
	if (end - *s < 3)
		return -EINVAL;
	for (unsigned i = 0; i < 12; i++)
		if (!memcmp(*s, months + 3 * i, 3)) {
			*m = i + 1;
			*s += 3;
			return 0;
		}
	return -EINVAL;
}

static int hms(const char **s, const char *end, unsigned *h, unsigned *mi, unsigned *se)
{
	if (num(s, end, 2, h) || lit(s, end, ":") || num(s, end, 2, mi) || lit(s, end, ":") || num(s, end, 2, se))
		return -EINVAL;
	return *h > 23 || *mi > 59 || *se > 60 ? -EINVAL : 0;
}

int cache_date_parse(struct h1_slice str, int64_t *t)
{
	const char *s, *end;
	unsigned d, m, y, h, mi, se;

	str = trim(str);
	s = str.p;
	end = str.p + str.len;
	if (str.len < 24)
		return -EINVAL;
	if (s[3] == ',') { /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		s += 4;
		if (lit(&s, end, " ") || num(&s, end, 2, &d) || lit(&s, end, " ") || month(&s, end, &m) ||
		    lit(&s, end, " ") || num(&s, end, 4, &y) || lit(&s, end, " ") || hms(&s, end, &h, &mi, &se) ||
		    lit(&s, end, " GMT") || s != end)
			return -EINVAL;
	} else if (s[3] == ' ') { /* asctime: Sun Nov  6 08:49:37 1994 */
		s += 4;
		if (month(&s, end, &m) || lit(&s, end, " "))
			return -EINVAL;
		if (s < end && *s == ' ')
			s++;
		if (num(&s, end, s + 1 < end && s[1] != ' ' ? 2 : 1, &d) || lit(&s, end, " ") ||
		    hms(&s, end, &h, &mi, &se) || lit(&s, end, " ") || num(&s, end, 4, &y) || s != end)
			return -EINVAL;
	} else { /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
		const char *c = memchr(s, ',', (size_t)(end - s));

		if (!c)
			return -EINVAL;
		s = c + 1;
		if (lit(&s, end, " ") || num(&s, end, 2, &d) || lit(&s, end, "-") || month(&s, end, &m) ||
		    lit(&s, end, "-") || num(&s, end, 2, &y) || lit(&s, end, " ") || hms(&s, end, &h, &mi, &se) ||
		    lit(&s, end, " GMT") || s != end)
			return -EINVAL;
		/* RFC 9110 5.6.7: a two-digit year more than 50 years ahead is in the past
		 * century; read against 2000 here, which holds until 2050 */
		y += y < 50 ? 2000 : 1900;
	}
	if (d < 1 || d > 31)
		return -EINVAL;
	*t = days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

int cache_date_fmt(int64_t t, char out[30])
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, secs = t - days * 86400;
	/* civil_from_days (Howard Hinnant) */
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = (int64_t)yoe + era * 400 + (m <= 2);

	char tmp[96]; /* room for any int64 year: the compiler cannot know it has 4 digits */
	int n = snprintf(tmp, sizeof(tmp), "%s, %02u %.3s %04lld %02u:%02u:%02u GMT", wkdays[((days % 7) + 11) % 7],
			 d, months + 3 * (m - 1), (long long)y, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
			 (unsigned)(secs % 60));

	if (n < 0 || n > 29)
		return -ERANGE;
	memcpy(out, tmp, (size_t)n + 1);
	return n;
}

/* ---- storing ---- */

bool cache_lookup_ok(const struct hmsg *req)
{
	return h1_slice_eq(req->method, "GET") || h1_slice_eq(req->method, "HEAD");
}

bool cache_status_understood(int status)
{
	switch (status) {
	case 200: case 201: case 202: case 203: case 204: case 205:
	case 300: case 301: case 302: case 303: case 305: case 307: case 308:
	case 400: case 401: case 402: case 403: case 404: case 405: case 406: case 407: case 408: case 409:
	case 410: case 411: case 412: case 413: case 414: case 415: case 416: case 417: case 421: case 422:
	case 426: case 429: case 431: case 451:
	case 500: case 501: case 502: case 503: case 504: case 505:
		return true;
	default:
		return false;
	}
}

bool cache_status_heuristic(int status)
{
	switch (status) {
	case 200: case 203: case 204: case 206: case 300: case 301: case 308:
	case 404: case 405: case 410: case 414: case 501:
		return true;
	default:
		return false;
	}
}

static const struct h1_header *field(const struct hmsg *m, const char *name)
{
	return h1_find(m->headers, m->n_headers, name);
}

static bool vary_star(const struct hmsg *resp)
{
	for (unsigned i = 0; i < resp->n_headers; i++)
		if (h1_slice_caseeq(resp->headers[i].name, "vary") &&
		    cache_list_has(resp->headers[i].value, (struct h1_slice){ "*", 1 }))
			return true;
	return false;
}

enum cache_nostore cache_storable(const struct cache_conf *cf, const struct hmsg *req, const struct cache_cc *rcc,
				  const struct hmsg *resp, const struct cache_cc *cc)
{
	if (!h1_slice_eq(req->method, "GET"))
		return CACHE_NS_METHOD;
	if (cc->flags & CACHE_CC_BAD)
		return CACHE_NS_BAD;
	/* any final status may be stored; one the cache does not know only with an explicit
	 * lifetime (below), never with must-understand; 206 and 304 are not whole responses
	 * (RFC 9111 3) */
	if (resp->status < 200 || resp->status == 206 || resp->status == 304 ||
	    ((cc->flags & CACHE_CC_MUST_UNDERSTAND) && !cache_status_understood(resp->status)))
		return CACHE_NS_STATUS;
	if (rcc->flags & CACHE_CC_NO_STORE)
		return CACHE_NS_NO_STORE;
	/* must-understand with a status understood overrides no-store (RFC 9111 5.2.2.3) */
	if ((cc->flags & (CACHE_CC_NO_STORE | CACHE_CC_MUST_UNDERSTAND)) == CACHE_CC_NO_STORE)
		return CACHE_NS_NO_STORE;
	if (cf->shared && (cc->flags & CACHE_CC_PRIVATE))
		return CACHE_NS_PRIVATE;
	if (cf->shared && field(req, "authorization") &&
	    !(cc->flags & (CACHE_CC_PUBLIC | CACHE_CC_MUST_REVALIDATE)) && cc->s_maxage < 0)
		return CACHE_NS_AUTHORIZATION;
	if (vary_star(resp))
		return CACHE_NS_VARY_STAR;
	if (cf->no_set_cookie && field(resp, "set-cookie"))
		return CACHE_NS_SET_COOKIE;
	if (!(cc->flags & CACHE_CC_PUBLIC) && !field(resp, "expires") && cc->max_age < 0 &&
	    !(cf->shared && cc->s_maxage >= 0) && !cache_status_heuristic(resp->status) &&
	    !(!cf->shared && (cc->flags & CACHE_CC_PRIVATE)))
		return CACHE_NS_NOT_CACHEABLE;
	return CACHE_STORE_OK;
}

/* Fields never stored or forwarded (RFC 9110 7.6.1, RFC 9111 3.1), or named by the
 * response's Connection field or a qualified no-cache / private (cc may be NULL). */
static bool not_kept(const struct hmsg *m, const struct cache_cc *cc, struct h1_slice name)
{
	static const char *const hop[] = { "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding",
					   "upgrade", "trailer", "proxy-authenticate", "proxy-authentication-info",
					   "proxy-authorization" };

	for (unsigned i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (h1_slice_caseeq(name, hop[i]))
			return true;
	for (unsigned i = 0; i < m->n_headers; i++)
		if (h1_slice_caseeq(m->headers[i].name, "connection") && cache_list_has(m->headers[i].value, name))
			return true;
	return cc && (cache_list_has(cc->no_cache_fields, name) || cache_list_has(cc->private_fields, name));
}

static void head_copy(const struct hmsg *from, struct hmsg *out)
{
	*out = *from;
	out->n_headers = 0;
}

void cache_stored_fields(const struct hmsg *resp, const struct cache_cc *cc, struct hmsg *out)
{
	head_copy(resp, out);
	for (unsigned i = 0; i < resp->n_headers; i++)
		if (!not_kept(resp, cc, resp->headers[i].name))
			out->headers[out->n_headers++] = resp->headers[i];
}

bool cache_head_stored(const struct hmsg *m)
{
	if (m->status < 200 || m->status > 599 || m->status == 206 || m->status == 304)
		return false;
	for (unsigned i = 0; i < m->n_headers; i++)
		if (not_kept(m, NULL, m->headers[i].name))
			return false;
	return true;
}

/* ---- freshness and age ---- */

static bool date_of(const struct hmsg *m, const char *name, int64_t *t)
{
	const struct h1_header *h = field(m, name);

	return h && !cache_date_parse(h->value, t);
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t s = a + b;

	return s > CACHE_DELTA_MAX ? CACHE_DELTA_MAX : s;
}

int64_t cache_lifetime(const struct cache_conf *cf, const struct hmsg *resp, const struct cache_cc *cc,
		       const struct cache_times *t)
{
	const struct h1_header *exp;
	int64_t date, when, lm;

	if (cf->shared && cc->s_maxage >= 0)
		return cc->s_maxage;
	if (cc->max_age >= 0)
		return cc->max_age;
	if (!date_of(resp, "date", &date))
		date = t->response_time;
	exp = field(resp, "expires");
	if (exp) /* an invalid date, such as "0", is in the past (RFC 9111 5.3) */
		return !cache_date_parse(exp->value, &when) && when > date ? (when - date > CACHE_DELTA_MAX ?
									       CACHE_DELTA_MAX : when - date)
									    : 0;
	if (!cache_status_heuristic(resp->status) && !(cc->flags & CACHE_CC_PUBLIC))
		return 0;
	if (cf->default_ttl_s > 0)
		return cf->default_ttl_s;
	if (!date_of(resp, "last-modified", &lm) || lm >= date)
		return 0;
	when = (date - lm) * (int64_t)cf->heuristic_percent / 100;
	return when > cf->heuristic_max_s ? cf->heuristic_max_s : when;
}

/* RFC 9111 5.1: an Age that is not one non-negative integer makes the response stale
 * (the cache test suite reads a list, a second Age line, a sign, a fraction or a
 * parameter that way too): the largest age, which no lifetime covers. */
static int64_t age_field(const struct hmsg *resp)
{
	const struct h1_header *a = field(resp, "age");

	if (!a)
		return 0;
	if (h1_find_after(resp->headers, resp->n_headers, a, "age"))
		return CACHE_DELTA_MAX;
	return delta_or(trim(a->value), CACHE_DELTA_MAX);
}

int64_t cache_initial_age(const struct hmsg *resp, const struct cache_times *t)
{
	int64_t date, apparent = 0, age = age_field(resp), corrected;

	if (date_of(resp, "date", &date) && t->response_time > date) /* capped as every age is */
		apparent = sat_add(t->response_time - date, 0);
	corrected = sat_add(age, t->response_time > t->request_time ? t->response_time - t->request_time : 0);
	return apparent > corrected ? apparent : corrected;
}

int64_t cache_current_age(int64_t initial_age, const struct cache_times *t, int64_t now)
{
	return sat_add(initial_age, now > t->response_time ? now - t->response_time : 0);
}

/* Responses that must not be served stale (RFC 9111 5.2.2.2, 5.2.2.8, 5.2.2.10). */
static bool no_stale(const struct cache_conf *cf, const struct cache_cc *cc)
{
	return (cc->flags & CACHE_CC_MUST_REVALIDATE) ||
	       (cf->shared && ((cc->flags & CACHE_CC_PROXY_REVALIDATE) || cc->s_maxage >= 0));
}

enum cache_use cache_use(const struct cache_conf *cf, const struct cache_cc *rcc, const struct cache_cc *cc,
			 int64_t lifetime, int64_t age)
{
	enum cache_use u = CACHE_USE_VALIDATE;
	int64_t stale = age - lifetime;

	if ((rcc->flags & CACHE_CC_NO_CACHE) || (cc->flags & CACHE_CC_NO_CACHE) ||
	    (rcc->max_age >= 0 && age > rcc->max_age))
		u = CACHE_USE_VALIDATE;
	else if (lifetime > sat_add(age, rcc->min_fresh > 0 ? rcc->min_fresh : 0))
		u = CACHE_USE_FRESH;
	else if (stale >= 0 && no_stale(cf, cc))
		u = CACHE_USE_VALIDATE;
	else if (stale >= 0 &&
		 ((rcc->flags & CACHE_CC_MAX_STALE_ANY) || (rcc->max_stale >= 0 && stale <= rcc->max_stale)))
		u = CACHE_USE_STALE;
	else if (stale >= 0 && cc->stale_while_revalidate >= 0 && stale <= cc->stale_while_revalidate &&
		 rcc->min_fresh < 0)
		u = CACHE_USE_SWR;
	if (u == CACHE_USE_VALIDATE && (rcc->flags & CACHE_CC_ONLY_IF_CACHED))
		u = CACHE_USE_504;
	return u;
}

bool cache_stale_if_error(const struct cache_conf *cf, const struct cache_cc *rcc, const struct cache_cc *cc,
			  int64_t lifetime, int64_t age, int status)
{
	int64_t stale = age - lifetime;

	if (status && status != 500 && status != 502 && status != 503 && status != 504)
		return false;
	if (no_stale(cf, cc) || (cc->flags & CACHE_CC_NO_CACHE) || (rcc->flags & CACHE_CC_NO_CACHE))
		return false;
	if (stale < 0)
		return true; /* still fresh: the error only came from a forced revalidation */
	return (cc->stale_if_error >= 0 && stale <= cc->stale_if_error) ||
	       (rcc->stale_if_error >= 0 && stale <= rcc->stale_if_error);
}

/* ---- validation ---- */

unsigned cache_conditional(const struct hmsg *stored, struct h1_header *out, unsigned max)
{
	const struct h1_header *etag = field(stored, "etag"), *lm = field(stored, "last-modified");
	unsigned n = 0;

	if (etag && n < max)
		out[n++] = (struct h1_header){ .name = { "If-None-Match", 13 }, .value = etag->value };
	if (lm && n < max)
		out[n++] = (struct h1_header){ .name = { "If-Modified-Since", 17 }, .value = lm->value };
	return n;
}

static bool strong_etag(const struct h1_header *h)
{
	return h && h->value.len >= 2 && h->value.p[0] == '"';
}

/* an entity tag without its W/ */
static struct h1_slice opaque(struct h1_slice v)
{
	if (v.len >= 2 && v.p[0] == 'W' && v.p[1] == '/')
		v.p += 2, v.len -= 2;
	return v;
}

static bool same_value(const struct h1_header *a, const struct h1_header *b)
{
	return a && b && a->value.len == b->value.len && !memcmp(a->value.p, b->value.p, a->value.len);
}

bool cache_304_selects(const struct hmsg *stored, const struct hmsg *r304)
{
	const struct h1_header *e304 = field(r304, "etag"), *es = field(stored, "etag");
	const struct h1_header *l304 = field(r304, "last-modified"), *ls = field(stored, "last-modified");

	if (strong_etag(e304))
		return strong_etag(es) && same_value(e304, es);
	if (e304) /* a weak ETag: weak comparison (RFC 9110 8.8.3.2) */
		return es && opaque(e304->value).len == opaque(es->value).len &&
		       !memcmp(opaque(e304->value).p, opaque(es->value).p, opaque(es->value).len);
	if (l304)
		return same_value(l304, ls);
	return !es && !ls;
}

/* Fields a 304 never replaces: the stored body's framing and what describes those exact
 * bytes (its coding, its digest): RFC 9111 3.2 lets a cache keep such fields for the
 * integrity of the stored response, and the cache test suite asks it for these. */
static bool no_304_update(struct h1_slice n)
{
	return h1_slice_caseeq(n, "content-length") || h1_slice_caseeq(n, "content-range") ||
	       h1_slice_caseeq(n, "content-encoding") || h1_slice_caseeq(n, "content-md5");
}

int cache_merge_304(const struct hmsg *stored, const struct hmsg *r304, struct hmsg *out)
{
	head_copy(stored, out);
	for (unsigned i = 0; i < stored->n_headers; i++) {
		struct h1_slice n = stored->headers[i].name;
		bool replaced = false;

		if (!no_304_update(n) && !not_kept(r304, NULL, n))
			for (unsigned j = 0; j < r304->n_headers && !replaced; j++)
				replaced = r304->headers[j].name.len == n.len &&
					   !strncasecmp(r304->headers[j].name.p, n.p, n.len);
		if (!replaced)
			out->headers[out->n_headers++] = stored->headers[i];
	}
	for (unsigned j = 0; j < r304->n_headers; j++) {
		struct h1_slice n = r304->headers[j].name;

		if (no_304_update(n) || not_kept(r304, NULL, n))
			continue;
		if (out->n_headers >= H1_HEADERS_CAP)
			return -EMSGSIZE;
		out->headers[out->n_headers++] = r304->headers[j];
	}
	return 0;
}

bool cache_not_modified(const struct hmsg *req, const struct hmsg *stored)
{
	const struct h1_header *etag = field(stored, "etag"), *ims = field(req, "if-modified-since");
	bool inm = false;
	int64_t since, last;

	for (unsigned i = 0; i < req->n_headers; i++) {
		struct h1_slice rest = req->headers[i].value, e;

		if (!h1_slice_caseeq(req->headers[i].name, "if-none-match"))
			continue;
		inm = true;
		while (cache_list_next(&rest, &e))
			if (h1_slice_eq(e, "*") ||
			    (etag && opaque(e).len == opaque(etag->value).len &&
			     !memcmp(opaque(e).p, opaque(etag->value).p, opaque(e).len)))
				return true;
	}
	if (inm || !ims || cache_date_parse(ims->value, &since))
		return false;
	if (!date_of(stored, "last-modified", &last) && !date_of(stored, "date", &last))
		return false;
	return last <= since;
}

/* ---- serving ---- */

int64_t cache_age_value(int64_t age)
{
	return age < 0 ? 0 : age > CACHE_DELTA_MAX ? CACHE_DELTA_MAX : age;
}

void cache_served_fields(const struct hmsg *stored, struct hmsg *out)
{
	head_copy(stored, out);
	for (unsigned i = 0; i < stored->n_headers; i++)
		if (!h1_slice_caseeq(stored->headers[i].name, "age") &&
		    !h1_slice_caseeq(stored->headers[i].name, "content-length"))
			out->headers[out->n_headers++] = stored->headers[i];
}
