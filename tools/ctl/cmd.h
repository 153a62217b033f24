/* cmd.h: hermesctl's commands, one file each (status.c, policy.c, routes.c,
 * disable.c, certs.c, cache.c, overlay.c). Each gets the command words from its own name on (argv[0] is
 * "status", "policy", ...), the global options already taken out, and returns the exit
 * status: EXIT_OK, EXIT_RUNTIME or EXIT_USAGE (see `hermesctl --help`). */
#ifndef HERMES_CTL_CMD_H
#define HERMES_CTL_CMD_H

#include "ctl-t.h"

int cmd_status(const struct ctl *c, int argc, char **argv);
int cmd_policy(const struct ctl *c, int argc, char **argv);
int cmd_routes(const struct ctl *c, int argc, char **argv);
int cmd_disable(const struct ctl *c, int argc, char **argv);
int cmd_certs(const struct ctl *c, int argc, char **argv);
int cmd_cache(const struct ctl *c, int argc, char **argv);
/* overlay status (overlay_status.c): argv[0] "overlay", argv[1] "status" */
int cmd_overlay_status(const struct ctl *c, int argc, char **argv);
/* overlay apply, diff, get (overlay.c) */
int cmd_overlay(const struct ctl *c, int argc, char **argv);

#endif
