/*
 * buf: a growing byte buffer with a ceiling.
 *
 * Every buffer filled from outside input (a request body, a handler's output
 * line, a header) is created with the most it may ever hold; an append that
 * would pass it fails instead of growing, so a hostile or broken peer cannot
 * make a program allocate without bound.  The contents are always
 * NUL-terminated for convenience; len does not count the NUL.
 */
#ifndef LONGJOB_BUF_H
#define LONGJOB_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;	/* the ceiling; 0 means none (for internally built text) */
};

void buf_init(struct buf *b, size_t max);
/* Appends n bytes; returns 0, or -1 (contents unchanged) when over the ceiling. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);
/* Hands the contents to the caller (who frees them) and resets b. */
char *buf_take(struct buf *b);

#endif
