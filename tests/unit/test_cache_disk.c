/* test_cache_disk.c: unit tests (no root) for the HTTP cache's on-disk format
 * (userspace/cache_disk.c) and SipHash-2-4 (userspace/siphash.c): the reference test
 * vectors and the streaming form; a file's header and strings written and parsed back;
 * every way a file may be wrong (torn short, bytes after the body, a flipped bit in the
 * header, a string or the head, the body, another magic or version, lengths past the
 * limits) refused; the file names. Exit 0 when every check passes, 1 otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_disk.h"
#include "check.h"
#include "siphash.h"

static bool test_siphash_vectors(void)
{
	/* the paper's appendix: key 00..0f, messages 00..(n-1) */
	struct siphash_key k = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	unsigned char m[64];
	struct siphash_state s;

	for (unsigned i = 0; i < sizeof(m); i++)
		m[i] = (unsigned char)i;
	ASSERT_EQ(siphash24(&k, m, 0) == 0x726fdb47dd0e0e31ULL, 1, "empty message");
	ASSERT_EQ(siphash24(&k, m, 8) == 0x93f5f5799a932462ULL, 1, "8 bytes");
	ASSERT_EQ(siphash24(&k, m, 15) == 0xa129ca6149be45e5ULL, 1, "15 bytes (the paper's example)");
	ASSERT_EQ(siphash24(&k, m, 63) == 0x958a324ceb064572ULL, 1, "63 bytes");
	/* in runs of every split: the same as at once */
	for (size_t a = 0; a <= 40; a += 3)
		for (size_t b = a; b <= 40; b += 5) {
			siphash_init(&s, &k);
			siphash_update(&s, m, a);
			siphash_update(&s, m + a, b - a);
			siphash_update(&s, m + b, 40 - b);
			ASSERT_TRUE(siphash_final(&s) == siphash24(&k, m, 40), "split at %zu and %zu", a, b);
		}
	k.k0 ^= 1;
	ASSERT_TRUE(siphash24(&k, m, 15) != 0xa129ca6149be45e5ULL, "another key, another hash");
	return true;
}

static const char KEY[] = "route r http://a.example/x?y=1", VN[] = "accept-encoding", VK[] = "gzip",
		  HEAD[] = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nETag: \"v1\"\r\n\r\n";

/* A whole file in memory for o with a body of n bytes of c: its size in *len. */
static char *file_of(struct cdisk_obj *o, size_t n, char c, size_t *len)
{
	struct cdisk_hdr h;
	char *body = malloc(n + 1), *f, *p;

	memset(body, c, n);
	*o = (struct cdisk_obj){ .id = 0x1234abcdULL, .key = KEY, .klen = strlen(KEY), .vary_names = VN,
				 .vnlen = strlen(VN), .vary_key = VK, .vklen = strlen(VK), .head = HEAD,
				 .head_len = strlen(HEAD), .body_len = n,
				 .meta = { .t = { .request_time = 1000, .response_time = 1001 }, .initial_age = 5,
					   .lifetime = 60 } };
	cdisk_header(o, body, &h);
	*len = cdisk_meta_len(o) + n;
	f = p = malloc(*len);
	memcpy(p, &h, sizeof(h)), p += sizeof(h);
	memcpy(p, KEY, o->klen), p += o->klen;
	memcpy(p, VN, o->vnlen), p += o->vnlen;
	memcpy(p, VK, o->vklen), p += o->vklen;
	memcpy(p, HEAD, o->head_len), p += o->head_len;
	memcpy(p, body, n);
	free(body);
	return f;
}

static bool test_round_trip(void)
{
	struct cdisk_obj o, g;
	struct cdisk_hdr h;
	size_t len;
	char *f = file_of(&o, 5000, 'b', &len);
	long meta = cdisk_parse(f, len, len, &g, &h);

	ASSERT_EQ(meta, (long)cdisk_meta_len(&o), "meta length");
	ASSERT_EQ(len, sizeof(struct cdisk_hdr) + strlen(KEY) + strlen(VN) + strlen(VK) + strlen(HEAD) + 5000,
		  "file size");
	ASSERT_TRUE(g.id == o.id, "id");
	ASSERT_TRUE(g.klen == o.klen && !memcmp(g.key, KEY, g.klen), "key");
	ASSERT_TRUE(g.vnlen == o.vnlen && !memcmp(g.vary_names, VN, g.vnlen), "vary names");
	ASSERT_TRUE(g.vklen == o.vklen && !memcmp(g.vary_key, VK, g.vklen), "vary key");
	ASSERT_TRUE(g.head_len == o.head_len && !memcmp(g.head, HEAD, g.head_len), "head");
	ASSERT_EQ(g.body_len, 5000, "body length");
	ASSERT_EQ(g.meta.t.request_time, 1000, "request_time");
	ASSERT_EQ(g.meta.t.response_time, 1001, "response_time");
	ASSERT_EQ(g.meta.initial_age, 5, "initial_age");
	ASSERT_EQ(g.meta.lifetime, 60, "lifetime");
	ASSERT_EQ(cdisk_check_body(&h, f + meta), 0, "body checksum");
	/* the index's first read: the meta alone is enough, less is "read more" */
	ASSERT_EQ(cdisk_parse(f, (size_t)meta, len, &g, &h), meta, "exactly the meta");
	ASSERT_EQ(cdisk_parse(f, (size_t)meta - 1, len, &g, &h), 0, "one byte short of the meta: read more");
	ASSERT_EQ(cdisk_parse(f, 10, len, &g, &h), 0, "less than a header: read more");
	free(f);
	/* an empty body and no Vary */
	{
		struct cdisk_hdr z;
		struct cdisk_obj e = { .id = 7, .key = "k", .klen = 1, .vary_names = "", .vary_key = "", .head = "H",
				       .head_len = 1 };
		char buf[sizeof(z) + 2];

		cdisk_header(&e, NULL, &z);
		memcpy(buf, &z, sizeof(z));
		memcpy(buf + sizeof(z), "kH", 2);
		ASSERT_EQ(cdisk_parse(buf, sizeof(buf), sizeof(buf), &g, &h), (long)sizeof(buf), "an empty body parses");
		ASSERT_EQ(cdisk_check_body(&h, buf + sizeof(buf)), 0, "an empty body's checksum");
	}
	return true;
}

