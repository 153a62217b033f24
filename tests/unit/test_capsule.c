/* test_capsule.c: unit tests (no root) for CONNECT-UDP's pure parts: the Capsule Protocol
 * codec (userspace/capsule.c: QUIC varints of every length, whole capsules, "need more"
 * at every cut of a stream, DATAGRAM values with and without a whole context ID, the
 * head written for a datagram read back) and the request reader (userspace/masque.c:
 * the default URI template with IPv4 and percent-encoded IPv6 literals, and each way a
 * request is refused, 400 or 501, with its reason). Exit 0 when every check passes, 1
 * otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "capsule.h"
#include "check.h"
#include "http1.h"
#include "masque.h"

static bool test_varints(void)
{
	/* RFC 9000 A.1's examples */
	static const struct {
		uint8_t b[8];
		size_t n;
		uint64_t v;
	} ex[] = {
		{ { 0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c }, 8, 151288809941952652ULL },
		{ { 0x9d, 0x7f, 0x3e, 0x7d }, 4, 494878333 },
		{ { 0x7b, 0xbd }, 2, 15293 },
		{ { 0x25 }, 1, 37 },
		{ { 0x40, 0x25 }, 2, 37 }, /* not minimal, still valid */
	};
	static const uint64_t vals[] = { 0, 63, 64, 16383, 16384, (1ULL << 30) - 1, 1ULL << 30, CAPSULE_VARINT_MAX };

	for (unsigned i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		uint64_t v = 0;

		ASSERT_EQ(capsule_varint_get(ex[i].b, ex[i].n, &v), ex[i].n, "RFC 9000 example length");
		ASSERT_EQ(v, ex[i].v, "RFC 9000 example value");
		ASSERT_EQ(capsule_varint_get(ex[i].b, ex[i].n - 1, &v), 0, "one byte short: need more");
	}
	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t b[8];
		uint64_t v = 0;
		size_t n = capsule_varint_put(b, vals[i]);

		ASSERT_EQ(n, capsule_varint_len(vals[i]), "written as long as said");
		ASSERT_EQ(capsule_varint_get(b, n, &v), n, "read back whole");
		ASSERT_EQ(v, vals[i], "same value back");
	}
	return true;
}

/* A stream of capsules: a DATAGRAM, an unknown type, an empty DATAGRAM payload. */
static bool test_stream_cuts(void)
{
	uint8_t s[64];
	size_t n = 0, h;
	struct capsule c;

	h = capsule_datagram_head(s, 5);
	ASSERT_EQ(h, 3, "head of a 5-byte datagram: type, length 6, context 0");
	memcpy(s + h, "hello", 5);
	n = h + 5;
	s[n++] = 0x40; /* type 0x2b in two bytes */
	s[n++] = 0x2b;
	s[n++] = 2;
	s[n++] = 'x';
	s[n++] = 'y';
	n += capsule_datagram_head(s + n, 0);
	/* every cut before the first capsule's end says "need more" */
	for (size_t cut = 0; cut < 8; cut++)
		ASSERT_EQ(capsule_parse(s, cut, &c), 0, "a cut capsule needs more");
	{
		int r = capsule_parse(s, n, &c);
		uint64_t ctx = 9;
		const uint8_t *p;
		size_t len;

		ASSERT_EQ(r, 8, "first capsule consumed");
		ASSERT_EQ(c.type, CAPSULE_DATAGRAM, "a DATAGRAM");
		ASSERT_EQ(capsule_datagram(&c, &ctx, &p, &len), 0, "whole context ID");
		ASSERT_EQ(ctx, 0, "context 0");
		ASSERT_EQ(len, 5, "payload length");
		ASSERT_TRUE(!memcmp(p, "hello", 5), "payload bytes");
		r = capsule_parse(s + 8, n - 8, &c);
		ASSERT_EQ(r, 5, "unknown capsule consumed by its length");
		ASSERT_EQ(c.type, 0x2b, "its type");
		r = capsule_parse(s + 13, n - 13, &c);
		ASSERT_EQ(r, 3, "empty datagram consumed");
		ASSERT_EQ(capsule_datagram(&c, &ctx, &p, &len), 0, "context only");
		ASSERT_EQ(len, 0, "empty payload");
	}
	return true;
}

static bool test_malformed_and_large(void)
{
	/* DATAGRAM with length 0 (no context ID), and one whose 2-byte context is cut */
	static const uint8_t none[] = { 0x00, 0x00 }, cut[] = { 0x00, 0x01, 0x40 };
	/* a length of 2^30: a head that parses, a capsule that is never whole here */
	static const uint8_t big[] = { 0x00, 0xc0, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00 };
	struct capsule c;
	uint64_t ctx, type, len;
	const uint8_t *p;
	size_t n;

	ASSERT_EQ(capsule_parse(none, sizeof(none), &c), 2, "empty DATAGRAM parses");
	ASSERT_EQ(capsule_datagram(&c, &ctx, &p, &n), -EBADMSG, "but has no context ID");
	ASSERT_EQ(capsule_parse(cut, sizeof(cut), &c), 3, "DATAGRAM of one byte parses");
	ASSERT_EQ(capsule_datagram(&c, &ctx, &p, &n), -EBADMSG, "its 2-byte context ID is cut");
	ASSERT_EQ(capsule_head(big, sizeof(big), &type, &len), 9, "8-byte length head");
	ASSERT_EQ(len, 1ULL << 30, "length read");
	ASSERT_EQ(capsule_parse(big, sizeof(big), &c), 0, "a large capsule needs more");
	{
		static const uint8_t huge[] = { 0x00, 0xc0, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00 };

		ASSERT_EQ(capsule_parse(huge, sizeof(huge), &c), -EMSGSIZE, "over 2 GiB: skipped by its head");
	}
	return true;
}

