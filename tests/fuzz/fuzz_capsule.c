/* fuzz_capsule.c: libFuzzer target for CONNECT-UDP's parsers: the Capsule Protocol codec
 * (userspace/capsule.c) and the request reader (userspace/masque.c). The first input
 * byte picks a test, the rest is its material:
 *   0  a capsule stream, cut where the second byte says: a whole capsule parses to
 *      exactly its head and value, within the bytes given, the same with more bytes
 *      after it, and "need more" never becomes a capsule when bytes are taken away; a
 *      DATAGRAM's payload lies inside its value; every payload written back with
 *      capsule_datagram_head reads back as the same datagram;
 *   1  an HTTP/1.1 head read as a CONNECT-UDP request: 0 (a target of family AF_INET or
 *      AF_INET6, port not 0), 400 or 501, and a reason with every refusal.
 * Everything runs under ASan/UBSan/LSan; any broken invariant aborts. Built and run by
 * tests/fuzz/run.sh. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capsule.h"
#include "fuzz.h"
#include "http1.h"
#include "masque.h"

static void capsules(const uint8_t *p, size_t n)
{
	size_t cut = n ? p[0] % (n + 1) : 0, off = 1;

	while (off < n) {
		struct capsule c, c2;
		int r = capsule_parse(p + off, n - off, &c);

		CHECK(r >= -EMSGSIZE && (r <= 0 || (size_t)r <= n - off));
		if (r <= 0) {
			/* fewer bytes are never a whole capsule either */
			if (r == 0 && n - off > 1)
				CHECK(capsule_parse(p + off, (n - off) / 2, &c2) <= 0);
			break;
		}
		CHECK(c.value >= p + off && c.value + c.len == p + off + (size_t)r);
		/* the same capsule with fewer bytes after it is still the same capsule */
		CHECK(capsule_parse(p + off, (size_t)r, &c2) == r && c2.type == c.type && c2.len == c.len);
		if (cut < (size_t)r)
			CHECK(capsule_parse(p + off, cut, &c2) == 0);
		if (c.type == CAPSULE_DATAGRAM) {
			uint64_t ctx;
			const uint8_t *pl;
			size_t len;

			if (!capsule_datagram(&c, &ctx, &pl, &len)) {
				uint8_t *w = malloc(CAPSULE_HEAD_MAX + 1 + len + 1);
				size_t h;

				CHECK(pl >= c.value && pl + len == c.value + c.len);
				CHECK(w);
				h = capsule_datagram_head(w, len);
				memcpy(w + h, pl, len);
				CHECK(capsule_parse(w, h + len, &c2) == (int)(h + len) && c2.type == CAPSULE_DATAGRAM);
				CHECK(!capsule_datagram(&c2, &ctx, &pl, &len) && ctx == 0 && !memcmp(pl, w + h, len));
				free(w);
			}
		}
		off += (size_t)r;
	}
}

static void request(const uint8_t *p, size_t n)
{
	struct h1_request req;
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *why = NULL;
	int st;

	if (h1_parse_request((const char *)p, n, NULL, &req) <= 0)
		return;
	st = masque_target(&req, &ss, &len, &why);
	CHECK(st == 0 || st == 400 || st == 501);
	if (st) {
		CHECK(why && why[0]);
		return;
	}
	CHECK(ss.ss_family == AF_INET ? len == sizeof(struct sockaddr_in) && ((struct sockaddr_in *)&ss)->sin_port :
					len == sizeof(struct sockaddr_in6) && ss.ss_family == AF_INET6 &&
						((struct sockaddr_in6 *)&ss)->sin6_port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] % 2 == 0)
		capsules(data + 1, size - 1);
	else
		request(data + 1, size - 1);
	return 0;
}
