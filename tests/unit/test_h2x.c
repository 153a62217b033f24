/* test_h2x.c: unit tests (no root) for userspace/h2x.c, the HTTP/1.1 <-> HTTP/2
 * translation of the http action: heads to HTTP/2 fields and back (RFC 9113 8.3:
 * :authority from Host or an absolute-form target, connection-specific fields dropped,
 * Host from :authority, framing added), names longer than a fixed buffer (the response
 * head h2dn.c translates may be as long as http.max_head_bytes, 1 MiB), the trailers
 * of a body that has none, heads with as many fields as clients may send and hermesd
 * adds to, and the fuzz_h2x input that gained a Host field past the clients' limit. tests/fuzz/fuzz_h2x.c checks the same contracts on random
 * input. Exit 0 when every check passes, 1 otherwise. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "h2x.h"
#include "http1.h"

static const struct h1_limits big = { .max_head = 1 << 20, .max_line = 1 << 20, .max_headers = H1_MAX_HEADERS };

static bool nv_eq(const nghttp2_nv *nv, const char *name, const char *value)
{
	return ASSERT_TRUE(nv->namelen == strlen(name) && !memcmp(nv->name, name, nv->namelen) &&
			   nv->valuelen == strlen(value) && !memcmp(nv->value, value, nv->valuelen),
			   "field %.*s: %.*s, want %s: %s", (int)nv->namelen, nv->name, (int)nv->valuelen, nv->value,
			   name, value);
}

/* An HTTP/1.1 request as HTTP/2 fields: pseudo-header fields first, names lowercased,
 * connection-specific fields gone, an absolute-form target split. */
static bool test_request_nv(void)
{
	static const char head[] = "GET http://origin.example:8080/a?b HTTP/1.1\r\nConnection: x-hop\r\n"
				   "X-Mixed: One\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n";
	struct h1_request rq;
	nghttp2_nv nv[16];
	char lbuf[sizeof(head)];
	bool ok = true;
	int n = h1_parse_request(head, sizeof(head) - 1, &big, &rq), k;

	if (!ASSERT_EQ(n, sizeof(head) - 1, "the head parses"))
		return false;
	k = h2x_request_nv(&rq, true, nv, 16, lbuf, (size_t)n);
	if (!ASSERT_EQ(k, 5, "five fields"))
		return false;
	ok &= nv_eq(&nv[0], ":method", "GET");
	ok &= nv_eq(&nv[1], ":scheme", "https");
	ok &= nv_eq(&nv[2], ":authority", "origin.example:8080");
	ok &= nv_eq(&nv[3], ":path", "/a?b");
	ok &= nv_eq(&nv[4], "x-mixed", "One");
	ok &= ASSERT_EQ(h2x_request_nv(&rq, true, nv, 3, lbuf, (size_t)n), -EMSGSIZE, "max below 4");
	return ok;
}

/* Response heads as long as http.max_head_bytes allows: their names, lowercased, fill a
 * buffer of the head's length exactly, and a smaller buffer is refused, not overrun
 * (h2dn_output's 16 KiB stack buffer was overrun by heads past 16 KiB of names). */
