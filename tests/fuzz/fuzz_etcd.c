/* fuzz_etcd.c: libFuzzer target for what hermesd decodes of etcd (userspace/etcd.c,
 * etcd_merge.c): the JSON gateway's watch stream, base64 keys and values, a prefix's
 * range end, and the merge of a node's YAML document with its shared documents (the
 * documents are whatever an operator, or anyone who can write the prefix, put there).
 * The first input byte picks a test, the rest is its material:
 *   0  a watch stream parsed as watch_write does, fed whole and cut in two where the
 *      second byte says: each call consumes at most what it was given, "need more" (0)
 *      only at the end, the same events in the same order either way, and the resume
 *      revision past every event's;
 *   1  base64: what decodes is at most 3/4 of its length, NUL-terminated, and encodes
 *      back into a string that decodes to the same bytes; any bytes encode and decode
 *      back to themselves;
 *   2  etcd_prefix_end: the end sorts after the prefix and after every key that starts
 *      with it, and is no longer than the prefix;
 *   3  the node's document and up to four shared documents (named a, b, c, d), split at
 *      NUL bytes: 0 with a NUL-terminated document that libyaml loads again, or one of
 *      the documented errors with a message; a loader's message about any line of it
 *      is explained without reading past the line map.
 * Leaks, out-of-bounds access and undefined behaviour abort through the sanitizers.
 * Built and run by tests/fuzz/run.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "etcd.h"
#include "etcd_merge.h"
#include "fuzz.h"

/* The events a stream handed: a running hash of each, and the largest mod_revision. */
struct seen {
	uint64_t hash;
	unsigned n;
	int64_t max_rev;
	bool any;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
	return h;
}

static int on_event(void *arg, const struct etcd_event *ev)
{
	struct seen *s = arg;
	uint64_t h = s->hash;

	if (ev->type != ETCD_EV_END)
		CHECK(ev->kv.key && ev->kv.value && !ev->kv.key[ev->kv.key_len] && !ev->kv.value[ev->kv.value_len]);
	h = mix(h, &ev->type, sizeof(ev->type));
	h = mix(h, ev->kv.key, ev->kv.key_len);
	h = mix(h, ev->kv.value, ev->kv.value_len);
	h = mix(h, &ev->kv.mod_rev, sizeof(ev->kv.mod_rev));
	s->hash = h;
	s->n++;
	if (ev->type != ETCD_EV_END && (!s->any || ev->kv.mod_rev > s->max_rev)) {
		s->max_rev = ev->kv.mod_rev;
		s->any = true;
	}
	return 0;
}

/* watch_write's loop over chunks of p (cut at cut; cut == n: one chunk). Returns the
 * last parse's result: 0 (all used, or need more), or an error. */
static long stream(const char *p, size_t n, size_t cut, bool want_end, struct seen *s)
{
	struct etcd_watch w = { .want_end = want_end };
	size_t pos = 0;
	long used = 0;
	int stop = 0;

	*s = (struct seen){ .hash = 0xcbf29ce484222325ULL };
	while (pos < n) {
		size_t take = pos < cut ? cut - pos : n - pos, off = 0;
		char *b = realloc(w.buf, w.len + take + 1);

		CHECK(b);
		w.buf = b;
		memcpy(w.buf + w.len, p + pos, take);
		w.len += take;
		pos += take;
		while (off < w.len && (used = etcd_watch_parse(&w, w.buf + off, w.len - off, on_event, s, &stop)) > 0) {
			CHECK((size_t)used <= w.len - off);
			off += (size_t)used;
		}
		if (used < 0)
			break;
		memmove(w.buf, w.buf + off, w.len - off);
		w.len -= off;
	}
	if (s->any)
		CHECK(w.next_rev > s->max_rev);
	etcd_watch_reset(&w);
	return used < 0 ? used : 0;
}

static void watch(const uint8_t *d, size_t n)
{
	struct seen a, b;
	long ra, rb;
	size_t cut;

	if (n < 1)
		return;
	cut = 1 + d[0] % (n);
	ra = stream((const char *)d + 1, n - 1, n - 1, d[0] & 1, &a);
	CHECK(ra == 0 || ra == -EINVAL || ra == -ESTALE || ra == -EIO || ra == -ENOMEM);
	rb = stream((const char *)d + 1, n - 1, cut - 1, d[0] & 1, &b);
	/* an error stops both at the same object */
	if (ra == 0 && rb == 0)
		CHECK(a.n == b.n && a.hash == b.hash);
}

