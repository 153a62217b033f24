/* overlay.c: `hermesctl overlay apply FILE`, `overlay diff FILE` and `overlay get
 * [--node N]`: the whole overlay (overlay.h) checked, compiled into each node's document
 * and written under the overlay's etcd prefix in one transaction (PREFIX/overlay, its
 * overlay-meta, PREFIX/nodes/NAME, PREFIX/shared/NAME, and the deletion of the node and shared
 * keys an earlier apply wrote that the file dropped); or compared with what is there. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "etcd.h"
#include "ctl_etcd.h"
#include "overlay.h"

#define MAX_FILE (4u << 20) /* hermesd's own bound on a document (CFG_MAX_FILE_BYTES) */
#define MAX_TXN_OPS 128     /* etcd's default --max-txn-ops */

struct args {
	const char *sub, *file, *node, *show;
	bool dry_run, force, json;
	long long base_rev;  /* --base-revision: nothing under the overlay changed after it */
	struct ctl_etcd etcd;
	bool etcd_given;     /* --etcd or -c: without them a dry run only checks the file */
	char prefix_opt[256]; /* --prefix as given ("": none) */
};

/* One key the overlay owns, as it is in etcd and as the file would have it. */
struct item {
	char key[512];
	char label[96];          /* "node a", "shared common", "overlay" */
	const char *want;        /* NULL: to delete */
	size_t want_len;
	const struct etcd_kv *have; /* NULL: absent */
	enum { SAME, ADDED, CHANGED, REMOVED } what;
};

struct plan {
	struct overlay ov;
	struct ov_out out;
	char *file;
	size_t file_len;
	char prefix[256];
	struct etcd_range cur;
	const struct etcd_kv *meta;
	struct item *items;
	int n_items;
};

static int read_file(const char *path, char **out, size_t *len)
{
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): only "overlay get" has no FILE, and it reads none */
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = malloc(MAX_FILE + 1);
	size_t n;

	if (!f || !buf) {
		errmsg("overlay: cannot read %s: %s", path, f ? "out of memory" : strerror(errno));
		free(buf);
		return -1;
	}
	n = fread(buf, 1, MAX_FILE + 1, f);
	if (f != stdin)
		fclose(f);
	if (n > MAX_FILE) {
		errmsg("overlay: %s is larger than %u bytes", path, MAX_FILE);
		free(buf);
		return -1;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static const struct etcd_kv *find_kv(const struct etcd_range *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->kvs[i].key, key))
			return &r->kvs[i];
	return NULL;
}

static void plan_free(struct plan *p)
{
	ov_out_free(&p->ov, &p->out);
	ov_free(&p->ov);
	etcd_range_free(&p->cur);
	free(p->items);
	free(p->file);
}

/* The file read, parsed, compiled and every node's document checked: 0, or -1 after
 * printing each fault. */
static int load_overlay(struct plan *p, const char *path, const char *cmd)
{
	char err[2048];
	int bad = 0;

	if (read_file(path, &p->file, &p->file_len))
		return -1;
	if (ov_parse(path, p->file, p->file_len, &p->ov, err, sizeof(err)) ||
	    ov_compile(&p->ov, &p->out, err, sizeof(err))) {
		errmsg("%s: %s", cmd, err);
		return -1;
	}
	for (int i = 0; i < p->ov.n_nodes; i++)
		if (ov_check_node(&p->ov, &p->out, i, err, sizeof(err))) {
			errmsg("%s: %s", cmd, err);
			bad++;
		}
	for (int s = 0; s < p->ov.n_shared; s++) {
		bool used = false;

		for (int i = 0; i < p->ov.n_nodes; i++)
			for (int k = 0; k < p->ov.nodes[i].n_shared; k++)
				used |= p->ov.nodes[i].shared[k] == s;
		if (!used && ov_check_shared(&p->ov, s, err, sizeof(err))) {
			errmsg("%s: %s", cmd, err);
			bad++;
		}
	}
	if (bad) {
		errmsg("%s: %d document%s refused by hermesd's config check: nothing written", cmd, bad, bad > 1 ? "s" : "");
		return -1;
	}
	return 0;
}