static bool test_long_names(void)
{
	const size_t name_len = 8000, n_fields = 5;
	size_t cap = 64 + n_fields * (name_len + 8), len = 0;
	char *head = malloc(cap), *lbuf, status[4];
	struct h1_response rs;
	nghttp2_nv nv[16];
	bool ok = true;
	int n, k;

	if (!ASSERT_TRUE(head != NULL, "memory"))
		return false;
	len += (size_t)snprintf(head, cap, "HTTP/1.1 200 OK\r\n");
	for (size_t i = 0; i < n_fields; i++) {
		memset(head + len, 'A' + (int)i, name_len);
		len += name_len;
		len += (size_t)snprintf(head + len, cap - len, ": %zu\r\n", i);
	}
	len += (size_t)snprintf(head + len, cap - len, "\r\n");
	n = h1_parse_response(head, len, &big, &rs);
	if (!ASSERT_EQ(n, len, "a 40 kB response head parses")) {
		free(head);
		return false;
	}
	/* exactly n bytes, so that ASan (make SAN=1) sees a write past them */
	lbuf = malloc((size_t)n);
	k = h2x_response_nv(&rs, status, nv, 16, lbuf, (size_t)n);
	ok &= ASSERT_EQ(k, 1 + n_fields, ":status and five fields");
	ok &= nv_eq(&nv[0], ":status", "200");
	for (size_t i = 1; ok && i < (size_t)k; i++)
		ok &= ASSERT_TRUE(nv[i].namelen == name_len && nv[i].name[0] == 'a' + (int)i - 1 &&
				  nv[i].name[name_len - 1] == 'a' + (int)i - 1, "field %zu: name lowercased", i);
	ok &= ASSERT_EQ(h2x_response_nv(&rs, status, nv, 16, lbuf, H1_DEFAULT_MAX_HEAD), -EMSGSIZE,
			"names past the buffer: refused");
	free(lbuf);
	free(head);
	return ok;
}

/* HTTP/2 request fields as an HTTP/1.1 head: Host from :authority, chunked framing for a
 * body without content-length, the forward proxy's absolute form. */
static bool test_req_head(void)
{
	static const char want[] = "POST /up?x HTTP/1.1\r\nhost: origin.example\r\naccept: */*\r\n"
				   "transfer-encoding: chunked\r\n\r\n";
	static const char want_fwd[] = "POST http://origin.example/up?x HTTP/1.1\r\nhost: origin.example\r\n"
				       "accept: */*\r\ncontent-length: 3\r\n\r\n";
	static const char *const f[][2] = { { ":method", "POST" }, { ":scheme", "http" }, { ":authority", "origin.example" },
					    { ":path", "/up?x" }, { "accept", "*/*" } };
	struct h2x_req q = { 0 }, q2 = { 0 };
	struct rxbuf rx = { 0 }, rx2 = { 0 };
	bool ok = true;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		ok &= ASSERT_EQ(h2x_req_field(&q, false, (const uint8_t *)f[i][0], strlen(f[i][0]),
					      (const uint8_t *)f[i][1], strlen(f[i][1])), 0, "field");
		ok &= ASSERT_EQ(h2x_req_field(&q2, false, (const uint8_t *)f[i][0], strlen(f[i][0]),
					      (const uint8_t *)f[i][1], strlen(f[i][1])), 0, "field");
	}
	ok &= ASSERT_EQ(h2x_req_field(&q2, false, (const uint8_t *)"content-length", 14, (const uint8_t *)"3", 1), 0,
			"content-length");
	ok &= ASSERT_EQ(h2x_req_head(&q, &rx, false, false), 0, "head");
	ok &= ASSERT_TRUE(rx.len == sizeof(want) - 1 && !memcmp(rx.p, want, rx.len), "head: %.*s", (int)rx.len, rx.p);
	ok &= ASSERT_TRUE(q.chunked, "chunked framing chosen");
	ok &= ASSERT_EQ(h2x_req_head(&q2, &rx2, true, false), 0, "forward head");
	ok &= ASSERT_TRUE(rx2.len == sizeof(want_fwd) - 1 && !memcmp(rx2.p, want_fwd, rx2.len), "forward head: %.*s",
			  (int)rx2.len, rx2.p);
	ok &= ASSERT_TRUE(!q2.chunked, "content-length: no chunked framing");
	h2x_req_free(&q);
	h2x_req_free(&q2);
	free(rx.p);
	free(rx2.p);
	return ok;
}

/* HTTP/2 response fields as an HTTP/1.1 head: an interim head, then the final one with
 * the framing its end calls for; fields after it are trailers. */
