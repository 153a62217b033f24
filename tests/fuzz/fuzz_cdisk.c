/* fuzz_cdisk.c: libFuzzer target for the HTTP cache's disk files (userspace/cache_disk.c)
 * as hdisk.c reads them at start and on a hit: a file of the cache directory is whatever
 * a torn write, a full disk or another program left there, and must be refused or served
 * whole, never crash. The first input byte picks a test:
 *   even  the rest is a whole file: cdisk_parse on it, and on its first bytes as
 *         scan_file reads them (a prefix gives 0, "read more", or the whole file's
 *         answer), the strings inside the file, the meta length never past the bytes;
 *   odd   a file made well-formed (right checksums, as anyone who can write the
 *         directory can make one): four string lengths, the four times, a change to
 *         make (none, one byte flipped, cut or grown), then the strings and the body.
 *         Unchanged it parses back into exactly what was written, unless its times are
 *         beyond CDISK_TIME_MAX (refused then); changed it is refused (or, a body
 *         byte, its body check fails).
 * Every file accepted goes where hdisk.c takes it: into the index (a bare store), looked
 * up, read into the memory store; its head, when it parses and is one the store writes
 * (cache_head_stored), is served (served.h: the served head parses again, has a final
 * status and frames the body) with its age and freshness computed from the file's
 * times (no overflow: UBSan aborts). Built and run by tests/fuzz/run.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache_disk.h"
#include "cache_key.h"
#include "cache_policy.h"
#include "cache_store.h"
#include "fuzz.h"
#include "http1.h"
#include "served.h"

#define NOW 1765000000LL /* December 2025 */
#define ID 0x0123456789abcdefULL

static struct cache_store idx, mem;
static struct hmsg req;

static void setup(void)
{
	static const char rq[] = "GET / HTTP/1.1\r\nHost: a.example\r\nAccept-Encoding: gzip\r\n\r\n";

	CHECK(!cache_store_init(&idx, 1 << 22, 1 << 22));
	idx.bare = true;
	CHECK(!cache_store_init(&mem, 1 << 22, 1 << 22));
	CHECK(h1_parse_request(rq, sizeof(rq) - 1, NULL, &req) == (int)sizeof(rq) - 1);
}

/* A file cdisk_parse accepted (buf, size bytes, meta of them before the body), as
 * hdisk.c uses it: indexed, found, read into memory, served. */
static void use(const char *buf, size_t size, long meta, const struct cdisk_obj *o, const struct cdisk_hdr *h)
{
	const struct cache_conf cf = { .shared = true, .heuristic_percent = 10, .heuristic_max_s = 86400 };
	struct cache_entry *ie, *e, *g;
	struct cache_cc rcc, cc;
	struct hmsg sh;
	int64_t age;

	CHECK(meta > 0 && (size_t)meta <= size && size - (size_t)meta == o->body_len);
	CHECK(o->key == buf + sizeof(*h) && o->head + o->head_len == buf + meta);
	if (cdisk_check_body(h, buf + meta))
		return; /* do_read refuses it */
	ie = cache_entry_new(&idx, o->key, o->klen, o->vary_names, o->vnlen, o->vary_key, o->vklen, o->head,
			     o->head_len, &o->meta);
	if (!ie)
		return;
	CHECK(!ie->head_ok); /* bare: never parsed */
	ie->file_id = o->id;
	ie->file_body = o->body_len;
	ie->charge = size;
	/* index_add: the store is emptied after each input, so nothing is newer */
	CHECK(!cache_store_newer(&idx, ie));
	if (cache_store_insert(&idx, ie))
		return; /* larger than the whole index: freed */
	/* hdisk_find: a lookup with a request, its Vary key from the file's names */
	g = cache_store_get(&idx, o->key, o->klen, &req);
	CHECK(!g || g == ie);
	e = cache_entry_new(&mem, ie->key, ie->klen, ie->vary_names, ie->vnlen, ie->vary_key, ie->vklen, ie->head,
			    ie->head_len, &ie->meta);
	/* hdisk_find: a head the store never writes is not served */
	if (e && !cache_entry_head(e, &sh) && cache_head_stored(&sh) &&
	    !cache_entry_append(&mem, e, buf + meta, (size_t)o->body_len)) {
		/* hcache_loaded: the file's times decide */
		age = cache_current_age(e->meta.initial_age, &e->meta.t, NOW);
		cache_cc_init(&rcc);
		cache_cc_head(&sh, false, &cc);
		(void)cache_use(&cf, &rcc, &cc, e->meta.lifetime, age);
		(void)cache_stale_if_error(&cf, &rcc, &cc, e->meta.lifetime, age, 0);
		check_served(e, &sh, age);
	}
	cache_entry_put(&mem, e);
	cache_entry_put(&idx, g);
	cache_store_remove(&idx, ie);
}

