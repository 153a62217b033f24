/* deadline.h: the wall-clock time ms milliseconds from now, as pthread_cond_timedwait and
 * pthread_timedjoin_np take their deadlines (CLOCK_REALTIME: the clock those calls measure
 * against by default). Header only: the runtime's builder and the etcd thread share it. */
#ifndef HERMES_DEADLINE_H
#define HERMES_DEADLINE_H

#include <time.h>

static inline struct timespec deadline_after_ms(unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

#endif
