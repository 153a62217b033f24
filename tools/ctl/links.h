/* links.h: the BPF links pinned under DIR/links, described for people: program name
 * (whole, from BTF), attach type, and the cgroup by path, or DEFUNCT when the link is
 * attached nowhere. Prefix links_. Types in links-t.h. */
#ifndef HERMES_CTL_LINKS_H
#define HERMES_CTL_LINKS_H

#include "links-t.h"

/* Describes every link pinned under <pin_root>/links, in name order (a link that
 * cannot be read gets its error). *out (free() it) is NULL and *n 0 when there are
 * none. 0 or -errno. */
int links_scan(const char *pin_root, struct link_desc **out, int *n);

#endif
