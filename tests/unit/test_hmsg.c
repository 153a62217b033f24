/* test_hmsg.c: unit tests (no root) for userspace/hmsg.c, the message heads the http
 * action's codecs hand each other: the encoders (HTTP/1.1 text, field records, nghttp2
 * name/value pairs) and an HTTP/2 request given HTTP/1.1's meaning. Checked: a head
 * written as text parses back the same, records read back the same; RFC 9113 8.3
 * (:authority from Host or an absolute-form target, connection-specific fields dropped,
 * names lowercase, Host from :authority, the forward proxy's absolute form); names
 * longer than any fixed buffer; heads with as many fields as clients may send and
 * hermesd adds to, refused rather than cut; the input fuzz_h2x found (an absolute-form
 * HTTP/1.0 request without Host, with 64 fields). tests/fuzz/fuzz_h2x.c checks the same
 * contracts on random input. Exit 0 when every check passes, 1 otherwise. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "h2x.h"
#include "hmsg.h"
#include "http1.h"

static const struct h1_limits big = { .max_head = 1 << 20, .max_line = 1 << 20, .max_headers = H1_MAX_HEADERS };
static const struct h1_limits cap = { .max_head = 1 << 20, .max_line = 1 << 20, .max_headers = H1_HEADERS_CAP };

static bool nv_eq(const nghttp2_nv *nv, const char *name, const char *value)
{
	return ASSERT_TRUE(nv->namelen == strlen(name) && !memcmp(nv->name, name, nv->namelen) &&
			   nv->valuelen == strlen(value) && !memcmp(nv->value, value, nv->valuelen),
			   "field %.*s: %.*s, want %s: %s", (int)nv->namelen, nv->name, (int)nv->valuelen, nv->value,
			   name, value);
}

/* A parsed request head written again (as hreq.c writes it upstream), text or records. */
static int rewrite_request(const struct hmsg *m, struct hbuf *b, bool rec)
{
	struct hmsg_w w = { .b = b, .rec = rec };

	hmsg_w_request(&w, m->method, m->target);
	for (unsigned i = 0; i < m->n_headers; i++)
		hmsg_w_field(&w, m->headers[i].name.p, m->headers[i].name.len, m->headers[i].value.p,
			     m->headers[i].value.len);
	return hmsg_w_end(&w);
}

/* HTTP/1.1 serialisation: a request and a response head written as text are exactly
 * the HTTP/1.1 heads, and parse back to the same message. */
static bool test_h1_text(void)
{
	static const char req[] = "PUT /a?b HTTP/1.1\r\nHost: h\r\nX-Mixed: One\r\nContent-Length: 3\r\n\r\n";
	static const char resp[] = "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\n";
	struct hmsg m, back;
	struct hbuf b = { 0 };
	struct hmsg_w w = { .b = &b };
	bool ok = true;

	if (!ASSERT_EQ(h1_parse_request(req, sizeof(req) - 1, &big, &m), sizeof(req) - 1, "request parses"))
		return false;
	ok &= ASSERT_TRUE(!m.h2 && m.body == HMSG_BODY_UNSET && !m.authority.len, "an HTTP/1.1 message");
	ok &= ASSERT_EQ(rewrite_request(&m, &b, false), 0, "written");
	ok &= ASSERT_TRUE(b.len == sizeof(req) - 1 && !memcmp(b.p, req, b.len), "request text: %.*s", (int)b.len, b.p);
	ok &= ASSERT_EQ(h1_parse_request(b.p, b.len, &big, &back), (int)b.len, "parses back");
	ok &= ASSERT_TRUE(back.n_headers == 3 && h1_slice_eq(back.headers[1].name, "X-Mixed"), "fields kept as sent");
	b.len = 0;
	hmsg_w_status(&w, 404, (struct h1_slice){ "Not Found", 9 });
	hmsg_w_field(&w, "content-type", 12, "text/plain", 10);
	ok &= ASSERT_EQ(hmsg_w_end(&w), 0, "response written");
	ok &= ASSERT_TRUE(b.len == sizeof(resp) - 1 && !memcmp(b.p, resp, b.len), "response text: %.*s", (int)b.len, b.p);
	free(b.p);
	return ok;
}

