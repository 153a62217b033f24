/* hd.c: what hermesd's admin endpoint tells hermes-top (see hd.h): the counters of
 * /stats (Prometheus text) and the flows of /flows (JSON, read with a small reader that
 * skips what it does not know, so that a newer hermesd's extra fields do no harm). */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "hd.h"
#include "util.h"

/* Prometheus text format: "name{labels} value" lines, '#' comments. */
void hd_parse_stats(const char *text, struct hd_stats *st)
{
	const char *line = text;

	while (line && *line) {
		const char *eol = strchrnul(line, '\n'), *sp, *brace;
		char name[96], labels[160] = "";
		size_t nlen;
		uint64_t v;

		if (*line == '#' || eol == line)
			goto next;
		sp = memrchr(line, ' ', (size_t)(eol - line));
		/* a counter's digits right after the space: strtoull would skip white space
		 * into the next lines, or take a sign */
		if (!sp || !isdigit((unsigned char)sp[1]))
			goto next;
		v = strtoull(sp + 1, NULL, 10);
		brace = memchr(line, '{', (size_t)(sp - line));
		nlen = (size_t)((brace ? brace : sp) - line);
		if (nlen >= sizeof(name))
			goto next;
		memcpy(name, line, nlen);
		name[nlen] = 0;
		if (brace) {
			size_t llen = (size_t)(sp - brace);

			if (llen >= sizeof(labels))
				llen = sizeof(labels) - 1;
			memcpy(labels, brace, llen);
			labels[llen] = 0;
		}
		if (!strcmp(name, "hermes_upstream_connect_retries_total")) {
			st->retries = v;
			st->has_retries = true;
		} else if (!strcmp(name, "hermes_connections_active")) {
			st->active = v;
			st->has_active = true;
		} else if (!strcmp(name, "hermes_flows_total")) {
			if (strstr(labels, "engine=\"uring\"")) {
				st->flows_uring = v;
				st->has_flows = true;
			} else if (strstr(labels, "engine=\"splice\"")) {
				st->flows_splice = v;
				st->has_flows = true;
			}
		}
next:
		line = *eol ? eol + 1 : NULL;
	}
}

/* A small JSON reader, enough for /flows: objects, arrays, strings, numbers and
 * literals; unknown keys and value types are skipped. The text is NUL-terminated. */
struct jp {
	const char *p;
	int depth;
};

static void jp_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool jp_lit(struct jp *j, char c)
{
	jp_ws(j);
	if (*j->p != c)
		return false;
	j->p++;
	return true;
}

/* Reads a string into out (truncated, may be NULL); \u escapes become '?'. */
static int jp_string(struct jp *j, char *out, size_t len)
{
	size_t n = 0;

	jp_ws(j);
	if (*j->p != '"')
		return -1;
	j->p++;
	while (*j->p && *j->p != '"') {
		char c = *j->p++;

		if (c == '\\') {
			c = *j->p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				for (int i = 0; i < 4; i++)
					if (!isxdigit((unsigned char)*j->p++))
						return -1;
				c = '?';
				break;
			case '"': case '\\': case '/': break;
			default: return -1;
			}
		}
		if (out && n + 1 < len)
			out[n++] = c;
	}
	if (*j->p != '"')
		return -1;
	j->p++;
	if (out && len)
		out[n] = 0;
	return 0;
}

static int jp_u64(struct jp *j, uint64_t *v)
{
	char *end;

	jp_ws(j);
	if (*j->p == '-' || !isdigit((unsigned char)*j->p)) {
		double d = strtod(j->p, &end);

		if (end == j->p)
			return -1;
		*v = d > 0 ? (uint64_t)d : 0;
	} else {
		*v = strtoull(j->p, &end, 10);
		if (*end == '.' || *end == 'e' || *end == 'E')
			strtod(j->p, &end);
	}
	j->p = end;
	return 0;
}

static int jp_skip(struct jp *j)
{
	jp_ws(j);
	switch (*j->p) {
	case '"':
		return jp_string(j, NULL, 0);
	case '{':
	case '[': {
		bool obj = *j->p == '{';
		char close = obj ? '}' : ']';

		if (++j->depth > 64)
			return -1;
		j->p++;
		if (!jp_lit(j, close)) {
			do {
				if (obj && (jp_string(j, NULL, 0) || !jp_lit(j, ':')))
					return -1;
				if (jp_skip(j))
					return -1;
			} while (jp_lit(j, ','));
			if (!jp_lit(j, close))
				return -1;
		}
		j->depth--;
		return 0;
	}
	case 0:
		return -1;
	default: { /* number, true, false, null */
		const char *s = j->p;

		while (*j->p && (isalnum((unsigned char)*j->p) || *j->p == '+' || *j->p == '-' || *j->p == '.'))
			j->p++;
		return j->p == s ? -1 : 0;
	}
	}
}

static void hd_addr(const char *s, struct hermes_addr *out)
{
	struct cfg_sockaddr sa;
	struct hermes_addr a;

	memset(out, 0, sizeof(*out));
	if (*s && !addr_parse(s, &sa) && !addr_to_hermes((struct sockaddr *)&sa.ss, &a))
		haddr_norm(out, &a);
}

