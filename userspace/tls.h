/* tls.h: OpenSSL 3 contexts for the tunnels (TLS 1.3 only, mutual authentication
 * against the configured CA, ALPN h2), the certificate facts the tunnel listener
 * authorizes on, and hermesd's TLS transport: an SSL whose ciphertext is carried by
 * someone else's socket and buffers (io_uring, no kTLS on this kernel), used by the http
 * action's upstream connections (hup.c, h2up.c) and by the tunnel sessions (sess.c).
 * Prefix tls_. OpenSSL types stay out of the headers. */
#ifndef HERMES_TLS_H
#define HERMES_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-t.h"

/* Ciphertext to send, p[0..n): appended to the owner's output buffer (the BIO has no
 * buffer of its own). 0, or -ENOMEM (the record is lost: the connection must end). */
typedef int tls_out_fn(void *ud, const void *p, size_t n);

/* TLS over a transport that someone else drives: OpenSSL reads ciphertext straight from
 * the owner's receive buffer and writes it straight into the owner's output through
 * out(); no memory BIO copies in between. The struct must not move once started (the
 * BIO points at it). */
struct tls_xprt {
	void *ssl;                /* SSL *, owning its BIO */
	const uint8_t *in;        /* ciphertext received, in[in_off..in_len) not read by OpenSSL yet */
	size_t in_off, in_len;
	tls_out_fn *out;          /* ciphertext to send */
	void *out_ud;
	int out_err;              /* out() failed (-ENOMEM): the next call reports it */
	bool hs_done;             /* handshake over (and, for a client, the ALPN the one asked for) */
	char alpn[16];            /* a client's protocol asked for; after the handshake, the one
				   * chosen ("": none) */
	uint8_t *stage;           /* tls_xprt_gather's plaintext (TLS_STAGE bytes, from the first) */
	uint32_t stage_len;
};
#define TLS_STAGE 8192        /* plaintext gathered for one record */
#define TLS_STAGE_SMALL 2048  /* the most one tls_xprt_gather takes (a short flow's DATA payloads fit) */

/* Installs allocator wrappers that count OpenSSL's memory in tls_mem_held (buf.h)
 * (CRYPTO_set_mem_functions). Must run before any other OpenSSL call: -EBUSY if
 * OpenSSL has allocated already (nothing is counted then). */
int tls_mem_count_init(void);

/* Builds the server and client SSL_CTX from t (cert, key, ca). Returns 0 or -EINVAL
 * with a message naming the file at fault in err. */
int tls_ctx_new(const struct cfg_tls *t, void **server, void **client, char *err, size_t errlen);
void tls_ctx_free(void *ctx);
/* The DNS and URI subjectAltNames of the verified peer certificate of ssl, into
 * sans[max][128]. Returns how many. */
unsigned tls_peer_sans(void *ssl, char (*sans)[128], unsigned max);
/* Why the handshake of ssl failed, as one line (verify result and OpenSSL's queue). */
void tls_fail_reason(void *ssl, char *buf, size_t len);

/* Small plaintext writes (n <= TLS_STAGE_SMALL) gathered to be sealed together in one
 * record, by tls_xprt_seal or before the next tls_xprt_write (whose bytes follow them).
 * Each record costs a fixed few microseconds to seal and to open, whatever its size
 * (OpenSSL 3.0: a cipher init per record): an HTTP/2 session's small frames of a loop
 * turn (HEADERS, DATA frame heads, END_STREAM, WINDOW_UPDATE) went one record each. 0 or
 * -ENOMEM / -EIO / -ENOTCONN. */
int tls_xprt_gather(struct tls_xprt *t, const void *p, size_t n);
int tls_xprt_seal(struct tls_xprt *t);
/* Starts t as a client of ctx (a client context of tls_ctx_new) offering ALPN alpn
 * ("h2", "http/1.1"), its ciphertext going to out(ud, ...). name: "" checks the chain
 * alone; an IP address literal must be an IP subjectAltName of the peer (and no SNI is
 * sent, RFC 6066 3); anything else is the SNI and a DNS name the certificate must carry.
 * 0, -EINVAL (alpn empty or longer than 15), or -ENOMEM. */
int tls_xprt_client(struct tls_xprt *t, void *ctx, const char *name, const char *alpn, tls_out_fn *out,
		    void *ud);
/* Starts t as a server of ctx (a server context of tls_ctx_new: the client's certificate
 * is required, ALPN h2 when offered, else http/1.1; a client offering none gets none).
 * 0 or -ENOMEM. */
int tls_xprt_server(struct tls_xprt *t, void *ctx, tls_out_fn *out, void *ud);
/* Frees the SSL (nothing is sent: see tls_xprt_shutdown). t may be zeroed or freed twice. */
void tls_xprt_free(struct tls_xprt *t);
/* Ciphertext received: p[0..n) is the whole of what OpenSSL may read next (unread bytes of
 * an earlier call that are still wanted must be at its start). Nothing is copied: the
 * caller keeps p valid and in place while tls_xprt_input_left() > 0. */
void tls_xprt_input(struct tls_xprt *t, const void *p, size_t n);
/* Ciphertext of the last tls_xprt_input that OpenSSL has not read yet: it reads only as
 * plaintext is asked for (up to its buffer, a record or so, ahead), so a reader that
 * stops early leaves the rest here, in the caller's buffer. */
size_t tls_xprt_input_left(const struct tls_xprt *t);
/* Handshake progress: 1 done, 0 in progress (more ciphertext needed), -EPROTO failed
 * (why: the verify result or OpenSSL's reason, or another ALPN than the one a client
 * asked for; no ALPN at all is accepted for http/1.1 only), -ENOMEM when out() failed.
 * The handshake's messages and a failure's alert go to out(). */
int tls_xprt_handshake(struct tls_xprt *t, char *why, size_t len);
/* Plaintext received, up to len bytes into buf: the bytes read, 0 once the peer's
 * close_notify came, -EAGAIN when more ciphertext is needed (a TCP end then, without
 * close_notify, is the caller's to judge: see tls_xprt_peer_closed), -EPROTO on a bad
 * record or alert (why filled), -ENOMEM when out() failed. */
long tls_xprt_read(struct tls_xprt *t, void *buf, size_t len, char *why, size_t whylen);
/* Encrypts all of p[0..n) into out(). 0, -ENOTCONN before the handshake ended, -ENOMEM
 * when out() failed, -EIO otherwise (after our shutdown, or a fatal error). */
int tls_xprt_write(struct tls_xprt *t, const void *p, size_t n);
/* Sends close_notify (our half-close), once: later calls do nothing. 0, -ENOTCONN before
 * the handshake ended, -ENOMEM when out() failed, -EIO. Reading goes on after it. */
int tls_xprt_shutdown(struct tls_xprt *t);
/* Has the peer's close_notify been read? */
bool tls_xprt_peer_closed(const struct tls_xprt *t);
/* Does t hold received bytes not read as plaintext yet (input left, a partial record, or
 * decrypted plaintext)? */
bool tls_xprt_has_input(const struct tls_xprt *t);
/* "TLSv1.3", for log lines. */
const char *tls_xprt_version(const struct tls_xprt *t);

#endif
