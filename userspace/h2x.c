/* h2x.c: HTTP/1.1 <-> HTTP/2 translation helpers of the http action (RFC 9113 8.2, 8.3):
 * HTTP/1.1 bodies read as DATA (de-chunked, trailers kept for a trailing HEADERS) and
 * header fields filtered and lowercased for HTTP/2. See h2x.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h2x.h"
#include "http1.h"

int h2x_body_read(struct h2x_body *b, const char *src, size_t n, uint8_t *dst, size_t cap, size_t *used,
		  size_t *out)
{
	*used = *out = 0;
	while (!b->done && *used < n && *out < cap) {
		const char *p = src + *used;
		size_t avail = n - *used, room = cap - *out, k = avail < room ? avail : room;
		bool is_data;
		long r;

		switch (b->mode) {
		case H2X_CL:
			if ((unsigned long long)b->left < k)
				k = (size_t)b->left;
			memcpy(dst + *out, p, k);
			b->left -= (long long)k;
			*used += k;
			*out += k;
			b->done = !b->left;
			break;
		case H2X_EOF:
			memcpy(dst + *out, p, k);
			*used += k;
			*out += k;
			break;
		default:
			r = h1_chunked_parse(&b->ck, p, k, NULL, &is_data);
			if (r < 0)
				return (int)r;
			if (r == 0) {
				b->done = true;
				break;
			}
			if (is_data) {
				memcpy(dst + *out, p, (size_t)r);
				*out += (size_t)r;
				b->tail.len = 0;
			} else if (hb_put(&b->tail, p, (size_t)r)) {
				return -ENOMEM;
			}
			*used += (size_t)r;
			b->done = b->ck.done;
			break;
		}
	}
	return 0;
}

/* tail: [CRLF after the last data] "0[;ext]" CRLF *(field CRLF) CRLF */
size_t h2x_trailers(struct h2x_body *b, nghttp2_nv *nv, size_t max)
{
	char *p = b->tail.p, *end, *nl;
	size_t k = 0;

	if (b->mode != H2X_CHUNKED || !b->done || !p)
		return 0;
	end = p + b->tail.len;
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	if (!(nl = memchr(p, '\n', (size_t)(end - p))))
		return 0;
	for (p = nl + 1; p < end && k < max; p = nl + 1) {
		char *colon, *v, *ve;

		if (!(nl = memchr(p, '\n', (size_t)(end - p))))
			break;
		ve = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (ve == p)
			break; /* the blank line */
		if (!(colon = memchr(p, ':', (size_t)(ve - p))))
			continue;
		for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
			;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (h2x_conn_specific(p, (size_t)(colon - p)))
			continue;
		for (char *c = p; c < colon; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + 32);
		nv[k++] = h2x_nv(p, (size_t)(colon - p), v, (size_t)(ve - v));
	}
	return k;
}

bool h2x_conn_specific(const char *name, size_t len)
{
	static const char *const names[] = { "connection", "keep-alive", "proxy-connection", "transfer-encoding",
					     "upgrade", "te", "host" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncasecmp(name, names[i], len))
			return true;
	return false;
}

int h2x_nv_from_h1(const struct h1_header *hs, unsigned n, nghttp2_nv *nv, size_t max, char *lbuf, size_t lcap)
{
	size_t k = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct h1_header *h = &hs[i];

		if (h2x_conn_specific(h->name.p, h->name.len))
			continue;
		/* never a head cut short: fields missing would change what it says */
		if (k == max || h->name.len > lcap)
			return -EMSGSIZE;
		for (size_t j = 0; j < h->name.len; j++) {
			char c = h->name.p[j];

			lbuf[j] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		nv[k++] = h2x_nv(lbuf, h->name.len, h->value.p, h->value.len);
		lbuf += h->name.len;
		lcap -= h->name.len;
	}
	return (int)k;
}

