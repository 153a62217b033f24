/* etcd.c: the etcd v3 client of etcd.h over the JSON gateway. Why the gateway and
 * libcurl: etcd's gRPC API would need a gRPC stack (not in Debian for C at a version we
 * could rely on); the gateway (every etcd 3.4 serves it on its client URLs) takes JSON
 * over HTTP/1.1, int64 fields as strings and bytes as base64, and streams a watch as a
 * sequence of JSON objects. libcurl carries it (TLS client certificates included), jansson
 * parses it, OpenSSL's EVP does the base64. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "etcd-int.h"
#include "etcd.h"
#include "fnv.h"

/* ---- base64, ranges ---- */

char *etcd_b64_encode(const void *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

int etcd_b64_decode(const char *in, char **out, size_t *len)
{
	size_t n = strlen(in), pad = 0;
	int got;

	*out = NULL;
	*len = 0;
	if (n % 4)
		return -EINVAL;
	/* EVP_DecodeBlock counts the padding as zero bytes: take them off */
	if (n && in[n - 1] == '=')
		pad = n > 1 && in[n - 2] == '=' ? 2 : 1;
	*out = malloc(n / 4 * 3 + 1);
	if (!*out)
		return -ENOMEM;
	got = n ? EVP_DecodeBlock((unsigned char *)*out, (const unsigned char *)in, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	*len = (size_t)got - pad;
	(*out)[*len] = 0;
	return 0;
}

void etcd_prefix_end(const char *prefix, size_t len, char *end, size_t *end_len)
{
	memcpy(end, prefix, len);
	while (len && (unsigned char)end[len - 1] == 0xff)
		len--;
	if (!len) { /* all 0xff (or empty): the whole key space */
		end[0] = 0;
		*end_len = 1;
		return;
	}
	end[len - 1]++;
	*end_len = len;
}

/* ---- JSON ---- */

/* An int64 of the gateway: a string of digits, or a number. */
static int64_t jint(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return json_integer_value(v);
	return 0;
}

static bool jbool(const json_t *o, const char *name)
{
	return json_is_true(json_object_get(o, name));
}

/* A base64 field into *out (NULL and 0 when absent). */
static int jbytes(const json_t *o, const char *name, char **out, size_t *len)
{
	const json_t *v = json_object_get(o, name);

	if (!v) {
		*out = strdup("");
		*len = 0;
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_string(v))
		return -EINVAL;
	return etcd_b64_decode(json_string_value(v), out, len);
}

static void kv_free(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int kv_parse(const json_t *o, struct etcd_kv *kv)
{
	int rc;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return -EINVAL;
	if ((rc = jbytes(o, "key", &kv->key, &kv->key_len)) || (rc = jbytes(o, "value", &kv->value, &kv->value_len))) {
		kv_free(kv);
		return rc;
	}
	kv->create_rev = jint(o, "create_revision");
	kv->mod_rev = jint(o, "mod_revision");
	kv->version = jint(o, "version");
	kv->lease = jint(o, "lease");
	return 0;
}

/* The gateway's error object {"error": ..., "message": ..., "code": N}, or a stream's
 * {"error": {"grpc_code": N, "message": ...}}: its message into err; true if there was one. */
static bool json_error_msg(const json_t *o, char *err, size_t errlen)
{
	const json_t *e = json_object_get(o, "error");
	const json_t *m = json_object_get(o, "message");

	if (!e)
		return false;
	if (json_is_object(e))
		m = json_object_get(e, "message");
	snprintf(err, errlen, "%s", json_is_string(m) ? json_string_value(m) :
				  json_is_string(e) ? json_string_value(e) : "an error without a message");
	return true;
}

/* A revision hermesd can watch on from (revision + 1): never negative, and not the
 * largest int64, which has no next. */
static bool rev_usable(int64_t rev)
{
	return rev >= 0 && rev != INT64_MAX;
}

long etcd_watch_parse(struct etcd_watch *w, const char *buf, size_t len, etcd_event_fn fn, void *arg, int *stop)
{
	size_t skip = 0;
	json_error_t je;
	json_t *o, *res, *evs;
	long used;
	int rc = 0;

	while (skip < len && isspace((unsigned char)buf[skip]))
		skip++;
	if (skip == len)
		return (long)skip;
	o = json_loadb(buf + skip, len - skip, JSON_DISABLE_EOF_CHECK, &je);
	/* cut inside a word (tru|e, a number) jansson says "invalid token" at the very end:
	 * that too is "need more" */
	if (!o)
		return json_error_code(&je) == json_error_premature_end_of_input ||
		       (size_t)je.position >= len - skip ? 0 : -EINVAL;
	used = (long)(skip + (size_t)je.position);
	if (json_error_msg(o, w->err, sizeof(w->err))) {
		json_decref(o);
		return -EIO;
	}
	res = json_object_get(o, "result");
	if (!json_is_object(res)) {
		json_decref(o);
		return -EINVAL;
	}
	w->header_rev = jint(json_object_get(res, "header"), "revision");
	if (jbool(res, "created"))
		w->created = true;
	if (jint(res, "compact_revision") > 0) {
		w->compact_rev = jint(res, "compact_revision");
		json_decref(o);
		return -ESTALE;
	}
	if (jbool(res, "canceled")) {
		const json_t *r = json_object_get(res, "cancel_reason");

		snprintf(w->err, sizeof(w->err), "the server cancelled the watch: %s",
			 json_is_string(r) ? json_string_value(r) : "no reason given");
		json_decref(o);
		return -EIO;
	}
	evs = json_object_get(res, "events");
	for (size_t i = 0; json_is_array(evs) && i < json_array_size(evs) && !*stop; i++) {
		const json_t *e = json_array_get(evs, i), *t = json_object_get(e, "type");
		struct etcd_event ev = { .type = ETCD_EV_PUT };

		if (json_is_string(t) && !strcmp(json_string_value(t), "DELETE"))
			ev.type = ETCD_EV_DELETE;
		if ((rc = kv_parse(json_object_get(e, "kv"), &ev.kv)))
			break;
		if (!rev_usable(ev.kv.mod_rev)) {
			kv_free(&ev.kv);
			rc = -EINVAL;
			break;
		}
		/* past this event whatever fn does: a resumed watch must not hand it again */
		if (ev.kv.mod_rev >= w->next_rev)
			w->next_rev = ev.kv.mod_rev + 1;
		*stop = fn(arg, &ev);
		kv_free(&ev.kv);
	}
	if (!rc && !*stop && w->want_end && json_is_array(evs) && json_array_size(evs)) {
		struct etcd_event end = { .type = ETCD_EV_END, .kv.mod_rev = w->next_rev - 1 };

		*stop = fn(arg, &end);
	}
	json_decref(o);
	return rc ? rc : used;
}

/* ---- HTTP ---- */

int etcd_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) ? -EIO : 0;
}

void etcd_global_fini(void)
{
	curl_global_cleanup();
}

void etcd_opts_from(struct etcd_opts *o, const struct cfg_etcd *e)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout_ms = 1000;
	o->request_timeout_ms = 3000;
	for (int i = 0; i < e->n_endpoints && i < ETCD_MAX_ENDPOINTS; i++)
		o->endpoints[o->n_endpoints++] = e->endpoints[i];
	o->cert = e->cert[0] ? e->cert : NULL;
	o->key = e->key[0] ? e->key : NULL;
	o->ca = e->ca[0] ? e->ca : NULL;
}

