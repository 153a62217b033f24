/* links.c: hermesctl's description of the pinned links (see links.h): link and program
 * info from the kernel, the program's whole name from its BTF, and the cgroup path
 * found by walking the cgroup2 hierarchy for the link's cgroup id. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "hermes/pin.h"
#include "links.h"
#include "pinfs.h"

static const char *attach_name(__u32 t)
{
	switch (t) {
	case BPF_CGROUP_INET4_CONNECT: return "connect4";
	case BPF_CGROUP_INET6_CONNECT: return "connect6";
	case BPF_CGROUP_INET4_GETPEERNAME: return "getpeername4";
	case BPF_CGROUP_INET6_GETPEERNAME: return "getpeername6";
	case BPF_CGROUP_SOCK_OPS: return "sock_ops";
	case BPF_CGROUP_GETSOCKOPT: return "getsockopt";
	case BPF_CGROUP_SETSOCKOPT: return "setsockopt";
	case BPF_CGROUP_UDP4_SENDMSG: return "sendmsg4";
	case BPF_CGROUP_UDP6_SENDMSG: return "sendmsg6";
	case BPF_CGROUP_UDP4_RECVMSG: return "recvmsg4";
	case BPF_CGROUP_UDP6_RECVMSG: return "recvmsg6";
	case BPF_CGROUP_INET4_GETSOCKNAME: return "getsockname4";
	case BPF_CGROUP_INET6_GETSOCKNAME: return "getsockname6";
	case BPF_SK_LOOKUP: return "sk_lookup";
	default: {
		const char *s = libbpf_bpf_attach_type_str((enum bpf_attach_type)t);

		return s ? s : "unknown";
	}
	}
}

/* cgroup id -> path: the id of a cgroup v2 directory is its inode number, and
 * nothing maps it back except walking the hierarchy. */
static __u64 cg_target;
static char cg_found[PATH_MAX];

static int cg_visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (__u64)sb->st_ino == cg_target) {
		snprintf(cg_found, sizeof(cg_found), "%s", path);
		return 1;
	}
	return 0;
}

static int cgroup2_mount(char *buf, size_t len)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/self/mounts", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", m->mnt_dir);
			err = 0;
			break;
		}
	}
	endmntent(f);
	return err;
}

static void cgroup_path(__u64 id, char *out, size_t len)
{
	static char mnt[PATH_MAX];
	static int have_mnt = -1;
	static __u64 last_id;
	static char last_path[PATH_MAX];

	if (have_mnt < 0)
		have_mnt = cgroup2_mount(mnt, sizeof(mnt)) == 0;
	if (last_id && last_id == id) {
		snprintf(out, len, "%s", last_path);
		return;
	}
	snprintf(out, len, "?");
	if (!have_mnt)
		return;
	cg_target = id;
	cg_found[0] = 0;
	if (nftw(mnt, cg_visit, 32, FTW_PHYS | FTW_MOUNT) == 1 && cg_found[0])
		snprintf(out, len, "%s", cg_found);
	last_id = id;
	snprintf(last_path, sizeof(last_path), "%s", out);
}

/* The kernel keeps only 15 characters of a program's name; its BTF has the whole
 * function name (this is how bpftool prints it). Leaves buf alone on failure. */
static void prog_full_name(int pfd, const struct bpf_prog_info *pi, char *buf, size_t len)
{
	struct bpf_prog_info fi;
	struct bpf_func_info func;
	const struct btf_type *t;
	struct btf *btf;
	__u32 flen = sizeof(fi);
	const char *name;

	if (!pi->btf_id || !pi->nr_func_info)
		return;
	memset(&fi, 0, sizeof(fi));
	memset(&func, 0, sizeof(func));
	fi.nr_func_info = 1;
	fi.func_info_rec_size = sizeof(func);
	fi.func_info = (__u64)(unsigned long)&func;
	if (bpf_obj_get_info_by_fd(pfd, &fi, &flen) || fi.func_info_rec_size != sizeof(func))
		return;
	btf = btf__load_from_kernel_by_id(pi->btf_id);
	if (!btf)
		return;
	t = btf__type_by_id(btf, func.type_id);
	name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (name && !strncmp(name, pi->name, BPF_OBJ_NAME_LEN - 1))
		snprintf(buf, len, "%s", name);
	btf__free(btf);
}

