/* pinfs.c: the pin root on bpffs. Creates it (mounting bpffs on /sys/fs/bpf when
 * nothing is there, as systemd would), opens pinned objects by name, and tears
 * everything down for `hermesctl disable` and hermesd's shutdown. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <bpf/bpf.h>

#include "hermes/pin.h"
#include "pinfs.h"

#define BPFFS_MOUNT "/sys/fs/bpf"

int pin_path(char *buf, size_t len, const char *root, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", root, name);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* 1 if path is on bpffs, 0 if it is elsewhere, -errno if it cannot be examined. */
static int on_bpffs(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs))
		return -errno;
	return sfs.f_type == (typeof(sfs.f_type))BPF_FS_MAGIC;
}

/* Copies root without trailing slashes, so prefix checks and path joins see one
 * spelling ("/sys/fs/bpf/hermes/" == "/sys/fs/bpf/hermes"). */
static int norm_root(char *buf, size_t len, const char *root)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (!n)
		return -EINVAL;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, root, n);
	buf[n] = 0;
	return 0;
}

static int under_sys_fs_bpf(const char *root)
{
	size_t n = strlen(BPFFS_MOUNT);

	return !strncmp(root, BPFFS_MOUNT, n) && (root[n] == 0 || root[n] == '/');
}

/* The nearest existing ancestor of path (or path itself), into buf. */
static int existing_ancestor(char *buf, size_t len, const char *path)
{
	struct stat st;

	if (strlen(path) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (;;) {
		char *slash;

		if (!stat(buf, &st))
			return 0;
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(buf, '/');
		if (!slash)
			return snprintf(buf, len, ".") < 0 ? -EINVAL : 0;
		if (slash == buf) {
			buf[1] = 0;
			return 0;
		}
		*slash = 0;
	}
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int pin_root_check(const char *root_in)
{
	char root[PATH_MAX], anc[PATH_MAX];
	struct stat st;
	int err, bpffs;

	err = norm_root(root, sizeof(root), root_in);
	if (!err)
		err = existing_ancestor(anc, sizeof(anc), root);
	if (err)
		return err;
	if (stat(anc, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	bpffs = on_bpffs(anc);
	if (bpffs < 0)
		return bpffs;
	/* pin_ensure_root mounts bpffs on /sys/fs/bpf when nothing is there */
	if (!bpffs && !(under_sys_fs_bpf(root) && under_sys_fs_bpf(anc)))
		return -ENOTSUP;
	return 0;
}

int pin_ensure_root(const char *root_in)
{
	char root[PATH_MAX], anc[PATH_MAX], links[PATH_MAX];
	int err, bpffs;

	err = norm_root(root, sizeof(root), root_in);
	if (err)
		return err;
	err = existing_ancestor(anc, sizeof(anc), root);
	if (err)
		return err;
	bpffs = on_bpffs(anc);
	if (bpffs < 0)
		return bpffs;
	if (!bpffs) {
		/* Only the conventional mount point is ours to mount: anywhere else, putting
		 * a bpffs over the user's directory would hide what is there. */
		if (!under_sys_fs_bpf(root))
			return -ENOTSUP;
		if (mount("bpf", BPFFS_MOUNT, "bpf", 0, "mode=0700"))
			return -errno;
		bpffs = on_bpffs(BPFFS_MOUNT);
		if (bpffs <= 0)
			return bpffs < 0 ? bpffs : -ENOTSUP;
	}
	err = mkdir_p(root, 0700);
	if (err)
		return err;
	err = pin_path(links, sizeof(links), root, HERMES_PIN_LINKS);
	if (err)
		return err;
	if (mkdir(links, 0700) && errno != EEXIST)
		return -errno;
	/* mkdir_p may have stopped at an existing non-bpffs directory below root. */
	bpffs = on_bpffs(root);
	if (bpffs <= 0)
		return bpffs < 0 ? bpffs : -ENOTSUP;
	return 0;
}

/* LOCK_DIR/<root escaped>.lock: '/' becomes '-', anything but [A-Za-z0-9_.] \xNN (so
 * /a-b and /a/b get different files), as systemd-escape --path does. */
static int lock_path(char *buf, size_t len, const char *root_in)
{
	char root[PATH_MAX];
	size_t n;
	int err = norm_root(root, sizeof(root), root_in);

	if (err)
		return err;
	n = (size_t)snprintf(buf, len, "%s/", HERMES_LOCK_DIR);
	for (const char *p = root[0] == '/' && root[1] ? root + 1 : root; *p && n < len; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/')
			n += (size_t)snprintf(buf + n, len - n, "-");
		else if (isalnum(c) || c == '_' || (c == '.' && p != root + 1))
			n += (size_t)snprintf(buf + n, len - n, "%c", c);
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
	}
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, ".lock");
	return n < len ? 0 : -ENAMETOOLONG;
}

int pin_lock(const char *root, char *path, size_t len, int *holder)
{
	int err = lock_path(path, len, root);

	*holder = 0;
	if (err)
		return err;
	if (mkdir(HERMES_LOCK_DIR, 0755) && errno != EEXIST)
		return -errno;
	/* a holder that stops unlinks the file: lock again if ours was unlinked meanwhile */
	for (int tries = 0; tries < 8; tries++) {
		struct stat a, b;
		char pid[32];
		ssize_t r;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			err = errno == EWOULDBLOCK ? -EBUSY : -errno;
			r = pread(fd, pid, sizeof(pid) - 1, 0);
			if (r > 0) {
				pid[r] = 0;
				*holder = atoi(pid);
			}
			close(fd);
			return err;
		}
		if (fstat(fd, &a) || stat(path, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
			close(fd);
			continue;
		}
		r = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)r, 0) != r) {
			err = -errno;
			close(fd);
			return err;
		}
		return fd;
	}
	return -EAGAIN;
}

