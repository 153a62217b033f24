/* cache_disk.c: the HTTP cache's on-disk format (cache_disk.h): the file header, its
 * checksums (SipHash-2-4 under a fixed key: a check against torn and damaged files,
 * not against someone who may write the directory), the parsing that decides whether
 * a file may be served, and the file names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cache_disk.h"
#include "siphash.h"

_Static_assert(sizeof(struct cdisk_hdr) == 96, "the on-disk header's layout is fixed: bump CDISK_VERSION");

/* "hermes disk cache" as the key: a fixed one, files must read back after a restart */
static const struct siphash_key sum_key = { 0x68657265736d6469ULL, 0x736b636163686531ULL };

size_t cdisk_meta_len(const struct cdisk_obj *o)
{
	return sizeof(struct cdisk_hdr) + o->klen + o->vnlen + o->vklen + o->head_len;
}

static uint64_t meta_sum(const struct cdisk_hdr *h, const struct cdisk_obj *o)
{
	struct cdisk_hdr z = *h;
	struct siphash_state s;

	z.meta_sum = 0;
	siphash_init(&s, &sum_key);
	siphash_update(&s, &z, sizeof(z));
	siphash_update(&s, o->key, o->klen);
	siphash_update(&s, o->vary_names, o->vnlen);
	siphash_update(&s, o->vary_key, o->vklen);
	siphash_update(&s, o->head, o->head_len);
	return siphash_final(&s);
}

void cdisk_header(const struct cdisk_obj *o, const void *body, struct cdisk_hdr *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, CDISK_MAGIC, sizeof(h->magic));
	h->version = CDISK_VERSION;
	h->hdr_len = sizeof(*h);
	h->klen = (uint32_t)o->klen;
	h->vnlen = (uint32_t)o->vnlen;
	h->vklen = (uint32_t)o->vklen;
	h->head_len = (uint32_t)o->head_len;
	h->body_len = o->body_len;
	h->id = o->id;
	h->request_time = o->meta.t.request_time;
	h->response_time = o->meta.t.response_time;
	h->initial_age = o->meta.initial_age;
	h->lifetime = o->meta.lifetime;
	h->body_sum = siphash24(&sum_key, body, o->body_len);
	h->meta_sum = meta_sum(h, o);
}

static bool time_ok(int64_t t)
{
	return t >= 0 && t <= CDISK_TIME_MAX;
}

long cdisk_parse(const void *buf, size_t n, uint64_t file_size, struct cdisk_obj *o, struct cdisk_hdr *h)
{
	const char *p = buf;
	size_t meta;

	if (n < sizeof(*h))
		return file_size < sizeof(*h) ? -EBADMSG : 0;
	memcpy(h, buf, sizeof(*h));
	if (memcmp(h->magic, CDISK_MAGIC, sizeof(h->magic)) || h->version != CDISK_VERSION || h->hdr_len != sizeof(*h) ||
	    h->klen > CDISK_STR_MAX || h->vnlen > CDISK_STR_MAX || h->vklen > CDISK_STR_MAX ||
	    h->head_len > CDISK_STR_MAX || !h->klen || !h->head_len || !time_ok(h->request_time) ||
	    !time_ok(h->response_time) || !time_ok(h->initial_age) || !time_ok(h->lifetime))
		return -EBADMSG;
	*o = (struct cdisk_obj){ .id = h->id, .klen = h->klen, .vnlen = h->vnlen, .vklen = h->vklen,
				 .head_len = h->head_len, .body_len = h->body_len };
	meta = cdisk_meta_len(o);
	/* a torn file (shorter) or one with bytes after its body (longer) is not ours whole */
	if (h->body_len > file_size || file_size - h->body_len != meta)
		return -EBADMSG;
	if (n < meta)
		return 0;
	p += sizeof(*h);
	o->key = p;
	o->vary_names = p += o->klen;
	o->vary_key = p += o->vnlen;
	o->head = p += o->vklen;
	o->meta = (struct cache_meta){ .t = { .request_time = h->request_time, .response_time = h->response_time },
				       .initial_age = h->initial_age, .lifetime = h->lifetime };
	if (meta_sum(h, o) != h->meta_sum)
		return -EBADMSG;
	return (long)meta;
}

int cdisk_check_body(const struct cdisk_hdr *h, const void *body)
{
	return siphash24(&sum_key, body, h->body_len) == h->body_sum ? 0 : -EBADMSG;
}

void cdisk_name(uint64_t id, bool tmp, char out[CDISK_NAME_MAX])
{
	snprintf(out, CDISK_NAME_MAX, "%016llx.%s", (unsigned long long)id, tmp ? "tmp" : "hc");
}

enum cdisk_name cdisk_name_kind(const char *name, uint64_t *id)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 16; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return CDISK_FOREIGN;
	}
	*id = v;
	if (!strcmp(name + 16, ".hc"))
		return CDISK_OBJECT;
	if (!strcmp(name + 16, ".tmp"))
		return CDISK_TEMP;
	return CDISK_FOREIGN;
}
