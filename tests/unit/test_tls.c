/* test_tls.c: unit tests of tls.c's transport (struct tls_xprt), a client and a server
 * talking TLS 1.3 in memory: each side's ciphertext goes to its out() buffer, which the
 * test carries to the other side's receive buffer as a socket would. The certificates
 * (a CA, two DNS names and an IP address) are made at run time by hermesctl's
 * certificate maker (tools/certs.c) into a temporary directory, removed at the end.
 * Small writes gathered (tls_xprt_gather) leave as one record, in order. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "buf.h"
#include "certs.h"
#include "check.h"
#include "tls.h"

static char dir[64];
/* server.test's and 127.0.0.1's server contexts; client.test's client context */
static void *srv_ctx, *srv_ip_ctx, *cli_ctx;
static void *unused[3];

/* A growable byte string: what one side sent, or what it received and has not read. */
struct wire {
	uint8_t *p;
	size_t off, len, cap;
};

static void wire_put(struct wire *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2;
		w->p = realloc(w->p, w->cap);
		if (!w->p)
			abort();
	}
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

struct end {
	struct tls_xprt t;
	struct wire out;  /* ciphertext it sent, not delivered yet */
	struct wire rx;   /* ciphertext it received: rx[off..len) not read by OpenSSL yet */
	bool fail_out;    /* out() refuses (as when out of memory) */
};

static int end_out(void *ud, const void *p, size_t n)
{
	struct end *e = ud;

	if (e->fail_out)
		return -ENOMEM;
	wire_put(&e->out, p, n);
	return 0;
}

static void end_free(struct end *e)
{
	tls_xprt_free(&e->t);
	free(e->out.p);
	free(e->rx.p);
}

/* After OpenSSL read from `to`'s receive buffer: what it left stays there. */
static void rx_sync(struct end *to)
{
	to->rx.off = to->rx.len - tls_xprt_input_left(&to->t);
}

/* The bytes `from` sent, n at most (all: (size_t)-1), arrive at `to`: appended behind
 * what it has not read (moved to the front, as the interface asks), then handed over. */
static void deliver(struct end *from, struct end *to, size_t n)
{
	struct wire *rx = &to->rx;

	if (n > from->out.len)
		n = from->out.len;
	if (rx->off)
		memmove(rx->p, rx->p + rx->off, rx->len - rx->off);
	rx->len -= rx->off;
	rx->off = 0;
	if (n) {
		wire_put(rx, from->out.p, n);
		memmove(from->out.p, from->out.p + n, from->out.len - n);
		from->out.len -= n;
	}
	tls_xprt_input(&to->t, rx->p, rx->len);
}

/* Handshake both until done or one fails: 0, or the first failure (-EPROTO), with
 * each side's reason in cwhy/swhy. */
static int handshake(struct end *c, struct end *s, char *cwhy, char *swhy)
{
	int rc = 0, rs = 0;

	cwhy[0] = swhy[0] = 0;
	for (int round = 0; round < 10; round++) {
		rc = tls_xprt_handshake(&c->t, cwhy, 320);
		rx_sync(c);
		deliver(c, s, (size_t)-1);
		if (rc < 0) {
			tls_xprt_handshake(&s->t, swhy, 320); /* reads the alert */
			return rc;
		}
		rs = tls_xprt_handshake(&s->t, swhy, 320);
		rx_sync(s);
		deliver(s, c, (size_t)-1);
		if (rs < 0) {
			tls_xprt_handshake(&c->t, cwhy, 320);
			return rs;
		}
		if (rc == 1 && rs == 1 && !c->out.len && !s->out.len)
			return 0;
	}
	return -ETIMEDOUT;
}

/* A client of name offering alpn, and a server of ctx, started. */
static bool pair_start(struct end *c, struct end *s, void *ctx, const char *name, const char *alpn)
{
	memset(c, 0, sizeof(*c));
	memset(s, 0, sizeof(*s));
	return ASSERT_EQ(tls_xprt_client(&c->t, cli_ctx, name, alpn, end_out, c), 0, "client start") &&
	       ASSERT_EQ(tls_xprt_server(&s->t, ctx, end_out, s), 0, "server start");
}