/* An HTTP/1.1 request as HTTP/2 fields (h2up.c's path: records, then nv): pseudo-header
 * fields first, names lowercased, connection-specific fields gone, an absolute-form
 * target split. */
static bool test_request_nv(void)
{
	static const char head[] = "GET http://origin.example:8080/a?b HTTP/1.1\r\nConnection: x-hop\r\n"
				   "X-Mixed: One\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n";
	struct hmsg rq, m;
	struct hbuf b = { 0 };
	nghttp2_nv nv[16];
	bool ok = true;
	int n = h1_parse_request(head, sizeof(head) - 1, &big, &rq), k;

	if (!ASSERT_EQ(n, sizeof(head) - 1, "the head parses"))
		return false;
	ok &= ASSERT_EQ(rewrite_request(&rq, &b, true), 0, "records");
	ok &= ASSERT_EQ(hmsg_from_rec(b.p, b.len, &m), (int)b.len, "records read back whole");
	ok &= ASSERT_EQ(hmsg_from_rec(b.p, b.len - 1, &m), 0, "no end mark: not yet");
	hmsg_from_rec(b.p, b.len, &m);
	k = hmsg_h2_request_nv(&m, true, false, nv, 16);
	if (!ASSERT_EQ(k, 5, "five fields")) {
		free(b.p);
		return false;
	}
	ok &= nv_eq(&nv[0], ":method", "GET");
	ok &= nv_eq(&nv[1], ":scheme", "https");
	ok &= nv_eq(&nv[2], ":authority", "origin.example:8080");
	ok &= nv_eq(&nv[3], ":path", "/a?b");
	ok &= nv_eq(&nv[4], "x-mixed", "One");
	ok &= ASSERT_EQ(hmsg_h2_request_nv(&m, true, false, nv, 3), -EMSGSIZE, "max below 4");
	/* to a parent proxy over TLS: the target URI's scheme, not the connection's */
	ok &= ASSERT_EQ(hmsg_h2_request_nv(&m, true, true, nv, 16), 5, "five fields to a parent proxy");
	ok &= nv_eq(&nv[1], ":scheme", "http");
	ok &= nv_eq(&nv[2], ":authority", "origin.example:8080");
	ok &= nv_eq(&nv[3], ":path", "/a?b");
	free(b.p);
	return ok;
}

/* Response heads as long as http.max_head_bytes allows (40 kB of names): written as
 * records, lowercased, and sent as they are (no fixed buffer to overrun). */
static bool test_long_names(void)
{
	const size_t name_len = 8000, n_fields = 5;
	char *name = malloc(name_len), status[4];
	struct hbuf b = { 0 };
	struct hmsg_w w = { .b = &b, .rec = true };
	struct hmsg m;
	nghttp2_nv nv[16];
	bool ok = true;
	int k;

	if (!ASSERT_TRUE(name != NULL, "memory"))
		/* cppcheck-suppress memleak ; ASSERT_TRUE gives back its condition: name is NULL here */
		return false;
	hmsg_w_status(&w, 200, (struct h1_slice){ "OK", 2 });
	for (size_t i = 0; i < n_fields; i++) {
		char v[8];

		memset(name, 'A' + (int)i, name_len);
		snprintf(v, sizeof(v), "%zu", i);
		hmsg_w_field(&w, name, name_len, v, strlen(v));
	}
	ok &= ASSERT_EQ(hmsg_w_end(&w), 0, "written");
	ok &= ASSERT_TRUE(hmsg_from_rec(b.p, b.len, &m) > 0 && m.status == 200 && m.h2, "read back");
	k = hmsg_h2_response_nv(&m, status, nv, 16);
	ok &= ASSERT_EQ(k, 1 + n_fields, ":status and five fields");
	ok &= nv_eq(&nv[0], ":status", "200");
	for (size_t i = 1; ok && i < (size_t)k; i++)
		ok &= ASSERT_TRUE(nv[i].namelen == name_len && nv[i].name[0] == 'a' + (int)i - 1 &&
				  nv[i].name[name_len - 1] == 'a' + (int)i - 1, "field %zu: name lowercased", i);
	free(b.p);
	free(name);
	return ok;
}

/* HTTP/2 request fields as HTTP/1.1 reads them (h2dn.c's path): Host from :authority,
 * first; the forward proxy's absolute form; written as text for an HTTP/1.1 upstream. */
