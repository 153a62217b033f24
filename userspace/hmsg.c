/* hmsg.c: HTTP message heads between the http action's codecs and its exchange logic:
 * heads written as HTTP/1.1 text or as field records, records read back into a struct
 * hmsg, an HTTP/2 request given HTTP/1.1's meaning (RFC 9113 8.3.1), and heads turned
 * into nghttp2 name/value pairs (RFC 9113 8.2, 8.3). See hmsg.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "h2x.h"
#include "hmsg.h"
#include "http1.h"

/* ---- writing ---- */

static void w_put(struct hmsg_w *w, const void *p, size_t n)
{
	if (!w->err && hb_put(w->b, p, n))
		w->err = -ENOMEM;
}

/* A record, its name lowercased (HTTP/2's case; HTTP/1.1 names are case-insensitive). */
static void w_rec(struct hmsg_w *w, const char *name, size_t nl, const char *value, size_t vl)
{
	size_t at = w->b->len;

	w_put(w, name, nl);
	if (w->err)
		return;
	for (char *c = w->b->p + at, *e = c + nl; c < e; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	w_put(w, "", 1);
	w_put(w, value, vl);
	w_put(w, "", 1);
}

void hmsg_w_request(struct hmsg_w *w, struct h1_slice method, struct h1_slice target)
{
	if (w->rec) {
		w_rec(w, ":method", 7, method.p, method.len);
		w_rec(w, ":path", 5, target.p, target.len);
		return;
	}
	w_put(w, method.p, method.len);
	w_put(w, " ", 1);
	w_put(w, target.p, target.len);
	w_put(w, " HTTP/1.1\r\n", 11);
}

void hmsg_w_status(struct hmsg_w *w, int status, struct h1_slice reason)
{
	char d[3] = { (char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10), (char)('0' + status % 10) };

	if (w->rec) {
		w_rec(w, ":status", 7, d, 3);
		return;
	}
	w_put(w, "HTTP/1.1 ", 9);
	w_put(w, d, 3);
	w_put(w, " ", 1);
	w_put(w, reason.p, reason.len);
	w_put(w, "\r\n", 2);
}

void hmsg_w_field(struct hmsg_w *w, const char *name, size_t nl, const char *value, size_t vl)
{
	if (w->rec) {
		w_rec(w, name, nl, value, vl);
		return;
	}
	w_put(w, name, nl);
	w_put(w, ": ", 2);
	w_put(w, value, vl);
	w_put(w, "\r\n", 2);
}

int hmsg_w_end(struct hmsg_w *w)
{
	w_put(w, w->rec ? "\0" : "\r\n", 2);
	return w->err;
}

/* ---- records ---- */

int hmsg_rec(struct hbuf *b, const void *name, size_t nl, const void *value, size_t vl)
{
	int err = 0;

	err |= hb_put(b, name, nl);
	err |= hb_put(b, "", 1);
	err |= hb_put(b, value, vl);
	err |= hb_put(b, "", 1);
	return err ? -ENOMEM : 0;
}

int hmsg_rec_end(struct hbuf *b)
{
	return hb_put(b, "\0", 2);
}

static bool is_name(struct h1_slice n, const char *s, size_t sl)
{
	return n.len == sl && !memcmp(n.p, s, sl);
}

int hmsg_from_rec(const char *p, size_t len, struct hmsg *m)
{
	const char *at = p, *end = p + len;

	memset(m, 0, offsetof(struct hmsg, headers));
	m->n_headers = 0;
	if (!len)
		return 0; /* (an empty buffer may have no memory at all) */
	m->h2 = true;
	m->version_minor = 1;
	m->length = -1;
	for (;;) {
		const char *nz = memchr(at, 0, (size_t)(end - at)), *vz;
		struct h1_slice name, value;

		if (!nz || !(vz = memchr(nz + 1, 0, (size_t)(end - nz - 1))))
			return 0;
		name = (struct h1_slice){ at, (size_t)(nz - at) };
		value = (struct h1_slice){ nz + 1, (size_t)(vz - nz - 1) };
		at = vz + 1;
		if (!name.len)
			return (int)(at - p);
		if (name.p[0] != ':') {
			if (m->n_headers == H1_HEADERS_CAP)
				return -EMSGSIZE;
			m->headers[m->n_headers++] = (struct h1_header){ name, value };
		} else if (is_name(name, ":method", 7)) {
			m->method = value;
		} else if (is_name(name, ":path", 5)) {
			m->target = value;
		} else if (is_name(name, ":scheme", 7)) {
			m->scheme = value;
		} else if (is_name(name, ":authority", 10)) {
			m->authority = value;
		} else if (is_name(name, ":status", 7)) {
			if (value.len != 3 || value.p[0] < '1' || value.p[0] > '9' || value.p[1] < '0' || value.p[1] > '9' ||
			    value.p[2] < '0' || value.p[2] > '9')
				return -EMSGSIZE;
			m->status = (value.p[0] - '0') * 100 + (value.p[1] - '0') * 10 + (value.p[2] - '0');
			m->reason.p = h1_reason(m->status);
			m->reason.len = strlen(m->reason.p);
		}
	}
}

int hmsg_h2_request(struct hmsg *m, bool fwd, struct hbuf *tgt, const struct h1_limits *lim)
{
	struct h1_slice path = m->target, auth = m->authority;
	size_t max_head = lim && lim->max_head ? lim->max_head : H1_DEFAULT_MAX_HEAD;
	size_t max_line = lim && lim->max_line ? lim->max_line : H1_DEFAULT_MAX_LINE;
	unsigned max_headers = lim && lim->max_headers ? lim->max_headers : H1_DEFAULT_MAX_HEADERS;
	size_t head;

	if (!m->method.len)
		m->method = (struct h1_slice){ "GET", 3 };
	if (fwd && m->scheme.len && auth.len) {
		int err = 0;

		tgt->len = 0;
		err |= hb_put(tgt, m->scheme.p, m->scheme.len);
		err |= hb_put(tgt, "://", 3);
		err |= hb_put(tgt, auth.p, auth.len);
		/* OPTIONS * goes on as the authority alone, as in HTTP/1.1 (RFC 9112 3.2.4) */
		if (path.len && !(path.len == 1 && path.p[0] == '*'))
			err |= hb_put(tgt, path.p, path.len);
		if (err)
			return -ENOMEM;
		m->target = (struct h1_slice){ tgt->p, tgt->len };
	} else if (!path.len) {
		m->target = auth.len ? auth : (struct h1_slice){ "/", 1 }; /* CONNECT: refused with 405 */
	}
	if (auth.len && !h1_find(m->headers, m->n_headers, "host")) {
		if (m->n_headers == H1_HEADERS_CAP)
			return -EMSGSIZE;
		memmove(m->headers + 1, m->headers, m->n_headers * sizeof(m->headers[0]));
		m->headers[0] = (struct h1_header){ { "host", 4 }, auth };
		m->n_headers++;
	}
	if (m->n_headers > max_headers)
		return -EMSGSIZE;
	head = m->method.len + 1 + m->target.len + 9;
	if (head > max_line)
		return -ENAMETOOLONG;
	head += 2;
	for (unsigned i = 0; i < m->n_headers; i++) {
		size_t line = m->headers[i].name.len + 2 + m->headers[i].value.len;

		if (line > max_line)
			return -EMSGSIZE;
		head += line + 2;
	}
	return head + 2 > max_head ? -EMSGSIZE : 0;
}

/* ---- HTTP/2 name/value pairs ---- */

bool hmsg_conn_specific(const char *name, size_t len)
{
	static const char *const names[] = { "connection", "keep-alive", "proxy-connection", "transfer-encoding",
					     "upgrade", "te", "host" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncasecmp(name, names[i], len))
			return true;
	return false;
}

static int fields_nv(const struct hmsg *m, nghttp2_nv *nv, size_t max)
{
	size_t k = 0;

	for (unsigned i = 0; i < m->n_headers; i++) {
		const struct h1_header *h = &m->headers[i];

		if (hmsg_conn_specific(h->name.p, h->name.len))
			continue;
		/* never a head cut short: fields missing would change what it says */
		if (k == max)
			return -EMSGSIZE;
		nv[k++] = hmsg_nv(h->name.p, h->name.len, h->value.p, h->value.len);
	}
	return (int)k;
}

int hmsg_h2_request_nv(const struct hmsg *m, bool tls, bool abs_scheme, nghttp2_nv *nv, size_t max)
{
	const struct h1_header *host = h1_find(m->headers, m->n_headers, "host");
	struct h1_slice path = m->target, auth = { 0 };
	size_t k = 0, sch;
	bool abs_tls;
	int n;

	if (max < 4)
		return -EMSGSIZE;
	if (host)
		auth = host->value;
	sch = h1_abs_scheme(path, &abs_tls);
	if (sch) {
		/* absolute-form (a steered client's, or to a parent proxy): its authority and
		 * path; to a parent proxy its scheme too, the target URI's (RFC 9113 8.3.1) */
		const char *a = path.p + sch, *e = path.p + path.len, *sl = memchr(a, '/', (size_t)(e - a));

		if (!host)
			auth = (struct h1_slice){ a, (size_t)((sl ? sl : e) - a) };
		path = sl ? (struct h1_slice){ sl, (size_t)(e - sl) } : (struct h1_slice){ "/", 1 };
		if (abs_scheme)
			tls = abs_tls;
	}
	nv[k++] = hmsg_nv(":method", 7, m->method.p, m->method.len);
	nv[k++] = hmsg_nv(":scheme", 7, tls ? "https" : "http", tls ? 5 : 4);
	if (auth.len)
		nv[k++] = hmsg_nv(":authority", 10, auth.p, auth.len);
	nv[k++] = hmsg_nv(":path", 5, path.p, path.len);
	n = fields_nv(m, nv + k, max - k);
	return n < 0 ? n : (int)k + n;
}

int hmsg_h2_response_nv(const struct hmsg *m, char status[4], nghttp2_nv *nv, size_t max)
{
	int n;

	if (max < 1)
		return -EMSGSIZE;
	snprintf(status, 4, "%03d", m->status);
	nv[0] = hmsg_nv(":status", 7, status, 3);
	n = fields_nv(m, nv + 1, max - 1);
	return n < 0 ? n : 1 + n;
}
