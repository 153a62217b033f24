/* udp_route.h: the local route of the UDP relay's IPv6 slot addresses (udp_route.c). */
#ifndef HERMES_UDP_ROUTE_H
#define HERMES_UDP_ROUTE_H

#include <stdint.h>

/* fd48:72::PORT:0/112 (port in host order) made local on lo (table local, proto 72),
 * replacing one left behind. 0 or -errno (EPERM without CAP_NET_ADMIN, ENODEV without
 * lo, ...). */
int udp_route6_add(uint16_t port);
/* The route removed again. 0 or -errno (ESRCH: it was not there). */
int udp_route6_del(uint16_t port);

#endif
