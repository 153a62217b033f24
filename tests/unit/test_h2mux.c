/* test_h2mux.c: unit tests (no root, no sockets) for userspace/h2mux.c, the one HTTP/2
 * integration: a client and a server session wired back to back in memory. It checks
 * what the tunnel sessions and the http action rely on: the SETTINGS each sends, a
 * stream's frames reaching that stream's own ops (and a peer's new stream reaching the
 * owner's begin), a body read through h2mux_body, windows that open only as the reader
 * consumes (so a slow stream holds back only itself), DATA for a stream nobody holds not
 * holding the connection window, frames produced only while the output has room, events
 * queued once and run after nghttp2 returns, "finished" after a GOAWAY, and a server's
 * limits on its peer's header sections (section http2): fields past them never reach
 * the stream, which hears it closed, and the client gets 431.
 * Exit 0 when every check passes, 1 otherwise. */
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "config-t.h"
#include "h2mux.h"

#define OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define OUT_MAX (4 << 20)

/* One stream of the test: what it heard, and the body it sends. */
struct tstream {
	struct h2mux_stream ms;
	int32_t sid;
	int fields, events;
	char status[4];            /* :status heard */
	bool has_method, ended, closed;
	uint32_t code;
	size_t got;                /* DATA bytes received */
	bool consume;              /* give the window back at once */
	size_t body_len, body_off; /* its body (bytes of value 'b'), read by h2mux_body */
};

/* One side: its session and its output. */
struct end {
	struct h2mux m;
	uint8_t *out;
	size_t len;
	size_t room;           /* what the output takes at most (the high-water mark) */
	int begins, goaways;
	bool hold;             /* server: new streams keep their window (no consume) */
	bool let_go;           /* server: new streams are left unheld (no attach) */
	struct tstream *taken; /* server: the stream begin saw */
	struct tstream pool[4];
	int n_pool;
};

#define END(m) OF(m, struct end, m)
#define TS(ms) OF(ms, struct tstream, ms)

static int ts_header(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f, const uint8_t *name,
		     size_t nl, const uint8_t *value, size_t vl)
{
	(void)m;
	(void)f;
	TS(ms)->fields++;
	if (nl == 7 && !memcmp(name, ":method", 7))
		TS(ms)->has_method = true;
	if (nl == 7 && !memcmp(name, ":status", 7) && vl == 3)
		memcpy(TS(ms)->status, value, 3);
	return 0;
}

static int ts_frame_recv(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f)
{
	if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		TS(ms)->ended = true;
	h2mux_event(m, ms);
	return 0;
}

static int ts_data(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, const uint8_t *p, size_t n)
{
	(void)p;
	TS(ms)->got += n;
	if (TS(ms)->consume)
		nghttp2_session_consume(m->ng, sid, n);
	h2mux_event(m, ms);
	return 0;
}

static int ts_close(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint32_t code)
{
	(void)m;
	(void)sid;
	TS(ms)->closed = true;
	TS(ms)->code = code;
	return 0;
}

