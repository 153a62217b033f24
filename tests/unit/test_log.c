/* test_log.c: unit test of userspace/log.c: the three line formats (text with an RFC
 * 3339 UTC timestamp, JSON with escaping, journal priority prefixes), the choice of
 * journal from $JOURNAL_STREAM, level filtering, and access lines (text values quoted
 * when they hold spaces or quotes, JSON numbers and strings, off, a file). stderr is
 * redirected to a temporary file for the time of each check. Needs no privilege. */
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static char out[16384];

/* Runs fn with stderr going to a temporary file; out receives what was written. */
static void capture(void (*fn)(void))
{
	char tmpl[] = "/tmp/hermes-test-log-XXXXXX";
	int fd = mkstemp(tmpl), saved = dup(2);
	ssize_t n;

	if (fd < 0 || saved < 0) {
		perror("mkstemp/dup");
		exit(1);
	}
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(tmpl);
}

static bool matches(const char *s, const char *ere)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, ere, REG_EXTENDED | REG_NEWLINE))
		return false;
	ok = !regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	return ok;
}
#define ASSERT_MATCH(s, ere, what) ASSERT_TRUE(matches(s, ere), "%s: '%s' !~ /%s/", what, s, ere)

static void say_things(void)
{
	log_info("ready (%d rules)", 3);
	log_debug("hidden at info");
	log_warn("a \"quoted\" word\\ and a\nnewline");
}

static const struct log_field fields[] = {
	LOG_NUM("pid", 42), LOG_STR("comm", "curl"), LOG_STR("path", "/a b\"c"), LOG_STR("route", ""),
	LOG_STR("eq", "a=b"),
};

static void access_line(void)
{
	log_access(fields, sizeof(fields) / sizeof(fields[0]));
}

static bool test_text(void)
{
	bool ok = true;

	log_set_level(LOG_INFO);
	log_set_format(LOG_FMT_TEXT);
	capture(say_things);
	ok &= ASSERT_MATCH(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z info hermesd: ready \\(3 rules\\)$",
			   "text info line");
	ok &= ASSERT_TRUE(!strstr(out, "hidden"), "debug is filtered at info");
	ok &= ASSERT_MATCH(out, "Z warn hermesd: a \"quoted\" word\\\\ and a newline$", "a newline in a message stays one line");
	capture(access_line);
	ok &= ASSERT_MATCH(out, "Z info hermesd: access pid=42 comm=curl path=\"/a b\\\\\"c\" route=- eq=\"a=b\"$",
			   "text access line: values with space, quote or = are quoted, empty is -");
	return ok;
}

static void say_long(void)
{
	static char q[6000];

	memset(q, '"', sizeof(q) - 1);
	log_info("%s", q);
}

static bool test_json(void)
{
	size_t n;
	bool ok = true;

	log_set_format(LOG_FMT_JSON);
	capture(say_things);
	ok &= ASSERT_MATCH(out, "^\\{\"time\":\"[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z\",\"level\":\"info\",\"msg\":\"ready \\(3 rules\\)\"\\}$",
			   "json info line");
	ok &= ASSERT_HAS(out, "\"level\":\"warn\",\"msg\":\"a \\\"quoted\\\" word\\\\ and a\\nnewline\"}\n",
			 "json escapes quotes, backslashes and newlines");
	capture(access_line);
	ok &= ASSERT_HAS(out, "\"level\":\"info\",\"msg\":\"access\",\"pid\":42,\"comm\":\"curl\",\"path\":\"/a b\\\"c\","
			 "\"route\":\"\",\"eq\":\"a=b\"}\n", "json access object");
	/* 6000 quotes escape to 12000 bytes: cut, still one valid object */
	capture(say_long);
	n = strlen(out);
	ok &= ASSERT_TRUE(n <= 8192 && n > 4000, "a long line is cut to the line size (%zu)", n);
	ok &= ASSERT_TRUE(n > 3 && !strcmp(out + n - 3, "\"}\n") && out[n - 4] == '"' && out[n - 5] == '\\',
			  "cut between two escapes, closed: ...%s", out + (n > 8 ? n - 8 : 0));
	return ok;
}

