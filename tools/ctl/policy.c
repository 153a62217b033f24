/* policy.c: `hermesctl policy list|add|del`: the rules of the policy map (hermes_policy)
 * read and changed in place, and for a tunnel rule the check that one of hermesd's
 * tunnel routes covers it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "hermes/pin.h"
#include "policy.h"

struct rule_row {
	char match[80];
	unsigned action, origin, proto;
};

struct rule_list {
	struct rule_row *rows;
	size_t n, cap;
	int err;
};

static int collect_rule(const struct hermes_policy_key *k, const struct hermes_policy_val *v, void *arg)
{
	struct rule_list *l = arg;
	struct rule_row *r;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct rule_row *p = realloc(l->rows, ncap * sizeof(*p));

		if (!p) {
			l->err = -ENOMEM;
			return 1;
		}
		l->rows = p;
		l->cap = ncap;
	}
	r = &l->rows[l->n++];
	/* A key written by hand with bpftool may not be expressible as CIDR[:PORT]:
	 * show its raw fields rather than hiding it. */
	if (pol_fmt_match(k, r->match, sizeof(r->match)))
		snprintf(r->match, sizeof(r->match), "<raw prefixlen=%u family=%u port=%u>",
			 k->prefixlen, k->family, ntohs(k->port));
	r->action = v->action;
	r->origin = v->origin;
	r->proto = k->proto;
	return 0;
}

static void print_action(char *buf, size_t len, unsigned a)
{
	/* the BPF programs deny it: say so rather than print a number that looks valid */
	if (a < HERMES_ACT_MAX)
		snprintf(buf, len, "%s", pol_action_name(a));
	else
		snprintf(buf, len, "unknown(%u)", a);
}

static void print_origin(char *buf, size_t len, unsigned o)
{
	if (o == HERMES_ORIGIN_MANUAL || o == HERMES_ORIGIN_CONFIG)
		snprintf(buf, len, "%s", pol_origin_name(o));
	else
		snprintf(buf, len, "origin %u", o);
}

static int policy_list(const struct ctl *c, int argc, char **argv)
{
	struct rule_list l = { 0 };
	bool json;
	size_t w = strlen("MATCH");
	int fd, err;

	err = ctl_json_arg(c, argc, argv, "policy list", "", &json);
	if (err)
		return err;
	fd = ctl_open_policy(c);
	if (fd < 0)
		return EXIT_RUNTIME;
	err = pol_map_foreach(fd, collect_rule, &l);
	close(fd);
	if (!err)
		err = l.err;
	if (err) {
		errmsg("cannot read %s/%s: %s (%s)", c->pin_root, HERMES_MAP_POLICY, strerror(-err), ctl_pin_hint(-err));
		free(l.rows);
		return EXIT_RUNTIME;
	}

	for (size_t i = 0; i < l.n; i++)
		if (strlen(l.rows[i].match) > w)
			w = strlen(l.rows[i].match);
	if (json)
		printf("[");
	else
		printf("%-*s  %-8s %-7s %s\n", (int)w, "MATCH", "ACTION", "ORIGIN", "PROTO");
	for (size_t i = 0; i < l.n; i++) {
		char a[24], o[24], p[24];

		print_action(a, sizeof(a), l.rows[i].action);
		print_origin(o, sizeof(o), l.rows[i].origin);
		if (l.rows[i].proto <= HERMES_PROTO_UDP)
			snprintf(p, sizeof(p), "%s", pol_proto_name(l.rows[i].proto));
		else
			snprintf(p, sizeof(p), "proto %u", l.rows[i].proto);
		if (json) {
			printf("%s\n  {\"match\": ", i ? "," : "");
			json_str(stdout, l.rows[i].match);
			printf(", \"protocol\": ");
			json_str(stdout, p);
			printf(", \"action\": ");
			json_str(stdout, a);
			printf(", \"origin\": ");
			json_str(stdout, o);
			printf("}");
		} else {
			printf("%-*s  %-8s %-7s %s\n", (int)w, l.rows[i].match, a, o, p);
		}
	}
	if (json)
		printf("%s]\n", l.n ? "\n" : "");
	for (size_t i = 0, n_bad = 0; i < l.n; i++)
		if (l.rows[i].action >= HERMES_ACT_MAX && !n_bad++)
			errmsg("rules shown as unknown(N) hold an action hermes does not know: their connects are "
			       "denied; rewrite them with 'hermesctl policy add MATCH ACTION' or delete them");
	free(l.rows);
	return EXIT_OK;
}

/* Takes `--protocol tcp|udp|both` (or `--protocol=...`) out of argv; *protos is
 * POL_PROTO_TCP when it is absent. -1 (message printed) for a bad or missing word. */