static ssize_t ts_read(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint8_t *buf, size_t len,
		       uint32_t *flags)
{
	struct tstream *t = TS(ms);
	size_t n = t->body_len - t->body_off;

	(void)m;
	(void)sid;
	if (n > len)
		n = len;
	memset(buf, 'b', n);
	t->body_off += n;
	if (t->body_off == t->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static void ts_event(struct h2mux *m, struct h2mux_stream *ms)
{
	(void)m;
	TS(ms)->events++;
}

static const struct h2mux_stream_ops ts_ops = {
	.header = ts_header,
	.frame_recv = ts_frame_recv,
	.data = ts_data,
	.close = ts_close,
	.read = ts_read,
	.event = ts_event,
};

static struct tstream *ts_new(struct end *e)
{
	struct tstream *t = &e->pool[e->n_pool++];

	memset(t, 0, sizeof(*t));
	t->ms.ops = &ts_ops;
	t->consume = true;
	return t;
}

static void end_begin(struct h2mux *m, const nghttp2_frame *f)
{
	struct end *e = END(m);

	e->begins++;
	e->taken = ts_new(e);
	e->taken->sid = f->hd.stream_id;
	e->taken->consume = !e->hold;
	if (!e->let_go)
		h2mux_attach(m, f->hd.stream_id, &e->taken->ms);
}

static void end_goaway(struct h2mux *m)
{
	END(m)->goaways++;
}

static size_t end_room(struct h2mux *m)
{
	struct end *e = END(m);

	return e->len < e->room ? e->room - e->len : 0;
}

static int end_output(struct h2mux *m, const uint8_t *p, size_t n)
{
	struct end *e = END(m);

	if (e->len + n > OUT_MAX)
		return -1;
	memcpy(e->out + e->len, p, n);
	e->len += n;
	return 0;
}

static const struct h2mux_ops end_ops = {
	.begin = end_begin,
	.goaway = end_goaway,
	.room = end_room,
	.output = end_output,
};

static bool end_init(struct end *e, const struct h2mux_cfg *cfg)
{
	memset(e, 0, sizeof(*e));
	e->out = malloc(OUT_MAX);
	e->room = OUT_MAX;
	return ASSERT_TRUE(e->out, "out of memory") && ASSERT_EQ(h2mux_init(&e->m, cfg, &end_ops), 0, "h2mux_init");
}

static void end_fini(struct end *e)
{
	h2mux_fini(&e->m);
	free(e->out);
}

/* Frames both ways until neither side has any more; events after each feed. */
static bool pump(struct end *a, struct end *b)
{
	bool ok = true;

	for (int i = 0; i < 1000 && ok; i++) {
		ok &= ASSERT_EQ(h2mux_produce(&a->m), 0, "produce a");
		ok &= ASSERT_EQ(h2mux_produce(&b->m), 0, "produce b");
		if (!a->len && !b->len)
			break;
		ok &= ASSERT_EQ(h2mux_feed(&b->m, a->out, a->len), 0, "feed b");
		a->len = 0;
		h2mux_events(&b->m);
		ok &= ASSERT_EQ(h2mux_feed(&a->m, b->out, b->len), 0, "feed a");
		b->len = 0;
		h2mux_events(&a->m);
	}
	return ok;
}

static const struct h2mux_cfg client_cfg = { .stream_win = 65535, .conn_win = 1 << 30 };
static const struct h2mux_cfg server_cfg = { .server = true, .max_streams_set = true, .max_streams = 7,
					     .stream_win = 65535, .conn_win = 1 << 30, .frame_max = 64 * 1024 };

static int32_t request(struct end *c, struct tstream *t, size_t body)
{
	nghttp2_nv nv[] = {
		{ (uint8_t *)":method", (uint8_t *)"POST", 7, 4, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)":path", (uint8_t *)"/", 5, 1, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)":authority", (uint8_t *)"a.example", 10, 9, NGHTTP2_NV_FLAG_NONE },
	};

	t->body_len = body;
	t->sid = nghttp2_submit_request(c->m.ng, NULL, nv, 4, body ? &h2mux_body : NULL, &t->ms);
	return t->sid;
}

/* A request with a body and its answer: SETTINGS as configured, each side's stream hears
 * its own frames, the body arrives whole, the events of one feed run once. */