static int hd_parse_flow(struct jp *j, struct hd_flow *f)
{
	char key[32], str[128];

	if (!jp_lit(j, '{'))
		return -1;
	if (jp_lit(j, '}'))
		return 0;
	do {
		uint64_t v = 0;

		if (jp_string(j, key, sizeof(key)) || !jp_lit(j, ':'))
			return -1;
		jp_ws(j);
		if (*j->p == '"') {
			if (jp_string(j, str, sizeof(str)))
				return -1;
			if (!strcmp(key, "client"))
				hd_addr(str, &f->client);
			else if (!strcmp(key, "upstream_local"))
				hd_addr(str, &f->upstream_local);
			else if (!strcmp(key, "orig_dst"))
				hd_addr(str, &f->orig_dst);
			else if (!strcmp(key, "comm"))
				scopy(f->comm, sizeof(f->comm), str);
			else if (!strcmp(key, "protocol"))
				f->udp = !strcmp(str, "udp");
			else if (!strcmp(key, "action"))
				f->tunnel = !strcmp(str, "tunnel");
			else if (!strcmp(key, "engine"))
				scopy(f->engine, sizeof(f->engine), str);
			else if (!strcmp(key, "state"))
				scopy(f->state, sizeof(f->state), str);
			continue;
		}
		if (*j->p == '-' || isdigit((unsigned char)*j->p)) {
			if (jp_u64(j, &v))
				return -1;
			if (!strcmp(key, "id"))
				f->id = v;
			else if (!strcmp(key, "app_cookie"))
				f->app_cookie = v;
			else if (!strcmp(key, "bytes_up"))
				f->bytes_up = v;
			else if (!strcmp(key, "bytes_down"))
				f->bytes_down = v;
			else if (!strcmp(key, "age_ms"))
				f->age_ms = v;
			else if (!strcmp(key, "idle_ms")) {
				f->idle_ms = v;
				f->has_idle = true;
			}
			else if (!strcmp(key, "pid"))
				f->pid = (uint32_t)v;
			else if (!strcmp(key, "uid"))
				f->uid = (uint32_t)v;
			continue;
		}
		if (jp_skip(j))
			return -1;
	} while (jp_lit(j, ','));
	return jp_lit(j, '}') ? 0 : -1;
}

/* {"flows":[{...}, ...]} -> array. -1 on malformed input (nothing returned). */
int hd_parse_flows(const char *text, struct hd_flow **out, size_t *n_out)
{
	struct jp j = { .p = text };
	struct hd_flow *v = NULL;
	size_t n = 0, cap = 0;
	char key[32];

	*out = NULL;
	*n_out = 0;
	if (!jp_lit(&j, '{'))
		return -1;
	if (jp_lit(&j, '}'))
		return 0;
	do {
		if (jp_string(&j, key, sizeof(key)) || !jp_lit(&j, ':'))
			goto bad;
		if (strcmp(key, "flows")) {
			if (jp_skip(&j))
				goto bad;
			continue;
		}
		if (!jp_lit(&j, '['))
			goto bad;
		if (jp_lit(&j, ']'))
			continue;
		do {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct hd_flow *nv = realloc(v, ncap * sizeof(*nv));

				if (!nv)
					goto bad;
				v = nv;
				cap = ncap;
			}
			memset(&v[n], 0, sizeof(v[n]));
			if (hd_parse_flow(&j, &v[n]))
				goto bad;
			n++;
		} while (jp_lit(&j, ','));
		if (!jp_lit(&j, ']'))
			goto bad;
	} while (jp_lit(&j, ','));
	if (!jp_lit(&j, '}'))
		goto bad;
	*out = v;
	*n_out = n;
	return 0;
bad:
	free(v);
	return -1;
}

static int hd_cmp_cookie(const void *a, const void *b)
{
	const struct hd_flow *x = a, *y = b;

	return x->app_cookie < y->app_cookie ? -1 : x->app_cookie > y->app_cookie;
}

const struct hd_flow *hd_find(const struct hd_view *hd, uint64_t cookie, const struct hermes_addr *local)
{
	struct hd_flow key = { .app_cookie = cookie };
	const struct hd_flow *f;

	if (!hd->have_flows || !hd->n_flows)
		return NULL;
	f = bsearch(&key, hd->flows, hd->n_flows, sizeof(key), hd_cmp_cookie);
	if (f && cookie)
		return f;
	for (size_t i = 0; i < hd->n_flows; i++) /* a UDP flow's client is no TCP socket */
		if (local->family && !hd->flows[i].udp && !haddr_cmp(&hd->flows[i].client, local))
			return &hd->flows[i];
	return NULL;
}

void hd_fetch(const struct admin_client *ac, struct hd_view *hd)
{
	struct admin_answer a;

	memset(hd, 0, sizeof(*hd));
	if (admin_get(ac, "/stats", &a, hd->detail, sizeof(hd->detail)))
		return;
	hd->reachable = true;
	if (a.status == 200)
		hd_parse_stats(a.body, &hd->st);
	else
		snprintf(hd->detail, sizeof(hd->detail), "GET /stats: HTTP %d", a.status);
	free(a.buf);
	if (admin_get(ac, "/flows", &a, hd->detail, sizeof(hd->detail)))
		return;
	if (a.status == 200) {
		if (hd_parse_flows(a.body, &hd->flows, &hd->n_flows))
			snprintf(hd->detail, sizeof(hd->detail), "GET /flows: malformed JSON (ignored)");
		else
			hd->have_flows = true;
	}
	/* 404 from an older hermesd, or a failed request: the kernel view stands alone */
	free(a.buf);
	if (hd->n_flows > 1) /* for hd_find */
		qsort(hd->flows, hd->n_flows, sizeof(*hd->flows), hd_cmp_cookie);
}
