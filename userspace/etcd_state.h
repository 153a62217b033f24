/* etcd_state.h: the first line of the etcd source's state file (etcd_src.c writes the
 * last applied document there for a start without etcd): a YAML comment naming the
 * node's key and the document's revision. Pure string work, kept apart from the source's
 * thread so that the unit test and the fuzz target link it alone. */
#ifndef HERMES_ETCD_STATE_H
#define HERMES_ETCD_STATE_H

#include <stddef.h>
#include <stdint.h>

/* The state file's first line, a YAML comment naming the key and revision, and its
 * reading: 0, or -EINVAL when the line is not one. */
void etcd_src_state_header(char *line, size_t len, const char *key, int64_t rev);
int etcd_src_state_parse(const char *line, char *key, size_t keylen, int64_t *rev);

#endif
