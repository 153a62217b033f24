/* etcd_conn.h: how a hermesctl command reaches etcd (the overlay commands): the options
 * --etcd URL[,URL], --prefix P, --etcd-cert/--etcd-key/--etcd-ca, or -c hermes.yaml for
 * its etcd section (the flags win), and $HERMES_ETCD for the endpoints. Prefix ctl_etcd_. */
#ifndef HERMES_CTL_ETCD_CONN_H
#define HERMES_CTL_ETCD_CONN_H

#include "config-t.h"
#include "etcd.h"

struct ctl_etcd {
	const char *eps, *prefix, *cert, *key, *ca, *conf; /* as given */
	/* from ctl_etcd_open */
	struct cfg_etcd e;   /* what is used: endpoints, prefix, TLS files */
	struct etcd cl;
	bool prefix_given;   /* by --prefix or -c (else the caller may take its own) */
};

/* Takes argv[*i] (and its value, argv[*i + 1] or after '=') if it is one of the options:
 * 1 (*i advanced past it), 0 when it is not one, -1 after a usage error (printed). */
int ctl_etcd_option(struct ctl_etcd *e, int argc, char **argv, int *i);
/* The client, from the options, else -c's etcd section, else $HERMES_ETCD. 0, or -1
 * after saying what is missing (cmd starts the message). */
int ctl_etcd_open(struct ctl_etcd *e, const char *cmd);
/* The help text's lines for the options (for help.c). */
#define CTL_ETCD_HELP \
"        --etcd URL[,URL...]  etcd's client URLs (http://HOST:PORT or https://...),\n" \
"                       tried in turn; default $HERMES_ETCD, else -c's etcd.endpoints\n" \
"        --prefix P     the overlay's key prefix (/hermes/NAME); default -c's\n" \
"                       etcd.prefix, else the overlay file's prefix\n" \
"        --etcd-cert F, --etcd-key F, --etcd-ca F  TLS client certificate, its key\n" \
"                       and the CA of etcd's certificate (https:// endpoints)\n" \
"        -c FILE        take all of the above from hermes.yaml's etcd section\n"

#endif
