/*
 * keep: the files of a running job in the run directory, shared by the
 * worker and the job's keeper.  See keep.h for the design.
 *
 * <id>.out   the handler's stdout, appended by the keeper only.
 * <id>.ack   8 bytes, an int64_t in the host's byte order: the offset in
 *            .out up to which the worker committed what it read.  Both
 *            sides map it shared; the worker stores, the keeper loads.
 * <id>.exit  how the handler ended, written to <id>.exit.tmp and renamed,
 *            so that a reader finds it whole or not at all.  The room for
 *            it is taken when the job starts (keep_prepare allocates
 *            <id>.exit.tmp at its largest): a handler that filled the disk
 *            is still recorded as it ended, not as a keeper gone silent.  Its format is
 *            one header line, then the stderr tail, raw, and nothing else:
 *
 *                pid 1234 code 0 signal 0 err 57\n<57 bytes>
 *
 *            Numbers are plain decimal (no sign but code's -1, no leading
 *            zero); code is -1 exactly when signal is not 0; err is at
 *            most KEEP_ERR_TAIL.  A file that differs in anything is refused.
 *
 * Every id is checked with jobid_valid before it becomes a path: an id is
 * 32 hex digits, so no file outside the run directory can be named.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobid.h"
#include "keep.h"
#include "log.h"
#include "xmem.h"

/* Longest header line: four numbers of at most 20 characters each, the words and the newline. */
#define KEEP_HEADER_MAX 128
/* The most an .exit file can hold: a larger one is not ours. */
#define KEEP_EXIT_MAX (KEEP_HEADER_MAX + KEEP_ERR_TAIL)

/* The mapping of <id>.ack itself: the struct is the shared memory. */
struct keep_ack {
	int64_t offset;
};

char *
keep_path(const char *rundir, const char *id, const char *suffix)
{
	return xasprintf("%s/%s%s", rundir, id, suffix);
}

/* 0 if id can name files, else -1 (logged): it is a job id and nothing else. */
static int
keep_id_ok(const char *id)
{
	if (jobid_valid(id))
		return 0;
	log_error("refused a job id that is not 32 hex digits");
	return -1;
}

/* Writes all of p to fd, through short writes and EINTR; 0, or -1 with errno. */
static int
keep_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, s, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Removes path; a file that is not there is already removed. */
static void
keep_unlink(const char *rundir, const char *id, const char *suffix)
{
	char *path = keep_path(rundir, id, suffix);

	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("unlink %s: %s", path, strerror(errno));
	free(path);
}

/* Creates the empty <id>.out (emptied if it was there); 0 or -1 (logged). */
static int
keep_prepare_out(const char *rundir, const char *id)
{
	char *path = keep_path(rundir, id, ".out");
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	close(fd);
	free(path);
	return 0;
}

/*
 * Creates <id>.ack holding 0; 0 or -1 (logged).  Written in place and never
 * truncated below its 8 bytes: a process that still maps an old one would
 * get SIGBUS reading a mapping past the end of its file.
 */