/* The names an earlier apply wrote (overlay-meta's "nodes" or "shared"). */
static json_t *meta_list(const struct etcd_kv *meta, const char *which)
{
	json_t *o = meta ? json_loads(meta->value, 0, NULL) : NULL, *l = o ? json_incref(json_object_get(o, which)) : NULL;

	json_decref(o);
	return json_is_array(l) ? l : (json_decref(l), json_array());
}

static int add_item(struct plan *p, const char *kind, const char *name, const char *want, size_t len)
{
	struct item *it = &p->items[p->n_items];

	memset(it, 0, sizeof(*it));
	if (*kind)
		snprintf(it->key, sizeof(it->key), "%s/%s/%s", p->prefix, kind, name);
	else
		snprintf(it->key, sizeof(it->key), "%s/%s", p->prefix, name);
	snprintf(it->label, sizeof(it->label), "%s%s%s", !strcmp(kind, "nodes") ? "node" : kind, *kind ? " " : "", name);
	it->want = want;
	it->want_len = len;
	it->have = find_kv(&p->cur, it->key);
	if (!want)
		it->what = it->have ? REMOVED : SAME;
	else if (!it->have)
		it->what = ADDED;
	else
		it->what = it->have->value_len == len && !memcmp(it->have->value, want, len) ? SAME : CHANGED;
	p->n_items++;
	return 0;
}

/* A deletion for each name of list (kind "nodes" or "shared") the file no longer has. */
static void add_dropped(struct plan *p, const char *kind, json_t *list)
{
	size_t idx;
	json_t *v;

	json_array_foreach(list, idx, v) {
		char key[512];
		bool kept = false;

		if (!json_is_string(v) || strchr(json_string_value(v), '/'))
			continue;
		snprintf(key, sizeof(key), "%s/%s/%s", p->prefix, kind, json_string_value(v));
		for (int i = 0; i < p->n_items; i++)
			kept |= !strcmp(p->items[i].key, key);
		if (!kept)
			add_item(p, kind, json_string_value(v), NULL, 0);
	}
}

/* What is in etcd under the prefix, and the items of the plan. */
static int read_current(struct plan *p, struct args *a, const char *cmd)
{
	char err[512], key[300];
	json_t *old_nodes, *old_shared;
	size_t n = 0;
	int rc;

	snprintf(key, sizeof(key), "%s/", p->prefix);
	if ((rc = etcd_range(&a->etcd.cl, key, true, &p->cur, err, sizeof(err)))) {
		errmsg("%s: cannot read %s from etcd: %s", cmd, key, err);
		return -1;
	}
	snprintf(key, sizeof(key), "%s/overlay-meta", p->prefix);
	p->meta = find_kv(&p->cur, key);
	old_nodes = meta_list(p->meta, "nodes");
	old_shared = meta_list(p->meta, "shared");
	n = (size_t)p->ov.n_nodes + (size_t)p->ov.n_shared + json_array_size(old_nodes) + json_array_size(old_shared) + 1;
	if (!(p->items = calloc(n, sizeof(*p->items)))) {
		json_decref(old_nodes);
		json_decref(old_shared);
		return -1;
	}
	add_item(p, "", "overlay", p->file, p->file_len);
	for (int i = 0; i < p->ov.n_nodes; i++)
		add_item(p, "nodes", p->ov.nodes[i].name, p->out.docs[i], p->out.lens[i]);
	for (int i = 0; i < p->ov.n_shared; i++)
		add_item(p, "shared", p->ov.shared[i].name, p->ov.shared[i].doc.text, p->ov.shared[i].doc.len);
	add_dropped(p, "nodes", old_nodes);
	add_dropped(p, "shared", old_shared);
	json_decref(old_nodes);
	json_decref(old_shared);
	return 0;
}

