/* test_stats.c: unit tests (no root) for hermesd's stats table (userspace/stats-t.h, as
 * stats.c describes it): every family has a Prometheus name of hermesd's (hermes_*; the
 * process_* ones of the client conventions are computed at scrape time), a type that fits
 * its name, a help text that needs no escaping, and label names and values that are valid
 * and distinct; no name is used twice, counting the series a histogram adds; each scrape-
 * time family has its own id; and the description reads the field it names. Exit 0 when
 * every check passes, 1 otherwise. */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "stats.h"

static bool matches(const char *re, const char *s)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return false;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return ok;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

static const struct stats_family *family(const char *name)
{
	for (unsigned i = 0; i < stats_n_families; i++)
		if (!strcmp(stats_families[i].name, name))
			return &stats_families[i];
	return NULL;
}

static bool test_names(void)
{
	bool ok = ASSERT_TRUE(stats_n_families > 50, "the table has the families: %u", stats_n_families);

	for (unsigned i = 0; i < stats_n_families; i++) {
		const struct stats_family *f = &stats_families[i];

		if (!ASSERT_TRUE(f->name && f->type && f->help, "family %u has a name, a type and a help", i))
			continue;
		if (f->kind == STATS_SCRAPE && !strncmp(f->name, "process_", 8))
			ok &= ASSERT_TRUE(matches("^process_[a-z_]+$", f->name), "%s", f->name);
		else
			ok &= ASSERT_TRUE(matches("^hermes_[a-z0-9_]+$", f->name), "%s", f->name);
		ok &= ASSERT_TRUE(!strcmp(f->type, "counter") || !strcmp(f->type, "gauge") ||
					  !strcmp(f->type, "histogram"),
				  "%s: type %s", f->name, f->type);
		ok &= ASSERT_TRUE((f->kind == STATS_HIST) == !strcmp(f->type, "histogram"),
				  "%s: histogram fields and only they are histograms", f->name);
		/* the Prometheus convention, which the names follow */
		ok &= ASSERT_TRUE(!strcmp(f->type, "counter") == ends_with(f->name, "_total"),
				  "%s: a counter's name and only a counter's ends in _total", f->name);
		ok &= ASSERT_TRUE(strlen(f->help) > 10 && ends_with(f->help, "."), "%s: help \"%s\"", f->name, f->help);
		ok &= ASSERT_TRUE(!strpbrk(f->help, "\\\n"), "%s: help without a backslash or newline (no escaping)",
				  f->name);
	}
	return ok;
}

static bool test_unique(void)
{
	static const char *const hist_series[] = { "_bucket", "_sum", "_count" };
	bool ok = true;

	for (unsigned i = 0; i < stats_n_families; i++) {
		const struct stats_family *f = &stats_families[i];

		for (unsigned j = i + 1; j < stats_n_families; j++)
			ok &= ASSERT_TRUE(strcmp(f->name, stats_families[j].name), "%s is declared twice (%u and %u)",
					  f->name, i, j);
		if (f->kind != STATS_HIST)
			continue;
		for (unsigned k = 0; k < 3; k++) {
			char series[128];

			snprintf(series, sizeof(series), "%s%s", f->name, hist_series[k]);
			ok &= ASSERT_TRUE(!family(series), "%s is also a series of histogram %s", series, f->name);
		}
	}
	return ok;
}

