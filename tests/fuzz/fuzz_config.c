/* fuzz_config.c: libFuzzer target for hermesd's configuration loader (userspace/config.c)
 * on arbitrary bytes, through config_load_mem (what config_load does after reading the
 * file). Aborts when a contract of config.h breaks:
 *   - the result is 0, -EINVAL, or -E2BIG / -EFBIG for a limit of the file (bytes
 *     cannot cause anything else);
 *   - an error comes with one message: non-empty, starting with the file's name, one
 *     line (no control bytes), and leaves cfg the plain defaults owning nothing;
 *   - a success prints (config_print) as YAML that loads again into the same
 *     configuration (tests/unit/config_same.h), and that print prints the same again;
 *   - loading twice gives the same result (no state kept between loads).
 * Leaks (LSan), out-of-bounds reads and undefined behaviour abort through the sanitizers.
 * The loader refuses YAML nested more than 64 levels, and lists, mappings and files
 * over their limits, before libyaml builds it, so no input costs the square of its size. Built and run by tests/fuzz/run.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/config_same.h"
#include "config.h"
#include "fuzz.h"

#define NAME "fuzz.yaml"

static struct hermes_config defaults, cfg, again, printed;

/* cfg printed into a malloc'ed buffer (*len bytes). */
static char *print(const struct hermes_config *c, size_t *len)
{
	char *p = NULL;
	FILE *f = open_memstream(&p, len);

	CHECK(f != NULL);
	config_print(c, f);
	CHECK(fclose(f) == 0);
	return p;
}

static void check_error(int r, const char *err, const struct hermes_config *c)
{
	CHECK(r == -EINVAL || r == -E2BIG || r == -EFBIG);
	CHECK(err[0] != 0);
	CHECK(!strncmp(err, NAME ":", strlen(NAME ":")));
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "message with a control byte: %s\n", err);
			CHECK(!"one-line message");
		}
	/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): padding can only make equal configurations differ (a reported failure), never hide a difference */
	CHECK(!memcmp(c, &defaults, sizeof(*c)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], err2[512];
	char *text, *text2;
	size_t len, len2;
	const char *what;
	int r, r2;

	if (!defaults.source[0])
		config_defaults(&defaults);
	r = config_load_mem(NAME, (const char *)data, size, &cfg, err, sizeof(err));
	r2 = config_load_mem(NAME, (const char *)data, size, &again, err2, sizeof(err2));
	CHECK(r == r2);
	if (r) {
		check_error(r, err, &cfg);
		CHECK(!strcmp(err, err2));
		return 0;
	}
	CHECK(!strcmp(cfg.source, NAME));
	config_free(&again);

	text = print(&cfg, &len);
	r = config_load_mem(NAME, text, len, &printed, err, sizeof(err));
	if (r) {
		fprintf(stderr, "the print does not load: %s\n--- print:\n%.*s\n", err, (int)len, text);
		CHECK(!"the print loads");
	}
	text2 = print(&printed, &len2);
	if (len != len2 || memcmp(text, text2, len)) {
		fprintf(stderr, "--- print:\n%.*s\n--- print of the print:\n%.*s\n", (int)len, text, (int)len2, text2);
		CHECK(!"the print of the print is the print");
	}
	config_strip_lines(&cfg);
	config_strip_lines(&printed);
	what = config_differs(&cfg, &printed);
	if (what) {
		fprintf(stderr, "%s differ after print and load\n--- print:\n%.*s\n", what, (int)len, text);
		CHECK(!"the print loads into the same configuration");
	}
	free(text);
	free(text2);
	config_free(&cfg);
	config_free(&printed);
	return 0;
}
