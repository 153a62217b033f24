/* fuzz_etcdstate.c: libFuzzer target for the etcd state file's first line
 * (etcd_state.c), which hermesd reads at a start without etcd: the file is hermesd's own,
 * but whoever can write its directory (or a torn write, a full disk) can leave anything
 * there. The input is the file's text (NUL-terminated copy; read_state hands the whole
 * file to the parser). Invariants: 0 or -EINVAL; an accepted line names a key shorter
 * than the room given, without a space, and a revision written in plain digits that is
 * never negative (what etcd_src_state_header writes); the header written from an
 * accepted key and revision reads back the same; a key buffer one byte too short
 * refuses the line instead of cutting the key. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "etcd_state.h"
#include "fuzz.h"

#define HEAD_LEN (sizeof("# hermes etcd state: key ") - 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), key[600], key2[600], line[1300];
	size_t klen, room;
	int64_t rev = -1, rev2 = -1;
	const char *r;
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	/* the room hermesd gives (the key's own size) varies with the input's first byte */
	room = size ? 1 + data[0] % sizeof(key) : sizeof(key);
	rc = etcd_src_state_parse(text, key, room, &rev);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		free(text);
		return 0;
	}
	klen = strlen(key);
	CHECK(klen < room);
	CHECK(!strchr(key, ' '));
	CHECK(!memcmp(text + HEAD_LEN, key, klen));
	r = text + HEAD_LEN + klen + strlen(" revision ");
	CHECK(*r >= '0' && *r <= '9');
	CHECK(rev >= 0);
	/* one byte less room than the key needs: refused, never cut */
	CHECK(etcd_src_state_parse(text, key2, klen, &rev2) == -EINVAL);
	etcd_src_state_header(line, sizeof(line), key, rev);
	CHECK(etcd_src_state_parse(line, key2, sizeof(key2), &rev2) == 0);
	CHECK(!strcmp(key, key2));
	CHECK(rev == rev2);
	free(text);
	return 0;
}
