/* ctl.h: what hermesctl's commands share: opening the pins under the pin root with
 * messages that say what to try, the status line of an admin answer, and the argument
 * and JSON conventions of the commands. Prefix ctl_. Types in ctl-t.h. */
#ifndef HERMES_CTL_H
#define HERMES_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "ctl-t.h"

/* What to try when a pin cannot be used, by errno. */
const char *ctl_pin_hint(int err);
/* The pin root must exist before anything else makes sense: 0, or -1 after saying why not. */
int ctl_check_root(const struct ctl *c);
/* A pin under the pin root: its fd, or -1 after saying what went wrong and what to try. */
int ctl_open_pinned(const struct ctl *c, const char *name);
/* The policy map, once the pin root is known to be there: a missing root gets its
 * own message rather than "cannot open". */
int ctl_open_policy(const struct ctl *c);

/* The status line of an answer ("HTTP/1.1 503 Service Unavailable"), for messages. */
void ctl_status_line(const struct admin_answer *a, char *detail, size_t len);

/* The arguments of a command that takes --json only (argv[0] is the command): *json is
 * c->json or --json; EXIT_OK, or the usage error "CMD: unexpected argument 'X'EXPECTED". */
int ctl_json_arg(const struct ctl *c, int argc, char **argv, const char *cmd, const char *expected, bool *json);

/* Prints the words of list, split in place at the characters of sep, as a JSON array
 * of strings on stdout. */
void ctl_json_words(char *list, const char *sep);

#endif
