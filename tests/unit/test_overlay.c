/* test_overlay.c: unit tests (no etcd) for hermesctl's overlay compiler (tools/ctl/
 * overlay_*.c): a chain and alternate paths compiled into exactly the tunnel routes one
 * would write by hand at each node (and nothing at the exit), steer's policy rules, a
 * node config holding routes merged with the compiled ones; the whole-file refusals
 * (duplicate nodes and addresses, unknown nodes and keys, roles, loops across routes, a
 * node both exit and relay, too long a path) with their lines; and each node's document
 * checked with hermesd's loader, a fault mapped to the overlay file's line and column or
 * to the generated routes' line, a key set by the node and a shared document refused (the
 * merge is hermesd's: a merged entry's fault at its shared document's line); a
 * config written as a YAML mapping.
 * Exit 0 when every check passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctl/overlay.h"

#define HEAD "overlay: t\nprotocol: h2c\n"
#define NODES3                                                                                 \
	"nodes:\n"                                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [client]}\n"                                 \
	"  - {name: r, address: 10.0.0.2, tunnel: 10.0.0.2:15008, roles: [relay]}\n"            \
	"  - {name: e, address: 10.0.0.3, tunnel: \"10.0.0.3:15008\", tls_name: e.lab, roles: [egress]}\n"

struct ov_case {
	struct overlay ov;
	struct ov_out out;
	char err[2048];
	int rc;
};

/* Parses and compiles text; rc the first failure's. */
static void build(struct ov_case *c, const char *text)
{
	memset(c, 0, sizeof(*c));
	c->rc = ov_parse("t.yaml", text, strlen(text), &c->ov, c->err, sizeof(c->err));
	if (!c->rc)
		c->rc = ov_compile(&c->ov, &c->out, c->err, sizeof(c->err));
}

static void done(struct ov_case *c)
{
	ov_out_free(&c->ov, &c->out);
	ov_free(&c->ov);
}

static const char *doc(struct ov_case *c, const char *node)
{
	for (int i = 0; i < c->ov.n_nodes; i++)
		if (!strcmp(c->ov.nodes[i].name, node))
			return c->out.docs[i];
	return NULL;
}

static bool test_chain(void)
{
	struct ov_case c;

	build(&c, HEAD NODES3 "routes:\n  - {name: web, from: a, to: [10.9.0.0/24, e], via: [r, e]}\n");
	if (!ASSERT_EQ(c.rc, 0, c.err))
		return false;
	ASSERT_STREQ(doc(&c, "a"),
		     "# node a of overlay t, written by hermesctl overlay apply: change the overlay file, not this key\n"
		     "routes:\n"
		     "  - name: \"web\"\n"
		     "    match: [\"10.9.0.0/24\", \"10.0.0.3/32\"]\n"
		     "    protocol: h2c\n"
		     "    peers:\n"
		     "      - \"10.0.0.2:15008\"   # node r\n",
		     "the client's route: its peer is the relay");
	ASSERT_HAS(doc(&c, "r"), "    peers:\n      - {address: \"10.0.0.3:15008\", name: \"e.lab\"}   # node e\n",
		   "the relay's peer is the exit, its certificate name pinned");
	ASSERT_TRUE(!strstr(doc(&c, "e"), "routes:"), "the exit dials: no route (%s)", doc(&c, "e"));
	for (int i = 0; i < c.ov.n_nodes; i++)
		ASSERT_EQ(ov_check_node(&c.ov, &c.out, i, c.err, sizeof(c.err)), 0, c.err);
	done(&c);
	return true;
}

static bool test_alternates_steer_merge(void)
{
	struct ov_case c;

	build(&c, HEAD
	      "nodes:\n"
	      "  - name: a\n    address: 10.0.0.1\n    roles: [client]\n    config: |\n"
	      "      routes:\n        - {name: own, match: [192.0.2.0/24], protocol: h1, peers: [10.0.9.9:3128]}\n"
	      "  - {name: r1, address: 10.0.0.2, tunnel: 10.0.0.2:15008, roles: [relay]}\n"
	      "  - {name: r2, address: 10.0.0.4, tunnel: 10.0.0.4:15008, roles: [relay]}\n"
	      "  - {name: e, address: 10.0.0.3, tunnel: 10.0.0.3:15008, roles: [egress]}\n"
	      "routes:\n"
	      "  - {name: web, from: a, to: 10.9.0.0/24:443, via: [[r1, e], [r2, e]], steer: both}\n");
	if (!ASSERT_EQ(c.rc, 0, c.err))
		return false;
	/* the node's own routes and the compiled one in one list: merged by libyaml */
	ASSERT_HAS(doc(&c, "a"), "name: own", "the node's own route stays");
	ASSERT_HAS(doc(&c, "a"), "- name: \"web\"", "the compiled route joins it");
	ASSERT_HAS(doc(&c, "a"), "10.0.0.2:15008", "first peer r1");
	ASSERT_TRUE(strstr(doc(&c, "a"), "10.0.0.2:15008") < strstr(doc(&c, "a"), "10.0.0.4:15008"),
		    "r1 before r2 (order of preference): %s", doc(&c, "a"));
	ASSERT_HAS(doc(&c, "a"), "action: tunnel", "steer: both gives a policy rule");
	ASSERT_HAS(doc(&c, "a"), "protocol: both", "... for both protocols");
	ASSERT_HAS(doc(&c, "r2"), "10.0.0.3:15008", "the second relay goes to the exit too");
	for (int i = 0; i < c.ov.n_nodes; i++)
		ASSERT_EQ(ov_check_node(&c.ov, &c.out, i, c.err, sizeof(c.err)), 0, c.err);
	done(&c);
	return true;
}

