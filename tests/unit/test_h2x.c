/* test_h2x.c: unit tests (no root) for userspace/h2x.c, the HTTP/1.1 <-> HTTP/2 body
 * translation of the http action: the trailers of a body that has none. Heads are
 * tested in test_hmsg.c; tests/fuzz/fuzz_h2x.c checks both on random input. Exit 0 when
 * every check passes, 1 otherwise. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "h2x.h"
#include "http1.h"

/* A content-length body has no trailers (its empty tail is no pointer arithmetic on
 * NULL: UBSan found that in h2x_trailers through fuzz_h2x). */
static bool test_no_trailers(void)
{
	struct h2x_body b = { .mode = H2X_CL, .left = 3 };
	uint8_t out[8];
	nghttp2_nv nv[4];
	size_t used, got;
	bool ok = true;

	ok &= ASSERT_EQ(h2x_body_read(&b, "abcdef", 6, out, sizeof(out), &used, &got), 0, "read");
	ok &= ASSERT_TRUE(b.done && used == 3 && got == 3 && !memcmp(out, "abc", 3), "three bytes, done");
	ok &= ASSERT_EQ(h2x_trailers(&b, nv, 4), 0, "no trailers");
	return ok;
}

int main(void)
{
	RUN(test_no_trailers);
	return check_summary("test_h2x");
}
