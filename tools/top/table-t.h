/* table-t.h: the sizes of hermes-top's table text (table.c): its columns, a cell, the
 * header lines. Functions live in table.h. */
#ifndef HERMES_TOP_TABLE_T_H
#define HERMES_TOP_TABLE_T_H

/* PROTO is last: it is the first to go on a narrow terminal, where ENGINE/HOP "udp"
 * still tells a UDP flow apart. */
enum col { C_PROC, C_SRC, C_DST, C_ACTION, C_ENGINE, C_RATE, C_BYTES, C_RTT, C_RETRANS, C_AGE, C_STATE, C_PROTO, NCOL };

#define CELL_MAX 80      /* bytes of one cell's text */
#define SUM_LINES 3      /* header lines above the table */
#define LINE_MAX_LEN 1024

#endif
