/* log.c: leveled logging to stderr, one line per message (written with one write(2),
 * so that lines of several writers never mix, and so that tests can grep hermesd's
 * log), in one of three formats: text with an RFC 3339 UTC timestamp, JSON lines, or
 * the "<N>" priority prefixes journald understands on a stream (sd-daemon(3)). The
 * access log shares the formats and goes to stderr or a file of its own. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_BYTES 8192 /* longer messages are cut (the verifier log comes line by line) */

static enum log_level cur_level = LOG_INFO;
static enum log_format cur_format = LOG_FMT_TEXT;
static const char *const names[] = { "debug", "info", "warn", "error" };
static const char *const fmt_names[] = { [LOG_FMT_AUTO] = "auto", [LOG_FMT_TEXT] = "text",
					 [LOG_FMT_JSON] = "json", [LOG_FMT_JOURNAL] = "journal" };
/* syslog priorities: LOG_DEBUG 7, LOG_INFO 6, LOG_WARNING 4, LOG_ERR 3 */
static const char prio[] = { '7', '6', '4', '3' };

static int access_fd = 2;      /* -1: off */
static bool access_is_stderr = true;

void log_set_level(enum log_level lvl) { cur_level = lvl; }
enum log_level log_get_level(void) { return cur_level; }

int log_parse_level(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level lvl)
{
	return (unsigned)lvl < sizeof(names) / sizeof(names[0]) ? names[lvl] : "?";
}

