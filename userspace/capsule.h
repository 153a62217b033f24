/* capsule.h: the Capsule Protocol (RFC 9297) that CONNECT-UDP (RFC 9298) speaks on its
 * stream: QUIC variable-length integers (RFC 9000 16), capsules (type, length, value)
 * and the DATAGRAM capsule (type 0x00) whose value is a context ID and, for context 0,
 * one UDP payload. Pure functions on memory (capsule.c), no state: the endpoint that
 * uses them (ep_udp.c) gathers the bytes. */
#ifndef HERMES_CAPSULE_H
#define HERMES_CAPSULE_H

#include <stddef.h>
#include <stdint.h>

#define CAPSULE_DATAGRAM 0x00          /* RFC 9297 3.5: an HTTP Datagram */
#define CAPSULE_VARINT_MAX 0x3fffffffffffffffULL
#define CAPSULE_HEAD_MAX 16            /* the most a type and a length take (8 + 8) */
/* RFC 9298 5: the largest UDP payload, what fits an IPv6 jumbogram-free UDP datagram */
#define CAPSULE_UDP_MAX 65527

/* A varint at p[0..n): bytes consumed (1, 2, 4 or 8), 0 for "need more". Any bytes
 * are a valid varint (a non-minimal encoding too, RFC 9000 16). */
int capsule_varint_get(const uint8_t *p, size_t n, uint64_t *v);
/* The bytes v takes in its shortest encoding (1..8); v <= CAPSULE_VARINT_MAX. */
size_t capsule_varint_len(uint64_t v);
/* Writes v's shortest encoding at p (room for capsule_varint_len(v)): bytes written. */
size_t capsule_varint_put(uint8_t *p, uint64_t v);

/* One capsule, as capsule_parse sees it. */
struct capsule {
	uint64_t type;
	uint64_t len;          /* its value's length */
	const uint8_t *value;  /* value[0..len) */
};

/* A capsule's type and length at p[0..n): the bytes of that head, or 0 for "need
 * more" (any bytes make a head: a length is at most 2^62 - 1). */
int capsule_head(const uint8_t *p, size_t n, uint64_t *type, uint64_t *len);
/* A whole capsule at p[0..n): bytes consumed (head and value), 0 for "need more" (the
 * caller keeps the bytes and comes back with more), -EMSGSIZE for one over 2 GiB,
 * which no caller could hold (it skips it by its head instead). */
int capsule_parse(const uint8_t *p, size_t n, struct capsule *c);

/* A DATAGRAM capsule's value: its context ID and payload. 0, or -EBADMSG when the
 * value does not hold a whole context ID (a malformed capsule, RFC 9297 3.3). */
int capsule_datagram(const struct capsule *c, uint64_t *context, const uint8_t **payload, size_t *len);
/* The head of a DATAGRAM capsule for context 0 carrying len payload bytes (type, length,
 * context ID), written at p (room for CAPSULE_HEAD_MAX + 1): its bytes. */
size_t capsule_datagram_head(uint8_t *p, size_t len);

#endif
