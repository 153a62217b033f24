/* fuzz_tunnel.c: libFuzzer target for the tunnel listener's request parsing, both ways a
 * client reaches it. The first input byte picks the way, the rest is what the client sends:
 * - even: an HTTP/1.1 head (clear text, or inside TLS), read as tunnel.c reads it: bytes
 *   arrive in pieces (sizes taken from the input) into a head buffer parsed after each
 *   piece with h1_parse_request, 431 once TUNNEL_HEAD_MAX bytes hold no complete head;
 *   a CONNECT's authority goes through h1_parse_authority, an absolute-form request's
 *   through h1_abs_scheme. Invariants: the piecewise result is the one-piece result of
 *   the same bytes; an accepted authority is an IPv4 or IPv6 address with a port in
 *   1..65535 that survives addr_fmt -> addr_parse unchanged (the form hermesd logs and
 *   routes by) and addr_to_hermes;
 * - odd: HTTP/2 frames after the client preface, into an h2mux server session set up as
 *   the tunnel listener's by default (sess_h2.c: the windows of tunnel.stream_buffer_bytes
 *   and tunnel.conn_buffer_bytes, 32 and 64 MiB, 256 KiB frames, the http2 section's
 *   default limits). Each stream's fields are collected as the listener does
 *   (bounded), and a complete head is answered as the listener would: a CONNECT whose
 *   :authority parses gets 200, anything else 400 with a reset. Invariants: h2mux never
 *   hands a stream more fields or decoded bytes of one section than the limits allow,
 *   the output it produces stays bounded per input byte (no amplification past the
 *   pending-ACK limit), and nothing leaks (ASan).
 * Built and run by tests/fuzz/run.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "config-t.h"
#include "fuzz.h"
#include "h2mux.h"
#include "http1.h"
#include "loop-t.h"

/* ---------------------------------------------------------------- HTTP/1.1 */

enum verdict { V_MORE, V_431, V_BAD, V_CONNECT, V_PROXY, V_405 };

/* What tunnel_parse_head decides for head[0..len): V_MORE while it waits for more. */
static enum verdict decide(const char *head, size_t len, struct sockaddr_storage *ss)
{
	struct h1_request req;
	socklen_t sl;
	bool tls;
	int n = h1_parse_request(head, len, NULL, &req);

