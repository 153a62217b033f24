/* fuzz_http1.c: libFuzzer target for the HTTP/1.1 head parser (userspace/http1.c).
 * Feeds arbitrary bytes to h1_parse_request and h1_parse_response under three sets of
 * limits, in one piece and as every prefix of the first 256 bytes, and aborts when an
 * invariant breaks:
 *   - the return value is the head length (<= len, <= max_head, ending in CRLF CRLF),
 *     0 only while len < max_head, or one of the documented errors;
 *   - every slice lies inside the head, and holds only what the grammar allows there;
 *   - incremental feeding gives what one piece gives: a prefix yields 0 or exactly the
 *     whole buffer's result (same length, same slices by offset). Any way of splitting
 *     the bytes across calls is a sequence of prefixes, so this covers them all;
 *   - h1_body_framing, h1_find and h1_parse_authority on the result keep their contracts;
 *   - h1_chunked_parse on the same bytes gives the same result fed whole or byte by byte.
 * Built and run by tests/fuzz/run.sh. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http1.h"
#include "fuzz.h"

#define SPLIT_MAX 256

/* A parse result with slices as offsets from the buffer start, so that results from
 * different buffers (a prefix copy and the whole input) compare with memcmp. */
/* compared with memcmp: no padding (the four ints first) */
struct outcome {
	int r;
	int minor, status;
	unsigned n;
	size_t off[3], len[3]; /* method, target, reason */
	size_t name_off[H1_HEADERS_CAP], name_len[H1_HEADERS_CAP];
	size_t val_off[H1_HEADERS_CAP], val_len[H1_HEADERS_CAP];
};