/* The prefix: --prefix, else the file's, else -c's (ctl_etcd_open fills it from the file
 * it reads when still empty); --prefix at odds with the file's is refused. Then the
 * client. */
static int open_etcd(struct plan *p, struct args *a, const char *cmd)
{
	int rc;

	if (a->prefix_opt[0] && p->ov.prefix[0] && strcmp(a->prefix_opt, p->ov.prefix)) {
		errmsg("%s: the overlay file says prefix %s (line %d) but --prefix gives %s: refusing to write one "
		       "overlay under another's prefix (drop one of them)", cmd, p->ov.prefix, p->ov.prefix_line,
		       a->prefix_opt);
		return EXIT_RUNTIME;
	}
	if (!a->prefix_opt[0] && p->ov.prefix[0])
		snprintf(a->etcd.e.prefix, sizeof(a->etcd.e.prefix), "%s", p->ov.prefix);
	if ((rc = ctl_etcd_open(&a->etcd, cmd)))
		return rc;
	snprintf(p->prefix, sizeof(p->prefix), "%s", a->etcd.e.prefix);
	return EXIT_OK;
}

static char *meta_json(const struct plan *p)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[65], host[256] = "", by[600];
	struct passwd *pw = getpwuid(getuid());
	struct timespec ts;
	json_t *o, *nodes = json_array(), *shared = json_array();
	char *s;

	EVP_Digest(p->file, p->file_len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = 0;
	gethostname(host, sizeof(host) - 1);
	snprintf(by, sizeof(by), "%s@%s", pw ? pw->pw_name : "?", host);
	clock_gettime(CLOCK_REALTIME, &ts);
	for (int i = 0; i < p->ov.n_nodes; i++)
		json_array_append_new(nodes, json_string(p->ov.nodes[i].name));
	for (int i = 0; i < p->ov.n_shared; i++)
		json_array_append_new(shared, json_string(p->ov.shared[i].name));
	o = json_pack("{s:I,s:s,s:s,s:s,s:o,s:o}", "applied_at", (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
		      "by", by, "sha256", hex, "overlay", p->ov.name, "nodes", nodes, "shared", shared);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

static const char *what_name(int w)
{
	return w == ADDED ? "added" : w == CHANGED ? "changed" : w == REMOVED ? "removed" : "unchanged";
}

/* What apply did or would do; --json: {"overlay", "prefix", "revision", "written",
 * "changes": [{"key", "what"}...], "unchanged": N}. */
static void print_changes(const struct plan *p, bool json, bool written, long long rev)
{
	int same = 0, n = 0;

	if (json) {
		printf("{\"overlay\": ");
		json_str(stdout, p->ov.name);
		printf(", \"prefix\": ");
		json_str(stdout, p->prefix);
		printf(", \"revision\": %lld, \"written\": %s, \"changes\": [", rev, written ? "true" : "false");
	}
	for (int i = 0; i < p->n_items; i++) {
		if (p->items[i].what == SAME) {
			same += strcmp(p->items[i].label, "overlay") != 0;
			continue;
		}
		if (json) {
			printf("%s{\"key\": ", n ? ", " : "");
			json_str(stdout, p->items[i].key);
			printf(", \"what\": \"%s\"}", what_name(p->items[i].what));
		} else {
			printf("%s%s: %s\n", written ? "" : "would be ", p->items[i].label, what_name(p->items[i].what));
		}
		n++;
	}
	if (json)
		printf("], \"unchanged\": %d}\n", same);
	else if (!n && !written)
		printf("no change: etcd under %s already holds this overlay (revision %lld)\n", p->prefix, rev);
	else if (same)
		printf("%d %s unchanged\n", same, same == 1 ? "document" : "documents");
	if (json || (!n && !written))
		return;
	if (!written)
		printf("dry run: nothing written (etcd at revision %lld)\n", rev);
	else
		printf("overlay %s applied under %s at revision %lld\n", p->ov.name, p->prefix, rev);
}

static int apply(struct args *a)
{
	const char *cmd = "overlay apply";
	struct plan p = { 0 };
	struct etcd_op *ops = NULL;
	struct etcd_cmp *cmps = NULL;
	char err[512], meta_key[300], *meta = NULL;
	int rc = EXIT_RUNTIME, n_ops = 0, n_cmp = 0, changed = 0;
	bool ok;
	int64_t rev;

	if (load_overlay(&p, a->file, cmd))
		goto out;
	if (a->show) {
		int i;

		for (i = 0; i < p.ov.n_nodes && strcmp(p.ov.nodes[i].name, a->show); i++)
			;
		if (i == p.ov.n_nodes) {
			errmsg("%s: --show %s: the overlay has no such node", cmd, a->show);
			goto out;
		}
		fwrite(p.out.docs[i], 1, p.out.lens[i], stdout);
	}
	if (!a->etcd_given && a->dry_run) {
		if (!a->show)
			printf("%s: valid: %d nodes, %d shared documents, %d routes (no etcd given: not compared)\n", a->file,
			       p.ov.n_nodes, p.ov.n_shared, p.ov.n_routes);
		rc = EXIT_OK;
		goto out;
	}
	if ((rc = open_etcd(&p, a, cmd)))
		goto out;
	rc = EXIT_RUNTIME;
	if (read_current(&p, a, cmd))
		goto out;
	for (int i = 0; i < p.n_items; i++)
		changed += p.items[i].what != SAME;
	if (a->show)
		fflush(stdout);
	if (!changed || a->dry_run) {
		print_changes(&p, a->json, false, (long long)p.cur.revision);
		rc = EXIT_OK;
		goto out;
	}
	snprintf(meta_key, sizeof(meta_key), "%s/overlay-meta", p.prefix);
	ops = calloc((size_t)p.n_items + 1, sizeof(*ops));
	cmps = calloc((size_t)p.n_items + 1, sizeof(*cmps));
	if (!ops || !cmps || !(meta = meta_json(&p))) {
		errmsg("%s: out of memory", cmd);
		goto out;
	}
	/* unless forced, nothing under the overlay changed since it was read (or since
	 * --base-revision, the revision a reviewed dry run or diff was made at): another
	 * operator's apply (overlay-meta) or a hand edit of a key this would replace */
	if (a->base_rev)
		cmps[n_cmp++] = (struct etcd_cmp){ meta_key, a->base_rev + 1, ETCD_CMP_LESS };
	else if (!a->force)
		cmps[n_cmp++] = (struct etcd_cmp){ meta_key, p.meta ? p.meta->mod_rev : 0, ETCD_CMP_EQUAL };
	for (int i = 0; i < p.n_items; i++) {
		struct item *it = &p.items[i];

		if (it->what == SAME)
			continue;
		ops[n_ops++] = (struct etcd_op){ it->want ? ETCD_OP_PUT : ETCD_OP_DELETE, it->key, it->want, it->want_len };
		if (a->base_rev)
			cmps[n_cmp++] = (struct etcd_cmp){ it->key, a->base_rev + 1, ETCD_CMP_LESS };
		else if (!a->force)
			cmps[n_cmp++] = (struct etcd_cmp){ it->key, it->have ? it->have->mod_rev : 0, ETCD_CMP_EQUAL };
	}
	ops[n_ops++] = (struct etcd_op){ ETCD_OP_PUT, meta_key, meta, strlen(meta) };
	if (n_ops > MAX_TXN_OPS) {
		errmsg("%s: %d keys change, more than the %d one etcd transaction takes by default (--max-txn-ops): "
		       "nothing written; raise etcd's --max-txn-ops or apply in steps", cmd, n_ops, MAX_TXN_OPS);
		goto out;
	}
	if (etcd_txn(&a->etcd.cl, cmps, (size_t)n_cmp, ops, (size_t)n_ops, &ok, &rev, err, sizeof(err))) {
		errmsg("%s: the transaction failed: %s (nothing is known to be written: run overlay diff)%s", cmd, err,
		       strstr(err, "too large") ? "; etcd takes at most --max-request-bytes (1.5 MiB by default) in "
						  "one request: raise it, or apply in steps" : "");
		goto out;
	}
	if (!ok) {
		char since[64];

		snprintf(since, sizeof(since), a->base_rev ? "after revision %lld" : "since it was read", a->base_rev);
		errmsg("%s: the overlay under %s changed %s (another apply, or a key edited by hand; etcd now at revision "
		       "%lld): nothing written; run overlay diff %s and apply again%s", cmd, p.prefix, since, (long long)rev,
		       a->file, a->base_rev ? "" : ", or --force");
		goto out;
	}
	print_changes(&p, a->json, true, (long long)rev);
	rc = EXIT_OK;
out:
	free(ops);
	free(cmps);
	free(meta);
	plan_free(&p);
	return rc;
}

/* diff -u of have (NULL: absent) and want (NULL: to be deleted): 0 same, 1 different,
 * 2 trouble. diff(1) does the work: it is in every Debian system (diffutils). */
static int unified(const struct item *it, const char *file)
{
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): the second getenv gives what the first did */
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char a[PATH_MAX], b[PATH_MAX], la[600], lb[600];
	int fa, fb, st = 0, rc = 2;
	pid_t pid;

	snprintf(a, sizeof(a), "%s/hermesctl-diff-XXXXXX", tmp);
	snprintf(b, sizeof(b), "%s/hermesctl-diff-XXXXXX", tmp);
	fa = mkstemp(a);
	fb = fa >= 0 ? mkstemp(b) : -1;

	if (fa < 0 || fb < 0) {
		errmsg("overlay diff: cannot make a temporary file in %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((it->have && write(fa, it->have->value, it->have->value_len) != (ssize_t)it->have->value_len) ||
	    (it->want && write(fb, it->want, it->want_len) != (ssize_t)it->want_len))
		goto out;
	snprintf(la, sizeof(la), "etcd %s%s", it->key, it->have ? "" : " (absent)");
	snprintf(lb, sizeof(lb), "%s %s%s", file, it->key, it->want ? "" : " (deleted)");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execlp("diff", "diff", "-u", "--label", la, "--label", lb, a, b, (char *)NULL);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) <= 1)
		rc = WEXITSTATUS(st);
	else
		errmsg("overlay diff: diff(1) failed for %s", it->key);
out:
	if (fa >= 0) {
		close(fa);
		unlink(a);
	}
	if (fb >= 0) {
		close(fb);
		unlink(b);
	}
	return rc;
}

