/* certs.c: `hermesctl certs init`: a small certificate authority for the mTLS between
 * hermesd peers. It makes an EC P-256 CA and host certificates with the OpenSSL 3 API
 * (no openssl command line, no config file), names each host in its SANs both as a DNS
 * name (what TLS clients check; an IP address SAN for a host given as an IP address) and
 * as a SPIFFE-style URI (what peer authorization will match), and writes keys so that no
 * reader ever sees one with wider permissions than 0600 or half written. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs.h"

#define DAY_SECS 86400L
/* Host certificates start an hour back so that a peer whose clock is a little behind
 * does not reject a certificate issued a moment ago. */
#define SKEW_SECS 3600L

struct pair {
	X509 *crt;
	EVP_PKEY *key;
};

/* Formats the error, then the oldest OpenSSL error queued (the root cause), and clears
 * the queue so that the next failure does not report this one. Returns e. */
static int fail(char *err, size_t len, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, int e, const char *fmt, ...)
{
	unsigned long ssl = ERR_get_error();
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (ssl && n + 3 < len) {
		snprintf(err + n, len - n, " (");
		ERR_error_string_n(ssl, err + n + 2, len - n - 2);
		n = strlen(err);
		if (n + 1 < len)
			snprintf(err + n, len - n, ")");
	}
	ERR_clear_error();
	return e;
}

static void pair_free(struct pair *p)
{
	X509_free(p->crt);
	EVP_PKEY_free(p->key);
	p->crt = NULL;
	p->key = NULL;
}

/* An IPv4 or IPv6 address literal: named in an IP SAN, as TLS clients check those. */
static bool is_ip(const char *name)
{
	unsigned char a[16];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

int certs_check_name(const char *name, const char **why)
{
	size_t n = strlen(name);

	if (is_ip(name))
		return 0;
	if (strspn(name, "0123456789.") == n) {
		/* a TLS client would take it for an address, and no address matches it */
		*why = "looks like an IPv4 address but is not one";
		return -EINVAL;
	}

	if (!n || n > 253) {
		*why = "must be 1 to 253 characters long";
		return -EINVAL;
	}
	if (name[0] == '-' || name[0] == '.') {
		*why = "must not start with '-' or '.'";
		return -EINVAL;
	}
	if (strstr(name, "..")) {
		*why = "must not contain \"..\"";
		return -EINVAL;
	}
	if (!strcmp(name, "ca")) {
		*why = "is reserved (ca.crt and ca.key hold the CA)";
		return -EINVAL;
	}
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.')) {
			*why = "may hold only letters, digits, '-' and '.' (it is a DNS name and a file name)";
			return -EINVAL;
		}
	}
	return 0;
}

static int join(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, name, ext);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* 1 if path exists (whatever it is), 0 if not, -errno if we cannot tell. */
static int exists(const char *path)
{
	struct stat st;

	if (!lstat(path, &st))
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static void fmt_time(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "?");
}

static void fmt_asn1_time(char *buf, size_t len, const ASN1_TIME *at)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(at, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "?");
}

/* Adds one extension in openssl.cnf syntax ("critical,CA:TRUE"), resolved against the
 * issuer so that keyid references (authorityKeyIdentifier) find the issuer's key. */
static int add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EIO;
	ok = X509_add_ext(crt, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EIO;
}

/* A random positive 127-bit serial: RFC 5280 wants serials unique per CA, and two CAs
 * made independently (two `certs init` runs) must not issue look-alike certificates. */
static int set_serial(X509 *crt)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[0] = (b[0] & 0x7f) | 0x40; /* positive, and never shortened to fewer bytes */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (!bn)
		return -ENOMEM;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt)) != NULL;
	BN_free(bn);
	return ok ? 0 : -EIO;
}

/* The parts every certificate shares: v3, serial, subject O=Hermes CN=cn, issuer, validity,
 * public key, subject key identifier. issuer == NULL: self-signed (out itself). */
