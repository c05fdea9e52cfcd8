/* tail: a growing file read line by line from a committed offset.  See tail.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "tail.h"

void
tail_init(struct tail *t, int fd, int64_t offset, int skip)
{
	memset(t, 0, sizeof *t);
	t->fd = fd;
	t->pos = t->read_to = offset;
	t->skip = skip;
	t->end = -1;
	buf_init(&t->buf, 0);
}

void
tail_end(struct tail *t, int64_t end)
{
	t->end = end;
}

void
tail_free(struct tail *t)
{
	buf_free(&t->buf);
}

/* Drops the bytes already returned from the front of the buffer. */
static void
tail_compact(struct tail *t)
{
	if (t->off == 0)
		return;
	buf_consume(&t->buf, t->off);
	t->pos += (int64_t)t->off;
	t->off = 0;
}

/* Drops what is being skipped, up to and with the newline that ends it. */
static void
tail_skip(struct tail *t)
{
	const char *start = t->buf.data + t->off, *nl;
	size_t left = t->buf.len - t->off;

	if (!t->skip || left == 0)
		return;
	nl = memchr(start, '\n', left);
	if (nl == NULL) {
		t->off = t->buf.len;
		return;
	}
	t->off += (size_t)(nl - start) + 1;
	t->skip = 0;
}

long
tail_read(struct tail *t, size_t max)
{
	char chunk[65536];
	size_t want = max < sizeof chunk ? max : sizeof chunk, total = 0;
	ssize_t got;

	tail_compact(t);
	t->at_end = 0;
	/* Bounded memory: a whole cut line is taken before more is read. */
	while (total < max && t->buf.len <= PROTO_MAX_LINE) {
		if (want > max - total)
			want = max - total;
		if (t->end >= 0 && (int64_t)want > t->end - t->read_to)
			want = t->end > t->read_to ? (size_t)(t->end - t->read_to) : 0;
		if (want == 0) {
			t->at_end = 1;
			break;
		}
		do
			got = pread(t->fd, chunk, want, t->read_to);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return -1;
		if (got == 0) {
			t->at_end = 1;
			break;
		}
		buf_add(&t->buf, chunk, (size_t)got);
		t->read_to += got;
		total += (size_t)got;
		tail_skip(t);
		tail_compact(t);
		/* Less than asked of a file: its end, as it is now; no read for a 0. */
		if ((size_t)got < want) {
			t->at_end = 1;
			break;
		}
	}
	return (long)total;
}

int
tail_next(struct tail *t, int eof, const char **line, size_t *n, int *cut)
{
	const char *start, *nl;
	size_t left;

	tail_skip(t);
	start = t->buf.data + t->off;
	left = t->buf.len - t->off;
	if (left == 0)
		return 0;
	nl = memchr(start, '\n', left < PROTO_MAX_LINE + 1 ? left : PROTO_MAX_LINE + 1);
	*line = start;
	*cut = 0;
	if (nl != NULL) {
		*n = (size_t)(nl - start);
		t->off += *n + 1;
		return 1;
	}
	if (left > PROTO_MAX_LINE) {
		/* Too long: its first PROTO_MAX_LINE bytes now, the rest skipped. */
		*n = PROTO_MAX_LINE;
		*cut = 1;
		t->off += PROTO_MAX_LINE;
		t->skip = 1;
		return 1;
	}
	if (!eof)
		return 0;
	*n = left;
	t->off += left;
	return 1;
}

int64_t
tail_offset(const struct tail *t)
{
	return t->pos + (int64_t)t->off;
}

int
tail_skipping(const struct tail *t)
{
	return t->skip;
}

int
tail_at_end(const struct tail *t)
{
	return t->at_end;
}
