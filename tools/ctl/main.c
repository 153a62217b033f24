/* hermesctl: the operator's command line for Hermes. It works directly on the BPF
 * objects hermesd pins under its pin root (links, policy and counter maps), so it
 * works whether or not hermesd is running, and it asks hermesd's admin endpoint only
 * whether the daemon is ready, for its routes and for its HTTP cache (cache purge,
 * cache stats); `overlay` writes and reads the overlay's documents in etcd (overlay.c).
 * `certs init` makes the CA and host
 * certificates for the mTLS between peers (tools/certs.c). See `hermesctl --help`.
 *
 * This file: the global options (anywhere on the line), the environment and the
 * dispatch to the commands, one file each (cmd.h); help.c holds the help text, ctl.c
 * what the commands share, links.c the description of the pinned links. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "ctl-t.h"
#include "help.h"
#include "hermes/pin.h"
#include "version.h"

/* hermesctl asks /ready, /routes, /metrics or POST /cache/purge, one per run or URL */
#define ADMIN_MAX_ANSWER (1u << 20)

const char cli_prog[] = "hermesctl";

static struct ctl ctl = {
	.pin_root = HERMES_PIN_ROOT_DEFAULT,
	.admin = { .addr = ADMIN_DEFAULT, .max_answer = ADMIN_MAX_ANSWER },
};

/* The command named by words[0..n) (global options already taken out). */
static int run(char **argv, int argc, bool help)
{
	const char *cmd;

	if (help && (!argc || !strcmp(argv[0], "help"))) {
		help_usage(stdout);
		return EXIT_OK;
	}
	if (help)
		return help_command(argv, argc);
	if (cli_check_options(ctl.pin_root, &ctl.admin))
		return EXIT_USAGE;
	if (!argc)
		return usage_error("missing command (status, policy, routes, disable, certs, cache, overlay or help)");
	cmd = argv[0];
	if (cmd[0] == '-' && cmd[1])
		return usage_error("unknown option '%s'", cmd);
	if (!strcmp(cmd, "help")) {
		if (argc == 1) {
			help_usage(stdout);
			return EXIT_OK;
		}
		return help_command(argv + 1, argc - 1);
	}
	if (!strcmp(cmd, "status"))
		return cmd_status(&ctl, argc, argv);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(&ctl, argc, argv);
	if (!strcmp(cmd, "disable"))
		return cmd_disable(&ctl, argc, argv);
	if (!strcmp(cmd, "routes"))
		return cmd_routes(&ctl, argc, argv);
	if (!strcmp(cmd, "certs"))
		return cmd_certs(&ctl, argc, argv);
	if (!strcmp(cmd, "cache"))
		return cmd_cache(&ctl, argc, argv);
	if (!strcmp(cmd, "overlay") && argc > 1 && !strcmp(argv[1], "status"))
		return cmd_overlay_status(&ctl, argc, argv);
	if (!strcmp(cmd, "overlay"))
		return cmd_overlay(&ctl, argc, argv);
	return usage_error("unknown command '%s' (expected status, policy, routes, disable, certs, cache, overlay or help)",
			   cmd);
}

/* Takes the global options out of argv, wherever they are (before a "--"), leaving the
 * command words and the command's own options (certs init --hosts ...) in order in
 * words. Returns -1 to go on, or the exit status of a usage error. */
static int parse_global(int argc, char **argv, char **words, int *n_words, bool *help)
{
	bool dashdash = false;

	*n_words = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		const char **target = NULL;
		size_t l = 0;

		if (dashdash || a[0] != '-' || !a[1]) {
			words[(*n_words)++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = true;
		} else if (!strcmp(a, "--json")) {
			ctl.json = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			version_print(stdout, cli_prog);
			return EXIT_OK;
		} else if (!strncmp(a, "--pin-root", l = strlen("--pin-root")) && (!a[l] || a[l] == '=')) {
			target = &ctl.pin_root;
		} else if (!strncmp(a, "--admin", l = strlen("--admin")) && (!a[l] || a[l] == '=')) {
			target = &ctl.admin.addr;
		} else {
			words[(*n_words)++] = a; /* the command's own option, or an error it reports */
			continue;
		}
		if (!target)
			continue;
		if (a[l] == '=')
			*target = a + l + 1;
		else if (i + 1 < argc)
			*target = argv[++i];
		else
			return usage_error("option '%s' needs an argument", a);
	}
	words[*n_words] = NULL;
	return -1;
}

int main(int argc, char **argv)
{
	const char *env;
	char **words = calloc((size_t)argc + 1, sizeof(*words));
	bool help = false;
	int n, rc;

	if (!words) {
		errmsg("out of memory");
		return EXIT_RUNTIME;
	}
	/* the environment gives defaults; options on the line win */
	if ((env = getenv("HERMES_PIN_ROOT")) && *env)
		ctl.pin_root = env;
	if ((env = getenv("HERMES_ADMIN")) && *env)
		ctl.admin.addr = env;
	rc = parse_global(argc, argv, words, &n, &help);
	if (rc < 0)
		rc = run(words, n, help);
	free(words);
	return rc;
}
