/* overload.h: hermesd's global memory budget (its overload manager). buf.c's counter
 * buf_held is the buffer memory hermesd holds, counted where buffers are allocated and
 * freed; over `overload.max_buffer_mb` the loop sheds load in stages, the first one
 * first as pressure rises, each left only once the bytes fell `hysteresis_percent` of the
 * budget below its threshold:
 *  1 stop reading from the heaviest connections (the tunnel listener's sessions that
 *    hold at least the mean of the bytes held by sessions that hold any) until they drain;
 *  2 refuse new streams (RST_STREAM REFUSED_STREAM on the tunnel listener and the http
 *    action's h2c side) and new requests (503 with Connection: close: http requests,
 *    HTTP/1.1 CONNECTs); no session holding bytes is read;
 *  3 refuse new connections, each in its protocol where it has one: a new HTTP/2
 *    connection (tunnel listener, TLS or h2c; the http action's h2c) gets our SETTINGS
 *    and GOAWAY(ENHANCE_YOUR_CALM, last stream 0), an HTTP/1.1 one the 503 of stage 2 to
 *    its request; a transparent flow (proxy, tunnel or inbound, no protocol of
 *    hermesd's to answer in) is reset as soon as it is accepted. The admin and metrics
 *    listeners are never shed.
 * The HTTP cache's responses being stored count too (hermes_overload_cache_fill_bytes;
 * its store, bounded by cache.max_size_mb, is only reported): from stage 1 on the cache
 * starts no new fill nor background revalidation (the response passes unstored), so
 * cache fills are shed before any request is.
 * Shedding is not unreadiness: /ready stays 200. The stage is evaluated where it is used
 * (at the shed points, from the current count) and on every tick; all of it runs on the
 * loop thread only. */
#ifndef HERMES_OVERLOAD_H
#define HERMES_OVERLOAD_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct cfg_overload;

enum overload_stage { OVL_NORMAL, OVL_STOP_READING, OVL_REFUSE_STREAMS, OVL_REFUSE_CONNS, OVL_NSTAGES };

/* What a stage did (the index of hermes_overload_actions_total's label). */
enum overload_action { OVL_ACT_STOP_READING, OVL_ACT_REFUSE_STREAM, OVL_ACT_REFUSE_REQUEST, OVL_ACT_REFUSE_CONN,
		       OVL_ACT_GOAWAY, OVL_ACT_CACHE_FILL, OVL_NACTIONS };

/* Why a request, stream or connection was refused: a 503's body, a GOAWAY's debug data. */
#define OVL_REFUSE_WHY "overloaded: hermesd holds more memory than its budget allows"

/* The stage for `held` bytes held, `cur` the stage until now (pure: the thresholds with
 * their hysteresis; 0 when there is no budget). */
int overload_next(const struct cfg_overload *o, uint64_t held, int cur);
/* The stage now (0..3), from the bytes held now; logs a change (warn entering a stage,
 * info leaving it) and keeps the gauges current. */
int overload_stage(struct loop *lp);
/* At a shed point: true if the stage is at least `stage`; then counts `act` once. */
bool overload_shed(struct loop *lp, enum overload_stage stage, enum overload_action act);
/* A connection holding `held` bytes: should it stop reading? In stage 1 if it is one of
 * the heaviest, from stage 2 on if it holds any. */
bool overload_heavy(struct loop *lp, uint64_t held);
/* The tunnel sessions' tick: `n` sessions held `sum` bytes; those holding at least the
 * mean are the heaviest. */
void overload_set_share(uint64_t sum, uint64_t n);
/* Each tick: the stage, so that it falls when nothing else asks. */
void overload_tick(struct loop *lp);

#endif
