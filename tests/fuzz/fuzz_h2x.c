/* fuzz_h2x.c: libFuzzer target for the HTTP/1.1 <-> HTTP/2 translation of the http
 * action: message heads (userspace/hmsg.c: HTTP/1.1 text, field records, nghttp2 pairs)
 * and bodies (userspace/h2x.c), the pure functions hreq.c, exch.c, h2up.c and h2dn.c
 * call. The first input byte picks a test, the rest is its material:
 *   0  an HTTP/1.1 request head -> records (as hreq.c writes it for an HTTP/2 upstream)
 *      -> HTTP/2 fields (hmsg_h2_request_nv, as h2up sends them) -> records again (as
 *      h2dn receives them) -> the request HTTP/1.1 reads (hmsg_h2_request) -> HTTP/1.1
 *      text: it parses whole, with the method, the target in origin form (:path), Host
 *      (:authority) first, the other fields in order with names lowercased and the
 *      connection-specific ones gone; or, when Host added from an absolute-form target
 *      makes one field more than the clients' limit, refused as too large;
 *   1  an HTTP/1.1 response head -> records -> fields (hmsg_h2_response_nv, h2dn) ->
 *      records (h2up) -> the message exch.c reads: status kept, the standard reason,
 *      the fields as above;
 *   2  HTTP/2 request fields made from the bytes and kept only as nghttp2 would deliver
 *      them (its own checks of names, values, :method, :path, :authority) -> the
 *      request HTTP/1.1 reads -> HTTP/1.1 text: it parses whole, its target is :path
 *      (or the absolute form of a forward proxy request, or the authority of a
 *      CONNECT), Host is :authority;
 *   3  an HTTP/1.1 body (content-length or chunked) read as DATA (h2x_body_read, in
 *      pieces and into buffers sized by the input) and its trailers (h2x_trailers), then
 *      written back (h2x_chunk/h2x_chunk_end, as hreq.c and exch.c frame an unframed
 *      HTTP/2 body): reading the result again gives the same data and the same trailers.
 * Everything runs under ASan/UBSan/LSan; any broken invariant aborts. Built and run by
 * tests/fuzz/run.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h2x.h"
#include "hmsg.h"
#include "http1.h"
#include "fuzz.h"

#define MAX_NV (H1_MAX_HEADERS + 8)

static const struct h1_limits big = { .max_head = 1 << 20, .max_line = 1 << 20, .max_headers = H1_MAX_HEADERS };
static const struct h1_limits cap = { .max_head = 1 << 20, .max_line = 1 << 20, .max_headers = H1_HEADERS_CAP };

static bool bytes_eq(const void *a, size_t al, const void *b, size_t bl)
{
	return al == bl && (!al || !memcmp(a, b, al));
}

static bool nv_is(const nghttp2_nv *nv, const char *name)
{
	return bytes_eq(nv->name, nv->namelen, name, strlen(name));
}

/* A field of a translated head, to compare with what the source head said. */
struct field {
	const char *name, *value;
	size_t nl, vl;
};

/* The fields of an HTTP/1.1 head (h1 parsed) must be want[0..n) exactly, names
 * compared case-insensitively. */
static void same_fields(const struct h1_header *hs, unsigned nh, const struct field *want, size_t n)
{
	CHECK(nh == n);
	for (size_t i = 0; i < n; i++) {
		CHECK(hs[i].name.len == want[i].nl && !strncasecmp(hs[i].name.p, want[i].name, want[i].nl));
		CHECK(bytes_eq(hs[i].value.p, hs[i].value.len, want[i].value, want[i].vl));
	}
}

/* nv[first..k) are the source head's fields: lowercased, connection-specific ones out. */
static size_t fields_from_h1(const struct h1_header *hs, unsigned nh, const nghttp2_nv *nv, int first, int k)
{
	size_t j = (size_t)first;

	for (unsigned i = 0; i < nh; i++) {
		if (hmsg_conn_specific(hs[i].name.p, hs[i].name.len))
			continue;
		CHECK(j < (size_t)k);
		CHECK(nv[j].namelen == hs[i].name.len && !strncasecmp((const char *)nv[j].name, hs[i].name.p, nv[j].namelen));
		for (size_t c = 0; c < nv[j].namelen; c++)
			CHECK(!(nv[j].name[c] >= 'A' && nv[j].name[c] <= 'Z'));
		CHECK(bytes_eq(nv[j].value, nv[j].valuelen, hs[i].value.p, hs[i].value.len));
		j++;
	}
	CHECK(j == (size_t)k);
	return j;
}

