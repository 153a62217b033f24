/* tls.h: OpenSSL 3 contexts for the tunnels (TLS 1.3 only, mutual authentication
 * against the configured CA, ALPN h2), the certificate facts the tunnel listener
 * authorizes on, and a TLS client on memory BIOs for the http action's upstream
 * connections. Prefix tls_. The tunnel sessions drive their handshakes on their own BIO
 * (sess.c): no kTLS on this kernel. */
#ifndef HERMES_TLS_H
#define HERMES_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config-t.h"

/* A TLS client whose socket I/O is done by someone else (hup.c, on io_uring): the
 * ciphertext received is put in, the ciphertext to send is taken out, and OpenSSL
 * never touches a socket. OpenSSL types stay out of the headers. */
struct tls_mem {
	void *ssl;    /* SSL *, owning both BIOs */
	void *rb, *wb; /* memory BIOs: ciphertext received / to send */
	bool hs_done;  /* handshake over (and the ALPN the one asked for) */
	char alpn[16]; /* the protocol asked for; after the handshake, the one chosen ("": none) */
};

/* Builds the server and client SSL_CTX from t (cert, key, ca). Returns 0 or -EINVAL
 * with a message naming the file at fault in err. */
int tls_ctx_new(const struct cfg_tls *t, void **server, void **client, char *err, size_t errlen);
void tls_ctx_free(void *ctx);
/* The DNS and URI subjectAltNames of the verified peer certificate of ssl, into
 * sans[max][128]. Returns how many. */
unsigned tls_peer_sans(void *ssl, char (*sans)[128], unsigned max);
/* Why the handshake of ssl failed, as one line (verify result and OpenSSL's queue). */
void tls_fail_reason(void *ssl, char *buf, size_t len);

/* Starts t as a client of ctx (a client context of tls_ctx_new) offering ALPN alpn
 * ("h2", "http/1.1"). name: "" checks the chain alone; an IP address literal must be
 * an IP subjectAltName of the peer (and no SNI is sent, RFC 6066 3); anything else is
 * the SNI and a DNS name the certificate must carry. 0 or -ENOMEM. */
int tls_mem_client(struct tls_mem *t, void *ctx, const char *name, const char *alpn);
void tls_mem_free(struct tls_mem *t);
/* Ciphertext received, n bytes. 0 or -ENOMEM. */
int tls_mem_put(struct tls_mem *t, const void *p, size_t n);
/* Up to len bytes of ciphertext to send, into buf. Returns how many. */
size_t tls_mem_take(struct tls_mem *t, void *buf, size_t len);
/* Ciphertext waiting to be taken. */
size_t tls_mem_pending(const struct tls_mem *t);
/* Handshake progress: 1 done, 0 in progress (more ciphertext needed), -EPROTO failed
 * (why: the verify result or OpenSSL's reason, or another ALPN than the one asked for;
 * no ALPN at all is accepted for http/1.1 only). */
int tls_mem_handshake(struct tls_mem *t, char *why, size_t len);
/* Plaintext received, into buf: the bytes read, 0 once the peer's close_notify came,
 * -EAGAIN when more ciphertext is needed, -EPROTO on an error (why filled). */
long tls_mem_read(struct tls_mem *t, void *buf, size_t len, char *why, size_t whylen);
/* Encrypts all of p[0..n) (after the handshake). 0 or -EIO. */
int tls_mem_write(struct tls_mem *t, const void *p, size_t n);
/* Does OpenSSL hold received bytes not read as plaintext yet (a partial record too)? */
bool tls_mem_has_input(const struct tls_mem *t);
/* "TLSv1.3", for log lines. */
const char *tls_mem_version(const struct tls_mem *t);

#endif