static bool pair_up(struct end *c, struct end *s, const char *name, const char *alpn)
{
	char cwhy[320], swhy[320];

	return pair_start(c, s, srv_ctx, name, alpn) &&
	       ASSERT_TRUE(handshake(c, s, cwhy, swhy) == 0, "client: %s; server: %s", cwhy, swhy);
}

/* Reads what `to` can give into buf (at most len, chunk bytes a call). Returns how many
 * bytes, or the first result other than a count or -EAGAIN. */
static long read_all(struct end *to, uint8_t *buf, size_t len, size_t chunk)
{
	char why[320];
	size_t got = 0;

	for (;;) {
		long r = tls_xprt_read(&to->t, buf + got, len - got < chunk ? len - got : chunk, why, sizeof(why));

		rx_sync(to);
		if (r > 0) {
			got += (size_t)r;
			if (got == len)
				return (long)got;
			continue;
		}
		if (r == -EAGAIN)
			return (long)got;
		return r;
	}
}

static bool test_h2_both_ways(void)
{
	struct end c, s;
	static uint8_t big[200000], back[200000];
	uint8_t buf[64];
	char why[320];
	bool ok;

	if (!pair_up(&c, &s, "server.test", "h2"))
		return false;
	ASSERT_STREQ(c.t.alpn, "h2", "ALPN the client sees");
	ASSERT_STREQ(s.t.alpn, "h2", "ALPN the server chose");
	ASSERT_STREQ(tls_xprt_version(&c.t), "TLSv1.3", "version");
	ASSERT_TRUE(!tls_xprt_has_input(&c.t) && !tls_xprt_has_input(&s.t), "nothing held after the handshake");

	ASSERT_EQ(tls_xprt_write(&c.t, "ping", 4), 0, "client write");
	deliver(&c, &s, (size_t)-1);
	ASSERT_EQ(read_all(&s, buf, sizeof(buf), sizeof(buf)), 4, "server reads");
	ASSERT_TRUE(!memcmp(buf, "ping", 4), "the bytes sent");

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + i / 251);
	ASSERT_EQ(tls_xprt_write(&s.t, big, sizeof(big)), 0, "server writes 200000 bytes");
	ASSERT_TRUE(s.out.len > sizeof(big), "all of it encrypted into out(): %zu bytes", s.out.len);
	deliver(&s, &c, (size_t)-1);
	/* a reader with little room (an HTTP/1.1 flow's): OpenSSL takes a record or so ahead,
	 * the rest stays in the caller's buffer */
	ASSERT_EQ(tls_xprt_read(&c.t, back, 100, why, sizeof(why)), 100, "a 100-byte read");
	rx_sync(&c);
	ASSERT_TRUE(tls_xprt_input_left(&c.t) > 100000, "ciphertext left in place: %zu", tls_xprt_input_left(&c.t));
	ASSERT_TRUE(tls_xprt_has_input(&c.t), "has input");
	ASSERT_EQ(read_all(&c, back + 100, sizeof(back) - 100, 5000), sizeof(back) - 100, "the rest");
	ok = ASSERT_TRUE(!memcmp(big, back, sizeof(big)), "the bytes sent, in order");
	ASSERT_EQ(tls_xprt_input_left(&c.t), 0, "all read");
	ASSERT_TRUE(!tls_xprt_has_input(&c.t), "nothing held");
	end_free(&c);
	end_free(&s);
	return ok;
}

static bool test_alpn_http11(void)
{
	struct end c, s;

	if (!pair_up(&c, &s, "server.test", "http/1.1"))
		return false;
	ASSERT_STREQ(c.t.alpn, "http/1.1", "ALPN the client sees");
	ASSERT_STREQ(s.t.alpn, "http/1.1", "ALPN the server chose");
	end_free(&c);
	end_free(&s);
	return true;
}