static int take_protocol(int *argc, char **argv, unsigned *protos)
{
	*protos = POL_PROTO_TCP;
	for (int i = 1; i < *argc; i++) {
		const char *w = NULL;
		int used = 1;

		if (!strncmp(argv[i], "--protocol=", 11)) {
			w = argv[i] + 11;
		} else if (!strcmp(argv[i], "--protocol")) {
			w = i + 1 < *argc ? argv[i + 1] : NULL;
			used = 2;
		} else {
			continue;
		}
		if (pol_parse_protos(w, protos)) {
			errmsg("bad --protocol '%s' (expected tcp, udp or both)", w ? w : "");
			return -1;
		}
		memmove(&argv[i], &argv[i + used], (size_t)(*argc - i - used) * sizeof(*argv));
		*argc -= used;
		i--;
	}
	return 0;
}

/* Parses a match for add/del, and how messages write it (as stored: host bits
 * cleared); prints the reason and returns -1 when it is bad. */
static int parse_match_arg(const char *s, struct hermes_policy_key *key, char *canon, size_t len)
{
	char why[256];

	if (pol_parse_match_err(s, key, why, sizeof(why))) {
		errmsg("%s", why);
		return -1;
	}
	if (pol_fmt_match(key, canon, len))
		snprintf(canon, len, "%s", s);
	return 0;
}

/* Whether hermesd has a tunnel route for every destination of a tunnel rule: asks
 * GET /routes and compares each route match with the rule's. */
struct route_check {
	bool checked;           /* hermesd answered with its routes */
	bool answered;          /* hermesd answered, but not 200 */
	char covered_by[64];    /* a route covering the whole match, "" if none */
	char partial[256];      /* routes covering only part of it, comma-separated */
	char detail[256];       /* why it could not be checked */
};

/* Whether name is one of the words of a comma-separated list. */
static bool in_list(const char *list, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = list; (p = strstr(p, name)); p += l)
		if ((p == list || p[-1] == ',') && (p[l] == ',' || !p[l]))
			return true;
	return false;
}

static void route_check(const struct admin_client *admin, const struct hermes_policy_key *rule, struct route_check *rc)
{
	struct admin_answer a;
	const char *p, *end;

	memset(rc, 0, sizeof(*rc));
	if (admin_get(admin, "/routes", &a, rc->detail, sizeof(rc->detail)))
		return;
	if (a.status != 200) {
		rc->answered = true;
		ctl_status_line(&a, rc->detail, sizeof(rc->detail));
		free(a.buf);
		return;
	}
	rc->checked = true;
	/* {"routes":[{"name":"N","match":["CIDR",...],...},...],"http_routes":[...]}: the
	 * names and matches are hermesd's canonical words, no escapes in them */
	end = strstr(a.body, "\"http_routes\"");
	for (p = a.body; (p = strstr(p, "{\"name\":\"")) && (!end || p < end);) {
		char name[64] = "";
		const char *m;

		p += strlen("{\"name\":\"");
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, "\""), p);
		m = strstr(p, "\"match\":[");
		if (!m)
			break;
		for (m += strlen("\"match\":["); *m == '"';) {
			struct hermes_policy_key k;
			char word[80];
			size_t l = strcspn(m + 1, "\"");

			snprintf(word, sizeof(word), "%.*s", (int)l, m + 1);
			m += l + 2;
			if (*m == ',')
				m++;
			if (pol_parse_match(word, &k))
				continue;
			if (pol_key_covers(&k, rule)) {
				if (!rc->covered_by[0])
					snprintf(rc->covered_by, sizeof(rc->covered_by), "%s", name);
			} else if (pol_key_covers(rule, &k) && !in_list(rc->partial, name)) {
				size_t pl = strlen(rc->partial);

				snprintf(rc->partial + pl, sizeof(rc->partial) - pl, "%s%s", pl ? "," : "", name);
			}
		}
	}
	free(a.buf);
}

