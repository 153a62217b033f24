/* test_top_filter.c: unit tests (no root) for hermes-top's flow filters
 * (tools/top/filter.c): what each FIELD:VALUE word and plain text matches, how words
 * combine (any within a field, all across fields, negation), and the usage errors a
 * malformed word gives. Exit 0 when every check passes, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <linux/bpf.h>

#include "addr.h"
#include "check.h"
#include "top/filter.h"
#include "top/util.h"

/* An outgoing flow of curl (pid 4242) from 10.0.0.5:40000 to 10.1.2.3:80, proxied by
 * the uring engine, established. */
static struct row curl_row(void)
{
	struct row r;
	struct cfg_sockaddr sa;
	struct hermes_addr a;

	memset(&r, 0, sizeof(r));
	r.cookie = 7;
	r.pid = 4242;
	snprintf(r.comm, sizeof(r.comm), "curl");
	snprintf(r.src, sizeof(r.src), "10.0.0.5:40000");
	snprintf(r.dst, sizeof(r.dst), "10.1.2.3:80");
	addr_parse(r.src, &sa);
	addr_to_hermes((struct sockaddr *)&sa.ss, &a);
	haddr_norm(&r.src_addr, &a);
	addr_parse(r.dst, &sa);
	addr_to_hermes((struct sockaddr *)&sa.ss, &a);
	haddr_norm(&r.dst_addr, &a);
	r.action = HERMES_ACT_PROXY;
	r.engine = ENG_URING;
	r.tcp_state = BPF_TCP_ESTABLISHED;
	return r;
}

/* Whether `text` parses and matches r as `want` says. */
static bool matches(const char *text, const struct row *r, bool want)
{
	struct filter f;
	char err[256] = "";

	if (!ASSERT_EQ(filter_parse(text, &f, err, sizeof(err)), 0, text))
		return false;
	return ASSERT_TRUE(filter_match(&f, r) == want, "'%s' should %smatch", text, want ? "" : "not ");
}

/* `text` is a usage error whose message contains `why`. */
static bool rejects(const char *text, const char *why)
{
	struct filter f;
	char err[256] = "";

	if (!ASSERT_EQ(filter_parse(text, &f, err, sizeof(err)), -EINVAL, text))
		return false;
	return ASSERT_HAS(err, why, text);
}

static bool test_fields(void)
{
	struct row r = curl_row();
	bool ok = true;

	ok &= matches("", &r, true);
	ok &= matches("pid:4242", &r, true);
	ok &= matches("pid:424", &r, false);
	ok &= matches("comm:curl", &r, true);
	ok &= matches("comm:cu*", &r, true);
	ok &= matches("comm:py*", &r, false);
	ok &= matches("dst:10.0.0.0/8", &r, true);
	ok &= matches("dst:10.1.2.3:80", &r, true);
	ok &= matches("dst:10.1.2.3:443", &r, false);
	ok &= matches("dst:192.168.0.0/16", &r, false);
	ok &= matches("src:10.0.0.5", &r, true);
	ok &= matches("src:10.1.0.0/16", &r, false);
	ok &= matches("port:80", &r, true);
	ok &= matches("port:443", &r, false);
	ok &= matches("action:proxy", &r, true);
	ok &= matches("action:pass", &r, false);
	ok &= matches("engine:uring", &r, true);
	ok &= matches("engine:splice", &r, false);
	ok &= matches("state:open", &r, true);
	ok &= matches("state:estab", &r, true);
	ok &= matches("state:closed", &r, false);
	ok &= matches("state:syn-sent", &r, false);
	ok &= matches("proto:tcp", &r, true);
	ok &= matches("proto:udp", &r, false);
	r.udp = true; /* a UDP relay flow: no TCP state */
	ok &= matches("proto:udp", &r, true);
	ok &= matches("!proto:udp", &r, false);
	ok &= matches("state:open", &r, true);
	ok &= matches("state:estab", &r, false);
	r.udp = false;
	r.closed = true;
	ok &= matches("state:closed", &r, true);
	ok &= matches("state:open", &r, false);
	ok &= matches("state:estab", &r, false); /* a closed flow has no TCP state to show */
	return ok;
}