int log_parse_format(const char *s, enum log_format *out)
{
	for (unsigned i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++) {
		if (!strcmp(s, fmt_names[i])) {
			*out = (enum log_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_format_name(enum log_format f)
{
	return (unsigned)f < sizeof(fmt_names) / sizeof(fmt_names[0]) ? fmt_names[f] : "?";
}

bool log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2 || fstat(2, &st))
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_format(enum log_format f)
{
	if (f == LOG_FMT_AUTO)
		f = log_stderr_is_journal() ? LOG_FMT_JOURNAL : LOG_FMT_TEXT;
	cur_format = f;
}

enum log_format log_get_format(void) { return cur_format; }

/* A line being built; the last byte is kept for the newline. */
struct line {
	char b[LINE_MAX_BYTES];
	size_t n;
};

static void put(struct line *l, const char *s, size_t len)
{
	if (len > sizeof(l->b) - 1 - l->n)
		len = sizeof(l->b) - 1 - l->n;
	memcpy(l->b + l->n, s, len);
	l->n += len;
}

static void put_cstr(struct line *l, const char *s) { put(l, s, strlen(s)); }

static void __attribute__((format(printf, 2, 0))) vputf(struct line *l, const char *fmt, va_list ap)
{
	size_t room = sizeof(l->b) - 1 - l->n;
	int w = vsnprintf(l->b + l->n, room + 1, fmt, ap);

	if (w > 0)
		l->n += (size_t)w < room ? (size_t)w : room;
}

static void __attribute__((format(printf, 2, 3))) putf(struct line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vputf(l, fmt, ap);
	va_end(ap);
}

/* s as a JSON string, quotes included (RFC 8259: ", \ and controls escaped). A string
 * too long for the line is cut between two characters, leaving room for its closing
 * quote and the object's brace, so that the line stays valid JSON. */
static void put_json_str(struct line *l, const char *s, size_t len)
{
	const size_t end = sizeof(l->b) - 1 - 2; /* the newline's byte, then '"' and '}' */

	put(l, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		char e[8];
		int n;

		if (ch == '"' || ch == '\\')
			n = snprintf(e, sizeof(e), "\\%c", ch);
		else if (ch == '\n')
			n = snprintf(e, sizeof(e), "\\n");
		else if (ch == '\t')
			n = snprintf(e, sizeof(e), "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			n = snprintf(e, sizeof(e), "\\u%04x", ch);
		else
			e[0] = (char)ch, n = 1;
		if (l->n + (size_t)n > end)
			break;
		put(l, e, (size_t)n);
	}
	put(l, "\"", 1);
}

static void put_time(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	putf(l, "%s.%03ldZ", stamp, ts.tv_nsec / 1000000);
}

/* The start of a line up to the message, in format f. */
static void put_head(struct line *l, enum log_format f, enum log_level lvl)
{
	switch (f) {
	case LOG_FMT_JSON:
		put_cstr(l, "{\"time\":\"");
		put_time(l);
		putf(l, "\",\"level\":\"%s\",", names[lvl]);
		break;
	case LOG_FMT_JOURNAL:
		putf(l, "<%c>", prio[lvl]);
		break;
	default:
		put_time(l);
		putf(l, " %s hermesd: ", names[lvl]);
		break;
	}
}

static void emit(int fd, struct line *l)
{
	size_t off = 0;

	l->b[l->n++] = '\n';
	while (off < l->n) {
		ssize_t w = write(fd, l->b + off, l->n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere to report it */
		off += (size_t)w;
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	struct line l;
	va_list ap;

	if (lvl < cur_level)
		return;
	l.n = 0;
	put_head(&l, cur_format, lvl);
	va_start(ap, fmt);
	if (cur_format == LOG_FMT_JSON) {
		char msg[LINE_MAX_BYTES / 2];
		int w = vsnprintf(msg, sizeof(msg), fmt, ap);

		put_cstr(&l, "\"msg\":");
		put_json_str(&l, msg, w < 0 ? 0 : (size_t)w < sizeof(msg) ? (size_t)w : sizeof(msg) - 1);
		put(&l, "}", 1);
	} else {
		vputf(&l, fmt, ap);
		/* a message with a newline would make two lines, the second without a head */
		for (size_t i = 0; i < l.n; i++)
			if (l.b[i] == '\n')
				l.b[i] = ' ';
	}
	va_end(ap);
	emit(2, &l);
}

/* ---- access log ---- */

int log_access_open(const char *dest, char *err, size_t errlen)
{
	int fd;

	if (!strcmp(dest, "off") || !strcmp(dest, "stderr")) {
		log_access_close();
		access_fd = strcmp(dest, "off") ? 2 : -1;
		access_is_stderr = access_fd == 2;
		return 0;
	}
	if (dest[0] != '/') {
		snprintf(err, errlen, "access log '%s': expected off, stderr or an absolute file path", dest);
		return -EINVAL;
	}
	fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		int e = -errno;

		snprintf(err, errlen, "access log %s: cannot open for appending: %s", dest, strerror(-e));
		return e;
	}
	log_access_close();
	access_fd = fd;
	access_is_stderr = false;
	return 0;
}

void log_access_close(void)
{
	if (access_fd > 2)
		close(access_fd);
	access_fd = -1;
	access_is_stderr = false;
}

bool log_access_on(void)
{
	return access_fd >= 0 && (!access_is_stderr || cur_level <= LOG_INFO);
}

/* A text value: bare when it has no space, quote, '=' or control, else a JSON string
 * (so that a value can never fake another field). */
static void put_text_value(struct line *l, const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch == '"' || ch == '=' || ch == '\\' || ch == 0x7f) {
			put_json_str(l, s, len);
			return;
		}
	}
	put(l, s, len);
}

void log_access(const struct log_field *f, size_t n)
{
	enum log_format fmt = cur_format;
	struct line l;

	if (!log_access_on())
		return;
	if (fmt == LOG_FMT_JOURNAL && !access_is_stderr)
		fmt = LOG_FMT_TEXT; /* a file has no journald to add the time */
	l.n = 0;
	put_head(&l, fmt, LOG_INFO);
	if (fmt == LOG_FMT_JSON) {
		put_cstr(&l, "\"msg\":\"access\"");
		for (size_t i = 0; i < n; i++) {
			putf(&l, ",\"%s\":", f[i].key);
			if (f[i].is_str)
				put_json_str(&l, f[i].str ? f[i].str : "", f[i].str ? strlen(f[i].str) : 0);
			else
				putf(&l, "%lld", f[i].num);
		}
		put(&l, "}", 1);
	} else {
		put_cstr(&l, "access");
		for (size_t i = 0; i < n; i++) {
			putf(&l, " %s=", f[i].key);
			if (!f[i].is_str)
				putf(&l, "%lld", f[i].num);
			else
				put_text_value(&l, f[i].str && f[i].str[0] ? f[i].str : "-");
		}
	}
	emit(access_fd, &l);
}