static int diff(struct args *a)
{
	const char *cmd = "overlay diff";
	struct plan p = { 0 };
	int rc = 2;

	if (load_overlay(&p, a->file, cmd) || open_etcd(&p, a, cmd) || read_current(&p, a, cmd))
		goto out;
	rc = 0;
	for (int i = 0; i < p.n_items && rc < 2; i++) {
		int d;

		if (p.items[i].what == SAME)
			continue;
		d = unified(&p.items[i], a->file);
		rc = d > rc ? d : rc;
	}
out:
	plan_free(&p);
	return rc;
}

static int get(struct args *a)
{
	const char *cmd = "overlay get";
	struct etcd_range r;
	char key[512], err[512];

	int rc = ctl_etcd_open(&a->etcd, cmd);

	if (rc)
		return rc;
	if (a->node)
		snprintf(key, sizeof(key), "%s/nodes/%s", a->etcd.e.prefix, a->node);
	else
		snprintf(key, sizeof(key), "%s/overlay", a->etcd.e.prefix);
	if (etcd_range(&a->etcd.cl, key, false, &r, err, sizeof(err))) {
		errmsg("%s: cannot read %s from etcd: %s", cmd, key, err);
		return EXIT_RUNTIME;
	}
	if (!r.n) {
		errmsg("%s: %s is not in etcd (%s)", cmd, key,
		       a->node ? "no such node: overlay get prints the overlay, whose nodes are listed there" :
				 "no overlay was applied under this prefix");
		etcd_range_free(&r);
		return EXIT_RUNTIME;
	}
	fwrite(r.kvs[0].value, 1, r.kvs[0].value_len, stdout);
	etcd_range_free(&r);
	return EXIT_OK;
}