static bool test_labels(void)
{
	bool ok = true;

	for (unsigned i = 0; i < stats_n_families; i++) {
		const struct stats_family *f = &stats_families[i];
		bool labelled = f->kind == STATS_PAIR || f->kind == STATS_ARRAY || f->kind == STATS_LABELS;

		ok &= ASSERT_TRUE(labelled == (f->label != NULL), "%s: a label exactly when labelled", f->name);
		ok &= ASSERT_TRUE((f->kind == STATS_LABELS) == (f->label2 != NULL), "%s: a second label exactly for LABELS",
				  f->name);
		if (!labelled)
			continue;
		ok &= ASSERT_TRUE(matches("^[a-z_][a-z0-9_]*$", f->label) && strcmp(f->label, "le"), "%s: label %s",
				  f->name, f->label);
		if (f->label2)
			ok &= ASSERT_TRUE(matches("^[a-z_][a-z0-9_]*$", f->label2) && strcmp(f->label2, f->label),
					  "%s: label %s", f->name, f->label2);
		ok &= ASSERT_TRUE(f->n_values >= 2, "%s: a family of one value needs no label", f->name);
		if (f->kind == STATS_LABELS)
			ok &= ASSERT_TRUE(f->n_values <= MLABEL_WIDTH, "%s: %u values fit a struct mlabels", f->name,
					  f->n_values);
		for (unsigned k = 0; k < f->n_values; k++) {
			ok &= ASSERT_TRUE(f->values[k][0] && !strpbrk(f->values[k], "\"\\\n"), "%s: value \"%s\"", f->name,
					  f->values[k]);
			for (unsigned m = k + 1; m < f->n_values; m++)
				ok &= ASSERT_TRUE(strcmp(f->values[k], f->values[m]), "%s: value %s twice", f->name,
						  f->values[k]);
		}
	}
	return ok;
}

static bool test_scrape_ids(void)
{
	unsigned seen[STATS_S_COUNT] = { 0 };
	bool ok = true;

	for (unsigned i = 0; i < stats_n_families; i++)
		if (stats_families[i].kind == STATS_SCRAPE &&
		    ASSERT_TRUE(stats_families[i].scrape < STATS_S_COUNT, "%s: id", stats_families[i].name))
			seen[stats_families[i].scrape]++;
	for (unsigned id = 0; id < STATS_S_COUNT; id++)
		ok &= ASSERT_EQ(seen[id], 1, "each scrape id names one family");
	return ok;
}

/* The description reads the fields the code increments. */
static bool test_values(void)
{
	struct loop_stats s;
	const struct stats_family *f;
	bool ok = true;

	memset(&s, 0, sizeof(s));
	s.accepted = 11;
	s.bytes_c2u = 21;
	s.bytes_u2c = 22;
	s.tunnel_errors[3] = 31;
	s.http_responses[1] = 42;
	s.tunnel_cleartext_refused[1] = 51;
	if (ASSERT_TRUE((f = family("hermes_connections_accepted_total")), "accepted"))
		ok &= ASSERT_EQ(stats_value(&s, f, 0), 11, "VALUE reads its field");
	if (ASSERT_TRUE((f = family("hermes_bytes_total")), "bytes")) {
		ok &= ASSERT_EQ(stats_value(&s, f, 0), 21, "PAIR: the first field");
		ok &= ASSERT_EQ(stats_value(&s, f, 1), 22, "PAIR: the second field");
		ok &= ASSERT_STREQ(f->values[1], "upstream_to_client", "PAIR: the second value");
	}
	if (ASSERT_TRUE((f = family("hermes_tunnel_errors_total")), "tunnel errors")) {
		ok &= ASSERT_EQ(f->n_values, sizeof(s.tunnel_errors) / sizeof(s.tunnel_errors[0]), "a value per element");
		ok &= ASSERT_EQ(stats_value(&s, f, 3), 31, "ARRAY: element 3");
		ok &= ASSERT_STREQ(f->values[3], "431", "ARRAY: value 3");
	}
	if (ASSERT_TRUE((f = family("hermes_http_responses_total")), "http responses"))
		ok &= ASSERT_EQ(stats_value(&s, f, 1), 42, "status / 100 - 1 is 2xx");
	if (ASSERT_TRUE((f = family("hermes_tunnel_cleartext_refused_total")), "cleartext"))
		ok &= ASSERT_STREQ(f->values[1], "h2c", "index 1 is h2c");
	ok &= ASSERT_EQ(STATS_N_http_upstream_failures, sizeof(s.http_upstream_failures) / sizeof(uint64_t),
			"STATS_N_ is the array's length");
	return ok;
}

int main(void)
{
	RUN(test_names);
	RUN(test_unique);
	RUN(test_labels);
	RUN(test_scrape_ids);
	RUN(test_values);
	return check_summary("test_stats");
}
