/* spawn: detached workers, keepers and job handlers, started with execve (no shell). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "xmem.h"

#define SPAWN_MAX_CHILDREN 1024	/* children looked at per round; the next round sees the rest */

/* Puts every signal back to its default disposition and unblocks them all. */
static void
spawn_reset_signals(void)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Closes every descriptor from first up. */
static void
spawn_close_from(int first)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return;
#endif
	for (int fd = first; fd < 65536; fd++)
		close(fd);
}

/*
 * In a child: makes fds[0..2] the stdio and report (if not -1) descriptor
 * 3, close-on-exec; closes everything else.
 */
static void
spawn_stdio(const int fds[3], int report)
{
	int i, copy[3], keep = -1;

	/* Move the sources above 3 first so dup2 cannot clobber one with another. */
	for (i = 0; i < 3; i++)
		copy[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 4);
	if (report >= 0)
		keep = fcntl(report, F_DUPFD_CLOEXEC, 4);
	for (i = 0; i < 3; i++)
		dup2(copy[i], i);
	if (keep >= 0) {
		dup3(keep, 3, O_CLOEXEC);
		spawn_close_from(4);
	} else
		spawn_close_from(3);
}

/* In the detached child: sends errno down the report pipe, then exits. */
static void
spawn_report(int fd, int err)
{
	ssize_t n = write(fd, &err, sizeof err);

	(void)n;
	_exit(127);
}

/* Waits for the detached child's exec: 0, or -1 with *cause if it failed. */
static int
spawn_outcome(int fd, const char *path, char **cause)
{
	int err = 0;
	ssize_t n;

	/* EOF (the close-on-exec) means the exec succeeded. */
	while ((n = read(fd, &err, sizeof err)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n != (ssize_t)sizeof err)
		return 0;
	*cause = xasprintf("cannot run %s: %s", path, strerror(err));
	return -1;
}

/* spawn_detached, once this process is no subreaper. */
static int
spawn_detached_now(const char *path, char *const argv[], char *const envp[], char **cause)
{
	int status, nul, fds[3], report[2];
	pid_t pid;

	if (pipe2(report, O_CLOEXEC) != 0) {
		*cause = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(report[0]);
		close(report[1]);
		return -1;
	}
	if (pid == 0) {
		setsid();
		if ((pid = fork()) != 0) {
			if (pid < 0)
				spawn_report(report[1], errno);
			_exit(0);
		}
		nul = open("/dev/null", O_RDWR);
		fds[0] = fds[1] = fds[2] = nul;
		spawn_stdio(fds, report[1]);
		spawn_reset_signals();
		if (chdir("/") != 0)
			spawn_report(3, errno);
		execve(path, argv, envp);
		spawn_report(3, errno);
	}
	close(report[1]);
	/* Reap the intermediate at once: no zombie is left behind. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return spawn_outcome(report[0], path, cause);
}

int
spawn_detached(const char *path, char *const argv[], char *const envp[], char **cause)
{
	int reaper = 0, rc;

	/*
	 * A subreaper (a keeper) would adopt the process when the intermediate
	 * exits: it is not one while it starts a detached process.
	 */
	if (prctl(PR_GET_CHILD_SUBREAPER, &reaper, 0L, 0L, 0L) == 0 && reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0L, 0L, 0L, 0L);
	rc = spawn_detached_now(path, argv, envp, cause);
	if (reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L);
	return rc;
}

/*
 * Starts path in a process group of its own, with fds as its stdio, in dir;
 * with pdeathsig, it gets SIGKILL when this process dies.  The pid, or -1.
 */
static pid_t
spawn_grouped(const char *path, char *const argv[], char *const envp[],
    const char *dir, const int fds[3], int pdeathsig)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		/* If the parent died before this line, the signal would never come. */
		if (pdeathsig && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
			_exit(125);
		spawn_stdio(fds, -1);
		spawn_reset_signals();
		if (chdir(dir) != 0) {
			dprintf(2, "cannot enter %s: %s\n", dir, strerror(errno));
			_exit(126);
		}
		execve(path, argv, envp);
		dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	/* Also from the parent, so a signal sent at once reaches the group. */
	setpgid(pid, pid);
	return pid;
}

pid_t
spawn_process(const char *path, char *const argv[], char *const envp[],
    const char *dir, const int fds[3])
{
	return spawn_grouped(path, argv, envp, dir, fds, 1);
}

pid_t
spawn_keeper(const char *path, char *const argv[], char *const envp[],
    const char *dir, const int fds[3])
{
	return spawn_grouped(path, argv, envp, dir, fds, 0);
}

int
spawn_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) == 0)
		return 0;
	log_warn("prctl(PR_SET_CHILD_SUBREAPER): %s; a handler's orphans that "
	    "left its process group cannot be stopped", strerror(errno));
	return -1;
}

int
spawn_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	/* pidfd_open sets close-on-exec itself. */
	return (int)syscall(SYS_pidfd_open, pid, 0U);
#else
	(void)pid;
	return -1;
#endif
}

/* The parent of pid, from /proc/<pid>/stat ("pid (comm) state ppid ...", comm read past its last ')'), or -1. */
static pid_t
spawn_parent(const char *pid)
{
	char path[300], line[512], *p, state;
	ssize_t n;
	int fd, ppid;

	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	if ((p = strrchr(line, ')')) == NULL || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
		return -1;
	return (pid_t)ppid;
}

/* Reaps the child pid if it has exited, else sends it sig (to its group if it leads one); 1 if alive. */
static int
spawn_orphan(pid_t pid, int sig)
{
	int status;
	pid_t got;

	while ((got = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (got != 0)
		return 0;
	/* A group leader (one that called setsid, say) takes its group with it. */
	if (sig != 0)
		kill(getpgid(pid) == pid ? -pid : pid, sig);
	return 1;
}

/*
 * The children of this process, into pids (at most max); how many, or -1
 * if the kernel does not list them (/proc/PID/task/PID/children needs
 * CONFIG_PROC_CHILDREN).  The worker is one thread, so its task's list is
 * all of them.
 */
static int
spawn_children(pid_t *pids, int max)
{
	char path[64], list[8192], *p, *end;
	ssize_t n;
	long v;
	int fd, count = 0;

	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)getpid(),
	    (long)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, list, sizeof list - 1);
	close(fd);
	if (n < 0)
		return -1;
	list[n] = '\0';
	for (p = list; count < max; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		pids[count++] = (pid_t)v;
	}
	return count;
}

int
spawn_orphans(pid_t keep, int sig)
{
	pid_t pids[SPAWN_MAX_CHILDREN], self = getpid();
	struct dirent *de;
	int i, n, seen = 0;
	DIR *d;

	/*
	 * Whole rounds: a child that dies reparents its own children to us
	 * before it is a zombie, so a round that reaped one is not the last.
	 */
	if ((n = spawn_children(pids, SPAWN_MAX_CHILDREN)) >= 0) {
		for (i = 0; i < n; i++) {
			if (pids[i] != keep) {
				spawn_orphan(pids[i], sig);
				seen++;
			}
		}
		return seen;
	}
	/* No list: every process's parent, from /proc. */
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		n = (int)strtol(de->d_name, NULL, 10);
		if ((pid_t)n != keep && spawn_parent(de->d_name) == self) {
			spawn_orphan((pid_t)n, sig);
			seen++;
		}
	}
	closedir(d);
	return seen;
}
