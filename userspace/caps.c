/* caps.c: privilege drop with libcap. Everything that needs CAP_BPF/CAP_SYS_ADMIN
 * (loading, attaching, pinning, mounting bpffs) is done before this runs; map access
 * afterwards goes through fds already open, which needs no capability. What stays is
 * CAP_NET_ADMIN: SO_MARK on every upstream socket keeps connect4 from steering
 * hermesd into itself. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"

static const cap_value_t keep[] = { CAP_NET_ADMIN };

static int switch_user(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		log_error("--user %s: no such user", user);
		return -ENOENT;
	}
	/* keep the permitted set across setuid; trimmed right after */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		int err = -errno;

		log_error("cannot switch to user %s: %s", user, strerror(-err));
		return err;
	}
	log_info("running as user %s (uid %u)", user, (unsigned)pw->pw_uid);
	return 0;
}

int caps_drop(const char *user)
{
	cap_t caps;
	int err;

	/* bounding set first: dropping it needs CAP_SETPCAP, which goes below */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (c != CAP_NET_ADMIN && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) < 0 && errno != EINVAL) {
			err = -errno;
			log_error("cannot drop capability %d from the bounding set: %s", (int)c, strerror(-err));
			return err;
		}
	}
	if (user && *user && (err = switch_user(user)))
		return err;
	caps = cap_init();
	if (!caps)
		return -ENOMEM;
	if (cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET) < 0 || cap_set_proc(caps) < 0) {
		err = -errno;
		cap_free(caps);
		log_error("cannot drop capabilities: %s", strerror(-err));
		return err;
	}
	cap_free(caps);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	log_info("capabilities dropped to cap_net_admin");
	return 0;
}
