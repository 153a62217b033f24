/* cli.h: what hermesctl and hermes-top share as command-line programs: their exit codes,
 * error and usage-error messages, JSON string output, the option checks both make, and
 * the blocking client for hermesd's admin endpoint. Each program defines cli_prog, the
 * name its messages start with. */
#ifndef HERMES_CLI_H
#define HERMES_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config-t.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

#define ADMIN_DEFAULT "127.0.0.1:15000"
#define ADMIN_TIMEOUT_MS 1000

/* Defined by each program: "hermesctl", "hermes-top". */
extern const char cli_prog[];

/* "PROG: message" on stderr. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same followed by a pointer to --help; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The usage error for what getopt_long returned as c (':' or '?') when called with
 * opterr = 0 and an optstring starting with ':'. Returns EXIT_USAGE. */
int getopt_error(int c, char **argv);

/* A JSON string; control bytes and bytes >= 0x7f are escaped as \u00XX, so the output
 * is valid UTF-8 whatever a process or a path called itself. */
void json_str(FILE *f, const char *s);

/* hermesd's admin endpoint as a program was told it (--admin), and how to ask it. */
struct admin_client {
	const char *addr;       /* "IPv4:PORT" / "[IPv6]:PORT" as given: the Host header */
	struct cfg_sockaddr sa; /* addr, parsed by cli_check_options() */
	size_t max_answer;      /* a longer answer is an error (bytes, head included) */
	/* set by a signal handler: a wait interrupted by it ends (NULL: waits resume) */
	const volatile sig_atomic_t *stop;
	bool name_path;         /* failure messages say which GET failed (for several per run) */
};

/* One HTTP answer: all of it in buf (NUL-terminated; free() it), the body inside. */
struct admin_answer {
	char *buf;
	size_t len;
	int status;
	char *body; /* NUL-terminated */
	size_t body_len;
};

/* Whether buf (NUL-terminated at len) holds the head and Content-Length bytes of body
 * after it: hermesd closes after answering, but there is no need to wait for that. */
bool admin_answer_complete(const struct admin_answer *a);
/* Reads the status and finds the body of the answer in buf (NUL-terminated at len): 0,
 * or -1 when it is not HTTP. Whatever answers on the admin port, hermesd or not, gets
 * here (tests/fuzz/fuzz_top.c). */
int admin_answer_parse(struct admin_answer *a);

/* The checks every program makes of --pin-root and --admin (parses ac->addr into
 * ac->sa); EXIT_OK or the usage error's EXIT_USAGE. */
int cli_check_options(const char *pin_root, struct admin_client *ac);

/* GET path, blocking, with ADMIN_TIMEOUT_MS per socket step: the tools ask once or
 * twice per run or sample, so an event loop would buy nothing. Returns 0 with the
 * answer when hermesd answered in HTTP (any status; err untouched), -1 with the
 * reason in err when it did not (ans then holds nothing to free). */
int admin_get(const struct admin_client *ac, const char *path, struct admin_answer *ans, char *err, size_t errlen);
/* The same with another method (POST /cache/purge?url=...), no request body. */
int admin_request(const struct admin_client *ac, const char *method, const char *path, struct admin_answer *ans,
		  char *err, size_t errlen);

#endif