void etcd_init(struct etcd *c, const struct etcd_opts *o)
{
	c->o = *o;
	c->cur = 0;
	c->alive = NULL;
	c->alive_arg = NULL;
}

void etcd_start_at(struct etcd *c, const char *name)
{
	if (c->o.n_endpoints > 0 && name)
		c->cur = (int)(fnv1a32(name, strlen(name)) % (uint32_t)c->o.n_endpoints);
}

void etcd_init_node(struct etcd *c, const struct cfg_etcd *e)
{
	struct etcd_opts o;

	etcd_opts_from(&o, e);
	etcd_init(c, &o);
	etcd_start_at(c, e->node);
}

const char *etcd_endpoint(const struct etcd *c)
{
	return c->o.n_endpoints ? c->o.endpoints[c->cur] : "(no endpoint)";
}

struct body {
	char *p;
	size_t len;
};

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *p = realloc(b->p, b->len + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->p = p;
	b->len += size * n;
	b->p[b->len] = 0;
	return size * n;
}

static int call_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const struct etcd *c = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return c->alive(c->alive_arg) ? 0 : 1;
}

/* An easy handle for POST url/path with body req, TLS as the options say. */
static CURL *handle(const struct etcd *c, const char *path, const char *req, char *url, size_t urllen)
{
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	snprintf(url, urllen, "%s%s", c->o.endpoints[c->cur], path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
	/* a member that went away without a FIN (a partition) is noticed within seconds */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
	if (c->o.cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->o.cert);
	if (c->o.key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->o.key);
	if (c->o.ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca);
	if (c->alive) { /* the watch sets its own */
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, call_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	}
	return h;
}

/* A unary call (etcd-int.h): POST path with req (JSON), the answer parsed into *out.
 * Tries each endpoint once, starting with the one in use, while the failure is the
 * endpoint's (no answer, 5xx); a 4xx or an error object is the request's and final. */
int etcd_call(struct etcd *c, const char *path, json_t *req, json_t **out, char *err, size_t errlen)
{
	char *txt = json_dumps(req, JSON_COMPACT), url[512];
	int rc = -EHOSTUNREACH;

	json_decref(req);
	*out = NULL;
	if (!txt)
		return -ENOMEM;
	if (!c->o.n_endpoints) {
		snprintf(err, errlen, "no etcd endpoint configured");
		free(txt);
		return -EINVAL;
	}
	for (int tried = 0; tried < c->o.n_endpoints; tried++) {
		struct body b = { 0 };
		CURL *h = handle(c, path, txt, url, sizeof(url));
		long status = 0;
		CURLcode cc;

		if (!h) {
			rc = -ENOMEM;
			break;
		}
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o.request_timeout_ms);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
		cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(h);
		if (cc == CURLE_ABORTED_BY_CALLBACK) {
			snprintf(err, errlen, "%s: stopped", url);
			free(b.p);
			rc = -ECANCELED;
			break;
		}
		if (cc != CURLE_OK || status >= 500 || status == 0) {
			snprintf(err, errlen, "%s: %s", url, cc != CURLE_OK ? curl_easy_strerror(cc) : "server error");
			if (cc == CURLE_OK)
				snprintf(err, errlen, "%s: HTTP %ld", url, status);
			free(b.p);
			rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
			c->cur = (c->cur + 1) % c->o.n_endpoints;
			continue;
		}
		json_error_t je;
		*out = b.p ? json_loads(b.p, 0, &je) : NULL;
		rc = 0;
		if (!*out) {
			snprintf(err, errlen, "%s: HTTP %ld, not JSON: %.80s", url, status, b.p ? b.p : "(empty)");
			rc = -EPROTO;
		} else if (json_error_msg(*out, err, errlen) || status != 200) {
			if (status != 200 && !json_object_get(*out, "error"))
				snprintf(err, errlen, "HTTP %ld", status);
			/* name the endpoint too */
			char m[256];

			snprintf(m, sizeof(m), "%s", err);
			snprintf(err, errlen, "%s: %s", url, m);
			json_decref(*out);
			*out = NULL;
			rc = -EPROTO;
		}
		free(b.p);
		break;
	}
	free(txt);
	return rc;
}

