/* ctl-t.h: what every hermesctl command is given (tools/ctl/main.c fills it from the
 * global options, the environment and the defaults). Functions live in ctl.h. */
#ifndef HERMES_CTL_T_H
#define HERMES_CTL_T_H

#include <stdbool.h>

#include "cli.h"

struct ctl {
	const char *pin_root;       /* --pin-root, $HERMES_PIN_ROOT or the default */
	struct admin_client admin;  /* --admin, $HERMES_ADMIN or the default; sa parsed */
	bool json;                  /* --json, anywhere on the line */
};

#endif
