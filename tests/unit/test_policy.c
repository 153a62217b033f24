/* test_policy.c: unit tests (no root) for userspace/policy.c: CIDR[:PORT] parsing and
 * canonical formatting, the LPM key layout the BPF programs rely on, and action
 * parsing. Exit 0 when every check passes, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"

/* Parses `in`, expects success and that it prints back as `canon`, and that the
 * canonical form parses to the very same key (round trip). */
static bool roundtrip(const char *in, const char *canon)
{
	struct hermes_policy_key k, k2;
	char buf[80];

	if (!ASSERT_EQ(pol_parse_match(in, &k), 0, in))
		return false;
	if (!ASSERT_EQ(pol_fmt_match(&k, buf, sizeof(buf)), 0, in))
		return false;
	if (!ASSERT_STREQ(buf, canon, in))
		return false;
	if (!ASSERT_EQ(pol_parse_match(buf, &k2), 0, buf))
		return false;
	return ASSERT_TRUE(!memcmp(&k, &k2, sizeof(k)), "'%s' and '%s' give different keys", in, buf);
}

static bool rejects(const char *in)
{
	struct hermes_policy_key k;
	char why[256] = "";
	int err;

	memset(&k, 0xaa, sizeof(k));
	err = pol_parse_match_err(in, &k, why, sizeof(why));
	if (!ASSERT_EQ(err, -EINVAL, in))
		return false;
	/* Callers print the message as is: it must name the token. */
	return ASSERT_TRUE(why[0] && strstr(why, in), "message for '%s' does not quote it: '%s'", in, why);
}

static bool test_roundtrip_v4(void)
{
	bool ok = true;

	ok &= roundtrip("10.0.0.0/8", "10.0.0.0/8");
	ok &= roundtrip("10.0.0.1", "10.0.0.1/32");
	ok &= roundtrip("10.0.0.1/32", "10.0.0.1/32");
	ok &= roundtrip("10.0.0.0/8:80", "10.0.0.0/8:80");
	ok &= roundtrip("10.0.0.1:80", "10.0.0.1/32:80");
	ok &= roundtrip("0.0.0.0/0", "0.0.0.0/0");
	ok &= roundtrip("0.0.0.0/0:443", "0.0.0.0/0:443");
	ok &= roundtrip("192.168.1.0/24:65535", "192.168.1.0/24:65535");
	ok &= roundtrip("10.0.3.10:1", "10.0.3.10/32:1");
	ok &= roundtrip("255.255.255.255/32", "255.255.255.255/32");
	ok &= roundtrip("10.0.0.0/08", "10.0.0.0/8");
	ok &= roundtrip("10.0.0.0/8:080", "10.0.0.0/8:80");
	return ok;
}

static bool test_roundtrip_v6(void)
{
	bool ok = true;

	ok &= roundtrip("fd00::/64", "fd00::/64");
	ok &= roundtrip("fd00::1", "fd00::1/128");
	ok &= roundtrip("[fd00::/64]:443", "[fd00::/64]:443");
	ok &= roundtrip("[fd00::1]:443", "[fd00::1/128]:443");
	ok &= roundtrip("[fd00::1/128]:443", "[fd00::1/128]:443");
	ok &= roundtrip("::/0", "::/0");
	ok &= roundtrip("[::/0]:53", "[::/0]:53");
	ok &= roundtrip("::1", "::1/128");
	ok &= roundtrip("FD00:0:0:0::/64", "fd00::/64");
	ok &= roundtrip("2001:db8:1:2:3:4:5:6/128", "2001:db8:1:2:3:4:5:6/128");
	/* v4-mapped rules become IPv4 rules: the BPF side folds v4-mapped addresses. */
	ok &= roundtrip("::ffff:10.0.0.0/104", "10.0.0.0/8");
	ok &= roundtrip("[::ffff:10.0.0.1]:80", "10.0.0.1/32:80");
	return ok;
}

static bool test_host_bits(void)
{
	bool ok = true;

	ok &= roundtrip("10.1.2.3/8", "10.0.0.0/8");
	ok &= roundtrip("10.255.255.255/9", "10.128.0.0/9");
	ok &= roundtrip("10.1.2.3/0", "0.0.0.0/0");
	ok &= roundtrip("192.168.1.77/31:22", "192.168.1.76/31:22");
	ok &= roundtrip("fd00::1:2:3/64", "fd00::/64");
	ok &= roundtrip("fd00:ffff::/17", "fd00:8000::/17");
	ok &= roundtrip("[ffff::1/1]:8080", "[8000::/1]:8080");
	return ok;
}

