/* capsule.c: the Capsule Protocol codec (RFC 9297 3.2) and QUIC varints (RFC 9000 16)
 * for CONNECT-UDP streams. Parsers return bytes consumed, 0 for "need more" or -errno;
 * nothing here allocates or keeps state, so the unit test (tests/unit/test_capsule.c)
 * and the fuzz target (tests/fuzz/fuzz_capsule.c) drive it on plain memory. */
#include <errno.h>

#include "capsule.h"

int capsule_varint_get(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t len;
	uint64_t x;

	if (!n)
		return 0;
	len = (size_t)1 << (p[0] >> 6);
	if (n < len)
		return 0;
	x = p[0] & 0x3f;
	for (size_t i = 1; i < len; i++)
		x = x << 8 | p[i];
	*v = x;
	return (int)len;
}

size_t capsule_varint_len(uint64_t v)
{
	return v < 64 ? 1 : v < 16384 ? 2 : v < (1ULL << 30) ? 4 : 8;
}

size_t capsule_varint_put(uint8_t *p, uint64_t v)
{
	size_t len = capsule_varint_len(v);
	static const uint8_t prefix[9] = { [1] = 0x00, [2] = 0x40, [4] = 0x80, [8] = 0xc0 };

	for (size_t i = len; i > 0; i--) {
		p[i - 1] = (uint8_t)v;
		v >>= 8;
	}
	p[0] |= prefix[len];
	return len;
}

int capsule_head(const uint8_t *p, size_t n, uint64_t *type, uint64_t *len)
{
	int a = capsule_varint_get(p, n, type), b;

	if (a <= 0)
		return a;
	b = capsule_varint_get(p + a, n - (size_t)a, len);
	return b <= 0 ? b : a + b;
}

int capsule_parse(const uint8_t *p, size_t n, struct capsule *c)
{
	int h = capsule_head(p, n, &c->type, &c->len);

	if (h <= 0)
		return h;
	/* a capsule bigger than an int can say is never whole here: the caller, whose
	 * buffer is far smaller, skips it by its head */
	if (c->len > (uint64_t)(0x7fffffff - h))
		return -EMSGSIZE;
	if (n - (size_t)h < c->len)
		return 0;
	c->value = p + h;
	return h + (int)c->len;
}

int capsule_datagram(const struct capsule *c, uint64_t *context, const uint8_t **payload, size_t *len)
{
	int h = capsule_varint_get(c->value, (size_t)c->len, context);

	if (h <= 0)
		return -EBADMSG;
	*payload = c->value + h;
	*len = (size_t)c->len - (size_t)h;
	return 0;
}

size_t capsule_datagram_head(uint8_t *p, size_t len)
{
	size_t n = capsule_varint_put(p, CAPSULE_DATAGRAM);

	n += capsule_varint_put(p + n, (uint64_t)len + 1);
	p[n++] = 0; /* context ID 0: the UDP payload (RFC 9298 4) */
	return n;
}