static bool test_h2_request(void)
{
	static const char want[] = "POST /up?x HTTP/1.1\r\nhost: origin.example\r\naccept: */*\r\n\r\n";
	static const char *const f[][2] = { { ":method", "POST" }, { ":scheme", "http" }, { ":authority", "origin.example" },
					    { ":path", "/up?x" }, { "accept", "*/*" } };
	struct hbuf rec = { 0 }, tgt = { 0 }, out = { 0 };
	struct hmsg m;
	bool ok = true;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		ok &= ASSERT_EQ(hmsg_rec(&rec, f[i][0], strlen(f[i][0]), f[i][1], strlen(f[i][1])), 0, "record");
	ok &= ASSERT_EQ(hmsg_rec_end(&rec), 0, "end");
	ok &= ASSERT_EQ(hmsg_from_rec(rec.p, rec.len, &m), (int)rec.len, "read");
	ok &= ASSERT_EQ(hmsg_h2_request(&m, false, &tgt, &big), 0, "as HTTP/1.1");
	ok &= ASSERT_EQ(rewrite_request(&m, &out, false), 0, "text");
	ok &= ASSERT_TRUE(out.len == sizeof(want) - 1 && !memcmp(out.p, want, out.len), "head: %.*s", (int)out.len, out.p);
	hmsg_from_rec(rec.p, rec.len, &m);
	ok &= ASSERT_EQ(hmsg_h2_request(&m, true, &tgt, &big), 0, "forward");
	ok &= ASSERT_TRUE(h1_slice_eq(m.target, "http://origin.example/up?x"), "absolute form: %.*s", (int)m.target.len,
			  m.target.p);
	/* limits as HTTP/1.1 would carry the head */
	hmsg_from_rec(rec.p, rec.len, &m);
	ok &= ASSERT_EQ(hmsg_h2_request(&m, false, &tgt, &(struct h1_limits){ .max_line = 16 }), -ENAMETOOLONG,
			"request line past max_line: 414");
	hmsg_from_rec(rec.p, rec.len, &m);
	ok &= ASSERT_EQ(hmsg_h2_request(&m, false, &tgt, &(struct h1_limits){ .max_head = 40 }), -EMSGSIZE,
			"head past max_head: 431");
	free(rec.p);
	free(tgt.p);
	free(out.p);
	return ok;
}

/* HTTP/2 response heads as records (h2up.c's path): an interim head and the final one,
 * one after the other, each with its status and the standard reason. */
static bool test_resp_heads(void)
{
	struct hbuf rec = { 0 };
	struct hmsg m;
	bool ok = true;
	int n;

	hmsg_rec(&rec, ":status", 7, "103", 3);
	hmsg_rec(&rec, "link", 4, "</a>", 4);
	hmsg_rec_end(&rec);
	hmsg_rec(&rec, ":status", 7, "200", 3);
	hmsg_rec(&rec, "server", 6, "s", 1);
	hmsg_rec_end(&rec);
	n = hmsg_from_rec(rec.p, rec.len, &m);
	ok &= ASSERT_TRUE(n > 0 && m.status == 103 && m.n_headers == 1 && h1_slice_eq(m.headers[0].value, "</a>"),
			  "the interim head");
	ok &= ASSERT_TRUE(h1_slice_eq(m.reason, h1_reason(103)), "its reason");
	ok &= ASSERT_EQ(hmsg_from_rec(rec.p + n, rec.len - (size_t)n, &m), (int)rec.len - n, "the final head");
	ok &= ASSERT_TRUE(m.status == 200 && m.n_headers == 1 && h1_slice_eq(m.headers[0].name, "server"), "200, server");
	rec.len = 0;
	hmsg_rec(&rec, ":status", 7, "2000", 4);
	hmsg_rec_end(&rec);
	ok &= ASSERT_EQ(hmsg_from_rec(rec.p, rec.len, &m), -EMSGSIZE, "a :status of four digits");
	free(rec.p);
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
 * read back as an HTTP/2 request the authority is a Host field again, 65 in all, which
 * the clients' limit refuses as too large (431: as it refuses :authority and 64 fields
 * from an HTTP/2 client) and the translation's own limit reads whole. */
