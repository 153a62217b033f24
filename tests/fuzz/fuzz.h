/* fuzz.h: what the libFuzzer targets share: CHECK, an invariant that aborts (so that
 * libFuzzer keeps the input) with the condition and its place. */
#ifndef HERMES_FUZZ_H
#define HERMES_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond) do {                                                                \
	if (!(cond)) {                                                                  \
		fprintf(stderr, "invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
		abort();                                                                \
	}                                                                               \
} while (0)

#endif