	if (n == 0)
		return len >= TUNNEL_HEAD_MAX ? V_431 : V_MORE;
	if (n < 0) {
		CHECK(h1_error_status(n) >= 400 && h1_error_status(n) < 600);
		return V_BAD;
	}
	CHECK((size_t)n <= len);
	if (!h1_slice_eq(req.method, "CONNECT"))
		return h1_abs_scheme(req.target, &tls) ? V_PROXY : V_405;
	if (h1_parse_authority(req.target, ss, &sl))
		return V_BAD;
	CHECK(sl == (ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
	return V_CONNECT;
}

static void check_authority(const struct sockaddr_storage *ss)
{
	char buf[ADDR_STRLEN];
	struct cfg_sockaddr back;
	struct hermes_addr ha;
	unsigned port;

	CHECK(ss->ss_family == AF_INET || ss->ss_family == AF_INET6);
	port = ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
						((const struct sockaddr_in6 *)ss)->sin6_port);
	CHECK(port >= 1 && port <= 65535);
	CHECK(addr_fmt((const struct sockaddr *)ss, buf, sizeof(buf)) == buf);
	CHECK(addr_parse(buf, &back) == 0);
	CHECK(back.ss.ss_family == ss->ss_family);
	if (ss->ss_family == AF_INET)
		CHECK(!memcmp(&((struct sockaddr_in *)&back.ss)->sin_addr, &((const struct sockaddr_in *)ss)->sin_addr, 4) &&
		      ((struct sockaddr_in *)&back.ss)->sin_port == ((const struct sockaddr_in *)ss)->sin_port);
	else
		CHECK(!memcmp(&((struct sockaddr_in6 *)&back.ss)->sin6_addr, &((const struct sockaddr_in6 *)ss)->sin6_addr,
			      16) &&
		      ((struct sockaddr_in6 *)&back.ss)->sin6_port == ((const struct sockaddr_in6 *)ss)->sin6_port);
	CHECK(addr_to_hermes((const struct sockaddr *)ss, &ha) == 0);
}

static void fuzz_h1(const uint8_t *d, size_t n)
{
	/* the split sizes come from the input's first bytes, the head from the rest */
	size_t nsplit = n ? d[0] % 8 : 0, got = 0;
	const uint8_t *split = d + (n ? 1 : 0);
	struct sockaddr_storage whole_ss, piece_ss;
	enum verdict whole, piece = V_MORE;
	char *head;

	if (n < 1 + nsplit)
		return;
	d += 1 + nsplit;
	n -= 1 + nsplit;
	if (n > TUNNEL_HEAD_MAX + 64)
		n = TUNNEL_HEAD_MAX + 64;
	head = malloc(n ? n : 1);
	CHECK(head);
	memcpy(head, d, n);
	/* the listener reads at most TUNNEL_HEAD_MAX bytes before it must decide */
	whole = decide(head, n < TUNNEL_HEAD_MAX ? n : TUNNEL_HEAD_MAX, &whole_ss);
	for (size_t i = 0; piece == V_MORE && got < n && got < TUNNEL_HEAD_MAX; i++) {
		size_t step = i < nsplit ? (size_t)split[i] + 1 : n - got;

		if (got + step > n)
			step = n - got;
		if (got + step > TUNNEL_HEAD_MAX)
			step = TUNNEL_HEAD_MAX - got;
		got += step;
		piece = decide(head, got, &piece_ss);
	}
	if (piece != V_MORE || got >= (n < TUNNEL_HEAD_MAX ? n : TUNNEL_HEAD_MAX))
		CHECK(piece == whole);
	if (whole == V_CONNECT) {
		check_authority(&whole_ss);
		CHECK(!memcmp(&whole_ss, &piece_ss, sizeof(whole_ss)));
	}
	free(head);
}

/* ---------------------------------------------------------------- HTTP/2 */

#define OUT_CAP (8u << 20)
#define MAX_STREAMS 64

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct fstream {
	struct h2mux_stream ms;
	int32_t sid;
	bool used, answered, headers_done;
	int cat;               /* the current section's nghttp2_headers_category (+1; 0: none) */
	unsigned fields;       /* of the current section */
	size_t bytes;          /* decoded, of the current section, as h2mux counts them */
	char method[16], authority[300];
};

struct fsess {
	struct h2mux m;
	struct cfg_http2 lim;
	uint64_t hits[8];
	size_t out;
	struct fstream st[MAX_STREAMS];
};

#define FS(m) ((struct fsess *)(void *)((char *)(m) - offsetof(struct fsess, m)))
#define FST(ms) ((struct fstream *)(void *)((char *)(ms) - offsetof(struct fstream, ms)))

static int fs_header(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f, const uint8_t *name,
		     size_t nl, const uint8_t *value, size_t vl)
{
	struct fstream *s = FST(ms);
	struct fsess *fs = FS(m);

	/* each section (the request head, then trailers) is held to the limits on its own, as
	 * h2mux counts them: a new section starts the counts again, whenever the stream's
	 * answer to the head goes out */
	if (s->cat != (int)f->headers.cat + 1) {
		s->cat = (int)f->headers.cat + 1;
		s->fields = 0;
		s->bytes = 0;
	}
	s->fields++;
	s->bytes += nl + vl + 32;
	CHECK(s->fields <= fs->lim.max_header_fields);
	CHECK(s->bytes <= fs->lim.max_header_list);
	if (nl == 7 && !memcmp(name, ":method", 7) && vl < sizeof(s->method)) {
		memcpy(s->method, value, vl);
		s->method[vl] = 0;
	} else if (nl == 10 && !memcmp(name, ":authority", 10) && vl < sizeof(s->authority)) {
		memcpy(s->authority, value, vl);
		s->authority[vl] = 0;
	}
	return 0;
}

static int fs_frame_recv(struct h2mux *m, struct h2mux_stream *ms, const nghttp2_frame *f)
{
	struct fstream *s = FST(ms);

	if (f->hd.type == NGHTTP2_HEADERS && (f->hd.flags & NGHTTP2_FLAG_END_HEADERS)) {
		s->headers_done = true;
		h2mux_event(m, ms);
	}
	return 0;
}

static int fs_data(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, const uint8_t *p, size_t n)
{
	(void)ms;
	(void)p;
	nghttp2_session_consume(m->ng, sid, n);
	return 0;
}

static int fs_close(struct h2mux *m, struct h2mux_stream *ms, int32_t sid, uint32_t code)
{
	struct fstream *s = FST(ms);

	(void)sid;
	(void)code;
	h2mux_unqueue(m, ms);
	s->used = false;
	return 0;
}

/* A complete head, answered as the listener answers it. */
static void fs_event(struct h2mux *m, struct h2mux_stream *ms)
{
	struct fstream *s = FST(ms);
	struct sockaddr_storage ss;
	socklen_t sl;
	struct h1_slice a = { s->authority, strlen(s->authority) };
	const char *status = "400";
	nghttp2_nv nv = { (uint8_t *)":status", NULL, 7, 3, NGHTTP2_NV_FLAG_NONE };

	if (!s->used || !s->headers_done || s->answered)
		return;
	s->answered = true;
	if (!strcmp(s->method, "CONNECT") && !h1_parse_authority(a, &ss, &sl)) {
		check_authority(&ss);
		status = "200";
	}
	nv.value = (uint8_t *)status;
	if (nghttp2_submit_headers(m->ng, NGHTTP2_FLAG_NONE, s->sid, NULL, &nv, 1, NULL) == 0 && status[0] == '4')
		nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_NO_ERROR);
}

