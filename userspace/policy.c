/* policy.c: the user-space half of the policy contract (include/hermes/policy.h):
 * parsing and printing "CIDR[:PORT]" matches and actions, LPM key encoding, and the
 * map operations hermesd's config reload and hermesctl share. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "policy.h"

#define V4_BITS 32
#define V6_BITS 128

static const char *const action_names[HERMES_ACT_MAX] = {
	[HERMES_ACT_PASS] = "pass",
	[HERMES_ACT_DENY] = "deny",
	[HERMES_ACT_PROXY] = "proxy",
	[HERMES_ACT_TUNNEL] = "tunnel",
	[HERMES_ACT_HTTP] = "http",
};

/* Snake case: these names become Prometheus label values and JSON keys. */
static const char *const counter_names[HERMES_CNT_MAX] = {
	[HERMES_CNT_PASS] = "pass",
	[HERMES_CNT_DENY] = "deny",
	[HERMES_CNT_PROXY] = "proxy",
	[HERMES_CNT_TUNNEL] = "tunnel",
	[HERMES_CNT_HTTP] = "http",
	[HERMES_CNT_FAILOPEN] = "fail_open",
	[HERMES_CNT_OWN] = "own_socket",
	[HERMES_CNT_ORIGDST_MISS] = "origdst_miss",
	[HERMES_CNT_SKMSG_SOCK] = "sk_msg_socket",
	[HERMES_CNT_SKMSG_FAIL] = "sk_msg_socket_failed",
	[HERMES_CNT_SKMSG_REDIR] = "sk_msg_redirect",
	[HERMES_CNT_SKMSG_TCP] = "sk_msg_tcp",
	[HERMES_CNT_UNKNOWN_ACTION] = "unknown_action",
	[HERMES_CNT_KPATH_SEND] = "kpath_send",
	[HERMES_CNT_UDP_PASS] = "udp_pass",
	[HERMES_CNT_UDP_DENY] = "udp_deny",
	[HERMES_CNT_UDP_PROXY] = "udp_proxy",
	[HERMES_CNT_UDP_UNSUPPORTED] = "udp_unsupported",
	[HERMES_CNT_UDP_NOSLOT] = "udp_no_slot",
	[HERMES_CNT_UDP_FAILOPEN] = "udp_fail_open",
	[HERMES_CNT_UDP_TUNNEL] = "udp_tunnel",
};

static const char match_hint[] = "expected CIDR[:PORT] such as 10.0.0.0/8:80 or [fd00::/64]:443";

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

/* Decimal digits only: strtol would also take signs, spaces and hex-looking junk. */
static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Parses n digits as an unsigned number, saturating so "99999999999" is simply
 * "too large" rather than wrapping around into range. */
static unsigned long parse_num(const char *s, size_t n)
{
	unsigned long v = 0;

	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 1000000)
			return 1000000;
	}
	return v;
}

/* Clears every address bit past `bits`, so that the key is the canonical form of the
 * network (the trie would ignore them anyway, but listing and deleting compare keys
 * byte for byte). */
static void clear_host_bits(__u8 *addr, unsigned bits, unsigned total)
{
	for (unsigned i = bits; i < total; i++)
		addr[i / 8] &= (__u8)~(0x80u >> (i % 8));
}