void pin_unlock(const char *path, int fd)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}

int pin_open(const char *root, const char *name)
{
	char path[PATH_MAX];
	int err = pin_path(path, sizeof(path), root, name);
	int fd;

	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	return fd;
}

static void report(pin_teardown_cb cb, void *arg, enum pin_event ev, const char *path, int err)
{
	if (cb)
		cb(ev, path, err, arg);
}

static void keep_first(int *first, int err)
{
	if (err && !*first)
		*first = err;
}

/* Detaches and unpins every link under dir. A pin that is not a link (or a link
 * type without detach support) is still unpinned: dropping the last reference
 * detaches it too, unless a running hermesd holds it open. */
static int teardown_links(const char *dir, pin_teardown_cb cb, void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	int first = 0, err, uerr;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		err = pin_path(path, sizeof(path), dir, de->d_name);
		if (err) {
			keep_first(&first, err);
			continue;
		}
		/* unpinned before it is detached: a running hermesd that sees its link
		 * defunct attaches it again only while its pin is there */
		fd = bpf_obj_get(path);
		uerr = unlink(path) ? -errno : 0;
		if (fd < 0) {
			err = -errno;
		} else {
			err = bpf_link_detach(fd) ? -errno : 0;
			close(fd);
		}
		report(cb, arg, PIN_EV_DETACH, path, err);
		keep_first(&first, err);
		report(cb, arg, PIN_EV_UNPIN, path, uerr);
		keep_first(&first, uerr);
	}
	closedir(d);
	err = rmdir(dir) ? -errno : 0;
	report(cb, arg, PIN_EV_RMDIR, dir, err);
	keep_first(&first, err);
	return first;
}

/* Unpins everything under dir, depth first, then removes dir itself. */
static int teardown_dir(const char *dir, pin_teardown_cb cb, void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	int first = 0, err;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		err = pin_path(path, sizeof(path), dir, de->d_name);
		if (err) {
			keep_first(&first, err);
			continue;
		}
		if (lstat(path, &st)) {
			keep_first(&first, -errno);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			keep_first(&first, teardown_dir(path, cb, arg));
			continue;
		}
		err = unlink(path) ? -errno : 0;
		report(cb, arg, PIN_EV_UNPIN, path, err);
		keep_first(&first, err);
	}
	closedir(d);
	err = rmdir(dir) ? -errno : 0;
	report(cb, arg, PIN_EV_RMDIR, dir, err);
	keep_first(&first, err);
	return first;
}

int pin_teardown_report(const char *root_in, pin_teardown_cb cb, void *arg)
{
	char root[PATH_MAX], links[PATH_MAX];
	struct stat st;
	int first = 0, err;

	err = norm_root(root, sizeof(root), root_in);
	if (err)
		return err;
	if (stat(root, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* Never delete anything that is not on bpffs: a mistyped --pin-root must not
	 * turn `hermesctl disable` into rm -rf of a real directory. */
	err = on_bpffs(root);
	if (err <= 0)
		return err < 0 ? err : -ENOTSUP;
	/* Nor a whole bpffs mount (--pin-root /sys/fs/bpf): other tools pin there too. */
	{
		char parent[PATH_MAX];
		struct stat pst;

		if (pin_path(parent, sizeof(parent), root, "..") || stat(parent, &pst))
			return -EINVAL;
		if (pst.st_dev != st.st_dev || pst.st_ino == st.st_ino)
			return -EBUSY;
	}

	err = pin_path(links, sizeof(links), root, HERMES_PIN_LINKS);
	if (err)
		return err;
	/* Links first: detaching stops steering new connections before the maps the
	 * programs use lose their pins. */
	keep_first(&first, teardown_links(links, cb, arg));
	keep_first(&first, teardown_dir(root, cb, arg));
	return first;
}

int pin_teardown(const char *root)
{
	return pin_teardown_report(root, NULL, NULL);
}
