/* routes.c: `hermesctl routes`: the tunnel and http routes of the running hermesd.
 * Routes live in hermesd's config, not in a map: ask hermesd (GET /routes). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "ctl.h"

int cmd_routes(const struct ctl *c, int argc, char **argv)
{
	struct admin_answer a;
	bool json;
	char detail[256];
	int rc = ctl_json_arg(c, argc, argv, "routes", " (expected --json)", &json);

	if (rc)
		return rc;
	if (admin_get(&c->admin, json ? "/routes" : "/routes?format=text", &a, detail, sizeof(detail))) {
		errmsg("routes: hermesd not reachable at %s (%s); routes come from hermesd's config, so it must be "
		       "running (give its admin address with --admin)", c->admin.addr, detail);
		return EXIT_RUNTIME;
	}
	if (a.status != 200) {
		ctl_status_line(&a, detail, sizeof(detail));
		errmsg("routes: hermesd at %s answered %s", c->admin.addr, detail);
		free(a.buf);
		return EXIT_RUNTIME;
	}
	fputs(a.body, stdout);
	free(a.buf);
	return EXIT_OK;
}
