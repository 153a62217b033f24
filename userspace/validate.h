/* validate.h: everything a start of hermesd would find wrong, checked without
 * attaching or changing anything (hermesd --check, and hermesd before it attaches). */
#ifndef HERMES_VALIDATE_H
#define HERMES_VALIDATE_H

#include "config-t.h"

/* Checks what parsing cannot: the cgroup is a directory on a cgroup v2 mount, the pin
 * root is (or can be) on bpffs, the user exists, the TLS certificate, key and CA load
 * and the key matches the certificate, the TC interfaces exist, the access log can be
 * written, no two listeners want the same port. Prints one line per problem on stderr, "FILE:LINE: ..." when the file set the
 * value, "--option VALUE: ..." when the command line did. Returns how many problems. */
int validate_config(const struct hermes_config *cfg);

#endif
