/* siphash.c: SipHash-2-4 (siphash.h), written from the paper's description and checked
 * against its reference test vector (tests/unit/test_cache_disk.c). */
#include <string.h>

#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void round1(struct siphash_state *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static inline void word(struct siphash_state *s, uint64_t m)
{
	s->v3 ^= m;
	round1(s);
	round1(s);
	s->v0 ^= m;
}

void siphash_init(struct siphash_state *s, const struct siphash_key *k)
{
	s->v0 = 0x736f6d6570736575ULL ^ k->k0;
	s->v1 = 0x646f72616e646f6dULL ^ k->k1;
	s->v2 = 0x6c7967656e657261ULL ^ k->k0;
	s->v3 = 0x7465646279746573ULL ^ k->k1;
	s->tail = 0;
	s->total = 0;
}

/* a little-endian word, whatever the host's order */
static inline uint64_t le64(const uint8_t *b)
{
	uint64_t m = 0;

	for (int i = 7; i >= 0; i--)
		m = m << 8 | b[i];
	return m;
}

void siphash_update(struct siphash_state *s, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n && (s->total & 7)) { /* finish the word a previous run began */
		s->tail |= (uint64_t)*b++ << (8 * (s->total & 7));
		s->total++;
		n--;
		if (!(s->total & 7)) {
			word(s, s->tail);
			s->tail = 0;
		}
	}
	for (; n >= 8; n -= 8, b += 8, s->total += 8)
		word(s, le64(b));
	for (; n; n--, s->total++)
		s->tail |= (uint64_t)*b++ << (8 * (s->total & 7));
}

uint64_t siphash_final(struct siphash_state *s)
{
	word(s, s->tail | (uint64_t)(s->total & 0xff) << 56);
	s->v2 ^= 0xff;
	round1(s);
	round1(s);
	round1(s);
	round1(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t siphash24(const struct siphash_key *k, const void *p, size_t n)
{
	struct siphash_state s;

	siphash_init(&s, k);
	siphash_update(&s, p, n);
	return siphash_final(&s);
}
