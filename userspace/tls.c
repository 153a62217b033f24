/* tls.c: the TLS contexts of the tunnels, and hermesd's one TLS transport. Both
 * directions are TLS 1.3 and mutual: the tunnel listener asks every client for a
 * certificate signed by the configured CA (and authorizes on its subjectAltNames, see
 * tunnel_access `san`), the tunnel client checks the peer's certificate against the same
 * CA (and its name when the route gives one). ALPN: h2 for HTTP/2 CONNECT, http/1.1 (or
 * no ALPN) for HTTP/1.1 CONNECT over TLS. The same client context serves the http
 * action's TLS origins (h2, and HTTP/1.1 with upstream_tls).
 *
 * tls_xprt is OpenSSL on a BIO of ours whose socket side belongs to the caller: OpenSSL
 * reads ciphertext straight from the caller's receive buffer and writes it straight into
 * the caller's output (two memory BIOs would copy every byte once more each way). The
 * http action's upstream connections run on it (hup.c for HTTP/1.1, h2up.c for HTTP/2),
 * and so do the tunnel sessions (sess.c): the server side, readers that stop early and
 * leave ciphertext in their buffer (sess_h1.c), half-close by close_notify, and a TCP
 * end told apart from close_notify. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "tls.h"

/* OpenSSL's allocator, counted: the size of a block to free is malloc's own
 * (malloc_usable_size), so no header is added to any block. */
static void mem_add(void *p, long long sign)
{
	__atomic_add_fetch(&tls_mem_held, sign * (long long)malloc_usable_size(p), __ATOMIC_RELAXED);
}

static void *mem_malloc(size_t n, const char *file, int line)
{
	void *p = malloc(n);

	(void)file;
	(void)line;
	if (p)
		mem_add(p, 1);
	return p;
}

static void *mem_realloc(void *p, size_t n, const char *file, int line)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *np;

	(void)file;
	(void)line;
	if (!n) { /* CRYPTO_realloc's own meaning: free, NULL */
		if (p)
			mem_add(p, -1);
		free(p);
		return NULL;
	}
	np = realloc(p, n);
	if (np) {
		__atomic_add_fetch(&tls_mem_held, -(long long)old, __ATOMIC_RELAXED);
		mem_add(np, 1);
	}
	return np;
}

static void mem_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p)
		mem_add(p, -1);
	free(p);
}

int tls_mem_count_init(void)
{
	return CRYPTO_set_mem_functions(mem_malloc, mem_realloc, mem_free) ? 0 : -EBUSY;
}

static const unsigned char alpn_h2[] = { 2, 'h', '2' };

static void queue_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (!e) {
		snprintf(buf, len, "no detail from OpenSSL");
		return;
	}
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

