/* test_route.c: unit tests (no root) for userspace/route.c, the http action's routing:
 * which route a request matches (first match wins; Host with and without a port, case;
 * path prefix in origin and absolute form; header matches, repeated fields), which
 * endpoint each attempt goes to (untried and healthy first, round robin, least request),
 * and how an explicit proxy request's absolute target splits into Host, path and address.
 * Routes come from YAML through config_load, as an operator writes them. Exit 0 when
 * every check passes, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "http1.h"
#include "route.h"

static const char routes_yaml[] =
	"http_routes:\n"
	"  - name: api\n"
	"    match: {host: api.example, path_prefix: /v1, headers: {user: alice}}\n"
	"    endpoints: [10.77.1.2:80]\n"
	"  - name: v1\n"
	"    match: {path_prefix: /v1}\n"
	"    endpoints: [10.77.1.3:80]\n"
	"  - name: web8080\n"
	"    match: {host: web.example:8080}\n"
	"    endpoints: [10.77.1.4:80]\n"
	"  - name: any\n"
	"    endpoints: [10.77.1.5:80]\n";

static bool load_routes(struct hermes_config *cfg)
{
	char tmpl[] = "/tmp/hermes-test-route-XXXXXX", err[512];
	int fd = mkstemp(tmpl), ret;

	if (fd < 0 || write(fd, routes_yaml, sizeof(routes_yaml) - 1) != (ssize_t)(sizeof(routes_yaml) - 1)) {
		perror("writing the test config");
		exit(1);
	}
	close(fd);
	ret = config_load(tmpl, cfg, err, sizeof(err));
	unlink(tmpl);
	if (ret)
		fprintf(stderr, "config_load: %s\n", err);
	return ASSERT_EQ(ret, 0, "the routes load") && ASSERT_EQ(cfg->n_http_routes, 4, "n_http_routes");
}

/* The name of the route a request head (text) matches, "-" for none, or "(bad head)". */
static const char *route_of(const struct hermes_config *cfg, const char *head)
{
	static struct h1_request req;
	const struct h1_header *host;
	int i;

	if (h1_parse_request(head, strlen(head), NULL, &req) <= 0)
		return "(bad head)";
	host = h1_find(req.headers, req.n_headers, "Host");
	i = route_find(cfg->http_routes, cfg->n_http_routes, &req, host);
	return i < 0 ? "-" : cfg->http_routes[i].name;
}

static bool test_precedence(void)
{
	struct hermes_config cfg;
	static const struct {
		const char *head, *want;
	} cases[] = {
		{ "GET /v1/x HTTP/1.1\r\nHost: api.example\r\nuser: alice\r\n\r\n", "api" },
		/* the route's host has no port: any port matches; names compare case-insensitively */
		{ "GET /v1/x HTTP/1.1\r\nHost: api.example:9000\r\nuser: alice\r\n\r\n", "api" },
		{ "GET /v1/x HTTP/1.1\r\nHost: API.Example\r\nuser: alice\r\n\r\n", "api" },
		/* a later route catches what the first misses, in order */
		{ "GET /v1/x HTTP/1.1\r\nHost: api.example\r\nuser: bob\r\n\r\n", "v1" },
		{ "GET /v1/x HTTP/1.1\r\nHost: other.example\r\nuser: alice\r\n\r\n", "v1" },
		{ "GET /v2/x HTTP/1.1\r\nHost: api.example\r\nuser: alice\r\n\r\n", "any" },
		/* header names case-insensitive, values exact; any instance of a repeated field */
		{ "GET /v1/x HTTP/1.1\r\nHost: api.example\r\nUSER: alice\r\n\r\n", "api" },
		{ "GET /v1/x HTTP/1.1\r\nHost: api.example\r\nuser: Alice\r\n\r\n", "v1" },
		{ "GET /v1/x HTTP/1.1\r\nHost: api.example\r\nuser: bob\r\nuser: alice\r\n\r\n", "api" },
		/* absolute form: the path after the authority is what the prefix sees */
		{ "GET http://api.example/v1/x HTTP/1.1\r\nHost: api.example\r\nuser: alice\r\n\r\n", "api" },
		{ "GET http://api.example HTTP/1.1\r\nHost: api.example\r\nuser: alice\r\n\r\n", "any" },
		/* a route's host with a port wants exactly that port */
		{ "GET /v2 HTTP/1.1\r\nHost: web.example:8080\r\n\r\n", "web8080" },
		{ "GET /v2 HTTP/1.1\r\nHost: web.example:8081\r\n\r\n", "any" },
		{ "GET /v2 HTTP/1.1\r\nHost: web.example\r\n\r\n", "any" },
		/* HTTP/1.0 without Host: only routes that name no host */
		{ "GET /v1 HTTP/1.0\r\n\r\n", "v1" },
	};
	struct h1_request req;
	const char *get = "GET /v1 HTTP/1.1\r\nHost: api.example\r\n\r\n";

	if (!load_routes(&cfg))
		return false;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_STREQ(route_of(&cfg, cases[i].head), cases[i].want, cases[i].head);
	/* no route matches: the flow's original destination */
	ASSERT_TRUE(h1_parse_request(get, strlen(get), NULL, &req) > 0, "head parses");
	ASSERT_EQ(route_find(cfg.http_routes, 0, &req, h1_find(req.headers, req.n_headers, "Host")), -1,
		  "no routes: -1");
	ASSERT_EQ(route_find(cfg.http_routes, 1, &req, h1_find(req.headers, req.n_headers, "Host")), -1,
		  "only the api route, no user header: -1");
	config_free(&cfg);
	return true;
}