static bool test_reject(void)
{
	static const char *const bad[] = {
		"", "10.0.0.300", "10.0.0.300/8", "10.0.0", "10.0.0.0.0", "10.0.0.1/33", "fd00::/129",
		"10.0.0.0/8:0", "10.0.0.0/8:70000", "10.0.0.0/8:99999999999", "10.0.0.0/8:http",
		"10.0.0.0/8:", "10.0.0.0/8:-1", "10.0.0.0/8:+80", "10.0.0.0/8:80x", "10.0.0.0/8x",
		"10.0.0.0/8 ", " 10.0.0.0/8", "10.0.0.0/", "/8", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0//8", "10.0.0.0/8/8", "[fd00::/64]", "[fd00::/64]:", "[fd00::/64]:0",
		"[fd00::/64]:65536", "[fd00::/64]:443x", "[fd00::/64:443", "fd00::/64]:443",
		"fd00::/64:443", "[10.0.0.1]:80", "[fd00::1]80", "fd00::g", "fd00:::1", "01.2.3.4",
		"10.0.0.1:80:80", "[]:80", "host.example:80", "localhost", "10.0.0.0/8,10.1.0.0/16",
		"[fd00::/1000]:80", "10.0.0.0/1000000000000",
	};
	bool ok = true;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok &= rejects(bad[i]);
	{
		struct hermes_policy_key k;

		ok &= ASSERT_EQ(pol_parse_match(NULL, &k), -EINVAL, "NULL");
	}
	return ok;
}

static bool test_messages(void)
{
	struct hermes_policy_key k;
	char why[256];
	bool ok = true;

	pol_parse_match_err("10.0.0.0/8:70000", &k, why, sizeof(why));
	ok &= ASSERT_STREQ(why, "port 70000 out of range 1..65535 in '10.0.0.0/8:70000'", "port message");
	pol_parse_match_err("10.0.0.300/8", &k, why, sizeof(why));
	ok &= ASSERT_STREQ(why, "bad match '10.0.0.300/8': expected CIDR[:PORT] such as 10.0.0.0/8:80 or [fd00::/64]:443",
			   "bad match message");
	pol_parse_match_err("[fd00::/64]:0", &k, why, sizeof(why));
	ok &= ASSERT_STREQ(why, "port 0 out of range 1..65535 in '[fd00::/64]:0'", "port 0 message");
	pol_parse_match_err("10.0.0.0/33", &k, why, sizeof(why));
	ok &= ASSERT_TRUE(strstr(why, "/33") != NULL, "prefix message: '%s'", why);
	/* A tiny buffer truncates, never overflows. */
	ok &= ASSERT_EQ(pol_parse_match_err("nope", &k, why, 4), -EINVAL, "small err buffer");
	ok &= ASSERT_EQ(strlen(why), 3, "truncated message");
	ok &= ASSERT_EQ(pol_parse_match_err("nope", &k, NULL, 0), -EINVAL, "NULL err buffer");
	return ok;
}

