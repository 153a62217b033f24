/* disable.c: `hermesctl disable`: detaches every pinned link and removes every pin
 * under the pin root (pinfs.c's teardown), saying what it did as it goes; the one way to
 * remove Hermes, and idempotent. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "hermes/pin.h"
#include "links.h"
#include "pinfs.h"

/* A JSON array of strings built as events come (--json output of disable). */
struct json_list {
	char *buf;
	size_t len;
	FILE *f;
};

static void json_list_add(struct json_list *l, const char *s)
{
	if (!l->f && !(l->f = open_memstream(&l->buf, &l->len)))
		return;
	fputs(ftell(l->f) ? ", " : "", l->f);
	json_str(l->f, s);
}

/* Prints the array and frees it. */
static void json_list_print(struct json_list *l)
{
	if (l->f)
		fclose(l->f);
	printf("[%s]", l->buf ? l->buf : "");
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

struct teardown_ctx {
	bool json;
	const struct link_desc *links;
	int n_links;
	int detached, unpinned, failed;
	struct json_list det, rm; /* --json: the links detached, the pins removed */
};

static void on_teardown(enum pin_event ev, const char *path, int err, void *arg)
{
	struct teardown_ctx *c = arg;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (err) {
		c->failed++;
		errmsg("cannot %s %s: %s", ev == PIN_EV_DETACH ? "detach" : ev == PIN_EV_UNPIN ? "remove pin" : "remove directory",
		       path, strerror(-err));
		return;
	}
	if (c->json) {
		char dir[PATH_MAX + 1];

		snprintf(dir, sizeof(dir), "%s/", path);
		json_list_add(ev == PIN_EV_DETACH ? &c->det : &c->rm, ev == PIN_EV_DETACH ? base : ev == PIN_EV_RMDIR ? dir : path);
		if (ev == PIN_EV_DETACH)
			c->detached++;
		else if (ev == PIN_EV_UNPIN)
			c->unpinned++;
		return;
	}
	switch (ev) {
	case PIN_EV_DETACH: {
		const struct link_desc *d = NULL;

		for (int i = 0; i < c->n_links; i++)
			if (!strcmp(c->links[i].name, base))
				d = &c->links[i];
		c->detached++;
		if (d && !d->error[0])
			printf("detached %s (%s, program %s) from %s\n", base, d->attach, d->prog, d->cgroup);
		else
			printf("detached %s\n", base);
		break;
	}
	case PIN_EV_UNPIN:
		c->unpinned++;
		printf("removed pin %s\n", path);
		break;
	case PIN_EV_RMDIR:
		printf("removed %s/\n", path);
		break;
	}
}

static void disable_json(const char *pin_root, struct teardown_ctx *c)
{
	printf("{\"pin_root\": ");
	json_str(stdout, pin_root);
	printf(", \"detached\": ");
	json_list_print(&c->det);
	printf(", \"removed\": ");
	json_list_print(&c->rm);
	printf(", \"failed\": %d}\n", c->failed);
}

int cmd_disable(const struct ctl *ctl, int argc, char **argv)
{
	struct teardown_ctx c = { .json = ctl->json };
	struct link_desc *links = NULL;
	int n_links = 0, err;

	if (argc > 1)
		return usage_error("disable: unexpected argument '%s'", argv[1]);
	if (access(ctl->pin_root, F_OK) && errno == ENOENT) {
		/* idempotent: a second disable (or one after nothing ran) has nothing to do */
		if (ctl->json)
			disable_json(ctl->pin_root, &c);
		else
			printf("Hermes is not enabled at %s: nothing to disable.\n", ctl->pin_root);
		return EXIT_OK;
	}
	if (ctl_check_root(ctl))
		return EXIT_RUNTIME;
	/* Described before teardown: afterwards there is nothing left to ask. */
	if (links_scan(ctl->pin_root, &links, &n_links))
		n_links = 0;
	c.links = links;
	c.n_links = n_links;
	err = pin_teardown_report(ctl->pin_root, on_teardown, &c);
	free(links);
	if (err == -ENOTSUP) {
		errmsg("%s is not on bpffs: not a Hermes pin root, refusing to delete anything in it", ctl->pin_root);
		return EXIT_RUNTIME;
	}
	if (err == -EBUSY) {
		errmsg("%s is a bpffs mount point, not a Hermes pin root: refusing to remove every pin in it "
		       "(give hermesd's --pin-root, e.g. %s)", ctl->pin_root, HERMES_PIN_ROOT_DEFAULT);
		return EXIT_RUNTIME;
	}
	if (err && !c.failed) {
		errmsg("cannot tear down %s: %s (%s)", ctl->pin_root, strerror(-err), ctl_pin_hint(-err));
		return EXIT_RUNTIME;
	}
	if (err) {
		errmsg("%d step(s) failed: Hermes may still be partly attached (check 'bpftool cgroup tree')", c.failed);
		return EXIT_RUNTIME;
	}
	if (ctl->json)
		disable_json(ctl->pin_root, &c);
	else
		printf("Hermes disabled: %d link(s) detached, %d pin(s) removed; connections are no longer steered.\n",
		       c.detached, c.unpinned);
	return EXIT_OK;
}
