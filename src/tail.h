/*
 * tail: reads a file that another process appends to, line by line, from a
 * known offset, and says where each line ends.
 *
 * The worker reads a handler's output this way (keep.h): what it records
 * is committed together with the offset just past the last line it used,
 * so a successor that starts reading at that offset neither misses nor
 * repeats a line.  A line longer than PROTO_MAX_LINE is returned cut (its
 * first PROTO_MAX_LINE bytes) as soon as that much has arrived, and the
 * rest of it is then skipped up to its newline; "skipping" is part of the
 * position, so that a successor resuming in the middle of such a line skips
 * too instead of taking its rest for a line of its own.  Memory is bounded
 * by PROTO_MAX_LINE plus one read.
 */
#ifndef LONGJOB_TAIL_H
#define LONGJOB_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct tail {
	int fd;			/* not owned */
	int64_t pos;		/* the file offset where buf starts */
	int64_t read_to;	/* bytes of the file read so far */
	struct buf buf;		/* read, not yet returned */
	size_t off;		/* returned bytes at the start of buf */
	int skip;		/* in a cut line: dropping up to its newline */
	int64_t end;		/* nothing past this offset is read; -1: no end */
	int at_end;		/* the last read reached the file's end (as it was then) */
};

/* Starts reading fd at offset, skipping to the next newline first if skip. */
void tail_init(struct tail *t, int fd, int64_t offset, int skip);
void tail_free(struct tail *t);
/* Reads nothing past offset end from now on (the file's end as its writer left it). */
void tail_end(struct tail *t, int64_t end);
/*
 * Reads what has been appended, at most max bytes: the count, 0 if there
 * was nothing new, -1 on a read error (logged by the caller: errno is set).
 * Reads nothing while a whole line waits to be taken (tail_next).
 */
long tail_read(struct tail *t, size_t max);
/*
 * The next line (without its newline): 1 with line, n and cut set, else 0.
 * At eof (the writer is done) an unterminated rest is a line too.  The line
 * is valid until the next call.  After it, tail_offset and tail_skipping
 * are the position just past it.
 */
int tail_next(struct tail *t, int eof, const char **line, size_t *n, int *cut);
/* The offset just past the last line returned (or skipped). */
int64_t tail_offset(const struct tail *t);
/* 1 if that offset is inside a cut line whose rest is being skipped. */
int tail_skipping(const struct tail *t);
/*
 * 1 if the last tail_read reached what the file held then: nothing more to
 * read until it grows (a read would only find 0 bytes).
 */
int tail_at_end(const struct tail *t);

#endif