static bool test_key_layout(void)
{
	struct hermes_policy_key k;
	static const __u8 net10[16] = { 10 };
	static const __u8 fd00[16] = { 0xfd, 0x00 };
	const __u8 *raw = (const __u8 *)&k;
	bool ok = true;

	ok &= ASSERT_EQ(pol_parse_match("10.0.0.0/8", &k), 0, "parse");
	ok &= ASSERT_EQ(k.prefixlen, HERMES_POLICY_PREFIX_BASE + 8, "v4 /8 prefixlen");
	ok &= ASSERT_EQ(k.prefixlen, 40, "v4 /8 prefixlen literal");
	ok &= ASSERT_EQ(k.family, HERMES_FAMILY_V4, "v4 family");
	ok &= ASSERT_EQ(k.proto, HERMES_PROTO_TCP, "a parsed match is a TCP rule (proto 0)");
	ok &= ASSERT_EQ(k.port, 0, "any port is 0");
	ok &= ASSERT_TRUE(!memcmp(k.addr, net10, 16), "v4 address in addr[0..3], rest zero");

	ok &= ASSERT_EQ(pol_parse_match("10.0.3.0/24:80", &k), 0, "parse");
	ok &= ASSERT_EQ(k.prefixlen, 56, "v4 /24 prefixlen");
	ok &= ASSERT_EQ(k.port, htons(80), "port network order");
	/* Byte layout bpftool users write by hand (see hermesctl --help). */
	ok &= ASSERT_EQ(raw[4], 4, "byte 4 family");
	ok &= ASSERT_EQ(raw[5], 0, "byte 5 pad");
	ok &= ASSERT_EQ(raw[6], 0x00, "byte 6 port high");
	ok &= ASSERT_EQ(raw[7], 0x50, "byte 7 port low");
	ok &= ASSERT_EQ(raw[8], 10, "byte 8 addr[0]");
	ok &= ASSERT_EQ(raw[10], 3, "byte 10 addr[2]");
	ok &= ASSERT_EQ(raw[11], 0, "byte 11 addr[3] cleared");

	ok &= ASSERT_EQ(pol_parse_match("10.1.2.3", &k), 0, "parse");
	ok &= ASSERT_EQ(k.prefixlen, 64, "v4 host prefixlen");
	ok &= ASSERT_EQ(pol_parse_match("0.0.0.0/0", &k), 0, "parse");
	ok &= ASSERT_EQ(k.prefixlen, 32, "v4 /0 prefixlen covers family+port only");
	ok &= ASSERT_EQ(pol_parse_match("10.1.2.3/8", &k), 0, "parse");
	ok &= ASSERT_TRUE(!memcmp(k.addr, net10, 16), "host bits cleared");
	ok &= ASSERT_EQ(pol_parse_match("10.0.0.1:443", &k), 0, "parse");
	ok &= ASSERT_EQ(ntohs(k.port), 443, "port value");
	ok &= ASSERT_EQ(raw[6], 0x01, "443 high byte");
	ok &= ASSERT_EQ(raw[7], 0xbb, "443 low byte");

	ok &= ASSERT_EQ(pol_parse_match("fd00::/64", &k), 0, "parse");
	ok &= ASSERT_EQ(k.prefixlen, 96, "v6 /64 prefixlen");
	ok &= ASSERT_EQ(k.family, HERMES_FAMILY_V6, "v6 family");
	ok &= ASSERT_EQ(k.port, 0, "v6 any port");
	ok &= ASSERT_TRUE(!memcmp(k.addr, fd00, 16), "v6 address");
	ok &= ASSERT_EQ(pol_parse_match("fd00::1", &k), 0, "parse");
	ok &= ASSERT_EQ(k.prefixlen, 160, "v6 host prefixlen");
	ok &= ASSERT_EQ(k.addr[15], 1, "v6 last byte");
	ok &= ASSERT_EQ(pol_parse_match("[fd00::1:2/64]:8443", &k), 0, "parse");
	ok &= ASSERT_EQ(k.port, htons(8443), "v6 port");
	ok &= ASSERT_TRUE(!memcmp(k.addr, fd00, 16), "v6 host bits cleared");
	ok &= ASSERT_EQ(pol_parse_match("::/0", &k), 0, "parse");
	ok &= ASSERT_EQ(k.prefixlen, 32, "v6 /0 prefixlen");
	ok &= ASSERT_EQ(k.family, HERMES_FAMILY_V6, "v6 /0 family");
	return ok;
}

static bool test_fmt(void)
{
	struct hermes_policy_key k;
	char buf[80], small[8];
	bool ok = true;

	pol_parse_match("[fd00::/64]:443", &k);
	ok &= ASSERT_EQ(pol_fmt_match(&k, small, sizeof(small)), -ENOSPC, "small buffer");
	memset(&k, 0, sizeof(k));
	k.family = 5;
	k.prefixlen = 40;
	ok &= ASSERT_EQ(pol_fmt_match(&k, buf, sizeof(buf)), -EINVAL, "bad family");
	k.family = HERMES_FAMILY_V4;
	k.prefixlen = 65;
	ok &= ASSERT_EQ(pol_fmt_match(&k, buf, sizeof(buf)), -EINVAL, "v4 prefix > 32");
	k.prefixlen = 16;
	ok &= ASSERT_EQ(pol_fmt_match(&k, buf, sizeof(buf)), -EINVAL, "prefix below base");
	k.family = HERMES_FAMILY_V6;
	k.prefixlen = 161;
	ok &= ASSERT_EQ(pol_fmt_match(&k, buf, sizeof(buf)), -EINVAL, "v6 prefix > 128");
	k.prefixlen = 160;
	ok &= ASSERT_EQ(pol_fmt_match(&k, buf, sizeof(buf)), 0, "v6 ::/128");
	ok &= ASSERT_STREQ(buf, "::/128", "v6 zero");
	return ok;
}