static int policy_add(const struct ctl *c, int argc, char **argv)
{
	struct hermes_policy_key key;
	struct hermes_policy_val val;
	struct route_check rc = { 0 };
	enum hermes_action act = HERMES_ACT_PASS;
	unsigned protos;
	char canon[80];
	int fd, err = 0;

	if (take_protocol(&argc, argv, &protos))
		return EXIT_USAGE;
	if (argc != 3)
		return usage_error("policy add: expected CIDR[:PORT] ACTION [--protocol tcp|udp|both], "
				   "e.g. 'policy add 10.0.0.0/8:80 proxy'");
	/* Both words are checked before the map is opened: a typo must never leave a
	 * half-applied change or a misleading "cannot open" error. */
	if (parse_match_arg(argv[1], &key, canon, sizeof(canon)))
		return EXIT_USAGE;
	if (pol_parse_action(argv[2], &act)) {
		errmsg("unknown action '%s' (expected pass, deny, proxy, tunnel or http)", argv[2]);
		return EXIT_USAGE;
	}
	if ((protos & POL_PROTO_UDP) && pol_udp_refusal(act)) {
		errmsg("%s -> %s with --protocol %s: %s", canon, argv[2], pol_protos_name(protos), pol_udp_refusal(act));
		return EXIT_USAGE;
	}
	fd = ctl_open_policy(c);
	if (fd < 0)
		return EXIT_RUNTIME;
	memset(&val, 0, sizeof(val));
	val.action = (__u8)act;
	val.origin = HERMES_ORIGIN_MANUAL;
	/* `both` is two entries, the TCP one first */
	for (unsigned p = HERMES_PROTO_TCP; p <= HERMES_PROTO_UDP && !err; p++) {
		if (!(protos & POL_PROTO_BIT(p)))
			continue;
		key.proto = (hermes_proto_t)p;
		err = pol_map_put(fd, &key, &val);
	}
	close(fd);
	if (err) {
		errmsg("cannot write %s -> %s to %s/%s: %s%s", canon, argv[2], c->pin_root, HERMES_MAP_POLICY,
		       strerror(-err), err == -ENOSPC || err == -E2BIG ? " (the map is full: delete unused rules)" : "");
		return EXIT_RUNTIME;
	}
	if (act == HERMES_ACT_TUNNEL) {
		route_check(&c->admin, &key, &rc);
		if (!rc.checked)
			errmsg("warning: could not check that a tunnel route covers %s: hermesd %s at %s (%s)", canon,
			       rc.answered ? "refused GET /routes" : "did not answer", c->admin.addr, rc.detail);
		else if (!rc.covered_by[0] && rc.partial[0])
			errmsg("warning: tunnel route(s) %s cover only part of %s: connections to the rest of it will be "
			       "reset until hermesd's config has a route for them (see 'hermesctl routes')", rc.partial, canon);
		else if (!rc.covered_by[0])
			errmsg("warning: no tunnel route of hermesd at %s covers %s: its connections will be reset until "
			       "hermesd's config has a route for them (see 'hermesctl routes')", c->admin.addr, canon);
	}
	if (!c->json) {
		printf("policy: %s %s -> %s (manual)\n", canon, pol_protos_name(protos), pol_action_name(act));
		return EXIT_OK;
	}
	printf("{\"match\": ");
	json_str(stdout, canon);
	printf(", \"protocol\": \"%s\", \"action\": \"%s\", \"origin\": \"manual\", \"route_check\": ",
	       pol_protos_name(protos), pol_action_name(act));
	if (act != HERMES_ACT_TUNNEL) {
		printf("null}\n");
		return EXIT_OK;
	}
	printf("{\"checked\": %s, \"covered_by\": ", rc.checked ? "true" : "false");
	if (rc.covered_by[0])
		json_str(stdout, rc.covered_by);
	else
		printf("null");
	printf(", \"partial\": ");
	ctl_json_words(rc.partial, ",");
	if (!rc.checked) {
		printf(", \"detail\": ");
		json_str(stdout, rc.detail);
	}
	printf("}}\n");
	return EXIT_OK;
}

static int policy_del(const struct ctl *c, int argc, char **argv)
{
	struct hermes_policy_key key;
	unsigned protos;
	char canon[80];
	int fd, err = 0, n_del = 0;

	if (take_protocol(&argc, argv, &protos))
		return EXIT_USAGE;
	if (argc != 2)
		return usage_error("policy del: expected CIDR[:PORT] [--protocol tcp|udp|both], e.g. 'policy del 10.0.0.0/8:80'");
	if (parse_match_arg(argv[1], &key, canon, sizeof(canon)))
		return EXIT_USAGE;
	fd = ctl_open_policy(c);
	if (fd < 0)
		return EXIT_RUNTIME;
	/* `both` deletes whichever of the two exists */
	for (unsigned p = HERMES_PROTO_TCP; p <= HERMES_PROTO_UDP; p++) {
		int e;

		if (!(protos & POL_PROTO_BIT(p)))
			continue;
		key.proto = (hermes_proto_t)p;
		e = pol_map_del(fd, &key);
		if (!e)
			n_del++;
		else if (e != -ENOENT || !err)
			err = e;
	}
	if (n_del && err == -ENOENT)
		err = 0;
	close(fd);
	if (err == -ENOENT) {
		errmsg("no %s rule for %s (see 'hermesctl policy list': the prefix, port and protocol must match exactly)",
		       pol_protos_name(protos), canon);
		return EXIT_RUNTIME;
	}
	if (err) {
		errmsg("cannot delete %s from %s/%s: %s", canon, c->pin_root, HERMES_MAP_POLICY, strerror(-err));
		return EXIT_RUNTIME;
	}
	if (c->json) {
		printf("{\"deleted\": ");
		json_str(stdout, canon);
		printf("}\n");
	} else {
		printf("policy: deleted %s\n", canon);
	}
	return EXIT_OK;
}

int cmd_policy(const struct ctl *c, int argc, char **argv)
{
	if (argc < 2)
		return usage_error("policy: expected list, add or del");
	if (!strcmp(argv[1], "list"))
		return policy_list(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "add"))
		return policy_add(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete"))
		return policy_del(c, argc - 1, argv + 1);
	return usage_error("policy: unknown command '%s' (expected list, add or del)", argv[1]);
}
