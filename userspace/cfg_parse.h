/* cfg_parse.h: the configuration loader's key-table walker (cfg_parse.c), shared by the
 * modules that hold the key tables: config.c (the top level of hermes.yaml), cfg_net.c
 * (listeners, proxy, inbound, policy, endpoints, routes, tunnel_access, tls, tunnel) and
 * cfg_http.c (http, http_routes). Types in cfg_parse-t.h. Prefix cfgp_.
 *
 * Setters (cfgp_set_fn) and walkers return 0, or -EINVAL (-ENOMEM) after writing the
 * one message of the load into c->err with cfgp_fail(). */
#ifndef HERMES_CFG_PARSE_H
#define HERMES_CFG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "cfg_parse-t.h"

/* Writes "FILE:LINE:COL: " (n's position) and the message into c->err, control bytes
 * masked so that it stays one line; returns -EINVAL. */
int cfgp_fail(struct cfgp_ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same at a position of libyaml's event stream (the loader's first pass). */
int cfgp_fail_at(struct cfgp_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* s as it can be quoted in a message (shortened; valid until the next call). */
const char *cfgp_show(struct cfgp_ctx *c, const char *s);
/* "a mapping", "a list" or "a single value". */
const char *cfgp_node_kind(const yaml_node_t *n);
/* "a, b, c": the names of keys[0..n) (valid until the next call). */
const char *cfgp_key_names(struct cfgp_ctx *c, const struct cfgp_key *keys, size_t n);

/* An empty plain scalar (as in "key:" with nothing after it), ~ or null. */
bool cfgp_is_null(const yaml_node_t *n);
/* The text of a non-null scalar value into *out; expect says what a good value is. */
int cfgp_get_scalar(struct cfgp_ctx *c, const char *qname, const yaml_node_t *v, const char *expect,
		    const char **out);
/* The scalar value of key k as one of words[0..n): its index into *out, or the message
 * "unknown QNAME 'VALUE' (expected k->expect)". */
int cfgp_get_word(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
		  const char *const *words, unsigned n, unsigned *out);
/* Decimal, or hex with 0x. -EINVAL for junk, -ERANGE outside min..max (no message). */
int cfgp_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* The setters every table shares, into obj + k->off: an absolute path (k->size bytes),
 * a string (k->size bytes), a number in k->min..k->max (CFGP_HEX: shown in hex), an
 * address (CFGP_V4, CFGP_V6, CFGP_OFF), a boolean (config_parse_bool's words), and a
 * section (a mapping of k->sub filling obj itself). */
int cfgp_set_path(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgp_set_string(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgp_set_u32(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgp_set_addr(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgp_set_bool(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgp_set_section(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);

/* Applies every pair of `map` through the table `keys` (n entries) to obj. section is
 * the dotted name of the mapping (NULL at top level). vals[i], if given, receives the
 * value node of keys[i] (NULL when absent). Records the line of each key set in
 * c->cfg itself (config_key_line). */
int cfgp_parse_map(struct cfgp_ctx *c, yaml_node_t *map, const struct cfgp_key *keys, size_t n,
		   const char *section, void *obj, yaml_node_t **vals);
/* A mapping of k->sub keys filling obj itself; nothing after "key:" is fine. vals as
 * for cfgp_parse_map. */
int cfgp_parse_section(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj,
		       yaml_node_t **vals);
/* A list of scalars: checks that v is a list of min..max entries (k->expect says what),
 * then hands each entry's text to item(), with its index. Returns 0 or the first error. */
int cfgp_parse_scalar_list(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			   size_t min, size_t max, const char *item_expect, cfgp_item_fn item, void *obj);
/* A list of min..max addresses IP:PORT or [IPv6]:PORT into arr, their count into *n. */
int cfgp_parse_addr_list(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			 size_t min, size_t max, struct cfg_sockaddr *arr, int *n);
/* Walks a list whose entries are mappings of `keys` (all required but CFGP_OPT ones)
 * into a calloc'ed array of `size`-byte objects, at most max; *arr and *count are the
 * config's (config_free releases them, also on error). check_entry() validates entry i
 * against 0..i-1 (vals: the value nodes, as for cfgp_parse_map). */
int cfgp_parse_list(struct cfgp_ctx *c, const char *qname, yaml_node_t *v, const char *expect,
		    const struct cfgp_key *keys, size_t nkeys, size_t size, size_t max, void **arr, int *count,
		    int (*check_entry)(struct cfgp_ctx *, void *arr, int i, yaml_node_t *item, yaml_node_t **vals));

/* The top level of hermes.yaml (config.c), whose sections hold the other tables:
 * config_reload.c walks it for the keys' reload marks. */
extern const struct cfgp_key config_top_keys[];
extern const size_t config_n_top_keys;

#endif
