/* http1-t.h: types of the HTTP/1.1 message-head parser (http1.c), used by the
 * CONNECT tunnel server and client and later by HTTP proxying. Everything the
 * parser hands back points into the caller's buffer (zero-copy): the buffer must
 * outlive the parsed structs. Functions live in http1.h. */
#ifndef HERMES_HTTP1_T_H
#define HERMES_HTTP1_T_H

#include <stddef.h>

/* A run of bytes inside the caller's buffer; not NUL-terminated. */
struct h1_slice {
	const char *p;
	size_t len;
};

/* One header field as received: name as sent (compare case-insensitively), value with
 * the optional whitespace around it removed. */
struct h1_header {
	struct h1_slice name, value;
};

/* The most fields a peer's head may have: the ceiling of http.max_headers and the
 * parser's default. */
#define H1_MAX_HEADERS 64
/* Fields hermesd may add to a head it rebuilds before the HTTP/2 translation reads it
 * back (h2up.c, h2dn.c): Host, Content-Length, a route's add list (CFG_HTTP_MAX_HDRS),
 * Via, Connection. Those heads are parsed with H1_HEADERS_CAP: the limit was the
 * peer's, checked when its head came in. */
#define H1_ADDED_HEADERS 16
/* Size of the header arrays below: the hard ceiling of h1_limits.max_headers. */
#define H1_HEADERS_CAP (H1_MAX_HEADERS + H1_ADDED_HEADERS)

/* Defaults used for a NULL struct h1_limits or a zero field. */
#define H1_DEFAULT_MAX_HEAD 16384 /* whole head, start line through the blank line */
#define H1_DEFAULT_MAX_LINE 8192  /* any one line, CRLF excluded */
#define H1_DEFAULT_MAX_HEADERS H1_MAX_HEADERS

struct h1_limits {
	size_t max_head;      /* clamped to INT_MAX: the head length is returned as int */
	size_t max_line;
	unsigned max_headers; /* clamped to H1_HEADERS_CAP */
};

struct h1_request {
	struct h1_slice method; /* token, case-sensitive ("CONNECT", "GET") */
	struct h1_slice target; /* request-target exactly as sent, never empty */
	int version_minor;      /* 0 or 1: only HTTP/1.0 and HTTP/1.1 are accepted */
	struct h1_header headers[H1_HEADERS_CAP];
	unsigned n_headers;
};

struct h1_response {
	int status;             /* 100..599 */
	struct h1_slice reason; /* may be empty */
	int version_minor;      /* 0 or 1 */
	struct h1_header headers[H1_HEADERS_CAP];
	unsigned n_headers;
};

/* Incremental chunked-body parser state (RFC 9112 7.1); zero it to start a body. */
struct h1_chunked {
	int state;                /* internal (enum in http1.c) */
	unsigned long long left;  /* data bytes left in the current chunk */
	size_t line;              /* bytes of the current size or trailer line so far */
	size_t trailer_bytes;     /* of the trailer section so far */
	unsigned n_trailers;
	unsigned hex_digits;
	int quoted;               /* inside a quoted-string of a chunk extension */
	int done;                 /* the body ended (after the final CRLF) */
};

/* Limits of a chunked body's framing (0 = default). */
#define H1_CHUNK_LINE_MAX 4096    /* a chunk-size line (with extensions), CRLF excluded */
#endif