/* h2 when the client offers it, else HTTP/1.1 CONNECT over TLS. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = { 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, ours, sizeof(ours), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *ctx_new(const struct cfg_tls *t, bool server, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	char why[256];

	if (!ctx) {
		queue_reason(why, sizeof(why));
		snprintf(err, errlen, "SSL_CTX_new: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* tls.ciphersuites (checked at load; "" from a caller that left it zeroed: the
	 * default). The server picks by its own order, so a client that prefers AES-256-GCM
	 * (OpenSSL's default order) still gets the cheaper AES-128-GCM from us. */
	if (SSL_CTX_set_ciphersuites(ctx, t->ciphersuites[0] ? t->ciphersuites : CFG_TLS_DEFAULT_CIPHERSUITES) != 1) {
		queue_reason(why, sizeof(why));
		snprintf(err, errlen, "tls.ciphersuites %s: %s", t->ciphersuites, why);
		goto fail;
	}
	if (server)
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* records are sized by us (16 KiB DATA frames); no renegotiation-era options */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* SSL_MODE_RELEASE_BUFFERS only on HTTP/1.1 connections (tls_xprt_handshake): an
	 * HTTP/2 session carries many flows and its buffers are seldom empty */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
		queue_reason(why, sizeof(why));
		snprintf(err, errlen, "tls.cert %s: cannot use it: %s", t->cert, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1) {
		queue_reason(why, sizeof(why));
		snprintf(err, errlen, "tls.key %s: cannot use it: %s", t->key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls.key %s does not belong to tls.cert %s", t->key, t->cert);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1) {
		queue_reason(why, sizeof(why));
		snprintf(err, errlen, "tls.ca %s: cannot load it: %s", t->ca, why);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	if (server) {
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets(ctx, 0);
	} else if (SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof(alpn_h2))) {
		snprintf(err, errlen, "cannot set ALPN");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_ctx_new(const struct cfg_tls *t, void **server, void **client, char *err, size_t errlen)
{
	*server = ctx_new(t, true, err, errlen);
	if (!*server)
		return -EINVAL;
	*client = ctx_new(t, false, err, errlen);
	if (!*client) {
		SSL_CTX_free(*server);
		*server = NULL;
		return -EINVAL;
	}
	return 0;
}

void tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

unsigned tls_peer_sans(void *ssl, char (*sans)[128], unsigned max)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	GENERAL_NAMES *names;
	unsigned n = 0;

	if (!cert)
		return 0;
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (!names)
		return 0;
	for (int i = 0; i < sk_GENERAL_NAME_num(names) && n < max; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const ASN1_IA5STRING *s;
		int len;

		if (g->type == GEN_DNS)
			s = g->d.dNSName;
		else if (g->type == GEN_URI)
			s = g->d.uniformResourceIdentifier;
		else
			continue;
		len = ASN1_STRING_length(s);
		/* names with NUL or longer than we keep are not names we match on */
		if (len <= 0 || len >= 128 || memchr(ASN1_STRING_get0_data(s), 0, (size_t)len))
			continue;
		memcpy(sans[n], ASN1_STRING_get0_data(s), (size_t)len);
		sans[n][len] = 0;
		n++;
	}
	GENERAL_NAMES_free(names);
	return n;
}

void tls_fail_reason(void *ssl, char *buf, size_t len)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	char q[256];

	queue_reason(q, sizeof(q));
	if (v != X509_V_OK)
		snprintf(buf, len, "certificate verify failed: %s (%s)", X509_verify_cert_error_string(v), q);
	else
		snprintf(buf, len, "%s", q);
}

/* ---- the transport: OpenSSL on a zero-copy BIO ---- */

/* OpenSSL's network side: what it writes goes to the owner's output, what it reads comes
 * from the owner's receive buffer. */
static int bio_write(BIO *b, const char *buf, int len)
{
	struct tls_xprt *t = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (t->out(t->out_ud, buf, (size_t)len)) {
		t->out_err = -ENOMEM;
		return -1;
	}
	return len;
}

