/* overlay.h: the whole-overlay file of `hermesctl overlay apply` (etc/overlay.yaml
 * documents it): its model, the parser (overlay_parse.c), the compiler that turns it into
 * each node's document (overlay_compile.c: the node's own keys verbatim, then the tunnel
 * routes, policy rules and shared list its routes give it) and the check of every
 * generated document with hermesd's own config loader (overlay_check.c). Pure: no etcd
 * here (overlay.c writes what this computes). Prefix ov_. Functions return 0 or -errno
 * and write one message "FILE:LINE:COL: what is wrong (what is expected)" into err. */
#ifndef HERMES_CTL_OVERLAY_H
#define HERMES_CTL_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "hermes/policy.h"

#define OV_MAX_NODES 128     /* etcd takes at most 128 operations in one transaction */
#define OV_MAX_SHARED 32
#define OV_MAX_ROUTES 256    /* hermesd's routes: at most 256 per node */
#define OV_MAX_ADDRS 8
#define OV_MAX_NODE_SHARED 8
#define OV_MAX_TO 8          /* a route's match: 1..8 CIDR[:PORT] (hermesd's limit) */
#define OV_MAX_FROM 64
#define OV_MAX_PATHS 8       /* a compiled route's peers: 1..8 */
#define OV_MAX_PATH_LEN 8    /* tunnel.max_hops' default */
#define OV_NAME_MAX 64       /* node and shared names: [A-Za-z0-9._-], at most 63 */
#define OV_ROUTE_NAME_MAX 32 /* hermesd's route names: at most 31 */

enum ov_role { OV_ROLE_CLIENT = 1, OV_ROLE_RELAY = 2, OV_ROLE_EGRESS = 4, OV_ROLE_INGRESS = 8 };

/* A verbatim YAML text inside the overlay file (a node's config, a shared document) and
 * where it is: a literal block (|) maps its line k to the file's line first_line + k - 1
 * and its columns by indent; any other form (another string, or a YAML mapping, written
 * out by libyaml's emitter) is reported at the key's line. */
struct ov_text {
	char *text;
	size_t len;
	int key_line;   /* the line of its key */
	int first_line; /* a literal block's first line in the file; 0: not a literal block */
	int indent;
};

struct ov_node {
	char name[OV_NAME_MAX];
	int line;
	char addrs[OV_MAX_ADDRS][48]; /* the node's IPs (what `to: NODE` means) */
	int n_addrs;
	char tunnel[64];              /* its tunnel listener, IP:PORT, as its peers dial it */
	char tls_name[256];           /* the name its certificate carries ("": any from the CA) */
	unsigned roles;               /* enum ov_role */
	struct ov_text config;        /* its own reload keys (text NULL: none) */
	int shared[OV_MAX_NODE_SHARED]; /* indexes into overlay.shared */
	int n_shared;
};

struct ov_shared {
	char name[OV_NAME_MAX];
	int line;
	struct ov_text doc;
};

struct ov_route {
	char name[OV_ROUTE_NAME_MAX];
	int line;
	int from[OV_MAX_FROM]; /* node indexes */
	int n_from;
	char to[OV_MAX_TO][64]; /* CIDR[:PORT], canonical */
	struct hermes_policy_key to_key[OV_MAX_TO];
	int n_to;
	int paths[OV_MAX_PATHS][OV_MAX_PATH_LEN]; /* alternates in order of preference: node indexes */
	int path_len[OV_MAX_PATHS];
	int n_paths;
	char protocol[8];       /* h2, h2c or h1 */
	unsigned steer;         /* POL_PROTO bits of the policy rules given to its from nodes; 0: none */
};

struct overlay {
	const char *path;       /* for messages */
	char name[OV_NAME_MAX];
	char prefix[256];       /* "" when the file gives none */
	int prefix_line;
	char protocol[8];       /* the routes' default */
	struct ov_node *nodes;
	int n_nodes;
	struct ov_shared *shared;
	int n_shared;
	struct ov_route *routes;
	int n_routes;
};

/* A compiled node: its document as written to PREFIX/nodes/NAME, and the same without
 * its shared list with its shared documents merged in (what hermesd will build, checked
 * with config_load_mem by ov_check). */
struct ov_out {
	char **docs;            /* per node, as overlay.nodes */
	size_t *lens;
	char **comp;            /* per node: what its routes give it, without its shared list */
	size_t *comp_lens;
};

/* Reads the overlay file buf[0..len) (path names it in messages) into ov. Unknown keys,
 * keys given twice, wrong types, bad names or addresses, duplicate nodes, shared
 * documents or addresses, unknown node or shared names in routes are errors. */
int ov_parse(const char *path, const char *buf, size_t len, struct overlay *ov, char *err, size_t errlen);
void ov_free(struct overlay *ov);
const char *ov_role_names(unsigned roles, char *buf, size_t len);

/* Each node's document into out (ov_out_free releases it). Checks the routes as a
 * whole first: roles (from: client, a middle hop: relay, a path's last hop: egress),
 * hop nodes with a tunnel address, and loops: from every from node, for each
 * destination, every walk along the compiled routes (longest match at each node, every
 * peer) must end at a node with no route for it within OV_MAX_PATH_LEN hops. */
int ov_compile(const struct overlay *ov, struct ov_out *out, char *err, size_t errlen);
void ov_out_free(const struct overlay *ov, struct ov_out *out);

/* Checks node i's document as hermesd will build it (its shared documents merged in
 * the contract's way: list sections concatenated, node first; any other key set twice is
 * an error) with hermesd's config loader. The message names the node and the line: of
 * the overlay file when the fault is in the node's config or a shared document, else of
 * the generated document (quoted). */
int ov_check_node(const struct overlay *ov, const struct ov_out *out, int i, char *err, size_t errlen);

/* Checks shared document i alone with hermesd's loader (for one no node uses: the others
 * are checked with their nodes). */
int ov_check_shared(const struct overlay *ov, int i, char *err, size_t errlen);

/* ---- YAML documents (overlay_yaml.c) ---- */

/* The keys of the top-level mapping of text (a YAML document of reload keys) and
 * whether each holds a list: 0, or -EINVAL with where in err (line numbers of text). */
struct ov_keys {
	char (*names)[64];
	bool *is_list;
	int n;
};
int ov_top_keys(const char *text, size_t len, struct ov_keys *k, char *err, size_t errlen);
void ov_keys_free(struct ov_keys *k);
/* Node id of src (a mapping: a node's config or a shared document written as YAML
 * rather than as text) as a document's text, malloc'ed into *out. */
int ov_emit_node(yaml_document_t *src, int id, char **out, size_t *len);
/* The documents texts[0..n) as one: the top-level pairs in order, a key in several
 * (all lists) one list with their items in order; another key in two is an error naming
 * both (names[i] says whose each text is). skip: a top-level key left out (NULL: none).
 * *out malloc'ed. */
int ov_merge(const char *const *texts, const size_t *lens, const char *const *names, int n, const char *skip,
	     char **out, size_t *out_len, char *err, size_t errlen);

#endif
