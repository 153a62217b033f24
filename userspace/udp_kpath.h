/* udp_kpath.h: hermesd's flow table of the UDP kernel path (udp.kernel_path; udp_kpath.c).
 * The programs send a proxy flow's datagrams straight from the app's socket, marked, and
 * count them in hermes_udp_kflows; this keeps the flows hermesd shows and ends. */
#ifndef HERMES_UDP_KPATH_US_H
#define HERMES_UDP_KPATH_US_H

#include "loop-t.h"
#include "udp.h"

struct udp_kpath;

/* The table, empty (NULL: out of memory, logged). */
struct udp_kpath *udp_kpath_new(struct loop *lp);
/* Once a second, from the map at fd (hermes_udp_kflows; -1: not open yet): new flows
 * counted, datagram counters' growth added to the metrics, a flow idle for
 * udp.idle_timeout_ms deleted from the map and written to the access log. */
void udp_kpath_tick(struct udp_kpath *k, int fd);
/* Calls cb for each kernel-path flow (udp_flow_info.kernel set). */
void udp_kpath_foreach(struct udp_kpath *k, void (*cb)(const struct udp_flow_info *, void *), void *arg);
/* At exit: every flow's access line (result shutdown), its map entry deleted so that a
 * next hermesd counts from zero; the table freed. */
void udp_kpath_free(struct udp_kpath *k);

#endif