/* OpenSSL's memory is counted for the budget (tls_mem_held): a connection's two ends
 * count what they hold once up, and freeing them takes it back. The first connection
 * leaves what OpenSSL sets up once (its random generators, the server's session cache
 * entry): the second must leave nothing. */
static bool test_mem_counted(void)
{
	struct end c, s;
	long long base = tls_mem_now(), up;

	ASSERT_TRUE(base > 0, "the contexts are counted (%lld bytes)", base);
	for (int i = 0; i < 2; i++) {
		base = tls_mem_now();
		if (!pair_up(&c, &s, "server.test", "h2"))
			return false;
		up = tls_mem_now() - base;
		printf("test_tls: TLS 1.3 connection %d up (client and server ends): %lld bytes counted\n", i + 1, up);
		ASSERT_TRUE(up > 16384, "a connection's ends are counted (%lld bytes)", up);
		end_free(&c);
		end_free(&s);
	}
	ASSERT_TRUE(tls_mem_now() - base < 1024, "freeing them takes it back (%lld bytes left)", tls_mem_now() - base);
	return true;
}

/* A protocol the server does not speak: both fail, the client says why. */
static bool test_alpn_unknown(void)
{
	struct end c, s;
	char cwhy[320], swhy[320];

	if (!pair_start(&c, &s, srv_ctx, "server.test", "h3"))
		return false;
	ASSERT_EQ(handshake(&c, &s, cwhy, swhy), -EPROTO, "handshake");
	ASSERT_HAS(cwhy, "no application protocol", "client's reason");
	ASSERT_TRUE(!c.t.hs_done && !s.t.hs_done, "neither is done");
	end_free(&c);
	end_free(&s);
	return true;
}

/* One record fed a byte at a time: nothing until its last byte, then all of it. */
static bool test_split_record(void)
{
	static const char msg[] = "a record that arrives one byte at a time";
	struct end c, s;
	uint8_t buf[128];
	size_t n;
	long r = 0;

	if (!pair_up(&c, &s, "server.test", "h2"))
		return false;
	ASSERT_EQ(tls_xprt_write(&c.t, msg, sizeof(msg)), 0, "client write");
	n = c.out.len;
	for (size_t i = 0; i < n; i++) {
		deliver(&c, &s, 1);
		r = read_all(&s, buf, sizeof(buf), sizeof(buf));
		if (i + 1 < n && !(ASSERT_EQ(r, 0, "nothing before the last byte") &&
				   ASSERT_TRUE(tls_xprt_has_input(&s.t), "a partial record is held (byte %zu)", i)))
			break;
	}
	ASSERT_EQ(r, sizeof(msg), "the whole record at its last byte");
	ASSERT_TRUE(!memcmp(buf, msg, sizeof(msg)), "the bytes sent");
	ASSERT_TRUE(!tls_xprt_has_input(&s.t), "nothing held after");
	end_free(&c);
	end_free(&s);
	return true;
}

/* TLS records in w[from..len): each is a 5-byte header and its length. */
static unsigned records(const struct wire *w, size_t from)
{
	unsigned n = 0;

	while (from + 5 <= w->len) {
		from += 5 + ((size_t)w->p[from + 3] << 8 | w->p[from + 4]);
		n++;
	}
	return n;
}

/* Small writes gathered (tls_xprt_gather) go out as one record when sealed, in order
 * with what is written after them, which is sealed apart; a full stage is sealed as it
 * fills; a shutdown seals what waits before its close_notify. */