static bool test_actions(void)
{
	enum hermes_action a = HERMES_ACT_MAX;
	bool ok = true;

	ok &= ASSERT_EQ(pol_parse_action("pass", &a), 0, "pass");
	ok &= ASSERT_EQ(a, HERMES_ACT_PASS, "pass value");
	ok &= ASSERT_EQ(pol_parse_action("deny", &a), 0, "deny");
	ok &= ASSERT_EQ(a, HERMES_ACT_DENY, "deny value");
	ok &= ASSERT_EQ(pol_parse_action("proxy", &a), 0, "proxy");
	ok &= ASSERT_EQ(a, HERMES_ACT_PROXY, "proxy value");
	ok &= ASSERT_EQ(pol_parse_action("tunnel", &a), 0, "tunnel accepted");
	ok &= ASSERT_EQ(a, HERMES_ACT_TUNNEL, "tunnel value");
	ok &= ASSERT_EQ(pol_parse_action("http", &a), 0, "http accepted");
	ok &= ASSERT_EQ(a, HERMES_ACT_HTTP, "http value");
	a = HERMES_ACT_DENY;
	ok &= ASSERT_EQ(pol_parse_action("allow", &a), -EINVAL, "unknown");
	ok &= ASSERT_EQ(a, HERMES_ACT_DENY, "output untouched on error");
	ok &= ASSERT_EQ(pol_parse_action("allow", &a), -EINVAL, "unknown");
	ok &= ASSERT_EQ(pol_parse_action("", &a), -EINVAL, "empty");
	ok &= ASSERT_EQ(pol_parse_action("PASS", &a), -EINVAL, "case sensitive");
	ok &= ASSERT_EQ(pol_parse_action("pass ", &a), -EINVAL, "trailing space");
	ok &= ASSERT_EQ(pol_parse_action(NULL, &a), -EINVAL, "NULL");

	for (unsigned i = 0; i < HERMES_ACT_MAX; i++) {
		enum hermes_action b;
		int err = pol_parse_action(pol_action_name(i), &b);

		ok &= ASSERT_TRUE(err == 0 && b == i, "name of action %u round-trips", i);
	}
	ok &= ASSERT_STREQ(pol_action_name(HERMES_ACT_MAX), "unknown", "out of range action");
	ok &= ASSERT_STREQ(pol_action_name(2), "proxy", "action 2");
	ok &= ASSERT_STREQ(pol_origin_name(HERMES_ORIGIN_MANUAL), "manual", "origin manual");
	ok &= ASSERT_STREQ(pol_origin_name(HERMES_ORIGIN_CONFIG), "config", "origin config");
	ok &= ASSERT_STREQ(pol_origin_name(7), "unknown", "origin 7");
	for (unsigned i = 0; i < HERMES_CNT_MAX; i++)
		ok &= ASSERT_TRUE(pol_counter_name(i) && strcmp(pol_counter_name(i), "unknown"),
				  "counter %u has a name", i);
	ok &= ASSERT_STREQ(pol_counter_name(HERMES_CNT_DENY), "deny", "deny counter");
	ok &= ASSERT_STREQ(pol_counter_name(HERMES_CNT_MAX), "unknown", "out of range counter");
	ok &= ASSERT_STREQ(pol_counter_name(HERMES_CNT_UNKNOWN_ACTION), "unknown_action", "unknown_action counter");
	return ok;
}

