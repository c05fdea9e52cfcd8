/*
 * csv: the import handler's CSV reader (see csv.h).
 *
 * DESIGN.  The file is read whole (it is at most CSV_FILE_MAX bytes) and
 * parsed in place: a field is copied down over itself as it is unquoted
 * ("" becomes ", a CRLF inside quotes becomes LF), which only ever shortens
 * it, and NUL-terminated where its delimiter was, which has been read by
 * then.  So a record's fields are pointers into the buffer and nothing is
 * copied.  Each physical line is checked whole (length, NUL, UTF-8) when the
 * reader first steps onto it, so every later check can take the text as
 * valid UTF-8 without NULs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "handler.h"
#include "text.h"

#define CSV_MESSAGE_MAX 512	/* bytes of a message after "line N: " */

/* Reports a problem in the file as "line N: ..." and exits with status 1. */
void
csv_fail(long line, const char *fmt, ...)
{
	char msg[CSV_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	handler_fail("line %ld: %s", line, msg);
}

/*
 * Called at the start of each physical line (c->pos, numbered c->line):
 * checks the whole line's length, NUL bytes and UTF-8 before it is parsed.
 */
static void
csv_check_line(const struct csv *c)
{
	const char *p = c->buf + c->pos, *nl;
	size_t n;

	nl = memchr(p, '\n', c->len - c->pos);
	n = nl != NULL ? (size_t)(nl - p) : c->len - c->pos;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > CSV_LINE_MAX)
		csv_fail(c->line, "the line is longer than %d bytes", CSV_LINE_MAX);
	if (memchr(p, '\0', n) != NULL)
		csv_fail(c->line, "the line contains a NUL byte");
	if (!text_valid(p, n))
		csv_fail(c->line, "the line is not valid UTF-8 (save the file as "
		    "CSV UTF-8)");
}

/* Steps past a line feed at c->pos into the next physical line. */
static void
csv_newline(struct csv *c)
{
	c->pos++;
	c->line++;
	if (c->pos < c->len)
		csv_check_line(c);
}

/* Reads the file at path whole (at most CSV_FILE_MAX bytes), NUL-terminated. */
static char *
csv_read(const char *path, size_t *len)
{
	struct stat st;
	size_t size, got = 0;
	ssize_t n;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		handler_fail("cannot open the uploaded file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		handler_fail("the uploaded file %s is not a regular file", path);
	if (st.st_size > CSV_FILE_MAX)
		handler_fail("the file is larger than %ld MiB (the limit)",
		    CSV_FILE_MAX / (1024 * 1024));
	size = (size_t)st.st_size;
	buf = handler_calloc(size + 1, 1);
	while (got < size && (n = read(fd, buf + got, size - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			handler_fail("reading %s: %s", path, strerror(errno));
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Reads the file, skips a byte order mark and checks line 1. */
void
csv_open(struct csv *c, const char *path)
{
	c->buf = csv_read(path, &c->len);
	c->pos = 0;
	c->line = 1;
	if (c->len >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0)
		c->pos = 3;
	csv_check_line(c);
}

/* Frees the file's buffer. */
void
csv_close(struct csv *c)
{
	free(c->buf);
	c->buf = NULL;
	c->len = c->pos = 0;
}

/* Copies an unquoted field's bytes down to w; returns the new w. */
static size_t
csv_plain(struct csv *c, size_t w)
{
	char ch;

	while (c->pos < c->len) {
		ch = c->buf[c->pos];
		if (ch == ',' || ch == '\n' || ch == '\r')
			break;
		if (ch == '"')
			csv_fail(c->line, "a quote (\") inside an unquoted value: "
			    "quote the whole value and double the quote (\"\")");
		c->buf[w++] = ch;
		c->pos++;
	}
	return w;
}

/* Copies a quoted field's content down to w, undoubling quotes; new w. */
static size_t
csv_quoted(struct csv *c, size_t w)
{
	long opened = c->line;
	char ch;

	c->pos++;
	for (;;) {
		if (c->pos >= c->len)
			csv_fail(opened, "a quoted value is never closed (a closing "
			    "quote is missing)");
		ch = c->buf[c->pos];
		if (ch == '"') {
			c->pos++;
			if (c->pos >= c->len || c->buf[c->pos] != '"')
				return w;
			c->buf[w++] = '"';
			c->pos++;
		} else if (ch == '\n') {
			c->buf[w++] = '\n';
			csv_newline(c);
		} else if (ch == '\r' && c->pos + 1 < c->len &&
		    c->buf[c->pos + 1] == '\n') {
			c->pos++;	/* CRLF inside a value becomes LF */
		} else {
			c->buf[w++] = ch;
			c->pos++;
		}
	}
}

/*
 * Reads one field at c->pos and NUL-terminates it in place; returns it.
 * *last is set to 1 when the field ends its record (line feed or end).
 */
static char *
csv_field(struct csv *c, int *last)
{
	size_t start = c->pos, w;

	if (c->pos < c->len && c->buf[c->pos] == '"')
		w = csv_quoted(c, start);
	else
		w = csv_plain(c, start);
	*last = 1;
	if (c->pos >= c->len)
		*last = 1;	/* the end of the file ends the record */
	else if (c->buf[c->pos] == ',') {
		c->pos++;
		*last = 0;
	} else if (c->buf[c->pos] == '\n')
		csv_newline(c);
	else if (c->buf[c->pos] == '\r' && c->pos + 1 < c->len &&
	    c->buf[c->pos + 1] == '\n') {
		c->pos++;
		csv_newline(c);
	} else if (c->buf[c->pos] == '\r')
		csv_fail(c->line, "a carriage return that does not end the line");
	else
		csv_fail(c->line, "unexpected text after the closing quote of a "
		    "value");
	c->buf[w] = '\0';	/* w <= the delimiter's position, already read */
	return c->buf + start;
}

/* Skips empty lines; 1 if a record follows, 0 at the end of the file. */
static int
csv_skip_blank(struct csv *c)
{
	for (;;) {
		if (c->pos >= c->len)
			return 0;
		if (c->buf[c->pos] == '\r' && c->pos + 1 < c->len &&
		    c->buf[c->pos + 1] == '\n')
			c->pos++;
		if (c->buf[c->pos] != '\n')
			return 1;
		csv_newline(c);
	}
}

/*
 * Reads the next record: up to max fields into field, its first line into
 * *line; returns its number of fields (more than max if it has more), or 0
 * at the end of the file.
 */
int
csv_record(struct csv *c, char **field, int max, long *line)
{
	int n = 0, last = 0;
	char *f;

	if (!csv_skip_blank(c))
		return 0;
	*line = c->line;
	while (!last) {
		f = csv_field(c, &last);
		if (n < max)
			field[n] = f;
		n++;	/* at most one per byte of a file of at most CSV_FILE_MAX */
	}
	return n;
}
