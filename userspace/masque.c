/* masque.c: reads a CONNECT-UDP request (RFC 9298 3) on the tunnel listener: the HTTP/1.1
 * Upgrade form (3.2), which is also how sess_h2.c hands over an HTTP/2 extended CONNECT
 * (3.3: :method CONNECT, :protocol connect-udp, :scheme https, :path, :authority become
 * `GET https://AUTHORITY/PATH`, `Upgrade: connect-udp`, `Connection: Upgrade`). Only the
 * default URI template is served, `/.well-known/masque/udp/{target_host}/{target_port}/`
 * (3), with an IP literal for the host: hermesd has no resolver, as for CONNECT. Every
 * refusal names what was wrong, for the log line that goes with the 400. The client side
 * (a tunnel client's CONNECT-UDP to its next hop) fills the same template (masque_path). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "masque.h"

/* s lists token (comma-separated, any case, as Connection and Upgrade do). */
static bool list_has(struct h1_slice s, const char *token)
{
	size_t tl = strlen(token);

	for (size_t i = 0; i < s.len;) {
		size_t j = i, a, b;

		while (j < s.len && s.p[j] != ',')
			j++;
		for (a = i; a < j && (s.p[a] == ' ' || s.p[a] == '\t'); a++)
			;
		for (b = j; b > a && (s.p[b - 1] == ' ' || s.p[b - 1] == '\t'); b--)
			;
		if (b - a == tl && !strncasecmp(s.p + a, token, tl))
			return true;
		i = j + 1;
	}
	return false;
}

bool masque_upgrade(const struct h1_request *req)
{
	const struct h1_header *up = h1_find(req->headers, req->n_headers, "Upgrade");

	return up && h1_slice_eq(req->method, "GET") && list_has(up->value, "connect-udp");
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One template variable's value, percent-decoded (RFC 6570 simple expansion) into out
 * (NUL-terminated, at most cap - 1 bytes): its length, or -EINVAL. */
static int decode(const char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hexval(p[i + 1]);
			lo = hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (!c || o + 1 >= cap)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = 0;
	return (int)o;
}

/* The path's {target_host} and {target_port} -> *ss. 0 or the reason. */
static const char *path_target(struct h1_slice path, struct sockaddr_storage *ss, socklen_t *len)
{
	size_t pl = strlen(MASQUE_PATH), i, h_end, p_end;
	char host[INET6_ADDRSTRLEN + 8], port[8];
	unsigned long v = 0;
	int n;

	if (path.len < pl || memcmp(path.p, MASQUE_PATH, pl))
		return "the path is not the URI template " MASQUE_PATH "{target_host}/{target_port}/";
	for (i = pl; i < path.len && path.p[i] != '/'; i++)
		if (path.p[i] == '?' || path.p[i] == '#')
			break;
	h_end = i;
	if (h_end == path.len || path.p[h_end] != '/')
		return "the path has no {target_port} after {target_host}";
	for (i = h_end + 1; i < path.len && path.p[i] != '/' && path.p[i] != '?' && path.p[i] != '#'; i++)
		;
	p_end = i;
	/* the template ends with '/' (a client that leaves it out is taken too); no query */
	if (p_end < path.len && !(path.p[p_end] == '/' && p_end + 1 == path.len))
		return "the path goes on after {target_port}/ (a query or more segments)";
	if (decode(path.p + pl, h_end - pl, host, sizeof(host)) <= 0)
		return "target_host is empty or badly percent-encoded";
	n = decode(path.p + h_end + 1, p_end - h_end - 1, port, sizeof(port));
	if (n <= 0 || port[0] == '0')
		return "target_port must be a number 1..65535 without a leading zero";
	for (int k = 0; k < n; k++) {
		if (port[k] < '0' || port[k] > '9')
			return "target_port must be a number 1..65535 without a leading zero";
		v = v * 10 + (unsigned long)(port[k] - '0');
	}
	if (v < 1 || v > 65535)
		return "target_port must be a number 1..65535 without a leading zero";
	memset(ss, 0, sizeof(*ss));
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		char *h = host;
		size_t hl = strlen(host);

		/* an IPv6 literal, its colons percent-encoded (RFC 9298 3), or in brackets */
		if (hl > 2 && h[0] == '[' && h[hl - 1] == ']') {
			h[hl - 1] = 0;
			h++;
		}
		if (inet_pton(AF_INET, h, &a4->sin_addr) == 1 && h == host) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)v);
			*len = sizeof(*a4);
			return NULL;
		}
		if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)v);
			*len = sizeof(*a6);
			return NULL;
		}
	}
	return "target_host must be an IPv4 or IPv6 literal (hermesd has no resolver)";
}

int masque_target(const struct h1_request *req, struct sockaddr_storage *ss, socklen_t *len, const char **why)
{
	const struct h1_header *up = h1_find(req->headers, req->n_headers, "Upgrade");
	const struct h1_header *conn = h1_find(req->headers, req->n_headers, "Connection");
	const struct h1_header *cp = h1_find(req->headers, req->n_headers, "Capsule-Protocol");
	struct h1_slice path = req->target;
	bool tls;
	size_t sl;

	if (!up || !list_has(up->value, "connect-udp")) {
		*why = "the only upgrade served here is connect-udp";
		return 501;
	}
	if (!h1_slice_eq(req->method, "GET")) {
		*why = "a connect-udp upgrade must be a GET";
		return 400;
	}
	if (!conn || !list_has(conn->value, "upgrade")) {
		*why = "a connect-udp upgrade needs Connection: Upgrade";
		return 400;
	}
	/* a Structured Fields boolean (RFC 8941): ?1, parameters ignored; ?0 or none: the
	 * capsules could not be sent */
	if (!cp || cp->value.len < 2 || memcmp(cp->value.p, "?1", 2) || (cp->value.len > 2 && cp->value.p[2] != ';') ||
	    h1_find_after(req->headers, req->n_headers, cp, "Capsule-Protocol")) {
		*why = "CONNECT-UDP needs Capsule-Protocol: ?1 (once)";
		return 400;
	}
	/* absolute form: the HTTP/2 request's :scheme and :authority (RFC 9298 3.3: https) */
	if ((sl = h1_abs_scheme(path, &tls))) {
		const char *slash;

		if (!tls) {
			*why = "CONNECT-UDP's :scheme must be https";
			return 400;
		}
		slash = memchr(path.p + sl, '/', path.len - sl);
		if (!slash) {
			*why = "the request has no path";
			return 400;
		}
		path.len -= (size_t)(slash - path.p);
		path.p = slash;
	}
	if ((*why = path_target(path, ss, len)))
		return 400;
	return 0;
}

void masque_path(const struct hermes_addr *target, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN], enc[3 * INET6_ADDRSTRLEN];
	size_t o = 0;

	inet_ntop(target->family == HERMES_FAMILY_V6 ? AF_INET6 : AF_INET, target->addr, ip, sizeof(ip));
	for (const char *p = ip; *p && o + 4 < sizeof(enc); p++) {
		if (*p == ':') {
			memcpy(enc + o, "%3A", 3);
			o += 3;
		} else {
			enc[o++] = *p;
		}
	}
	enc[o] = 0;
	snprintf(buf, cap, MASQUE_PATH "%s/%u/", enc, ntohs(target->port));
}