static bool test_damage(void)
{
	struct cdisk_obj o, g;
	struct cdisk_hdr h;
	size_t len, meta;
	char *f = file_of(&o, 3000, 'x', &len);

	meta = cdisk_meta_len(&o);
	ASSERT_EQ(cdisk_parse(f, len, len - 1, &g, &h), -EBADMSG, "torn: a byte short");
	ASSERT_EQ(cdisk_parse(f, len, len + 1, &g, &h), -EBADMSG, "a byte after the body");
	ASSERT_EQ(cdisk_parse(f, 50, 50, &g, &h), -EBADMSG, "shorter than a header");
	ASSERT_EQ(cdisk_parse(f, 0, 0, &g, &h), -EBADMSG, "empty");
	/* a flipped bit anywhere in the header and strings fails the meta checksum (or a check
	 * before it); in the body, the body's */
	for (size_t i = 0; i < len; i += i < meta ? 1 : 97) {
		long r;

		f[i] ^= 0x10;
		r = cdisk_parse(f, len, len, &g, &h);
		if (i < meta)
			ASSERT_TRUE(r == -EBADMSG, "a bit flipped at %zu (meta): %ld", i, r);
		else
			ASSERT_TRUE(r == (long)meta && cdisk_check_body(&h, f + meta) == -EBADMSG,
				    "a bit flipped at %zu (body)", i);
		f[i] ^= 0x10;
	}
	ASSERT_EQ(cdisk_parse(f, len, len, &g, &h), (long)meta, "whole again");
	/* another program's header, or a later version of ours */
	memcpy(&h, f, sizeof(h));
	h.version = CDISK_VERSION + 1;
	memcpy(f, &h, sizeof(h));
	ASSERT_EQ(cdisk_parse(f, len, len, &g, &h), -EBADMSG, "another version");
	memcpy(&h, f, sizeof(h));
	h.version = CDISK_VERSION;
	h.klen = CDISK_STR_MAX + 1;
	memcpy(f, &h, sizeof(h));
	ASSERT_EQ(cdisk_parse(f, len, (uint64_t)1 << 40, &g, &h), -EBADMSG, "a string past the limit");
	memcpy(f, "GIF89a..", 8);
	ASSERT_EQ(cdisk_parse(f, len, len, &g, &h), -EBADMSG, "another magic");
	free(f);
	/* found by tests/fuzz/fuzz_cdisk.c: checksums right (anyone can make them), times no
	 * cache writes, on which the age arithmetic of a lookup overflowed */
	f = file_of(&o, 10, 'y', &len);
	for (unsigned i = 0; i < 4 * 4; i++) {
		static const int64_t bad[] = { -1, CDISK_TIME_MAX + 1, INT64_MAX, INT64_MIN };
		struct cdisk_obj b = o;
		int64_t *t[] = { &b.meta.t.request_time, &b.meta.t.response_time, &b.meta.initial_age, &b.meta.lifetime };

		*t[i / 4] = bad[i % 4];
		cdisk_header(&b, f + meta, &h);
		memcpy(f, &h, sizeof(h));
		ASSERT_TRUE(cdisk_parse(f, len, len, &g, &h) == -EBADMSG, "time %u of %lld refused", i / 4,
			    (long long)bad[i % 4]);
	}
	o.meta.lifetime = CDISK_TIME_MAX;
	cdisk_header(&o, f + meta, &h);
	memcpy(f, &h, sizeof(h));
	ASSERT_EQ(cdisk_parse(f, len, len, &g, &h), (long)meta, "the largest time accepted");
	free(f);
	return true;
}

static bool test_names(void)
{
	char n[CDISK_NAME_MAX];
	uint64_t id = 0;

	cdisk_name(0x00ab0000cdef0123ULL, false, n);
	ASSERT_STREQ(n, "00ab0000cdef0123.hc", "an object's name");
	ASSERT_EQ(cdisk_name_kind(n, &id), CDISK_OBJECT, "an object");
	ASSERT_TRUE(id == 0x00ab0000cdef0123ULL, "its id");
	cdisk_name(UINT64_MAX, true, n);
	ASSERT_STREQ(n, "ffffffffffffffff.tmp", "a write's temporary name");
	ASSERT_EQ(cdisk_name_kind(n, &id), CDISK_TEMP, "a temporary file");
	ASSERT_EQ(cdisk_name_kind("notes.txt", &id), CDISK_FOREIGN, "another name");
	ASSERT_EQ(cdisk_name_kind("00ab0000cdef0123.hcx", &id), CDISK_FOREIGN, "another suffix");
	ASSERT_EQ(cdisk_name_kind("00AB0000CDEF0123.hc", &id), CDISK_FOREIGN, "upper case is not ours");
	ASSERT_EQ(cdisk_name_kind("0ab.hc", &id), CDISK_FOREIGN, "too short");
	ASSERT_EQ(cdisk_name_kind("", &id), CDISK_FOREIGN, "empty");
	return true;
}

int main(void)
{
	RUN(test_siphash_vectors);
	RUN(test_round_trip);
	RUN(test_damage);
	RUN(test_names);
	return check_summary("test_cache_disk");
}
