/* masque.h: the CONNECT-UDP request (RFC 9298) as the tunnel listener reads it
 * (masque.c): over HTTP/1.1 `GET` with `Upgrade: connect-udp`, over HTTP/2 the extended
 * CONNECT (RFC 8441) that sess_h2.c hands over in the same HTTP/1.1 form. Pure
 * functions on a parsed head. */
#ifndef HERMES_MASQUE_H
#define HERMES_MASQUE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "hermes/origdst.h"
#include "http1.h"

/* The answer's field (RFC 9297 3.4): capsules follow on the stream. */
#define MASQUE_CAPSULE_FIELD "Capsule-Protocol: ?1"

/* The URI template's fixed part: /.well-known/masque/udp/{target_host}/{target_port}/ */
#define MASQUE_PATH "/.well-known/masque/udp/"
#define MASQUE_PATH_MAX 96 /* the template filled with an IPv6 literal, its colons encoded */

/* req is a GET asking to upgrade to connect-udp: the CONNECT-UDP road, which answers it
 * or refuses it (any other request goes the way it went before: CONNECT, an explicit
 * proxy request, or 405). */
bool masque_upgrade(const struct h1_request *req);
/* The target of a CONNECT-UDP request, checked whole (method GET, Upgrade connect-udp,
 * Connection upgrade, Capsule-Protocol ?1, the default URI template with an IP literal
 * and a port 1..65535, percent-decoded): 0 with *ss and *len, or the status to answer
 * (400; 501 for an upgrade to anything else) with *why saying what was wrong. */
int masque_target(const struct h1_request *req, struct sockaddr_storage *ss, socklen_t *len, const char **why);
/* The request path for target, as the client side sends it (the template filled with
 * an IP literal, an IPv6 one's colons percent-encoded: RFC 9298 3), into buf
 * (MASQUE_PATH_MAX bytes). */
void masque_path(const struct hermes_addr *target, char *buf, size_t cap);

#endif
