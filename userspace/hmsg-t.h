/* hmsg-t.h: an HTTP message head as a structured event between the codecs and the
 * exchange logic of the http action. The HTTP/1.1 parser (http1.c) fills it with slices
 * of the received bytes; the HTTP/2 codecs (h2dn.c, h2up.c) fill it from nghttp2's
 * header callbacks, through field records (hmsg.h), never through HTTP/1.1 text; hreq.c
 * and exch.c check, route and rewrite it; the upstream and client sides encode it once,
 * as HTTP/1.1 text or as nghttp2 name/value pairs. Functions in hmsg.h. */
#ifndef HERMES_HMSG_T_H
#define HERMES_HMSG_T_H

#include <stdbool.h>

#include "http1-t.h"

/* How the body after a head is delimited, as its codec saw it (HTTP/2 heads: the
 * HTTP/1.1 parser leaves framing to h1_body_framing, which checks it for smuggling). */
enum hmsg_body {
	HMSG_BODY_UNSET = 0, /* HTTP/1.1: read the head's fields */
	HMSG_BODY_NONE,      /* END_STREAM came with the head */
	HMSG_BODY_LENGTH,    /* content-length bytes (length) */
	HMSG_BODY_STREAM,    /* HTTP/2 DATA until END_STREAM, no content-length */
};

/* A request or response head. struct h1_request and struct h1_response name this type
 * (http1-t.h): the HTTP/1.1 parser's output is a message like any other. */
struct hmsg {
	struct h1_slice method;  /* request: token, case-sensitive */
	struct h1_slice target;  /* request: the request-target (HTTP/2: :path, or the
				  * absolute form built for a forward proxy request) */
	struct h1_slice scheme, authority; /* HTTP/2 :scheme, :authority (empty from HTTP/1.1) */
	int status;              /* response: 100..599 */
	struct h1_slice reason;  /* response (HTTP/2: the standard reason) */
	int version_minor;       /* HTTP/1.0 or 1.1; an HTTP/2 message reads as 1.1 */
	bool h2;                 /* decoded from HTTP/2: nghttp2 checked it (RFC 9113 8.2,
				  * 8.3), names are lowercase, framing is in body/length */
	unsigned char body;      /* enum hmsg_body */
	long long length;        /* HMSG_BODY_LENGTH: the content-length */
	struct h1_header headers[H1_HEADERS_CAP];
	unsigned n_headers;
};

#endif
