/*
 * proc: is a given pid still one of our workers?
 *
 * kill(pid, 0) alone is not enough to tell: where PID 1 does not reap
 * orphans (a container's init, some sandboxes), a worker killed with -9
 * stays a zombie and kill() still succeeds; and a worker that died long ago
 * may have left its pid to an unrelated process.  /proc tells both apart.
 */
#ifndef LONGJOB_PROC_H
#define LONGJOB_PROC_H

#include <sys/types.h>

/* 1 if pid is a process that has not died (a zombie has), else 0. */
int proc_alive(pid_t pid);

/*
 * 1 if pid is a live process whose program is longjob-worker, else 0: the
 * check before a signal, which must never reach a stranger.
 */
int proc_is_worker(pid_t pid);

#endif