/* masque_target on an HTTP/1.1 head: the status (0: served) and, when served, the port. */
static int target(const char *head, char *addr, size_t alen, unsigned *port, const char **why)
{
	struct h1_request req;
	struct sockaddr_storage ss;
	socklen_t sl;
	int st;

	if (h1_parse_request(head, strlen(head), NULL, &req) <= 0)
		return -1;
	*why = NULL;
	st = masque_target(&req, &ss, &sl, why);
	if (!st && ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, (socklen_t)alen);
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (!st) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, (socklen_t)alen);
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return st;
}

#define UP "Upgrade: connect-udp\r\nConnection: Upgrade\r\nCapsule-Protocol: ?1\r\n"
#define REQ(path, fields) "GET " path " HTTP/1.1\r\nHost: proxy\r\n" fields "\r\n"

static bool test_requests(void)
{
	static const struct {
		const char *head;
		int status;
		const char *addr;
		unsigned port;
		const char *why; /* a word of the reason */
	} t[] = {
		{ REQ("/.well-known/masque/udp/10.0.0.1/53/", UP), 0, "10.0.0.1", 53, NULL },
		{ REQ("/.well-known/masque/udp/10.0.0.1/53", UP), 0, "10.0.0.1", 53, NULL },
		{ REQ("/.well-known/masque/udp/fd77%3A1%3A%3A2/443/", UP), 0, "fd77:1::2", 443, NULL },
		{ REQ("/.well-known/masque/udp/%5Bfd77%3A1%3A%3A2%5D/443/", UP), 0, "fd77:1::2", 443, NULL },
		{ REQ("https://proxy/.well-known/masque/udp/10.0.0.1/53/", UP), 0, "10.0.0.1", 53, NULL },
		{ REQ("http://proxy/.well-known/masque/udp/10.0.0.1/53/", UP), 400, NULL, 0, "https" },
		{ REQ("/masque/udp/10.0.0.1/53/", UP), 400, NULL, 0, "template" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/", UP), 400, NULL, 0, "target_port" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/53/x", UP), 400, NULL, 0, "goes on" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/53/?a=b", UP), 400, NULL, 0, "goes on" },
		{ REQ("/.well-known/masque/udp/example.com/53/", UP), 400, NULL, 0, "resolver" },
		{ REQ("/.well-known/masque/udp/10.0.0.1%zz/53/", UP), 400, NULL, 0, "percent" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/0/", UP), 400, NULL, 0, "1..65535" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/053/", UP), 400, NULL, 0, "leading zero" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/65536/", UP), 400, NULL, 0, "1..65535" },
		{ REQ("/.well-known/masque/udp/[10.0.0.1]/53/", UP), 400, NULL, 0, "literal" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/53/", "Upgrade: connect-udp\r\nConnection: Upgrade\r\n"), 400,
		  NULL, 0, "Capsule-Protocol" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/53/", "Upgrade: connect-udp\r\nConnection: Upgrade\r\n"
							      "Capsule-Protocol: ?0\r\n"),
		  400, NULL, 0, "Capsule-Protocol" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/53/", "Upgrade: connect-udp\r\nCapsule-Protocol: ?1\r\n"), 400,
		  NULL, 0, "Connection" },
		{ REQ("/.well-known/masque/udp/10.0.0.1/53/", "Upgrade: websocket\r\nConnection: Upgrade\r\n"), 501, NULL,
		  0, "connect-udp" },
		{ "POST /.well-known/masque/udp/10.0.0.1/53/ HTTP/1.1\r\nHost: p\r\n" UP "\r\n", 400, NULL, 0, "GET" },
	};

	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char addr[64] = "";
		unsigned port = 0;
		const char *why = NULL;
		int st = target(t[i].head, addr, sizeof(addr), &port, &why);

		if (!ASSERT_EQ(st, t[i].status, t[i].head))
			continue;
		if (!st) {
			ASSERT_STREQ(addr, t[i].addr, "target address");
			ASSERT_EQ(port, t[i].port, "target port");
		} else {
			ASSERT_TRUE(why && strstr(why, t[i].why), "reason of %s: %s", t[i].head, why ? why : "(none)");
		}
	}
	return true;
}

int main(void)
{
	RUN(test_varints);
	RUN(test_stream_cuts);
	RUN(test_malformed_and_large);
	RUN(test_requests);
	return check_summary("test_capsule");
}
