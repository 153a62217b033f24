/* addr.c: socket address parsing/formatting and conversion to struct hermes_addr. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static int parse_port(const char *s)
{
	char *end;
	long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	return (int)v;
}

int addr_parse(const char *s, struct cfg_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	int port;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;

		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, rb - s - 1);
		host[rb - s - 1] = 0;
		port = parse_port(rb + 2);
		if (port < 0 || inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		out->len = sizeof(*a6);
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	port = parse_port(colon + 1);
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;

		if (port < 0 || inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		out->len = sizeof(*a4);
	}
	return 0;
}

const char *addr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const void *)sa;

		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
			inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, len, "%s:%u", host, ntohs(a6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
			snprintf(buf, len, "[%s]:%u", host, ntohs(a6->sin6_port));
		}
	} else {
		snprintf(buf, len, "<family %d>", sa->sa_family);
	}
	return buf;
}

int addr_to_hermes(const struct sockaddr *sa, struct hermes_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const void *)sa;

		out->family = HERMES_FAMILY_V4;
		out->port = a4->sin_port;
		memcpy(out->addr, &a4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const void *)sa;

		out->port = a6->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
			out->family = HERMES_FAMILY_V4;
			memcpy(out->addr, &a6->sin6_addr.s6_addr[12], 4);
		} else {
			out->family = HERMES_FAMILY_V6;
			memcpy(out->addr, &a6->sin6_addr, 16);
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

socklen_t addr_from_hermes(const struct hermes_addr *in, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (in->family == HERMES_FAMILY_V4) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)out;

		a4->sin_family = AF_INET;
		a4->sin_port = in->port;
		memcpy(&a4->sin_addr, in->addr, 4);
		return sizeof(*a4);
	}
	{
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = in->port;
		memcpy(&a6->sin6_addr, in->addr, 16);
		return sizeof(*a6);
	}
}