static bool test_resp_head(void)
{
	char want[256];
	struct h2x_resp p = { 0 };
	struct rxbuf rx = { 0 };
	bool ok = true;

#define F(n, v) h2x_resp_field(&p, &rx, (const uint8_t *)n, strlen(n), (const uint8_t *)v, strlen(v))
	ok &= ASSERT_EQ(F(":status", "103"), 0, ":status 103");
	ok &= ASSERT_EQ(F("link", "</a>"), 0, "link");
	ok &= ASSERT_EQ(h2x_resp_head_end(&p, &rx, false, false), 0, "interim end");
	ok &= ASSERT_TRUE(!p.final, "103 is not final");
	ok &= ASSERT_EQ(F(":status", "200"), 0, ":status 200");
	ok &= ASSERT_EQ(F("server", "s"), 0, "server");
	ok &= ASSERT_EQ(h2x_resp_head_end(&p, &rx, false, false), 0, "final end");
	ok &= ASSERT_TRUE(p.final && p.chunked, "final, chunked");
	ok &= ASSERT_EQ(F("x-sum", "7"), 0, "trailer");
#undef F
	/* the reason is h1_reason's, whatever the peer's would have been */
	snprintf(want, sizeof(want), "HTTP/1.1 103 %s\r\nlink: </a>\r\n\r\n"
		 "HTTP/1.1 200 %s\r\nserver: s\r\nTransfer-Encoding: chunked\r\n\r\n", h1_reason(103), h1_reason(200));
	ok &= ASSERT_TRUE(rx.len == strlen(want) && !memcmp(rx.p, want, rx.len), "heads: %.*s", (int)rx.len, rx.p);
	ok &= ASSERT_TRUE(p.trailers.len == 10 && !memcmp(p.trailers.p, "x-sum: 7\r\n", 10),
			  "trailer kept for the chunked end");
	free(p.trailers.p);
	free(rx.p);
	return ok;
}

/* A head of n fields "X-F-i: vi" after first_line (which ends in CRLF); returns its length. */
static int many_fields(char *buf, size_t cap, const char *first_line, int n)
{
	int len = snprintf(buf, cap, "%s", first_line);

	for (int i = 0; i < n; i++)
		len += snprintf(buf + len, cap - (size_t)len, "X-F-%d: v%d\r\n", i, i);
	return len + snprintf(buf + len, cap - (size_t)len, "\r\n");
}

/* What fuzz_h2x found: an HTTP/1.0 request in absolute form without Host, with the 64
 * fields a client may send, goes to HTTP/2 as :authority (from the target) and the 64;
 * back in HTTP/1.1 the authority is a Host field again, 65 in all, which a receiving
 * side with the clients' limit refuses as too large (431: as it refuses :authority and
 * 64 fields from an HTTP/2 client) and the translation's own limit reads whole. */
static bool test_absolute_no_host_64(void)
{
	static char head[4096], lbuf[4096];
	const struct h1_limits cap = { .max_head = 1 << 20, .max_line = 1 << 20, .max_headers = H1_HEADERS_CAP };
	nghttp2_nv nv[H1_HEADERS_CAP + 4];
	struct h1_request rq, back;
	struct h2x_req q = { 0 };
	struct rxbuf rx = { 0 };
	bool ok = true;
	int n = many_fields(head, sizeof(head), "POST http://h:/uphoad HTTP/1.0\r\n", H1_MAX_HEADERS), k;

	if (!ASSERT_EQ(h1_parse_request(head, (size_t)n, &big, &rq), n, "64 fields parse"))
		return false;
	k = h2x_request_nv(&rq, false, nv, H1_HEADERS_CAP + 4, lbuf, (size_t)n);
	if (!ASSERT_EQ(k, 4 + H1_MAX_HEADERS, "pseudo-header fields and 64"))
		return false;
	ok &= nv_eq(&nv[2], ":authority", "h:");
	ok &= nv_eq(&nv[3], ":path", "/uphoad");
	ok &= nv_eq(&nv[4 + 63], "x-f-63", "v63");
	for (int i = 0; i < k; i++)
		ok &= ASSERT_EQ(h2x_req_field(&q, false, nv[i].name, nv[i].namelen, nv[i].value, nv[i].valuelen), 0, "field");
	ok &= ASSERT_EQ(h2x_req_head(&q, &rx, false, true), 0, "head");
	ok &= ASSERT_EQ(h1_parse_request(rx.p, rx.len, &big, &back), -EMSGSIZE, "65 fields: too many for a client");
	ok &= ASSERT_EQ(h1_parse_request(rx.p, rx.len, &cap, &back), (int)rx.len, "within H1_HEADERS_CAP");
	ok &= ASSERT_EQ(back.n_headers, 1 + H1_MAX_HEADERS, "Host and the 64");
	ok &= ASSERT_TRUE(h1_slice_eq(back.headers[0].name, "host") && h1_slice_eq(back.headers[0].value, "h:"),
			  "Host first, from :authority");
	ok &= ASSERT_TRUE(h1_slice_eq(back.target, "/uphoad") && back.version_minor == 1, "origin form, HTTP/1.1");
	h2x_req_free(&q);
	free(rx.p);
	return ok;
}