static bool test_absolute_no_host_64(void)
{
	static char head[4096];
	nghttp2_nv nv[H1_HEADERS_CAP + 4];
	struct hmsg rq, m, back;
	struct hbuf b = { 0 }, rec = { 0 }, tgt = { 0 };
	bool ok = true;
	int n = many_fields(head, sizeof(head), "POST http://h:/uphoad HTTP/1.0\r\n", H1_MAX_HEADERS), k;

	if (!ASSERT_EQ(h1_parse_request(head, (size_t)n, &big, &rq), n, "64 fields parse"))
		return false;
	rewrite_request(&rq, &b, true);
	hmsg_from_rec(b.p, b.len, &m);
	k = hmsg_h2_request_nv(&m, false, false, nv, H1_HEADERS_CAP + 4);
	if (!ASSERT_EQ(k, 4 + H1_MAX_HEADERS, "pseudo-header fields and 64")) {
		free(b.p);
		return false;
	}
	ok &= nv_eq(&nv[2], ":authority", "h:");
	ok &= nv_eq(&nv[3], ":path", "/uphoad");
	ok &= nv_eq(&nv[4 + 63], "x-f-63", "v63");
	for (int i = 0; i < k; i++)
		ok &= ASSERT_EQ(hmsg_rec(&rec, nv[i].name, nv[i].namelen, nv[i].value, nv[i].valuelen), 0, "record");
	hmsg_rec_end(&rec);
	hmsg_from_rec(rec.p, rec.len, &back);
	ok &= ASSERT_EQ(hmsg_h2_request(&back, false, &tgt, &big), -EMSGSIZE, "65 fields: too many for a client");
	hmsg_from_rec(rec.p, rec.len, &back);
	ok &= ASSERT_EQ(hmsg_h2_request(&back, false, &tgt, &cap), 0, "within H1_HEADERS_CAP");
	ok &= ASSERT_EQ(back.n_headers, 1 + H1_MAX_HEADERS, "Host and the 64");
	ok &= ASSERT_TRUE(h1_slice_eq(back.headers[0].name, "host") && h1_slice_eq(back.headers[0].value, "h:"),
			  "Host first, from :authority");
	ok &= ASSERT_TRUE(h1_slice_eq(back.target, "/uphoad") && back.version_minor == 1, "origin form, HTTP/1.1");
	free(b.p);
	free(rec.p);
	free(tgt.p);
	return ok;
}

/* The fields a head has but nv cannot hold refuse the head: a request cut short would
 * say something else. A head with the fields hermesd adds to a client's 64
 * (H1_HEADERS_CAP) fits its nv. */
static bool test_nv_room(void)
{
	static char head[4096];
	nghttp2_nv nv[H1_HEADERS_CAP + 4];
	struct hmsg rq;
	bool ok = true;
	int n = many_fields(head, sizeof(head), "GET / HTTP/1.1\r\n", H1_HEADERS_CAP);

	if (!ASSERT_EQ(h1_parse_request(head, (size_t)n, &cap, &rq), n, "80 fields parse with H1_HEADERS_CAP"))
		return false;
	ok &= ASSERT_EQ(h1_parse_request(head, (size_t)n, &big, &rq), -EMSGSIZE, "not with a client's 64");
	ok &= ASSERT_EQ(h1_parse_request(head, (size_t)n, &cap, &rq), n, "parse again");
	ok &= ASSERT_EQ(hmsg_h2_request_nv(&rq, false, false, nv, H1_HEADERS_CAP + 4), 3 + H1_HEADERS_CAP,
			":method, :scheme, :path and the 80 (no authority)");
	ok &= ASSERT_EQ(hmsg_h2_request_nv(&rq, false, false, nv, H1_HEADERS_CAP + 2), -EMSGSIZE,
			"one field short: refused, not cut");
	ok &= ASSERT_EQ(hmsg_h2_request_nv(&rq, false, false, nv, 10), -EMSGSIZE, "ten: refused");
	return ok;
}

int main(void)
{
	RUN(test_h1_text);
	RUN(test_request_nv);
	RUN(test_long_names);
	RUN(test_h2_request);
	RUN(test_resp_heads);
	RUN(test_absolute_no_host_64);
	RUN(test_nv_room);
	return check_summary("test_hmsg");
}