static size_t add_field(struct field *f, size_t n, const void *name, size_t nl, const void *value, size_t vl)
{
	CHECK(n < MAX_NV + 2);
	f[n] = (struct field){ name, value, nl, vl };
	return n + 1;
}

/* A head as records, as hreq.c and exch.c write them (status 0: a request). */
static void to_rec(const struct hmsg *m, struct hbuf *b, bool response)
{
	struct hmsg_w w = { .b = b, .rec = true };

	b->len = 0;
	if (response)
		hmsg_w_status(&w, m->status, m->reason);
	else
		hmsg_w_request(&w, m->method, m->target);
	for (unsigned i = 0; i < m->n_headers; i++)
		hmsg_w_field(&w, m->headers[i].name.p, m->headers[i].name.len, m->headers[i].value.p,
			     m->headers[i].value.len);
	CHECK(hmsg_w_end(&w) == 0);
}

/* nv as nghttp2 delivers them to the other side, as records (h2dn.c, h2up.c). */
static void nv_to_rec(const nghttp2_nv *nv, int k, struct hbuf *b)
{
	b->len = 0;
	for (int i = 0; i < k; i++)
		CHECK(hmsg_rec(b, nv[i].name, nv[i].namelen, nv[i].value, nv[i].valuelen) == 0);
	CHECK(hmsg_rec_end(b) == 0);
}

/* A request head as HTTP/1.1 text (as hreq.c writes it for an HTTP/1.1 upstream). */
static void to_text(const struct hmsg *m, struct hbuf *b)
{
	struct hmsg_w w = { .b = b };

	b->len = 0;
	hmsg_w_request(&w, m->method, m->target);
	for (unsigned i = 0; i < m->n_headers; i++)
		hmsg_w_field(&w, m->headers[i].name.p, m->headers[i].name.len, m->headers[i].value.p,
			     m->headers[i].value.len);
	CHECK(hmsg_w_end(&w) == 0);
}