/* {"key": b64, "range_end": b64} for key, its prefix, or [key, upto) when upto is set */
static json_t *key_req(const char *key, bool prefix, const char *upto)
{
	size_t n = strlen(key), elen;
	char *k = etcd_b64_encode(key, n), *end = malloc(n + 1), *e = NULL;
	json_t *o = NULL;

	if (!k || !end)
		goto out;
	if (upto) {
		if (!(e = etcd_b64_encode(upto, strlen(upto))))
			goto out;
	} else if (prefix) {
		etcd_prefix_end(key, n, end, &elen);
		if (!(e = etcd_b64_encode(end, elen)))
			goto out;
	}
	o = json_pack("{s:s}", "key", k);
	if (o && e && json_object_set_new(o, "range_end", json_string(e))) {
		json_decref(o);
		o = NULL;
	}
out:
	free(k);
	free(end);
	free(e);
	return o;
}

void etcd_range_free(struct etcd_range *r)
{
	for (size_t i = 0; i < r->n; i++)
		kv_free(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

static int range(struct etcd *c, json_t *req, struct etcd_range *out, char *err, size_t errlen)
{
	json_t *ans, *kvs;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!req)
		return -ENOMEM;
	if ((rc = etcd_call(c, "/v3/kv/range", req, &ans, err, errlen)))
		return rc;
	out->revision = jint(json_object_get(ans, "header"), "revision");
	kvs = json_object_get(ans, "kvs");
	if (!rev_usable(out->revision)) { /* the watch goes on from revision + 1 */
		snprintf(err, errlen, "%s: a revision etcd cannot have (%lld): is it etcd?", etcd_endpoint(c),
			 (long long)out->revision);
		rc = -EINVAL;
	} else if (json_is_array(kvs) && json_array_size(kvs)) {
		out->kvs = calloc(json_array_size(kvs), sizeof(*out->kvs));
		if (!out->kvs)
			rc = -ENOMEM;
		for (size_t i = 0; !rc && i < json_array_size(kvs); i++) {
			if ((rc = kv_parse(json_array_get(kvs, i), &out->kvs[i])))
				snprintf(err, errlen, "%s: a key or value that is not base64", etcd_endpoint(c));
			else
				out->n++;
		}
	}
	json_decref(ans);
	if (rc)
		etcd_range_free(out);
	return rc;
}

int etcd_range(struct etcd *c, const char *key, bool prefix, struct etcd_range *out, char *err, size_t errlen)
{
	return range(c, key_req(key, prefix, NULL), out, err, errlen);
}

int etcd_range_end(struct etcd *c, const char *key, const char *end, struct etcd_range *out, char *err,
		   size_t errlen)
{
	return range(c, key_req(key, false, end), out, err, errlen);
}

int etcd_put(struct etcd *c, const char *key, const void *value, size_t len, int64_t lease, int64_t *rev,
	     char *err, size_t errlen)
{
	char *k = etcd_b64_encode(key, strlen(key)), *v = etcd_b64_encode(value, len), l[24];
	json_t *req = NULL, *ans;
	int rc = -ENOMEM;

	snprintf(l, sizeof(l), "%lld", (long long)lease);
	if (k && v)
		req = lease ? json_pack("{s:s,s:s,s:s}", "key", k, "value", v, "lease", l) :
			      json_pack("{s:s,s:s}", "key", k, "value", v);
	free(k);
	free(v);
	if (req && !(rc = etcd_call(c, "/v3/kv/put", req, &ans, err, errlen))) {
		if (rev)
			*rev = jint(json_object_get(ans, "header"), "revision");
		json_decref(ans);
	}
	return rc;
}

int etcd_lease_grant(struct etcd *c, int64_t ttl, int64_t *id, int64_t *granted, char *err, size_t errlen)
{
	char t[24];
	json_t *ans;
	int rc;

	snprintf(t, sizeof(t), "%lld", (long long)ttl);
	if ((rc = etcd_call(c, "/v3/lease/grant", json_pack("{s:s}", "TTL", t), &ans, err, errlen)))
		return rc;
	*id = jint(ans, "ID");
	*granted = jint(ans, "TTL");
	json_decref(ans);
	if (!*id) {
		snprintf(err, errlen, "%s: the lease grant answered no ID", etcd_endpoint(c));
		return -EPROTO;
	}
	return 0;
}

int etcd_lease_keepalive(struct etcd *c, int64_t id, int64_t *ttl, char *err, size_t errlen)
{
	char i[24];
	json_t *ans;
	int rc;

	snprintf(i, sizeof(i), "%lld", (long long)id);
	/* the gateway serves the keepalive stream one request per POST: one answer, in
	 * "result" (a stream's message) */
	if ((rc = etcd_call(c, "/v3/lease/keepalive", json_pack("{s:s}", "ID", i), &ans, err, errlen)))
		return rc;
	*ttl = jint(json_object_get(ans, "result"), "TTL");
	json_decref(ans);
	if (*ttl <= 0) {
		snprintf(err, errlen, "%s: lease %lld has expired", etcd_endpoint(c), (long long)id);
		return -ENOENT;
	}
	return 0;
}

int etcd_lease_revoke(struct etcd *c, int64_t id, char *err, size_t errlen)
{
	char i[24];
	json_t *ans;
	int rc;

	snprintf(i, sizeof(i), "%lld", (long long)id);
	if ((rc = etcd_call(c, "/v3/lease/revoke", json_pack("{s:s}", "ID", i), &ans, err, errlen)))
		return rc;
	json_decref(ans);
	return 0;
}

/* ---- watch ---- */

struct watch_ctx {
	struct etcd_watch *w;
	etcd_event_fn fn;
	bool (*alive)(void *arg);
	void *arg;
	int stop;  /* fn's nonzero return */
	long fail; /* the parser's error */
};

static size_t watch_write(char *data, size_t size, size_t n, void *arg)
{
	struct watch_ctx *x = arg;
	struct etcd_watch *w = x->w;
	size_t off = 0;
	long used = 0;

	if (w->len + size * n > w->cap) {
		size_t cap = w->len + size * n + 4096;
		char *p = realloc(w->buf, cap);

		if (!p) {
			x->fail = -ENOMEM;
			return 0;
		}
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, data, size * n);
	w->len += size * n;
	while (off < w->len && !x->stop && (used = etcd_watch_parse(w, w->buf + off, w->len - off, x->fn, x->arg,
								      &x->stop)) > 0)
		off += (size_t)used;
	if (used < 0 && !x->stop) {
		x->fail = used;
		return 0;
	}
	memmove(w->buf, w->buf + off, w->len - off);
	w->len -= off;
	return x->stop ? 0 : size * n;
}

static int watch_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct watch_ctx *x = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return x->alive(x->arg) ? 0 : 1;
}

