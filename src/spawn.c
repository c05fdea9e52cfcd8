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

/* Closes every descriptor from 3 up. */
static void
spawn_close_from3(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0) == 0)
		return;
#endif
	for (int fd = 3; fd < 65536; fd++)
		close(fd);
}

/* In a child: makes fds[0..2] the stdio, closes everything else. */
static void
spawn_stdio(const int fds[3])
{
	int i, copy[3];

	/* Move the sources above 2 first so dup2 cannot clobber one with another. */
	for (i = 0; i < 3; i++)
		copy[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
	for (i = 0; i < 3; i++)
		dup2(copy[i], i);
	spawn_close_from3();
}

int
spawn_detached(const char *path, char *const argv[], char *const envp[])
{
	pid_t pid = fork();
	int status, nul, fds[3];

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		nul = open("/dev/null", O_RDWR);
		fds[0] = fds[1] = fds[2] = nul;
		spawn_stdio(fds);
		spawn_reset_signals();
		if (chdir("/") != 0)
			_exit(126);
		execve(path, argv, envp);
		_exit(127);
	}
	/* Reap the intermediate at once: no zombie is left behind. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
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
		spawn_stdio(fds);
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
