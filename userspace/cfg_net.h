/* cfg_net.h: the sections of hermes.yaml about where flows go (cfg_net.c: listeners,
 * proxy, inbound, policy, endpoints; cfg_tunnel.c: routes, tunnel_access, tls and
 * tunnel). config.c's top-level table names these tables and setters; config.h declares
 * the look-ups (config_find_route, ...) that the two implement. Prefix cfgnet_. Types in
 * cfg_parse-t.h and config-t.h. */
#ifndef HERMES_CFG_NET_H
#define HERMES_CFG_NET_H

#include <yaml.h>

#include "cfg_parse-t.h"
#include "config-t.h"

/* The listeners' defaults (config_defaults) and the examples their messages give. */
#define CFGNET_DEFAULT_LISTEN "127.0.0.1:15001"
#define CFGNET_DEFAULT_LISTEN6 "[::1]:15001"
#define CFGNET_DEFAULT_ADMIN "127.0.0.1:15000"

/* The keys of the sections listeners, proxy, inbound, tls and tunnel. */
enum {
	CFGNET_N_LISTENER_KEYS = 6,
	CFGNET_N_PROXY_KEYS = 10,
	CFGNET_N_INBOUND_KEYS = 5,
	CFGNET_N_TLS_KEYS = 4,
	CFGNET_N_TUNNEL_KEYS = 18,
};
extern const struct cfgp_key cfgnet_listener_keys[CFGNET_N_LISTENER_KEYS];
extern const struct cfgp_key cfgnet_proxy_keys[CFGNET_N_PROXY_KEYS];
extern const struct cfgp_key cfgnet_inbound_keys[CFGNET_N_INBOUND_KEYS];
extern const struct cfgp_key cfgnet_tls_keys[CFGNET_N_TLS_KEYS];
extern const struct cfgp_key cfgnet_tunnel_keys[CFGNET_N_TUNNEL_KEYS];

/* Setters of the top-level keys (obj: the config): proxy (its section, and backoff_base_ms
 * <= backoff_max_ms), inbound (its section, which turns protected ingress on), and the
 * lists policy, endpoints, routes and tunnel_access. */
int cfgnet_set_proxy(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgnet_set_inbound(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgnet_set_policy(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgnet_set_endpoints(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgnet_set_routes(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v, void *obj);
int cfgnet_set_tunnel_access(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			     void *obj);
/* A route's name (obj: a struct cfg_route, or a struct cfg_http_route, whose name lies at
 * the same place): letters, digits, '.', '_' and '-'. */
int cfgnet_set_route_name(struct cfgp_ctx *c, const struct cfgp_key *k, const char *qname, yaml_node_t *v,
			  void *obj);

/* What holds across sections once the whole file is read: tls is all of cert, key and ca,
 * and a tunnel peer that uses TLS has it. 0 or -EINVAL (message in c->err). */
int cfgnet_check(struct cfgp_ctx *c, const struct hermes_config *cfg);

#endif
