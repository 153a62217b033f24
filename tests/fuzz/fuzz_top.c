/* fuzz_top.c: libFuzzer target for hermes-top's readers of hermesd's admin port
 * (tools/cli.c's answer, tools/top/hd.c's /stats and /flows): whatever answers on that
 * port, a hermesd of another version, one answering garbage, or another process, must
 * not crash hermes-top. The first byte picks the way in: bit 7 clear, the rest is the
 * answer as the socket gives it, in pieces of (byte & 0x7f) + 1 bytes checked for
 * completeness after each (as admin_request reads), then its head and body; bit 7 set,
 * the rest is a body alone. The body goes to both readers.
 * Invariants: admin_answer_parse gives 0 or -1, a body inside the answer and ending at
 * its end; /flows gives 0 with flows whose strings end inside their fields, or -1 with
 * nothing; what it read, written back as hermesd writes /flows (addresses as hermes-top
 * shows them), reads back the same; the same for /stats' counters, and each counter's
 * value is read from its own line (the lines one at a time read the same); after hermes-top's
 * sort, hd_find finds every flow by its cookie; a UDP flow's row fields format. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"
#include "top/hd.h"
#include "top/util.h"

const char cli_prog[] = "fuzz_top"; /* cli.c's messages name their program */

/* the escapes jp_string reads back exactly (json_str's \u00XX reads back as '?') */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		switch (*s) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		default: fputc(*s, f); break;
		}
	}
	fputc('"', f);
}

static void put_addr(FILE *f, const char *key, const struct hermes_addr *a)
{
	char buf[128];

	fmt_haddr(a, buf, sizeof(buf));
	fprintf(f, "\"%s\":", key);
	put_str(f, a->family ? buf : "");
	fputc(',', f);
}

static char *flows_json(const struct hd_flow *v, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(f);
	fputs("{\"flows\":[", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s{\"id\":%llu,\"app_cookie\":%llu,\"bytes_up\":%llu,\"bytes_down\":%llu,\"age_ms\":%llu,",
			i ? "," : "", (unsigned long long)v[i].id, (unsigned long long)v[i].app_cookie,
			(unsigned long long)v[i].bytes_up, (unsigned long long)v[i].bytes_down,
			(unsigned long long)v[i].age_ms);
		if (v[i].has_idle)
			fprintf(f, "\"idle_ms\":%llu,", (unsigned long long)v[i].idle_ms);
		fprintf(f, "\"pid\":%u,\"uid\":%u,\"protocol\":\"%s\",\"action\":\"%s\",", v[i].pid, v[i].uid,
			v[i].udp ? "udp" : "tcp", v[i].tunnel ? "tunnel" : "proxy");
		put_addr(f, "client", &v[i].client);
		put_addr(f, "upstream_local", &v[i].upstream_local);
		put_addr(f, "orig_dst", &v[i].orig_dst);
		fputs("\"engine\":", f);
		put_str(f, v[i].engine);
		fputs(",\"state\":", f);
		put_str(f, v[i].state);
		fputs(",\"comm\":", f);
		put_str(f, v[i].comm);
		fputs(",\"extra\":[1,{\"a\":null}]}", f); /* a newer hermesd's field: skipped */
	}
	fputs("]}", f);
	CHECK(!fclose(f));
	return text;
}

static bool flow_eq(const struct hd_flow *a, const struct hd_flow *b)
{
	return a->id == b->id && a->app_cookie == b->app_cookie && a->bytes_up == b->bytes_up &&
	       a->bytes_down == b->bytes_down && a->age_ms == b->age_ms && a->has_idle == b->has_idle &&
	       (!a->has_idle || a->idle_ms == b->idle_ms) && a->udp == b->udp && a->tunnel == b->tunnel &&
	       a->pid == b->pid && a->uid == b->uid && !haddr_cmp(&a->client, &b->client) &&
	       !haddr_cmp(&a->upstream_local, &b->upstream_local) && !haddr_cmp(&a->orig_dst, &b->orig_dst) &&
	       !strcmp(a->engine, b->engine) && !strcmp(a->state, b->state) && !strcmp(a->comm, b->comm);
}

static int cmp_cookie(const void *a, const void *b)
{
	const struct hd_flow *x = a, *y = b;

	return x->app_cookie < y->app_cookie ? -1 : x->app_cookie > y->app_cookie;
}

