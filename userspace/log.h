/* log.h: leveled logging to stderr (text with RFC 3339 UTC timestamps, JSON lines, or
 * journald priority prefixes) and the access log, shared by hermesd and the tools. */
#ifndef HERMES_LOG_H
#define HERMES_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "config-t.h"

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "debug|info|warn|error"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
const char *log_level_name(enum log_level lvl);
/* Parses "auto|text|json|journal"; returns 0 or -EINVAL. */
int log_parse_format(const char *s, enum log_format *out);
const char *log_format_name(enum log_format f);
/* LOG_FMT_AUTO resolves to journal when stderr is journald's stream, else text. */
void log_set_format(enum log_format f);
enum log_format log_get_format(void);
/* Is stderr the stream journald gave us? ($JOURNAL_STREAM holds "DEV:INO" of it,
 * systemd.exec(5); a redirected stderr no longer matches.) */
bool log_stderr_is_journal(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) do { if (log_get_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* The access log: one line per flow or request, at info, in the log format (journal
 * only on stderr: a file gets text). dest is "off", "stderr" or an absolute path
 * (opened for appending; reopened by log_access_open again, e.g. on SIGHUP, so that
 * log rotation works). 0 or -errno with a message in err. */
int log_access_open(const char *dest, char *err, size_t errlen);
void log_access_close(void);
/* Is the access log on (and the log level at most info)? Callers skip the look-ups. */
bool log_access_on(void);

/* A field of an access line: a string (str non-NULL; NULL and "" both print "-") or a
 * number. */
struct log_field {
	const char *key;
	const char *str;
	long long num;
	bool is_str;
};
#define LOG_STR(k, v) ((struct log_field){ .key = (k), .str = (v), .is_str = true })
#define LOG_NUM(k, v) ((struct log_field){ .key = (k), .num = (long long)(v) })
/* Writes one access line: text "TIME info hermesd: access k=v k=\"v w\" ...", JSON
 * {"time":..,"level":"info","msg":"access","k":v,...}, journal "<6>access k=v ...". */
void log_access(const struct log_field *f, size_t n);

#endif
