/* cache_disk.h: the HTTP cache's on-disk format (cache_disk.c), one file per stored
 * response: a fixed header (magic, version, the lengths, the times the freshness rules
 * need, two checksums), then the primary key, the Vary names, the secondary key, the
 * stored head (HTTP/1.1 text) and the body. The first checksum covers the header and
 * the four strings (what the index keeps, read at start), the second the body (read on
 * a hit). A file is written under a temporary name and renamed whole, so a crash leaves
 * either no file or a temporary one; a file whose size, format or checksums do not
 * agree (a torn write after a power cut, another program's file) is never served.
 * Numbers in host byte order: a directory does not move between hosts of other byte
 * orders (such files fail the version check). No I/O here: hdisk.c reads and writes;
 * unit-tested in tests/unit/test_cache_disk.c. Prefix cdisk_. */
#ifndef HERMES_CACHE_DISK_H
#define HERMES_CACHE_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache_store.h"

#define CDISK_MAGIC "HERMESC\n"
#define CDISK_VERSION 1u
/* Each string's length is at most this (a key is far shorter; a head is at most the
 * parser's limit): a header asking for more is corrupt. */
#define CDISK_STR_MAX (1u << 20)
/* The times and ages of a file are within 0..this (about 35,000 years of seconds; a
 * cache writes times after 1970 and ages far below): a header with others is corrupt,
 * and the freshness arithmetic on the ones accepted cannot overflow. */
#define CDISK_TIME_MAX (1LL << 40)

struct cdisk_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_len;                  /* sizeof(struct cdisk_hdr) */
	uint32_t klen, vnlen, vklen, head_len;
	uint64_t body_len;
	uint64_t id;                       /* the file's name, as a number */
	int64_t request_time, response_time, initial_age, lifetime;
	uint64_t meta_sum;                 /* of this header (meta_sum as 0) and the strings */
	uint64_t body_sum;                 /* of the body */
};

/* A stored response as the format sees it (pointers into the caller's memory). */
struct cdisk_obj {
	uint64_t id;
	const char *key, *vary_names, *vary_key, *head;
	size_t klen, vnlen, vklen, head_len;
	uint64_t body_len;
	struct cache_meta meta;
};

/* Bytes before the body: the header and the strings. */
size_t cdisk_meta_len(const struct cdisk_obj *o);
/* The header of o whose body is body (o->body_len bytes), checksums computed. */
void cdisk_header(const struct cdisk_obj *o, const void *body, struct cdisk_hdr *h);
/* The header and strings at the start of a file of file_size bytes, buf holding its
 * first n bytes: *o (pointing into buf) and *h when they hold together (magic,
 * version, lengths within limits, times within CDISK_TIME_MAX, the size matching, the
 * meta checksum). Returns the
 * meta length (> 0), 0 when n is shorter than it (read more), -EBADMSG when corrupt. */
long cdisk_parse(const void *buf, size_t n, uint64_t file_size, struct cdisk_obj *o, struct cdisk_hdr *h);
/* 0 when body (h->body_len bytes) has the checksum h holds, else -EBADMSG. */
int cdisk_check_body(const struct cdisk_hdr *h, const void *body);

/* File names in the directory: "<16 hex digits>.hc" for an object, the same with
 * ".tmp" while it is being written. */
enum cdisk_name { CDISK_FOREIGN, CDISK_OBJECT, CDISK_TEMP };
#define CDISK_NAME_MAX 24
void cdisk_name(uint64_t id, bool tmp, char out[CDISK_NAME_MAX]);
/* What a directory entry's name is, and its id for the cache's own names. */
enum cdisk_name cdisk_name_kind(const char *name, uint64_t *id);

#endif
