/* certs.h: the certificate authority behind `hermesctl certs init`: a self-signed CA and
 * per-host certificates (EC P-256) for the mTLS between hermesd peers, made with the
 * OpenSSL 3 API so that a fresh host needs no openssl command line or config file. */
#ifndef HERMES_CERTS_H
#define HERMES_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CERTS_DEFAULT_HOST "hermes"
#define CERTS_DEFAULT_DAYS 365
#define CERTS_MAX_DAYS 36500
/* A new CA lives at least this long, so that it outlives the host certificates it signs. */
#define CERTS_CA_MIN_DAYS 3650

struct certs_opts {
	const char *dir;          /* created (one level) when missing */
	const char *const *hosts; /* names checked with certs_check_name() */
	size_t nhosts;
	int days;     /* validity of the host certificates, 1..CERTS_MAX_DAYS */
	bool force;   /* new CA, and replace existing host files */
	bool expired; /* test only: host certificates whose notAfter is in the past */
};

/* 0 when `name` can be a host name here: it becomes a file name (NAME.crt), a DNS SAN and
 * the last segment of spiffe://hermes/NAME, so only letters, digits, '-' and '.' (no
 * leading '-' or '.', no "..", at most 253 characters, not digits and dots alone), and
 * not "ca" (ca.crt is the CA); or an IPv4 or IPv6 address, which becomes an IP SAN
 * instead of a DNS one.
 * -EINVAL otherwise, with the reason in why. */
int certs_check_name(const char *name, const char **why);

/* Creates or completes opts->dir: ca.crt + ca.key (reused when both exist and !force),
 * then NAME.crt + NAME.key per host, signed by the CA. Keys are written mode 0600 and never
 * replaced without force; nothing is written unless every check passed. One line per file
 * written (or CA reused) goes to out. Returns 0 or -errno (-EEXIST: a host file exists;
 * -EINVAL: a CA file is missing its pair or does not match; -EIO: an OpenSSL failure),
 * with what went wrong and what to do in err. */
int certs_init(const struct certs_opts *opts, FILE *out, char *err, size_t errlen);

#endif