int pol_parse_match_err(const char *s, struct hermes_policy_key *key, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *addr_beg, *addr_end, *port_beg = NULL, *slash;
	size_t host_len;
	unsigned long plen, port = 0;
	unsigned max_bits;
	int v6;

	memset(key, 0, sizeof(*key));
	if (!s || !*s) {
		set_err(err, errlen, "empty match: %s%s", match_hint, "");
		return -EINVAL;
	}

	if (s[0] == '[') {
		/* "[v6[/len]]:port": the brackets exist only to carry a port. */
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':' || !rb[2])
			goto bad;
		addr_beg = s + 1;
		addr_end = rb;
		port_beg = rb + 2;
		v6 = 1;
	} else {
		const char *c1 = strchr(s, ':');

		addr_beg = s;
		addr_end = s + strlen(s);
		if (c1 && strchr(c1 + 1, ':')) {
			/* Two colons or more: a bare IPv6 address, which cannot carry a port. */
			v6 = 1;
		} else {
			v6 = 0;
			if (c1) {
				addr_end = c1;
				port_beg = c1 + 1;
			}
		}
	}

	if (port_beg) {
		size_t n = strlen(port_beg);

		if (!all_digits(port_beg, n))
			goto bad;
		port = parse_num(port_beg, n);
		if (port < 1 || port > 65535) {
			set_err(err, errlen, "port %s out of range 1..65535 in '%s'", port_beg, s);
			return -EINVAL;
		}
	}

	max_bits = v6 ? V6_BITS : V4_BITS;
	slash = memchr(addr_beg, '/', (size_t)(addr_end - addr_beg));
	host_len = (size_t)((slash ? slash : addr_end) - addr_beg);
	if (!host_len || host_len >= sizeof(host))
		goto bad;
	memcpy(host, addr_beg, host_len);
	host[host_len] = 0;
	if (slash) {
		size_t n = (size_t)(addr_end - slash - 1);

		if (!all_digits(slash + 1, n))
			goto bad;
		plen = parse_num(slash + 1, n);
		if (plen > max_bits) {
			char what[24];

			/* Quote the digits as written: plen saturates. */
			snprintf(what, sizeof(what), "/%.*s", n > 20 ? 20 : (int)n, slash + 1);
			set_err(err, errlen, v6 ? "prefix %s longer than /128 in '%s'"
						: "prefix %s longer than /32 in '%s'", what, s);
			return -EINVAL;
		}
	} else {
		plen = max_bits;
	}

	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, key->addr) != 1)
		goto bad;

	if (v6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)key->addr) && plen >= 96) {
		/* The BPF programs fold v4-mapped destinations to IPv4 (addr_to_hermes does the
		 * same), so a v4-mapped rule would never match: store it as the IPv4 rule. */
		memmove(key->addr, key->addr + 12, 4);
		memset(key->addr + 4, 0, 12);
		plen -= 96;
		max_bits = V4_BITS;
		v6 = 0;
	}

	clear_host_bits(key->addr, (unsigned)plen, max_bits);
	key->prefixlen = HERMES_POLICY_PREFIX_BASE + (__u32)plen;
	key->family = v6 ? HERMES_FAMILY_V6 : HERMES_FAMILY_V4;
	key->port = htons((__u16)port);
	return 0;

bad:
	memset(key, 0, sizeof(*key));
	set_err(err, errlen, "bad match '%s': %s", s, match_hint);
	return -EINVAL;
}

int pol_parse_match(const char *s, struct hermes_policy_key *key)
{
	return pol_parse_match_err(s, key, NULL, 0);
}

int pol_fmt_match(const struct hermes_policy_key *key, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	unsigned max_bits, plen;
	int n;

	if (key->family == HERMES_FAMILY_V4)
		max_bits = V4_BITS;
	else if (key->family == HERMES_FAMILY_V6)
		max_bits = V6_BITS;
	else
		return -EINVAL;
	/* A prefix shorter than the base would leave the family or port partly
	 * unmatched: not something pol_parse_match can express. */
	if (key->prefixlen < HERMES_POLICY_PREFIX_BASE ||
	    key->prefixlen > HERMES_POLICY_PREFIX_BASE + max_bits)
		return -EINVAL;
	plen = key->prefixlen - HERMES_POLICY_PREFIX_BASE;
	if (!inet_ntop(key->family == HERMES_FAMILY_V4 ? AF_INET : AF_INET6, key->addr, host, sizeof(host)))
		return -errno;

	if (!key->port)
		n = snprintf(buf, len, "%s/%u", host, plen);
	else if (key->family == HERMES_FAMILY_V4)
		n = snprintf(buf, len, "%s/%u:%u", host, plen, ntohs(key->port));
	else
		n = snprintf(buf, len, "[%s/%u]:%u", host, plen, ntohs(key->port));
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return 0;
}