#define H(a) { .active = (a), .healthy = true }
#define D(a) { .active = (a), .healthy = false }

static bool test_pick_round_robin(void)
{
	struct route_ep three[] = { H(0), H(0), H(0) }, mixed[] = { D(0), H(0), H(0) };

	ASSERT_EQ(route_pick(three, 3, 0, 0, BALANCE_ROUND_ROBIN), 0, "turn 0");
	ASSERT_EQ(route_pick(three, 3, 4, 0, BALANCE_ROUND_ROBIN), 1, "turn 4 of 3 wraps to 1");
	ASSERT_EQ(route_pick(three, 3, 1, 1u << 1, BALANCE_ROUND_ROBIN), 2, "the tried one is passed over");
	ASSERT_EQ(route_pick(mixed, 3, 0, 0, BALANCE_ROUND_ROBIN), 1, "an unhealthy one is passed over");
	/* all tried: healthy before unhealthy, from the turn on */
	ASSERT_EQ(route_pick(mixed, 3, 0, 7, BALANCE_ROUND_ROBIN), 1, "all tried: the healthy one from turn 0");
	ASSERT_EQ(route_pick(mixed, 3, 2, 7, BALANCE_ROUND_ROBIN), 2, "all tried: the healthy one from turn 2");
	/* untried (even unhealthy) beats tried and healthy */
	ASSERT_EQ(route_pick(mixed, 3, 1, 6, BALANCE_ROUND_ROBIN), 0, "untried unhealthy before tried healthy");
	{
		struct route_ep down[] = { D(0), D(0) };

		ASSERT_EQ(route_pick(down, 2, 1, 3, BALANCE_ROUND_ROBIN), 1, "everything tried and down: the turn's");
	}
	ASSERT_EQ(route_pick(three, 0, 0, 0, BALANCE_ROUND_ROBIN), -1, "no endpoints");
	ASSERT_EQ(route_pick(three, 1, 5, 0, BALANCE_ROUND_ROBIN), 0, "one endpoint, any turn");
	return true;
}

static bool test_pick_least_request(void)
{
	struct route_ep eps[] = { H(5), H(2), H(2), H(7) }, sick[] = { H(5), D(0), H(3) };

	ASSERT_EQ(route_pick(eps, 4, 0, 0, BALANCE_LEAST_REQUEST), 1, "fewest active, earliest from turn 0");
	ASSERT_EQ(route_pick(eps, 4, 2, 0, BALANCE_LEAST_REQUEST), 2, "a tie goes to the earliest from the turn");
	ASSERT_EQ(route_pick(eps, 4, 0, 1u << 1, BALANCE_LEAST_REQUEST), 2, "the tried one is passed over");
	ASSERT_EQ(route_pick(eps, 4, 0, 1u << 1 | 1u << 2, BALANCE_LEAST_REQUEST), 0, "then the next fewest");
	ASSERT_EQ(route_pick(sick, 3, 0, 0, BALANCE_LEAST_REQUEST), 2, "an idle but unhealthy one is passed over");
	ASSERT_EQ(route_pick(sick, 3, 0, 1u << 0 | 1u << 2, BALANCE_LEAST_REQUEST), 1,
		  "untried unhealthy before tried healthy");
	return true;
}

#define E(a, back) { .active = (a), .healthy = false, .ejected = true, .back_ms = (back) }