static bool test_gather(void)
{
	static uint8_t big[TLS_STAGE + 1000], small[1000];
	enum { FIT = TLS_STAGE / sizeof(small) }; /* smalls a stage holds */
	uint8_t buf[sizeof(big) + (FIT + 1) * sizeof(small) + 64];
	size_t n0, want = 0;
	struct end c, s;
	char why[320];
	long r;

	if (!pair_up(&c, &s, "server.test", "h2"))
		return false;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 1);
	memset(small, 's', sizeof(small));
	n0 = c.out.len;
	ASSERT_EQ(tls_xprt_gather(&c.t, "HEADERS", 7), 0, "gather 7 bytes");
	ASSERT_EQ(tls_xprt_gather(&c.t, "123456789", 9), 0, "gather 9 more");
	ASSERT_EQ(c.out.len, n0, "nothing sealed yet");
	ASSERT_EQ(tls_xprt_write(&c.t, big, sizeof(big)), 0, "a larger write after them");
	ASSERT_EQ(records(&c.out, n0), 2, "the gathered bytes in one record, the larger write in another");
	n0 = c.out.len;
	for (int i = 0; i < FIT; i++) /* a stage (TLS_STAGE) holds them */
		ASSERT_EQ(tls_xprt_gather(&c.t, small, sizeof(small)), 0, "gather 1000 bytes");
	ASSERT_EQ(c.out.len, n0, "a stage's worth waits");
	ASSERT_EQ(tls_xprt_gather(&c.t, small, sizeof(small)), 0, "one more");
	ASSERT_EQ(records(&c.out, n0), 1, "the full stage sealed as one record before the next");
	ASSERT_EQ(tls_xprt_seal(&c.t), 0, "seal");
	ASSERT_EQ(records(&c.out, n0), 2, "and the rest in one more");
	ASSERT_EQ(tls_xprt_seal(&c.t), 0, "sealing nothing");
	ASSERT_EQ(records(&c.out, n0), 2, "adds no record");
	ASSERT_EQ(tls_xprt_gather(&c.t, "end", 3), 0, "gather before a shutdown");
	ASSERT_EQ(tls_xprt_shutdown(&c.t), 0, "shutdown");
	deliver(&c, &s, (size_t)-1);
	want = 16 + sizeof(big) + (FIT + 1) * sizeof(small) + 3;
	r = read_all(&s, buf, want, sizeof(buf)); /* (to its count: at the end it gives the end) */
	ASSERT_EQ(r, (long)want, "every byte arrived");
	ASSERT_TRUE(r == (long)want && !memcmp(buf, "HEADERS123456789", 16) && !memcmp(buf + 16, big, sizeof(big)) &&
			    buf[16 + sizeof(big)] == 's' && !memcmp(buf + want - 3, "end", 3),
		    "in the order written");
	ASSERT_EQ(tls_xprt_read(&s.t, buf, sizeof(buf), why, sizeof(why)), 0, "then the end");
	ASSERT_TRUE(tls_xprt_peer_closed(&s.t), "the close_notify after them");
	end_free(&c);
	end_free(&s);
	return true;
}

/* close_notify: sent once, read as the end; the other direction goes on (half-close). */
static bool test_close_notify(void)
{
	struct end c, s;
	uint8_t buf[32];
	char why[320];
	size_t n;

	if (!pair_up(&c, &s, "server.test", "http/1.1"))
		return false;
	ASSERT_EQ(tls_xprt_write(&c.t, "last", 4), 0, "client write");
	ASSERT_EQ(tls_xprt_shutdown(&c.t), 0, "client shutdown");
	n = c.out.len;
	ASSERT_EQ(tls_xprt_shutdown(&c.t), 0, "a second shutdown");
	ASSERT_EQ(c.out.len, n, "sends nothing more");
	ASSERT_EQ(tls_xprt_write(&c.t, "more", 4), -EIO, "a write after the shutdown");
	deliver(&c, &s, (size_t)-1);
	ASSERT_TRUE(!tls_xprt_peer_closed(&s.t), "not closed before it is read");
	ASSERT_EQ(tls_xprt_read(&s.t, buf, sizeof(buf), why, sizeof(why)), 4, "the data before it");
	ASSERT_EQ(tls_xprt_read(&s.t, buf, sizeof(buf), why, sizeof(why)), 0, "then the end");
	ASSERT_TRUE(tls_xprt_peer_closed(&s.t), "the server saw close_notify");
	ASSERT_TRUE(!tls_xprt_peer_closed(&c.t), "the client did not");

	ASSERT_EQ(tls_xprt_write(&s.t, "reply", 5), 0, "the server still writes");
	ASSERT_EQ(tls_xprt_shutdown(&s.t), 0, "server shutdown");
	deliver(&s, &c, (size_t)-1);
	ASSERT_EQ(tls_xprt_read(&c.t, buf, sizeof(buf), why, sizeof(why)), 5, "the client still reads");
	ASSERT_TRUE(!memcmp(buf, "reply", 5), "the reply");
	ASSERT_EQ(tls_xprt_read(&c.t, buf, sizeof(buf), why, sizeof(why)), 0, "then the end");
	ASSERT_TRUE(tls_xprt_peer_closed(&c.t), "the client saw close_notify");
	end_free(&c);
	end_free(&s);
	return true;
}

