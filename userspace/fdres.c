/* fdres.c: hermesd's descriptors in reserve. A flow takes a second descriptor for its
 * upstream after the accept, so a few descriptors (copies of /dev/null) are held that no
 * accept can take: an upstream socket that finds none free takes one of them
 * (fdres_take), and the loop then rests the flow listeners until the reserve is whole
 * again (loop.c); the admin port borrows one to answer while flows used everything up.
 * And the budget of the upstream sockets that HTTP/2 streams open with no accept each.
 * Below the loop and the modules: it only reads and writes the loop's fields. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "config-t.h"
#include "fdres.h"
#include "loop-t.h"
#include "metrics.h"

/* One more descriptor in the reserve: 0, or -errno while descriptors are short. */
int fdres_spare_add(struct loop *lp)
{
	int fd = lp->n_spare ? fcntl(lp->fd_spare[0], F_DUPFD_CLOEXEC, 0) : open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	lp->fd_spare[lp->n_spare++] = fd;
	return 0;
}

/* Tops the reserve up; 0 once it is whole, -errno while descriptors are short. */
int fdres_fill(struct loop *lp)
{
	int err = 0;

	while (lp->n_spare < lp->fd_reserve && !(err = fdres_spare_add(lp)))
		;
	return err;
}

int fdres_take(struct loop *lp)
{
	if (!lp->n_spare)
		return -EMFILE;
	close(lp->fd_spare[--lp->n_spare]);
	lp->st.fd_reserve_used++;
	lp->fd_short = true; /* the loop rests the flow listeners once this completion is done */
	return 0;
}

/* Streams of the tunnel listener's HTTP/2 connections open upstream sockets with no
 * accept each, so neither the accept rests nor the reserve bound them: three connections
 * of 7000 CONNECT streams filled a 20000-descriptor limit and /ready stopped answering.
 * They may only open while the open descriptors leave the last
 * tunnel.stream_fd_headroom_percent of the limit free (for accepts, the admin port and
 * flows already taken in), and not while the reserve is in use (descriptors ran out).
 * Counting /proc/self/fd costs 35 ms at 20000 descriptors, so it is counted at most every
 * FD_SCAN_MS and only when it matters: the descriptors other than the streams' are taken
 * as they were then, the streams' gauge (one upstream socket at most each) is exact, and
 * the http action's requests on streams add the sockets they opened since. */
#define FD_SCAN_MS 1000
#define FD_SCAN_NEAR_MS 250

bool fdres_stream_room(struct loop *lp)
{
	uint64_t streams = lp->st.tunnel_stream_fds;
	long limit = lp->fd_limit - (long)((uint64_t)lp->fd_limit * lp->cfg->tunnel_fd_headroom_pct / 100);
	long est = lp->fds_other + (long)streams + lp->fds_since_scan;

	if (lp->n_spare < lp->fd_reserve)
		return false;
	/* far from the limit, the last count is good enough for a while; near it, counted
	 * again sooner, to see the descriptors closed meanwhile */
	if (lp->fds_other < 0 || (est >= limit / 2 && lp->now_ms - lp->fds_scan_ms >= FD_SCAN_MS) ||
	    (est >= limit && lp->now_ms - lp->fds_scan_ms >= FD_SCAN_NEAR_MS)) {
		long n = proc_count_fds();

		lp->fds_scan_ms = lp->now_ms;
		if (n < 0) /* no descriptor even for the count */
			return false;
		lp->fds_other = n > (long)streams ? n - (long)streams : 0;
		lp->fds_since_scan = 0;
		est = n;
	}
	return est < limit;
}

bool fdres_stream_take(struct loop *lp)
{
	if (!fdres_stream_room(lp))
		return false;
	lp->fds_since_scan++;
	return true;
}

bool fdres_lend(struct loop *lp)
{
	if (!lp->n_spare)
		return false;
	close(lp->fd_spare[--lp->n_spare]);
	return true;
}

void fdres_give_back(struct loop *lp)
{
	/* that one only: what flows took of the reserve comes back when the listeners rest */
	if (lp->n_spare < lp->fd_reserve)
		fdres_spare_add(lp);
}
