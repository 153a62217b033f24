/* filter.h: hermes-top's flow filters, from the command line, --filter and the live
 * view's / key. A filter is words separated by blanks. FIELD:VALUE words test one field
 * (pid:123, comm:curl or a glob comm:py*, src: or dst:CIDR[:PORT] such as dst:10.0.0.0/8
 * or dst:1.2.3.4:80, port:80, action:proxy, engine:uring, state:closed or a TCP state);
 * a word with no known field is a case-insensitive substring of the command, pid,
 * source, original destination or action. A leading '!' or '-' negates a word. Words
 * on the same field: any may match; on different fields: all must; a negated word
 * must not match. Pure functions: tests/unit/test_top_filter.c. Prefix filter_. Types
 * in filter-t.h. */
#ifndef HERMES_TOP_FILTER_H
#define HERMES_TOP_FILTER_H

#include <stddef.h>

#include "filter-t.h"
#include "sample-t.h"

/* Parses text into f; on a bad word returns -EINVAL with the reason in err. */
int filter_parse(const char *text, struct filter *f, char *err, size_t errlen);

/* Whether row r passes f (a NULL filter passes everything). */
bool filter_match(const struct filter *f, const struct row *r);

/* The field named by name[0..len) (pid, comm, ...), F_TEXT when none is. */
enum ffield filter_field(const char *name, size_t len);

#endif
