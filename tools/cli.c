/* cli.c: the command-line plumbing hermesctl and hermes-top share (see cli.h): one way
 * to word errors, one JSON string escaper and one admin client, so that the two
 * programs cannot drift apart in how they report or how they talk to hermesd. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", cli_prog);
	vfprintf(stderr, fmt, ap);
}

void errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", cli_prog);
	return EXIT_USAGE;
}

int getopt_error(int c, char **argv)
{
	if (c == ':')
		return usage_error("option '%s' needs an argument", argv[optind - 1]);
	if (optopt && optopt != '?')
		return usage_error("unknown option '-%c'", optopt);
	return usage_error("unknown option '%s'", argv[optind - 1]);
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int cli_check_options(const char *pin_root, struct admin_client *ac)
{
	if (!*pin_root)
		return usage_error("--pin-root needs a directory");
	if (addr_parse(ac->addr, &ac->sa))
		return usage_error("bad --admin address '%s': expected IPv4:PORT or [IPv6]:PORT such as %s", ac->addr,
				   ADMIN_DEFAULT);
	return EXIT_OK;
}

/* Room for `more` bytes and a NUL after what a holds. */
static int answer_reserve(struct admin_answer *a, size_t *cap, size_t more)
{
	size_t ncap;
	char *np;

	if (a->len + more + 1 <= *cap)
		return 0;
	ncap = *cap ? *cap : 4096;
	while (ncap < a->len + more + 1)
		ncap *= 2;
	np = realloc(a->buf, ncap);
	if (!np)
		return -ENOMEM;
	a->buf = np;
	*cap = ncap;
	return 0;
}

bool admin_answer_complete(const struct admin_answer *a)
{
	const char *hdr_end = strstr(a->buf, "\r\n\r\n"), *cl;

	return hdr_end && (cl = strcasestr(a->buf, "\r\nContent-Length:")) && cl < hdr_end &&
	       a->len >= (size_t)(hdr_end + 4 - a->buf) + strtoull(cl + 17, NULL, 10);
}

int admin_answer_parse(struct admin_answer *a)
{
	const char *hdr_end;

	if (sscanf(a->buf, "HTTP/1.%*d %d", &a->status) != 1 || !(hdr_end = strstr(a->buf, "\r\n\r\n")))
		return -1;
	a->body = (char *)hdr_end + 4;
	a->body_len = a->len - (size_t)(a->body - a->buf);
	return 0;
}

int admin_get(const struct admin_client *ac, const char *path, struct admin_answer *ans, char *err, size_t errlen)
{
	return admin_request(ac, "GET", path, ans, err, errlen);
}

int admin_request(const struct admin_client *ac, const char *method, const char *path, struct admin_answer *ans,
		  char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = ADMIN_TIMEOUT_MS / 1000, .tv_usec = (ADMIN_TIMEOUT_MS % 1000) * 1000 };
	char req[4096], to[300] = "";
	size_t cap = 0;
	int fd, n;

	memset(ans, 0, sizeof(*ans));
	if (ac->name_path)
		snprintf(to, sizeof(to), " to %s %.*s", method, 200, path);
	fd = socket(ac->sa.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ac->sa.ss, ac->sa.len)) {
		/* connect() reports an SO_SNDTIMEO expiry as EINPROGRESS */
		if (errno == EINPROGRESS || errno == EAGAIN)
			snprintf(err, errlen, "connect timed out after %d ms", ADMIN_TIMEOUT_MS);
		else
			snprintf(err, errlen, "connect: %s", strerror(errno));
		goto fail;
	}
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", method, path,
		     ac->addr, strcmp(method, "GET") ? "Content-Length: 0\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (ans->len >= ac->max_answer || answer_reserve(ans, &cap, 65536)) {
			snprintf(err, errlen, "answer%s too large", to);
			goto fail;
		}
		r = recv(fd, ans->buf + ans->len, cap - ans->len - 1, 0);
		if (r < 0 && errno == EINTR && !(ac->stop && *ac->stop))
			continue;
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				snprintf(err, errlen, "no answer%s within %d ms", to, ADMIN_TIMEOUT_MS);
			else
				snprintf(err, errlen, "recv: %s", strerror(errno));
			goto fail;
		}
		if (!r)
			break;
		ans->len += (size_t)r;
		ans->buf[ans->len] = 0;
		if (admin_answer_complete(ans))
			break;
	}
	close(fd);
	fd = -1;
	if (!ans->len) {
		snprintf(err, errlen, "connection closed without an answer");
		goto fail;
	}
	if (admin_answer_parse(ans)) {
		snprintf(err, errlen, "not an HTTP answer%s", to);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(ans->buf);
	memset(ans, 0, sizeof(*ans));
	return -1;
}