static const struct h2mux_stream_ops fs_ops = {
	.header = fs_header,
	.frame_recv = fs_frame_recv,
	.data = fs_data,
	.close = fs_close,
	.event = fs_event,
};

static void fs_begin(struct h2mux *m, const nghttp2_frame *f)
{
	struct fsess *fs = FS(m);

	for (int i = 0; i < MAX_STREAMS; i++) {
		struct fstream *s = &fs->st[i];

		if (s->used)
			continue;
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->sid = f->hd.stream_id;
		s->ms.ops = &fs_ops;
		h2mux_attach(m, s->sid, &s->ms);
		return;
	}
	nghttp2_submit_rst_stream(m->ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
}

static size_t fs_room(struct h2mux *m)
{
	return FS(m)->out < OUT_CAP ? OUT_CAP - FS(m)->out : 0;
}

static int fs_output(struct h2mux *m, const uint8_t *p, size_t n)
{
	(void)p;
	FS(m)->out += n;
	return 0;
}

static const struct h2mux_ops fs_mux_ops = { .begin = fs_begin, .room = fs_room, .output = fs_output };

static void fuzz_h2(const uint8_t *d, size_t n)
{
	struct fsess *fs = calloc(1, sizeof(*fs));
	/* the listener's windows are tunnel.stream_buffer_bytes and tunnel.conn_buffer_bytes
	 * (config.c's defaults), not the client's tunnel.h2_*_window_bytes */
	struct h2mux_cfg cfg = { .server = true, .stream_win = 32 << 20, .conn_win = 64 << 20,
				 .frame_max = 256 * 1024 };
	size_t nsplit = n ? d[0] % 8 : 0, fed = 0;
	const uint8_t *split;

	CHECK(fs);
	/* the http2 section's defaults (config.c), smaller for a quicker search */
	fs->lim = (struct cfg_http2){ .max_header_list = 4096, .max_header_fields = 32, .max_continuations = 8,
				      .max_streams = 16, .reset_burst = 100, .reset_rate = 20,
				      .max_pending_acks = 1000, .idle_timeout_ms = 30000 };
	cfg.lim = &fs->lim;
	cfg.hits = fs->hits;
	CHECK(h2mux_init(&fs->m, &cfg, &fs_mux_ops) == 0);
	if (n < 1 + nsplit)
		goto out;
	split = d + 1;
	d += 1 + nsplit;
	n -= 1 + nsplit;
	if (h2mux_feed(&fs->m, (const uint8_t *)PREFACE, sizeof(PREFACE) - 1))
		goto out;
	for (size_t i = 0; fed < n; i++) {
		size_t step = i < nsplit ? (size_t)split[i] + 1 : n - fed;
		int r;

		if (fed + step > n)
			step = n - fed;
		r = h2mux_feed(&fs->m, d + fed, step);
		fed += step;
		h2mux_events(&fs->m);
		if (h2mux_produce(&fs->m) || r)
			break;
		h2mux_events(&fs->m);
	}
	(void)h2mux_produce(&fs->m);
	/* a few frames per frame received at most: SETTINGS/PING acknowledgements, a
	 * response and a reset per stream, the session's own SETTINGS and GOAWAY */
	CHECK(fs->out <= 1024 + 64 * (sizeof(PREFACE) + fed));
out:
	h2mux_unqueue_all(&fs->m);
	h2mux_fini(&fs->m);
	free(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (!n)
		return 0;
	if (d[0] & 1)
		fuzz_h2(d + 1, n - 1);
	else
		fuzz_h1(d + 1, n - 1);
	return 0;
}
