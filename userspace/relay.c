/* relay.c: the relay between a flow's two endpoints. Bytes an endpoint receives wait
 * in its own buffers (a socket's provided buffers, a stream's window) until the other
 * endpoint has sent them, so each direction's buffer is its backpressure; an endpoint
 * ends its write side only once its source ended and every byte of it went out (a FIN
 * never overtakes data), and the flow is done when both write sides ended. What the
 * endpoints are (sockets, TLS, HTTP/2 streams) is theirs to know: the relay only calls
 * their ops, which is also what lets a unit test drive it with fake endpoints. */
#include "ep.h"
#include "relay.h"

static struct ep *other(const struct relay *r, const struct ep *e)
{
	return e == r->ep[0] ? r->ep[1] : r->ep[0];
}

/* dst's source ended and dst sent all of it: end dst's write side too. */
static void forward_end(struct ep *dst)
{
	struct ep *src = dst->src;

	if (src->eof && !dst->ending && !dst->shut && !ep_avail(src)) {
		dst->ending = true;
		dst->ops->shutdown(dst);
	}
}

int relay_start(struct relay *r)
{
	int err;

	r->ep[0]->src = r->ep[1];
	r->ep[1]->src = r->ep[0];
	if ((err = r->ep[0]->ops->start(r->ep[0])) || (err = r->ep[1]->ops->start(r->ep[1])))
		return err;
	r->running = true;
	/* bytes read with a tunnel's head, or a stream's early DATA */
	for (int i = 0; i < 2 && r->running; i++)
		relay_data(r, r->ep[i]);
	return 0;
}

void relay_data(struct relay *r, struct ep *e)
{
	struct ep *dst = other(r, e);

	if (!r->running)
		return;
	dst->ops->kick(dst);
	if (r->running)
		forward_end(dst);
}

void relay_drained(struct relay *r, struct ep *e)
{
	if (!r->running)
		return;
	forward_end(e);
	if (r->running && r->ep[0]->shut && r->ep[1]->shut) {
		r->running = false;
		r->own->done(r);
	}
}

void relay_error(struct relay *r, struct ep *e, int err)
{
	if (!r->running)
		return;
	r->running = false;
	r->own->failed(r, e == r->ep[0] ? 0 : 1, err);
}