int pol_parse_action(const char *s, enum hermes_action *out)
{
	for (unsigned i = 0; i < HERMES_ACT_MAX; i++) {
		if (s && !strcmp(s, action_names[i])) {
			*out = (enum hermes_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *pol_action_name(unsigned action)
{
	return action < HERMES_ACT_MAX ? action_names[action] : "unknown";
}

int pol_parse_protos(const char *s, unsigned *out)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "tcp"))
		*out = POL_PROTO_TCP;
	else if (!strcmp(s, "udp"))
		*out = POL_PROTO_UDP;
	else if (!strcmp(s, "both"))
		*out = POL_PROTO_TCP | POL_PROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

const char *pol_protos_name(unsigned protos)
{
	return protos == (POL_PROTO_TCP | POL_PROTO_UDP) ? "both" : protos == POL_PROTO_UDP ? "udp" : "tcp";
}

const char *pol_proto_name(unsigned proto)
{
	return proto == HERMES_PROTO_TCP ? "tcp" : proto == HERMES_PROTO_UDP ? "udp" : "unknown";
}

const char *pol_udp_refusal(enum hermes_action act)
{
	if (act == HERMES_ACT_HTTP)
		return "action http reads HTTP/1.1 over TCP: it cannot apply to UDP (use protocol: tcp)";
	return NULL;
}

const char *pol_counter_name(unsigned counter)
{
	return counter < HERMES_CNT_MAX ? counter_names[counter] : "unknown";
}

const char *pol_origin_name(unsigned origin)
{
	switch (origin) {
	case HERMES_ORIGIN_MANUAL:
		return "manual";
	case HERMES_ORIGIN_CONFIG:
		return "config";
	default:
		return "unknown";
	}
}

/* Whether the first `bits` bits of a and b are equal. */
static bool prefix_eq(const __u8 *a, const __u8 *b, unsigned bits)
{
	if (memcmp(a, b, bits / 8))
		return false;
	return !(bits % 8) || !((a[bits / 8] ^ b[bits / 8]) & (__u8)(0xff << (8 - bits % 8)));
}

bool pol_key_matches(const struct hermes_policy_key *m, const struct hermes_addr *d)
{
	return m->family == d->family && (!m->port || m->port == d->port) &&
	       prefix_eq(m->addr, d->addr, m->prefixlen - HERMES_POLICY_PREFIX_BASE);
}

bool pol_key_covers(const struct hermes_policy_key *outer, const struct hermes_policy_key *inner)
{
	return outer->family == inner->family && (!outer->port || outer->port == inner->port) &&
	       outer->prefixlen <= inner->prefixlen &&
	       prefix_eq(outer->addr, inner->addr, outer->prefixlen - HERMES_POLICY_PREFIX_BASE);
}

int pol_best_rule(const struct hermes_policy_key *keys, size_t n, const struct hermes_addr *d, unsigned proto)
{
	int best = -1;

	/* as the BPF lookups: any rule naming the port beats every any-port rule */
	for (size_t i = 0; i < n; i++) {
		const struct hermes_policy_key *k = &keys[i], *b = best >= 0 ? &keys[best] : NULL;

		if (k->proto != proto || !pol_key_matches(k, d))
			continue;
		if (!b || (k->port && !b->port) || (!k->port == !b->port && k->prefixlen > b->prefixlen))
			best = (int)i;
	}
	return best;
}

int pol_key_cmp(const struct hermes_policy_key *a, const struct hermes_policy_key *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c < 0 ? -1 : 1;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen < b->prefixlen ? -1 : 1;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	/* the TCP rule of a match lists before its UDP twin */
	return a->proto == b->proto ? 0 : (a->proto < b->proto ? -1 : 1);
}

int pol_map_put(int map_fd, const struct hermes_policy_key *key, const struct hermes_policy_val *val)
{
	/* the programs would deny it: never write one on purpose */
	if (val->action >= HERMES_ACT_MAX)
		return -EINVAL;
	if (bpf_map_update_elem(map_fd, key, val, BPF_ANY))
		return -errno;
	return 0;
}

int pol_map_del(int map_fd, const struct hermes_policy_key *key)
{
	if (bpf_map_delete_elem(map_fd, key))
		return -errno;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return pol_key_cmp(&((const struct pol_entry *)a)->key, &((const struct pol_entry *)b)->key);
}

/* Reads every rule into a sorted array, and the map's size into *max_out (may be NULL).
 * Keys are collected before any callback runs, so callers may delete entries while
 * walking the result. */
static int collect(int map_fd, struct pol_entry **out, size_t *n_out, size_t *max_out)
{
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	struct hermes_policy_key key, next;
	struct pol_entry *ents = NULL;
	size_t n = 0, cap = 0, limit;
	const void *prev = NULL;
	int err;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len))
		return -errno;
	if (info.key_size != sizeof(key) || info.value_size != sizeof(struct hermes_policy_val))
		return -EPROTO; /* not a Hermes policy map, or an incompatible version */
	/* get_next_key restarts from the first key when the current one is deleted
	 * under our feet: bound the walk so concurrent writers cannot make it endless. */
	limit = (size_t)info.max_entries * 2 + 16;
	if (max_out)
		*max_out = info.max_entries;

	for (;;) {
		struct pol_entry *e;

		if (bpf_map_get_next_key(map_fd, prev, &next)) {
			if (errno == ENOENT)
				break;
			err = -errno;
			goto fail;
		}
		if (n >= limit) {
			err = -EAGAIN;
			goto fail;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct pol_entry *p = realloc(ents, ncap * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				goto fail;
			}
			ents = p;
			cap = ncap;
		}
		key = next;
		prev = &key;
		e = &ents[n];
		e->key = next;
		/* The key has its own exact node, so the longest-prefix lookup returns it;
		 * ENOENT means someone deleted it since get_next_key. */
		if (bpf_map_lookup_elem(map_fd, &e->key, &e->val)) {
			if (errno == ENOENT)
				continue;
			err = -errno;
			goto fail;
		}
		n++;
	}

	if (n)
		qsort(ents, n, sizeof(*ents), entry_cmp);
	/* Drop duplicates a restarted walk may have produced. */
	if (n > 1) {
		size_t w = 1;

		for (size_t r = 1; r < n; r++)
			if (entry_cmp(&ents[r], &ents[w - 1]))
				ents[w++] = ents[r];
		n = w;
	}
	*out = ents;
	*n_out = n;
	return 0;

fail:
	free(ents);
	return err;
}

