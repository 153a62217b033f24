/* ctl_etcd.h: how hermesctl's overlay commands reach etcd (ctl_etcd.c): the options
 * --etcd URL[,URL...], --prefix P, --etcd-cert/--etcd-key/--etcd-ca FILE, or the `etcd`
 * section of a hermes.yaml (-c FILE, else the default config file when it exists and
 * no --etcd is given); options win over the file. The client is userspace/etcd.c's (the
 * JSON gateway, as hermesd's own). Prefix ctl_etcd_. */
#ifndef HERMES_CTL_ETCD_H
#define HERMES_CTL_ETCD_H

#include "config-t.h"
#include "etcd.h"

struct ctl_etcd {
	struct cfg_etcd e;  /* endpoints, prefix, TLS files, as found */
	const char *config; /* -c FILE (NULL: none given) */
	struct etcd cl;     /* after ctl_etcd_open */
};

/* Takes the etcd options out of argv[1..argc) (argv[0] is the command, named cmd in
 * messages); the other words stay, in order, in rest[0..*n_rest). EXIT_OK or the usage
 * error. */
int ctl_etcd_parse(int argc, char **argv, const char *cmd, struct ctl_etcd *x, char **rest, int *n_rest);
/* The file's section under the options, then the client. EXIT_OK, EXIT_USAGE (no
 * endpoint or prefix, a file that does not load) or EXIT_RUNTIME. */
int ctl_etcd_open(struct ctl_etcd *x, const char *cmd);
void ctl_etcd_close(struct ctl_etcd *x);

/* The help text of the options, for a command's entry in help.c (one paragraph). */
#define CTL_ETCD_HELP \
"        etcd is reached as hermesd reaches it: --etcd URL[,URL...] (client\n" \
"        URLs, http:// or https://, tried in turn), --prefix P (the overlay's\n" \
"        keys, e.g. /hermes/lab), and for a cluster that asks for client\n" \
"        certificates --etcd-cert FILE, --etcd-key FILE and --etcd-ca FILE;\n" \
"        or the etcd section of a hermes.yaml given with -c FILE (the default\n" \
"        config file when neither -c nor --etcd is given). Options on the\n" \
"        line win over the file.\n"

#endif