/* outlier ejection: an ejected endpoint ranks below every other, tried or unhealthy */
static bool test_pick_ejected(void)
{
	struct route_ep eps[] = { E(0, 900), D(3), H(1) }, all[] = { E(0, 900), E(0, 500), E(0, 700) };

	ASSERT_EQ(route_pick(eps, 3, 0, 0, BALANCE_ROUND_ROBIN), 2, "an ejected first endpoint is skipped");
	ASSERT_EQ(route_pick(eps, 3, 0, 1u << 2, BALANCE_ROUND_ROBIN), 1,
		  "then an untried unhealthy one, before the untried ejected one");
	ASSERT_EQ(route_pick(eps, 3, 0, 6, BALANCE_ROUND_ROBIN), 2, "tried and healthy before untried and ejected");
	ASSERT_EQ(route_pick(eps, 3, 0, 0, BALANCE_LEAST_REQUEST), 2, "least request skips it even idle");
	ASSERT_EQ(route_pick(all, 3, 0, 0, BALANCE_ROUND_ROBIN), 1, "all ejected: the one back soonest");
	ASSERT_EQ(route_pick(all, 3, 0, 2, BALANCE_LEAST_REQUEST), 1, "whether tried or not");
	return true;
}

static bool fwd_case(const char *target, int want_ret, const char *want_auth, const char *want_path, bool want_slash,
		     const char *want_ip, unsigned want_port, bool want_tls)
{
	struct h1_slice t = { target, strlen(target) }, auth = { 0 }, path = { 0 };
	struct hermes_addr dst = { 0 };
	bool slash = false, tls = false;
	char ip[64] = "", a[300], p[300];
	int ret = route_fwd_target(t, &auth, &path, &slash, &dst, &tls);

	if (!ASSERT_EQ(ret, want_ret, target) || ret)
		return false;
	snprintf(a, sizeof(a), "%.*s", (int)auth.len, auth.p);
	snprintf(p, sizeof(p), "%.*s", (int)path.len, path.p);
	inet_ntop(dst.family == HERMES_FAMILY_V4 ? AF_INET : AF_INET6, dst.addr, ip, sizeof(ip));
	ASSERT_STREQ(a, want_auth, target);
	ASSERT_STREQ(p, want_path, target);
	ASSERT_EQ(slash, want_slash, target);
	ASSERT_STREQ(ip, want_ip, target);
	ASSERT_EQ(ntohs(dst.port), want_port, target);
	return ASSERT_EQ(tls, want_tls, target);
}

static bool test_fwd_target(void)
{
	fwd_case("http://10.0.0.1:8080/x?y", 0, "10.0.0.1:8080", "/x?y", false, "10.0.0.1", 8080, false);
	fwd_case("http://10.0.0.1", 0, "10.0.0.1", "", true, "10.0.0.1", 80, false);
	fwd_case("http://10.0.0.1?q=1", 0, "10.0.0.1", "?q=1", true, "10.0.0.1", 80, false);
	fwd_case("https://10.0.0.1/", 0, "10.0.0.1", "/", false, "10.0.0.1", 443, true);
	fwd_case("http://[fd00::1]/a", 0, "[fd00::1]", "/a", false, "fd00::1", 80, false);
	fwd_case("http://[fd00::1]:81/a", 0, "[fd00::1]:81", "/a", false, "fd00::1", 81, false);
	fwd_case("http://example.com/", -EHOSTUNREACH, NULL, NULL, false, NULL, 0, false);
	fwd_case("http://u@10.0.0.1/", -EINVAL, NULL, NULL, false, NULL, 0, false);
	fwd_case("http://10.0.0.1:/", -EINVAL, NULL, NULL, false, NULL, 0, false);
	fwd_case("http://10.0.0.1#frag", -EINVAL, NULL, NULL, false, NULL, 0, false);
	fwd_case("http:///x", -EINVAL, NULL, NULL, false, NULL, 0, false);
	fwd_case("ftp://10.0.0.1/", -EINVAL, NULL, NULL, false, NULL, 0, false);
	fwd_case("http://10.0.0.1:99999/", -EINVAL, NULL, NULL, false, NULL, 0, false);
	return true;
}

int main(void)
{
	RUN(test_precedence);
	RUN(test_pick_round_robin);
	RUN(test_pick_least_request);
	RUN(test_pick_ejected);
	RUN(test_fwd_target);
	return check_summary("test_route");
}