/* Values past the enum fail closed in BPF: user space never writes one and names each it finds. */
/* protocol words, and the actions UDP rules refuse */
static bool test_protocols(void)
{
	unsigned p = 0;
	bool ok = true;

	ok &= ASSERT_EQ(pol_parse_protos("tcp", &p), 0, "tcp") && ASSERT_EQ(p, POL_PROTO_TCP, "tcp bits");
	ok &= ASSERT_EQ(pol_parse_protos("udp", &p), 0, "udp") && ASSERT_EQ(p, POL_PROTO_UDP, "udp bits");
	ok &= ASSERT_EQ(pol_parse_protos("both", &p), 0, "both") && ASSERT_EQ(p, POL_PROTO_TCP | POL_PROTO_UDP, "both bits");
	ok &= ASSERT_EQ(pol_parse_protos("UDP", &p), -EINVAL, "case matters");
	ok &= ASSERT_EQ(pol_parse_protos(NULL, &p), -EINVAL, "no word");
	ok &= ASSERT_STREQ(pol_proto_name(HERMES_PROTO_TCP), "tcp", "proto 0");
	ok &= ASSERT_STREQ(pol_proto_name(HERMES_PROTO_UDP), "udp", "proto 1");
	ok &= ASSERT_STREQ(pol_proto_name(7), "unknown", "proto 7");
	ok &= ASSERT_TRUE(!pol_udp_refusal(HERMES_ACT_PASS) && !pol_udp_refusal(HERMES_ACT_DENY) &&
			  !pol_udp_refusal(HERMES_ACT_PROXY) && !pol_udp_refusal(HERMES_ACT_TUNNEL),
			  "pass, deny, proxy, tunnel take UDP");
	ok &= ASSERT_TRUE(pol_udp_refusal(HERMES_ACT_HTTP) != NULL, "http refused");
	return ok;
}

static bool test_unknown_action(void)
{
	struct hermes_policy_key k;
	struct hermes_policy_val v = { 0 };
	bool ok = true;

	ok &= ASSERT_EQ(pol_parse_match("10.0.3.0/24:80", &k), 0, "match");
	for (unsigned a = 0; a < HERMES_ACT_MAX; a++) {
		v.action = (hermes_action_t)a;
		ok &= ASSERT_TRUE(!pol_warn_unknown(&k, &v), "action %u is known", a);
		/* a known action reaches the map: on fd -1, EBADF */
		ok &= ASSERT_EQ(pol_map_put(-1, &k, &v), -EBADF, "known action goes to the map");
	}
	for (unsigned a = HERMES_ACT_MAX; a < 256; a += 47) {
		v.action = (hermes_action_t)a;
		ok &= ASSERT_TRUE(pol_warn_unknown(&k, &v), "action %u is unknown", a);
		ok &= ASSERT_EQ(pol_map_put(-1, &k, &v), -EINVAL, "unknown action refused before the map");
	}
	return ok;
}

static bool test_order(void)
{
	/* Listing order: IPv4 before IPv6, then address, prefix length, port. */
	static const char *const sorted[] = {
		"0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/8:80", "10.0.0.0/8:443", "10.0.0.0/16",
		"10.0.0.1/32", "192.168.0.0/16", "::/0", "fd00::/64", "[fd00::/64]:443",
	};
	size_t n = sizeof(sorted) / sizeof(sorted[0]);
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			struct hermes_policy_key a, b;
			int c, want = i < j ? -1 : i > j ? 1 : 0;

			pol_parse_match(sorted[i], &a);
			pol_parse_match(sorted[j], &b);
			c = pol_key_cmp(&a, &b);
			c = c < 0 ? -1 : c > 0 ? 1 : 0;
			ok &= ASSERT_TRUE(c == want, "cmp(%s, %s) = %d, want %d", sorted[i], sorted[j], c, want);
		}
	}
	return ok;
}

static struct hermes_addr addr_of(const char *ip, unsigned port)
{
	struct hermes_addr a = { 0 };

	if (inet_pton(AF_INET, ip, a.addr) == 1) {
		a.family = HERMES_FAMILY_V4;
	} else {
		inet_pton(AF_INET6, ip, a.addr);
		a.family = HERMES_FAMILY_V6;
	}
	a.port = htons((uint16_t)port);
	return a;
}

/* The rule hermes-top shows for a flow is the one the BPF lookups pick: exact-port
 * rules first (longest prefix), then any-port rules; and coverage for the tunnel check. */
