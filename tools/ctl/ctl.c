/* ctl.c: the helpers hermesctl's commands share (see ctl.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "hermes/pin.h"
#include "pinfs.h"

const char *ctl_pin_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "is hermesd running with this --pin-root?";
	case EACCES:
	case EPERM:
		return "run hermesctl as root: opening pins needs CAP_BPF and CAP_SYS_ADMIN";
	case EPROTO:
	case EINVAL:
		return "not a Hermes map of this version: is --pin-root right?";
	default:
		return "see hermesd's log";
	}
}

int ctl_check_root(const struct ctl *c)
{
	struct stat st;

	if (stat(c->pin_root, &st)) {
		if (errno == ENOENT || errno == ENOTDIR)
			errmsg("no Hermes state at %s (is hermesd running with --pin-root %s?)", c->pin_root, c->pin_root);
		else if (errno == EACCES || errno == EPERM)
			errmsg("cannot access %s: %s (run hermesctl as root)", c->pin_root, strerror(errno));
		else
			errmsg("cannot access %s: %s", c->pin_root, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		errmsg("%s is not a directory, so not a Hermes pin root (give hermesd's --pin-root)", c->pin_root);
		return -1;
	}
	return 0;
}

int ctl_open_pinned(const struct ctl *c, const char *name)
{
	char path[PATH_MAX];
	int fd = pin_open(c->pin_root, name);

	if (fd >= 0)
		return fd;
	if (pin_path(path, sizeof(path), c->pin_root, name))
		snprintf(path, sizeof(path), "%s/...", c->pin_root);
	errmsg("cannot open %s: %s (%s)", path, strerror(-fd), ctl_pin_hint(-fd));
	return -1;
}

int ctl_open_policy(const struct ctl *c)
{
	if (ctl_check_root(c))
		return -1;
	return ctl_open_pinned(c, HERMES_MAP_POLICY);
}

void ctl_status_line(const struct admin_answer *a, char *detail, size_t len)
{
	snprintf(detail, len, "%.*s", (int)strcspn(a->buf, "\r\n"), a->buf);
}

int ctl_json_arg(const struct ctl *c, int argc, char **argv, const char *cmd, const char *expected, bool *json)
{
	*json = c->json;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			*json = true;
		else
			return usage_error("%s: unexpected argument '%s'%s", cmd, argv[i], expected);
	}
	return EXIT_OK;
}

void ctl_json_words(char *list, const char *sep)
{
	printf("[");
	for (char *save = NULL, *t = strtok_r(list, sep, &save); t; t = strtok_r(NULL, sep, &save)) {
		printf("%s", t == list ? "" : ", ");
		json_str(stdout, t);
	}
	printf("]");
}
