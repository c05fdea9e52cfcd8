/*
 * proto: the line protocol a job handler speaks on its stdout.
 *
 *     progress <0-100> [message]
 *     step <id> [label]
 *     result <json object>
 *     file <name> [content-type]
 *
 * Any other line is a log line.  proto_parse classifies one line (without
 * its newline) and validates it; a line that starts with a keyword but is
 * malformed ("progress abc", "result [1]", "file ../x") is reported as
 * PROTO_INVALID with a reason, which the worker turns into a log event, so a
 * handler bug is visible but never corrupts the job record.
 *
 * Ownership: the strings in struct proto_msg point into a buffer owned by
 * the message; proto_msg_clear frees it.  msg->json is a json-c object the
 * message owns (take a reference with json_object_get to keep it).
 */
#ifndef LONGJOB_PROTO_H
#define LONGJOB_PROTO_H

#include <stddef.h>

#define PROTO_MAX_LINE 65536	/* longer lines are cut by the reader; see proto_reader */
#define PROTO_MAX_MESSAGE 512	/* progress messages and step labels are cut to this */
#define PROTO_MAX_ID 64		/* step ids and artifact names */

struct json_object;

enum proto_kind {
	PROTO_LOG,		/* text: the line (control chars other than tab replaced by '?') */
	PROTO_PROGRESS,		/* percent, text: message or "" */
	PROTO_STEP,		/* id, text: label (defaults to id) */
	PROTO_RESULT,		/* json: the object */
	PROTO_FILE,		/* id: the artifact name, text: content type (guessed from the name when absent) */
	PROTO_INVALID,		/* text: why the line was refused */
};

struct proto_msg {
	enum proto_kind kind;
	double percent;
	char *id;
	char *text;
	struct json_object *json;
	char *storage;		/* owned */
};

/* Parses one line of n bytes (no newline); always fills msg. */
void proto_parse(const char *line, size_t n, struct proto_msg *msg);
void proto_msg_clear(struct proto_msg *msg);

/* 1 if name is a safe artifact file name: [A-Za-z0-9._-], 1..64, not starting with '.'. */
int proto_name_valid(const char *name);
/* Content type guessed from an artifact name's extension. */
const char *proto_guess_type(const char *name);

/*
 * Splits a byte stream into lines with a ceiling: bytes past PROTO_MAX_LINE
 * in one line are dropped and the line is flagged as cut.
 */
struct proto_reader;
struct proto_reader *proto_reader_new(void);
/* Appends n bytes of handler output. */
void proto_reader_feed(struct proto_reader *r, const char *p, size_t n);
/* Next complete line (or, at eof, the unterminated rest): 1 and line, n, cut set, else 0. */
int proto_reader_next(struct proto_reader *r, int eof, const char **line, size_t *n, int *cut);
void proto_reader_free(struct proto_reader *r);

#endif
