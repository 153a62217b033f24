/* policy.h (user space): parsing, formatting and map operations for the policy
 * contract in include/hermes/policy.h. Shared by hermesd, hermesctl and unit tests.
 * Prefix pol_. Functions return 0 or -errno unless stated. */
#ifndef HERMES_POLICY_US_H
#define HERMES_POLICY_US_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-t.h"
#include "hermes/origdst.h"
#include "hermes/policy.h"

/* "CIDR[:PORT]": "10.0.0.0/8", "10.0.0.1" (= /32), "10.0.0.0/8:80", "fd00::/64",
 * "[fd00::/64]:443", "[fd00::1]:443", "::/0". Port 1..65535. Fills an LPM key with
 * host bits cleared. -EINVAL on any malformed token. */
int pol_parse_match(const char *s, struct hermes_policy_key *key);
/* Same, and on failure writes a message naming the token and the fault to err
 * ("port 70000 out of range 1..65535 in '10.0.0.0/8:70000'", "bad match '...':
 * expected CIDR[:PORT] ..."). v4-mapped IPv6 rules (::ffff:a.b.c.d/96+) become IPv4
 * rules, since the BPF programs fold v4-mapped destinations to IPv4. */
int pol_parse_match_err(const char *s, struct hermes_policy_key *key, char *err, size_t errlen);
/* Inverse of pol_parse_match; canonical form ("10.0.0.0/8:80", "[fd00::/64]:443"). */
int pol_fmt_match(const struct hermes_policy_key *key, char *buf, size_t len);
/* "pass|deny|proxy|tunnel|http" -> action (the names of action_names in policy.c);
 * -EINVAL for any other word. */
int pol_parse_action(const char *s, enum hermes_action *out);
const char *pol_action_name(unsigned action);
/* Protocol sets of a rule: one bit per key proto (enum hermes_proto). "tcp", "udp" or
 * "both" -> POL_PROTO_* bits; -EINVAL otherwise. */
#define POL_PROTO_BIT(proto) (1u << (proto))
#define POL_PROTO_TCP POL_PROTO_BIT(HERMES_PROTO_TCP)
#define POL_PROTO_UDP POL_PROTO_BIT(HERMES_PROTO_UDP)
int pol_parse_protos(const char *s, unsigned *out);
/* The word pol_parse_protos takes for a set: "tcp", "udp" or "both". */
const char *pol_protos_name(unsigned protos);
/* "tcp" / "udp" / "unknown" for a key's proto byte. */
const char *pol_proto_name(unsigned proto);
/* Why action cannot apply to UDP (NULL if it can): the message for config and hermesctl. */
const char *pol_udp_refusal(enum hermes_action act);
const char *pol_counter_name(unsigned counter);
/* "manual" / "config" / "unknown". */
const char *pol_origin_name(unsigned origin);
/* Whether rule key m matches TCP destination d (m's proto TCP): same family, m's port 0 or d's port, and
 * d's address inside m's prefix. */
bool pol_key_matches(const struct hermes_policy_key *m, const struct hermes_addr *d);
/* Whether every destination that inner matches is matched by outer too. */
bool pol_key_covers(const struct hermes_policy_key *outer, const struct hermes_policy_key *inner);
/* The rule the BPF programs apply to d among keys[0..n) of protocol proto
 * (HERMES_PROTO_TCP or _UDP): the longest-prefix rule that names d's port, else the
 * longest-prefix any-port rule. Its index, or -1 (d passes). */
int pol_best_rule(const struct hermes_policy_key *keys, size_t n, const struct hermes_addr *d, unsigned proto);
/* Listing order: family, address, prefix length, port. 0 only for identical rules. */
int pol_key_cmp(const struct hermes_policy_key *a, const struct hermes_policy_key *b);

/* -EINVAL for an action hermes does not know: the programs would deny it. */
int pol_map_put(int map_fd, const struct hermes_policy_key *key, const struct hermes_policy_val *val);
/* Logs (warn) a rule whose action hermes does not know, which the programs deny;
 * whether it was one. */
bool pol_warn_unknown(const struct hermes_policy_key *key, const struct hermes_policy_val *val);
int pol_map_del(int map_fd, const struct hermes_policy_key *key);
/* Calls cb for each rule, sorted by family, address, prefix, port; stops when cb returns non-zero. */
int pol_map_foreach(int map_fd, int (*cb)(const struct hermes_policy_key *, const struct hermes_policy_val *, void *), void *arg);
/* Makes the map hold exactly `rules` among origin=config entries: upserts every rule
 * (marked origin=config), deletes config-origin entries no longer listed, leaves
 * manual entries alone (warning about those whose action is unknown, which the
 * programs deny). A manual rule with the same key as a config rule is kept
 * (with a warning): an operator's hermesctl rule wins until it is deleted. All or
 * nothing (pol_sync_entries): 0, or -errno with the map as it was (the reason logged);
 * -ENOSPC when the new set does not fit the map. */
int pol_sync_config(int map_fd, const struct cfg_rule *rules, int n);

/* One rule as the map holds it. */
struct pol_entry {
	struct hermes_policy_key key;
	struct hermes_policy_val val;
};
/* The map pol_sync_entries writes: hermes_policy's fd, or a unit test's model. 0 or -errno. */
struct pol_map_ops {
	int (*put)(void *map, const struct hermes_policy_key *key, const struct hermes_policy_val *val);
	int (*del)(void *map, const struct hermes_policy_key *key);
};
/* pol_sync_config's work on a map of `cap` entries holding ents[0..n_ents) (sorted by
 * pol_key_cmp). Kept rules are updated in place and never absent; new rules are added
 * while there is room, then removed ones deleted, then the rest added (a full map
 * replaced by another full set fits). A new set over `cap` is refused before anything
 * is written (-ENOSPC); a failure midway takes back what was written. err gets the
 * reason (naming the rule) when it returns -errno. */
int pol_sync_entries(const struct pol_map_ops *mo, void *map, size_t cap, const struct pol_entry *ents,
		     size_t n_ents, const struct cfg_rule *rules, int n, char *err, size_t errlen);
/* Sums the per-CPU hermes_stats counters into out[HERMES_CNT_MAX]. */
int pol_read_counters(int stats_fd, uint64_t out[HERMES_CNT_MAX]);

#endif
