/* splice.h: the splice relay engine (splice.c) for flows with a socket on both sides. */
#ifndef HERMES_SPLICE_H
#define HERMES_SPLICE_H

#include "loop-t.h"

/* 0 once the kernel moves c's bytes, or -errno (the flow then relays with io_uring). */
int splice_start(struct loop *lp, struct conn *c);
void splice_unlink(struct loop *lp, struct conn *c);
void splice_tick(struct loop *lp, struct conn *c);
/* Every byte that ever entered fd's send queue (tcpi_bytes_acked + SIOCOUTQ), plus
 * what the handshake added: compare with a baseline taken before any payload. */
int splice_raw_written(int fd, uint64_t *out);

#endif
