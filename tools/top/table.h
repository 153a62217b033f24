/* table.h: the text both of hermes-top's table front ends share, the live view and
 * batch text: the header (summary) lines, the columns and how a narrow terminal fits
 * them, one table line per row. Prefix table_. Types in table-t.h. */
#ifndef HERMES_TOP_TABLE_H
#define HERMES_TOP_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "sample-t.h"
#include "table-t.h"
#include "view-t.h"

/* Column widths for a terminal `avail` columns wide (0: no limit, for batch). */
void table_layout(const struct snapshot *s, const struct view *v, int avail, int width[NCOL], bool show[NCOL]);
/* Scrolled layout (the live view's Right key): PID/COMM stays, the `hcol` columns after
 * it are scrolled away, and the next columns show at full width while they fit. */
void table_layout_scrolled(const struct snapshot *s, const struct view *v, int avail, int hcol, int width[NCOL],
			   bool show[NCOL]);
/* One table line (header when r is NULL) into out, without trailing blanks. */
void table_line(const struct row *r, const int width[NCOL], const bool show[NCOL], char *out, size_t len);
/* A column's title. */
const char *table_col_title(enum col c);

/* The header lines shared by the live view and batch text. */
void table_summary(const struct sampler *smp, const struct snapshot *s, const struct view *v,
		   char out[SUM_LINES][LINE_MAX_LEN]);

/* "uring/skmsg", "http/tcp", "direct", "-" */
void table_engine_hop(const struct row *r, char *buf, size_t len);

#endif