static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* field-vchar: VCHAR or obs-text. */
static bool fvchar(unsigned char c)
{
	return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

/* The slice lies inside buf[0..head) and returns its offset. */
static size_t inside(struct h1_slice s, const char *buf, int head)
{
	CHECK(s.p != NULL);
	CHECK(s.p >= buf);
	CHECK((size_t)(s.p - buf) <= (size_t)head);
	CHECK(s.len <= (size_t)head - (size_t)(s.p - buf));
	return s.p - buf;
}

static void check_headers(const char *buf, int r, const struct h1_header *hs, unsigned n, unsigned max_headers,
			  struct outcome *o)
{
	long long cl = -2;
	bool chunked = false;
	unsigned i;
	size_t k;
	int fr;

	CHECK(n <= max_headers && n <= H1_HEADERS_CAP);
	o->n = n;
	for (i = 0; i < n; i++) {
		const struct h1_header *f;

		o->name_off[i] = inside(hs[i].name, buf, r);
		o->name_len[i] = hs[i].name.len;
		o->val_off[i] = inside(hs[i].value, buf, r);
		o->val_len[i] = hs[i].value.len;
		CHECK(hs[i].name.len > 0);
		for (k = 0; k < hs[i].name.len; k++)
			CHECK(tchar(hs[i].name.p[k]));
		/* The colon follows the name directly; fields come in order. */
		CHECK(hs[i].name.p[hs[i].name.len] == ':');
		CHECK(hs[i].value.p >= hs[i].name.p + hs[i].name.len + 1);
		CHECK(i == 0 || hs[i].name.p > hs[i - 1].value.p);
		if (hs[i].value.len) {
			CHECK(!ws(hs[i].value.p[0]) && !ws(hs[i].value.p[hs[i].value.len - 1]));
			for (k = 0; k < hs[i].value.len; k++)
				CHECK(fvchar(hs[i].value.p[k]) || ws(hs[i].value.p[k]));
		}
		f = h1_find(hs, n, "");
		CHECK(f == NULL);
		/* h1_find needs a C string: names are tokens, so no NUL inside. */
		{
			char name[256];

			if (hs[i].name.len < sizeof(name)) {
				memcpy(name, hs[i].name.p, hs[i].name.len);
				name[hs[i].name.len] = 0;
				f = h1_find(hs, n, name);
				CHECK(f != NULL && f <= &hs[i]);
				CHECK(f->name.len == hs[i].name.len && !strncasecmp(f->name.p, name, f->name.len));
			}
		}
	}
	fr = h1_body_framing(hs, n, &cl, &chunked);
	CHECK(fr == 0 || fr == -EBADMSG);
	if (fr == 0)
		CHECK(cl >= -1 && !(chunked && cl >= 0));
}

static void parse(bool response, const char *buf, size_t len, const struct h1_limits *lim, struct outcome *o)
{
	static struct h1_request rq;
	static struct h1_response rs;
	size_t max_head = lim && lim->max_head ? lim->max_head : H1_DEFAULT_MAX_HEAD;
	unsigned max_headers = lim && lim->max_headers ? lim->max_headers : H1_DEFAULT_MAX_HEADERS;
	int r;

	if (max_headers > H1_HEADERS_CAP)
		max_headers = H1_HEADERS_CAP;
	memset(o, 0, sizeof(*o));
	r = response ? h1_parse_response(buf, len, lim, &rs) : h1_parse_request(buf, len, lim, &rq);
	o->r = r;
	if (r == 0) {
		CHECK(len < max_head);
		return;
	}
	if (r < 0) {
		CHECK(r == -EBADMSG || r == -EMSGSIZE || r == -ENOTSUP || (!response && r == -ENAMETOOLONG));
		return;
	}
	CHECK((size_t)r <= len && (size_t)r <= max_head);
	CHECK(r >= 4 && !memcmp(buf + r - 4, "\r\n\r\n", 4));
	if (response) {
		o->status = rs.status;
		o->minor = rs.version_minor;
		o->off[2] = inside(rs.reason, buf, r);
		o->len[2] = rs.reason.len;
		CHECK(rs.status >= 100 && rs.status <= 999);
		CHECK(rs.version_minor == 0 || rs.version_minor == 1);
		CHECK(!memcmp(buf, "HTTP/1.", 7));
		for (size_t k = 0; k < rs.reason.len; k++)
			CHECK(fvchar(rs.reason.p[k]) || ws(rs.reason.p[k]));
		check_headers(buf, r, rs.headers, rs.n_headers, max_headers, o);
	} else {
		struct sockaddr_storage ss;
		socklen_t sl = 0;
		int ar;

		o->minor = rq.version_minor;
		o->off[0] = inside(rq.method, buf, r);
		o->len[0] = rq.method.len;
		o->off[1] = inside(rq.target, buf, r);
		o->len[1] = rq.target.len;
		CHECK(rq.version_minor == 0 || rq.version_minor == 1);
		CHECK(rq.method.len > 0 && rq.target.len > 0);
		for (size_t k = 0; k < rq.method.len; k++)
			CHECK(tchar(rq.method.p[k]));
		CHECK(rq.method.p[rq.method.len] == ' ' && rq.method.p + rq.method.len + 1 == rq.target.p);
		for (size_t k = 0; k < rq.target.len; k++)
			CHECK(rq.target.p[k] > 0x20 && rq.target.p[k] < 0x7f);
		CHECK(!memcmp(rq.target.p + rq.target.len, " HTTP/1.", 8));
		ar = h1_parse_authority(rq.target, &ss, &sl);
		CHECK(ar == 0 || ar == -EINVAL);
		if (ar == 0)
			CHECK((ss.ss_family == AF_INET && sl == sizeof(struct sockaddr_in)) ||
			      (ss.ss_family == AF_INET6 && sl == sizeof(struct sockaddr_in6)));
		check_headers(buf, r, rq.headers, rq.n_headers, max_headers, o);
	}
}

/* The whole input, then every prefix of its first SPLIT_MAX bytes, each in an
 * allocation of its exact size so that ASan sees any read past len. */
static void run(bool response, const char *data, size_t size, const struct h1_limits *lim)
{
	static struct outcome whole, part, again;
	size_t k, kmax = size < SPLIT_MAX ? size : SPLIT_MAX;

	parse(response, data, size, lim, &whole);
	parse(response, data, size, lim, &again);
	CHECK(!memcmp(&whole, &again, sizeof(whole)));
	for (k = 0; k <= kmax; k++) {
		char *copy = malloc(k ? k : 1);

		CHECK(copy != NULL);
		memcpy(copy, data, k);
		parse(response, copy, k, lim, &part);
		free(copy);
		/* First call with k bytes; if it asked for more, the second call is the
		 * whole buffer, i.e. `whole`. Either way the caller ends up with `whole`. */
		if (part.r != 0)
			CHECK(!memcmp(&part, &whole, sizeof(whole)));
		/* A prefix holding the complete head has all it needs. */
		if (whole.r > 0 && k >= (size_t)whole.r)
			CHECK(part.r == whole.r);
	}
}

/* The chunked body parser: fed in one piece and in pieces of `step` bytes, the result
 * (error, or body length and its data bytes) is the same; consumed runs stay in bounds. */
static long chunked_feed(const char *buf, size_t len, size_t step, const struct h1_limits *lim, uint64_t *sum,
			 size_t *dlen)
{
	struct h1_chunked ck = { 0 };
	size_t off = 0;

	*sum = 0;
	*dlen = 0;
	while (off < len && !ck.done) {
		size_t n = len - off < step ? len - off : step;
		bool is_data;
		long r = h1_chunked_parse(&ck, buf + off, n, lim, &is_data);

		if (r < 0) {
			CHECK(r == -EBADMSG || r == -EMSGSIZE);
			return r;
		}
		CHECK(r > 0 && (size_t)r <= n);
		if (is_data)
			for (long i = 0; i < r; i++) {
				*sum = *sum * 31 + (unsigned char)buf[off + i];
				(*dlen)++;
			}
		off += (size_t)r;
	}
	return ck.done ? (long)off : 0;
}

static void run_chunked(const char *buf, size_t len, const struct h1_limits *lim)
{
	uint64_t s1, s2;
	size_t d1, d2;
	long whole = chunked_feed(buf, len, len ? len : 1, lim, &s1, &d1);
	long bytes = chunked_feed(buf, len, 1, lim, &s2, &d2);

	CHECK(whole == bytes);
	if (whole >= 0) {
		CHECK(s1 == s2 && d1 == d2);
		/* a complete body ends in CRLF */
		CHECK(!whole || (whole >= 5 && buf[whole - 1] == '\n' && buf[whole - 2] == '\r'));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Defaults; small limits so the fuzzer reaches every limit; and limits taken from
	 * the input's last two bytes (usually past the head, so they rarely change how
	 * it parses), down to a 1-byte line limit and heads shorter than the input. */
	static const struct h1_limits small = { .max_head = 200, .max_line = 40, .max_headers = 4 };
	unsigned b1 = size ? data[size - 1] : 0, b2 = size > 1 ? data[size - 2] : 0;
	struct h1_limits varied = {
		.max_head = 1 + (b2 << 8 | b1) % 600,
		.max_line = 1 + b1 % 90,
		.max_headers = 1 + b2 % 8,
	};
	const char *buf = (const char *)data;

	run(false, buf, size, NULL);
	run(true, buf, size, NULL);
	run(false, buf, size, &small);
	run(true, buf, size, &small);
	run(false, buf, size, &varied);
	run(true, buf, size, &varied);
	run_chunked(buf, size, NULL);
	run_chunked(buf, size, &small);
	return 0;
}