int pol_map_foreach(int map_fd, int (*cb)(const struct hermes_policy_key *, const struct hermes_policy_val *, void *), void *arg)
{
	struct pol_entry *ents;
	size_t n;
	int err = collect(map_fd, &ents, &n, NULL);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (cb(&ents[i].key, &ents[i].val, arg))
			break;
	free(ents);
	return 0;
}

bool pol_warn_unknown(const struct hermes_policy_key *key, const struct hermes_policy_val *val)
{
	char m[80];

	if (val->action < HERMES_ACT_MAX)
		return false;
	if (pol_fmt_match(key, m, sizeof(m)))
		snprintf(m, sizeof(m), "<raw prefixlen=%u family=%u port=%u>", key->prefixlen, key->family,
			 ntohs(key->port));
	log_warn("policy: rule %s in hermes_policy holds action %u, which hermes does not know: its "
		 "connects are denied (counted as unknown_action); write a real one with "
		 "'hermesctl policy add %s ACTION' or remove it with 'hermesctl policy del %s'",
		 m, val->action, m, m);
	return true;
}

static int key_cmp_q(const void *a, const void *b)
{
	return pol_key_cmp(a, b);
}

/* A rule's match for a message: its text form, or a placeholder for a key no text form
 * describes (written by hand with bpftool). */
static const char *match_text(const struct hermes_policy_key *key, char *m, size_t len)
{
	if (pol_fmt_match(key, m, len))
		snprintf(m, len, "<unprintable key>");
	return m;
}

/* One change pol_sync_entries makes: its kind, the rule it writes (the old value, for
 * taking it back) and whether it was made. */
enum sync_kind { SYNC_UPDATE, SYNC_ADD, SYNC_DEL };
struct sync_op {
	struct hermes_policy_key key;
	struct hermes_policy_val val, old;
	enum sync_kind kind;
	bool done;
};

static void sync_fail(char *err, size_t errlen, const struct hermes_policy_key *key, const char *what, int rc)
{
	char m[64];

	snprintf(err, errlen, "%s rule %s in hermes_policy failed: %s", what, match_text(key, m, sizeof(m)),
		 strerror(-rc));
}

