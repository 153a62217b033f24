/* thread.h: a helper thread of hermesd's (a reload's build, the etcd watch, the etcd
 * status key) started with every signal blocked, so that signals stay the loop's (its
 * signalfd). Header only, like deadline.h. */
#ifndef HERMES_THREAD_H
#define HERMES_THREAD_H

#include <pthread.h>
#include <signal.h>

/* 0, or -errno from pthread_create. */
static inline int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

#endif
