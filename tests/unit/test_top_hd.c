/* test_top_hd: hermes-top's readers of hermesd's admin answers (tools/top/hd.c, tools/cli.c),
 * on answers hermesd writes and on ones it never would (tests/fuzz/fuzz_top.c runs them on
 * anything): a /stats counter's value is on its own line; /flows' JSON with unknown
 * fields, and malformed; an answer's head. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "top/hd.h"

const char cli_prog[] = "test_top_hd"; /* cli.c's messages name their program */

static bool test_stats(void)
{
	struct hd_stats st = { 0 };
	bool ok = true;

	hd_parse_stats("# HELP hermes_connections_active x\nhermes_connections_active 3\n"
		       "hermes_flows_total{engine=\"uring\"} 12\nhermes_flows_total{engine=\"splice\"} 4\n", &st);
	ok &= ASSERT_TRUE(st.has_active && st.active == 3, "active");
	ok &= ASSERT_TRUE(st.has_flows && st.flows_uring == 12 && st.flows_splice == 4, "flows by engine");
	ok &= ASSERT_TRUE(!st.has_retries, "no retries line, none read");
	/* a line without its value does not take the next line's (strtoull skips white
	 * space; fuzz_top found it), nor a sign */
	memset(&st, 0, sizeof(st));
	hd_parse_stats("hermes_connections_active \n\r9\nhermes_upstream_connect_retries_total -1\n", &st);
	ok &= ASSERT_TRUE(!st.has_active && !st.has_retries, "no value on its line: not read");
	return ok;
}

static bool test_flows(void)
{
	struct hd_flow *v = NULL;
	size_t n = 0;
	bool ok = true;

	ok &= ASSERT_EQ(hd_parse_flows("{\"flows\":[{\"id\":7,\"app_cookie\":9,\"engine\":\"uring\",\"new\":{\"a\":[1,"
				       "null]},\"protocol\":\"udp\",\"idle_ms\":5,\"comm\":\"a\\\"b\"}],\"more\":1}",
				       &v, &n), 0, "parsed, unknown fields skipped");
	if (!ASSERT_EQ(n, 1, "one flow"))
		return false;
	ok &= ASSERT_TRUE(v[0].id == 7 && v[0].app_cookie == 9 && v[0].udp && v[0].has_idle && v[0].idle_ms == 5,
			  "its numbers");
	ok &= ASSERT_STREQ(v[0].engine, "uring", "engine");
	ok &= ASSERT_STREQ(v[0].comm, "a\"b", "comm unescaped");
	free(v);
	ok &= ASSERT_EQ(hd_parse_flows("{\"flows\":[{\"id\":", &v, &n), -1, "cut short");
	ok &= ASSERT_TRUE(!v && !n, "nothing returned");
	ok &= ASSERT_EQ(hd_parse_flows("SSH-2.0-OpenSSH_9.2\r\n", &v, &n), -1, "not JSON");
	return ok;
}

static bool test_answer(void)
{
	char text[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
	char other[] = "SSH-2.0-OpenSSH_9.2\r\n";
	struct admin_answer a = { .buf = text, .len = sizeof(text) - 1 };
	bool ok = true;

	ok &= ASSERT_TRUE(admin_answer_complete(&a), "complete at its Content-Length");
	ok &= ASSERT_EQ(admin_answer_parse(&a), 0, "an HTTP answer");
	ok &= ASSERT_EQ(a.status, 200, "status");
	ok &= ASSERT_STREQ(a.body, "{}", "body");
	ok &= ASSERT_EQ(a.body_len, 2, "body length");
	a = (struct admin_answer){ .buf = other, .len = sizeof(other) - 1 };
	ok &= ASSERT_TRUE(!admin_answer_complete(&a), "another protocol: wait for the close");
	ok &= ASSERT_EQ(admin_answer_parse(&a), -1, "not an HTTP answer");
	return ok;
}

int main(void)
{
	RUN(test_stats);
	RUN(test_flows);
	RUN(test_answer);
	return check_summary("test_top_hd");
}
