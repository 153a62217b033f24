/* config.h: hermesd's configuration: the embedded defaults and the YAML file
 * (/etc/hermes/hermes.yaml, documented in etc/hermes.yaml). Types live in
 * config-t.h. Prefix config_. Functions return 0 or -errno unless stated.
 * Implemented by config.c (load, defaults, key lines), cfg_net.c (the look-ups, relay
 * names, inbound), cfg_parse.c (config_parse_bool), config_print.c and config_reload.c
 * (the reload marks); cfg_parse.h, cfg_net.h and cfg_http.h are the loader's own. */
#ifndef HERMES_CONFIG_H
#define HERMES_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "config-t.h"
#include "hermes/origdst.h"

/* Fills cfg with the embedded defaults (source "<embedded default>"): cgroup = the
 * cgroup v2 mount root from /proc/self/mounts ("" if none), pin_root
 * /sys/fs/bpf/hermes, log info (format auto, libbpf at warn, access log on stderr),
 * listen 127.0.0.1:15001, listen6 [::1]:15001,
 * admin 127.0.0.1:15000, mark 0x484d, connect_timeout_ms 3000, connect_attempts 3,
 * backoff_base_ms 25, backoff_max_ms 1000, idle_timeout_ms 3600000,
 * drain_timeout_ms 5000, relay uring, no rules, no endpoints. cfg owns nothing. */
void config_defaults(struct hermes_config *cfg);

/* Sets cfg to the defaults, then applies the YAML file at path on top (source =
 * path). Unknown keys, duplicate keys, wrong types and out-of-range values are errors
 * (-EINVAL). The limits of the file itself are checked before the document is built, as
 * the file is read and parsed: larger than CFG_MAX_FILE_BYTES is -EFBIG; nested deeper
 * than CFG_MAX_DEPTH, a top-level list over its maximum (CFG_MAX_ROUTES, ...), a deeper
 * list over CFGP_MAX_NESTED entries, a mapping of more than CFGP_MAX_KEYS keys and more
 * than CFG_MAX_NODES nodes in all are -E2BIG. On error returns one of those (-errno for
 * I/O, -ENOMEM), writes one message "FILE:LINE:COL: what is wrong (what is expected)" into
 * err (if errlen > 0) and leaves cfg holding the plain defaults (nothing allocated).
 * On success the caller releases cfg with config_free(). cfg's previous contents are
 * not freed. */
int config_load(const char *path, struct hermes_config *cfg, char *err, size_t errlen);
/* config_load on the YAML in buf[0..len) (no NUL needed); name stands for the file in
 * messages and in cfg->source. */
int config_load_mem(const char *name, const char *buf, size_t len, struct hermes_config *cfg, char *err,
		    size_t errlen);

/* The line of the file where key ("cgroup", "tls.cert": top-level and section keys) was
 * set; 0 when the file did not set it (the default), -1 once config_key_overridden()
 * said that a command-line option replaced the value. */
int config_key_line(const struct hermes_config *cfg, const char *key);
void config_key_overridden(struct hermes_config *cfg, const char *key);
/* Writes cfg as a YAML file that config_load reads back into the same configuration:
 * every key with its effective value, defaults included (hermesd --check --print). */
void config_print(const struct hermes_config *cfg, FILE *f);

/* Every key of the file, top-level ones and those of sections ("tunnel.post_path"), in
 * the order of the key tables; the keys of a list's entries belong to their list
 * ("policy"). fn gets the dotted name, the key's mark (CFG_APPLY_NONE: a section whose
 * keys carry their own) and whether it holds keys of its own (a section). */
void config_keys(void (*fn)(const char *qname, enum cfg_apply apply, bool section, void *arg), void *arg);
/* The mark of a key as config_keys() names it; -ENOENT for a name the file cannot hold. */
int config_key_apply(const char *qname);
/* Prepares next (the file just loaded for a SIGHUP) to replace running: every key marked
 * restart-only keeps running's value, and so does every key a command-line option set
 * (config_key_overridden: a reload does not undo an option). report lists the
 * restart-only keys whose value in next differed, and the option-held keys the file sets
 * to another value. Lists and TLS contexts are not touched. */
void config_reload_merge(const struct hermes_config *running, struct hermes_config *next,
			 struct cfg_reload_report *report);

/* Frees the rules and endpoints arrays (and zeroes their counts). Safe to call twice. */
void config_free(struct hermes_config *cfg);
/* The route carrying dst (longest prefix), NULL if none. */
const struct cfg_route *config_find_route(const struct hermes_config *cfg, const struct hermes_addr *dst);
/* The first tunnel_access rule matching the request (uid/comm NULL when the request did
 * not carry them; sans: the subjectAltNames of the peer's verified certificate), NULL if
 * none does. */
const struct cfg_access *config_find_access(const struct hermes_config *cfg, const struct hermes_addr *dst,
					    const struct hermes_addr *from, const uint32_t *uid, const char *comm,
					    const char (*sans)[128], unsigned n_sans);
/* Is peer (any port) covered by inbound.allow_from? */
bool config_inbound_allowed(const struct hermes_config *cfg, const struct hermes_addr *peer);
/* Turns protected ingress on with its defaults (listener 0.0.0.0:15006), as the
 * `inbound` section and --inbound-listen do. */
void config_inbound_on(struct hermes_config *cfg);
/* "uring|splice|auto" -> engine; -EINVAL otherwise. */
int config_parse_relay(const char *s, enum relay_engine *out);
const char *config_relay_name(enum relay_engine r);
/* "true|on|yes" / "false|off|no"; -EINVAL otherwise. */
int config_parse_bool(const char *s, bool *out);
/* Adds an interface for the TC counters (duplicates ignored). -EINVAL bad name, -E2BIG too many. */
int config_add_tc_iface(struct hermes_config *cfg, const char *name);

/* The alternates for a dialled destination (exact address and port; IPv4-mapped
 * IPv6 matches IPv4), or NULL if the config lists none. */
const struct cfg_endpoint_set *config_find_endpoints(const struct hermes_config *cfg,
						      const struct sockaddr *dst);

#endif
