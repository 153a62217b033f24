/* access.h: the access log's lines (one per proxied or tunneled flow when it closes,
 * one per http request when it ends), built from what the flow and the kernel flow
 * table know; log.c formats and writes them. Prefix access_. */
#ifndef HERMES_ACCESS_H
#define HERMES_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "hermes/flow.h"
#include "hermes/origdst.h"

struct loop;
struct conn;
struct udp_tally;

/* The application behind a steered socket, from hermes_origdst and hermes_flows. */
struct access_app {
	bool looked_up;
	uint32_t pid, uid;
	uint64_t cgroup_id;
	char comm[HERMES_COMM_LEN + 1];
};

/* Fills app for the app socket with cookie (hermes_flows: comm, cgroup; pid and uid
 * too when the flow table has them). Fields stay 0/"" when unknown. */
void access_app_by_cookie(struct loop *lp, uint64_t cookie, struct access_app *app);
/* The same for the app socket whose local address is peer (hermesd's accepted socket's
 * peer): hermes_origdst gives pid, uid and cookie, then as above. Once per app: app
 * remembers that it was looked up. */
void access_app_by_peer(struct loop *lp, const struct hermes_addr *peer, struct access_app *app);

/* The line of a proxied, tunneled (either end) or protected-ingress flow, at close. */
void access_conn(struct loop *lp, const struct conn *c);

/* What a flow's line says (access_conn's, and the UDP relay's flows). */
struct access_flow {
	uint64_t id;
	const struct access_app *app;
	const struct hermes_addr *client, *dst, *upstream; /* NULL or family 0: "-" */
	const char *action;
	const struct udp_tally *udp; /* a UDP flow: protocol=udp and its datagrams; NULL: TCP */
	uint64_t sent, received;     /* bytes from / to the client (the application) */
	uint64_t duration_ms;
	const char *result;
};
void access_flow(const struct access_flow *a);

/* What an http request's line says. */
struct access_http {
	uint64_t id;                            /* the client connection */
	const struct access_app *app;
	const struct hermes_addr *client, *dst; /* dst: the original destination (family 0: none) */
	const struct hermes_addr *upstream;     /* the endpoint of the last attempt (NULL: none) */
	const char *method, *path, *route;
	int status;                             /* 0: no response (reset) */
	unsigned attempts;
	uint64_t bytes_in, bytes_out;           /* from the client / to the client */
	uint64_t duration_ms;
};
void access_http(const struct access_http *h);

#endif
