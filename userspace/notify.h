/* notify.h: hermesd's state for systemd (sd_notify; a no-op unless NOTIFY_SOCKET is set,
 * i.e. outside a Type=notify service). */
#ifndef HERMES_NOTIFY_H
#define HERMES_NOTIFY_H

/* READY=1 with a STATUS= line: at start once steering is attached and the listeners are
 * bound, and again after each reload. */
void notify_ready(const char *cgroup, int n_rules);
/* RELOADING=1 with MONOTONIC_USEC (systemd 253+ matches it to the reload request). */
void notify_reloading(void);
/* STOPPING=1 with the number of flows being drained. */
void notify_stopping(unsigned long long active);

#endif