int h2x_request_nv(const struct h1_request *req, bool tls, nghttp2_nv *nv, size_t max, char *lbuf, size_t lcap)
{
	const struct h1_header *host = h1_find(req->headers, req->n_headers, "Host");
	struct h1_slice path = req->target, auth = { 0 };
	size_t k = 0;
	int n;

	if (max < 4)
		return -EMSGSIZE;
	if (host)
		auth = host->value;
	if (path.len > 7 && !strncasecmp(path.p, "http://", 7)) {
		/* absolute-form: its authority and path */
		const char *a = path.p + 7, *e = path.p + path.len, *sl = memchr(a, '/', (size_t)(e - a));

		if (!host)
			auth = (struct h1_slice){ a, (size_t)((sl ? sl : e) - a) };
		path = sl ? (struct h1_slice){ sl, (size_t)(e - sl) } : (struct h1_slice){ "/", 1 };
	}
	nv[k++] = h2x_nv(":method", 7, req->method.p, req->method.len);
	nv[k++] = h2x_nv(":scheme", 7, tls ? "https" : "http", tls ? 5 : 4);
	if (auth.len)
		nv[k++] = h2x_nv(":authority", 10, auth.p, auth.len);
	nv[k++] = h2x_nv(":path", 5, path.p, path.len);
	n = h2x_nv_from_h1(req->headers, req->n_headers, nv + k, max - k, lbuf, lcap);
	return n < 0 ? n : (int)k + n;
}

int h2x_response_nv(const struct h1_response *resp, char status[4], nghttp2_nv *nv, size_t max, char *lbuf,
		    size_t lcap)
{
	int n;

	if (max < 1)
		return -EMSGSIZE;
	snprintf(status, 4, "%03d", resp->status);
	nv[0] = h2x_nv(":status", 7, status, 3);
	n = h2x_nv_from_h1(resp->headers, resp->n_headers, nv + 1, max - 1, lbuf, lcap);
	return n < 0 ? n : 1 + n;
}

