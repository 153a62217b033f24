/* log.h: leveled logging to stderr, shared by hermesd and the tools. */
#ifndef HERMES_LOG_H
#define HERMES_LOG_H

#include "config-t.h"

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "debug|info|warn|error"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) do { if (log_get_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
