/* links-t.h: one BPF link pinned under the pin root as hermesctl describes it
 * (links.c): what status prints and what disable names as it detaches. Functions live
 * in links.h. */
#ifndef HERMES_CTL_LINKS_T_H
#define HERMES_CTL_LINKS_T_H

#include <limits.h>
#include <stdbool.h>

#include <linux/types.h>

struct link_desc {
	char name[NAME_MAX + 1];
	char prog[128];
	char attach[48];
	char cgroup[PATH_MAX];
	char error[PATH_MAX + 128];
	__u32 link_id, prog_id;
	__u64 cgroup_id;
	bool has_cgroup;
	bool defunct; /* a cgroup link attached nowhere (cgroup removed, or detached) */
};

#endif
