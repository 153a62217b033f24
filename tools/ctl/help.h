/* help.h: hermesctl's help, one entry per command: `hermesctl --help` prints them all
 * (and is the source of the man page), `hermesctl help policy` or
 * `hermesctl policy add --help` only the entries of that command, with the sections
 * they refer to. Prefix help_. */
#ifndef HERMES_CTL_HELP_H
#define HERMES_CTL_HELP_H

#include <stdio.h>

/* The whole help. */
void help_usage(FILE *f);
/* Help for the command named by words[0..n): every entry it prefixes ("policy" gives
 * list, add and del), on stdout. Returns EXIT_OK, or EXIT_USAGE when no entry matches. */
int help_command(char **words, int n);

#endif
