/* spawn: detached workers and job handlers, started with execve (no shell). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "xmem.h"

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

int
spawn_detached(const char *path, char *const argv[], char *const envp[], char **cause)
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

pid_t
spawn_process(const char *path, char *const argv[], char *const envp[],
    const char *dir, const int fds[3])
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
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
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
