/*
 * form: incremental parser for HTML form bodies,
 * application/x-www-form-urlencoded and multipart/form-data.
 *
 * The body is fed in chunks as it arrives (form_feed), so an upload is
 * streamed straight to a file in the spool directory and never held whole
 * in memory.  Every dimension is bounded by struct form_limits; going past a
 * bound stops the parse with an error code that maps to an HTTP status
 * (413 for sizes, 400 for malformed input) and a message for a person.
 *
 * The caller decides what is stored (form_set_uploads): which file parts go
 * to disk and which are read and dropped, and how many bytes may be written
 * in all, so an upload nobody will use never touches the disk.
 *
 * Ownership: the form owns every field, name and path it reports; they live
 * until form_free.  Files it created are NOT removed by form_free (the job
 * keeps them); form_abort removes them, for a refused request.
 */
#ifndef LONGJOB_FORM_H
#define LONGJOB_FORM_H

#include <stddef.h>

struct form_limits {
	size_t max_body;	/* total bytes of body accepted */
	size_t max_fields;	/* text fields + files */
	size_t max_name;	/* bytes in a field name */
	size_t max_value;	/* bytes in one text field value */
	size_t max_part_header;	/* bytes of headers of one multipart part */
	size_t max_file;	/* bytes of one uploaded file */
	size_t max_files;	/* number of uploaded files */
};

struct form_field {
	char *name;
	char *value;		/* text fields: the value (NUL-terminated, may contain NULs: use len) */
	size_t len;
	char *filename;		/* files: the client's file name (sanitized: no '/', no control chars); else NULL */
	char *content_type;	/* files: as sent, or "application/octet-stream" */
	char *path;		/* files: where the upload was stored; else NULL */
	size_t size;		/* files: bytes stored */
};

enum form_error {
	FORM_OK = 0,
	FORM_MALFORMED,		/* -> 400 */
	FORM_TOO_LARGE,		/* -> 413 */
	FORM_TOO_MANY,		/* -> 413 (field count) */
	FORM_UNSUPPORTED,	/* -> 415 (content type) */
	FORM_IO,		/* -> 500, or 507 when errno was ENOSPC/EDQUOT */
	FORM_FULL,		/* -> 507 (the caller's room for uploads is used up) */
};

/* What becomes of a file part (the part callback of struct form_uploads). */
enum form_upload {
	FORM_UPLOAD_STORE,	/* written to upload-N and reported */
	FORM_UPLOAD_SKIP,	/* read and dropped: nothing is written or reported */
	FORM_UPLOAD_REFUSE,	/* the parse stops, FORM_MALFORMED (-> 400) */
};

/*
 * The caller's say over uploads.  part is asked once per file part, when
 * its first byte would be stored (a part with no file chosen is never
 * asked); room is asked before each write with the bytes about to go to
 * disk, and -1 stops the parse with FORM_FULL.  On FORM_UPLOAD_REFUSE or -1
 * they set *cause, a message the form frees.  Either may be NULL: every
 * part is stored, with no bound but max_file.
 */
struct form_uploads {
	enum form_upload (*part)(void *arg, const char *name, char **cause);
	int (*room)(void *arg, size_t n, char **cause);
	void *arg;
};

struct form;

/*
 * Starts a parse for a body of the given Content-Type header value.
 * upload_dir is where files are written (created 0700 by the caller); each
 * gets a generated name ("upload-1", "upload-2", ...), never one from the
 * client.  Returns NULL with *err = FORM_UNSUPPORTED for a content type it
 * does not handle or a multipart type without a usable boundary.
 */
struct form *form_new(const char *content_type, const char *upload_dir,
    const struct form_limits *limits, enum form_error *err);
/* Sets what the caller says about uploads (see above), before the first form_feed. */
void form_set_uploads(struct form *f, const struct form_uploads *u);
/* Feeds the next n bytes of body; returns FORM_OK or the error that stopped the parse. */
enum form_error form_feed(struct form *f, const char *p, size_t n);
/* Ends the body; a truncated multipart body is FORM_MALFORMED. */
enum form_error form_finish(struct form *f);
/* A message for a person saying what was wrong ("field 'x' is larger than 1048576 bytes"). */
const char *form_message(const struct form *f);
/* errno of the last FORM_IO failure (to tell 507 from 500). */
int form_errno(const struct form *f);
size_t form_count(const struct form *f);
const struct form_field *form_at(const struct form *f, size_t i);
/* The first field with that name, or NULL. */
const struct form_field *form_get(const struct form *f, const char *name);
/* Removes the files written so far (for a refused request). */
void form_abort(struct form *f);
void form_free(struct form *f);

/* Default limits for a body of at most max_body bytes. */
void form_limits_default(struct form_limits *l, size_t max_body);

#endif