static bool test_journal(void)
{
	char tmpl[] = "/tmp/hermes-test-log-XXXXXX", js[64];
	int fd = mkstemp(tmpl), saved = dup(2);
	struct stat st;
	bool ok = true, is;

	if (!ASSERT_TRUE(fd >= 0 && saved >= 0 && !fstat(fd, &st), "temporary file"))
		return false;
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	dup2(fd, 2);
	is = log_stderr_is_journal();
	dup2(saved, 2);
	ok &= ASSERT_TRUE(is, "JOURNAL_STREAM naming stderr is journald's");
	ok &= ASSERT_TRUE(!log_stderr_is_journal(), "another stderr is not");
	setenv("JOURNAL_STREAM", "garbage", 1);
	ok &= ASSERT_TRUE(!log_stderr_is_journal(), "a malformed JOURNAL_STREAM is not");
	unsetenv("JOURNAL_STREAM");
	close(fd);
	close(saved);
	unlink(tmpl);

	log_set_format(LOG_FMT_JOURNAL);
	log_set_level(LOG_DEBUG);
	capture(say_things);
	ok &= ASSERT_MATCH(out, "^<6>ready \\(3 rules\\)$", "journal info: priority 6, no time");
	ok &= ASSERT_MATCH(out, "^<7>hidden at info$", "journal debug: priority 7");
	ok &= ASSERT_MATCH(out, "^<4>a ", "journal warn: priority 4");
	log_set_format(LOG_FMT_AUTO);
	ok &= ASSERT_EQ(log_get_format(), LOG_FMT_TEXT, "auto without JOURNAL_STREAM is text");
	log_set_level(LOG_INFO);
	return ok;
}

static bool test_access_dest(void)
{
	char path[] = "/tmp/hermes-test-access-XXXXXX", err[256], buf[1024];
	enum log_format f;
	bool ok = true;
	int fd = mkstemp(path);
	ssize_t n;

	if (!ASSERT_TRUE(fd >= 0, "temporary file"))
		return false;
	ok &= ASSERT_EQ(log_access_open("off", err, sizeof(err)), 0, "off");
	ok &= ASSERT_TRUE(!log_access_on(), "off is off");
	capture(access_line);
	ok &= ASSERT_STREQ(out, "", "nothing logged when off");
	ok &= ASSERT_TRUE(log_access_open("relative.log", err, sizeof(err)) < 0, "a relative path is refused");
	ok &= ASSERT_TRUE(log_access_open("/nonexistent-dir/x.log", err, sizeof(err)) < 0, "a missing directory fails");
	ok &= ASSERT_HAS(err, "/nonexistent-dir/x.log", "the message names the file");
	log_set_format(LOG_FMT_JOURNAL); /* a file has no journald: text */
	ok &= ASSERT_EQ(log_access_open(path, err, sizeof(err)), 0, "a file");
	log_set_level(LOG_ERROR);
	ok &= ASSERT_TRUE(log_access_on(), "a file takes access lines whatever the level");
	access_line();
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	ok &= ASSERT_MATCH(buf, "^[0-9-]{10}T[0-9:.]{12}Z info hermesd: access pid=42 comm=curl ", "text line in the file");
	ok &= ASSERT_EQ(log_access_open("stderr", err, sizeof(err)), 0, "back to stderr");
	ok &= ASSERT_TRUE(!log_access_on(), "stderr at level error takes no access line");
	log_set_level(LOG_INFO);
	ok &= ASSERT_EQ(log_parse_format("json", &f), 0, "json parses");
	ok &= ASSERT_EQ(f, LOG_FMT_JSON, "json");
	ok &= ASSERT_TRUE(log_parse_format("xml", &f) < 0, "xml does not");
	close(fd);
	unlink(path);
	return ok;
}

int main(void)
{
	RUN(test_text);
	RUN(test_json);
	RUN(test_journal);
	RUN(test_access_dest);
	return check_summary("test_log");
}
