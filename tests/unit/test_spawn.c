/*
 * Unit tests for spawn.c's grouped starts: spawn_process's child dies with
 * its parent, spawn_keeper's outlives it; both run in a group of their own,
 * in the given directory, with the given stdio, and report a failed exec.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"
#include "tap.h"

/* 1 if pid is gone: no such process, or a zombie (PID 1 may not reap what it inherits). */
static int
gone(pid_t pid)
{
	char path[64], line[512], *p;
	FILE *f;
	int dead = 1;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	if (fgets(line, sizeof line, f) != NULL && (p = strrchr(line, ')')) != NULL)
		dead = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return dead;
}

/* How many newlines the first n bytes of s hold. */
static int
lines(const char *s, size_t n)
{
	int count = 0;

	while (n-- > 0)
		count += *s++ == '\n';
	return count;
}

/* Waits at most ms for pid to be gone; 1 if it is. */
static int
wait_gone(pid_t pid, int ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (; ms > 0 && !gone(pid); ms -= 10)
		nanosleep(&tick, NULL);
	return gone(pid);
}

/*
 * From a child that exits at once: starts sleep 30 with spawn_process
 * (keeper 0) or spawn_keeper (1), and gives back its pid.  -1 on failure.
 */
static pid_t
orphaned_sleep(int keeper)
{
	char *argv[] = { "sleep", "30", NULL }, *envp[] = { NULL };
	int p[2], fds[3], nul, status;
	pid_t mid, pid = -1;

	if (pipe(p) != 0)
		return -1;
	if ((mid = fork()) == 0) {
		nul = open("/dev/null", O_RDWR);
		fds[0] = fds[1] = fds[2] = nul;
		pid = keeper ? spawn_keeper("/bin/sleep", argv, envp, "/", fds) :
		    spawn_process("/bin/sleep", argv, envp, "/", fds);
		_exit(write(p[1], &pid, sizeof pid) == (ssize_t)sizeof pid ? 0 : 1);
	}
	close(p[1]);
	if (mid < 0 || read(p[0], &pid, sizeof pid) != (ssize_t)sizeof pid)
		pid = -1;
	close(p[0]);
	if (mid > 0)
		waitpid(mid, &status, 0);
	return pid;
}

int
main(void)
{
	char *argv[] = { "sh", "-c", "pwd; echo $FOO; exec sleep 30", NULL };
	char *envp[] = { "FOO=bar", NULL };
	char *bad[] = { "nosuch", NULL };
	char buf[256], path[64], cwd[PATH_MAX];
	int out[2], fds[3], status;
	ssize_t n;
	size_t got;
	pid_t pid;

	/* A keeper: its group, directory, stdio and environment. */
	if (pipe(out) != 0)
		return 1;
	fds[0] = 0;
	fds[1] = out[1];
	fds[2] = 2;
	pid = spawn_keeper("/bin/sh", argv, envp, "/tmp", fds);
	close(out[1]);
	ok(pid > 0, "spawn_keeper starts a program");
	/* Two lines, not EOF: the program goes on running with its stdout. */
	got = 0;
	while (got < sizeof buf - 1 && lines(buf, got) < 2 &&
	    (n = read(out[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(out[0]);
	is_str(buf, "/tmp\nbar\n", "in the given directory, with the given stdout and environment");
	is_int(getpgid(pid), pid, "in a process group of its own");
	snprintf(path, sizeof path, "/proc/%ld/cwd", (long)pid);
	n = readlink(path, cwd, sizeof cwd - 1);
	cwd[n > 0 ? n : 0] = '\0';
	is_str(cwd, "/tmp", "still there, working in it");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	/* A failed exec is said on its stderr, with status 127. */
	if (pipe(out) != 0)
		return 1;
	fds[0] = 0;
	fds[1] = 1;
	fds[2] = out[1];
	pid = spawn_keeper("/nonexistent/nosuch", bad, envp, "/", fds);
	close(out[1]);
	n = read(out[0], buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(out[0]);
	is_str(buf, "cannot run /nonexistent/nosuch: No such file or directory\n",
	    "a failed exec is reported on its stderr");
	ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 127,
	    "and it exits 127");

	/* The parent-death signal: only for spawn_process. */
	pid = orphaned_sleep(0);
	ok(pid > 0, "spawn_process started sleep from a process that then exited");
	ok(wait_gone(pid, 5000), "it died with its parent (PR_SET_PDEATHSIG)");
	pid = orphaned_sleep(1);
	ok(pid > 0, "spawn_keeper started sleep from a process that then exited");
	/* The same wait as above, which was enough for the signal to do its work. */
	ok(!wait_gone(pid, 300), "it outlives its parent");
	if (pid > 0) {
		kill(pid, SIGKILL);
		wait_gone(pid, 5000);
	}
	return tap_done();
}
