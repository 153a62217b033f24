/* http1.c: strict, incremental, zero-copy HTTP/1.1 message-head parser, written by hand
 * as a byte-at-a-time state machine in the manner of nginx's and HAProxy's (one pass, no
 * backtracking, no allocation), plus header lookup, body framing and CONNECT authorities.
 *
 * Strictness is the point: a proxy that reads a head differently from the server behind
 * it is the root of request smuggling, so every shape that some implementations accept
 * and others read differently is refused (bare CR or LF, obs-fold, whitespace before the
 * colon, control characters, more than one SP between request-line parts).
 *
 * Errors are found in the order of the bytes that cause them: whether a buffer is
 * malformed, too long or incomplete is decided at the first byte that makes it so. That
 * is what makes re-parsing a longer buffer give the same answer as any shorter prefix
 * that already had one (tests/fuzz/fuzz_http1.c checks it). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "http1.h"

/* Character classes (RFC 9110 5.6.2 token, 5.5 field-vchar). */
enum {
	C_TCHAR = 1 << 0, /* token character */
	C_VCHAR = 1 << 1, /* visible ASCII, 0x21..0x7e */
	C_FIELD = 1 << 2, /* field-vchar: VCHAR or obs-text (0x80..0xff) */
	C_WS = 1 << 3,    /* SP or HTAB */
};

#define T (C_TCHAR | C_VCHAR | C_FIELD)
#define V (C_VCHAR | C_FIELD)
#define O C_FIELD
#define W C_WS
static const unsigned char cclass[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, W, 0, 0, 0, 0, 0, 0,  /* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x10 */
	W, T, V, T, T, T, T, T, V, V, T, T, V, T, T, V,  /* 0x20  !"#$%&'()*+,-./ */
	T, T, T, T, T, T, T, T, T, T, V, V, V, V, V, V,  /* 0x30 0123456789:;<=>? */
	V, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T,  /* 0x40 @ABCDEFGHIJKLMNO */
	T, T, T, T, T, T, T, T, T, T, T, V, V, V, T, T,  /* 0x50 PQRSTUVWXYZ[\]^_ */
	T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T,  /* 0x60 `abcdefghijklmno */
	T, T, T, T, T, T, T, T, T, T, T, V, T, V, T, 0,  /* 0x70 pqrstuvwxyz{|}~DEL */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  /* 0x80 */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  /* 0x90 */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  /* 0xa0 */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  /* 0xb0 */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  /* 0xc0 */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  /* 0xd0 */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  /* 0xe0 */
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  /* 0xf0 */
};
#undef T
#undef V
#undef O
#undef W

static inline bool is(unsigned char c, unsigned cls)
{
	return cclass[c] & cls;
}

/* Parser states; the comment says which byte each one expects next. */
enum h1_state {
	ST_RQ_START,    /* first byte of the request line, or CR of an empty line before it */
	ST_RQ_START_LF, /* LF of an empty line before the request line */
	ST_RQ_METHOD,   /* more method token, or the SP after it */
	ST_RQ_TARGET0,  /* first byte of the request-target (a second SP is refused) */
	ST_RQ_TARGET,   /* more request-target, or the SP after it */
	ST_VERSION,     /* "HTTP/D.D" one byte at a time: a response's first state */
	ST_RQ_CR,       /* CR ending the request line */
	ST_RS_SP,       /* SP between the response's version and status code */
	ST_RS_STATUS,   /* three status digits, then SP or CR */
	ST_RS_REASON,   /* more reason-phrase, or CR */
	ST_LF,          /* LF after the CR of the start line or of a header line */
	ST_HDR_START,   /* first byte of a field name, or CR of the blank line */
	ST_HDR_NAME,    /* more field name, or ':' */
	ST_HDR_OWS,     /* whitespace before the value, first value byte, or CR */
	ST_HDR_VALUE,   /* more value, or CR */
	ST_END_LF,      /* LF of the blank line: the head is complete */
};