/* 0: h1 request -> records -> h2 fields -> records -> h1 request. */
static void request_round_trip(const char *buf, size_t len, bool tls)
{
	struct hmsg rq, m, back, two;
	nghttp2_nv nv[MAX_NV];
	struct field want[MAX_NV + 2];
	struct hbuf rec = { 0 }, rec2 = { 0 }, tgt = { 0 }, text = { 0 };
	struct h1_slice target;
	long long cl, cl2;
	bool chunked, chunked2, abs_tls;
	size_t nw = 0, sch;
	int n, k, r, a = -1, first;

	n = h1_parse_request(buf, len, &big, &rq);
	if (n <= 0 || h1_body_framing(rq.headers, rq.n_headers, &cl, &chunked))
		return;
	to_rec(&rq, &rec, false);
	CHECK(hmsg_from_rec(rec.p, rec.len, &m) == (int)rec.len);
	CHECK(m.n_headers == rq.n_headers && bytes_eq(m.method.p, m.method.len, rq.method.p, rq.method.len));
	/* too small an array is refused, never overrun */
	k = hmsg_h2_request_nv(&m, tls, false, nv, 4);
	CHECK(k == -EMSGSIZE || (k >= 3 && k <= 4));
	/* as to a parent proxy: the same fields, :scheme from an absolute target */
	k = hmsg_h2_request_nv(&m, tls, true, nv, MAX_NV);
	CHECK(k >= 3 && k <= MAX_NV && nv_is(&nv[1], ":scheme"));
	k = hmsg_h2_request_nv(&m, tls, false, nv, MAX_NV);
	CHECK(k >= 3 && k <= MAX_NV);
	CHECK(nv_is(&nv[0], ":method") && bytes_eq(nv[0].value, nv[0].valuelen, rq.method.p, rq.method.len));
	CHECK(nv_is(&nv[1], ":scheme") && bytes_eq(nv[1].value, nv[1].valuelen, tls ? "https" : "http", tls ? 5 : 4));
	if (nv_is(&nv[2], ":authority"))
		a = 2;
	first = a < 0 ? 3 : 4;
	CHECK(nv_is(&nv[first - 1], ":path"));
	/* :path is the target, or an absolute-form http:// or https:// target's path */
	target = rq.target;
	if ((sch = h1_abs_scheme(target, &abs_tls))) {
		const char *sl = memchr(target.p + sch, '/', target.len - sch);

		CHECK(bytes_eq(nv[first - 1].value, nv[first - 1].valuelen, sl ? sl : "/",
			       sl ? (size_t)(target.p + target.len - sl) : 1));
		/* without a Host field, the authority is the target's (if it has one) */
		CHECK(a >= 0 || h1_find(rq.headers, rq.n_headers, "Host") || sl == target.p + sch);
	} else {
		CHECK(bytes_eq(nv[first - 1].value, nv[first - 1].valuelen, target.p, target.len));
	}
	if (a >= 0 && h1_find(rq.headers, rq.n_headers, "Host")) {
		const struct h1_header *host = h1_find(rq.headers, rq.n_headers, "Host");

		CHECK(bytes_eq(nv[a].value, nv[a].valuelen, host->value.p, host->value.len));
	}
	fields_from_h1(rq.headers, rq.n_headers, nv, first, k);

	/* the other side: the fields as records, read as HTTP/1.1 reads a request */
	nv_to_rec(nv, k, &rec2);
	CHECK(hmsg_from_rec(rec2.p, rec2.len, &back) == (int)rec2.len);
	r = hmsg_h2_request(&back, false, &tgt, &big);
	if (a >= 0)
		nw = add_field(want, nw, "host", 4, nv[a].value, nv[a].valuelen);
	for (int i = first; i < k; i++)
		nw = add_field(want, nw, nv[i].name, nv[i].namelen, nv[i].value, nv[i].valuelen);
	/* a request without Host whose authority is in its absolute-form target gains a
	 * Host field on the way back (:authority -> Host, RFC 9113 8.3.1, which HTTP/1.1
	 * requires): with 64 other fields, one more than the clients' 64 allow. It is
	 * refused (431), as an HTTP/2 request of :authority and 64 fields and an HTTP/1.1
	 * one of Host and 64 are (hermesd's own h2up never sends a head without Host:
	 * hreq.c adds one) */
	if (nw > H1_MAX_HEADERS) {
		CHECK(a >= 0 && !h1_find(rq.headers, rq.n_headers, "Host"));
		CHECK(r == -EMSGSIZE);
		goto out;
	}
	CHECK(r == 0);
	to_text(&back, &text);
	r = h1_parse_request(text.p, text.len, &cap, &two);
	if (r != (int)text.len) {
		fprintf(stderr, "translated head does not parse (%d):\n%.*s\n", r, (int)text.len, text.p);
		CHECK(!"the translated request head parses whole");
	}
	CHECK(bytes_eq(two.method.p, two.method.len, rq.method.p, rq.method.len));
	CHECK(bytes_eq(two.target.p, two.target.len, nv[first - 1].value, nv[first - 1].valuelen));
	CHECK(two.version_minor == 1);
	same_fields(two.headers, two.n_headers, want, nw);
	CHECK(h1_body_framing(two.headers, two.n_headers, &cl2, &chunked2) == 0);
	CHECK(!chunked2 && cl2 == cl); /* transfer-encoding does not cross; hreq.c adds it */
out:
	free(rec.p);
	free(rec2.p);
	free(tgt.p);
	free(text.p);
}

