/* test_etcd.c: unit tests (no server) for the etcd client's pure parts
 * (userspace/etcd.c): base64 both ways with binary bytes and each padding, refusals;
 * a prefix's range_end (0xff carried, the whole key space); the watch stream's parser on
 * the gateway's own JSON (taken from etcd 3.4.23): "need more" at every cut, two
 * objects in one read, PUT and DELETE events, the resume revision after each event and
 * the compacted and error answers; the etcd_src state file's header; the etcd section
 * of the config; and the start's choice of document when no etcd answers (a closed port
 * on loopback): the state file, a bad one refused, none; the status key's JSON and the
 * address it gives (the host name for an unspecified address); the start endpoint picked by
 * the node name's hash (nodes spread over the members, failover in list order from
 * there: three closed ports on loopback, tried in turn). Exit 0 when every check passes,
 * 1 otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "check.h"
#include "addr.h"
#include "config.h"
#include "etcd.h"
#include "etcd_src.h"
#include "etcd_status.h"
#include "fnv.h"
#include "log.h"
#include "version.h"

static bool test_base64(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *b64;
	} t[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg==" },
		{ "fo", 2, "Zm8=" },
		{ "foo", 3, "Zm9v" },
		{ "/hermes/nodes/a", 15, "L2hlcm1lcy9ub2Rlcy9h" },
		{ "\0\xff\x10", 3, "AP8Q" },
	};
	char *s, *d;
	size_t n;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = etcd_b64_encode(t[i].in, t[i].n);
		ASSERT_STREQ(s, t[i].b64, "encode");
		free(s);
		if (!ASSERT_EQ(etcd_b64_decode(t[i].b64, &d, &n), 0, t[i].b64))
			continue;
		ASSERT_EQ(n, t[i].n, "decoded length");
		ASSERT_TRUE(!memcmp(d, t[i].in, n), "decoded bytes of %s", t[i].b64);
		ASSERT_EQ(d[n], 0, "NUL after the bytes");
		free(d);
	}
	ASSERT_EQ(etcd_b64_decode("Zm9", &d, &n), -EINVAL, "length not a multiple of 4");
	ASSERT_EQ(etcd_b64_decode("Zm9!", &d, &n), -EINVAL, "not a base64 character");
	return true;
}

static bool test_prefix_end(void)
{
	char end[16];
	size_t n;

	etcd_prefix_end("/a/", 3, end, &n);
	ASSERT_EQ(n, 3, "length");
	ASSERT_TRUE(!memcmp(end, "/a0", 3), "'/' + 1 is '0'");
	etcd_prefix_end("a\xff\xff", 3, end, &n);
	ASSERT_EQ(n, 1, "0xff bytes dropped");
	ASSERT_EQ(end[0], 'b', "the byte before them carried");
	etcd_prefix_end("\xff", 1, end, &n);
	ASSERT_TRUE(n == 1 && end[0] == 0, "all 0xff: the whole key space");
	return true;
}

struct seen {
	int n, puts, dels;
	char last_key[64], last_value[256];
	int64_t last_rev;
	int stop_at; /* return 1 at this event (1-based), 0: never */
};

static int on_event(void *arg, const struct etcd_event *ev)
{
	struct seen *s = arg;

	s->n++;
	if (ev->type == ETCD_EV_PUT)
		s->puts++;
	else
		s->dels++;
	snprintf(s->last_key, sizeof(s->last_key), "%s", ev->kv.key);
	snprintf(s->last_value, sizeof(s->last_value), "%s", ev->kv.value);
	s->last_rev = ev->kv.mod_rev;
	return s->stop_at && s->n == s->stop_at;
}

/* what etcd 3.4.23's gateway streamed: created, one PUT (key foo = bar at revision 2),
 * then a PUT at 5 and a DELETE at 6 in one response */
#define HDR "\"header\":{\"cluster_id\":\"1511\",\"member_id\":\"1366\",\"revision\":\"%s\",\"raft_term\":\"2\"}"
static const char stream[] =
	"{\"result\":{\"header\":{\"cluster_id\":\"1511\",\"member_id\":\"1366\",\"revision\":\"2\",\"raft_term\":\"2\"},"
	"\"created\":true}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"1511\",\"member_id\":\"1366\",\"revision\":\"2\",\"raft_term\":\"2\"},"
	"\"events\":[{\"kv\":{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\","
	"\"value\":\"YmFy\"}}]}}\n"
	"{\"result\":{\"header\":{\"revision\":\"6\"},\"events\":["
	"{\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"5\",\"value\":\"YmF6\"}},"
	"{\"type\":\"DELETE\",\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"6\"}}]}}\n";

