/* route.c: routing of the http action. A request matches the first http route whose
 * Host, path prefix and headers it carries; the route's endpoints share its requests
 * round robin or by fewest active requests, and a retry goes to an endpoint not tried
 * yet, a healthy one first. An explicit proxy request names its destination instead
 * (route_fwd_target). Nothing here touches the loop: http.c hands in the config, the
 * parsed head and what it knows of each endpoint. */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "http1.h"
#include "route.h"

/* "host:port" -> "host" (a route without a port in its host matches any port). */
static struct h1_slice host_no_port(struct h1_slice h)
{
	size_t i = h.len;

	while (i > 0 && h.p[i - 1] >= '0' && h.p[i - 1] <= '9')
		i--;
	if (i > 0 && i < h.len && h.p[i - 1] == ':')
		h.len = i - 1;
	return h;
}

/* The path of a request-target: itself in origin form, what follows the authority in
 * absolute form, else "/" (an authority with no path, "*"). */
static struct h1_slice target_path(struct h1_slice t)
{
	const char *s;

	if (t.len && t.p[0] == '/')
		return t;
	s = t.len > 3 ? memmem(t.p, t.len, "://", 3) : NULL;
	if (s) {
		const char *p = memchr(s + 3, '/', (size_t)(t.p + t.len - (s + 3)));

		if (p)
			return (struct h1_slice){ .p = p, .len = (size_t)(t.p + t.len - p) };
	}
	return (struct h1_slice){ .p = "/", .len = 1 };
}

bool route_match(const struct cfg_http_route *r, const struct h1_request *req, const struct h1_header *host)
{
	if (r->host[0]) {
		struct h1_slice h = host ? host->value : (struct h1_slice){ "", 0 };

		if (!strchr(r->host, ':'))
			h = host_no_port(h);
		if (!h1_slice_caseeq(h, r->host))
			return false;
	}
	if (r->path_prefix[0]) {
		struct h1_slice p = target_path(req->target);
		size_t pl = strlen(r->path_prefix);

		if (p.len < pl || memcmp(p.p, r->path_prefix, pl))
			return false;
	}
	for (int i = 0; i < r->n_match_headers; i++) {
		const struct h1_header *hs = req->headers, *h;
		unsigned n = req->n_headers;
		bool found = false;

		/* a field may repeat: any of its instances with the value will do */
		while (!found && (h = h1_find(hs, n, r->match_headers[i].name))) {
			found = h1_slice_eq(h->value, r->match_headers[i].value);
			n -= (unsigned)(h + 1 - hs);
			hs = h + 1;
		}
		if (!found)
			return false;
	}
	return true;
}

int route_find(const struct cfg_http_route *routes, int n, const struct h1_request *req,
	       const struct h1_header *host)
{
	for (int i = 0; i < n; i++)
		if (route_match(&routes[i], req, host))
			return i;
	return -1;
}

int route_pick(const struct route_ep *eps, unsigned n, unsigned start, uint32_t tried, int balance)
{
	for (int pass = 0; pass < 5; pass++) {
		int best = -1;

		for (unsigned k = 0; k < n; k++) {
			unsigned i = (start + k) % n;
			bool untried = !(tried & (1u << i)), healthy = eps[i].healthy;

			if (pass < 4 && eps[i].ejected)
				continue;
			if (pass == 4) {
				if (best < 0 || eps[i].back_ms < eps[best].back_ms)
					best = (int)i;
				continue;
			}
			if ((pass == 0 && !(untried && healthy)) || (pass == 1 && !untried) || (pass == 2 && !healthy))
				continue;
			if (balance != BALANCE_LEAST_REQUEST) {
				best = (int)i;
				break;
			}
			if (best < 0 || eps[i].active < eps[best].active)
				best = (int)i;
		}
		if (best >= 0)
			return best;
	}
	return -1;
}

int route_fwd_target(struct h1_slice t, struct h1_slice *auth, struct h1_slice *path, bool *slash,
		     struct hermes_addr *dst, bool *tls)
{
	const char *a, *e, *end = t.p + t.len;
	struct sockaddr_storage ss;
	socklen_t sl;
	char buf[300];
	bool has_port, letters = false;
	size_t scheme = h1_abs_scheme(t, tls);

	if (!scheme)
		return -EINVAL;
	a = t.p + scheme;
	for (e = a; e < end && *e != '/' && *e != '?' && *e != '#'; e++)
		;
	if (e == a || (size_t)(e - a) > sizeof(buf) - 4 || (e < end && *e == '#') || memchr(a, '@', (size_t)(e - a)))
		return -EINVAL;
	*auth = (struct h1_slice){ .p = a, .len = (size_t)(e - a) };
	*path = (struct h1_slice){ .p = e, .len = (size_t)(end - e) };
	*slash = e == end || *e == '?';
	/* a port is there when the authority ends in :digits after the host ([v6] or v4) */
	{
		const char *c = e;

		while (c > a && c[-1] >= '0' && c[-1] <= '9')
			c--;
		has_port = c > a && c < e && c[-1] == ':' && (a[0] != '[' || (c - 1 > a && c[-2] == ']'));
		if (!has_port && c == e && c > a && c[-1] == ':')
			return -EINVAL; /* "host:" */
	}
	memcpy(buf, a, (size_t)(e - a));
	buf[e - a] = 0;
	if (!has_port)
		strcat(buf, *tls ? ":443" : ":80");
	if (!h1_parse_authority((struct h1_slice){ .p = buf, .len = strlen(buf) }, &ss, &sl))
		return addr_to_hermes((struct sockaddr *)&ss, dst) ? -EINVAL : 0;
	if (a[0] == '[')
		return -EINVAL;
	for (const char *c = a; c < e && *c != ':'; c++) {
		if ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z')
			letters = true;
		else if (!(*c >= '0' && *c <= '9') && *c != '-' && *c != '.')
			return -EINVAL;
	}
	return letters ? -EHOSTUNREACH : -EINVAL;
}
