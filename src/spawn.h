/*
 * spawn: starting other programs without a shell.
 *
 * spawn_detached starts the worker so that it outlives the request that
 * started it and holds nothing of the web server's: a child that keeps the
 * CGI stdout holds the HTTP response open until it exits, and one that
 * keeps the FastCGI listening socket (fd 0) stops the backend from ever
 * being restarted (the README, "How it works";
 * tests/integration/reload.sh reloads and restarts the web server in the
 * middle of a job).  So: fork, setsid, fork again (the worker is
 * reparented to init and can never get a terminal), stdio to /dev/null,
 * every other descriptor closed, signal dispositions and mask reset
 * (libfcgi catches SIGTERM and SIGPIPE), then execve.
 *
 * spawn_process starts a job handler in its own process group (so a cancel
 * or timeout can signal the handler and everything it started) with the
 * given stdio, in the given directory.  The handler is killed if the worker
 * dies (PR_SET_PDEATHSIG): a worker killed with -9 leaves no handler running
 * on, unwatched, for a job already failed as "worker lost".  spawn_keeper
 * starts a job's keeper (keep.h) the same way but without that signal: the
 * keeper is what outlives the worker, and it starts the handler itself
 * with spawn_process, so that the handler dies with its keeper instead.
 *
 * A process group does not hold everything a handler starts: a child may
 * leave it (setsid) and outlive the handler.  So the worker makes itself a
 * subreaper (spawn_subreaper): the orphans of its handlers' descendants
 * become its own children rather than init's, and spawn_orphans finds them
 * (its children other than the handler), signals them and reaps the dead.
 * A handler's exit is watched with a pidfd where the kernel has one
 * (spawn_pidfd, Linux 5.3), so that it wakes the worker's poll().
 */
#ifndef LONGJOB_SPAWN_H
#define LONGJOB_SPAWN_H

#include <sys/types.h>

/*
 * Starts path detached; 0 once it runs, -1 with *cause (the caller frees)
 * if it could not be started: fork failed, or its execve did (reported back
 * through a close-on-exec pipe, so a wrong or unexecutable path is an error
 * someone sees, not a silent exit 127 behind /dev/null).
 */
int spawn_detached(const char *path, char *const argv[], char *const envp[],
    char **cause);
/*
 * Starts path in a new process group, cwd dir, fds[0..2] as stdin/stdout/
 * stderr.  Returns the pid, or -1 (logged).  The child reports an exec
 * failure on its stderr and exits 127.
 */
pid_t spawn_process(const char *path, char *const argv[], char *const envp[],
    const char *dir, const int fds[3]);
/*
 * The same without the parent-death signal, for the keeper of a job
 * (keep.h): it must outlive the worker that starts it, even one killed
 * with -9.  Returns the pid, or -1 (logged); an exec failure is reported on
 * its stderr (fds[2]) with exit status 127.
 */
pid_t spawn_keeper(const char *path, char *const argv[], char *const envp[],
    const char *dir, const int fds[3]);
/* Makes orphaned descendants this process's children (PR_SET_CHILD_SUBREAPER); 0, or -1 (logged). */
int spawn_subreaper(void);
/* A descriptor that polls readable once the child pid has exited; -1 where the kernel has none. */
int spawn_pidfd(pid_t pid);
/*
 * For each child of this process but keep (found in /proc): reaps it if it
 * has exited, else sends it sig (0: none), to its whole group if it leads
 * one.  Returns how many it found, alive or reaped: only a round that finds
 * none says that nothing is left.
 */
int spawn_orphans(pid_t keep, int sig);

#endif