/* The start-line fields of both message kinds. */
struct start_line {
	struct h1_slice method, target, reason;
	int status, version_minor;
};

static void get_limits(const struct h1_limits *lim, size_t *max_head, size_t *max_line, unsigned *max_headers)
{
	*max_head = lim && lim->max_head ? lim->max_head : H1_DEFAULT_MAX_HEAD;
	*max_line = lim && lim->max_line ? lim->max_line : H1_DEFAULT_MAX_LINE;
	*max_headers = lim && lim->max_headers ? lim->max_headers : H1_DEFAULT_MAX_HEADERS;
	/* The head length is returned as an int. */
	if (*max_head > INT_MAX)
		*max_head = INT_MAX;
	if (*max_headers > H1_HEADERS_CAP)
		*max_headers = H1_HEADERS_CAP;
}

static inline struct h1_slice slice(const unsigned char *b, size_t from, size_t to)
{
	return (struct h1_slice){ .p = (const char *)b + from, .len = to - from };
}

/* One pass over buf[0..min(len, max_head)). `tok` is where the current token started,
 * `line` where the current line started, `vend` one past the last non-whitespace byte
 * of the current header value. */
static int parse_head(const char *buf, size_t len, const struct h1_limits *lim, bool response,
		      struct start_line *sl, struct h1_header *hs, unsigned *n_hs)
{
	const unsigned char *b = (const unsigned char *)buf;
	size_t max_head, max_line, avail, i, tok = 0, line = 0, vend = 0;
	unsigned max_headers, n = 0;
	enum h1_state st = response ? ST_VERSION : ST_RQ_START;
	bool in_start_line = true;

