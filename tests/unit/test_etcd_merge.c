/* test_etcd_merge.c: unit tests for the merge of a node's document with its shared
 * documents (userspace/etcd_merge.c): lists joined node first in the listed order and
 * the result loaded by the config loader; a node document without `shared` handed as
 * written; a single value or a mapping set twice, a missing shared document, a shared
 * document naming others, bad names and a YAML error in a shared document refused with
 * the documents' keys and revisions; puts and deletes of the set (other keys advance the
 * revision only); a loader message about the merged text told of the document and
 * line it came from; an alias bomb stopped by the node limit; the state of the ETCD_EV_END
 * event of a watch response. Exit 0 when every check passes, 1 otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "etcd.h"
#include "etcd_merge.h"

#define NODE "/h/nodes/a"
#define SHARED "/h/shared/"

static void put(struct etcd_docset *d, const char *key, const char *value, int64_t rev)
{
	etcd_docset_put(d, key, value, strlen(value), rev);
}

static bool test_join_lists(void)
{
	struct etcd_docset d;
	struct etcd_merged m;
	struct hermes_config cfg;
	char err[512];
	int rc;

	etcd_docset_init(&d, NODE, SHARED);
	put(&d, NODE, "shared: [base, extra]\npolicy:\n  - {match: 10.0.0.1/32, action: deny}\nlog_level: info\n", 5);
	put(&d, SHARED "base", "policy:\n  - {match: 10.0.0.2/32, action: proxy}\n", 3);
	put(&d, SHARED "extra", "policy: [{match: 10.0.0.3/32, action: pass}]\n"
			       "access_log: off\n", 7);
	put(&d, SHARED "unused", "log_level: debug\n", 8);
	put(&d, "/h/overlay", "nodes: {}\n", 9);
	ASSERT_EQ(d.rev, 9, "every key advances the set's revision");
	rc = etcd_docset_merge(&d, &m, err, sizeof(err));
	if (!ASSERT_EQ(rc, 0, err))
		return false;
	ASSERT_EQ(m.doc_rev, 7, "the newest document used");
	ASSERT_EQ(m.n_shared, 2, "two shared documents");
	ASSERT_STREQ(m.used, " with /h/shared/base revision 3, /h/shared/extra revision 7", "what was used");
	ASSERT_HAS(m.doc, "# merged by hermesd: /h/nodes/a revision 5 with", "the comment names the documents");
	rc = config_load_mem("merged", m.doc, m.len, &cfg, err, sizeof(err));
	if (ASSERT_EQ(rc, 0, err)) {
		ASSERT_EQ(cfg.n_rules, 3, "the policy lists joined");
		ASSERT_EQ(cfg.rules[0].val.action, HERMES_ACT_DENY, "the node's rule first");
		ASSERT_EQ(cfg.rules[1].val.action, HERMES_ACT_PROXY, "then base's");
		ASSERT_EQ(cfg.rules[2].val.action, HERMES_ACT_PASS, "then extra's");
		ASSERT_EQ(cfg.log_level, LOG_INFO, "the node's single value");
		ASSERT_STREQ(cfg.access_log, "off", "a single value of a shared document");
		config_free(&cfg);
	}
	etcd_merged_free(&m);

	/* no shared list: the text as written (the loader's lines and columns stay right) */
	put(&d, NODE, "# mine\npolicy: [{match: 10.0.0.1/32, action: deny}]\n", 10);
	rc = etcd_docset_merge(&d, &m, err, sizeof(err));
	ASSERT_EQ(rc, 0, err);
	ASSERT_STREQ(m.doc, "# mine\npolicy: [{match: 10.0.0.1/32, action: deny}]\n", "as written");
	ASSERT_EQ(m.n_shared, 0, "no shared document");
	ASSERT_EQ(m.doc_rev, 10, "the node's revision");
	etcd_merged_free(&m);
	/* not YAML: as written too, for the loader to say where */
	put(&d, NODE, "policy: [\n", 11);
	ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), 0, "a syntax error is the loader's to report");
	ASSERT_STREQ(m.doc, "policy: [\n", "as written");
	etcd_merged_free(&m);
	etcd_docset_free(&d);
	return true;
}

/* merge of NODE's text with SHARED "s" (s_text), expecting -EINVAL and err containing want */
static bool refused(const char *node, const char *s_text, const char *want, int want_rc)
{
	struct etcd_docset d;
	struct etcd_merged m;
	char err[512];
	int rc;

	etcd_docset_init(&d, NODE, SHARED);
	put(&d, NODE, node, 20);
	if (s_text)
		put(&d, SHARED "s", s_text, 21);
	rc = etcd_docset_merge(&d, &m, err, sizeof(err));
	ASSERT_EQ(rc, want_rc, node);
	if (!rc)
		etcd_merged_free(&m);
	else
		ASSERT_HAS(err, want, "the reason");
	etcd_docset_free(&d);
	return rc == want_rc;
}