/* Plain words: a case-insensitive substring of the command, pid, source, destination
 * or action; an unknown FIELD: is plain text too (an address with its port). */
static bool test_text(void)
{
	struct row r = curl_row();
	bool ok = true;

	ok &= matches("CURL", &r, true);
	ok &= matches("424", &r, true);
	ok &= matches("10.0.0.5", &r, true);
	ok &= matches("10.1.2.3:80", &r, true);
	ok &= matches("prox", &r, true);
	ok &= matches("wget", &r, false);
	ok &= matches("curl proxy", &r, true);  /* each plain word must match */
	ok &= matches("curl wget", &r, false);
	ok &= matches("text:curl", &r, false);  /* "text" is no field: the whole word is text */
	return ok;
}

static bool test_combine(void)
{
	struct row r = curl_row();
	bool ok = true;

	ok &= matches("action:proxy action:tunnel", &r, true); /* any within a field */
	ok &= matches("action:pass action:tunnel", &r, false);
	ok &= matches("comm:curl port:80", &r, true);           /* all across fields */
	ok &= matches("comm:curl port:443", &r, false);
	ok &= matches("!comm:curl", &r, false);
	ok &= matches("-comm:curl", &r, false);
	ok &= matches("!comm:wget", &r, true);
	ok &= matches("-dst:10.0.0.0/8", &r, false);
	ok &= matches("action:proxy !dst:192.168.0.0/16", &r, true);
	ok &= matches("!wget", &r, true);
	ok &= matches("!curl", &r, false);
	ok &= matches("-", &r, false);                           /* a lone '-' is text */
	ok &= ASSERT_TRUE(filter_match(NULL, &r), "a NULL filter passes everything");
	return ok;
}

static bool test_errors(void)
{
	char many[400] = "";
	bool ok = true;

	ok &= rejects("pid:abc", "bad pid in filter 'pid:abc'");
	ok &= rejects("port:0", "bad port");
	ok &= rejects("port:65536", "bad port");
	ok &= rejects("comm:", "needs a value after ':'");
	ok &= rejects("!dst:", "needs a value after ':'");
	ok &= rejects("action:bogus", "unknown action in filter 'action:bogus'");
	ok &= rejects("engine:bogus", "unknown engine in filter 'engine:bogus'");
	ok &= rejects("state:bogus", "unknown state in filter 'state:bogus'");
	ok &= rejects("proto:icmp", "unknown protocol in filter 'proto:icmp' (expected tcp or udp)");
	ok &= rejects("dst:10.0.0.0/33", "filter 'dst:10.0.0.0/33': ");
	for (int i = 0; i <= FILTER_TERMS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "w%d ", i);
	ok &= rejects(many, "more than 32 filter words");
	return ok;
}

static bool test_field_names(void)
{
	bool ok = true;

	ok &= ASSERT_EQ(filter_field("pid", 3), F_PID, "pid");
	ok &= ASSERT_EQ(filter_field("state", 5), F_STATE, "state");
	ok &= ASSERT_EQ(filter_field("comm:curl", 4), F_COMM, "comm of comm:curl");
	ok &= ASSERT_EQ(filter_field("text", 4), F_TEXT, "text");
	ok &= ASSERT_EQ(filter_field("pi", 2), F_TEXT, "pi");
	ok &= ASSERT_EQ(filter_field("pids", 4), F_TEXT, "pids");
	return ok;
}

int main(void)
{
	RUN(test_fields);
	RUN(test_text);
	RUN(test_combine);
	RUN(test_errors);
	RUN(test_field_names);
	return check_summary("test_top_filter");
}
