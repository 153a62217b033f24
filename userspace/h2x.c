/* h2x.c: HTTP/1.1 <-> HTTP/2 translation helpers of the http action (RFC 9113 8.2, 8.3):
 * HTTP/1.1 bodies read as DATA (de-chunked, trailers kept for a trailing HEADERS) and
 * unframed DATA written as HTTP/1.1 chunks. Heads cross as structured messages
 * (hmsg.c). See h2x.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h2x.h"
#include "hmsg.h"
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
		if (hmsg_conn_specific(p, (size_t)(colon - p)))
			continue;
		for (char *c = p; c < colon; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + 32);
		nv[k++] = hmsg_nv(p, (size_t)(colon - p), v, (size_t)(ve - v));
	}
	return k;
}

size_t h2x_chunk_line(char line[H2X_CHUNK_LINE], size_t n)
{
	return (size_t)snprintf(line, H2X_CHUNK_LINE, "%zx\r\n", n);
}

int h2x_chunk(struct hbuf *b, const void *p, size_t n)
{
	char line[H2X_CHUNK_LINE];
	int err = 0;

	if (!n)
		return 0; /* a chunk of size 0 would be the last */
	err |= hb_put(b, line, h2x_chunk_line(line, n));
	err |= hb_put(b, p, n);
	err |= hb_put(b, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

int h2x_chunk_end(struct hbuf *b, const struct hmsg *t)
{
	int err = 0;

	err |= hb_put(b, "0\r\n", 3);
	for (unsigned i = 0; t && i < t->n_headers; i++) {
		err |= hb_put(b, t->headers[i].name.p, t->headers[i].name.len);
		err |= hb_put(b, ": ", 2);
		err |= hb_put(b, t->headers[i].value.p, t->headers[i].value.len);
		err |= hb_put(b, "\r\n", 2);
	}
	err |= hb_put(b, "\r\n", 2);
	return err ? -ENOMEM : 0;
}

ssize_t h2x_data_result(nghttp2_session *ng, int32_t sid, struct h2x_body *b, const struct hbuf *trailers,
			size_t out, uint32_t *flags, bool *deferred)
{
	if (b->done) {
		nghttp2_nv nv[H1_HEADERS_CAP + 1];
		size_t n = 0;

		if (trailers && trailers->len) {
			struct hmsg t;
			char st[4];
			int k = hmsg_from_rec(trailers->p, trailers->len, &t) > 0 ?
					hmsg_h2_response_nv(&t, st, nv, H1_HEADERS_CAP + 1) : -1;

			/* nv[0] is a :status the trailers do not carry */
			if (k > 1)
				memmove(nv, nv + 1, (size_t)(k - 1) * sizeof(nv[0]));
			n = k > 1 ? (size_t)k - 1 : 0;
		} else {
			n = h2x_trailers(b, nv, H1_MAX_HEADERS);
		}

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
