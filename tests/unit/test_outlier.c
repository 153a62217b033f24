/* test_outlier.c: unit tests (no root) for userspace/outlier.c, the failure memory of
 * tunnel peers and http endpoints: consecutive failures eject, a success resets the
 * count, an ejected target is skipped while another is usable, one probe goes through
 * when the time is up (its failure ejects for twice as long, up to the cap; its success
 * brings the target back), a lost probe does not keep the target out for ever, and with
 * every target ejected the one whose ejection ends soonest is picked. Exit 0 when every
 * check passes, 1 otherwise. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "outlier.h"

static const struct outlier_cfg cfg = { .consecutive_failures = 3, .base_ejection_ms = 1000, .max_ejection_ms = 5000 };

static bool test_eject_and_probe(void)
{
	struct outlier o = { 0 };
	uint64_t ms = 0;

	ASSERT_TRUE(outlier_usable(&o, 0), "a new target is usable");
	ASSERT_EQ(outlier_failure(&o, &cfg, 10, &ms), OUTLIER_NONE, "one failure does not eject");
	ASSERT_EQ(outlier_failure(&o, &cfg, 20, &ms), OUTLIER_NONE, "two do not");
	ASSERT_EQ(outlier_success(&o), OUTLIER_NONE, "a success between them ...");
	ASSERT_EQ(outlier_failure(&o, &cfg, 30, &ms), OUTLIER_NONE, "... starts the count again");
	ASSERT_EQ(outlier_failure(&o, &cfg, 40, &ms), OUTLIER_NONE, "second in a row");
	ASSERT_EQ(outlier_failure(&o, &cfg, 50, &ms), OUTLIER_EJECTED, "the third in a row ejects");
	ASSERT_EQ(ms, 1000, "for the base ejection time");
	ASSERT_TRUE(!outlier_usable(&o, 51), "ejected: skipped");
	ASSERT_EQ(outlier_back_ms(&o, 51), 1050, "until its time is up");
	ASSERT_EQ(outlier_failure(&o, &cfg, 60, &ms), OUTLIER_NONE,
		  "an attempt that began before the ejection failing changes nothing");
	ASSERT_EQ(outlier_back_ms(&o, 61), 1050, "not even the time");
	ASSERT_TRUE(outlier_usable(&o, 1050), "time up: usable");
	ASSERT_TRUE(outlier_attempt(&o, &cfg, 1050), "the next attempt is the probe");
	ASSERT_TRUE(!outlier_usable(&o, 1051), "while it is out, others skip the target");
	ASSERT_EQ(outlier_failure(&o, &cfg, 1100, &ms), OUTLIER_EJECTED, "the probe failed: ejected again");
	ASSERT_EQ(ms, 2000, "for twice as long");
	ASSERT_TRUE(outlier_attempt(&o, &cfg, 3100), "probe 2");
	ASSERT_EQ(outlier_failure(&o, &cfg, 3100, &ms), OUTLIER_EJECTED, "fails");
	ASSERT_EQ(ms, 4000, "4 s");
	ASSERT_TRUE(outlier_attempt(&o, &cfg, 7100), "probe 3");
	ASSERT_EQ(outlier_failure(&o, &cfg, 7100, &ms), OUTLIER_EJECTED, "fails");
	ASSERT_EQ(ms, 5000, "capped at max_ejection_ms");
	ASSERT_TRUE(outlier_attempt(&o, &cfg, 12100), "probe 4");
	ASSERT_EQ(outlier_success(&o), OUTLIER_RETURNED, "its success brings the target back");
	ASSERT_TRUE(outlier_usable(&o, 12101), "usable");
	ASSERT_TRUE(!outlier_attempt(&o, &cfg, 12101), "an attempt on a usable target is no probe");
	ASSERT_EQ(outlier_failure(&o, &cfg, 12200, &ms), OUTLIER_NONE, "the count started again");
	ASSERT_EQ(outlier_failure(&o, &cfg, 12300, &ms), OUTLIER_NONE, "2");
	ASSERT_EQ(outlier_failure(&o, &cfg, 12400, &ms), OUTLIER_EJECTED, "3: ejected");
	ASSERT_EQ(ms, 1000, "and the ejection time too");
	return true;
}

static bool test_lost_probe_and_off(void)
{
	struct outlier o = { 0 };
	struct outlier_cfg off = cfg;
	uint64_t ms = 0;

	for (int i = 0; i < 3; i++)
		outlier_failure(&o, &cfg, 0, &ms);
	ASSERT_TRUE(outlier_attempt(&o, &cfg, 1000), "probe");
	ASSERT_TRUE(!outlier_usable(&o, 1999), "held while it is out");
	ASSERT_TRUE(outlier_usable(&o, 2000), "a probe whose outcome never came lets another through");
	off.consecutive_failures = 0;
	o = (struct outlier){ 0 };
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(outlier_failure(&o, &off, 0, &ms), OUTLIER_NONE, "consecutive_failures 0: never ejected");
	return true;
}

static bool test_pick(void)
{
	struct outlier a = { 0 }, b = { 0 }, c = { 0 };
	const struct outlier *v[3] = { &a, &b, &c };
	uint64_t ms;
	bool forced;

	ASSERT_EQ(outlier_pick(v, 3, 0, 0, 0, &forced), 0, "the first in order");
	ASSERT_TRUE(!forced, "not forced");
	ASSERT_EQ(outlier_pick(v, 3, 0, 1, 0, &forced), 1, "then the next one not tried");
	for (int i = 0; i < 3; i++)
		outlier_failure(&a, &cfg, 0, &ms);
	ASSERT_EQ(outlier_pick(v, 3, 0, 0, 10, &forced), 1, "an ejected first target is skipped at once");
	ASSERT_EQ(outlier_pick(v, 3, 2, 0, 10, &forced), 2, "from start on");
	ASSERT_EQ(outlier_pick(v, 3, 0, 7, 10, &forced), 1, "all tried: round again, still skipping it");
	for (int i = 0; i < 3; i++) {
		outlier_failure(&b, &cfg, 100, &ms);
		outlier_failure(&c, &cfg, 50, &ms);
	}
	ASSERT_EQ(outlier_pick(v, 3, 0, 0, 200, &forced), 0, "all ejected: the one whose ejection ends soonest");
	ASSERT_TRUE(forced, "forced");
	ASSERT_EQ(outlier_pick(v, 3, 0, 1, 200, &forced), 2, "then the next soonest");
	ASSERT_EQ(outlier_pick(v, 3, 0, 0, 1000, &forced), 0, "a's time is up: usable again");
	ASSERT_TRUE(!forced, "not forced");
	ASSERT_EQ(outlier_pick(v, 0, 0, 0, 0, &forced), -1, "no target");
	return true;
}

static bool test_set(void)
{
	struct outlier_set s = { 0 };
	struct hermes_addr a[40];
	struct outlier *o;

	memset(a, 0, sizeof(a));
	for (int i = 0; i < 40; i++) {
		a[i].family = 4;
		a[i].addr[3] = (unsigned char)i;
		ASSERT_TRUE((o = outlier_find(&s, &a[i])) != NULL, "added");
		o->fails = (uint32_t)i;
	}
	ASSERT_EQ(s.n, 40, "40 targets");
	ASSERT_EQ(outlier_find(&s, &a[17])->fails, 17, "found again by address after growing");
	ASSERT_EQ(s.n, 40, "not added twice");
	outlier_set_free(&s);
	return true;
}

int main(void)
{
	RUN(test_eject_and_probe);
	RUN(test_lost_probe_and_off);
	RUN(test_pick);
	RUN(test_set);
	return check_summary("test_outlier");
}