static bool test_best_rule(void)
{
	static const char *const rules[] = { "10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/8:80", "10.1.2.3", "fd00::/64:443" };
	struct hermes_policy_key k[5], a, b;
	struct hermes_addr d;

	for (int i = 0; i < 5; i++)
		if (!ASSERT_EQ(pol_parse_match(i == 4 ? "[fd00::/64]:443" : rules[i], &k[i]), 0, rules[i]))
			return false;
	d = addr_of("10.1.2.3", 80);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_TCP), 2, "10.1.2.3:80: the exact-port /8 beats the any-port /32");
	d = addr_of("10.1.2.3", 81);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_TCP), 3, "10.1.2.3:81: the /32");
	d = addr_of("10.1.9.9", 81);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_TCP), 1, "10.1.9.9:81: the /16");
	d = addr_of("10.9.9.9", 22);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_TCP), 0, "10.9.9.9:22: the /8");
	d = addr_of("11.0.0.1", 80);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_TCP), -1, "11.0.0.1: no rule");
	d = addr_of("fd00::7", 443);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_TCP), 4, "fd00::7:443");
	d = addr_of("fd00::7", 80);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_TCP), -1, "fd00::7:80: the v6 rule names 443");
	/* a UDP rule never decides a TCP flow, however specific */
	k[3].proto = HERMES_PROTO_UDP;
	d = addr_of("10.1.2.3", 81);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_TCP), 1, "10.1.2.3:81 with the /32 a UDP rule: the TCP /16");
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_UDP), 3, "10.1.2.3:81 over UDP: the UDP /32");
	d = addr_of("10.1.9.9", 81);
	ASSERT_EQ(pol_best_rule(k, 5, &d, HERMES_PROTO_UDP), -1, "10.1.9.9:81 over UDP: no UDP rule");
	k[3].proto = HERMES_PROTO_TCP;

	pol_parse_match("10.0.0.0/8", &a);
	pol_parse_match("10.1.0.0/16:80", &b);
	ASSERT_TRUE(pol_key_covers(&a, &b), "10.0.0.0/8 covers 10.1.0.0/16:80");
	ASSERT_TRUE(!pol_key_covers(&b, &a), "10.1.0.0/16:80 does not cover 10.0.0.0/8");
	pol_parse_match("10.1.0.0/16:443", &a);
	ASSERT_TRUE(!pol_key_covers(&a, &b), "a port-443 route does not cover a port-80 rule");
	pol_parse_match("10.1.0.0/16", &a);
	pol_parse_match("10.1.0.0/16", &b);
	ASSERT_TRUE(pol_key_covers(&a, &b), "a match covers itself");
	pol_parse_match("10.1.0.0/17", &a);
	ASSERT_TRUE(!pol_key_covers(&a, &b), "a /17 does not cover its /16");
	pol_parse_match("fd00::/8", &a);
	ASSERT_TRUE(!pol_key_covers(&a, &b), "families differ");
	return true;
}

/* ---- pol_sync_entries against a model of the LPM map: a table of at most `cap`
 * entries that refuses a new key when full (-ENOSPC, as the kernel does) and, with
 * old_kernel, an in-place update too (as older kernels do); it fails its fail_at-th
 * write with -EIO, and after every write checks that the watched keys are there. */
#define MCAP 64
struct model {
	struct pol_entry e[MCAP + 1];
	size_t n, cap;
	int writes, fail_at, adds_after_del;
	bool old_kernel, deleted;
	const struct hermes_policy_key *watch;
	size_t n_watch;
	int watch_missing;  /* writes after which a watched key was absent */
};

static long model_find(const struct model *m, const struct hermes_policy_key *k)
{
	for (size_t i = 0; i < m->n; i++)
		if (!pol_key_cmp(&m->e[i].key, k))
			return (long)i;
	return -1;
}

static int model_write(struct model *m)
{
	if (++m->writes == m->fail_at)
		return -EIO;
	return 0;
}

static void model_check(struct model *m)
{
	for (size_t i = 0; i < m->n_watch; i++)
		if (model_find(m, &m->watch[i]) < 0) {
			m->watch_missing++;
			return;
		}
}

static int model_put(void *map, const struct hermes_policy_key *k, const struct hermes_policy_val *v)
{
	struct model *m = map;
	long i = model_find(m, k);
	int rc = model_write(m);

	if (rc)
		return rc;
	if ((i < 0 || m->old_kernel) && m->n == m->cap)
		return -ENOSPC;
	if (i < 0) {
		i = (long)m->n++;
		m->e[i].key = *k;
		m->adds_after_del += m->deleted;
	}
	m->e[i].val = *v;
	model_check(m);
	return 0;
}

