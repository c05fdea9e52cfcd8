/*
 * test_beneath: a handler's file is opened only beneath its directory
 * (beneath.c), by openat2 and by the walk that stands in for it.
 *
 * The .c is included, so that the walk (static) is tested on its own on
 * a kernel that has openat2 too.  In a fresh directory: a root with a job
 * directory holding a plain file, a symlink to a file outside, a hard link
 * to one, a FIFO, a subdirectory, and a second job directory that is a
 * symlink to a directory outside.
 */
#include "../../src/beneath.c"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

/* One case: the path under root, and whether it may be opened. */
struct beneath_case {
	const char *rel;
	int opens;		/* 1: beneath_open opens it */
	int file;		/* 1: beneath_file takes it as a handler's file */
	const char *what;
};

static const struct beneath_case cases[] = {
	{ "job/plain.txt", 1, 1, "a plain file" },
	{ "job/sub/deep.txt", 1, 1, "a plain file in a subdirectory" },
	{ "job/link.txt", 0, 0, "a symlink to a file outside" },
	{ "job/hard.txt", 1, 0, "a hard link to a file outside (opens, not a handler's file)" },
	{ "job/fifo", 1, 0, "a FIFO (opens without blocking, not a handler's file)" },
	{ "job/sub", 1, 0, "a directory" },
	{ "swapped/secret.txt", 0, 0, "a file through a symlinked job directory" },
	{ "job/../outside/secret.txt", 0, 0, "a path with .." },
	{ "job/./plain.txt", 0, 0, "a path with ." },
	{ "job//plain.txt", 0, 0, "an empty component" },
	{ "/etc/passwd", 0, 0, "an absolute path" },
	{ "", 0, 0, "an empty path" },
	{ "job/plain.txt/", 0, 0, "a trailing slash" },
	{ "job/nothing", 0, 0, "a file that is not there" },
};

/* Makes the tree described at the top in dir; 0 or -1. */
static int
make_tree(const char *dir)
{
	char cmd[2048];

	snprintf(cmd, sizeof cmd, "cd '%s' && mkdir -p root/job/sub outside && "
	    "echo secret >outside/secret.txt && echo mine >root/job/plain.txt && "
	    "echo deep >root/job/sub/deep.txt && "
	    "ln -s ../../outside/secret.txt root/job/link.txt && "
	    "ln outside/secret.txt root/job/hard.txt && mkfifo root/job/fifo && "
	    "ln -s ../outside root/swapped", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * Refusing a hard link to a file this process holds a POSIX lock on (the
 * database, for SQLite) must not release that lock: a child asks.
 */
static void
test_locks(const char *dir, const char *root)
{
	char *secret = xasprintf("%s/outside/secret.txt", dir), *cause = NULL;
	struct flock l;
	struct stat sb;
	int fd = open(secret, O_RDWR), status = -1;
	pid_t pid;

	memset(&l, 0, sizeof l);
	l.l_type = F_WRLCK;
	l.l_whence = SEEK_SET;
	ok(fd >= 0 && fcntl(fd, F_SETLK, &l) == 0, "a POSIX lock on the file outside");
	ok(beneath_file(root, "job/hard.txt", &sb, &cause) < 0, "its hard link is refused");
	pid = fork();
	if (pid == 0) {
		int cfd = open(secret, O_RDWR);
		struct flock q;

		memset(&q, 0, sizeof q);
		q.l_type = F_WRLCK;
		q.l_whence = SEEK_SET;
		_exit(cfd >= 0 && fcntl(cfd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "and the lock is still held (a plain open and close would have dropped it)");
	free(cause);
	close(fd);
	free(secret);
}

/* Runs every case both ways; the exit status says whether all passed. */
int
main(void)
{
	char tmpl[] = "/tmp/test_beneath.XXXXXX", *dir = mkdtemp(tmpl), *root, *cause;
	char what[256], cmd[512];
	struct stat sb;
	size_t i;
	int rootfd, fd, walked, way, err, werr;

	if (dir == NULL || make_tree(dir) != 0) {
		printf("not ok 1 - cannot make the test tree\n");
		return 1;
	}
	root = xasprintf("%s/root", dir);
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(rootfd >= 0, "the root opens");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct beneath_case *c = &cases[i];

		fd = beneath_open(rootfd, c->rel);
		err = fd < 0 ? errno : 0;
		snprintf(what, sizeof what, "beneath_open: %s (%s)", c->what, c->rel);
		ok((fd >= 0) == c->opens, what);
		if (fd >= 0)
			close(fd);
		/* The walk alone, on what passes beneath_rel_valid (a final symlink is beneath_open's to refuse). */
		walked = beneath_rel_valid(c->rel) ? beneath_walk(rootfd, c->rel) : -2;
		werr = errno;
		if (walked >= 0 && beneath_is_link(walked, "")) {
			close(walked);
			walked = -1;
			werr = ELOOP;
		}
		snprintf(what, sizeof what, "the walk without openat2: %s", c->what);
		if (walked != -2)
			ok((walked >= 0) == c->opens, what);
		if (walked >= 0)
			close(walked);
		if (walked == -1) {
			snprintf(what, sizeof what, "  the same error as beneath_open (%s)",
			    strerror(werr));
			is_int(werr, err, what);
		}
		cause = NULL;
		fd = beneath_file(root, c->rel, &sb, &cause);
		snprintf(what, sizeof what, "beneath_file: %s%s%s", c->what,
		    cause ? ": " : "", cause ? cause : "");
		ok((fd >= 0) == c->file && (fd >= 0) == (cause == NULL), what);
		if (fd >= 0)
			close(fd);
		free(cause);
	}
	cause = NULL;
	fd = beneath_file(root, "job/nothing", &sb, &cause);
	is_int(fd < 0 ? errno : 0, ENOENT, "a file that is not there: ENOENT");
	free(cause);
	cause = NULL;
	fd = beneath_file(root, "job/hard.txt", &sb, &cause);
	is_int(fd < 0 ? errno : 0, EPERM, "a refused file: EPERM");
	free(cause);
	test_locks(dir, root);
	/* Which way this kernel took, for the log. */
	way = beneath_openat2(rootfd, "job/plain.txt");
	printf("# openat2 %s\n", way >= 0 ? "used" : "not available: the walk was used");
	if (way >= 0)
		close(way);
	close(rootfd);
	free(root);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
