/* version.h: what a build of Hermes is (release version, git commit) and where hermesd
 * looks for its configuration when -c is not given. The values come from the Makefile
 * (VERSION, the commit, SYSCONFDIR) through the generated $(BUILD)/hermes-build.h, which
 * only version.c includes, so a new commit recompiles one file. */
#ifndef HERMES_VERSION_H
#define HERMES_VERSION_H

#include <stdio.h>

extern const char hermes_version[];        /* "0.13.0" */
extern const char hermes_commit[];         /* "8a6a7d4", or "unknown" outside a git checkout */
extern const char hermes_config_default[]; /* "/etc/hermes/hermes.yaml" */

/* The --version line of every program: "PROG VERSION (commit COMMIT)". */
void version_print(FILE *f, const char *prog);

#endif
