/* beneath: opening a handler's file beneath a directory.  See beneath.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif

#include "beneath.h"
#include "xmem.h"

/*
 * Every open on the way is O_PATH: it reads nothing, never blocks on a FIFO,
 * and, closed, releases none of the process's POSIX locks.  A plain
 * descriptor would: closing one opened on a hard link to the database
 * drops every SQLite lock the process holds on it, and the next process to
 * close the database then takes itself for its last user and removes the
 * WAL from under this one (a worker that refused such a file then never saw
 * another write).  Only a file found to have one link is opened to be read.
 */
#define BENEATH_FLAGS (O_PATH | O_CLOEXEC | O_NOFOLLOW)
/* How the file itself is opened once it is taken: no terminal, no waiting. */
#define BENEATH_READ (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* 1 if rel is relative and each of its components a name (not empty, "." or ".."). */
static int
beneath_rel_valid(const char *rel)
{
	size_t n;

	for (;;) {
		n = strcspn(rel, "/");
		if (n == 0 || n > NAME_MAX || (n == 1 && rel[0] == '.') ||
		    (n == 2 && rel[0] == '.' && rel[1] == '.'))
			return 0;
		if (rel[n] == '\0')
			return 1;
		rel += n + 1;
	}
}

#if defined(SYS_openat2) && defined(RESOLVE_BENEATH)
/* The kernel's own walk: no symlink anywhere, nothing outside dirfd. */
static int
beneath_openat2(int dirfd, const char *rel)
{
	struct open_how how;

	memset(&how, 0, sizeof how);
	how.flags = BENEATH_FLAGS;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
}
#else
/* Built without openat2: the walk below does it. */
static int
beneath_openat2(int dirfd, const char *rel)
{
	(void)dirfd;
	(void)rel;
	errno = ENOSYS;
	return -1;
}
#endif

/* 1 if name in the directory dirfd (or dirfd itself, name "") is a symlink. */
static int
beneath_is_link(int dirfd, const char *name)
{
	struct stat sb;

	return fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) == 0 &&
	    S_ISLNK(sb.st_mode);
}

/*
 * The same walk by hand: each component opened from the one above with
 * O_NOFOLLOW, so a symlink anywhere fails (ELOOP), and beneath_rel_valid
 * has already refused "..", so nothing can lead outside dirfd.
 */
static int
beneath_walk(int dirfd, const char *rel)
{
	char name[NAME_MAX + 1];
	int fd = dirfd, next, err;
	size_t n;

	for (;;) {
		n = strcspn(rel, "/");
		memcpy(name, rel, n);
		name[n] = '\0';
		next = openat(fd, name, BENEATH_FLAGS | (rel[n] == '/' ? O_DIRECTORY : 0));
		err = errno;
		/* A symlink to a directory fails O_DIRECTORY first: say ELOOP, as openat2 does. */
		if (next < 0 && err == ENOTDIR && beneath_is_link(fd, name))
			err = ELOOP;
		if (fd != dirfd)
			close(fd);
		errno = err;
		if (next < 0 || rel[n] == '\0')
			return next;
		fd = next;
		rel += n + 1;
	}
}

int
beneath_open(int dirfd, const char *rel)
{
	int fd;

	if (!beneath_rel_valid(rel)) {
		errno = EINVAL;
		return -1;
	}
	fd = beneath_openat2(dirfd, rel);
	/* A kernel before 5.6, or a sandbox whose seccomp filter refuses openat2. */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = beneath_walk(dirfd, rel);
	/* O_PATH with O_NOFOLLOW opens a final symlink itself, both ways: refuse it. */
	if (fd >= 0 && beneath_is_link(fd, "")) {
		close(fd);
		errno = ELOOP;
		return -1;
	}
	return fd;
}

/* The O_PATH descriptor fd, opened for reading (through /proc, no new walk); fd is closed. */
static int
beneath_reopen(int fd, const char *root, const char *rel, char **cause)
{
	char path[64];
	int rfd, err;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	rfd = open(path, BENEATH_READ);
	err = errno;
	close(fd);
	if (rfd < 0) {
		*cause = xasprintf("%s/%s: cannot open it (through %s): %s", root, rel, path,
		    strerror(err));
		errno = err == ENOENT ? EPERM : err;
	}
	return rfd;
}

int
beneath_file(const char *root, const char *rel, struct stat *sb, char **cause)
{
	int dir, fd, err;

	if ((dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = errno;
		*cause = xasprintf("cannot open %s: %s", root, strerror(err));
		errno = err;
		return -1;
	}
	fd = beneath_open(dir, rel);
	err = errno;
	close(dir);
	if (fd < 0) {
		/* ELOOP: a symlink on the way; EXDEV (openat2): a way out of root. */
		*cause = xasprintf("%s/%s: %s", root, rel, err == ELOOP || err == EXDEV ?
		    "a symlink in its path, refused" : strerror(err));
		errno = err == ENOENT ? ENOENT : EPERM;
		return -1;
	}
	if (fstat(fd, sb) != 0) {
		err = errno;
		*cause = xasprintf("%s/%s: %s", root, rel, strerror(err));
		close(fd);
		errno = err;
		return -1;
	}
	if (!S_ISREG(sb->st_mode) || sb->st_nlink != 1) {
		*cause = !S_ISREG(sb->st_mode) ?
		    xasprintf("%s/%s: not a regular file, refused", root, rel) :
		    xasprintf("%s/%s: %ju hard links, refused (it may be a file from "
		    "elsewhere)", root, rel, (uintmax_t)sb->st_nlink);
		close(fd);
		errno = EPERM;
		return -1;
	}
	return beneath_reopen(fd, root, rel, cause);
}