/* 1: h1 response -> records -> h2 fields -> records -> the message exch.c reads. */
static void response_round_trip(const char *buf, size_t len)
{
	struct hmsg rs, m, back;
	nghttp2_nv nv[MAX_NV];
	struct field want[MAX_NV + 2];
	struct hbuf rec = { 0 }, rec2 = { 0 };
	char status[4];
	size_t nw = 0;
	int n, k;

	n = h1_parse_response(buf, len, &big, &rs);
	if (n <= 0)
		return;
	to_rec(&rs, &rec, true);
	CHECK(hmsg_from_rec(rec.p, rec.len, &m) == (int)rec.len);
	CHECK(m.status == rs.status && m.n_headers == rs.n_headers);
	k = hmsg_h2_response_nv(&m, status, nv, 1);
	CHECK(k == -EMSGSIZE || k == 1);
	k = hmsg_h2_response_nv(&m, status, nv, MAX_NV);
	CHECK(k >= 1 && k <= MAX_NV);
	CHECK(nv_is(&nv[0], ":status") && nv[0].valuelen == 3 && atoi((const char *)status) == rs.status);
	fields_from_h1(rs.headers, rs.n_headers, nv, 1, k);

	nv_to_rec(nv, k, &rec2);
	CHECK(hmsg_from_rec(rec2.p, rec2.len, &back) == (int)rec2.len);
	for (int i = 1; i < k; i++)
		nw = add_field(want, nw, nv[i].name, nv[i].namelen, nv[i].value, nv[i].valuelen);
	CHECK(back.status == rs.status && back.version_minor == 1 && back.h2);
	CHECK(h1_slice_eq(back.reason, h1_reason(rs.status)));
	same_fields(back.headers, back.n_headers, want, nw);
	free(rec.p);
	free(rec2.p);
}

/* The next 0-separated token of [*p, end). */
static bool token(const char **p, const char *end, const char **t, size_t *tl)
{
	const char *z;

	if (*p >= end)
		return false;
	z = memchr(*p, 0, (size_t)(end - *p));
	*t = *p;
	*tl = (size_t)((z ? z : end) - *p);
	*p = z ? z + 1 : end;
	return true;
}