/* the whole stream through the parser, the way the watch's write callback feeds it */
static long feed(struct etcd_watch *w, const char *buf, size_t len, struct seen *s, int *stop)
{
	size_t off = 0;
	long used = 0;

	while (off < len && !*stop && (used = etcd_watch_parse(w, buf + off, len - off, on_event, s, stop)) > 0)
		off += (size_t)used;
	return used < 0 ? used : (long)off;
}

static bool test_watch_stream(void)
{
	struct etcd_watch w = { .next_rev = 1 };
	struct seen s = { 0 };
	int stop = 0;

	ASSERT_EQ(feed(&w, stream, strlen(stream), &s, &stop), (long)strlen(stream), "whole stream consumed");
	ASSERT_TRUE(w.created, "created seen");
	ASSERT_EQ(s.n, 3, "events");
	ASSERT_EQ(s.puts, 2, "puts");
	ASSERT_EQ(s.dels, 1, "deletes");
	ASSERT_STREQ(s.last_key, "foo", "key decoded");
	ASSERT_EQ(w.next_rev, 7, "resume after the last event");
	ASSERT_EQ(w.header_rev, 6, "header revision");
	return true;
}

/* every cut of the stream: whatever arrives first, the parser takes whole objects only
 * and hands each event once */
static bool test_watch_cuts(void)
{
	size_t len = strlen(stream);

	for (size_t cut = 0; cut <= len; cut++) {
		struct etcd_watch w = { .next_rev = 1 };
		struct seen s = { 0 };
		char *buf = malloc(len + 1);
		size_t have = 0;
		long used;
		int stop = 0;

		/* the first `cut` bytes, then the rest, with what was not consumed kept */
		memcpy(buf, stream, cut);
		have = cut;
		used = feed(&w, buf, have, &s, &stop);
		if (!ASSERT_TRUE(used >= 0, "cut %zu: %ld", cut, used)) {
			free(buf);
			return false;
		}
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
		memcpy(buf + have, stream + cut, len - cut);
		have += len - cut;
		used = feed(&w, buf, have, &s, &stop);
		free(buf);
		if (!ASSERT_EQ(used, (long)have, "rest consumed") || !ASSERT_EQ(s.n, 3, "events once each") ||
		    !ASSERT_EQ(w.next_rev, 7, "resume revision"))
			return false;
	}
	return true;
}

/* fn stops at the second event: the watch resumes after it, not after the third */
static bool test_watch_stop_resume(void)
{
	struct etcd_watch w = { .next_rev = 1 };
	struct seen s = { .stop_at = 2 };
	int stop = 0;

	feed(&w, stream, strlen(stream), &s, &stop);
	ASSERT_EQ(stop, 1, "stopped");
	ASSERT_EQ(s.n, 2, "events handed");
	ASSERT_EQ(w.next_rev, 6, "resume from the third event's revision");
	return true;
}

static bool test_watch_compacted_and_errors(void)
{
	static const char compacted[] =
		"{\"result\":{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"1\",\"raft_term\":\"2\"},"
		"\"canceled\":true,\"compact_revision\":\"2\"}}\n";
	static const char error[] = "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\"}}";
	struct etcd_watch w = { .next_rev = 1 };
	struct seen s = { 0 };
	int stop = 0;

	ASSERT_EQ(etcd_watch_parse(&w, compacted, strlen(compacted), on_event, &s, &stop), -ESTALE, "compacted");
	ASSERT_EQ(w.compact_rev, 2, "compact revision");
	ASSERT_EQ(etcd_watch_parse(&w, error, strlen(error), on_event, &s, &stop), -EIO, "error object");
	ASSERT_STREQ(w.err, "etcdserver: no leader", "its message");
	ASSERT_EQ(etcd_watch_parse(&w, "[1,2]", 5, on_event, &s, &stop), -EINVAL, "not a watch response");
	ASSERT_EQ(etcd_watch_parse(&w, "{\"result\":", 10, on_event, &s, &stop), 0, "need more");
	ASSERT_EQ(etcd_watch_parse(&w, "  \n", 3, on_event, &s, &stop), 3, "blank lines consumed");
	/* found by tests/fuzz/fuzz_etcd.c: the resume revision, mod_revision + 1, overflowed */
	{
		static const char max[] = "{\"result\":{\"events\":[{\"kv\":{\"key\":\"eA==\","
					  "\"mod_revision\":\"9223372036854775807\"}}]}}";
		static const char neg[] = "{\"result\":{\"events\":[{\"kv\":{\"key\":\"eA==\",\"mod_revision\":\"-3\"}}]}}";

		ASSERT_EQ(etcd_watch_parse(&w, max, strlen(max), on_event, &s, &stop), -EINVAL, "the largest revision");
		ASSERT_EQ(etcd_watch_parse(&w, neg, strlen(neg), on_event, &s, &stop), -EINVAL, "a negative one");
	}
	ASSERT_EQ(s.n, 0, "no event from any of them");
	return true;
}