static bool test_refusals(void)
{
	refused("shared: [s]\nlog_level: info\n", "log_level: debug\n",
		"/h/shared/s revision 21:1:1: 'log_level' is set here and in /h/nodes/a revision 20", -EINVAL);
	refused("shared: [s]\ntunnel: {max_hops: 3}\n", "tunnel: {max_hops: 4}\n", "'tunnel' is set here", -EINVAL);
	refused("shared: [s]\npolicy: [{match: 10.0.0.1/32, action: deny}]\n", "policy: {}\n",
		"'policy' is set here", -EINVAL);
	refused("shared: [s, t]\n", "{}\n",
		"/h/nodes/a revision 20:1:13: the shared document 't' does not exist: no key /h/shared/t", -EINVAL);
	refused("shared: [s]\n", NULL, "the shared document 's' does not exist", -EINVAL);
	refused("shared: [s]\n", "shared: [x]\n", "a shared document cannot name shared documents", -EINVAL);
	refused("shared: [s, s]\n", "{}\n", "'shared' names 's' twice", -EINVAL);
	refused("shared: [a/b]\n", "{}\n", "'shared' entry 1 is not a name", -EINVAL);
	refused("shared: s\n", "{}\n", "'shared' is not a list", -EINVAL);
	refused("shared: [s]\n", "policy: [\n", "/h/shared/s revision 21:2:1: YAML syntax error", -EINVAL);
	refused("shared: [s]\n", "- a\n- b\n", "/h/shared/s revision 21:1:1: the top level is not a mapping",
		-EINVAL);
	/* a shared document that is empty adds nothing */
	refused("shared: [s]\nlog_level: info\n", "", "", 0);
	/* an alias used many times is copied as often: the loader's node limit holds */
	refused("shared: [s]\n",
		"a: &a [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
		"has more than 262144 keys", -E2BIG);
	return true;
}

/* the merged text has a line per entry, so a loader message names the document and line */
static bool test_explain(void)
{
	struct etcd_docset d;
	struct etcd_merged m;
	struct hermes_config cfg;
	char err[512], why[768];
	size_t lines = 0;
	int rc;

	etcd_docset_init(&d, NODE, SHARED);
	put(&d, NODE, "shared: [base, extra]\n"
		      "policy:\n  - {match: 10.0.0.1/32, action: deny}\n"
		      "access_log: \"off\"\n"
		      "tunnel_access: []\n", 5);
	put(&d, SHARED "base", "log_level: info\npolicy:\n  - match: 10.0.0.2/32\n    action: proxy\n", 3);
	put(&d, SHARED "extra", "# two rules\npolicy:\n  - {match: 10.0.0.3/32, action: pass}\n"
			       "  - match: 10.0.0.300/32\n    action: deny\n"
			       "http:\n  retry:\n    num_retries: 2\n", 7);
	rc = etcd_docset_merge(&d, &m, err, sizeof(err));
	if (!ASSERT_EQ(rc, 0, err))
		return false;
	for (const char *p = m.doc; *p; p++)
		lines += *p == '\n';
	/* comment, policy: + 4 entries, access_log, tunnel_access, log_level, http */
	ASSERT_EQ(lines, 10, m.doc);
	ASSERT_EQ(m.n_lines, 10, "the line map");
	rc = config_load_mem("merged", m.doc, m.len, &cfg, err, sizeof(err));
	ASSERT_EQ(rc, -EINVAL, "the bad match is refused");
	etcd_merged_explain(&m, "merged", err, why, sizeof(why));
	ASSERT_HAS(why, "/h/shared/extra revision 7:4:5: 'policy.match': bad match '10.0.0.300/32'", why);
	ASSERT_HAS(why, "(the entry on line 6 of the merged document)", why);
	etcd_merged_explain(&m, "other", err, why, sizeof(why));
	ASSERT_STREQ(why, err, "another name: as it is");
	etcd_merged_free(&m);
	/* a key set with a single value, its line named too */
	put(&d, SHARED "extra", "policy: []\nlog_level: [x]\n", 8);
	ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), -EINVAL, "log_level twice");
	put(&d, SHARED "extra", "policy: []\n\naccess_log_x: 1\n", 9);
	ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), 0, err);
	rc = config_load_mem("merged", m.doc, m.len, &cfg, err, sizeof(err));
	ASSERT_EQ(rc, -EINVAL, "an unknown key is refused");
	etcd_merged_explain(&m, "merged", err, why, sizeof(why));
	ASSERT_HAS(why, "/h/shared/extra revision 9:3:1: unknown top-level key 'access_log_x'", why);
	etcd_merged_free(&m);
	/* long strings and keys are not folded: an entry stays on its line */
	{
		char doc[1200], word[301];

		memset(word, 'x', 300);
		word[300] = 0;
		snprintf(doc, sizeof(doc), "policy:\n  - {match: 10.0.0.9/32, action: pass, %s: 1, note: \"%s %s\"}\n",
			 word, word, word);
		put(&d, SHARED "extra", doc, 11);
		ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), 0, err);
		lines = 0;
		for (const char *p = m.doc; *p; p++)
			lines += *p == '\n';
		ASSERT_EQ(lines, m.n_lines, m.doc);
		etcd_merged_free(&m);
	}
	/* a string with a line break stays on its entry's line */
	put(&d, SHARED "extra", "policy:\n  - {match: \"10.0.0.9/32\", action: \"pa\\nss\"}\n", 10);
	ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), 0, err);
	rc = config_load_mem("merged", m.doc, m.len, &cfg, err, sizeof(err));
	etcd_merged_explain(&m, "merged", err, why, sizeof(why));
	ASSERT_HAS(why, "/h/shared/extra revision 10:2:5: ", why);
	etcd_merged_free(&m);
	etcd_docset_free(&d);
	return true;
}

