/* filter-t.h: types of hermes-top's flow filters (filter.c): a filter is the parsed
 * form of the words the user typed. Functions live in filter.h. */
#ifndef HERMES_TOP_FILTER_T_H
#define HERMES_TOP_FILTER_T_H

#include <stdbool.h>
#include <stdint.h>

#include "hermes/policy.h"

#define FILTER_MAX 128 /* characters of filter text */
#define FILTER_TERMS 32

/* The fields a FIELD:VALUE word tests; F_TEXT is a word with no known field. */
enum ffield { F_TEXT, F_PID, F_COMM, F_SRC, F_DST, F_PORT, F_ACTION, F_ENGINE, F_STATE, F_PROTO, F_MAX };

/* One word. */
struct fterm {
	enum ffield field;
	bool neg;
	char text[FILTER_MAX];         /* F_TEXT, F_COMM, F_STATE, F_PROTO */
	uint32_t num;                  /* F_PID, F_PORT, F_ACTION, F_ENGINE */
	struct hermes_policy_key key;  /* F_SRC, F_DST */
};

struct filter {
	struct fterm t[FILTER_TERMS];
	int n;
};

#endif