/* the state file's header: written, read back; anything else is not ours */
static bool test_state_header(void)
{
	char line[256], key[128];
	int64_t rev;

	etcd_src_state_header(line, sizeof(line), "/hermes/ov1/nodes/a", 42);
	ASSERT_EQ(etcd_src_state_parse(line, key, sizeof(key), &rev), 0, line);
	ASSERT_STREQ(key, "/hermes/ov1/nodes/a", "key");
	ASSERT_EQ(rev, 42, "revision");
	ASSERT_EQ(etcd_src_state_parse("policy: []\n", key, sizeof(key), &rev), -EINVAL, "no header");
	/* the revision is the line's own digits: not the next line's (strtoll skips a newline),
	 * no sign, no overflow clamped to INT64_MAX (fuzz_etcdstate) */
	ASSERT_EQ(etcd_src_state_parse("# hermes etcd state: key /k revision \n1\n", key, sizeof(key), &rev), -EINVAL,
		  "a revision on the next line");
	ASSERT_EQ(etcd_src_state_parse("# hermes etcd state: key /k revision -3\n", key, sizeof(key), &rev), -EINVAL,
		  "a negative revision");
	ASSERT_EQ(etcd_src_state_parse("# hermes etcd state: key /k revision 99999999999999999999\n", key, sizeof(key),
				       &rev), -EINVAL, "an overflowing revision");
	ASSERT_EQ(etcd_src_state_parse("# hermes etcd state: key /k revision 9223372036854775807\n", key, sizeof(key),
				       &rev), 0, "INT64_MAX itself");
	ASSERT_EQ(rev, INT64_MAX, "INT64_MAX read");
	return true;
}

static int load(const char *yaml, struct hermes_config *cfg, char *err, size_t len)
{
	return config_load_mem("test.yaml", yaml, strlen(yaml), cfg, err, len);
}

static bool test_config_section(void)
{
	static struct hermes_config cfg;
	char err[512];

	if (!ASSERT_EQ(load("etcd:\n  endpoints: [http://10.0.0.1:2379, https://h:2379]\n  prefix: /hermes/lab\n"
			    "  node: a\n  state_file: /var/lib/hermes/s.yaml\n", &cfg, err, sizeof(err)), 0, err))
		return false;
	ASSERT_EQ(cfg.etcd.n_endpoints, 2, "endpoints");
	ASSERT_STREQ(cfg.etcd.endpoints[1], "https://h:2379", "second endpoint");
	ASSERT_STREQ(cfg.etcd.node, "a", "node");
	config_free(&cfg);
	ASSERT_EQ(load("etcd: {endpoints: [http://h:2379], node: a}\n", &cfg, err, sizeof(err)), -EINVAL,
		  "no prefix");
	ASSERT_HAS(err, "endpoints need a prefix", "its message");
	ASSERT_EQ(load("etcd: {endpoints: [http://h:2379], prefix: /p}\n", &cfg, err, sizeof(err)), 0,
		  "no node in the file: --etcd-node may give it");
	config_free(&cfg);
	ASSERT_EQ(load("etcd: {endpoints: [h:2379], prefix: /p, node: a}\n", &cfg, err, sizeof(err)), -EINVAL,
		  "not a URL");
	ASSERT_HAS(err, "bad etcd endpoint 'h:2379'", "its message");
	ASSERT_EQ(load("etcd: {endpoints: [http://h:2379], prefix: /p, node: a/b}\n", &cfg, err, sizeof(err)), -EINVAL,
		  "a node with '/'");
	return true;
}

