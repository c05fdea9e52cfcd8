/* lease: one worker per spool, held as a lock the kernel drops.  See lease.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "log.h"
#include "xmem.h"

/* A whole-file write lock request. */
static void
lease_lock(struct flock *l)
{
	memset(l, 0, sizeof *l);
	l->l_type = F_WRLCK;
	l->l_whence = SEEK_SET;
}

int
lease_take(const char *spool)
{
	return lease_take_file(spool, LEASE_FILE);
}

int
lease_take_file(const char *spool, const char *name)
{
	char *path = xasprintf("%s/%s", spool, name);
	struct flock l;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		log_error("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	lease_lock(&l);
	if (fcntl(fd, F_OFD_SETLK, &l) != 0) {
		int err = errno;

		close(fd);
		if (err == EAGAIN || err == EACCES) {
			free(path);
			return -2;
		}
		log_error("%s: lock: %s", path, strerror(err));
		free(path);
		return -1;
	}
	free(path);
	return fd;
}

int
lease_open(const char *spool)
{
	char *path = xasprintf("%s/%s", spool, LEASE_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = errno;

	if (fd < 0 && err != ENOENT)
		log_error("%s: %s", path, strerror(err));
	free(path);
	errno = err;	/* lease_held tells "none yet" by it */
	return fd;
}

int
lease_held_fd(int fd)
{
	struct flock l;

	lease_lock(&l);
	if (fcntl(fd, F_OFD_GETLK, &l) != 0) {
		log_error("the lease file: test lock: %s", strerror(errno));
		return -1;
	}
	return l.l_type != F_UNLCK;
}

int
lease_held(const char *spool)
{
	int fd = lease_open(spool), rc;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	rc = lease_held_fd(fd);
	close(fd);
	return rc;
}

void
lease_drop(int fd)
{
	if (fd >= 0)
		close(fd);
}
