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

#include <stdint.h>
#include <sys/types.h>

/* 1 if pid is a process that has not died (a zombie has), else 0. */
int proc_alive(pid_t pid);

/*
 * 1 if pid is a live process whose program is longjob-worker, else 0: the
 * check before a signal, which must never reach a stranger.
 */
int proc_is_worker(pid_t pid);

/*
 * When pid started (clock ticks since boot, /proc/<pid>/stat), or -1 if
 * there is no such process: a pid and its start time name one process,
 * even after the pid has gone to another.
 */
int64_t proc_start_time(pid_t pid);
/*
 * A pidfd for the process pid that started at start, or -1 if it is gone
 * (or the pid now names another).  Race-free: the pidfd is opened first,
 * then the start time checked, so a signal sent through it can only reach
 * that process.
 */
int proc_open(pid_t pid, int64_t start);
/* Sends sig through a pidfd; 0, or -1 (errno set; ESRCH: it has exited). */
int proc_signal(int pidfd, int sig);

#endif
