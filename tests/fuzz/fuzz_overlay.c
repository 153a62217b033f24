/* fuzz_overlay.c: libFuzzer target for hermesctl's overlay file (tools/ctl/overlay_parse.c,
 * overlay_compile.c, overlay_yaml.c, overlay_check.c): arbitrary bytes through what
 * `hermesctl overlay apply` does before it writes anything: ov_parse, ov_compile, and
 * each node's document and each shared one checked with hermesd's loader. Aborts when a
 * contract of overlay.h breaks:
 *   - every step returns 0 or -errno, and an error comes with one message, non-empty,
 *     naming the file (or the node's document) first;
 *   - a compiled node's document and its merged form are YAML that libyaml loads;
 *   - parsing twice gives the same answer (no state kept between files).
 * Leaks, out-of-bounds access and undefined behaviour abort through the sanitizers.
 * Built and run by tests/fuzz/run.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "../../tools/ctl/overlay.h"
#include "fuzz.h"

#define NAME "fuzz.yaml"

static void loads(const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_document_t d;

	CHECK(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &d)) {
		fprintf(stderr, "a compiled document does not load: %s\n%.*s\n", p.problem, (int)len, text);
		CHECK(!"compiled documents load");
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
}

static void message(int r, const char *err)
{
	CHECK(r < 0 && r >= -4095);
	CHECK(err[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct overlay ov, ov2;
	struct ov_out out = { 0 };
	char err[2048] = "", err2[2048] = "";
	int r, r2;

	r = ov_parse(NAME, (const char *)data, size, &ov, err, sizeof(err));
	r2 = ov_parse(NAME, (const char *)data, size, &ov2, err2, sizeof(err2));
	CHECK(r == r2);
	if (r) {
		message(r, err);
		CHECK(!strcmp(err, err2));
		CHECK(!strncmp(err, NAME, strlen(NAME)));
		return 0;
	}
	ov_free(&ov2);
	CHECK(ov.n_nodes >= 0 && ov.n_nodes <= OV_MAX_NODES && ov.n_shared >= 0 && ov.n_shared <= OV_MAX_SHARED);
	r = ov_compile(&ov, &out, err, sizeof(err));
	if (r) {
		message(r, err);
	} else {
		for (int i = 0; i < ov.n_nodes; i++) {
			CHECK(out.docs[i] && strlen(out.docs[i]) == out.lens[i]);
			loads(out.docs[i], out.lens[i]);
			if (out.comp[i])
				loads(out.comp[i], out.comp_lens[i]);
			err[0] = 0;
			r = ov_check_node(&ov, &out, i, err, sizeof(err));
			if (r)
				message(r, err);
		}
		for (int s = 0; s < ov.n_shared; s++) {
			err[0] = 0;
			r = ov_check_shared(&ov, s, err, sizeof(err));
			if (r)
				message(r, err);
		}
		ov_out_free(&ov, &out);
	}
	ov_free(&ov);
	return 0;
}
