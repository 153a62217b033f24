/* tls.c: the TLS contexts of the tunnels. Both directions are TLS 1.3 and mutual: the
 * tunnel listener asks every client for a certificate signed by the configured CA (and
 * authorizes on its subjectAltNames, see tunnel_access `san`), the tunnel client checks
 * the peer's certificate against the same CA (and its name when the route gives one).
 * ALPN: h2 for HTTP/2 CONNECT, http/1.1 (or no ALPN) for HTTP/1.1 CONNECT over TLS. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

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
	/* records are sized by us (16 KiB DATA frames); no renegotiation-era options */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* no SSL_MODE_RELEASE_BUFFERS: a malloc/free pair per record costs more than the
	 * ~34 KiB an idle connection keeps */
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