/* The start with no etcd answering (port 1 on loopback refuses at once): the state
 * file's document is taken as a reload would take it (reload keys from it, restart keys
 * and the etcd section from the file); a state file of another key, or one that does
 * not load, leaves the file's config. */
static bool test_first_config(void)
{
	static struct hermes_config cfg;
	char path[] = "/tmp/test_etcd_state.XXXXXX", yaml[1024], head[256], *doc;
	struct etcd_src *s;
	size_t len;
	int64_t rev;
	FILE *f;
	int fd = mkstemp(path);

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return false;
	close(fd);
	log_set_level(LOG_ERROR); /* the warnings are expected */
	snprintf(yaml, sizeof(yaml), "log_level: warn\netcd:\n  endpoints: [http://127.0.0.1:1]\n  prefix: /hermes/t\n"
		 "  node: a\n  state_file: %s\n", path);
	for (int round = 0; round < 3; round++) {
		char err[512];

		f = fopen(path, "w");
		etcd_src_state_header(head, sizeof(head), round == 1 ? "/hermes/t/nodes/b" : "/hermes/t/nodes/a", 42);
		fprintf(f, "%s%s", head, round == 2 ? "policy: [{match: 10.0.0.300/32, action: deny}]\n" :
			"policy: [{match: 10.0.0.0/8, action: deny}]\ncgroup: /elsewhere\n");
		fclose(f);
		if (!ASSERT_EQ(load(yaml, &cfg, err, sizeof(err)), 0, err) ||
		    !ASSERT_EQ(etcd_src_new(&cfg.etcd, "", "", &s), 0, "etcd_src_new"))
			break;
		ASSERT_EQ(etcd_src_first_config(s, &cfg, &doc, &len, &rev), 0, "first config");
		if (round == 0) {
			ASSERT_EQ(cfg.n_rules, 1, "the state file's policy");
			ASSERT_EQ(rev, 42, "its revision");
			ASSERT_TRUE(doc && strstr(doc, "10.0.0.0/8"), "the document kept for SIGHUPs");
			ASSERT_EQ(cfg.log_level, LOG_INFO, "a reload key the document leaves out takes its default");
			ASSERT_TRUE(strcmp(cfg.cgroup, "/elsewhere") != 0, "a restart key stays the file's");
			ASSERT_EQ(cfg.etcd.n_endpoints, 1, "the etcd section stays the file's");
		} else {
			struct etcd_src_stats st;

			ASSERT_TRUE(!doc, "round %d: no document", round);
			ASSERT_EQ(cfg.n_rules, 0, "the file's (empty) policy");
			ASSERT_EQ(cfg.log_level, LOG_WARN, "the file's log_level");
			etcd_src_get_stats(s, &st);
			ASSERT_EQ(st.refused, round == 2 ? 1 : 0, "a bad state file counts as refused");
		}
		free(doc);
		etcd_src_free(s);
		config_free(&cfg);
	}
	unlink(path);
	unlink(strcat(strcpy(yaml, path), ".tmp"));
	return true;
}

static bool test_status_json(void)
{
	struct etcd_status_info in = { .applied_rev = 42, .applied_at_ms = 1765000000123ull };
	struct cfg_sockaddr a = { 0 };
	char buf[128], want[512], host[256];
	char *j;

	snprintf(in.health, sizeof(in.health), "ok");
	j = etcd_status_json("a", "10.0.0.1:15008", "127.0.0.1:15000", 77, &in);
	snprintf(want, sizeof(want), "{\"node\":\"a\",\"address\":\"10.0.0.1:15008\",\"admin\":\"127.0.0.1:15000\","
		 "\"version\":\"%s\",\"applied_revision\":42,\"applied_at\":1765000000123,\"health\":\"ok\","
		 "\"config_error\":null,\"pid\":77}", hermes_version);
	ASSERT_STREQ(j, want, "the status key's JSON");
	free(j);
	snprintf(in.health, sizeof(in.health), "degraded: shedding \"load\"");
	snprintf(in.config_error, sizeof(in.config_error), "bad match '10.0.0.300'");
	j = etcd_status_json("a", "", "", 1, &in);
	ASSERT_HAS(j, "\"health\":\"degraded: shedding \\\"load\\\"\"", "health escaped");
	ASSERT_HAS(j, "\"config_error\":\"bad match '10.0.0.300'\"", "the refusal");
	free(j);
	etcd_status_addr(&a, buf, sizeof(buf));
	ASSERT_STREQ(buf, "", "no listener: no address");
	ASSERT_EQ(addr_parse("10.1.2.3:15008", &a), 0, "addr_parse");
	etcd_status_addr(&a, buf, sizeof(buf));
	ASSERT_STREQ(buf, "10.1.2.3:15008", "an address as it is");
	ASSERT_EQ(addr_parse("0.0.0.0:15008", &a), 0, "addr_parse");
	etcd_status_addr(&a, buf, sizeof(buf));
	gethostname(host, sizeof(host));
	ASSERT_STREQ(buf, strcat(host, ":15008"), "the unspecified address: the host name");
	return true;
}