static bool test_exchange(void)
{
	struct end c, s;
	struct tstream *t;
	nghttp2_nv status = { (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE };
	bool ok = end_init(&c, &client_cfg) && end_init(&s, &server_cfg);

	if (!ok)
		return false;
	t = ts_new(&c);
	ok &= ASSERT_TRUE(request(&c, t, 100000) > 0, "request submitted");
	ok &= pump(&c, &s);
	ok &= ASSERT_EQ(nghttp2_session_get_remote_settings(c.m.ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 7,
			"the server's stream limit");
	ok &= ASSERT_EQ(nghttp2_session_get_remote_settings(c.m.ng, NGHTTP2_SETTINGS_MAX_FRAME_SIZE), 64 * 1024,
			"the server's frame size");
	ok &= ASSERT_EQ(nghttp2_session_get_remote_settings(s.m.ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
			0xffffffffu, "no stream limit from the client (the default: none)");
	ok &= ASSERT_EQ(nghttp2_session_get_remote_settings(s.m.ng, NGHTTP2_SETTINGS_ENABLE_PUSH), 0, "no push");
	ok &= ASSERT_EQ(s.begins, 1, "the server's owner heard the new stream");
	if (!ASSERT_TRUE(s.taken, "a server stream"))
		return false;
	ok &= ASSERT_TRUE(s.taken->has_method && s.taken->fields == 4, "its fields (%d)", s.taken->fields);
	ok &= ASSERT_EQ(s.taken->got, 100000, "the body, whole");
	ok &= ASSERT_TRUE(s.taken->ended, "END_STREAM");
	ok &= ASSERT_TRUE(s.taken->events >= 1 && s.taken->events < 20, "events run after the feeds (%d)",
			  s.taken->events);
	ok &= ASSERT_EQ(nghttp2_submit_response(s.m.ng, s.taken->sid, &status, 1, NULL), 0, "response");
	ok &= pump(&c, &s);
	ok &= ASSERT_TRUE(t->fields == 1 && t->ended, "the client's stream heard its answer");
	ok &= ASSERT_TRUE(t->closed && t->code == NGHTTP2_NO_ERROR, "closed cleanly");
	ok &= ASSERT_TRUE(s.taken->closed, "the server's stream closed");
	end_fini(&c);
	end_fini(&s);
	return ok;
}

/* A stream whose reader does not consume gets its window (65535) and no more; another
 * stream on the same connection still gets its whole body; consuming opens the window. */
static bool test_window(void)
{
	struct end c, s;
	struct tstream *slow, *fast, *srv_slow;
	bool ok = end_init(&c, &client_cfg) && end_init(&s, &server_cfg);

	if (!ok)
		return false;
	slow = ts_new(&c);
	ok &= ASSERT_TRUE(request(&c, slow, 200000) > 0, "slow request");
	s.hold = true;
	ok &= pump(&c, &s);
	if (!ASSERT_TRUE(s.taken, "a server stream"))
		return false;
	srv_slow = s.taken;
	s.hold = false;
	ok &= ASSERT_EQ(srv_slow->got, 65535, "the slow stream: one window");
	fast = ts_new(&c);
	ok &= ASSERT_TRUE(request(&c, fast, 150000) > 0, "fast request");
	ok &= pump(&c, &s);
	ok &= ASSERT_EQ(s.taken->got, 150000, "the other stream: all of it");
	ok &= ASSERT_EQ(srv_slow->got, 65535, "the slow stream: still one window");
	nghttp2_session_consume(s.m.ng, srv_slow->sid, srv_slow->got);
	srv_slow->consume = true;
	ok &= pump(&c, &s);
	ok &= ASSERT_EQ(srv_slow->got, 200000, "the slow stream, once consumed");
	end_fini(&c);
	end_fini(&s);
	return ok;
}

/* DATA for a stream nobody holds is consumed at once: it does not hold the connection
 * window (here smaller than the body). */
static bool test_unheld(void)
{
	struct h2mux_cfg scfg = server_cfg;
	struct end c, s;
	struct tstream *t;
	bool ok;

	scfg.stream_win = 1 << 20;
	scfg.conn_win = 100000;
	ok = end_init(&c, &client_cfg) && end_init(&s, &scfg);
	if (!ok)
		return false;
	t = ts_new(&c);
	ok &= ASSERT_TRUE(request(&c, t, 300000) > 0, "request");
	s.let_go = true;
	ok &= pump(&c, &s);
	if (!ASSERT_TRUE(s.taken, "a server stream"))
		return false;
	ok &= ASSERT_EQ(t->body_off, 300000, "the client sent its whole body");
	ok &= ASSERT_EQ(s.taken->got, 0, "nobody heard it");
	end_fini(&c);
	end_fini(&s);
	return ok;
}

/* Nothing is produced while the output has no room; all of it once it has. */
static bool test_room(void)
{
	struct end c;
	struct tstream *t;
	bool ok = end_init(&c, &client_cfg);

	if (!ok)
		return false;
	t = ts_new(&c);
	ok &= ASSERT_TRUE(request(&c, t, 0) > 0, "request");
	c.room = 0;
	ok &= ASSERT_EQ(h2mux_produce(&c.m), 0, "produce");
	ok &= ASSERT_EQ(c.len, 0, "no room: nothing");
	c.room = OUT_MAX;
	ok &= ASSERT_EQ(h2mux_produce(&c.m), 0, "produce");
	ok &= ASSERT_TRUE(c.len > 24, "preface, SETTINGS and HEADERS (%zu bytes)", c.len);
	end_fini(&c);
	return ok;
}

/* An event queued twice runs once; an unqueued stream hears nothing. */
static bool test_events(void)
{
	struct end c;
	struct tstream *a, *b;
	bool ok = end_init(&c, &client_cfg);

	if (!ok)
		return false;
	a = ts_new(&c);
	b = ts_new(&c);
	h2mux_event(&c.m, &a->ms);
	h2mux_event(&c.m, &b->ms);
	h2mux_event(&c.m, &a->ms);
	h2mux_unqueue(&c.m, &b->ms);
	h2mux_events(&c.m);
	ok &= ASSERT_EQ(a->events, 1, "queued twice, run once");
	ok &= ASSERT_EQ(b->events, 0, "unqueued");
	h2mux_event(&c.m, &b->ms);
	h2mux_unqueue_all(&c.m);
	h2mux_events(&c.m);
	ok &= ASSERT_EQ(b->events, 0, "unqueued with the rest");
	end_fini(&c);
	return ok;
}

/* GOAWAY (a terminating one, as an idle connection's) with nothing open: both sides are
 * finished, the one that sent it and the one that heard it (not before). */
static bool test_finished(void)
{
	struct end c, s;
	bool ok = end_init(&c, &client_cfg) && end_init(&s, &server_cfg);

	if (!ok)
		return false;
	ok &= pump(&c, &s);
	ok &= ASSERT_TRUE(!h2mux_finished(&c.m) && !h2mux_finished(&s.m), "open");
	nghttp2_session_terminate_session(c.m.ng, NGHTTP2_NO_ERROR);
	ok &= pump(&c, &s);
	ok &= ASSERT_EQ(s.goaways, 1, "the server heard GOAWAY");
	ok &= ASSERT_TRUE(h2mux_finished(&c.m) && h2mux_finished(&s.m), "finished");
	ok &= ASSERT_EQ(c.m.goaway_code, 0, "a NO_ERROR GOAWAY is not recorded as an error");
	end_fini(&c);
	end_fini(&s);
	return ok;
}

/* A new server session refused over the memory budget (h2mux_refuse): its SETTINGS
 * first, then GOAWAY(ENHANCE_YOUR_CALM, last stream 0, the reason as debug data); the
 * client's request is never begun on the server, the client hears it refused (safe to
 * retry), and the server is finished once that is out. */
static bool test_refuse(void)
{
	struct end c, s;
	struct tstream *t;
	uint32_t last = 1, code = 0;
	int first = -1;
	bool ok = end_init(&c, &client_cfg) && end_init(&s, &server_cfg);

	if (!ok)
		return false;
	t = ts_new(&c);
	ok &= ASSERT_TRUE(request(&c, t, 0) > 0, "request submitted");
	h2mux_refuse(&s.m, "overloaded");
	ok &= ASSERT_EQ(h2mux_produce(&s.m), 0, "produce");
	for (size_t off = 0; off + 9 <= s.len;) {
		const uint8_t *f = s.out + off;
		size_t n = (size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2];

		if (first < 0)
			first = f[3];
		if (f[3] == NGHTTP2_GOAWAY && n >= 8) {
			last = ((uint32_t)f[9] << 24 | (uint32_t)f[10] << 16 | (uint32_t)f[11] << 8 | f[12]) & 0x7fffffff;
			code = (uint32_t)f[13] << 24 | (uint32_t)f[14] << 16 | (uint32_t)f[15] << 8 | f[16];
			ok &= ASSERT_TRUE(n - 8 == 10 && !memcmp(f + 17, "overloaded", 10), "the reason as debug data");
		}
		off += 9 + n;
	}
	ok &= ASSERT_EQ(first, NGHTTP2_SETTINGS, "SETTINGS first");
	ok &= ASSERT_EQ(code, NGHTTP2_ENHANCE_YOUR_CALM, "GOAWAY(ENHANCE_YOUR_CALM)");
	ok &= ASSERT_EQ(last, 0, "last stream 0: nothing processed");
	ok &= pump(&c, &s);
	ok &= ASSERT_EQ(s.begins, 0, "the request never began on the server");
	ok &= ASSERT_EQ(c.goaways, 1, "the client heard GOAWAY");
	ok &= ASSERT_TRUE(t->closed && t->code == NGHTTP2_REFUSED_STREAM, "the client's stream refused (code %u)",
			  t->code);
	ok &= ASSERT_TRUE(h2mux_finished(&s.m), "the server is finished");
	/* what the owner logs when it closes the session */
	ok &= ASSERT_EQ(s.m.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM, "the GOAWAY sent is recorded");
	ok &= ASSERT_TRUE(!strcmp(s.m.goaway_why, "overloaded"), "... with its reason (%s)", s.m.goaway_why);
	end_fini(&c);
	end_fini(&s);
	return ok;
}

/* A server with limits (http2: 16 fields, 1024 bytes): a request head of 20 small
 * fields reaches the stream's ops as 16, the stream hears it closed, the client gets 431
 * and the limit is counted; a head within them goes through, and the limits are sent as
 * SETTINGS. */
static bool test_header_limits(void)
{
	struct cfg_http2 lim = { .max_header_list = 1024, .max_header_fields = 16, .max_continuations = 8,
				 .max_streams = 5, .reset_burst = 100, .reset_rate = 20, .max_pending_acks = 1000 };
	uint64_t hits[H2L_N] = { 0 };
	struct h2mux_cfg scfg = server_cfg;
	nghttp2_nv nv[20];
	char names[20][8];
	struct end c, s;
	struct tstream *t;
	bool ok;

	scfg.lim = &lim;
	scfg.hits = hits;
	ok = end_init(&c, &client_cfg) && end_init(&s, &scfg);
	if (!ok)
		return false;
	nv[0] = (nghttp2_nv){ (uint8_t *)":method", (uint8_t *)"GET", 7, 3, NGHTTP2_NV_FLAG_NONE };
	nv[1] = (nghttp2_nv){ (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, NGHTTP2_NV_FLAG_NONE };
	nv[2] = (nghttp2_nv){ (uint8_t *)":path", (uint8_t *)"/", 5, 1, NGHTTP2_NV_FLAG_NONE };
	nv[3] = (nghttp2_nv){ (uint8_t *)":authority", (uint8_t *)"a.example", 10, 9, NGHTTP2_NV_FLAG_NONE };
	for (int i = 4; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "x-%02d", i);
		nv[i] = (nghttp2_nv){ (uint8_t *)names[i], (uint8_t *)"v", 4, 1, NGHTTP2_NV_FLAG_NONE };
	}
	t = ts_new(&c);
	ok &= ASSERT_TRUE((t->sid = nghttp2_submit_request(c.m.ng, NULL, nv, 20, NULL, &t->ms)) > 0, "request");
	ok &= pump(&c, &s);
	ok &= ASSERT_EQ(nghttp2_session_get_remote_settings(c.m.ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 5,
			"http2.max_concurrent_streams sent");
	ok &= ASSERT_EQ(nghttp2_session_get_remote_settings(c.m.ng, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE), 1024,
			"http2.max_header_list_bytes sent");
	if (!ASSERT_TRUE(s.taken, "a server stream"))
		return false;
	ok &= ASSERT_EQ(s.taken->fields, 16, "the stream heard the first 16 fields only");
	ok &= ASSERT_TRUE(s.taken->closed && !s.taken->ended, "and was closed, never ended");
	ok &= ASSERT_TRUE(!memcmp(t->status, "431", 3) && t->closed, "the client got 431 (%.3s)", t->status);
	ok &= ASSERT_EQ(hits[H2L_HEADER_LIST], 1, "counted");
	t = ts_new(&c);
	ok &= ASSERT_TRUE((t->sid = nghttp2_submit_request(c.m.ng, NULL, nv, 16, NULL, &t->ms)) > 0, "request");
	ok &= pump(&c, &s);
	ok &= ASSERT_TRUE(s.taken->fields == 16 && s.taken->ended && !s.taken->closed, "16 fields go through");
	ok &= ASSERT_EQ(hits[H2L_HEADER_LIST], 1, "nothing more counted");
	end_fini(&c);
	end_fini(&s);
	return ok;
}

/* A header block left open is "stalled" only once the limit has passed since it began.
 * hblock_ms is the coarse clock | 1, up to 1 ms ahead of a reading in the same tick:
 * that once wrapped to 2^64 - 1 ms and ended a busy session (ENHANCE_YOUR_CALM, every
 * request on it reset; http_forward_h2 under load). */
static bool test_head_stalled(void)
{
	struct end s;
	struct timespec ts;
	uint64_t now;
	bool ok = end_init(&s, &server_cfg);

	if (!ok)
		return false;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	s.m.hblock_ms = (now + 1) | 1; /* begun in this tick, as the clock | 1 sets it */
	ok &= ASSERT_TRUE(!h2mux_head_stalled(&s.m, 10000), "a block begun in this tick is not stalled");
	ok &= ASSERT_EQ(s.m.ng_err, 0, "the session goes on");
	s.m.hblock_ms = 0;
	ok &= ASSERT_TRUE(!h2mux_head_stalled(&s.m, 10000), "no block open: not stalled");
	s.m.hblock_ms = (now - 20000) | 1;
	ok &= ASSERT_TRUE(h2mux_head_stalled(&s.m, 10000), "a block open for 20 s of 10 is stalled");
	ok &= ASSERT_TRUE(s.m.ng_err != 0, "the session failed");
	ok &= ASSERT_EQ(h2mux_produce(&s.m), 0, "produce");
	ok &= ASSERT_TRUE(h2mux_finished(&s.m), "its GOAWAY out, the session is finished");
	ok &= ASSERT_EQ(s.m.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM, "GOAWAY(ENHANCE_YOUR_CALM) recorded");
	end_fini(&s);
	return ok;
}

int main(void)
{
	RUN(test_exchange);
	RUN(test_window);
	RUN(test_unheld);
	RUN(test_room);
	RUN(test_events);
	RUN(test_finished);
	RUN(test_refuse);
	RUN(test_header_limits);
	RUN(test_head_stalled);
	return check_summary("test_h2mux");
}
