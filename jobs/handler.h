/*
 * handler: a small kit for job handlers written in C.
 *
 * A job handler is any program the worker runs with the job as JSON on its
 * stdin and that answers with lines on its stdout (README.md, "Writing a job
 * handler").  This kit does the parts every C handler needs and is easy to
 * get subtly wrong: it reads the job (with a ceiling), reads fields with
 * bounds, prints protocol lines that are always one line each and flushed
 * at once, keeps a log line from being taken for a protocol line, and turns
 * a failure into a sentence on stderr (which the person sees as the job's
 * error) and a non-zero exit status.
 *
 *     handler_init();                          reads the job from stdin
 *     n = handler_field_int("seconds", 10, 0, 3600);
 *     handler_step("draw", "Drawing");
 *     handler_progress(42.5, "row %d of %d", r, h);
 *     handler_file("image.png", "image/png");
 *     handler_result(obj);
 *     return handler_end();
 *
 * Errors: a handler is a short-lived program that does one job, so the kit
 * does not return errors: a bad input (the job's JSON, a field) ends the
 * program with a message and HANDLER_EXIT_INPUT, anything else that goes
 * wrong (out of memory, a bad step id or file name passed to the kit) with
 * HANDLER_EXIT_FAILED.  The handler's own failures go through handler_fail.
 *
 * Ownership: the kit owns the job it read.  The strings handler_field_str,
 * handler_upload_path and handler_upload_name return point into it and stay
 * valid until handler_end.  handler_file_url returns a string the caller
 * frees.  handler_result borrows its object: the caller keeps its reference
 * (and puts it).  Memory from handler_calloc and handler_reallocarray is the
 * caller's, freed with free().
 *
 * Uses json-c.  Build a handler with
 *     cc -o mine mine.c handler.c $(pkg-config --cflags --libs json-c)
 */
#ifndef LONGJOB_HANDLER_H
#define LONGJOB_HANDLER_H

#include <stddef.h>

#define HANDLER_INPUT_MAX (16 * 1024 * 1024)	/* bytes of JSON on stdin */
#define HANDLER_EXIT_FAILED 1	/* the job failed */
#define HANDLER_EXIT_INPUT 2	/* the job's input (its JSON, a field) is wrong */

#if defined(__GNUC__) || defined(__clang__)
#define HANDLER_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HANDLER_NORETURN __attribute__((noreturn))
#else
#define HANDLER_PRINTF(f, a)
#define HANDLER_NORETURN
#endif

struct json_object;

/* First thing: makes stdout line-buffered, reads the job (empty stdin: no fields). */
void handler_init(void);
/* Flushes stdout and frees the job: the exit status for main to return. */
int handler_end(void);

/* A string field (a number is given as its text), or def if absent or null. */
const char *handler_field_str(const char *name, const char *def);
/* An int field (a number or a numeric string) from min to max, or def if absent. */
int handler_field_int(const char *name, int def, int min, int max);
/* The path of the file uploaded as field name, or NULL if none was. */
const char *handler_upload_path(const char *name);
/* The file name the browser gave the upload of field name, or NULL. */
const char *handler_upload_name(const char *name);

/* "progress <pct> <message>": pct is clamped to 0..100; fmt may be NULL. */
void handler_progress(double pct, const char *fmt, ...) HANDLER_PRINTF(2, 3);
/* "step <id> <label>": id is 1 to 64 of A-Z a-z 0-9 _ -; label may be NULL. */
void handler_step(const char *id, const char *label);
/* A log line: line breaks become spaces; never read as a protocol line. */
void handler_log(const char *fmt, ...) HANDLER_PRINTF(1, 2);
/* "file <name> [type]": a file made in the working directory; type NULL: by its name. */
void handler_file(const char *name, const char *content_type);
/* The URL a file named with handler_file is served at (the caller frees it). */
char *handler_file_url(const char *name);
/* "result <json>": obj must be a JSON object; borrowed, not freed. */
void handler_result(struct json_object *obj);

/* Writes the sentence to stderr and exits with HANDLER_EXIT_FAILED. */
void handler_fail(const char *fmt, ...) HANDLER_PRINTF(1, 2) HANDLER_NORETURN;
/* The same for a bad input, with HANDLER_EXIT_INPUT. */
void handler_fail_input(const char *fmt, ...) HANDLER_PRINTF(1, 2) HANDLER_NORETURN;

/* calloc that never returns NULL: out of memory fails the job. */
void *handler_calloc(size_t n, size_t size);
/* reallocarray that never returns NULL: out of memory fails the job. */
void *handler_reallocarray(void *p, size_t n, size_t size);

#endif
