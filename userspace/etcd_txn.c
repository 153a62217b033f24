/* etcd_txn.c: the etcd client's transaction (etcd.h, etcd_txn): compares on mod
 * revisions, then puts and deletes, all or nothing, through the JSON gateway's
 * /v3/kv/txn. `hermesctl overlay apply` writes a whole overlay with one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd-int.h"
#include "etcd.h"

/* {"key": b64} plus name: b64(value) when value is given */
static json_t *b64_obj(const char *key, const char *name, const char *value, size_t len)
{
	char *k = etcd_b64_encode(key, strlen(key)), *v = value ? etcd_b64_encode(value, len) : NULL;
	json_t *o = NULL;

	if (k && (!value || v))
		o = value ? json_pack("{s:s,s:s}", "key", k, name, v) : json_pack("{s:s}", "key", k);
	free(k);
	free(v);
	return o;
}

static json_t *txn_req(const struct etcd_cmp *cmp, size_t n_cmp, const struct etcd_op *ops, size_t n_ops)
{
	json_t *req = json_object(), *cs = json_array(), *ss = json_array();

	if (!req || !cs || !ss)
		goto fail;
	json_object_set_new(req, "compare", cs);
	json_object_set_new(req, "success", ss);
	for (size_t i = 0; i < n_cmp; i++) {
		json_t *o = b64_obj(cmp[i].key, NULL, NULL, 0);
		char rev[24];

		snprintf(rev, sizeof(rev), "%lld", (long long)cmp[i].mod_rev);
		/* a key that does not exist has mod_revision 0: "still absent" is mod_rev 0 */
		if (!o || json_object_set_new(o, "target", json_string("MOD")) ||
		    json_object_set_new(o, "result", json_string(cmp[i].op == ETCD_CMP_LESS ? "LESS" : "EQUAL")) ||
		    json_object_set_new(o, "mod_revision", json_string(rev)) || json_array_append_new(cs, o))
			goto fail;
	}
	for (size_t i = 0; i < n_ops; i++) {
		bool put = ops[i].type == ETCD_OP_PUT;
		json_t *o = b64_obj(ops[i].key, "value", put ? ops[i].value : NULL, ops[i].len);

		if (!o || json_array_append_new(ss, json_pack("{s:o}", put ? "request_put" : "request_delete_range", o)))
			goto fail;
	}
	return req;
fail:
	json_decref(req);
	return NULL;
}

int etcd_txn(struct etcd *c, const struct etcd_cmp *cmp, size_t n_cmp, const struct etcd_op *ops, size_t n_ops,
	     bool *succeeded, int64_t *rev, char *err, size_t errlen)
{
	json_t *req = txn_req(cmp, n_cmp, ops, n_ops), *ans, *r;
	int rc;

	*succeeded = false;
	*rev = 0;
	if (!req)
		return -ENOMEM;
	if ((rc = etcd_call(c, "/v3/kv/txn", req, &ans, err, errlen)))
		return rc;
	*succeeded = json_is_true(json_object_get(ans, "succeeded"));
	r = json_object_get(json_object_get(ans, "header"), "revision");
	if (json_is_string(r))
		*rev = strtoll(json_string_value(r), NULL, 10);
	else if (json_is_integer(r))
		*rev = json_integer_value(r);
	json_decref(ans);
	return 0;
}
