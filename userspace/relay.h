/* relay.h: the relay (relay.c): moves bytes between two endpoints, both ways, and
 * forwards each direction's end after its last byte. It knows endpoints only by their
 * ops: a socket, TLS or an HTTP/2 stream relay alike. */
#ifndef HERMES_RELAY_H
#define HERMES_RELAY_H

#include "ep-t.h"

struct relay;

struct relay_owner_ops {
	void (*done)(struct relay *r);                   /* both directions ended */
	void (*failed)(struct relay *r, int side, int err); /* ep[side] failed (-errno) */
};

struct relay {
	struct ep *ep[2];
	const struct relay_owner_ops *own;
	void *owner;
	bool running;
};

/* Starts relaying between r->ep[0] and r->ep[1] (bytes either already holds go first).
 * 0, or -errno when an endpoint cannot start. */
int relay_start(struct relay *r);
/* From the endpoints' owner callbacks while running: e has bytes or its EOF; e sent
 * bytes or ended its write side; e failed. */
void relay_data(struct relay *r, struct ep *e);
void relay_drained(struct relay *r, struct ep *e);
void relay_error(struct relay *r, struct ep *e, int err);

#endif