static bool test_set(void)
{
	struct etcd_docset d;
	struct etcd_merged m;
	char err[512];

	etcd_docset_init(&d, NODE, SHARED);
	ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), -ENOENT, "no node document");
	ASSERT_HAS(err, "no key /h/nodes/a", "says which key");
	put(&d, NODE, "shared: [s]\n", 2);
	put(&d, SHARED "s", "log_level: info\n", 3);
	put(&d, SHARED "s", "log_level: debug\n", 4);
	put(&d, SHARED "sub/x", "not a shared name\n", 5);
	put(&d, "/h/nodes/ab", "another node\n", 6);
	ASSERT_EQ(d.n_shared, 1, "one shared document, replaced");
	ASSERT_EQ(d.rev, 6, "the newest key seen");
	ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), 0, err);
	ASSERT_HAS(m.doc, "log_level: debug", "the newest value");
	ASSERT_EQ(m.doc_rev, 4, "its revision");
	etcd_merged_free(&m);
	etcd_docset_delete(&d, SHARED "s", 7);
	ASSERT_EQ(d.n_shared, 0, "deleted");
	ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), -EINVAL, "listed but deleted");
	ASSERT_HAS(err, "no key /h/shared/s at revision 7", err);
	etcd_docset_delete(&d, NODE, 8);
	ASSERT_EQ(etcd_docset_merge(&d, &m, err, sizeof(err)), -ENOENT, "the node's document deleted");
	put(&d, NODE, "log_level: info\n", 9);
	etcd_docset_clear(&d);
	ASSERT_TRUE(!d.node && !d.n_shared, "cleared");
	etcd_docset_free(&d);
	return true;
}

/* the watch parser hands an end after a response's events when asked */
static int count(void *arg, const struct etcd_event *ev)
{
	int64_t *v = arg;

	v[ev->type]++;
	if (ev->type == ETCD_EV_END)
		v[3] = ev->kv.mod_rev;
	return 0;
}

static bool test_watch_end(void)
{
	static const char resp[] =
		"{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{\"kv\":{\"key\":\"YQ==\",\"value\":\"eA==\","
		"\"mod_revision\":\"8\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"9\"}}]}}";
	static const char empty[] = "{\"result\":{\"header\":{\"revision\":\"9\"},\"created\":true}}";
	struct etcd_watch w = { .want_end = true };
	int64_t v[4] = { 0 };
	int stop = 0;

	ASSERT_EQ(etcd_watch_parse(&w, empty, strlen(empty), count, v, &stop), (long)strlen(empty), "created");
	ASSERT_EQ(v[ETCD_EV_END], 0, "no end without events");
	ASSERT_EQ(etcd_watch_parse(&w, resp, strlen(resp), count, v, &stop), (long)strlen(resp), "events");
	ASSERT_EQ(v[ETCD_EV_PUT] + v[ETCD_EV_DELETE], 2, "two events");
	ASSERT_EQ(v[ETCD_EV_END], 1, "then one end");
	ASSERT_EQ(v[3], 9, "at the last event's revision");
	w.want_end = false;
	ASSERT_EQ(etcd_watch_parse(&w, resp, strlen(resp), count, v, &stop), (long)strlen(resp), "again");
	ASSERT_EQ(v[ETCD_EV_END], 1, "no end unless asked");
	return true;
}

int main(void)
{
	RUN(test_join_lists);
	RUN(test_refusals);
	RUN(test_explain);
	RUN(test_set);
	RUN(test_watch_end);
	return check_summary("test_etcd_merge");
}