static int
keep_prepare_ack(const char *rundir, const char *id)
{
	char *path = keep_path(rundir, id, ".ack");
	int64_t zero = 0;
	int fd, rc = 0;

	errno = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || pwrite(fd, &zero, sizeof zero, 0) != (ssize_t)sizeof zero ||
	    ftruncate(fd, sizeof zero) != 0) {
		log_error("%s: %s", path, errno != 0 ? strerror(errno) : "short write");
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* Creates <id>.exit.tmp with room for the largest .exit: 0, or -1 (logged). */
static int
keep_prepare_exit(const char *rundir, const char *id)
{
	char *tmp = keep_path(rundir, id, ".exit.tmp");
	int fd, rc = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		log_error("%s: %s", tmp, strerror(errno));
	else if ((errno = posix_fallocate(fd, 0, KEEP_EXIT_MAX)) != 0)
		log_error("%s: %s", tmp, strerror(errno));
	else
		rc = 0;
	if (fd >= 0 && close(fd) != 0 && rc == 0) {
		log_error("%s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
keep_prepare(const char *rundir, const char *id)
{
	if (keep_id_ok(id) != 0)
		return -1;
	if (mkdir(rundir, 0700) != 0 && errno != EEXIST) {
		log_error("mkdir %s: %s", rundir, strerror(errno));
		return -1;
	}
	if (keep_prepare_out(rundir, id) != 0 || keep_prepare_ack(rundir, id) != 0)
		return -1;
	/* An .exit left from before would end the new run at once. */
	keep_unlink(rundir, id, ".exit");
	return keep_prepare_exit(rundir, id);
}

struct keep_ack *
keep_ack_map(const char *rundir, const char *id, int writable)
{
	struct keep_ack *a = NULL;
	struct stat sb;
	char *path;
	void *p;
	int fd;

	if (keep_id_ok(id) != 0)
		return NULL;
	path = keep_path(rundir, id, ".ack");
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		log_error("%s: %s", path, strerror(errno));
		goto out;
	}
	/* Reading a mapping past the end of its file is SIGBUS, not an error. */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < (off_t)sizeof *a) {
		log_error("%s: not a file of %zu bytes", path, sizeof *a);
		goto out;
	}
	p = mmap(NULL, sizeof *a, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		log_error("mmap %s: %s", path, strerror(errno));
		goto out;
	}
	a = p;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return a;
}

int64_t
keep_ack_get(const struct keep_ack *a)
{
	return __atomic_load_n(&a->offset, __ATOMIC_ACQUIRE);
}

void
keep_ack_set(struct keep_ack *a, int64_t offset)
{
	__atomic_store_n(&a->offset, offset, __ATOMIC_RELEASE);
}

void
keep_ack_unmap(struct keep_ack *a)
{
	if (a != NULL)
		munmap(a, sizeof *a);
}

/* 1 if e is something keep_exit_read would give back. */
static int
keep_exit_valid(const struct keep_exit *e)
{
	if (e->pid <= 0 || e->pid > 0x7fffffff || e->err_len > KEEP_ERR_TAIL || e->out < -1)
		return 0;
	if (e->signal == 0)
		return e->code >= 0 && e->code <= 255;
	return e->code == -1 && e->signal > 0 && e->signal < NSIG;
}

int
keep_exit_write(const char *rundir, const char *id, const struct keep_exit *e)
{
	char header[KEEP_HEADER_MAX], *tmp, *path;
	int fd, n, rc = -1;

	if (keep_id_ok(id) != 0)
		return -1;
	if (!keep_exit_valid(e)) {
		log_error("job %s: refused to record an impossible end (code %d, signal %d)", id,
		    e->code, e->signal);
		return -1;
	}
	/* An unknown size is no "out" at all, as a keeper from before it wrote. */
	if (e->out >= 0)
		n = snprintf(header, sizeof header, "pid %ld code %d signal %d err %zu out %lld\n",
		    e->pid, e->code, e->signal, e->err_len, e->out);
	else
		n = snprintf(header, sizeof header, "pid %ld code %d signal %d err %zu\n", e->pid,
		    e->code, e->signal, e->err_len);
	tmp = keep_path(rundir, id, ".exit.tmp");
	path = keep_path(rundir, id, ".exit");
	/*
	 * Into the room keep_prepare took: not truncated first, which would
	 * give it back; cut to size after, which needs none.  Made here only
	 * if it is missing.
	 */
	fd = open(tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		fd = open(tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("%s: %s", tmp, strerror(errno));
		goto out;
	}
	/*
	 * No fsync: the file outlives a worker's death, which is what it is
	 * for; after the host's, no keeper runs either.
	 */
	if (keep_write_all(fd, header, (size_t)n) != 0 ||
	    keep_write_all(fd, e->err, e->err_len) != 0 ||
	    ftruncate(fd, (off_t)n + (off_t)e->err_len) != 0) {
		log_error("%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		log_error("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}

/*
 * Parses "<word> <number>" at *p, the number plain decimal within [min, max]
 * ("-" only for a negative one, no leading zero, no plus sign); advances *p
 * past it.  0, or -1 if anything differs.
 */
static int
keep_field(const char **p, const char *end, const char *word, long long min,
    long long max, long long *out)
{
	size_t wlen = strlen(word);
	const char *s = *p;
	long long v = 0;
	int neg = 0, digits = 0;

	if ((size_t)(end - s) < wlen + 1 || memcmp(s, word, wlen) != 0 || s[wlen] != ' ')
		return -1;
	s += wlen + 1;
	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (digits > 0 && v == 0)
			return -1;	/* a leading zero */
		if (++digits > 18)
			return -1;	/* past any bound used here, and no overflow */
		v = v * 10 + (*s - '0');
	}
	if (digits == 0 || (neg && v == 0))
		return -1;
	if (neg)
		v = -v;
	if (v < min || v > max)
		return -1;
	*out = v;
	*p = s;
	return 0;
}

/* Parses a whole .exit file of n bytes into e: 0, or -1 if it is not one keep_exit_write wrote. */
static int
keep_exit_parse(const char *data, size_t n, struct keep_exit *e)
{
	const char *p = data, *nl = memchr(data, '\n', n < KEEP_HEADER_MAX ? n : KEEP_HEADER_MAX);
	long long pid, code, sig, len, out = -1;

	if (nl == NULL)
		return -1;
	if (keep_field(&p, nl, "pid", 1, 0x7fffffff, &pid) != 0 || p == nl || *p++ != ' ' ||
	    keep_field(&p, nl, "code", -1, 255, &code) != 0 || p == nl || *p++ != ' ' ||
	    keep_field(&p, nl, "signal", 0, NSIG - 1, &sig) != 0 || p == nl || *p++ != ' ' ||
	    keep_field(&p, nl, "err", 0, KEEP_ERR_TAIL, &len) != 0)
		return -1;
	/* "out" came later: a keeper from before it (an upgrade) writes none. */
	if (p != nl && (*p++ != ' ' || keep_field(&p, nl, "out", 0, INT64_MAX / 2, &out) != 0 ||
	    p != nl))
		return -1;
	if ((size_t)(nl + 1 - data) + (size_t)len != n)
		return -1;
	e->pid = (long)pid;
	e->code = (int)code;
	e->signal = (int)sig;
	e->out = out;
	e->err_len = (size_t)len;
	memcpy(e->err, nl + 1, e->err_len);
	e->err[e->err_len] = '\0';
	return keep_exit_valid(e) ? 0 : -1;
}

int
keep_exit_read(const char *rundir, const char *id, struct keep_exit *e)
{
	char data[KEEP_EXIT_MAX + 1], *path;
	size_t n = 0;
	ssize_t r;
	int fd, rc = -1;

	memset(e, 0, sizeof *e);
	if (keep_id_ok(id) != 0)
		return -1;
	path = keep_path(rundir, id, ".exit");
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			rc = 1;
		else
			log_error("%s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	/* One byte more than the most there may be: then it is too long. */
	while (n < sizeof data) {
		if ((r = read(fd, data + n, sizeof data - n)) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > KEEP_EXIT_MAX || keep_exit_parse(data, n, e) != 0) {
		log_error("%s: not a valid exit record", path);
		memset(e, 0, sizeof *e);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	free(path);
	return rc;
}

void
keep_remove(const char *rundir, const char *id)
{
	if (keep_id_ok(id) != 0)
		return;
	keep_unlink(rundir, id, ".out");
	keep_unlink(rundir, id, ".ack");
	keep_unlink(rundir, id, ".exit");
	keep_unlink(rundir, id, ".exit.tmp");
}
