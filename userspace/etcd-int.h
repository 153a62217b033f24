/* etcd-int.h: what the etcd client's own modules share (etcd.c, etcd_txn.c), not its
 * users: the unary JSON call. */
#ifndef HERMES_ETCD_INT_H
#define HERMES_ETCD_INT_H

#include <stddef.h>

#include <jansson.h>

#include "etcd.h"

/* POST path with req (its reference is taken), the JSON answer in *out (the caller
 * decrefs it). Tries the endpoints in turn while the failure is the endpoint's; 0 or
 * -errno with a message naming the endpoint in err. */
int etcd_call(struct etcd *c, const char *path, json_t *req, json_t **out, char *err, size_t errlen);

#endif
