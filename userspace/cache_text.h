/* cache_text.h: the head the HTTP cache stores, as HTTP/1.1 text (cache_text.c). */
#ifndef HERMES_CACHE_TEXT_H
#define HERMES_CACHE_TEXT_H

#include <stdint.h>

#include "buf.h"
#include "cache_policy.h"
#include "hmsg.h"

/* The head to store: resp's status and the fields cache_stored_fields keeps, as HTTP/1.1
 * text, a Date added when the origin sent none (RFC 9110 6.6.1), into b. 0 or -ENOMEM. */
int cache_stored_text(const struct hmsg *resp, const struct cache_cc *cc, int64_t now, struct hbuf *b);

#endif
