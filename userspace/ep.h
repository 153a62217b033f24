/* ep.h: what every endpoint shares (ep.c): the bytes to read before its own (a tunnel
 * head's leftovers), and the calls the flow and the relay make on any endpoint. An
 * implementation calls ep_init and then reports with ep_up/ep_data/ep_drained/ep_error,
 * which stay silent once its owner let go. */
#ifndef HERMES_EP_H
#define HERMES_EP_H

#include "ep-t.h"

void ep_init(struct ep *e, const struct ep_ops *ops, const struct ep_owner_ops *own, void *owner, int side);

/* Reading e: its prepended bytes first, then its own. */
void ep_peek(const struct ep *e, const uint8_t **p, size_t *n);
size_t ep_avail(const struct ep *e);
void ep_consume(struct ep *e, size_t n);
/* buf[off, off + len) is read from e before anything else; e owns buf from now on. */
void ep_prepend(struct ep *e, char *buf, size_t off, size_t len);
/* The owner lets go of e (NULL: nothing) and frees it with ep_free once !ep_busy. */
void ep_close(struct ep *e, enum ep_end how);
bool ep_busy(const struct ep *e);
void ep_free(struct ep *e);
/* The owner lets go of e, which frees itself once idle. */
void ep_drop(struct ep *e, enum ep_end how);

/* For implementations: tell the owner, unless it let go. */
void ep_up(struct ep *e);
void ep_data(struct ep *e);
void ep_drained(struct ep *e);
void ep_error(struct ep *e, int err);
void ep_settled(struct ep *e);
/* For implementations: free what ep_init and ep_prepend hold. */
void ep_release(struct ep *e);

/* A stream's receive ring: append (0, -ENOMEM, or -ENOBUFS past EP_RING_SIZE, a
 * flow-control violation), the first contiguous run, consumed bytes, free. */
int ep_ring_put(struct ep_ring *r, const void *p, size_t n);
void ep_ring_peek(const struct ep_ring *r, const uint8_t **p, size_t *n);
void ep_ring_consume(struct ep_ring *r, size_t n);
void ep_ring_free(struct ep_ring *r);
/* Once a second: rings empty since the last call give their memory back, so that an
 * idle stream holds none (its first page, and a mapping, otherwise). */
void ep_ring_tick(void);

#endif
