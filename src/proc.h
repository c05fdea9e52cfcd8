/*
 * proc: is a given process still there, and still the one we mean?
 *
 * kill(pid, 0) alone is not enough to tell: where PID 1 does not reap
 * orphans (a container's init, some sandboxes), a process killed with -9
 * stays a zombie and kill() still succeeds; and one that died long ago may
 * have left its pid to an unrelated process.  /proc tells both apart: its
 * state, and its start time, which with the pid names one process for good.
 * A signal goes through a pidfd opened before that check (proc_open), so it
 * can never reach a stranger.
 */
#ifndef LONGJOB_PROC_H
#define LONGJOB_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* 1 if pid is a process that has not died (a zombie has), else 0. */
int proc_alive(pid_t pid);

/*
 * When pid started (clock ticks since boot, /proc/<pid>/stat), or -1 if
 * there is no such process: a pid and its start time name one process,
 * even after the pid has gone to another.
 */
int64_t proc_start_time(pid_t pid);
/*
 * A pidfd for the process pid that started at start, or -1 with errno:
 * ESRCH if it is gone (or the pid now names another), ENOSYS where there
 * are no pidfds (an old kernel; valgrind).  Race-free: the pidfd is opened
 * first, then the start time checked, so a signal sent through it can only
 * reach that process.
 */
int proc_open(pid_t pid, int64_t start);
/*
 * 1 if the process pid that started at start is alive (not a zombie),
 * else 0.
 */
int proc_is(pid_t pid, int64_t start);
/*
 * Sends sig to the process pid that started at start: through a pidfd, or
 * where there are none, by pid once its start time is checked again (a
 * reuse of the pid between the check and the kill is the one race left).
 * 0, or -1 with errno (ESRCH: it is gone).
 */
int proc_kill(pid_t pid, int64_t start, int sig);
/* Sends sig through a pidfd; 0, or -1 (errno set; ESRCH: it has exited). */
int proc_signal(int pidfd, int sig);

#endif