static void check_flows(const char *body)
{
	struct hd_flow *v = (struct hd_flow *)1, *w = NULL;
	struct hd_view hd = { 0 };
	size_t n = 1, m = 0;
	char *text;
	int rc = hd_parse_flows(body, &v, &n);

	CHECK(rc == 0 || rc == -1);
	if (rc) {
		CHECK(!v && !n);
		return;
	}
	CHECK(!n || v);
	for (size_t i = 0; i < n; i++) {
		char buf[128];

		CHECK(memchr(v[i].engine, 0, sizeof(v[i].engine)));
		CHECK(memchr(v[i].state, 0, sizeof(v[i].state)));
		CHECK(memchr(v[i].comm, 0, sizeof(v[i].comm)));
		/* what udp_rows_add makes of it */
		fmt_comm(v[i].comm, buf, sizeof(buf));
		CHECK(strlen(buf) > 0 && strlen(buf) <= HERMES_COMM_LEN);
		fmt_haddr(&v[i].client, buf, sizeof(buf));
		fmt_haddr(&v[i].orig_dst, buf, sizeof(buf));
		fmt_haddr(&v[i].upstream_local, buf, sizeof(buf));
	}
	text = flows_json(v, n);
	CHECK(hd_parse_flows(text, &w, &m) == 0);
	CHECK(m == n);
	for (size_t i = 0; i < n; i++)
		CHECK(flow_eq(&v[i], &w[i]));
	free(text);
	free(w);
	/* hd_fetch's sort, then hd_find by each cookie */
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_cookie);
	hd.have_flows = true;
	hd.flows = v;
	hd.n_flows = n;
	for (size_t i = 0; i < n; i++) {
		const struct hd_flow *f = hd_find(&hd, v[i].app_cookie, &v[i].client);

		/* by its cookie; without one, a TCP flow by its client's address (a UDP flow's
		 * client is no socket of the kernel's table: never) */
		if (v[i].app_cookie)
			CHECK(f && f->app_cookie == v[i].app_cookie);
		else if (v[i].udp || !v[i].client.family)
			CHECK(!f || (!f->udp && !haddr_cmp(&f->client, &v[i].client)));
		else
			CHECK(f && !f->udp && !haddr_cmp(&f->client, &v[i].client));
	}
	free(v);
}

static bool stats_eq(const struct hd_stats *a, const struct hd_stats *b)
{
	return a->has_retries == b->has_retries && a->has_active == b->has_active && a->has_flows == b->has_flows &&
	       a->retries == b->retries && a->active == b->active && a->flows_uring == b->flows_uring &&
	       a->flows_splice == b->flows_splice;
}

static void check_stats(const char *body)
{
	struct hd_stats st = { 0 }, st2 = { 0 }, st_lines = { 0 };
	char text[512], *copy = strdup(body), *line, *save = NULL;

	hd_parse_stats(body, &st);
	/* each line's value is its own: the lines read one at a time give the same */
	CHECK(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		hd_parse_stats(line, &st_lines);
	free(copy);
	CHECK(stats_eq(&st, &st_lines));
	CHECK(st.has_flows || (!st.flows_uring && !st.flows_splice));
	snprintf(text, sizeof(text), "# HELP hermes_x a comment\n%s%llu\n%s%llu\n%s%llu\n%s%llu\n",
		 st.has_retries ? "hermes_upstream_connect_retries_total " : "other_a ",
		 (unsigned long long)st.retries, st.has_active ? "hermes_connections_active " : "other_b ",
		 (unsigned long long)st.active,
		 st.has_flows ? "hermes_flows_total{engine=\"uring\"} " : "other_c ",
		 (unsigned long long)st.flows_uring,
		 st.has_flows ? "hermes_flows_total{engine=\"splice\"} " : "other_d ",
		 (unsigned long long)st.flows_splice);
	hd_parse_stats(text, &st2);
	CHECK(stats_eq(&st, &st2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_answer a = { 0 };
	size_t piece;
	char *body;

	if (!size)
		return 0;
	piece = (size_t)(data[0] & 0x7f) + 1;
	a.buf = malloc(size); /* the rest and a NUL, nothing more: a read past them is ASan's */
	CHECK(a.buf);
	if (data[0] & 0x80) {
		memcpy(a.buf, data + 1, size - 1);
		a.buf[size - 1] = 0;
		check_stats(a.buf);
		check_flows(a.buf);
		free(a.buf);
		return 0;
	}
	a.buf[0] = 0;
	while (a.len < size - 1) {
		size_t k = size - 1 - a.len < piece ? size - 1 - a.len : piece;

		memcpy(a.buf + a.len, data + 1 + a.len, k);
		a.len += k;
		a.buf[a.len] = 0;
		if (admin_answer_complete(&a))
			break;
	}
	if (a.len && !admin_answer_parse(&a)) {
		CHECK(a.body > a.buf && a.body <= a.buf + a.len);
		CHECK(a.body + a.body_len == a.buf + a.len);
		CHECK(!a.body[a.body_len]);
		body = a.body;
		check_stats(body);
		check_flows(body);
	}
	free(a.buf);
	return 0;
}