	get_limits(lim, &max_head, &max_line, &max_headers);
	*n_hs = 0;
	/* Bytes at max_head and beyond cannot belong to an acceptable head: never look. */
	avail = len < max_head ? len : max_head;
	for (i = 0; i < avail; i++) {
		unsigned char c = b[i];

		/* A line may hold max_line bytes before its CR. The LF after a CR is not
		 * content; every other state is inside a line. */
		if (i - line >= max_line && c != '\r' && st != ST_LF && st != ST_END_LF && st != ST_RQ_START_LF)
			return in_start_line && !response ? -ENAMETOOLONG : -EMSGSIZE;

		switch (st) {
		case ST_RQ_START:
			if (c == '\r') {
				st = ST_RQ_START_LF;
			} else if (is(c, C_TCHAR)) {
				tok = i;
				st = ST_RQ_METHOD;
			} else {
				return -EBADMSG;
			}
			break;
		case ST_RQ_START_LF:
			if (c != '\n')
				return -EBADMSG;
			line = i + 1;
			st = ST_RQ_START;
			break;
		case ST_RQ_METHOD:
			if (c == ' ') {
				sl->method = slice(b, tok, i);
				st = ST_RQ_TARGET0;
			} else if (!is(c, C_TCHAR)) {
				return -EBADMSG;
			}
			break;
		case ST_RQ_TARGET0:
			/* VCHAR only: no empty target, no second SP, no CTL, no raw non-ASCII
			 * (RFC 3986 has none; servers disagree on what it would mean). */
			if (!is(c, C_VCHAR))
				return -EBADMSG;
			tok = i;
			st = ST_RQ_TARGET;
			break;
		case ST_RQ_TARGET:
			if (c == ' ') {
				sl->target = slice(b, tok, i);
				tok = i + 1;
				st = ST_VERSION;
			} else if (!is(c, C_VCHAR)) {
				return -EBADMSG;
			}
			break;
		case ST_VERSION: {
			size_t k = i - tok;

			if (k < 5) {
				/* Case-sensitive (RFC 9112 2.3). */
				if (c != (unsigned char)"HTTP/"[k])
					return -EBADMSG;
			} else if (k == 6) {
				if (c != '.')
					return -EBADMSG;
			} else {
				if (c < '0' || c > '9')
					return -EBADMSG;
				if (k == 7) {
					/* Well-formed HTTP/D.D: anything but 1.0 and 1.1 is an
					 * unsupported version (505), not a malformed message. */
					if (b[i - 2] != '1' || c > '1')
						return -ENOTSUP;
					sl->version_minor = c - '0';
					st = response ? ST_RS_SP : ST_RQ_CR;
				}
			}
			break;
		}
		case ST_RQ_CR:
			if (c != '\r')
				return -EBADMSG;
			st = ST_LF;
			break;
		case ST_RS_SP:
			if (c != ' ')
				return -EBADMSG;
			tok = i + 1;
			sl->status = 0;
			st = ST_RS_STATUS;
			break;
		case ST_RS_STATUS:
			if (i - tok < 3) {
				/* 100..999: any three digits (RFC 9112 4), passed on; the
				 * cache stores an unknown one only with an explicit
				 * lifetime (cache_storable) */
				if (c < (i == tok ? '1' : '0') || c > '9')
					return -EBADMSG;
				sl->status = sl->status * 10 + (c - '0');
			} else if (c == ' ') {
				tok = i + 1;
				st = ST_RS_REASON;
			} else if (c == '\r') {
				/* "HTTP/1.1 200" without the SP before an empty reason: the
				 * grammar wants the SP, but the line cannot be read two ways
				 * and enough servers omit it. */
				sl->reason = slice(b, i, i);
				st = ST_LF;
			} else {
				return -EBADMSG;
			}
			break;
		case ST_RS_REASON:
			if (c == '\r') {
				sl->reason = slice(b, tok, i);
				st = ST_LF;
			} else if (!is(c, C_FIELD | C_WS)) {
				return -EBADMSG;
			}
			break;
		case ST_LF:
			/* CRLF only: a CR not followed by LF is a bare CR. */
			if (c != '\n')
				return -EBADMSG;
			line = i + 1;
			in_start_line = false;
			st = ST_HDR_START;
			break;
		case ST_HDR_START:
			if (c == '\r') {
				st = ST_END_LF;
			} else if (is(c, C_TCHAR)) {
				if (n >= max_headers)
					return -EMSGSIZE;
				tok = i;
				st = ST_HDR_NAME;
			} else {
				/* SP/HT: obs-fold (RFC 9112 5.2, refused rather than unfolded);
				 * ':' an empty name; LF a bare LF; anything else not a token. */
				return -EBADMSG;
			}
			break;
		case ST_HDR_NAME:
			if (c == ':') {
				hs[n].name = slice(b, tok, i);
				st = ST_HDR_OWS;
			} else if (!is(c, C_TCHAR)) {
				/* Including whitespace before the colon (RFC 9112 5.1). */
				return -EBADMSG;
			}
			break;
		case ST_HDR_OWS:
			if (c == '\r') {
				hs[n++].value = slice(b, i, i);
				st = ST_LF;
			} else if (is(c, C_FIELD)) {
				tok = i;
				vend = i + 1;
				st = ST_HDR_VALUE;
			} else if (!is(c, C_WS)) {
				return -EBADMSG;
			}
			break;
		case ST_HDR_VALUE:
			if (c == '\r') {
				hs[n++].value = slice(b, tok, vend);
				st = ST_LF;
			} else if (is(c, C_FIELD)) {
				vend = i + 1;
			} else if (!is(c, C_WS)) {
				/* NUL, DEL and the other CTLs; a bare LF. */
				return -EBADMSG;
			}
			break;
		case ST_END_LF:
			if (c != '\n')
				return -EBADMSG;
			*n_hs = n;
			return (int)(i + 1);
		}
	}
	/* Out of bytes. If we stopped at max_head, the head cannot fit whatever follows. */
	return len >= max_head ? -EMSGSIZE : 0;
}

int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim, struct h1_request *req)
{
	struct start_line sl = { 0 };
	int r;

	r = parse_head(buf, len, lim, false, &sl, req->headers, &req->n_headers);
	if (r > 0) {
		req->method = sl.method;
		req->target = sl.target;
		req->version_minor = sl.version_minor;
		req->scheme = req->authority = (struct h1_slice){ 0 };
		req->h2 = false;
		req->body = HMSG_BODY_UNSET;
	}
	return r;
}

