/* http1.h: strict, incremental, zero-copy HTTP/1.1 message-head parser (RFC 9110/9112)
 * and the few helpers its callers need: header lookup, body framing (Content-Length /
 * Transfer-Encoding) and CONNECT authorities. Prefix h1_. Types in http1-t.h.
 *
 * Incremental use: keep the received bytes contiguous and call the parser again with
 * the same buffer start and a larger len; it re-parses from the start (heads are small,
 * and one pass is linear). For any buffer, a prefix gives either 0 or the very result
 * the whole buffer gives, so it does not matter how the bytes were split. The parsed
 * struct is only meaningful when the return value is > 0. */
#ifndef HERMES_HTTP1_H
#define HERMES_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http1-t.h"

/* Parses a request head at buf[0..len). lim may be NULL (defaults). Returns the head's
 * length (through the blank line; bytes after it, e.g. a body or a pipelined request,
 * are not looked at), 0 when more bytes are needed (only while len < max_head), or:
 *   -EBADMSG       malformed                                        -> 400
 *   -ENAMETOOLONG  request line longer than max_line                -> 414
 *   -EMSGSIZE      head longer than max_head, a header line longer
 *                  than max_line, or more than max_headers fields   -> 431
 *   -ENOTSUP       well-formed version other than HTTP/1.0 or 1.1   -> 505
 * The request-target is not interpreted (CONNECT callers use h1_parse_authority; an
 * HTTP/1.1 request's single Host field is the caller's to check). Empty lines before
 * the request line are skipped, as RFC 9112 2.2 recommends. */
int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim, struct h1_request *req);
/* Same for a response head (-ENAMETOOLONG is not used: an over-long status line is
 * -EMSGSIZE). 1xx interim responses are returned like any other: the caller skips
 * them and parses the next head. */
int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim, struct h1_response *resp);
/* HTTP status a server answers to a parse error above (400 for anything unknown). */
int h1_error_status(int err);

/* First header named `name` (case-insensitive), or NULL. Duplicates are the caller's
 * business: h1_find_after finds the next one. */
const struct h1_header *h1_find(const struct h1_header *hs, unsigned n, const char *name);
/* The next header named `name` after h (one of hs[0..n)), or NULL: a field that must
 * come once (Host) is refused when this finds a second. */
const struct h1_header *h1_find_after(const struct h1_header *hs, unsigned n, const struct h1_header *h,
				      const char *name);
/* s equals the NUL-terminated str: exactly (methods) / ASCII case-insensitively (names). */
/* Inline so that strlen of a literal folds to a constant: header names are compared on
 * every field of every message. The len checks come first: an empty slice may have a
 * NULL p. */
static inline bool h1_slice_eq(struct h1_slice s, const char *str)
{
	return strlen(str) == s.len && (!s.len || !memcmp(s.p, str, s.len));
}

static inline bool h1_slice_caseeq(struct h1_slice s, const char *str)
{
	return strlen(str) == s.len && (!s.len || !strncasecmp(s.p, str, s.len));
}

/* Message body framing from the header fields (RFC 9112 6). On success returns 0 with
 * *content_length = the length, or -1 when there is no Content-Length, and *chunked =
 * whether Transfer-Encoding ends in chunked. -EBADMSG for the ambiguous shapes that
 * enable request smuggling: Content-Length and Transfer-Encoding together; Content-Length
 * values (repeated fields or a list) that differ; a Content-Length that is empty, not all
 * digits or above LLONG_MAX; a Transfer-Encoding whose final coding is not chunked, with
 * chunked more than once, with an empty element or with parameters. Identical repeated
 * Content-Length values are accepted (RFC 9110 8.6). The caller must still refuse
 * Transfer-Encoding in HTTP/1.0 messages (RFC 9112 6.1). */
int h1_body_framing(const struct h1_header *hs, unsigned n, long long *content_length, bool *chunked);
/* The same for a response, with one difference (RFC 9112 6.3 rule 4): a
 * Transfer-Encoding whose final coding is not chunked (a coding hermesd does not
 * decode), without Content-Length, is a body delimited by the connection's close: 0
 * with *content_length -1, *chunked false and *coded true (else *coded false). */
int h1_resp_body_framing(const struct h1_header *hs, unsigned n, long long *content_length, bool *chunked,
			 bool *coded);

/* Chunked body (RFC 9112 7.1), fed incrementally in any split: consumes one run of
 * buf[0..len), either framing (size lines, CRLFs, trailers) or chunk data, and says which
 * in *is_data, so that a caller can pass the body on as it is or keep only the data.
 * Returns the bytes consumed (> 0 while len > 0 and the body has not ended; 0 once
 * ck->done, the bytes after it are the next message's), or -EBADMSG: a size that is
 * empty, not hex, has more than 16 digits or a sign/0x; a bad extension; a bare CR or LF;
 * data not followed by CRLF; a malformed trailer field (same rules as header fields,
 * obs-fold included); -EMSGSIZE: a size line above H1_CHUNK_LINE_MAX, a trailer section
 * above lim->max_head or with more than lim->max_headers fields (lim may be NULL). */
long h1_chunked_parse(struct h1_chunked *ck, const char *buf, size_t len, const struct h1_limits *lim,
		      bool *is_data);

/* The standard reason phrase of an HTTP status ("Error" for codes it does not know). */
const char *h1_reason(int status);

/* The length of the "http://" or "https://" (any case, *tls set for https) that starts
 * an absolute-form target t with something after it; 0 when t is not one. */
size_t h1_abs_scheme(struct h1_slice t, bool *tls);

/* CONNECT authority "IPv4:port" or "[IPv6]:port" (port 1..65535; no host names yet)
 * -> *ss / *len. Returns 0 or -EINVAL. */
int h1_parse_authority(struct h1_slice a, struct sockaddr_storage *ss, socklen_t *len);

#endif