static int bio_read(BIO *b, char *buf, int len)
{
	struct tls_xprt *t = BIO_get_data(b);
	size_t n = t->in_len - t->in_off;

	BIO_clear_retry_flags(b);
	if (!n) {
		/* nothing more yet: "try again", never EOF (the owner judges a TCP end) */
		BIO_set_retry_read(b);
		return -1;
	}
	if (n > (size_t)len)
		n = (size_t)len;
	memcpy(buf, t->in + t->in_off, n);
	t->in_off += n;
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* hermesd is one thread: the method is made once, on first use, and kept. */
static BIO_METHOD *bio_method(void)
{
	static BIO_METHOD *m;

	if (!m && (m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hermes-xprt"))) {
		BIO_meth_set_write(m, bio_write);
		BIO_meth_set_read(m, bio_read);
		BIO_meth_set_ctrl(m, bio_ctrl);
		BIO_meth_set_create(m, bio_create);
	}
	return m;
}

static int xprt_new(struct tls_xprt *t, void *ctx, tls_out_fn *out, void *ud)
{
	BIO_METHOD *m = bio_method();
	SSL *ssl = SSL_new(ctx);
	BIO *bio;

	memset(t, 0, sizeof(*t));
	if (!ssl || !m || !(bio = BIO_new(m))) {
		SSL_free(ssl);
		ERR_clear_error();
		return -ENOMEM;
	}
	BIO_set_data(bio, t);
	SSL_set_bio(ssl, bio, bio); /* one reference, both ways */
	t->ssl = ssl;
	t->out = out;
	t->out_ud = ud;
	return 0;
}

int tls_xprt_client(struct tls_xprt *t, void *ctx, const char *name, const char *alpn, tls_out_fn *out,
		    void *ud)
{
	unsigned char wire[16];
	unsigned char ip[16];
	size_t al = strlen(alpn);
	SSL *ssl;

	memset(t, 0, sizeof(*t)); /* freeing it is safe whatever happens */
	if (al == 0 || al >= sizeof(t->alpn))
		return -EINVAL;
	if (xprt_new(t, ctx, out, ud))
		return -ENOMEM;
	ssl = t->ssl;
	SSL_set_connect_state(ssl);
	wire[0] = (unsigned char)al;
	memcpy(wire + 1, alpn, al);
	memcpy(t->alpn, alpn, al + 1);
	if (SSL_set_alpn_protos(ssl, wire, (unsigned)al + 1))
		goto fail;
	if (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1)
			goto fail;
	} else if (name[0] && (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1)) {
		goto fail;
	}
	return 0;
fail:
	tls_xprt_free(t);
	ERR_clear_error();
	return -ENOMEM;
}

int tls_xprt_server(struct tls_xprt *t, void *ctx, tls_out_fn *out, void *ud)
{
	if (xprt_new(t, ctx, out, ud))
		return -ENOMEM;
	SSL_set_accept_state(t->ssl);
	return 0;
}

void tls_xprt_free(struct tls_xprt *t)
{
	SSL_free(t->ssl); /* and its BIO */
	if (t->stage)
		buf_free(t->stage, TLS_STAGE);
	t->stage = NULL;
	t->stage_len = 0;
	t->ssl = NULL;
	t->in = NULL;
	t->in_off = t->in_len = 0;
}

void tls_xprt_input(struct tls_xprt *t, const void *p, size_t n)
{
	t->in = p;
	t->in_off = 0;
	t->in_len = n;
}

size_t tls_xprt_input_left(const struct tls_xprt *t)
{
	return t->in_len - t->in_off;
}

/* Why the last call failed: our output's failure, else OpenSSL's. */
static int xprt_fail(struct tls_xprt *t, char *why, size_t len)
{
	if (t->out_err) {
		snprintf(why, len, "out of memory for the ciphertext to send");
		ERR_clear_error();
		return t->out_err;
	}
	tls_fail_reason(t->ssl, why, len);
	return -EPROTO;
}

int tls_xprt_handshake(struct tls_xprt *t, char *why, size_t len)
{
	const unsigned char *alpn = NULL;
	unsigned alpn_len = 0;
	int r, e;

	if (t->hs_done)
		return 1;
	r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		SSL_get0_alpn_selected(t->ssl, &alpn, &alpn_len);
		/* a server without ALPN speaks HTTP/1.1 (RFC 7301 3.2): only h2 must be chosen */
		if (!SSL_is_server(t->ssl) &&
		    (alpn_len ? alpn_len != strlen(t->alpn) || memcmp(alpn, t->alpn, alpn_len)
			      : strcmp(t->alpn, "http/1.1") != 0)) {
			snprintf(why, len, "it did not select ALPN %s (%.*s)", t->alpn, alpn_len ? (int)alpn_len : 4,
				 alpn_len ? (const char *)alpn : "none");
			return -EPROTO;
		}
		/* a server's choice is among its own (h2, http/1.1): it fits */
		if (alpn_len >= sizeof(t->alpn))
			alpn_len = 0;
		if (alpn_len)
			memcpy(t->alpn, alpn, alpn_len);
		t->alpn[alpn_len] = 0;
		/* HTTP/1.1 carries one flow a connection, idle as often as not: its record
		 * buffers (~34 KiB) go back whenever they are empty, at a malloc/free pair per
		 * read or write batch */
		if (strcmp(t->alpn, "h2") != 0)
			SSL_set_mode(t->ssl, SSL_MODE_RELEASE_BUFFERS);
		t->hs_done = true;
		return 1;
	}
	e = SSL_get_error(t->ssl, r);
	if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && !t->out_err) {
		ERR_clear_error();
		return 0;
	}
	r = xprt_fail(t, why, len);
	return r == -ENOMEM ? r : -EPROTO;
}

