/* pinfs.h: the pin root on bpffs (mounting it when missing), pinned map lookup and
 * the teardown that `hermesctl disable` and hermesd's shutdown share. */
#ifndef HERMES_PINFS_H
#define HERMES_PINFS_H

#include <stddef.h>

/* Makes sure `root` lives on a bpffs (mounting bpffs on /sys/fs/bpf when root is under
 * it and nothing is mounted there) and exists (mkdir -p, plus root/links). */
int pin_ensure_root(const char *root);
/* Could pin_ensure_root(root) succeed? Checks without changing anything: root (or its
 * nearest existing ancestor) is a directory on bpffs, or root is under /sys/fs/bpf where
 * bpffs gets mounted. 0, -ENOTSUP (not bpffs), -ENOTDIR, or the -errno of stat/statfs. */
int pin_root_check(const char *root);
/* snprintf(buf, "%s/%s", root, name); -ENAMETOOLONG if it does not fit. */
int pin_path(char *buf, size_t len, const char *root, const char *name);
/* Opens a pinned object by name under root; returns fd or -errno. */
int pin_open(const char *root, const char *name);
/* Detaches every link pinned under root/links (BPF_LINK_DETACH), removes all pins
 * under root and the root itself. Returns 0 or the first -errno (and goes on). */
int pin_teardown(const char *root);

/* Takes the lock of pin root `root` (HERMES_LOCK_DIR, made if missing) and writes our
 * pid in it; path gets the lock file's name. Returns the locked fd, -EBUSY with the
 * holder's pid in *holder (0 if it has not written it yet) when another process holds
 * it, or -errno. */
int pin_lock(const char *root, char *path, size_t len, int *holder);
/* Removes the lock file (while still holding it, so no one locks a file about to
 * vanish: pin_lock checks that the file it locked is still the one at path) and closes fd. */
void pin_unlock(const char *path, int fd);

/* What pin_teardown_report did to one path; err is 0 or the -errno it met. */
enum pin_event {
	PIN_EV_DETACH, /* BPF_LINK_DETACH on a pinned link */
	PIN_EV_UNPIN,  /* unlink of a pin (link or map) */
	PIN_EV_RMDIR,  /* a directory of the pin root removed */
};
typedef void (*pin_teardown_cb)(enum pin_event ev, const char *path, int err, void *arg);
/* pin_teardown that reports every step to cb (which may be NULL), so hermesctl can
 * say what was detached. Refuses (-ENOTSUP) a root not on bpffs and (-EBUSY) a root
 * that is a bpffs mount point itself: it never deletes what is not Hermes state.
 * -ENOENT if root does not exist. */
int pin_teardown_report(const char *root, pin_teardown_cb cb, void *arg);

#endif