static void raw(const char *buf, size_t n)
{
	struct cdisk_obj o, o2;
	struct cdisk_hdr h, h2;
	long r = cdisk_parse(buf, n, n, &o, &h);

	CHECK(r == -EBADMSG || (r > 0 && (size_t)r <= n));
	if (r > 0) {
		CHECK(cdisk_meta_len(&o) == (size_t)r);
		/* scan_file reads the first bytes, then more when the head is longer */
		for (size_t k = 0; k < (size_t)r; k += 1 + k / 4) {
			long p = cdisk_parse(buf, k, n, &o2, &h2);

			CHECK(p == 0);
		}
		use(buf, n, r, &o, &h);
	}
}

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void made(const uint8_t *d, size_t n)
{
	struct cdisk_obj o = { .id = ID }, o2;
	struct cdisk_hdr h, h2;
	const uint8_t *s;
	size_t meta, size, pos;
	uint8_t change;
	char *f;
	long r;

	if (n < 4 + 32 + 3)
		return;
	o.klen = d[0] ? d[0] : 1;
	o.vnlen = d[1];
	o.vklen = d[2];
	o.head_len = d[3] ? d[3] : 1;
	o.meta.t.request_time = (int64_t)u64(d + 4);
	o.meta.t.response_time = (int64_t)u64(d + 12);
	o.meta.initial_age = (int64_t)u64(d + 20);
	o.meta.lifetime = (int64_t)u64(d + 28);
	change = d[36];
	pos = (size_t)d[37] << 8 | d[38];
	s = d + 39;
	n -= 39;
	if (n < o.klen + o.vnlen + o.vklen + o.head_len)
		return;
	o.key = (const char *)s;
	o.vary_names = o.key + o.klen;
	o.vary_key = o.vary_names + o.vnlen;
	o.head = o.vary_key + o.vklen;
	o.body_len = n - (o.klen + o.vnlen + o.vklen + o.head_len);
	meta = cdisk_meta_len(&o);
	size = meta + o.body_len;
	f = malloc(size + 1);
	CHECK(f);
	cdisk_header(&o, o.head + o.head_len, &h);
	memcpy(f, &h, sizeof(h));
	memcpy(f + sizeof(h), s, n);
	r = cdisk_parse(f, size, size, &o2, &h2);
	/* refused only for times no cache writes */
	if (o.meta.t.request_time < 0 || o.meta.t.request_time > CDISK_TIME_MAX || o.meta.t.response_time < 0 ||
	    o.meta.t.response_time > CDISK_TIME_MAX || o.meta.initial_age < 0 || o.meta.initial_age > CDISK_TIME_MAX ||
	    o.meta.lifetime < 0 || o.meta.lifetime > CDISK_TIME_MAX)
		CHECK(r == -EBADMSG);
	else
		CHECK(r == (long)meta);
	if (r > 0) {
		CHECK(o2.id == ID && o2.klen == o.klen && o2.vnlen == o.vnlen && o2.vklen == o.vklen &&
		      o2.head_len == o.head_len && o2.body_len == o.body_len);
		CHECK(!memcmp(&o2.meta, &o.meta, sizeof(o.meta)) && !memcmp(&h2, &h, sizeof(h)));
		CHECK(!cdisk_check_body(&h2, f + meta));
	}
	switch (change % 4) {
	case 0: /* as written */
		if (r > 0)
			use(f, size, r, &o2, &h2);
		break;
	case 1: /* one byte flipped */
		pos %= size;
		f[pos] ^= (char)(change | 1);
		r = cdisk_parse(f, size, size, &o2, &h2);
		CHECK(r == -EBADMSG || (r > 0 && pos >= meta && cdisk_check_body(&h2, f + r)));
		break;
	case 2: /* torn: shorter */
		pos %= size;
		r = cdisk_parse(f, pos, pos, &o2, &h2);
		CHECK(r == -EBADMSG);
		break;
	case 3: /* a byte more */
		f[size] = (char)change;
		r = cdisk_parse(f, size + 1, size + 1, &o2, &h2);
		CHECK(r == -EBADMSG);
		break;
	}
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!idx.buckets)
		setup();
	if (!size)
		return 0;
	if (data[0] % 2 == 0)
		raw((const char *)data + 1, size - 1);
	else
		made(data + 1, size - 1);
	return 0;
}