static void b64(const uint8_t *d, size_t n)
{
	char *in = malloc(n + 1), *out = NULL, *enc, *out2 = NULL;
	size_t len = 0, len2 = 0;
	int r;

	CHECK(in);
	memcpy(in, d, n);
	in[n] = 0;
	r = etcd_b64_decode(in, &out, &len);
	CHECK(r == 0 || r == -EINVAL);
	if (!r) {
		CHECK(out && len <= strlen(in) / 4 * 3 && out[len] == 0);
		enc = etcd_b64_encode(out, len);
		CHECK(enc && !etcd_b64_decode(enc, &out2, &len2));
		CHECK(len2 == len && !memcmp(out2, out, len));
		free(enc);
		free(out2);
	} else {
		CHECK(!out);
	}
	free(out);
	/* any bytes, there and back */
	enc = etcd_b64_encode(d, n);
	CHECK(enc && strlen(enc) == 4 * ((n + 2) / 3));
	CHECK(!etcd_b64_decode(enc, &out, &len) && len == n && !memcmp(out, d, n));
	free(enc);
	free(out);
	free(in);
}

static void prefix_end(const uint8_t *d, size_t n)
{
	char end[256];
	size_t el = 0, m;

	if (!n || n > sizeof(end))
		return;
	etcd_prefix_end((const char *)d, n, end, &el);
	CHECK(el >= 1 && el <= n);
	if (el == 1 && end[0] == 0)
		return; /* every key */
	/* after the prefix, and not a prefix of it: every key that starts with it is below */
	m = el < n ? el : n;
	CHECK(memcmp(end, d, m) > 0);
}

#define NODE "/h/nodes/n"
#define SHARED "/h/shared/"

static void merge(const uint8_t *d, size_t n)
{
	static const char *const names[] = { SHARED "a", SHARED "b", SHARED "c", SHARED "d" };
	struct etcd_docset set;
	struct etcd_merged m = { 0 };
	char err[512] = "", out[600];
	const char *p = (const char *)d, *end = p + n;
	int rc;

	etcd_docset_init(&set, NODE, SHARED);
	for (int i = -1; i < 4 && p <= end; i++) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		size_t len = z ? (size_t)(z - p) : (size_t)(end - p);

		CHECK(!etcd_docset_put(&set, i < 0 ? NODE : names[i], p, len, 10 + i));
		p += len + 1;
		if (!z)
			break;
	}
	rc = etcd_docset_merge(&set, &m, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
	if (rc) {
		CHECK(err[0] && strlen(err) < sizeof(err));
		CHECK(!m.doc);
	} else {
		yaml_parser_t yp;
		yaml_document_t doc;

		CHECK(m.doc && strlen(m.doc) == m.len);
		CHECK(m.n_shared >= 0 && m.n_shared <= 4);
		if (m.n_shared) {
			/* what the emitter wrote loads again (the node's own text is the loader's) */
			CHECK(yaml_parser_initialize(&yp));
			yaml_parser_set_input_string(&yp, (const unsigned char *)m.doc, m.len);
			if (!yaml_parser_load(&yp, &doc)) {
				fprintf(stderr, "merged text does not load: %s\n%s\n", yp.problem, m.doc);
				CHECK(!"the merged text loads");
			}
			yaml_document_delete(&doc);
			yaml_parser_delete(&yp);
			for (size_t l = 0; l <= m.n_lines + 1; l++) {
				snprintf(err, sizeof(err), "merged:%zu:1: a message", l);
				etcd_merged_explain(&m, "merged", err, out, sizeof(out));
				CHECK(strlen(out) < sizeof(out));
			}
			for (size_t l = 0; l < m.n_lines; l++)
				CHECK(m.lines[l].src >= -1 && m.lines[l].src <= m.n_shared);
		}
		etcd_merged_free(&m);
	}
	etcd_docset_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 4) {
	case 0:
		watch(data + 1, size - 1);
		break;
	case 1:
		b64(data + 1, size - 1);
		break;
	case 2:
		prefix_end(data + 1, size - 1);
		break;
	case 3:
		merge(data + 1, size - 1);
		break;
	}
	return 0;
}