static int cert_start(struct pair *out, const char *cn, const struct pair *issuer, time_t nb, time_t na)
{
	X509_NAME *name;
	X509 *crt;

	out->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	crt = out->crt = X509_new();
	if (!out->key || !crt)
		return -EIO;
	name = X509_get_subject_name(crt);
	if (!X509_set_version(crt, X509_VERSION_3) || set_serial(crt) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Hermes", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(crt, issuer ? X509_get_subject_name(issuer->crt) : name) ||
	    !ASN1_TIME_set(X509_getm_notBefore(crt), nb) || !ASN1_TIME_set(X509_getm_notAfter(crt), na) ||
	    !X509_set_pubkey(crt, out->key))
		return -EIO;
	return add_ext(crt, issuer ? issuer->crt : crt, NID_subject_key_identifier, "hash");
}

static int make_ca(struct pair *ca, int days, char *cn, size_t cnlen)
{
	unsigned char id[4];
	time_t now = time(NULL);

	/* A random suffix tells two CAs apart in logs and in `openssl x509 -subject`. */
	if (RAND_bytes(id, sizeof(id)) != 1)
		return -EIO;
	snprintf(cn, cnlen, "Hermes CA %02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
	if (days < CERTS_CA_MIN_DAYS)
		days = CERTS_CA_MIN_DAYS;
	if (cert_start(ca, cn, NULL, now - SKEW_SECS, now + days * DAY_SECS) ||
	    add_ext(ca->crt, ca->crt, NID_basic_constraints, "critical,CA:TRUE") ||
	    add_ext(ca->crt, ca->crt, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !X509_sign(ca->crt, ca->key, EVP_sha256()))
		return -EIO;
	return 0;
}

static int make_host(struct pair *h, const struct pair *ca, const char *name, time_t nb, time_t na)
{
	char san[2 * 253 + 64];

	snprintf(san, sizeof(san), "%s:%s,URI:spiffe://hermes/%s", is_ip(name) ? "IP" : "DNS", name, name);
	if (cert_start(h, name, ca, nb, na) ||
	    add_ext(h->crt, ca->crt, NID_authority_key_identifier, "keyid:always") ||
	    add_ext(h->crt, ca->crt, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(h->crt, ca->crt, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(h->crt, ca->crt, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    add_ext(h->crt, ca->crt, NID_subject_alt_name, san) || !X509_sign(h->crt, ca->key, EVP_sha256()))
		return -EIO;
	return 0;
}

/* Writes a PEM file through a temporary file in the same directory: mkstemp creates it
 * 0600 (a key is never readable by others, even for a moment, whatever the umask), then
 * it is moved into place whole. replace=false uses link(), which fails with EEXIST if the
 * name appeared meanwhile: a key is never overwritten by accident. */
static int write_pem(const char *dir, const char *path, mode_t mode, bool replace, X509 *crt, EVP_PKEY *key,
		     char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, ok, e;

	if (join(tmp, sizeof(tmp), dir, ".certs-init", ".XXXXXX"))
		return fail(err, errlen, -ENAMETOOLONG, "%s: path too long", dir);
	fd = mkstemp(tmp);
	if (fd < 0)
		return fail(err, errlen, -errno, "cannot create a file in %s: %s", dir, strerror(errno));
	if (fchmod(fd, mode) || !(f = fdopen(fd, "w"))) {
		e = -errno;
		close(fd);
		unlink(tmp);
		return fail(err, errlen, e, "%s: %s", tmp, strerror(-e));
	}
	errno = 0;
	ok = crt ? PEM_write_X509(f, crt) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	ok = ok && !fflush(f) && !fsync(fileno(f));
	e = errno;
	if (fclose(f) && ok) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		unlink(tmp);
		return fail(err, errlen, -(e ? e : EIO), "cannot write %s", path);
	}
	if (replace ? rename(tmp, path) : link(tmp, path)) {
		e = errno;
		unlink(tmp);
		if (e == EEXIST)
			return fail(err, errlen, -EEXIST, "%s appeared while writing it: not overwriting it", path);
		return fail(err, errlen, -e, "cannot create %s: %s", path, strerror(e));
	}
	if (!replace)
		unlink(tmp);
	return 0;
}

static int write_pair(const char *dir, const char *crtpath, const char *keypath, const struct pair *p,
		      bool replace, char *err, size_t errlen)
{
	int e = write_pem(dir, keypath, 0600, replace, NULL, p->key, err, errlen);

	return e ? e : write_pem(dir, crtpath, 0644, replace, p->crt, NULL, err, errlen);
}

/* Reads one PEM object: a certificate into *crt, or (crt == NULL) a key into *key. */
static int read_pem(const char *path, X509 **crt, EVP_PKEY **key, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return fail(err, errlen, -errno, "cannot open %s: %s", path, strerror(errno));
	if (crt)
		*crt = PEM_read_X509(f, NULL, NULL, NULL);
	else
		*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (crt ? !*crt : !*key)
		return fail(err, errlen, -EINVAL, "%s is not %s", path,
			    crt ? "a PEM certificate" : "an unencrypted PEM private key");
	return 0;
}

static int load_ca(struct pair *ca, const char *crtpath, const char *keypath, char *err, size_t errlen)
{
	int e = read_pem(crtpath, &ca->crt, NULL, err, errlen);

	if (e || (e = read_pem(keypath, NULL, &ca->key, err, errlen)))
		return e;
	if (X509_check_ca(ca->crt) != 1)
		return fail(err, errlen, -EINVAL, "%s is not a CA certificate (no basicConstraints CA:TRUE): "
			    "use --force to make a new CA", crtpath);
	if (X509_check_private_key(ca->crt, ca->key) != 1)
		return fail(err, errlen, -EINVAL, "%s does not belong to %s: restore the matching pair, or use "
			    "--force to make a new CA", keypath, crtpath);
	return 0;
}

/* Validates everything that can be checked before a file is written. */
static int check_opts(const struct certs_opts *o, char *err, size_t errlen)
{
	const char *why;

	if (!o->dir || !*o->dir)
		return fail(err, errlen, -EINVAL, "no directory given");
	if (!o->nhosts)
		return fail(err, errlen, -EINVAL, "no host names given");
	if (o->days < 1 || o->days > CERTS_MAX_DAYS)
		return fail(err, errlen, -EINVAL, "--days %d: expected 1 to %d", o->days, CERTS_MAX_DAYS);
	for (size_t i = 0; i < o->nhosts; i++) {
		if (certs_check_name(o->hosts[i], &why))
			return fail(err, errlen, -EINVAL, "host name '%s' %s", o->hosts[i], why);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(o->hosts[i], o->hosts[j]))
				return fail(err, errlen, -EINVAL, "host name '%s' is given twice", o->hosts[i]);
	}
	return 0;
}

/* Refuses an existing NAME.key or NAME.crt unless force: -EEXIST naming the file. */
static int check_host_free(const struct certs_opts *o, const char *name, char *err, size_t errlen)
{
	static const char *const exts[] = { ".key", ".crt" };
	char path[PATH_MAX];
	int e;

	if (o->force)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		if (join(path, sizeof(path), o->dir, name, exts[i]))
			return fail(err, errlen, -ENAMETOOLONG, "%s/%s%s: path too long", o->dir, name, exts[i]);
		e = exists(path);
		if (e < 0)
			return fail(err, errlen, e, "cannot check %s: %s", path, strerror(-e));
		if (e)
			return fail(err, errlen, -EEXIST, "%s already exists: refusing to overwrite it (use --force to "
				    "issue a new key and certificate for '%s')", path, name);
	}
	return 0;
}

/* Loads the CA of o->dir, or makes one (written at once) when there is none or force. */
static int get_ca(const struct certs_opts *o, struct pair *ca, FILE *out, char *err, size_t errlen)
{
	char crtpath[PATH_MAX], keypath[PATH_MAX], cn[64], until[64];
	int have_crt, have_key, e;

	if (join(crtpath, sizeof(crtpath), o->dir, "ca", ".crt") || join(keypath, sizeof(keypath), o->dir, "ca", ".key"))
		return fail(err, errlen, -ENAMETOOLONG, "%s: path too long", o->dir);
	have_crt = exists(crtpath);
	have_key = exists(keypath);
	if (have_crt < 0 || have_key < 0)
		return fail(err, errlen, have_crt < 0 ? have_crt : have_key, "cannot check %s",
			    have_crt < 0 ? crtpath : keypath);
	if (!o->force && have_crt && have_key) {
		e = load_ca(ca, crtpath, keypath, err, errlen);
		if (e)
			return e;
		X509_NAME_get_text_by_NID(X509_get_subject_name(ca->crt), NID_commonName, cn, sizeof(cn));
		fmt_asn1_time(until, sizeof(until), X509_get0_notAfter(ca->crt));
		fprintf(out, "ca: reusing %s (CN=%s, valid until %s)\n", crtpath, cn, until);
		return 0;
	}
	if (!o->force && (have_crt || have_key))
		return fail(err, errlen, -EINVAL, "%s exists but %s does not: restore it, or use --force to make a "
			    "new CA (certificates signed by the old one then stop verifying)",
			    have_crt ? crtpath : keypath, have_crt ? keypath : crtpath);
	if (make_ca(ca, o->days, cn, sizeof(cn)))
		return fail(err, errlen, -EIO, "cannot make the CA");
	e = write_pair(o->dir, crtpath, keypath, ca, o->force, err, errlen);
	if (e)
		return e;
	fmt_asn1_time(until, sizeof(until), X509_get0_notAfter(ca->crt));
	fprintf(out, "ca: created %s and %s (CN=%s, valid until %s)\n", crtpath, keypath, cn, until);
	return 0;
}

int certs_init(const struct certs_opts *o, FILE *out, char *err, size_t errlen)
{
	struct pair ca = { 0 };
	struct stat st;
	time_t now = time(NULL), nb, na;
	char crtpath[PATH_MAX], keypath[PATH_MAX], until[64];
	int e;

	e = check_opts(o, err, errlen);
	if (e)
		return e;
	if (mkdir(o->dir, 0755) && errno != EEXIST)
		return fail(err, errlen, -errno, "cannot create %s: %s%s", o->dir, strerror(errno),
			    errno == ENOENT ? " (its parent directory must exist)" : "");
	if (stat(o->dir, &st))
		return fail(err, errlen, -errno, "%s: %s", o->dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(err, errlen, -ENOTDIR, "%s is not a directory", o->dir);
	for (size_t i = 0; i < o->nhosts; i++) {
		e = check_host_free(o, o->hosts[i], err, errlen);
		if (e)
			return e;
	}
	e = get_ca(o, &ca, out, err, errlen);
	/* --expired: a validity period that ended a day ago and was as long as asked. */
	nb = o->expired ? now - (o->days + 1) * DAY_SECS : now - SKEW_SECS;
	na = o->expired ? now - DAY_SECS : now + o->days * DAY_SECS;
	for (size_t i = 0; !e && i < o->nhosts; i++) {
		const char *name = o->hosts[i];
		struct pair h = { 0 };

		if (join(crtpath, sizeof(crtpath), o->dir, name, ".crt") ||
		    join(keypath, sizeof(keypath), o->dir, name, ".key"))
			e = fail(err, errlen, -ENAMETOOLONG, "%s/%s: path too long", o->dir, name);
		else if (make_host(&h, &ca, name, nb, na))
			e = fail(err, errlen, -EIO, "cannot make the certificate of '%s'", name);
		else
			e = write_pair(o->dir, crtpath, keypath, &h, o->force, err, errlen);
		pair_free(&h);
		if (e)
			break;
		fmt_time(until, sizeof(until), na);
		fprintf(out, "host %s: created %s and %s (%s:%s, URI:spiffe://hermes/%s, %s %s)\n", name, crtpath,
			keypath, is_ip(name) ? "IP" : "DNS", name, name, o->expired ? "EXPIRED since" : "valid until",
			until);
	}
	pair_free(&ca);
	return e;
}