void etcd_watch_reset(struct etcd_watch *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
	w->created = false;
	w->err[0] = 0;
}

int etcd_watch(struct etcd *c, const char *key, bool prefix, struct etcd_watch *w, etcd_event_fn fn,
	       bool (*alive)(void *arg), void *arg, char *err, size_t errlen)
{
	struct watch_ctx x = { w, fn, alive, arg, 0, 0 };
	struct curl_slist *hdrs;
	json_t *kr = key_req(key, prefix, w->end), *req;
	char *txt = NULL, url[512], rev[24];
	long status = 0;
	CURLcode cc;
	CURL *h;

	etcd_watch_reset(w);
	w->compact_rev = 0;
	if (!c->o.n_endpoints) {
		json_decref(kr);
		snprintf(err, errlen, "no etcd endpoint configured");
		return -EINVAL;
	}
	snprintf(rev, sizeof(rev), "%lld", (long long)w->next_rev);
	if (kr && w->next_rev)
		json_object_set_new(kr, "start_revision", json_string(rev));
	req = kr ? json_pack("{s:o}", "create_request", kr) : NULL;
	txt = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!txt)
		return -ENOMEM;
	h = handle(c, "/v3/watch", txt, url, sizeof(url));
	if (!h) {
		free(txt);
		return -ENOMEM;
	}
	/* etcd's "require leader" (the gateway passes Grpc-Metadata-* on as gRPC metadata):
	 * a member that loses its leader (a minority, a partition) ends the watch instead of
	 * keeping it open with no news, so the next endpoint is tried */
	hdrs = curl_slist_append(NULL, "Grpc-Metadata-hasleader: true");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	free(txt);
	if (x.stop)
		return x.stop;
	if (x.fail == -ESTALE) {
		snprintf(err, errlen, "%s: revision %lld was compacted (oldest kept: %lld)", url, (long long)w->next_rev,
			 (long long)w->compact_rev);
		return -ESTALE;
	}
	if (x.fail) {
		snprintf(err, errlen, "%s: %s", url, x.fail == -EIO ? w->err : x.fail == -ENOMEM ? "out of memory" :
						 "an answer that is not a watch stream");
		c->cur = (c->cur + 1) % c->o.n_endpoints;
		return (int)x.fail;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return -ECANCELED;
	if (cc != CURLE_OK || status != 200) {
		if (cc != CURLE_OK)
			snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(cc));
		else
			snprintf(err, errlen, "%s: HTTP %ld", url, status);
		c->cur = (c->cur + 1) % c->o.n_endpoints;
		return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
	}
	snprintf(err, errlen, "%s: the watch stream ended", url);
	c->cur = (c->cur + 1) % c->o.n_endpoints;
	return -ECONNRESET;
}