static int model_del(void *map, const struct hermes_policy_key *k)
{
	struct model *m = map;
	long i = model_find(m, k);
	int rc = model_write(m);

	if (rc)
		return rc;
	if (i < 0)
		return -ENOENT;
	m->e[i] = m->e[--m->n];
	m->deleted = true;
	model_check(m);
	return 0;
}

static const struct pol_map_ops model_ops = { .put = model_put, .del = model_del };

static int ent_cmp_q(const void *a, const void *b)
{
	return pol_key_cmp(&((const struct pol_entry *)a)->key, &((const struct pol_entry *)b)->key);
}

/* The model's entries sorted (as collect gives them), into out. */
static size_t model_sorted(const struct model *m, struct pol_entry *out)
{
	memcpy(out, m->e, m->n * sizeof(*out));
	qsort(out, m->n, sizeof(*out), ent_cmp_q);
	return m->n;
}

/* rule i of set `set`: 10.SET.I/32 (set 0: the kept ones) */
static struct cfg_rule mkrule(int set, int i, unsigned action)
{
	struct cfg_rule r = { .line = i + 1 };
	char s[32];

	snprintf(s, sizeof(s), "10.%d.%d.%d/32", set, i / 256, i % 256);
	pol_parse_match(s, &r.key);
	r.val.action = (hermes_action_t)action;
	return r;
}

/* A model holding `rules` as config rules (and the manual ones given). */
static void model_fill(struct model *m, const struct cfg_rule *rules, int n)
{
	for (int i = 0; i < n; i++) {
		m->e[m->n].key = rules[i].key;
		m->e[m->n].val = rules[i].val;
		m->e[m->n++].val.origin = HERMES_ORIGIN_CONFIG;
	}
}

static bool same_as(const struct model *m, const struct pol_entry *want, size_t n)
{
	struct pol_entry got[MCAP + 1];

	return model_sorted(m, got) == n && !memcmp(got, want, n * sizeof(*got));
}

static bool test_sync_full_map(void)
{
	struct cfg_rule old[MCAP], neu[MCAP];
	struct hermes_policy_key kept[8];
	struct pol_entry ents[MCAP + 1], want[MCAP + 1];
	struct model m = { .cap = MCAP };
	struct model full;
	char err[512];
	size_t n_ents;
	int rc;

	/* a full map of 8 kept rules (2 changing action) and 56 others, replaced by the
	 * same 8 and 56 new ones: 120 rules at once would not fit */
	for (int i = 0; i < MCAP; i++) {
		old[i] = i < 8 ? mkrule(0, i, HERMES_ACT_DENY) : mkrule(1, i, HERMES_ACT_PROXY);
		neu[i] = i < 8 ? mkrule(0, i, i < 2 ? HERMES_ACT_HTTP : HERMES_ACT_DENY) : mkrule(2, i, HERMES_ACT_PASS);
		if (i < 8)
			kept[i] = old[i].key;
	}
	model_fill(&m, old, MCAP);
	full = m;
	m.watch = kept;
	m.n_watch = 8;
	n_ents = model_sorted(&m, ents);
	rc = pol_sync_entries(&model_ops, &m, m.cap, ents, n_ents, neu, MCAP, err, sizeof(err));
	ASSERT_EQ(rc, 0, "a full map replaced by a mostly different full set");
	ASSERT_EQ(m.watch_missing, 0, "writes after which a kept rule was missing");
	{
		struct model w = { .cap = MCAP };

		model_fill(&w, neu, MCAP);
		model_sorted(&w, want);
	}
	ASSERT_TRUE(same_as(&m, want, MCAP), "the map holds exactly the new set");
	ASSERT_EQ(m.writes, 2 + 56 + 56, "writes: 2 updates, 56 deletes, 56 adds");

	/* the same on a kernel that counts an in-place update of a full map as a new entry */
	m = full;
	m.old_kernel = true;
	m.watch = kept;
	m.n_watch = 8;
	rc = pol_sync_entries(&model_ops, &m, m.cap, ents, n_ents, neu, MCAP, err, sizeof(err));
	ASSERT_EQ(rc, 0, "old kernel: the updates wait for the deletes");
	ASSERT_EQ(m.watch_missing, 0, "old kernel: a kept rule was never missing");
	ASSERT_TRUE(same_as(&m, want, MCAP), "old kernel: the map holds exactly the new set");

	/* with room, every new rule goes in before any old one leaves */
	m = (struct model){ .cap = MCAP };
	model_fill(&m, old, 32);
	n_ents = model_sorted(&m, ents);
	rc = pol_sync_entries(&model_ops, &m, m.cap, ents, n_ents, neu, 32, err, sizeof(err));
	ASSERT_EQ(rc, 0, "half a map replaced");
	ASSERT_EQ(m.adds_after_del, 0, "with room, no rule is added after a delete");
	return true;
}

