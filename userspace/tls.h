/* tls.h: OpenSSL 3 contexts for the tunnels (TLS 1.3 only, mutual authentication
 * against the configured CA, ALPN h2) and the certificate facts the tunnel listener
 * authorizes on. Prefix tls_. The sessions drive the handshakes on their own BIO
 * (sess.c): no kTLS on this kernel. */
#ifndef HERMES_TLS_H
#define HERMES_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config-t.h"

/* Builds the server and client SSL_CTX from t (cert, key, ca). Returns 0 or -EINVAL
 * with a message naming the file at fault in err. */
int tls_ctx_new(const struct cfg_tls *t, void **server, void **client, char *err, size_t errlen);
void tls_ctx_free(void *ctx);
/* The DNS and URI subjectAltNames of the verified peer certificate of ssl, into
 * sans[max][128]. Returns how many. */
unsigned tls_peer_sans(void *ssl, char (*sans)[128], unsigned max);
/* Why the handshake of ssl failed, as one line (verify result and OpenSSL's queue). */
void tls_fail_reason(void *ssl, char *buf, size_t len);

#endif