/* Takes back what ops[0..n) made, the added rules first (that frees their room for the
 * deleted ones); the first failure is appended to err. */
static void sync_undo(const struct pol_map_ops *mo, void *map, struct sync_op *ops, size_t n, char *err,
		      size_t errlen)
{
	static const enum sync_kind order[] = { SYNC_ADD, SYNC_DEL, SYNC_UPDATE };
	bool told = false;

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (size_t i = 0; i < n; i++) {
			struct sync_op *op = &ops[i];
			int rc;

			if (!op->done || op->kind != order[o])
				continue;
			rc = op->kind == SYNC_ADD ? mo->del(map, &op->key) : mo->put(map, &op->key, &op->old);
			if (rc && !told) {
				size_t len = strlen(err);
				char m[64];

				snprintf(err + len, errlen - len, "; taking it back failed too (rule %s: %s): the map "
					 "now holds part of the new policy, reload again or restart hermesd",
					 match_text(&op->key, m, sizeof(m)), strerror(-rc));
				told = true;
			}
			op->done = rc != 0;
		}
}

/* Makes the ops of one kind not made yet, at most `max` of them (skip_nospc: an update
 * that finds the map full is left for a later call), stopping at the first failure. */
static int sync_run(const struct pol_map_ops *mo, void *map, struct sync_op *ops, size_t n, enum sync_kind kind,
		    size_t max, bool skip_nospc, char *err, size_t errlen)
{
	for (size_t i = 0; i < n && max; i++) {
		struct sync_op *op = &ops[i];
		int rc;

		if (op->kind != kind || op->done)
			continue;
		rc = kind == SYNC_DEL ? mo->del(map, &op->key) : mo->put(map, &op->key, &op->val);
		if (rc == -ENOENT && kind == SYNC_DEL)
			continue; /* gone already (hermesctl policy del meanwhile) */
		if (rc == -ENOSPC && skip_nospc)
			continue;
		if (rc) {
			sync_fail(err, errlen, &op->key, kind == SYNC_DEL ? "deleting" : kind == SYNC_ADD ? "adding" :
				  "updating", rc);
			return rc;
		}
		op->done = true;
		max--;
	}
	return 0;
}

