/* siphash.h: SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit hash for tables whose
 * keys a client chooses (the HTTP cache's URLs): with a key drawn at start, nobody who
 * does not know it can pick keys that all land in one bucket. Also the checksum of the
 * disk cache's files (cache_disk.c), with a fixed key. siphash.c. */
#ifndef HERMES_SIPHASH_H
#define HERMES_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t k0, k1;
};

uint64_t siphash24(const struct siphash_key *k, const void *p, size_t n);

/* The same over several runs of bytes, as if they were one (a file's pieces). */
struct siphash_state {
	uint64_t v0, v1, v2, v3;
	uint64_t tail;   /* bytes waiting for a whole word, low first */
	size_t total;    /* bytes taken so far */
};

void siphash_init(struct siphash_state *s, const struct siphash_key *k);
void siphash_update(struct siphash_state *s, const void *p, size_t n);
uint64_t siphash_final(struct siphash_state *s);

#endif
