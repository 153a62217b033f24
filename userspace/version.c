/* version.c: the build's version, commit and default config path (see version.h). */
#include "version.h"

#include "hermes-build.h"

const char hermes_version[] = HERMES_VERSION;
const char hermes_commit[] = HERMES_COMMIT;
const char hermes_config_default[] = HERMES_CONFIG_DEFAULT;

void version_print(FILE *f, const char *prog)
{
	fprintf(f, "%s %s (commit %s)\n", prog, hermes_version, hermes_commit);
}