static bool is_scheme(const char *s, size_t n)
{
	if (!n || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') && !(s[i] >= '0' && s[i] <= '9') && !strchr("+-.", s[i]))
			return false;
	return true;
}

/* What an HTTP/1.1 request target holds: VCHAR. */
static bool target_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool digits(const char *s, size_t n)
{
	if (!n || n > 18)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* 2: h2 request fields (as nghttp2 lets them through) -> h1 request head. Tokens: the
 * method, path, authority and scheme (empty: absent), then name/value pairs. */
static void h2_request(const char *buf, size_t len, bool fwd, bool end_stream)
{
	static const char *const pseudo[] = { ":method", ":path", ":authority", ":scheme" };
	const char *p = buf, *end = buf + len, *ps[4] = { 0 }, *name, *value;
	size_t pl[4] = { 0 }, nl, vl, nw = 0;
	struct field want[MAX_NV + 2];
	struct hbuf rec = { 0 }, tgt = { 0 }, rx = { 0 };
	struct hmsg m, back;
	bool connect, has_cl = false, has_host = false;
	char tbuf[512];
	size_t tl = 0;
	int r;

	for (int i = 0; i < 4; i++)
		if (!token(&p, end, &ps[i], &pl[i]))
			return;
	/* nghttp2's checks of the request's pseudo-header fields (RFC 9113 8.3.1) */
	if (!pl[0] || !nghttp2_check_method((const uint8_t *)ps[0], pl[0]))
		return;
	connect = bytes_eq(ps[0], pl[0], "CONNECT", 7);
	if (pl[2] && !nghttp2_check_authority((const uint8_t *)ps[2], pl[2]))
		return;
	if (connect) {
		if (pl[1] || pl[3] || !pl[2])
			return;
	} else {
		if (!pl[1] || !pl[3] || !nghttp2_check_path((const uint8_t *)ps[1], pl[1]) || !is_scheme(ps[3], pl[3]))
			return;
		if (ps[1][0] != '/' && !(pl[1] == 1 && ps[1][0] == '*' && bytes_eq(ps[0], pl[0], "OPTIONS", 7)))
			return;
	}
	if (pl[0] + pl[1] + pl[2] + pl[3] + 8 > sizeof(tbuf))
		return;
	for (int i = 0; i < 4; i++)
		if (pl[i])
			CHECK(hmsg_rec(&rec, pseudo[i], strlen(pseudo[i]), ps[i], pl[i]) == 0);
	while (nw < H1_MAX_HEADERS - 4 && token(&p, end, &name, &nl) && token(&p, end, &value, &vl)) {
		if (!nghttp2_check_header_name((const uint8_t *)name, nl) || name[0] == ':' ||
		    !nghttp2_check_header_value_rfc9113((const uint8_t *)value, vl))
			continue;
		/* nghttp2 refuses connection-specific fields but host and "te: trailers", and
		 * checks content-length */
		if (hmsg_conn_specific(name, nl) && !(nl == 4 && !memcmp(name, "host", 4)) &&
		    !(nl == 2 && !memcmp(name, "te", 2) && bytes_eq(value, vl, "trailers", 8)))
			continue;
		if (nl == 14 && !memcmp(name, "content-length", 14)) {
			if (has_cl || !digits(value, vl))
				continue;
			has_cl = true;
		}
		if (nl == 4 && !memcmp(name, "host", 4)) {
			if (has_host)
				continue;
			has_host = true;
		}
		CHECK(hmsg_rec(&rec, name, nl, value, vl) == 0);
		nw = add_field(want, nw, name, nl, value, vl);
	}
	CHECK(hmsg_rec_end(&rec) == 0);
	CHECK(hmsg_from_rec(rec.p, rec.len, &m) == (int)rec.len);
	CHECK(hmsg_h2_request(&m, fwd, &tgt, &big) == 0);
	to_text(&m, &rx);
	r = h1_parse_request(rx.p, rx.len, &big, &back);
	/* nghttp2 lets obs-text (bytes >= 0x80) through in :path and :authority, which an
	 * HTTP/1.1 request target cannot hold: such a request is refused (400), as from an
	 * HTTP/1.1 client, never read as something else */
	if (!target_chars(ps[1], pl[1]) || !target_chars(ps[2], pl[2])) {
		CHECK(r == -EBADMSG);
		goto out;
	}
	if (r != (int)rx.len) {
		fprintf(stderr, "translated head does not parse (%d):\n%.*s\n", r, (int)rx.len, rx.p);
		CHECK(!"the translated request head parses whole");
	}
	CHECK(bytes_eq(back.method.p, back.method.len, ps[0], pl[0]));
	if (fwd && pl[3] && pl[2]) {
		memcpy(tbuf, ps[3], pl[3]);
		memcpy(tbuf + pl[3], "://", 3);
		memcpy(tbuf + pl[3] + 3, ps[2], pl[2]);
		tl = pl[3] + 3 + pl[2];
		if (!(pl[1] == 1 && ps[1][0] == '*')) {
			memcpy(tbuf + tl, ps[1], pl[1]);
			tl += pl[1];
		}
		CHECK(bytes_eq(back.target.p, back.target.len, tbuf, tl));
	} else {
		CHECK(bytes_eq(back.target.p, back.target.len, connect ? ps[2] : ps[1], connect ? pl[2] : pl[1]));
	}
	/* Host from :authority first, unless a host field came */
	if (!has_host && pl[2]) {
		memmove(want + 1, want, nw * sizeof(want[0]));
		want[0] = (struct field){ "host", ps[2], 4, pl[2] };
		nw++;
	}
	(void)end_stream; /* the body's framing is hreq.c's to add */
	same_fields(back.headers, back.n_headers, want, nw);
out:
	free(rec.p);
	free(tgt.p);
	free(rx.p);
}

/* A body's data and trailers as DATA and a trailing HEADERS: h2x_body_read from src in
 * pieces of `piece` bytes into buffers of `cap`. Returns 0 when the body is whole,
 * 1 when the bytes ended first, or the error. */
static int read_body(struct h2x_body *b, const char *src, size_t n, size_t piece, size_t cap, struct hbuf *data,
		     struct hbuf *trailers, struct hbuf *trec)
{
	uint8_t out[300];
	size_t off = 0, used, got;
	nghttp2_nv nv[H1_MAX_HEADERS];
	size_t k;
	int guard = 0;

	CHECK(cap <= sizeof(out));
	while (!b->done && off < n) {
		size_t avail = n - off < piece ? n - off : piece;
		int r = h2x_body_read(b, src + off, avail, out, cap, &used, &got);

		if (r)
			return r;
		CHECK(used <= avail && got <= cap && got <= used);
		CHECK(used || got || b->done);
		CHECK(hb_put(data, out, got) == 0);
		off += used;
		CHECK(++guard < 1 << 20);
	}
	if (!b->done)
		return 1;
	k = h2x_trailers(b, nv, H1_MAX_HEADERS);
	CHECK(k <= H1_MAX_HEADERS);
	for (size_t i = 0; i < k; i++) {
		CHECK(!hmsg_conn_specific((const char *)nv[i].name, nv[i].namelen));
		CHECK(hb_put(trailers, nv[i].name, nv[i].namelen) == 0);
		CHECK(hb_put(trailers, ": ", 2) == 0);
		CHECK(hb_put(trailers, nv[i].value, nv[i].valuelen) == 0);
		CHECK(hb_put(trailers, "\r\n", 2) == 0);
		CHECK(hmsg_rec(trec, nv[i].name, nv[i].namelen, nv[i].value, nv[i].valuelen) == 0);
	}
	CHECK(hmsg_rec_end(trec) == 0);
	return 0;
}

/* 3: an h1 body -> DATA + trailers -> an h1 body, read again the same. */
static void body_round_trip(const char *buf, size_t len, const uint8_t *ctl)
{
	struct h2x_body b = { 0 }, b2 = { 0 };
	struct hbuf data = { 0 }, trailers = { 0 }, data2 = { 0 }, trailers2 = { 0 }, trec = { 0 }, trec2 = { 0 };
	struct hbuf rx = { 0 };
	struct hmsg t;
	bool chunked = ctl[0] & 1;
	size_t piece = 1 + ctl[1] % 64, cap = 1 + ctl[2] % 300, off = 0;
	int r;

	b.mode = chunked ? H2X_CHUNKED : H2X_CL;
	b.left = chunked ? 0 : ctl[3] % 200;
	b.done = !chunked && !b.left;
	r = read_body(&b, buf, len, piece, cap, &data, &trailers, &trec);
	CHECK(r == 0 || r == 1 || r == -EBADMSG || r == -EMSGSIZE);
	if (r)
		goto out;
	if (!chunked)
		CHECK(bytes_eq(data.p, data.len, buf, (size_t)(ctl[3] % 200)));
	/* written back as an HTTP/1.1 body from DATA payloads of varied sizes: chunks and
	 * the trailers as exch.c and hreq.c write them, or the bytes as they are */
	while (off < data.len) {
		size_t n = data.len - off < cap ? data.len - off : cap;

		CHECK((chunked ? h2x_chunk(&rx, data.p + off, n) : hb_put(&rx, data.p + off, n)) == 0);
		off += n;
	}
	if (chunked) {
		CHECK(hmsg_from_rec(trec.p, trec.len, &t) == (int)trec.len);
		CHECK(h2x_chunk_end(&rx, &t) == 0);
	}
	b2.mode = b.mode;
	b2.left = chunked ? 0 : (long long)data.len;
	b2.done = !chunked && !b2.left;
	r = read_body(&b2, rx.p, rx.len, piece, cap, &data2, &trailers2, &trec2);
	if (r) {
		fprintf(stderr, "the rebuilt body does not read (%d):\n%.*s\n", r, (int)rx.len, rx.p);
		CHECK(!"the rebuilt body reads");
	}
	CHECK(bytes_eq(data.p, data.len, data2.p, data2.len));
	CHECK(bytes_eq(trailers.p, trailers.len, trailers2.p, trailers2.len));
out:
	free(b.tail.p);
	free(b2.tail.p);
	free(data.p);
	free(trailers.p);
	free(data2.p);
	free(trailers2.p);
	free(trec.p);
	free(trec2.p);
	free(rx.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf;
	char *copy;
	size_t len;

	if (size < 5)
		return 0;
	/* the material in an allocation of its exact size: ASan sees any read past it */
	len = size - 5;
	copy = malloc(len ? len : 1);
	CHECK(copy != NULL);
	memcpy(copy, data + 5, len);
	buf = copy;
	switch (data[0] % 4) {
	case 0:
		request_round_trip(buf, len, data[1] & 1);
		break;
	case 1:
		response_round_trip(buf, len);
		break;
	case 2:
		h2_request(buf, len, data[1] & 1, data[1] & 2);
		break;
	default:
		body_round_trip(buf, len, data + 1);
		break;
	}
	free(copy);
	return 0;
}
