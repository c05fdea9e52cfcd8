/* Unit tests for slots.c: places are bounded across processes and come back when a holder dies. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "slots.h"
#include "tap.h"

/* A child that takes n places among [0, 4), tells the parent, and waits to be killed. */
static pid_t
holder(const char *path, int n)
{
	int p[2], i;
	pid_t pid;
	char c;

	if (pipe(p) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		struct slots *s = slots_open(path, 8);

		for (i = 0; i < n; i++)
			slots_take(s, 0, 4);
		c = 'x';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

int
main(void)
{
	char path[] = "/tmp/test_slots.XXXXXX";
	struct slots *s;
	int fd = mkstemp(path), a, b;
	pid_t pid;

	ok(fd >= 0, "a temporary file");
	close(fd);
	s = slots_open(path, 8);
	ok(s != NULL, "opened");
	a = slots_take(s, 0, 2);
	b = slots_take(s, 0, 2);
	ok(a == 0 && b == 1, "two places of two taken by this process");
	is_int(slots_take(s, 0, 2), -1, "a third is refused: the process knows its own");
	slots_give(s, a);
	is_int(slots_take(s, 0, 2), 0, "one given back can be taken again");
	slots_give(s, 0);
	slots_give(s, 1);

	pid = holder(path, 3);
	ok(pid > 0, "another process holds three places of four");
	is_int(slots_take(s, 0, 4), 3, "this one gets the one left");
	is_int(slots_take(s, 0, 4), -1, "and then none");
	is_int(slots_take(s, 4, 4), 4, "another range is separate");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	is_int(slots_take(s, 0, 4), 0, "the places of a killed holder come back");
	slots_give(s, -1);
	slots_give(s, 7);
	slots_close(s);
	unlink(path);
	return tap_done();
}
