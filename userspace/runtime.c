/* runtime.c: the runtime snapshot's life (runtime.h). Single-threaded (the loop): the
 * count needs no atomics. */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "runtime.h"
#include "tls.h"

int rt_new(struct hermes_config *cfg, uint64_t gen, struct runtime **out, char *err, size_t errlen)
{
	struct runtime *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return -ENOMEM;
	if (cfg->tls.cert[0] && tls_ctx_new(&cfg->tls, &rt->tls_server, &rt->tls_client, err, errlen)) {
		free(rt);
		return -EINVAL;
	}
	rt->refs = 1;
	rt->gen = gen;
	rt->cfg = cfg;
	*out = rt;
	return 0;
}

struct runtime *rt_get(struct runtime *rt)
{
	rt->refs++;
	return rt;
}

void rt_put(struct runtime *rt)
{
	if (!rt || --rt->refs)
		return;
	log_debug("config snapshot %llu (%s) freed: nothing uses it any more", (unsigned long long)rt->gen,
		  rt->cfg->source);
	tls_ctx_free(rt->tls_server);
	tls_ctx_free(rt->tls_client);
	config_free(rt->cfg);
	free(rt->cfg);
	free(rt);
}