static void describe_link(const char *dir, const char *name, struct link_desc *d)
{
	char path[PATH_MAX];
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	__u32 len;
	int fd, pfd;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->prog, sizeof(d->prog), "?");
	snprintf(d->attach, sizeof(d->attach), "?");
	snprintf(d->cgroup, sizeof(d->cgroup), "?");
	if (pin_path(path, sizeof(path), dir, name)) {
		snprintf(d->error, sizeof(d->error), "path too long");
		return;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(d->error, sizeof(d->error), "cannot open %s: %s", path, strerror(errno));
		return;
	}
	memset(&li, 0, sizeof(li));
	len = sizeof(li);
	if (bpf_obj_get_info_by_fd(fd, &li, &len)) {
		snprintf(d->error, sizeof(d->error), "cannot read link info: %s", strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	d->link_id = li.id;
	d->prog_id = li.prog_id;
	switch (li.type) {
	case BPF_LINK_TYPE_CGROUP:
		snprintf(d->attach, sizeof(d->attach), "%s", attach_name(li.cgroup.attach_type));
		d->cgroup_id = li.cgroup.cgroup_id;
		d->has_cgroup = true;
		d->defunct = !d->cgroup_id;
		if (d->defunct)
			snprintf(d->cgroup, sizeof(d->cgroup), "DEFUNCT (attached nowhere: its cgroup was removed, or "
				 "it was detached)");
		else
			cgroup_path(d->cgroup_id, d->cgroup, sizeof(d->cgroup));
		break;
	case BPF_LINK_TYPE_NETNS:
		snprintf(d->attach, sizeof(d->attach), "%s", attach_name(li.netns.attach_type));
		snprintf(d->cgroup, sizeof(d->cgroup), "netns inode %u", li.netns.netns_ino);
		break;
	default: {
		const char *t = libbpf_bpf_link_type_str((enum bpf_link_type)li.type);

		snprintf(d->attach, sizeof(d->attach), "%s link", t ? t : "unknown");
		break;
	}
	}

	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0)
		return;
	memset(&pi, 0, sizeof(pi));
	len = sizeof(pi);
	if (!bpf_obj_get_info_by_fd(pfd, &pi, &len) && pi.name[0]) {
		snprintf(d->prog, sizeof(d->prog), "%s", pi.name);
		if (strlen(pi.name) == BPF_OBJ_NAME_LEN - 1)
			prog_full_name(pfd, &pi, d->prog, sizeof(d->prog));
	}
	close(pfd);
}

static int name_filter(const struct dirent *de)
{
	return strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
}

int links_scan(const char *pin_root, struct link_desc **out, int *n)
{
	char dir[PATH_MAX];
	struct dirent **names = NULL;
	struct link_desc *d;
	int cnt, err;

	*out = NULL;
	*n = 0;
	err = pin_path(dir, sizeof(dir), pin_root, HERMES_PIN_LINKS);
	if (err)
		return err;
	cnt = scandir(dir, &names, name_filter, alphasort);
	if (cnt < 0)
		return errno == ENOENT ? 0 : -errno;
	d = cnt ? calloc((size_t)cnt, sizeof(*d)) : NULL;
	for (int i = 0; i < cnt; i++) {
		if (d)
			describe_link(dir, names[i]->d_name, &d[i]);
		free(names[i]);
	}
	free(names);
	if (cnt && !d)
		return -ENOMEM;
	*out = d;
	*n = cnt;
	return 0;
}
