#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"

/* Reads up to size - 1 bytes of /proc/<pid>/<name>; their count, or -1 with errno. */
static ssize_t
proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* 1 if the stat line says zombie or dead ("pid (comm) S ..."; comm may hold ')'). */
static int
proc_stat_dead(const char *stat)
{
	const char *p = strrchr(stat, ')');

	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

int
proc_alive(pid_t pid)
{
	char stat[512];

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 0;
	if (proc_read(pid, "stat", stat, sizeof stat) < 0)
		/* Gone meanwhile; or no /proc, and kill() is all there is to go by. */
		return !(errno == ENOENT && access("/proc/self/stat", F_OK) == 0);
	return !proc_stat_dead(stat);
}

int64_t
proc_start_time(pid_t pid)
{
	char stat[1024], *p;
	int field;

	if (pid <= 0 || proc_read(pid, "stat", stat, sizeof stat) <= 0 ||
	    (p = strrchr(stat, ')')) == NULL)
		return -1;
	/* After "(comm)": field 3 (state) onwards; starttime is field 22. */
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	return p != NULL ? strtoll(p + 1, NULL, 10) : -1;
}

int
proc_open(pid_t pid, int64_t start)
{
#ifdef SYS_pidfd_open
	int fd;

	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0U)) < 0)
		return -1;
	if (proc_start_time(pid) != start) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
#else
	(void)pid;
	(void)start;
	errno = ENOSYS;
	return -1;
#endif
}

int
proc_is(pid_t pid, int64_t start)
{
	return proc_alive(pid) && proc_start_time(pid) == start;
}

int
proc_kill(pid_t pid, int64_t start, int sig)
{
	int fd = proc_open(pid, start), rc;

	if (fd >= 0) {
		rc = proc_signal(fd, sig);
		close(fd);
		return rc;
	}
	if (errno != ENOSYS)
		return -1;
	if (!proc_is(pid, start)) {
		errno = ESRCH;
		return -1;
	}
	return kill(pid, sig);
}

int
proc_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0U);
#else
	(void)pidfd;
	(void)sig;
	errno = ENOSYS;
	return -1;
#endif
}