int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim, struct h1_response *resp)
{
	struct start_line sl = { 0 };
	int r;

	r = parse_head(buf, len, lim, true, &sl, resp->headers, &resp->n_headers);
	if (r > 0) {
		resp->status = sl.status;
		resp->reason = sl.reason;
		resp->version_minor = sl.version_minor;
		resp->h2 = false;
		resp->body = HMSG_BODY_UNSET;
	}
	return r;
}

int h1_error_status(int err)
{
	switch (err) {
	case -ENAMETOOLONG:
		return 414;
	case -EMSGSIZE:
		return 431;
	case -ENOTSUP:
		return 505;
	default:
		return 400;
	}
}

const struct h1_header *h1_find(const struct h1_header *hs, unsigned n, const char *name)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (h1_slice_caseeq(hs[i].name, name))
			return &hs[i];
	return NULL;
}

const struct h1_header *h1_find_after(const struct h1_header *hs, unsigned n, const struct h1_header *h,
				      const char *name)
{
	return h1_find(h + 1, n - (unsigned)(h + 1 - hs), name);
}

/* Next element of a comma-separated field value (RFC 9110 5.6.1), OWS trimmed, starting
 * at *pos. Returns false at the end of the value. Empty elements are returned as such:
 * the callers refuse them, since "5,,5" or ", chunked" have no business in framing. */
static bool next_elem(struct h1_slice v, size_t *pos, struct h1_slice *e)
{
	size_t i = *pos, end;

	if (i > v.len)
		return false;
	end = i;
	while (end < v.len && v.p[end] != ',')
		end++;
	*pos = end + 1; /* past the comma, or past the end when there is none */
	while (i < end && is((unsigned char)v.p[i], C_WS))
		i++;
	while (end > i && is((unsigned char)v.p[end - 1], C_WS))
		end--;
	*e = (struct h1_slice){ .p = v.p + i, .len = end - i };
	return true;
}