/* The fields a head has but nv cannot hold refuse the head: a request cut short would
 * say something else (h2x_nv_from_h1 dropped them silently). A head with the fields
 * hermesd adds to a client's 64 (H1_HEADERS_CAP, as h2up.c reads it) fits its nv. */
static bool test_nv_room(void)
{
	static char head[4096], lbuf[4096];
	const struct h1_limits cap = { .max_head = 1 << 20, .max_line = 1 << 20, .max_headers = H1_HEADERS_CAP };
	nghttp2_nv nv[H1_HEADERS_CAP + 4];
	struct h1_request rq;
	bool ok = true;
	int n = many_fields(head, sizeof(head), "GET / HTTP/1.1\r\n", H1_HEADERS_CAP);

	if (!ASSERT_EQ(h1_parse_request(head, (size_t)n, &cap, &rq), n, "80 fields parse with H1_HEADERS_CAP"))
		return false;
	ok &= ASSERT_EQ(h1_parse_request(head, (size_t)n, &big, &rq), -EMSGSIZE, "not with a client's 64");
	ok &= ASSERT_EQ(h1_parse_request(head, (size_t)n, &cap, &rq), n, "parse again");
	ok &= ASSERT_EQ(h2x_request_nv(&rq, false, nv, H1_HEADERS_CAP + 4, lbuf, (size_t)n), 3 + H1_HEADERS_CAP,
			":method, :scheme, :path and the 80 (no authority)");
	ok &= ASSERT_EQ(h2x_request_nv(&rq, false, nv, H1_HEADERS_CAP + 2, lbuf, (size_t)n), -EMSGSIZE,
			"one field short: refused, not cut");
	ok &= ASSERT_EQ(h2x_request_nv(&rq, false, nv, 10, lbuf, (size_t)n), -EMSGSIZE, "ten: refused");
	return ok;
}

/* A content-length body has no trailers (its empty tail is no pointer arithmetic on
 * NULL: UBSan found that in h2x_trailers through fuzz_h2x). */
static bool test_no_trailers(void)
{
	struct h2x_body b = { .mode = H2X_CL, .left = 3 };
	uint8_t out[8];
	nghttp2_nv nv[4];
	size_t used, got;
	bool ok = true;

	ok &= ASSERT_EQ(h2x_body_read(&b, "abcdef", 6, out, sizeof(out), &used, &got), 0, "read");
	ok &= ASSERT_TRUE(b.done && used == 3 && got == 3 && !memcmp(out, "abc", 3), "three bytes, done");
	ok &= ASSERT_EQ(h2x_trailers(&b, nv, 4), 0, "no trailers");
	return ok;
}

int main(void)
{
	RUN(test_request_nv);
	RUN(test_long_names);
	RUN(test_req_head);
	RUN(test_resp_head);
	RUN(test_no_trailers);
	RUN(test_absolute_no_host_64);
	RUN(test_nv_room);
	return check_summary("test_h2x");
}