/* "name: value" CRLF */
static int put_field(struct hbuf *b, const uint8_t *name, size_t nl, const uint8_t *value, size_t vl)
{
	int err = 0;

	err |= hb_put(b, name, nl);
	err |= hb_put(b, ": ", 2);
	err |= hb_put(b, value, vl);
	err |= hb_put(b, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

int h2x_req_field(struct h2x_req *q, bool trailer, const uint8_t *name, size_t nl, const uint8_t *value, size_t vl)
{
	static const char *const pseudo[] = { ":method", ":path", ":authority", ":scheme" };

	if (nl && name[0] == ':') {
		for (unsigned i = 0; i < 4; i++)
			if (strlen(pseudo[i]) == nl && !memcmp(name, pseudo[i], nl))
				return hb_put(&q->pseudo[i], value, vl);
		return 0;
	}
	if (!trailer && nl == 14 && !memcmp(name, "content-length", 14))
		q->has_cl = true;
	if (!trailer && nl == 4 && !memcmp(name, "host", 4))
		q->has_host = true;
	return put_field(trailer ? &q->trailers : &q->hdrs, name, nl, value, vl);
}

int h2x_req_head(struct h2x_req *q, struct rxbuf *rx, bool fwd, bool end_stream)
{
	struct hbuf *m = &q->pseudo[0], *path = &q->pseudo[1], *auth = &q->pseudo[2], *scheme = &q->pseudo[3];
	int err = 0;

	err |= m->len ? rx_put(rx, m->p, m->len) : rx_put(rx, "GET", 3);
	err |= rx_put(rx, " ", 1);
	if (fwd && scheme->len && auth->len) {
		err |= rx_put(rx, scheme->p, scheme->len);
		err |= rx_put(rx, "://", 3);
		err |= rx_put(rx, auth->p, auth->len);
		/* OPTIONS * goes on as the authority alone, as in HTTP/1.1 (RFC 9112 3.2.4) */
		if (path->len && !(path->len == 1 && path->p[0] == '*'))
			err |= rx_put(rx, path->p, path->len);
	} else if (path->len) {
		err |= rx_put(rx, path->p, path->len);
	} else if (auth->len) { /* CONNECT: refused by http.c with 405 */
		err |= rx_put(rx, auth->p, auth->len);
	} else {
		err |= rx_put(rx, "/", 1);
	}
	err |= rx_put(rx, " HTTP/1.1\r\n", 11);
	if (!q->has_host && auth->len) {
		err |= rx_put(rx, "host: ", 6);
		err |= rx_put(rx, auth->p, auth->len);
		err |= rx_put(rx, "\r\n", 2);
	}
	if (q->hdrs.len)
		err |= rx_put(rx, q->hdrs.p, q->hdrs.len);
	if (!end_stream && !q->has_cl) {
		err |= rx_put(rx, "transfer-encoding: chunked\r\n", 28);
		q->chunked = true;
	}
	err |= rx_put(rx, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

void h2x_req_free(struct h2x_req *q)
{
	for (unsigned i = 0; i < 4; i++)
		free(q->pseudo[i].p);
	free(q->hdrs.p);
	free(q->trailers.p);
}

int h2x_resp_field(struct h2x_resp *p, struct rxbuf *rx, const uint8_t *name, size_t nl, const uint8_t *value,
		   size_t vl)
{
	char line[64];
	int err = 0;

	if (p->final) /* trailers: kept for the chunked framing (a content-length body cannot carry them) */
		return put_field(&p->trailers, name, nl, value, vl);
	if (nl == 7 && !memcmp(name, ":status", 7)) {
		p->status = vl == 3 ? atoi((const char *)value) : 0;
		snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", p->status, h1_reason(p->status));
		return rx_put(rx, line, strlen(line));
	}
	if (nl && name[0] != ':') {
		if (nl == 14 && !memcmp(name, "content-length", 14))
			p->has_cl = true;
		err |= rx_put(rx, name, nl);
		err |= rx_put(rx, ": ", 2);
		err |= rx_put(rx, value, vl);
		err |= rx_put(rx, "\r\n", 2);
	}
	return err ? -ENOMEM : 0;
}

int h2x_resp_head_end(struct h2x_resp *p, struct rxbuf *rx, bool is_head, bool end_stream)
{
	int err = 0;

	if (p->final)
		return 0;
	if (p->status >= 200) {
		bool bodyless = is_head || p->status == 204 || p->status == 304;

		p->final = true;
		if (!p->has_cl && !bodyless) {
			if (end_stream) {
				err |= rx_put(rx, "Content-Length: 0\r\n", 19);
			} else {
				err |= rx_put(rx, "Transfer-Encoding: chunked\r\n", 28);
				p->chunked = true;
			}
		}
	}
	p->has_cl = false; /* an interim head's fields say nothing of the final one's */
	err |= rx_put(rx, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

int h2x_put_data(struct rxbuf *b, bool chunked, const void *data, size_t len)
{
	char line[24];
	int err = 0;

	if (chunked) {
		snprintf(line, sizeof(line), "%zx\r\n", len);
		err |= rx_put(b, line, strlen(line));
	}
	err |= rx_put(b, data, len);
	if (chunked)
		err |= rx_put(b, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

int h2x_put_end(struct rxbuf *b, bool chunked, const struct hbuf *trailers)
{
	int err = 0;

	if (!chunked)
		return 0;
	err |= rx_put(b, "0\r\n", 3);
	if (trailers->len)
		err |= rx_put(b, trailers->p, trailers->len);
	err |= rx_put(b, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

ssize_t h2x_data_result(nghttp2_session *ng, int32_t sid, struct h2x_body *b, size_t out, uint32_t *flags,
			bool *deferred)
{
	if (b->done) {
		nghttp2_nv nv[H1_MAX_HEADERS];
		size_t n = h2x_trailers(b, nv, H1_MAX_HEADERS);

		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (n && !nghttp2_submit_trailer(ng, sid, nv, n))
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		return (ssize_t)out;
	}
	if (!out) {
		*deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)out;
}
