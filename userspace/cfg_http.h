/* cfg_http.h: the http action's part of hermes.yaml (cfg_http.c): the section http and
 * the list http_routes. config.c's top-level table names the table and the setter;
 * config_print.c writes the retry conditions back by their names. Prefix cfghttp_.
 * Types in cfg_parse-t.h and config-t.h. */
#ifndef HERMES_CFG_HTTP_H
#define HERMES_CFG_HTTP_H

#include <yaml.h>

#include "cfg_parse-t.h"
#include "config-t.h"

/* The keys of the section http. */
#define CFGHTTP_N_KEYS 10
extern const struct cfgp_key cfghttp_keys[CFGHTTP_N_KEYS];
/* The keys of the section http2. */
#define CFGHTTP2_N_KEYS 8
extern const struct cfgp_key cfghttp2_keys[CFGHTTP2_N_KEYS];
/* The keys of the section outlier, and its setter (checks max >= base). */
#define CFGHTTP_N_OUTLIER_KEYS 4
extern const struct cfgp_key cfghttp_outlier_keys[CFGHTTP_N_OUTLIER_KEYS];
int cfghttp_set_outlier(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
/* The words of retry_on: entry j is the bit 1 << j of enum cfg_retry_on. */
#define CFGHTTP_N_RETRY_ON 6
extern const char *const cfghttp_retry_on_names[CFGHTTP_N_RETRY_ON];

/* The list http_routes (obj: the config). */
int cfghttp_set_routes(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
/* The retry policy a retry mapping in the file starts from (Envoy's defaults where it has
 * them); the http section's own default has num_retries 0 on top (config_defaults). */
void cfghttp_retry_defaults(struct cfg_http_retry *r);
/* Once the whole file is read: each http route's TLS resolved from upstream_protocol and
 * upstream_tls (and checked against the tls section and tls_name), and routes without a
 * retry policy given the http section's. 0 or -EINVAL (message in c->err). */
int cfghttp_resolve(struct cfgp_ctx *c, struct hermes_config *cfg);

#endif
