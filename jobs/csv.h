/*
 * csv: the import handler's CSV reader.
 *
 * It reads RFC 4180 CSV in UTF-8 from a file read whole into memory (an
 * Excel byte order mark is skipped) and hands back one record at a time.
 * Every physical line is checked before it is parsed: at most
 * CSV_LINE_MAX bytes, no NUL byte, valid UTF-8.  The first problem ends
 * the program (csv_fail): "line N: what is wrong" on stderr, exit status 1,
 * where N counts physical lines from 1.
 *
 * Ownership: the reader owns the file's buffer.  The fields csv_record
 * returns point into it (they are unquoted in place: unquoting only ever
 * shortens a field) and stay valid, and writable, until csv_close.
 */
#ifndef LONGJOB_CSV_H
#define LONGJOB_CSV_H

#include <stddef.h>

#include "handler.h"

#define CSV_FILE_MAX (64L * 1024 * 1024)	/* bytes of the whole file */
#define CSV_LINE_MAX 65536	/* bytes of one physical line, without its newline */

/* A position in the file's buffer and its physical line. */
struct csv {
	char *buf;		/* owned: the file, NUL-terminated */
	size_t len;
	size_t pos;
	long line;
};

/* Reads the file at path whole (at most CSV_FILE_MAX bytes) and checks line 1. */
void csv_open(struct csv *c, const char *path);
/* Reads a record: up to max fields, its first line in *line; its field count, 0 at the end. */
int csv_record(struct csv *c, char **field, int max, long *line);
/* Frees the file's buffer; the fields are gone with it. */
void csv_close(struct csv *c);

/* Reports a problem in the file as "line N: ..." and exits with status 1. */
void csv_fail(long line, const char *fmt, ...) HANDLER_PRINTF(2, 3) HANDLER_NORETURN;

#endif