/* text is refused with a message holding want */
static bool refused(const char *text, const char *want)
{
	struct ov_case c;
	bool ok;

	build(&c, text);
	ok = ASSERT_TRUE(c.rc != 0, "refused: %s", want) && ASSERT_HAS(c.err, want, "the message");
	done(&c);
	return ok;
}

static bool test_refusals(void)
{
	refused(HEAD NODES3 "  - {name: a, roles: [client]}\n", "t.yaml:7:12: node 'a' is declared twice (first on line 4)");
	refused(HEAD NODES3 "  - {name: x, address: 10.0.0.2, roles: [client]}\n",
		"address 10.0.0.2 of node 'x' is also node 'r''s");
	refused(HEAD NODES3 "routes:\n  - {name: w, from: a, to: 10.9.0.0/24, via: [r, zz]}\n",
		"t.yaml:8:50: route names node 'zz' in 'via'");
	refused(HEAD NODES3 "routes:\n  - {name: w, from: a, to: 10.9.0.0/24, via: [e], color: red}\n",
		"unknown key 'color' in a route");
	refused(HEAD NODES3 "routes:\n  - {name: w, from: a, to: 10.9.0.300/24, via: [e]}\n", "10.9.0.300/24");
	refused(HEAD NODES3 "routes:\n  - {name: w, from: r, to: 10.9.0.0/24, via: [e]}\n",
		"route 'w' uses node 'r' as a client (from), but its roles are relay");
	refused(HEAD NODES3 "routes:\n  - {name: w, from: a, to: 10.9.0.0/24, via: [e, r]}\n",
		"uses node 'e' as a relay");
	refused(HEAD
		"nodes:\n"
		"  - {name: a, address: 10.0.0.1, tunnel: 10.0.0.1:1, roles: [client, relay, egress]}\n"
		"  - {name: b, address: 10.0.0.2, tunnel: 10.0.0.2:1, roles: [client, relay, egress]}\n"
		"routes:\n"
		"  - {name: w, from: a, to: 10.9.0.0/16, via: [b]}\n"
		"  - {name: back, from: b, to: 10.9.0.0/15, via: [a]}\n",
		"the routes loop for 10.9.0.0/16: a (route w) -> b (route back) -> a");
	refused(HEAD
		"nodes:\n"
		"  - {name: a, address: 10.0.0.1, roles: [client]}\n"
		"  - {name: b, address: 10.0.0.2, tunnel: 10.0.0.2:1, roles: [relay, egress]}\n"
		"  - {name: c, address: 10.0.0.3, tunnel: 10.0.0.3:1, roles: [relay, egress]}\n"
		"routes:\n"
		"  - {name: w, from: a, to: 10.9.0.0/16, via: [[b, c], [c, b]]}\n",
		"node 'b' is the last hop of one path");
	refused(HEAD NODES3 "routes:\n  - {name: w, from: a, to: 10.9.0.0/16, via: [r, r, r, r, r, r, r, r, e]}\n",
		"'via' has more than 8 entries");
	/* the 9th address is refused before node_addr takes a slot for it (lint: no slot
	 * past the end of addrs is ever formed) */
	refused(HEAD "nodes:\n  - {name: a, roles: [client], address: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, "
		"10.0.0.5, 10.0.0.6, 10.0.0.7, 10.0.0.8, 10.0.0.9]}\n",
		"'address' has more than 8 entries");
	refused(HEAD "nodes:\n  - {name: a, roles: [client], config: [policy]}\n",
		"'config' must be the YAML of reload keys: a literal block ('config: |' and the keys indented below) or "
		"a mapping, got a list");
	return true;
}

/* text compiles, and its first node's document is refused with a message holding want */
static bool node_refused(const char *text, const char *want)
{
	struct ov_case c;
	bool ok;

	build(&c, text);
	ok = ASSERT_EQ(c.rc, 0, c.err) &&
	     ASSERT_TRUE(ov_check_node(&c.ov, &c.out, 0, c.err, sizeof(c.err)) != 0, "refused: %s", want) &&
	     ASSERT_HAS(c.err, want, "the message");
	done(&c);
	return ok;
}