/* The certificate does not carry the name asked for. */
static bool test_name_mismatch(void)
{
	struct end c, s;
	char cwhy[320], swhy[320];

	if (!pair_start(&c, &s, srv_ctx, "other.test", "h2"))
		return false;
	ASSERT_EQ(handshake(&c, &s, cwhy, swhy), -EPROTO, "handshake");
	ASSERT_HAS(cwhy, "certificate verify failed: hostname mismatch", "client's reason");
	ASSERT_TRUE(swhy[0] != 0, "the server has a reason too (the alert): \"%s\"", swhy);
	ASSERT_TRUE(!c.t.hs_done, "client not done");
	end_free(&c);
	end_free(&s);
	return true;
}

/* An IP literal is checked as an IP subjectAltName. */
static bool test_ip_name(void)
{
	struct end c, s;
	char cwhy[320], swhy[320];

	if (!pair_start(&c, &s, srv_ip_ctx, "127.0.0.1", "h2"))
		return false;
	ASSERT_TRUE(handshake(&c, &s, cwhy, swhy) == 0, "client: %s; server: %s", cwhy, swhy);
	end_free(&c);
	end_free(&s);
	if (!pair_start(&c, &s, srv_ctx, "127.0.0.1", "h2"))
		return false;
	ASSERT_EQ(handshake(&c, &s, cwhy, swhy), -EPROTO, "server.test's certificate for 127.0.0.1");
	ASSERT_HAS(cwhy, "IP address mismatch", "client's reason");
	end_free(&c);
	end_free(&s);
	return true;
}

/* A record that does not decrypt is an error with a reason, not "need more". */
static bool test_bad_record(void)
{
	struct end c, s;
	uint8_t rec[5 + 64] = { 0x17, 0x03, 0x03, 0x00, 64 }, buf[64];
	char why[320] = "";

	if (!pair_up(&c, &s, "server.test", "h2"))
		return false;
	memset(rec + 5, 0x41, 64);
	wire_put(&c.out, rec, sizeof(rec));
	deliver(&c, &s, (size_t)-1);
	ASSERT_EQ(tls_xprt_read(&s.t, buf, sizeof(buf), why, sizeof(why)), -EPROTO, "read");
	ASSERT_HAS(why, "bad record mac", "reason");
	ASSERT_TRUE(s.out.len > 0, "an alert for the peer");
	end_free(&c);
	end_free(&s);
	return true;
}

/* out() failing is reported as such, not as a TLS error. */
static bool test_out_fails(void)
{
	struct end c, s;

	if (!pair_up(&c, &s, "server.test", "h2"))
		return false;
	c.fail_out = true;
	ASSERT_EQ(tls_xprt_write(&c.t, "x", 1), -ENOMEM, "write");
	end_free(&c);
	end_free(&s);
	memset(&c, 0, sizeof(c));
	c.fail_out = true;
	ASSERT_EQ(tls_xprt_client(&c.t, cli_ctx, "server.test", "h2", end_out, &c), 0, "client start");
	{
		char why[320];

		ASSERT_EQ(tls_xprt_handshake(&c.t, why, sizeof(why)), -ENOMEM, "ClientHello");
		ASSERT_HAS(why, "out of memory", "reason");
	}
	ASSERT_EQ(tls_xprt_write(&c.t, "x", 1), -ENOTCONN, "a write before the handshake");
	ASSERT_EQ(tls_xprt_shutdown(&c.t), -ENOTCONN, "a shutdown before the handshake");
	end_free(&c);
	ASSERT_EQ(tls_xprt_client(&c.t, cli_ctx, "server.test", "", end_out, &c), -EINVAL, "no ALPN");
	return true;
}