int cmd_overlay(const struct ctl *c, int argc, char **argv)
{
	struct args a = { 0 };
	char cmd[32], **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int n_rest = 0, rc;

	a.json = c->json;
	if (!rest) {
		errmsg("overlay: out of memory");
		return EXIT_RUNTIME;
	}
	if (argc < 2) {
		rc = usage_error("overlay: missing subcommand (apply FILE, diff FILE, get [--node N] or status)");
		goto out;
	}
	a.sub = argv[1];
	if (strcmp(a.sub, "apply") && strcmp(a.sub, "diff") && strcmp(a.sub, "get")) {
		rc = usage_error("overlay: unknown subcommand '%s' (expected apply, diff, get or status)", a.sub);
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "overlay %s", a.sub);
	if ((rc = ctl_etcd_parse(argc - 1, argv + 1, cmd, &a.etcd, rest, &n_rest)))
		goto out;
	a.etcd_given = a.etcd.e.n_endpoints || a.etcd.config;
	snprintf(a.prefix_opt, sizeof(a.prefix_opt), "%s", a.etcd.e.prefix);
	rc = EXIT_USAGE;
	for (int i = 0; i < n_rest; i++) {
		const char *o = rest[i];

		if (!strcmp(o, "--dry-run") && !strcmp(a.sub, "apply")) {
			a.dry_run = true;
		} else if (!strcmp(o, "--json") && !strcmp(a.sub, "apply")) {
			a.json = true;
		} else if (!strcmp(o, "--force") && !strcmp(a.sub, "apply")) {
			a.force = true;
		} else if (!strcmp(o, "--base-revision") && !strcmp(a.sub, "apply")) {
			char *end = NULL;

			if (i + 1 < n_rest)
				a.base_rev = strtoll(rest[++i], &end, 10);
			if (!end || *end || a.base_rev <= 0) {
				usage_error("%s: --base-revision needs a revision (a positive number, as a dry run prints)", cmd);
				goto out;
			}
		} else if ((!strcmp(o, "--show") && !strcmp(a.sub, "apply")) || (!strcmp(o, "--node") && !strcmp(a.sub, "get"))) {
			if (i + 1 >= n_rest) {
				usage_error("%s: option '%s' needs a node name", cmd, o);
				goto out;
			}
			*(o[2] == 's' ? &a.show : &a.node) = rest[++i];
		} else if (o[0] == '-' && o[1]) {
			usage_error("%s: unknown option '%s'", cmd, o);
			goto out;
		} else if (!a.file && strcmp(a.sub, "get")) {
			a.file = o;
		} else {
			usage_error("%s: unexpected argument '%s'", cmd, o);
			goto out;
		}
	}
	if (!a.file && strcmp(a.sub, "get")) {
		usage_error("%s: missing the overlay FILE (see etc/overlay.yaml)", cmd);
		goto out;
	}
	if (a.base_rev && a.force) {
		usage_error("overlay apply: --base-revision and --force contradict each other");
		goto out;
	}
	if (a.show && !a.dry_run) {
		usage_error("overlay apply: --show NODE goes with --dry-run");
		goto out;
	}
	rc = !strcmp(a.sub, "apply") ? apply(&a) : !strcmp(a.sub, "diff") ? diff(&a) : get(&a);
	if (a.etcd.cl.o.n_endpoints)
		ctl_etcd_close(&a.etcd);
out:
	free(rest);
	return rc;
}