static bool test_config_mapping(void)
{
	struct ov_case c;

	/* a config written as YAML, not as text: written out as a document */
	build(&c, HEAD "nodes:\n  - {name: a, roles: [client], config: {policy: [{match: 10.1.0.0/16, action: deny}]}}\n");
	if (!ASSERT_EQ(c.rc, 0, c.err))
		return false;
	ASSERT_HAS(c.out.docs[0], "{policy: [{match: 10.1.0.0/16, action: deny}]}", "the mapping as YAML text");
	ASSERT_EQ(ov_check_node(&c.ov, &c.out, 0, c.err, sizeof(c.err)), 0, c.err);
	done(&c);
	node_refused(HEAD "nodes:\n  - name: a\n    roles: [client]\n    config:\n      proxy: {connect_attempts: 0}\n",
		     "t.yaml:6: node 'a': its config, its line 1 (`proxy: {connect_attempts: 0}`): 'proxy.connect_attempts'");
	return true;
}

static bool test_check_lines(void)
{
	struct ov_case c;

	/* line 8 of the file is the config's second line: the bad port at column 19 */
	node_refused(HEAD
		     "nodes:\n"
		     "  - name: a\n"
		     "    roles: [client]\n"
		     "    config: |\n"
		     "      policy:\n"
		     "        - {match: 10.1.0.0/16:99999, action: deny}\n",
		     "t.yaml:8:19: node 'a': its config: 'policy.match': port 99999 out of range");
	node_refused(HEAD
		     "shared:\n  s: |\n    proxy: {connect_attempts: 3}\n"
		     "nodes:\n"
		     "  - name: a\n    roles: [client]\n    shared: [s]\n    config: |\n      proxy: {connect_attempts: 2}\n",
		     "t.yaml:5:5: node 'a': shared document 's': 'proxy' is set here and in its document: a single value");
	/* a bad entry of a shared document, merged with the node's list (hermesd's merge,
	 * etcd_merge.c): the shared document's line in the file, the entry's column */
	node_refused(HEAD
		     "shared:\n  s: |\n    policy:\n      - {match: 10.2.0.0/16:99999, action: deny}\n"
		     "nodes:\n"
		     "  - name: a\n    roles: [client]\n    shared: [s]\n    config: |\n      policy:\n"
		     "        - {match: 10.1.0.0/16, action: deny}\n",
		     "t.yaml:6:9: node 'a': shared document 's': 'policy.match': port 99999 out of range");
	/* a config merged with the node's compiled routes (both set routes): its own fault
	 * still at its line in the file */
	node_refused(HEAD
		     "nodes:\n"
		     "  - name: a\n    roles: [client]\n    config: |\n"
		     "      routes:\n        - {name: own, match: [192.0.2.0/24], protocol: h1, peers: [10.0.9.9:3128]}\n"
		     "      proxy: {connect_attempts: 0}\n"
		     "  - {name: e, tunnel: 10.0.0.3:15008, roles: [egress]}\n"
		     "routes:\n  - {name: w, from: a, to: 10.9.0.0/16, via: [e]}\n",
		     "t.yaml:9:33: node 'a': its config: 'proxy.connect_attempts' value 0");
	/* a fault of the compiled routes (h2 peers need a tls section): the generated line */
	node_refused("overlay: t\nnodes:\n  - {name: a, roles: [client]}\n"
		     "  - {name: e, tunnel: 10.0.0.3:15008, roles: [egress]}\n"
		     "routes:\n  - {name: w, from: a, to: 10.9.0.0/16, via: [e]}\n",
		     "t.yaml: node 'a': line 2 of the routes the overlay gives it (overlay apply --dry-run --show a "
		     "prints them) (`  - name: \"w\"`): route 'w': peer 10.0.0.3:15008 uses TLS");

	build(&c, HEAD
	      "shared:\n  s: |\n    policy:\n      - {match: 10.2.0.0/16, action: deny}\n"
	      "nodes:\n"
	      "  - name: a\n    roles: [client]\n    shared: [s]\n    config: |\n      policy:\n"
	      "        - {match: 10.1.0.0/16, action: deny}\n");
	if (!ASSERT_EQ(c.rc, 0, c.err))
		return false;
	ASSERT_EQ(ov_check_node(&c.ov, &c.out, 0, c.err, sizeof(c.err)), 0, "two policy lists are joined");
	ASSERT_HAS(c.out.docs[0], "shared: [\"s\"]", "the node's document lists its shared documents");
	done(&c);
	return true;
}

int main(void)
{
	RUN(test_chain);
	RUN(test_alternates_steer_merge);
	RUN(test_refusals);
	RUN(test_check_lines);
	RUN(test_config_mapping);
	return check_summary("test_overlay");
}
