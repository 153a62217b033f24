/* check.h: the assertions and the runner the unit tests share, kernel-selftest style.
 * Each ASSERT_* counts a check and, when it fails, prints "FAIL FILE:LINE: ..." with what
 * was expected and what came, then returns whether it held, so that a test can stop at a
 * failure that makes the rest meaningless or go on to report more. RUN(test_fn) runs one
 * test and prints "ok N NAME" or "not ok N NAME": a test fails when it returns false or
 * when any check inside it failed. main ends with `return check_summary("test_x");`
 * (exit 0 when everything passed, 1 otherwise). One test program is one translation
 * unit, so the counters are static here. */
#ifndef HERMES_TEST_CHECK_H
#define HERMES_TEST_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int check_count, check_failures; /* checks made, checks failed */
static int check_tests, check_tests_failed;

static inline bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	check_count++;
	if (ok)
		return true;
	check_failures++;
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

static inline bool check_eq_at(long long got, long long want, const char *file, int line, const char *what)
{
	check_at(got == want, file, line, "%s: got %lld (%#llx), want %lld (%#llx)", what, got,
		 (unsigned long long)got, want, (unsigned long long)want);
	return got == want;
}

/* got may be NULL (a failure); values are cut in the message, which needs only their start. */
static inline bool check_str_at(const char *got, const char *want, const char *file, int line, const char *what)
{
	bool ok = got && !strcmp(got, want);

	check_at(ok, file, line, "%.200s: got \"%.400s\", want \"%.400s\"", what, got ? got : "(null)", want);
	return ok;
}

static inline bool check_has_at(const char *hay, const char *needle, const char *file, int line,
				const char *what)
{
	bool ok = strstr(hay, needle) != NULL;

	check_at(ok, file, line, "%s: \"%s\" does not contain \"%s\"", what, hay, needle);
	return ok;
}

/* ASSERT_TRUE(cond, "printf format", args...). Each ASSERT_* gives back its own result,
 * not check_at's: clang's static analyzer (make lint) does not follow a variadic call, and
 * would not see that a test which returns on a failed check goes on only when it held.
 * cppcheck does not read a statement expression ({ ... }): it gets the plain call. */
#ifdef HERMES_CPPCHECK /* tools/lint/cppcheck.h */
#define ASSERT_TRUE(cond, fmt, ...) check_at(!!(cond), __FILE__, __LINE__, "%s: " fmt, #cond, ##__VA_ARGS__)
#else
#define ASSERT_TRUE(cond, fmt, ...) ({                                                  \
	bool check_ok_ = !!(cond);                                                      \
	check_at(check_ok_, __FILE__, __LINE__, "%s: " fmt, #cond, ##__VA_ARGS__);      \
	check_ok_;                                                                      \
})
#endif
#define ASSERT_EQ(got, want, what) check_eq_at((long long)(got), (long long)(want), __FILE__, __LINE__, what)
#define ASSERT_STREQ(got, want, what) check_str_at(got, want, __FILE__, __LINE__, what)
#define ASSERT_HAS(hay, needle, what) check_has_at(hay, needle, __FILE__, __LINE__, what)

static inline void check_report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void check_report(bool ok, const char *fmt, ...)
{
	va_list ap;

	check_tests++;
	if (!ok)
		check_tests_failed++;
	printf("%s %d ", ok ? "ok" : "not ok", check_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* RUN_TEST(call, "name format", args...): one test, however it is called. */
#define RUN_TEST(call, ...)                                                      \
	do {                                                                     \
		int before_ = check_failures;                                    \
		bool ok_ = (call);                                               \
		check_report(ok_ && check_failures == before_, __VA_ARGS__);     \
	} while (0)
#define RUN(fn) RUN_TEST(fn(), "%s", #fn)

static inline int check_summary(const char *prog)
{
	printf("%s: %d of %d tests passed, %d of %d checks failed\n", prog, check_tests - check_tests_failed,
	       check_tests, check_failures, check_count);
	return check_failures || check_tests_failed ? 1 : 0;
}

#endif