static const char *hosts[] = { "server.test", "client.test", "127.0.0.1" };

static void cleanup(void)
{
	char path[128];

	tls_ctx_free(srv_ctx);
	tls_ctx_free(srv_ip_ctx);
	tls_ctx_free(cli_ctx);
	for (size_t i = 0; i < 3; i++)
		tls_ctx_free(unused[i]);
	if (!dir[0])
		return;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s.crt", dir, hosts[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.key", dir, hosts[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	unlink(path);
	rmdir(dir);
}

/* The contexts of host (its certificate, the CA) with tls.ciphersuites suites (NULL:
 * left unset, the default): server or client. */
static int ctx_suites(const char *host, const char *suites, void **server, void **client)
{
	static struct cfg_tls t;
	char err[512];

	memset(&t, 0, sizeof(t));
	if (suites)
		snprintf(t.ciphersuites, sizeof(t.ciphersuites), "%s", suites);
	snprintf(t.cert, sizeof(t.cert), "%s/%s.crt", dir, host);
	snprintf(t.key, sizeof(t.key), "%s/%s.key", dir, host);
	snprintf(t.ca, sizeof(t.ca), "%s/ca.crt", dir);
	if (tls_ctx_new(&t, server, client, err, sizeof(err))) {
		fprintf(stderr, "test_tls: %s\n", err);
		return -1;
	}
	return 0;
}

static int ctx_of(const char *host, void **server, void **client)
{
	return ctx_suites(host, NULL, server, client);
}

/* The suite a handshake of a client of cctx with a server of sctx agrees on ("" if it
 * fails). */
static const char *suite_between(void *cctx, void *sctx, char *buf, size_t len)
{
	struct end c = { 0 }, s = { 0 };
	char cwhy[320], swhy[320];

	buf[0] = 0;
	if (ASSERT_EQ(tls_xprt_client(&c.t, cctx, "server.test", "h2", end_out, &c), 0, "client start") &&
	    ASSERT_EQ(tls_xprt_server(&s.t, sctx, end_out, &s), 0, "server start") &&
	    ASSERT_TRUE(handshake(&c, &s, cwhy, swhy) == 0, "client: %s; server: %s", cwhy, swhy)) {
		snprintf(buf, len, "%s", SSL_CIPHER_standard_name(SSL_get_current_cipher(c.t.ssl)));
		ASSERT_STREQ(SSL_CIPHER_standard_name(SSL_get_current_cipher(s.t.ssl)), buf, "both ends agree");
	}
	end_free(&c);
	end_free(&s);
	return buf;
}

/* The plain server's ALPN: h2, as an HTTP/2 origin's. */
static int plain_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		      unsigned int inlen, void *arg)
{
	static const unsigned char h2[] = { 2, 'h', '2' };

	(void)ssl;
	(void)arg;
	return SSL_select_next_proto((unsigned char **)out, outlen, h2, sizeof(h2), in, inlen) == OPENSSL_NPN_NEGOTIATED ?
	       SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* The default suites: AES-128-GCM, also with a client that prefers AES-256-GCM (as
 * OpenSSL's default order does), because the server picks by its own order; a client
 * of ours offers AES-128-GCM first to a server that follows the client's order (a plain
 * OpenSSL 3 server). A configured tls.ciphersuites is honoured on both ends. */
static bool test_suites(void)
{
	void *srv_256, *cli_256, *srv_chacha, *cli_chacha, *x[4];
	SSL_CTX *plain = SSL_CTX_new(TLS_server_method());
	char cert[PATH_MAX + 32], key[PATH_MAX + 32], got[64];

	snprintf(cert, sizeof(cert), "%s/server.test.crt", dir);
	snprintf(key, sizeof(key), "%s/server.test.key", dir);
	if (!ASSERT_TRUE(plain && SSL_CTX_use_certificate_chain_file(plain, cert) == 1 &&
			 SSL_CTX_use_PrivateKey_file(plain, key, SSL_FILETYPE_PEM) == 1, "plain OpenSSL server context") ||
	    !ASSERT_EQ(ctx_suites("server.test", "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", &srv_256, &x[0]), 0,
		       "server preferring AES-256") ||
	    !ASSERT_EQ(ctx_suites("client.test", "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", &x[1], &cli_256), 0,
		       "client preferring AES-256") ||
	    !ASSERT_EQ(ctx_suites("server.test", "TLS_CHACHA20_POLY1305_SHA256", &srv_chacha, &x[2]), 0,
		       "server with ChaCha20 only") ||
	    !ASSERT_EQ(ctx_suites("client.test", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384", &x[3],
				  &cli_chacha), 0, "client preferring ChaCha20"))
		return false;
	SSL_CTX_set_alpn_select_cb(plain, plain_alpn, NULL);
	ASSERT_STREQ(suite_between(cli_ctx, srv_ctx, got, sizeof(got)), "TLS_AES_128_GCM_SHA256", "default both ends");
	ASSERT_STREQ(suite_between(cli_256, srv_ctx, got, sizeof(got)), "TLS_AES_128_GCM_SHA256",
		      "a client preferring AES-256 gets our order");
	ASSERT_STREQ(suite_between(cli_ctx, plain, got, sizeof(got)), "TLS_AES_128_GCM_SHA256",
		      "our client's order, at a server that follows the client's");
	ASSERT_STREQ(suite_between(cli_ctx, srv_256, got, sizeof(got)), "TLS_AES_256_GCM_SHA384",
		      "a configured server order");
	ASSERT_STREQ(suite_between(cli_ctx, srv_chacha, got, sizeof(got)), "TLS_CHACHA20_POLY1305_SHA256",
		      "a configured server list");
	ASSERT_STREQ(suite_between(cli_chacha, plain, got, sizeof(got)), "TLS_CHACHA20_POLY1305_SHA256",
		      "a configured client order");
	SSL_CTX_free(plain);
	tls_ctx_free(srv_256);
	tls_ctx_free(cli_256);
	tls_ctx_free(srv_chacha);
	tls_ctx_free(cli_chacha);
	for (int i = 0; i < 4; i++)
		tls_ctx_free(x[i]);
	return true;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct certs_opts o = { .hosts = hosts, .nhosts = 3, .days = 1 };
	FILE *devnull = fopen("/dev/null", "w");
	char err[512];
	/* first, as hermesd does: OpenSSL has not allocated yet */
	int mem_rc = tls_mem_count_init();


	snprintf(dir, sizeof(dir), "%s/hermes-test-tls-XXXXXX", tmp && tmp[0] && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!devnull || !mkdtemp(dir)) {
		fprintf(stderr, "test_tls: cannot make a temporary directory %s: %s\n", dir, strerror(errno));
		return 1;
	}
	o.dir = dir;
	if (certs_init(&o, devnull, err, sizeof(err))) {
		fprintf(stderr, "test_tls: certificates in %s: %s\n", dir, err);
		cleanup();
		return 1;
	}
	fclose(devnull);
	if (ctx_of("server.test", &srv_ctx, &unused[0]) || ctx_of("127.0.0.1", &srv_ip_ctx, &unused[1]) ||
	    ctx_of("client.test", &unused[2], &cli_ctx)) {
		cleanup();
		return 1;
	}
	ASSERT_EQ(mem_rc, 0, "OpenSSL's allocator counted from the start");
	RUN(test_mem_counted);
	RUN(test_h2_both_ways);
	RUN(test_alpn_http11);
	RUN(test_alpn_unknown);
	RUN(test_split_record);
	RUN(test_close_notify);
	RUN(test_gather);
	RUN(test_name_mismatch);
	RUN(test_ip_name);
	RUN(test_bad_record);
	RUN(test_out_fails);
	RUN(test_suites);
	cleanup();
	return check_summary("test_tls");
}
