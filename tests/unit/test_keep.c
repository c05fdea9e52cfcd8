/*
 * Unit tests for keep.c: the run directory's files, the shared ack, and
 * <id>.exit, whole or refused.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keep.h"
#include "tap.h"

#define ID "0123456789abcdef0123456789abcdef"

/* Writes n bytes to <dir>/<ID>.exit, replacing it. */
static void
put_exit(const char *dir, const char *data, size_t n)
{
	char *path = keep_path(dir, ID, ".exit");
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fwrite(data, 1, n, f);
		fclose(f);
	}
	free(path);
}

/* The size of <dir>/<ID><suffix>, -1 if it is not there. */
static long long
file_size(const char *dir, const char *suffix)
{
	char *path = keep_path(dir, ID, suffix);
	struct stat sb;
	long long n = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;

	free(path);
	return n;
}

/* The permission bits of path, -1 if it is not there. */
static int
file_mode(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* refused() of a string literal, its length counted by the compiler. */
#define REFUSED(lit) refused(dir, lit, sizeof lit - 1)

/* 1 if keep_exit_read refuses what put_exit wrote. */
static int
refused(const char *dir, const char *data, size_t n)
{
	struct keep_exit e;

	put_exit(dir, data, n);
	return keep_exit_read(dir, ID, &e) == -1;
}

/* What keep_exit_write wrote comes back the same from keep_exit_read. */
static void
round_trip(const char *dir, long pid, int code, int sig, long long out, const char *err,
    size_t len, const char *what)
{
	struct keep_exit w, r;
	int rc;

	memset(&w, 0, sizeof w);
	w.pid = pid;
	w.code = code;
	w.signal = sig;
	w.out = out;
	w.err_len = len;
	memcpy(w.err, err, len);
	is_int(keep_exit_write(dir, ID, &w), 0, what);
	rc = keep_exit_read(dir, ID, &r);
	is_int(rc, 0, "  and read back");
	ok(rc == 0 && r.pid == pid && r.code == code && r.signal == sig && r.out == out && r.err_len == len &&
	    memcmp(r.err, err, len) == 0 && r.err[len] == '\0', "  the same, NUL-terminated");
	is_int(file_size(dir, ".exit.tmp"), -1, "  no temporary file is left");
}

int
main(void)
{
	char base[] = "/tmp/test_keep.XXXXXX", dir[64], *path, tail[KEEP_ERR_TAIL], big[4096];
	struct keep_ack *a, *b;
	struct keep_exit e;
	size_t i;
	int fd;

	ok(mkdtemp(base) != NULL, "a temporary directory");
	snprintf(dir, sizeof dir, "%s/%s", base, KEEP_DIR);
	path = keep_path("/spool/.run", ID, ".exit");
	is_str(path, "/spool/.run/" ID ".exit", "keep_path: <rundir>/<id><suffix>");
	free(path);

	/* keep_prepare */
	is_int(keep_prepare(dir, ID), 0, "keep_prepare creates the run directory and the files");
	is_int(file_mode(dir), 0700, "the run directory is owner-only");
	is_int(file_size(dir, ".out"), 0, "an empty .out");
	is_int(file_size(dir, ".ack"), 8, "an .ack of 8 bytes");
	path = keep_path(dir, ID, ".out");
	is_int(file_mode(path), 0600, ".out is owner-only");
	fd = open(path, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "old\n", 4) == 4, "something written to .out");
	if (fd >= 0)
		close(fd);
	free(path);
	put_exit(dir, "stale", 5);
	is_int(keep_prepare(dir, ID), 0, "keep_prepare again, the directory there");
	is_int(file_size(dir, ".out"), 0, ".out is empty again");
	is_int(file_size(dir, ".exit"), -1, "an old .exit is removed");
	is_int(keep_prepare(dir, "../../etc/passwd"), -1, "an id that is not one is refused");
	is_int(keep_prepare("/proc/nonexistent/dir", ID), -1, "a run directory that cannot be made");

	/* The ack, shared between two mappings. */
	a = keep_ack_map(dir, ID, 1);
	b = keep_ack_map(dir, ID, 0);
	ok(a != NULL && b != NULL, "the ack mapped writable and read-only");
	if (a != NULL && b != NULL) {
		is_int(keep_ack_get(b), 0, "it starts at 0");
		keep_ack_set(a, 5000000000LL);
		is_int(keep_ack_get(b), 5000000000LL, "what one sets the other gets (past 32 bits)");
		keep_ack_set(a, 1234);
		is_int(keep_ack_get(b), 1234, "and again");
		is_int(keep_ack_get(a), 1234, "the writer reads it too");
	}
	keep_ack_unmap(a);
	keep_ack_unmap(b);
	a = keep_ack_map(dir, ID, 0);
	ok(a != NULL && keep_ack_get(a) == 1234, "it is in the file: a new mapping sees it");
	keep_ack_unmap(a);
	is_int(keep_prepare(dir, ID), 0, "keep_prepare once more");
	a = keep_ack_map(dir, ID, 0);
	ok(a != NULL && keep_ack_get(a) == 0, "the ack is 0 again");
	keep_ack_unmap(a);
	keep_ack_unmap(NULL);
	ok(keep_ack_map(dir, "0123456789abcdef0123456789abcdee", 0) == NULL,
	    "no ack file: no mapping");
	path = keep_path(dir, ID, ".ack");
	ok(truncate(path, 4) == 0 && keep_ack_map(dir, ID, 0) == NULL,
	    "an ack file shorter than 8 bytes is not mapped");
	free(path);

	/* .exit */
	is_int(keep_exit_read(dir, ID, &e), 1, "no .exit yet: 1");
	round_trip(dir, 1234, 0, 0, 0, "", 0, "exit 0, no stderr, no output");
	round_trip(dir, 99, 3, 0, 123456789012LL, "line one\nline two\n", 18,
	    "exit 3 with two lines of stderr, 115 GiB of output");
	round_trip(dir, 4194304, -1, 9, -1, "killed\n", 7, "killed by signal 9, output size unknown");
	round_trip(dir, 7, 255, 0, 5, "\x01\x02\xff\xfe binary \x7f\n\t", 16, "exit 255, binary stderr");
	for (i = 0; i < sizeof tail; i++)
		tail[i] = (char)('a' + i % 26);
	tail[100] = '\n';
	round_trip(dir, 42, 1, 0, 1, tail, sizeof tail, "a full tail of KEEP_ERR_TAIL bytes");
	e.pid = 1;
	e.code = 0;
	e.signal = 0;
	e.err_len = KEEP_ERR_TAIL + 1;
	is_int(keep_exit_write(dir, ID, &e), -1, "a tail too long is not written");
	e.err_len = 0;
	e.code = -1;
	is_int(keep_exit_write(dir, ID, &e), -1, "code -1 without a signal is not written");
	e.code = 0;
	e.signal = 9;
	is_int(keep_exit_write(dir, ID, &e), -1, "a code with a signal is not written");
	e.signal = 0;
	e.pid = 0;
	is_int(keep_exit_write(dir, ID, &e), -1, "pid 0 is not written");
	e.pid = 1;
	e.out = -2;
	is_int(keep_exit_write(dir, ID, &e), -1, "an output size below -1 is not written");
	e.out = 0;

	/* Malformed .exit files: each refused. */
	ok(REFUSED(""), "refused: empty");
	ok(REFUSED("pid 1 code 0 signal 0 err 0"), "refused: no newline");
	ok(REFUSED("pid 1 code 0 signal 0 err 3\nab"), "refused: fewer bytes than err");
	ok(REFUSED("pid 1 code 0 signal 0 err 1\nab"), "refused: more bytes than err");
	ok(REFUSED("pid 1 code 0 signal 0 err 2049\n"), "refused: err past KEEP_ERR_TAIL");
	ok(REFUSED("pid 1  code 0 signal 0 err 0\n"), "refused: two spaces");
	ok(REFUSED("pid 01 code 0 signal 0 err 0\n"), "refused: a leading zero");
	ok(REFUSED("pid +1 code 0 signal 0 err 0\n"), "refused: a plus sign");
	ok(REFUSED("pid 0 code 0 signal 0 err 0\n"), "refused: pid 0");
	ok(REFUSED("pid -5 code 0 signal 0 err 0\n"), "refused: a negative pid");
	ok(REFUSED("pid 1 code 256 signal 0 err 0\n"), "refused: code 256");
	ok(REFUSED("pid 1 code -2 signal 0 err 0\n"), "refused: code -2");
	ok(REFUSED("pid 1 code -0 signal 0 err 0\n"), "refused: code -0");
	ok(REFUSED("pid 1 code -1 signal 0 err 0\n"), "refused: code -1 without a signal");
	ok(REFUSED("pid 1 code 2 signal 9 err 0\n"), "refused: a code and a signal");
	ok(REFUSED("pid 1 code -1 signal 99 err 0\n"), "refused: signal 99");
	ok(REFUSED("pid 99999999999999999999 code 0 signal 0 err 0\n"),
	    "refused: a pid past any");
	ok(REFUSED("pid 1 code 0 signal 0 err 0 extra\n"), "refused: more on the line");
	ok(REFUSED("pid 1 code 0 signal 0 err 0 out -1\n"), "refused: out -1 written out");
	ok(REFUSED("pid 1 code 0 signal 0 err 0 out \n"), "refused: out without a number");
	ok(REFUSED("pid 1 code 0 signal 0 err 0 out 1 out 2\n"), "refused: out twice");
	ok(REFUSED("pid 1 code 0 signal 0 err 0 out 1234567890123456789\n"),
	    "refused: out past any file");
	ok(REFUSED("pid 1 code 0 signal 0 out 5 err 0\n"), "refused: out before err");
	ok(REFUSED("pid 1 code 0 err 0 signal 0\n"), "refused: fields out of order");
	ok(REFUSED("PID 1 code 0 signal 0 err 0\n"), "refused: another spelling");
	ok(REFUSED("pid 1 code 0 signal 0 err \n"), "refused: a number missing");
	ok(REFUSED("pid 1\ncode 0 signal 0 err 0\n"), "refused: a line cut");
	ok(REFUSED("pid 1 code 0\0signal 0 err 0\n"), "refused: a NUL in the header");
	memset(big, 'x', sizeof big);
	memcpy(big, "pid 1 code 0 signal 0 err 0\n", 28);
	ok(refused(dir, big, sizeof big), "refused: a file far too long");
	memcpy(e.err, "junk", 5);
	e.err_len = 4;
	ok(keep_exit_read(dir, ID, &e) == -1 && e.err_len == 0 && e.err[0] == '\0',
	    "a refused file leaves nothing behind in e");
	put_exit(dir, "pid 1 code 0 signal 0 err 0\n", 28);
	ok(keep_exit_read(dir, ID, &e) == 0 && e.pid == 1 && e.out == -1,
	    "and the plainest valid one is read: a keeper's from before \"out\" (size unknown, -1)");
	put_exit(dir, "pid 1 code 0 signal 0 err 2 out 70\nab", 37);
	ok(keep_exit_read(dir, ID, &e) == 0 && e.out == 70 && e.err_len == 2,
	    "one with \"out\" gives its size");
	is_int(keep_exit_read(dir, "not-an-id", &e), -1, "an id that is not one: -1");
	is_int(keep_exit_read("/proc/nonexistent", ID, &e), 1, "no run directory: none yet");

	/* keep_remove */
	put_exit(dir, "x", 1);
	path = keep_path(dir, ID, ".exit.tmp");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
	free(path);
	keep_remove(dir, ID);
	ok(file_size(dir, ".out") == -1 && file_size(dir, ".ack") == -1 &&
	    file_size(dir, ".exit") == -1 && file_size(dir, ".exit.tmp") == -1,
	    "keep_remove removes .out, .ack, .exit and .exit.tmp");
	keep_remove(dir, ID);
	ok(1, "keep_remove again: nothing to remove is fine");
	is_int(rmdir(dir), 0, "nothing else was left in the run directory");
	rmdir(base);
	return tap_done();
}
