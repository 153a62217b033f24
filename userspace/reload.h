/* reload.h: how the running configuration is replaced (reload.c): by a SIGHUP (the file,
 * or with an etcd section the last document from etcd) or by a new document etcd_src.c
 * hands over. Prefix reload_. Called by the loop (loop.c) and main.c only. */
#ifndef HERMES_RELOAD_H
#define HERMES_RELOAD_H

#include "loop-t.h"

struct etcd_src;

/* The one place the current snapshot changes: the loop's pointers follow it, and the
 * previous one goes once nothing started under it is left. */
void reload_install(struct loop *lp, struct runtime *rt);
/* SIGHUP. */
void reload_sighup(struct loop *lp);
/* The configuration follows src from now on (main.c, after loop_init): its documents are
 * read off its eventfd and applied like a SIGHUP's. first_doc (may be NULL) is the
 * document applied at start, kept for SIGHUPs; it becomes lp's. */
void reload_follow_etcd(struct loop *lp, struct etcd_src *src, char *first_doc, size_t len, int64_t rev);
/* Once a second (the loop's tick): with etcd, the node's health for its status key. */
void reload_tick(struct loop *lp);
/* At exit: what reload.c holds (the documents). */
void reload_fini(struct loop *lp);

#endif
