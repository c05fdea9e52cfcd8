/*
 * Unit tests for lease.c: at most one holder, and asking (by path, or
 * through a descriptor kept open as the keepers do) takes nothing.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "tap.h"

int
main(void)
{
	char dir[] = "/tmp/test_lease.XXXXXX", path[64];
	int fd, probe;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	is_int(lease_held(dir), 0, "no lease file yet: none holds it");
	errno = 0;
	is_int(lease_open(dir), -1, "no lease file to keep open yet");
	is_int(errno, ENOENT, "and errno says there is none");

	fd = lease_take(dir);
	ok(fd >= 0, "the lease is taken");
	is_int(lease_held(dir), 1, "asked by path: held");
	is_int(lease_take(dir), -2, "a second taker finds it held");
	probe = lease_open(dir);
	ok(probe >= 0, "the lease file is kept open to ask");
	is_int(lease_held_fd(probe), 1, "asked through it: held");
	is_int(lease_held_fd(probe), 1, "asking again takes nothing");

	lease_drop(fd);
	is_int(lease_held_fd(probe), 0, "given up: the kept descriptor sees it free");
	is_int(lease_held(dir), 0, "and by path");
	fd = lease_take(dir);
	ok(fd >= 0, "taken again, the asker's descriptor in the way of nothing");
	is_int(lease_held_fd(probe), 1, "held again, seen through the same descriptor");
	lease_drop(fd);
	close(probe);

	snprintf(path, sizeof path, "%s/%s", dir, LEASE_FILE);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
