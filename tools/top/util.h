/* util.h: the small helpers every part of hermes-top uses: the two clocks, addresses
 * normalized so that memcmp compares them, the engine names, and the short text forms
 * of sizes, rates, times, RTTs, TCP states, actions and process names the table, the
 * detail view, batch output and follow mode all print the same way. */
#ifndef HERMES_TOP_UTIL_H
#define HERMES_TOP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hermes/flow.h"
#include "sample-t.h"

#define NSEC_PER_SEC 1000000000ULL

/* How the table and the header name an engine ("?" unknown, "-" none). */
extern const char *const engine_names[ENG_MAX];
/* How JSON and filters (engine:NAME) name it; NULL for unknown. */
extern const char *const engine_json_names[ENG_MAX];

/* CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns and so of the flow table. */
uint64_t mono_ns(void);
/* CLOCK_REALTIME as a UNIX time with fractions. */
double wall_time(void);

/* Only family, port and the address bytes that family uses: comparable with memcmp. */
void haddr_norm(struct hermes_addr *out, const struct hermes_addr *in);
/* Equality of normalized addresses (memcmp: not an order anyone reads). */
int haddr_cmp(const struct hermes_addr *a, const struct hermes_addr *b);
/* Ordering for the dst sort: family, address, then port as a number. */
int haddr_order(const struct hermes_addr *a, const struct hermes_addr *b);

/* "IP:PORT" / "[IPv6]:PORT", "-" for an address with no family yet. */
void fmt_haddr(const struct hermes_addr *a, char *buf, size_t len);
/* "0", "812", "95.4K", "512M": at most 5 characters, powers of 1024. */
void fmt_human(double v, char *buf, size_t len);
/* prefix and the local time of day of a UNIX time: "closed 14:03:07" */
void fmt_clock(double t, const char *prefix, char *buf, size_t len);
/* RFC 3339 in UTC with milliseconds: "2026-12-06T14:03:07.123Z" */
void fmt_rfc3339(double t, char *buf, size_t len);
/* "4.2s", "3m07s", "2h05m", "3d04h" */
void fmt_age(uint64_t ns, char *buf, size_t len);
/* "-" (unknown), "850us", "1.25ms", "250ms" */
void fmt_rtt(uint32_t us, char *buf, size_t len);
/* comm is not NUL-terminated when it fills the field; anything unprintable becomes '?'. */
void fmt_comm(const char *comm, char *buf, size_t len);
/* ss(8) spelling of the BPF_TCP_* states ("estab", "syn-sent", ...; "?" otherwise). */
const char *tcp_state_name(unsigned st);
/* The policy action's name, "?" for a value this build does not know. */
const char *action_name(unsigned a);
/* strlcpy: copies what fits, always terminated (truncation is expected and harmless). */
void scopy(char *dst, size_t len, const char *src);

#endif
