/* fnv.h: FNV-1a over a run of bytes, the hash of hermesd's chained tables that take short
 * keys once per lookup (the cache store's keys, the kernel path's UDP flows, the tunnel
 * listener's per-client limits). Header only. */
#ifndef HERMES_FNV_H
#define HERMES_FNV_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t fnv1a32(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static inline uint64_t fnv1a64(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

#endif
