/* filter.c: parsing and matching hermes-top's flow filters (see filter.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "filter.h"
#include "policy.h"
#include "util.h"

static const char *const ffield_names[F_MAX] = { "text", "pid", "comm", "src", "dst", "port", "action", "engine", "state",
							     "proto" };

enum ffield filter_field(const char *name, size_t len)
{
	for (int k = 1; k < F_MAX; k++)
		if (len == strlen(ffield_names[k]) && !strncmp(name, ffield_names[k], len))
			return (enum ffield)k;
	return F_TEXT;
}

static bool state_word(const char *w)
{
	static const char *const extra[] = { "open", "closed" };

	for (unsigned st = 1; st <= BPF_TCP_NEW_SYN_RECV; st++)
		if (!strcmp(w, tcp_state_name(st)))
			return true;
	return !strcmp(w, extra[0]) || !strcmp(w, extra[1]);
}

int filter_parse(const char *text, struct filter *f, char *err, size_t errlen)
{
	char buf[FILTER_MAX], *save = NULL;

	memset(f, 0, sizeof(*f));
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		struct fterm *t;
		const char *colon, *val;
		char *end;
		enum ffield k;

		if (f->n == FILTER_TERMS) {
			snprintf(err, errlen, "more than %d filter words", FILTER_TERMS);
			return -EINVAL;
		}
		t = &f->t[f->n];
		if ((w[0] == '!' || w[0] == '-') && w[1]) {
			t->neg = true;
			w++;
		}
		colon = strchr(w, ':');
		k = colon ? filter_field(w, (size_t)(colon - w)) : F_TEXT;
		if (k == F_TEXT) { /* plain text (an address such as 10.0.0.1:80 too) */
			t->field = F_TEXT;
			snprintf(t->text, sizeof(t->text), "%s", w);
			f->n++;
			continue;
		}
		t->field = k;
		val = colon + 1;
		if (!*val) {
			snprintf(err, errlen, "filter '%s' needs a value after ':'", w);
			return -EINVAL;
		}
		switch (t->field) {
		case F_PID:
		case F_PORT:
			errno = 0;
			t->num = (uint32_t)strtoul(val, &end, 10);
			if (errno || *end || (t->field == F_PORT && (t->num < 1 || t->num > 65535))) {
				snprintf(err, errlen, "bad %s in filter '%s': expected a number", ffield_names[k], w);
				return -EINVAL;
			}
			break;
		case F_SRC:
		case F_DST: {
			char why[160];

			if (pol_parse_match_err(val, &t->key, why, sizeof(why))) {
				snprintf(err, errlen, "filter '%s': %s", w, why);
				return -EINVAL;
			}
			break;
		}
		case F_ACTION: {
			enum hermes_action a;

			if (pol_parse_action(val, &a)) {
				snprintf(err, errlen, "unknown action in filter '%s' (expected pass, deny, proxy, tunnel or http)", w);
				return -EINVAL;
			}
			t->num = a;
			break;
		}
		case F_ENGINE:
			for (t->num = 1; t->num < ENG_MAX && strcmp(val, engine_json_names[t->num]); t->num++)
				;
			if (t->num == ENG_MAX) {
				snprintf(err, errlen, "unknown engine in filter '%s' (expected uring, splice, http, udp, direct "
					 "or none)", w);
				return -EINVAL;
			}
			break;
		case F_PROTO:
			if (strcmp(val, "tcp") && strcmp(val, "udp")) {
				snprintf(err, errlen, "unknown protocol in filter '%s' (expected tcp or udp)", w);
				return -EINVAL;
			}
			snprintf(t->text, sizeof(t->text), "%s", val);
			break;
		case F_STATE:
			if (!state_word(val)) {
				snprintf(err, errlen, "unknown state in filter '%s' (expected open, closed or a TCP state "
					 "such as estab, syn-sent, time-wait)", w);
				return -EINVAL;
			}
			/* fall through */
		default:
			snprintf(t->text, sizeof(t->text), "%s", val);
			break;
		}
		f->n++;
	}
	return 0;
}

static bool term_matches(const struct fterm *t, const struct row *r)
{
	char pid[16];

	switch (t->field) {
	case F_TEXT:
		snprintf(pid, sizeof(pid), "%u", r->pid);
		return strcasestr(r->comm, t->text) || strcasestr(r->src, t->text) || strcasestr(r->dst, t->text) ||
		       strcasestr(action_name(r->action), t->text) || (r->pid && strstr(pid, t->text));
	case F_PID:
		return r->pid == t->num;
	case F_COMM:
		return !fnmatch(t->text, r->comm, 0);
	case F_SRC:
		return pol_key_matches(&t->key, &r->src_addr);
	case F_DST:
		return pol_key_matches(&t->key, &r->dst_addr);
	case F_PORT:
		return r->dst_addr.family && ntohs(r->dst_addr.port) == t->num;
	case F_ACTION:
		return r->action == t->num;
	case F_ENGINE:
		return r->engine == (enum engine)t->num;
	case F_STATE:
		if (!strcmp(t->text, "closed") || !strcmp(t->text, "open"))
			return r->closed == !strcmp(t->text, "closed");
		return !r->closed && !r->udp && !strcmp(t->text, tcp_state_name(r->tcp_state));
	case F_PROTO:
		return r->udp == !strcmp(t->text, "udp");
	case F_MAX:
		break;
	}
	return false;
}

bool filter_match(const struct filter *f, const struct row *r)
{
	for (int field = 0; f && field < F_MAX; field++) {
		bool any = false, hit = false;

		for (int i = 0; i < f->n; i++) {
			const struct fterm *t = &f->t[i];

			if ((int)t->field != field)
				continue;
			if (t->neg) {
				if (term_matches(t, r))
					return false;
				continue;
			}
			/* plain words each must match: a group of one */
			if (field == F_TEXT && !term_matches(t, r))
				return false;
			any = true;
			hit = hit || term_matches(t, r);
		}
		if (any && !hit)
			return false;
	}
	return true;
}
