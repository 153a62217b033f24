/* config_reload.c: what a SIGHUP does with each key of hermes.yaml. The key tables
 * (config.c's top level and the sections' tables it names) carry each key's mark, RELOAD
 * or RESTART: there is no other list. Here: the walk over every key with its mark
 * (config_keys, config_key_apply: hermesd and test_config_reload read them), and
 * config_reload_merge, which keeps the running value of every restart-only key and of
 * every key a command-line option set. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cfg_parse.h"
#include "config.h"

typedef void (*key_visit_fn)(const struct cfgp_key *k, const char *qname, void *arg);

/* The config's keys: top level, then each section's after the section itself. */
static void visit_keys(key_visit_fn fn, void *arg)
{
	char q[CFGP_QNAME_LEN];

	for (size_t i = 0; i < config_n_top_keys; i++) {
		const struct cfgp_key *t = &config_top_keys[i];

		fn(t, t->name, arg);
		for (size_t j = 0; j < t->nsub; j++) {
			snprintf(q, sizeof(q), "%s.%s", t->name, t->sub[j].name);
			fn(&t->sub[j], q, arg);
		}
	}
}

struct keys_arg {
	void (*fn)(const char *qname, enum cfg_apply apply, bool section, void *arg);
	void *arg;
};

static void keys_visit(const struct cfgp_key *k, const char *qname, void *arg)
{
	struct keys_arg *a = arg;

	a->fn(qname, k->apply, k->nsub > 0, a->arg);
}

void config_keys(void (*fn)(const char *qname, enum cfg_apply apply, bool section, void *arg), void *arg)
{
	struct keys_arg a = { fn, arg };

	visit_keys(keys_visit, &a);
}

struct apply_arg {
	const char *qname;
	int apply;
};

static void apply_visit(const struct cfgp_key *k, const char *qname, void *arg)
{
	struct apply_arg *a = arg;

	if (!strcmp(qname, a->qname))
		a->apply = (int)k->apply;
}

int config_key_apply(const char *qname)
{
	struct apply_arg a = { qname, -ENOENT };

	visit_keys(apply_visit, &a);
	return a.apply;
}

struct merge_arg {
	const struct hermes_config *run;
	struct hermes_config *next;
	struct cfg_reload_report *rep;
};

static void list_add(char *list, size_t len, int *n, const char *qname)
{
	size_t used = strlen(list);

	snprintf(list + used, len - used, "%s%s", *n ? ", " : "", qname);
	(*n)++;
}

static void merge_visit(const struct cfgp_key *k, const char *qname, void *arg)
{
	struct merge_arg *m = arg;
	const char *was = (const char *)m->run + k->off;
	char *now = (char *)m->next + k->off;
	bool differs, cmdline = config_key_line(m->run, qname) < 0;

	if (!k->span || (k->apply != CFG_APPLY_RESTART && !cmdline))
		return;
	/* strings compare as strings: the bytes after the NUL are not the value */
	differs = k->size ? strcmp(was, now) != 0 : memcmp(was, now, k->span) != 0;
	memcpy(now, was, k->span);
	if (cmdline) {
		/* worth a word only when the file itself gives another value */
		if (differs && config_key_line(m->next, qname) > 0)
			list_add(m->rep->cmdline, sizeof(m->rep->cmdline), &m->rep->n_cmdline, qname);
		config_key_overridden(m->next, qname);
	} else if (differs) {
		list_add(m->rep->restart, sizeof(m->rep->restart), &m->rep->n_restart, qname);
	}
}

void config_reload_merge(const struct hermes_config *running, struct hermes_config *next,
			 struct cfg_reload_report *report)
{
	struct merge_arg m;

	/* cleared before its pointer is kept: cppcheck's whole-program check took the kept
	 * pointer for a read of a caller's uninitialized report */
	memset(report, 0, sizeof(*report));
	m = (struct merge_arg){ running, next, report };
	visit_keys(merge_visit, &m);
}