static bool test_sync_too_big(void)
{
	struct cfg_rule old[MCAP], neu[MCAP];
	struct pol_entry ents[MCAP + 1];
	struct model m = { .cap = MCAP };
	char err[512];
	size_t n_ents;
	int rc;

	/* 63 config rules and a manual one fill the map; 64 new config rules do not fit
	 * beside the manual rule */
	for (int i = 0; i < MCAP; i++) {
		old[i] = mkrule(1, i, HERMES_ACT_PROXY);
		neu[i] = mkrule(2, i, HERMES_ACT_PASS);
	}
	model_fill(&m, old, MCAP - 1);
	m.e[m.n] = (struct pol_entry){ .key = mkrule(3, 0, 0).key,
				       .val = { .action = HERMES_ACT_DENY, .origin = HERMES_ORIGIN_MANUAL } };
	m.n++;
	n_ents = model_sorted(&m, ents);
	rc = pol_sync_entries(&model_ops, &m, m.cap, ents, n_ents, neu, MCAP, err, sizeof(err));
	ASSERT_EQ(rc, -ENOSPC, "a new set over the map's size");
	ASSERT_EQ(m.writes, 0, "nothing written");
	ASSERT_TRUE(same_as(&m, ents, n_ents), "the map is as it was");
	ASSERT_HAS(err, "needs 65 entries in hermes_policy (64 config rules and 1 manual ones), more than the 64",
		   "the message counts");
	/* the manual rule's own key in the config: shadowed, so 64 fit */
	neu[0].key = m.e[MCAP - 1].key;
	rc = pol_sync_entries(&model_ops, &m, m.cap, ents, n_ents, neu, MCAP, err, sizeof(err));
	ASSERT_EQ(rc, 0, "a config rule shadowed by the manual one takes no entry of its own");
	return true;
}

static bool test_sync_fail_midway(void)
{
	struct cfg_rule old[MCAP], neu[MCAP];
	struct pol_entry ents[MCAP + 1];
	struct model base = { .cap = MCAP };
	char err[512];
	size_t n_ents;
	int total;

	for (int i = 0; i < MCAP; i++) {
		old[i] = i < 8 ? mkrule(0, i, HERMES_ACT_DENY) : mkrule(1, i, HERMES_ACT_PROXY);
		neu[i] = i < 8 ? mkrule(0, i, HERMES_ACT_TUNNEL) : mkrule(2, i, HERMES_ACT_PASS);
	}
	model_fill(&base, old, MCAP - 8);
	n_ents = model_sorted(&base, ents);
	{
		struct model m = base;

		ASSERT_EQ(pol_sync_entries(&model_ops, &m, m.cap, ents, n_ents, neu, MCAP, err, sizeof(err)), 0,
			  "the whole change");
		total = m.writes;
	}
	/* each write in turn fails: the map is always as it was */
	for (int k = 1; k <= total; k++) {
		struct model m = base;
		int rc;

		m.fail_at = k;
		rc = pol_sync_entries(&model_ops, &m, m.cap, ents, n_ents, neu, MCAP, err, sizeof(err));
		if (!ASSERT_EQ(rc, -EIO, "a failed write fails the sync") ||
		    !ASSERT_TRUE(same_as(&m, ents, n_ents), "write %d of %d failed: the map is as it was", k, total) ||
		    !ASSERT_HAS(err, "were taken back", "the message says so"))
			return false;
	}
	return true;
}

int main(void)
{
	RUN(test_roundtrip_v4);
	RUN(test_roundtrip_v6);
	RUN(test_host_bits);
	RUN(test_reject);
	RUN(test_messages);
	RUN(test_key_layout);
	RUN(test_fmt);
	RUN(test_actions);
	RUN(test_unknown_action);
	RUN(test_protocols);
	RUN(test_order);
	RUN(test_best_rule);
	RUN(test_sync_full_map);
	RUN(test_sync_too_big);
	RUN(test_sync_fail_midway);
	return check_summary("test_policy");
}