/* 1*DIGIT up to LLONG_MAX; no sign, no whitespace. */
static int parse_length(struct h1_slice e, long long *out)
{
	long long v = 0;
	size_t i;

	if (!e.len)
		return -EBADMSG;
	for (i = 0; i < e.len; i++) {
		int d = (unsigned char)e.p[i] - '0';

		if (d < 0 || d > 9 || v > (LLONG_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static bool is_token(struct h1_slice s)
{
	size_t i;

	if (!s.len)
		return false;
	for (i = 0; i < s.len; i++)
		if (!is((unsigned char)s.p[i], C_TCHAR))
			return false;
	return true;
}

static int body_framing(const struct h1_header *hs, unsigned n, long long *content_length, bool *chunked,
			bool *coded)
{
	long long cl = -1;
	bool te = false, ch = false;
	unsigned i;

	for (i = 0; i < n; i++) {
		struct h1_slice e;
		size_t pos = 0;

		if (h1_slice_caseeq(hs[i].name, "Content-Length")) {
			while (next_elem(hs[i].value, &pos, &e)) {
				long long v;

				if (parse_length(e, &v) < 0 || (cl >= 0 && v != cl))
					return -EBADMSG;
				cl = v;
			}
		} else if (h1_slice_caseeq(hs[i].name, "Transfer-Encoding")) {
			te = true;
			/* Codings of all Transfer-Encoding fields form one list (RFC 9110
			 * 5.3): chunked must be its last element and appear once. */
			while (next_elem(hs[i].value, &pos, &e)) {
				if (ch || !is_token(e))
					return -EBADMSG;
				ch = h1_slice_caseeq(e, "chunked");
			}
		}
	}
	/* Both together is the classic smuggling shape (RFC 9112 6.3 lets us refuse). A
	 * Transfer-Encoding not ending in chunked leaves a request's length unknowable; a
	 * response's ends with the connection (coded). */
	if (te && (cl >= 0 || (!ch && !coded)))
		return -EBADMSG;
	*content_length = cl;
	*chunked = ch;
	if (coded)
		*coded = te && !ch;
	return 0;
}

int h1_body_framing(const struct h1_header *hs, unsigned n, long long *content_length, bool *chunked)
{
	return body_framing(hs, n, content_length, chunked, NULL);
}

int h1_resp_body_framing(const struct h1_header *hs, unsigned n, long long *content_length, bool *chunked,
			 bool *coded)
{
	return body_framing(hs, n, content_length, chunked, coded);
}

size_t h1_abs_scheme(struct h1_slice t, bool *tls)
{
	*tls = t.len > 8 && !strncasecmp(t.p, "https://", 8);
	if (*tls)
		return 8;
	return t.len > 7 && !strncasecmp(t.p, "http://", 7) ? 7 : 0;
}

int h1_parse_authority(struct h1_slice a, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN];
	const char *end, *hb, *he, *pp;
	unsigned long port = 0;
	bool v6;

	if (!a.p || !a.len)
		return -EINVAL;
	end = a.p + a.len;
	v6 = a.p[0] == '[';
	if (v6) {
		hb = a.p + 1;
		he = memchr(hb, ']', end - hb);
		if (!he || he + 1 == end || he[1] != ':')
			return -EINVAL;
		pp = he + 2;
	} else {
		hb = a.p;
		he = memchr(hb, ':', end - hb);
		if (!he)
			return -EINVAL;
		pp = he + 1;
	}
	/* Port: 1..5 digits (leading zeros are valid RFC 3986), 1..65535. */
	if (pp == end || end - pp > 5)
		return -EINVAL;
	for (; pp < end; pp++) {
		if (*pp < '0' || *pp > '9')
			return -EINVAL;
		port = port * 10 + (*pp - '0');
	}
	if (port < 1 || port > 65535)
		return -EINVAL;
	/* The slice is not NUL-terminated: inet_pton needs a copy. inet_pton also refuses
	 * what is not a literal address (host names, IPv6 zones, "1.2.3", "01.2.3.4"). */
	if (he == hb || (size_t)(he - hb) >= sizeof(host))
		return -EINVAL;
	memcpy(host, hb, he - hb);
	host[he - hb] = 0;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
	}
	return 0;
}

/* Chunked body states; the comment says which byte each one expects next. */
enum ck_state {
	CK_SIZE0 = 0,   /* first hex digit of a chunk size */
	CK_SIZE,        /* more hex digits, ';' of an extension, or CR */
	CK_EXT,         /* after ';': extension bytes (token, '=', ';', quoted-string, BWS), or CR */
	CK_SIZE_LF,     /* LF ending the size line */
	CK_DATA,        /* chunk data (ck->left bytes) */
	CK_DATA_CR,     /* CR after the data */
	CK_DATA_LF,     /* LF after the data */
	CK_TR_START,    /* first byte of a trailer field name, or CR of the blank line */
	CK_TR_NAME,     /* more field name, or ':' */
	CK_TR_VALUE,    /* value bytes or whitespace, or CR */
	CK_TR_LF,       /* LF after a trailer field */
	CK_END_LF,      /* LF of the blank line ending the body */
};

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of framing. Returns 0, or -errno. */
static int chunk_byte(struct h1_chunked *ck, unsigned char c, size_t max_head, unsigned max_fields)
{
	int h;

	switch ((enum ck_state)ck->state) {
	case CK_SIZE0:
		if ((h = hexval(c)) < 0)
			return -EBADMSG;
		ck->left = (unsigned long long)h;
		ck->hex_digits = 1;
		ck->line = 1;
		ck->state = CK_SIZE;
		return 0;
	case CK_SIZE:
	case CK_EXT:
		if (++ck->line > H1_CHUNK_LINE_MAX)
			return -EMSGSIZE;
		if (c == '\r' && !ck->quoted) {
			ck->state = CK_SIZE_LF;
		} else if (ck->state == CK_SIZE && (h = hexval(c)) >= 0) {
			/* 16 digits fill 64 bits; more is an overflow, whatever their value */
			if (++ck->hex_digits > 16 || ck->left > (unsigned long long)LLONG_MAX >> 4)
				return -EBADMSG;
			ck->left = ck->left << 4 | (unsigned)h;
		} else if (ck->quoted) {
			/* qdtext or a quoted-pair's second byte; no CTLs */
			if (c == '"' && ck->quoted == 1)
				ck->quoted = 0;
			else if (c == '\\' && ck->quoted == 1)
				ck->quoted = 2;
			else if (!is(c, C_FIELD | C_WS))
				return -EBADMSG;
			else
				ck->quoted = 1;
		} else if (c == ';' || (ck->state == CK_EXT && (is(c, C_TCHAR | C_WS) || c == '='))) {
			ck->state = CK_EXT;
		} else if (ck->state == CK_EXT && c == '"') {
			ck->quoted = 1;
		} else {
			/* whitespace right after the size included: "1 2" must not read as 1 */
			return -EBADMSG;
		}
		return 0;
	case CK_SIZE_LF:
		if (c != '\n')
			return -EBADMSG;
		ck->state = ck->left ? CK_DATA : CK_TR_START;
		ck->line = 0;
		return 0;
	case CK_DATA:
		return -EINVAL; /* not framing: the caller handles data */
	case CK_DATA_CR:
		if (c != '\r')
			return -EBADMSG;
		ck->state = CK_DATA_LF;
		return 0;
	case CK_DATA_LF:
		if (c != '\n')
			return -EBADMSG;
		ck->state = CK_SIZE0;
		return 0;
	case CK_TR_START:
	case CK_TR_NAME:
	case CK_TR_VALUE:
	case CK_TR_LF:
	case CK_END_LF:
		if (++ck->trailer_bytes > max_head)
			return -EMSGSIZE;
		break;
	}
	switch ((enum ck_state)ck->state) {
	case CK_TR_START:
		if (c == '\r') {
			ck->state = CK_END_LF;
		} else if (is(c, C_TCHAR)) {
			if (++ck->n_trailers > max_fields)
				return -EMSGSIZE;
			ck->state = CK_TR_NAME;
		} else {
			return -EBADMSG; /* obs-fold, empty name, bare LF */
		}
		return 0;
	case CK_TR_NAME:
		if (c == ':')
			ck->state = CK_TR_VALUE;
		else if (!is(c, C_TCHAR))
			return -EBADMSG;
		return 0;
	case CK_TR_VALUE:
		if (c == '\r')
			ck->state = CK_TR_LF;
		else if (!is(c, C_FIELD | C_WS))
			return -EBADMSG;
		return 0;
	case CK_TR_LF:
		if (c != '\n')
			return -EBADMSG;
		ck->state = CK_TR_START;
		return 0;
	case CK_END_LF:
		if (c != '\n')
			return -EBADMSG;
		ck->done = 1;
		return 0;
	default:
		return -EINVAL;
	}
}

long h1_chunked_parse(struct h1_chunked *ck, const char *buf, size_t len, const struct h1_limits *lim,
		      bool *is_data)
{
	size_t max_head, max_line, i;
	unsigned max_fields;

	*is_data = false;
	if (ck->done || !len)
		return 0;
	if (ck->state == CK_DATA) {
		size_t n = len < ck->left ? len : (size_t)ck->left;

		ck->left -= n;
		if (!ck->left)
			ck->state = CK_DATA_CR;
		*is_data = true;
		return (long)n;
	}
	get_limits(lim, &max_head, &max_line, &max_fields);
	for (i = 0; i < len && ck->state != CK_DATA && !ck->done; i++) {
		int err = chunk_byte(ck, (unsigned char)buf[i], max_head, max_fields);

		if (err)
			return err;
	}
	return (long)i;
}

const char *h1_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}
