/* notify.c: tells systemd what hermesd is doing (see notify.h). Failures are only logged
 * at debug: without systemd there is no one to tell, and systemd itself reports a
 * service that never became ready. */
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "notify.h"

static void send_state(int rc, const char *what)
{
	if (rc < 0)
		log_debug("sd_notify %s: %s", what, strerror(-rc));
}

void notify_ready(const char *cgroup, int n_rules)
{
	send_state(sd_notifyf(0, "READY=1\nSTATUS=steering %s, %d policy rules from config", cgroup, n_rules),
		   "READY=1");
}

void notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	send_state(sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
			      (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000),
		   "RELOADING=1");
}

void notify_stopping(unsigned long long active)
{
	send_state(sd_notifyf(0, "STOPPING=1\nSTATUS=stopping: draining %llu flows", active), "STOPPING=1");
}
