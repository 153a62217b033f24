/* addr.h: socket address parsing and formatting ("10.0.0.1:80", "[fd00::1]:80"),
 * and conversion to the BPF-shared struct hermes_addr. */
#ifndef HERMES_ADDR_H
#define HERMES_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#include "config-t.h"
#include "hermes/origdst.h"

#define ADDR_STRLEN 64

/* Parses "IPv4:PORT" or "[IPv6]:PORT" (port 1..65535 required). Returns 0 or -EINVAL. */
int addr_parse(const char *s, struct cfg_sockaddr *out);
/* Formats as "IPv4:PORT" / "[IPv6]:PORT"; IPv4-mapped IPv6 prints as IPv4. Returns buf. */
const char *addr_fmt(const struct sockaddr *sa, char *buf, size_t len);
/* struct sockaddr (in/in6, v4-mapped folded to v4) <-> struct hermes_addr. */
int addr_to_hermes(const struct sockaddr *sa, struct hermes_addr *out);
socklen_t addr_from_hermes(const struct hermes_addr *in, struct sockaddr_storage *out);

#endif
