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
/* Fields hermesd may add to a head it rebuilds (hreq.c, exch.c): Host, Content-Length,
 * a route's add list (CFG_HTTP_MAX_HDRS), Via, Connection. A rebuilt head is read into a
 * struct hmsg with room for them: the limit was the peer's, checked when its head came
 * in. */
#define H1_ADDED_HEADERS 16
/* Size of a message's field array (struct hmsg): the hard ceiling of h1_limits.max_headers. */
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

/* The parser's output is a message head (hmsg-t.h): method, target, version and fields
 * of a request; status, reason, version and fields of a response. */
#define h1_request hmsg
#define h1_response hmsg

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

#include "hmsg-t.h"

#endif