static bool test_start_at(void)
{
	struct etcd_opts o = { .endpoints = { "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3" },
			       .n_endpoints = 3, .connect_timeout_ms = 500, .request_timeout_ms = 1000 };
	struct etcd c;
	struct etcd_range r;
	unsigned hit = 0;
	char name[16], err[256];
	bool ok = true;

	for (int i = 1; i <= 16; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		etcd_init(&c, &o);
		ok &= ASSERT_EQ(c.cur, 0, "etcd_init starts at the first endpoint");
		etcd_start_at(&c, name);
		ok &= ASSERT_EQ(c.cur, fnv1a32(name, strlen(name)) % 3, name);
		hit |= 1u << c.cur;
	}
	ok &= ASSERT_EQ(hit, 7, "16 node names start on each of the 3 endpoints");
	/* one endpoint: always it */
	o.n_endpoints = 1;
	etcd_init(&c, &o);
	etcd_start_at(&c, "c2");
	ok &= ASSERT_EQ(c.cur, 0, "the only endpoint");
	/* failover from the hashed start goes on in list order: start+1, start+2, and the
	 * call fails naming the last one tried, the client back at its start */
	o.n_endpoints = 3;
	for (int i = 1; i <= 3; i++) {
		int start;

		snprintf(name, sizeof(name), "c%d", i);
		etcd_init(&c, &o);
		etcd_start_at(&c, name);
		start = c.cur;
		ok &= ASSERT_TRUE(etcd_range(&c, "/k", false, &r, err, sizeof(err)) < 0, "closed ports answered");
		ok &= ASSERT_HAS(err, o.endpoints[(start + 2) % 3], "the last endpoint tried");
		ok &= ASSERT_EQ(c.cur, start, "after a full round the start again");
	}
	return ok;
}

/* A node's client (etcd_init_node): hermes.yaml's endpoints, the timeouts hermesd uses,
 * TLS only when given, and the start its node name hashes to. */
static bool test_init_node(void)
{
	static struct cfg_etcd e = { .endpoints = { "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3" },
				     .n_endpoints = 3, .prefix = "/hermes/t", .ca = "/etc/ca.pem" };
	struct etcd c;
	unsigned hit = 0;
	bool ok = true;

	for (int i = 1; i <= 16; i++) {
		snprintf(e.node, sizeof(e.node), "n%d", i);
		etcd_init_node(&c, &e);
		ok &= ASSERT_EQ(c.cur, fnv1a32(e.node, strlen(e.node)) % 3, e.node);
		hit |= 1u << c.cur;
	}
	ok &= ASSERT_EQ(hit, 7, "16 node names start on each of the 3 endpoints");
	ok &= ASSERT_EQ(c.o.n_endpoints, 3, "every endpoint");
	ok &= ASSERT_STREQ(c.o.endpoints[2], "http://127.0.0.1:3", "in the file's order");
	ok &= ASSERT_EQ(c.o.connect_timeout_ms, 1000, "hermesd's connect timeout");
	ok &= ASSERT_EQ(c.o.request_timeout_ms, 3000, "hermesd's call timeout");
	ok &= ASSERT_TRUE(!c.o.cert && !c.o.key, "no client certificate given: none");
	ok &= ASSERT_STREQ(c.o.ca, "/etc/ca.pem", "the CA given");
	ok &= ASSERT_TRUE(!c.alive, "no liveness callback");
	return ok;
}

int main(void)
{
	RUN(test_base64);
	RUN(test_prefix_end);
	RUN(test_watch_stream);
	RUN(test_watch_cuts);
	RUN(test_watch_stop_resume);
	RUN(test_watch_compacted_and_errors);
	RUN(test_state_header);
	RUN(test_config_section);
	RUN(test_first_config);
	RUN(test_status_json);
	RUN(test_start_at);
	RUN(test_init_node);
	return check_summary("test_etcd");
}
