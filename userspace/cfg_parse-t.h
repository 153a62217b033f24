/* cfg_parse-t.h: types of the configuration loader's key-table walker (cfg_parse.c):
 * the load's context, and struct cfgp_key, one row of a key table. config.c walks the
 * top level of the file with it, cfg_net.c and cfg_http.c their sections and lists.
 * Functions live in cfg_parse.h. */
#ifndef HERMES_CFG_PARSE_T_H
#define HERMES_CFG_PARSE_T_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config-t.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define CFGP_MAX_KEYS 32      /* over the largest key table (the top level, 25): no mapping of the file holds more keys */
#define CFGP_MAX_NESTED 64    /* largest list below the top level (inbound.protect) */
#define CFGP_QNAME_LEN 64     /* "section.key" */
#define CFGP_SHOW_LEN 80      /* a value quoted in a message */

struct cfgp_ctx {
	const char *path;
	yaml_document_t *doc;
	struct hermes_config *cfg; /* cfgp_parse_map records where its keys were set */
	char *err;
	size_t errlen;
	char shown[CFGP_SHOW_LEN]; /* cfgp_show() */
	char names[256];      /* cfgp_key_names() */
};

struct cfgp_key;
/* Converts value node v of key k into obj (+ k->off). qname is "section.key". */
typedef int (*cfgp_set_fn)(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname,
			   yaml_node_t *v, void *obj);

/* An entry of a list of scalars (cfgp_parse_scalar_list): its node, text and index. */
typedef int (*cfgp_item_fn)(struct cfgp_ctx *c, const char *qname, yaml_node_t *node, const char *s, void *obj,
			    int i);

/* Key flags. */
#define CFGP_HEX 0x1 /* number: show the range in hex (0x accepted everywhere) */
#define CFGP_V4  0x2 /* address: IPv4 only */
#define CFGP_V6  0x4 /* address: IPv6 only */
#define CFGP_OFF 0x8 /* address: the word "off" means none (len 0) */
#define CFGP_OPT 0x10 /* list entries: the key may be left out */

struct cfgp_key {
	const char *name;
	cfgp_set_fn set;
	size_t off;              /* field offset in the object */
	size_t size;             /* strings: buffer size */
	uint32_t min, max;       /* numbers: inclusive range */
	unsigned flags;          /* CFGP_* */
	const char *expect;      /* for messages: what a good value looks like */
	const struct cfgp_key *sub; /* sections: their keys */
	size_t nsub;
	/* keys of the config itself (top level and sections): */
	enum cfg_apply apply;    /* what a SIGHUP does with it; every leaf key has one */
	size_t entries;          /* a list of the top level: its most entries, which the loader's
				  * first pass checks as they arrive (deeper lists: CFGP_MAX_NESTED) */
	size_t span;             /* bytes of the config from off that hold its value (0: a list
				  * the config points to, which a reload always replaces) */
};

#define CFGP_RELOAD .apply = CFG_APPLY_RELOAD
#define CFGP_RESTART .apply = CFG_APPLY_RESTART

/* Fields of struct hermes_config, for the keys of the top level and its sections. */
#define CFGP_FIELD(f) .off = offsetof(struct hermes_config, f), .span = sizeof(((struct hermes_config *)0)->f)
#define CFGP_STRING(f) CFGP_FIELD(f), .size = sizeof(((struct hermes_config *)0)->f)
/* an array of the config and its count, declared right after it */
#define CFGP_ARRAY(arr, count) .off = offsetof(struct hermes_config, arr), \
	.span = offsetof(struct hermes_config, count) + sizeof(int) - offsetof(struct hermes_config, arr)

#endif