long tls_xprt_read(struct tls_xprt *t, void *buf, size_t len, char *why, size_t whylen)
{
	int r = SSL_read(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len), e;

	if (r > 0)
		return r;
	e = SSL_get_error(t->ssl, r);
	if (t->out_err)
		return xprt_fail(t, why, whylen);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return -EAGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	return xprt_fail(t, why, whylen);
}

/* SSL_write of it all: our BIO takes every record at once, so a partial write only
 * splits records (64 KiB a call, as records are 16 KiB at most). */
static int xprt_write(struct tls_xprt *t, const void *p, size_t n)
{
	while (n) {
		int w = SSL_write(t->ssl, p, n > 65536 ? 65536 : (int)n);

		if (w <= 0) {
			ERR_clear_error();
			return t->out_err ? t->out_err : -EIO;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

int tls_xprt_seal(struct tls_xprt *t)
{
	uint32_t n = t->stage_len;

	t->stage_len = 0;
	return n ? xprt_write(t, t->stage, n) : 0;
}

int tls_xprt_gather(struct tls_xprt *t, const void *p, size_t n)
{
	int err;

	if (!t->hs_done)
		return -ENOTCONN;
	if (n > TLS_STAGE_SMALL)
		return tls_xprt_write(t, p, n);
	if (!t->stage && !(t->stage = buf_malloc(TLS_STAGE))) /* counted in buf_held */
		return -ENOMEM;
	if (t->stage_len + n > TLS_STAGE && (err = tls_xprt_seal(t)))
		return err;
	memcpy(t->stage + t->stage_len, p, n);
	t->stage_len += (uint32_t)n;
	return 0;
}

int tls_xprt_write(struct tls_xprt *t, const void *p, size_t n)
{
	int err;

	if (!t->hs_done)
		return -ENOTCONN;
	if (t->stage_len && (err = tls_xprt_seal(t)))
		return err;
	return xprt_write(t, p, n);
}

int tls_xprt_shutdown(struct tls_xprt *t)
{
	if (!t->hs_done)
		return -ENOTCONN;
	(void)tls_xprt_seal(t); /* gathered bytes go before the close_notify */
	if (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)
		return 0;
	/* 0: sent, the peer's not read yet; 1: both; <0: the write failed */
	if (SSL_shutdown(t->ssl) < 0) {
		ERR_clear_error();
		return t->out_err ? t->out_err : -EIO;
	}
	return 0;
}

bool tls_xprt_peer_closed(const struct tls_xprt *t)
{
	return SSL_get_shutdown(t->ssl) & SSL_RECEIVED_SHUTDOWN;
}

bool tls_xprt_has_input(const struct tls_xprt *t)
{
	/* SSL_has_pending misses a record whose header was read and whose body was not (all
	 * that came was consumed, into the record layer's state): "RB", reading a body */
	return t->in_off < t->in_len || SSL_has_pending(t->ssl) || !strcmp(SSL_rstate_string(t->ssl), "RB");
}

const char *tls_xprt_version(const struct tls_xprt *t)
{
	return SSL_get_version(t->ssl);
}