int pol_sync_entries(const struct pol_map_ops *mo, void *map, size_t cap, const struct pol_entry *ents,
		     size_t n_ents, const struct cfg_rule *rules, int n, char *err, size_t errlen)
{
	struct hermes_policy_key *want = NULL;
	struct sync_op *ops;
	size_t n_ops = 0, n_add = 0, n_del = 0, n_manual = 0, room;
	int rc = 0;

	err[0] = '\0';
	if (n < 0 || (n > 0 && !rules))
		return -EINVAL;
	ops = malloc(((size_t)n + n_ents) * sizeof(*ops) + 1);
	if (n > 0)
		want = malloc((size_t)n * sizeof(*want));
	if (!ops || (n > 0 && !want)) {
		free(ops);
		free(want);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		want[i] = rules[i].key;
	if (n > 0)
		qsort(want, (size_t)n, sizeof(*want), key_cmp_q);

	/* the plan: what changes, nothing written yet */
	for (int i = 0; i < n; i++) {
		struct pol_entry probe = { .key = rules[i].key };
		const struct pol_entry *cur = n_ents ? bsearch(&probe, ents, n_ents, sizeof(*ents), entry_cmp) : NULL;
		struct hermes_policy_val v = rules[i].val;

		/* An operator's manual rule (hermesctl, bpftool) wins over the config file
		 * until it is deleted: reloads must not undo an emergency deny. */
		if (cur && cur->val.origin != HERMES_ORIGIN_CONFIG) {
			char m[64];

			match_text(&rules[i].key, m, sizeof(m));
			if (cur->val.action != v.action || cur->val.route_id != v.route_id)
				log_warn("policy: config rule %s -> %s (line %d) is shadowed by manual rule -> %s; "
					 "'hermesctl policy del %s' lets the config rule apply on next reload",
					 m, pol_action_name(v.action), rules[i].line, pol_action_name(cur->val.action), m);
			continue;
		}
		v.origin = HERMES_ORIGIN_CONFIG;
		if (cur && !memcmp(&cur->val, &v, sizeof(v)))
			continue;
		ops[n_ops++] = (struct sync_op){ .key = rules[i].key, .val = v, .old = cur ? cur->val : v,
						 .kind = cur ? SYNC_UPDATE : SYNC_ADD };
		n_add += !cur;
	}
	for (size_t i = 0; i < n_ents; i++) {
		if (ents[i].val.origin != HERMES_ORIGIN_CONFIG) {
			pol_warn_unknown(&ents[i].key, &ents[i].val);
			n_manual++;
			continue;
		}
		if (n > 0 && bsearch(&ents[i].key, want, (size_t)n, sizeof(*want), key_cmp_q))
			continue;
		ops[n_ops++] = (struct sync_op){ .key = ents[i].key, .old = ents[i].val, .kind = SYNC_DEL };
		n_del++;
	}
	free(want);

	/* the new set alone must fit, or nothing is written */
	if (n_ents + n_add - n_del > cap) {
		snprintf(err, errlen, "the new policy needs %zu entries in hermes_policy (%zu config rules and %zu "
			 "manual ones), more than the %zu it holds: nothing changed; remove rules from the config "
			 "(or manual ones with 'hermesctl policy del')", n_ents + n_add - n_del,
			 n_ents - n_manual + n_add - n_del, n_manual, cap);
		free(ops);
		return -ENOSPC;
	}
	/* Kept rules are updated in place, never deleted: no connect ever misses one. New
	 * rules go in first as far as the map has room (a removed rule and its replacement
	 * under another key are then never both absent); only in a map too full for that do
	 * the removed rules go before the rest of the new ones come. An in-place update that
	 * finds the map full (older kernels count it as a new entry; 6.18 does not) is made
	 * after the deletes. */
	room = cap > n_ents ? cap - n_ents : 0;
	rc = sync_run(mo, map, ops, n_ops, SYNC_UPDATE, SIZE_MAX, true, err, errlen);
	if (!rc)
		rc = sync_run(mo, map, ops, n_ops, SYNC_ADD, room, false, err, errlen);
	if (!rc)
		rc = sync_run(mo, map, ops, n_ops, SYNC_DEL, SIZE_MAX, false, err, errlen);
	if (!rc)
		rc = sync_run(mo, map, ops, n_ops, SYNC_UPDATE, SIZE_MAX, false, err, errlen);
	if (!rc)
		rc = sync_run(mo, map, ops, n_ops, SYNC_ADD, SIZE_MAX, false, err, errlen);
	if (rc) {
		size_t len = strlen(err);

		snprintf(err + len, errlen - len, ": the rules written so far were taken back");
		sync_undo(mo, map, ops, n_ops, err, errlen);
	}
	free(ops);
	return rc;
}

static int bpf_put(void *map, const struct hermes_policy_key *key, const struct hermes_policy_val *val)
{
	return pol_map_put(*(int *)map, key, val);
}

static int bpf_del(void *map, const struct hermes_policy_key *key)
{
	return pol_map_del(*(int *)map, key);
}

int pol_sync_config(int map_fd, const struct cfg_rule *rules, int n)
{
	static const struct pol_map_ops bpf_ops = { .put = bpf_put, .del = bpf_del };
	struct pol_entry *ents = NULL;
	size_t n_ents = 0, cap = HERMES_POLICY_MAX_RULES;
	char err[512];
	int rc;

	if (n < 0 || (n > 0 && !rules))
		return -EINVAL;
	rc = collect(map_fd, &ents, &n_ents, &cap);
	if (rc)
		return rc;
	rc = pol_sync_entries(&bpf_ops, &map_fd, cap, ents, n_ents, rules, n, err, sizeof(err));
	if (rc && err[0])
		log_error("policy: %s", err);
	free(ents);
	return rc;
}

int pol_read_counters(int stats_fd, uint64_t out[HERMES_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	memset(out, 0, sizeof(uint64_t) * HERMES_CNT_MAX);
	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < HERMES_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(stats_fd, &k, vals)) {
			int err = -errno;

			/* A map from an older build may have fewer slots: those count as 0. */
			if (err == -ENOENT)
				continue;
			free(vals);
			return err;
		}
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}
