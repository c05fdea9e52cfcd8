/*
 * handler: the kit for job handlers written in C (see handler.h).
 *
 * The worker parses each line of a handler's stdout with proto_parse
 * (src/proto.c): a line whose first word, up to a space or a tab, is
 * exactly "progress", "step", "result" or "file" is a protocol line, and
 * anything else is a log line.  So the kit prints every line whole, ends it
 * with one '\n' and flushes it, and never lets text it is given break a line
 * (line feeds, carriage returns and NULs become spaces).  A log line whose
 * first word is a keyword is printed with a leading space: its first word is
 * then empty, and the worker keeps the line, space and all, as a log line.
 *
 * The job on stdin is read once, whole, up to HANDLER_INPUT_MAX bytes, into
 * a buffer that grows as it fills, and kept parsed until handler_end.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "handler.h"

#define HANDLER_ID_MAX 64	/* step ids and file names, as the worker takes them */
#define HANDLER_TYPE_MAX 127	/* a content type */
#define HANDLER_ALNUM \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define HANDLER_TYPE_CHARS HANDLER_ALNUM "!#$&^_.+-"

static struct json_object *handler_job;	/* the input, once read */
static struct json_object *handler_fields;	/* its "fields", or NULL */

/* Writes the message and a newline to stderr, then exits with status. */
static void HANDLER_NORETURN __attribute__((format(printf, 2, 0)))
handler_vexit(int status, const char *fmt, va_list ap)
{
	fflush(stdout);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

/* Writes the sentence to stderr and exits with HANDLER_EXIT_FAILED. */
void
handler_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	handler_vexit(HANDLER_EXIT_FAILED, fmt, ap);
}

/* Writes the sentence to stderr and exits with HANDLER_EXIT_INPUT. */
void
handler_fail_input(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	handler_vexit(HANDLER_EXIT_INPUT, fmt, ap);
}

/* calloc of n elements of size bytes; fails the job when memory runs out. */
void *
handler_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		handler_fail("out of memory");
	return p;
}

/* Resizes p to n elements of size bytes; fails the job when memory runs out. */
void *
handler_reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		handler_fail("out of memory");
	p = realloc(p, n != 0 && size != 0 ? n * size : 1);
	if (p == NULL)
		handler_fail("out of memory");
	return p;
}

/* Reads all of stdin, at most HANDLER_INPUT_MAX bytes, NUL-terminated. */
static char *
handler_read_stdin(size_t *len)
{
	size_t cap = 65536, n;
	char *text = handler_calloc(cap + 1, 1);

	*len = 0;
	for (;;) {
		if (*len == cap) {
			if (cap > HANDLER_INPUT_MAX)
				handler_fail_input("the job description on stdin "
				    "is over %d MiB (the limit)",
				    HANDLER_INPUT_MAX / (1024 * 1024));
			/* Up to one byte past the ceiling: the mark of too much. */
			cap = cap * 2 > HANDLER_INPUT_MAX ? HANDLER_INPUT_MAX + 1 :
			    cap * 2;
			text = handler_reallocarray(text, cap + 1, 1);
		}
		n = fread(text + *len, 1, cap - *len, stdin);
		if (n == 0)
			break;
		*len += n;
	}
	if (ferror(stdin))
		handler_fail("reading the job description on stdin: %s",
		    strerror(errno));
	text[*len] = '\0';
	return text;
}

/* Parses the job: one JSON object, nothing but blanks after it. */
static struct json_object *
handler_parse(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *job;
	enum json_tokener_error jerr;
	size_t end;

	if (text[strspn(text, " \t\r\n")] == '\0')
		return json_object_new_object();	/* run by hand: defaults */
	if (len >= INT32_MAX)
		handler_fail_input("the job description on stdin is too long");
	tok = json_tokener_new();
	if (tok == NULL)
		handler_fail("out of memory");
	job = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (job == NULL || jerr != json_tokener_success)
		handler_fail_input("the job description on stdin is not JSON: %s",
		    json_tokener_error_desc(jerr));
	if (end < len && text[end + strspn(text + end, " \t\r\n")] != '\0')
		handler_fail_input("the job description on stdin is not JSON: "
		    "text after the object");
	if (!json_object_is_type(job, json_type_object))
		handler_fail_input("the job description on stdin is not a JSON "
		    "object");
	return job;
}

/* Reads the job from stdin, once. */
static void
handler_load(void)
{
	struct json_object *fields;
	size_t len;
	char *text;

	if (handler_job != NULL)
		return;
	text = handler_read_stdin(&len);
	handler_job = handler_parse(text, len);
	free(text);
	if (json_object_object_get_ex(handler_job, "fields", &fields) &&
	    fields != NULL) {
		if (!json_object_is_type(fields, json_type_object))
			handler_fail_input("\"fields\" is not a JSON object");
		handler_fields = fields;	/* borrowed from the job */
	}
}

/* Makes stdout line-buffered (before any output) and reads the job. */
void
handler_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	handler_load();
}

/* Flushes stdout and frees the job; 0, or HANDLER_EXIT_FAILED. */
int
handler_end(void)
{
	int rc = 0;

	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "writing to stdout: %s\n", strerror(errno));
		rc = HANDLER_EXIT_FAILED;
	}
	json_object_put(handler_job);	/* the job's only reference */
	handler_job = NULL;
	handler_fields = NULL;
	return rc;
}

/* The member key of obj if obj is an object that has it (not null), else NULL. */
static struct json_object *
handler_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* The field name, or NULL (reads the job first if needed). */
static struct json_object *
handler_field(const char *name)
{
	handler_load();
	return handler_member(handler_fields, name);
}

/* A string field (numbers as their text), or def when absent or null. */
const char *
handler_field_str(const char *name, const char *def)
{
	struct json_object *v = handler_field(name);

	if (v == NULL)
		return def;
	if (json_object_is_type(v, json_type_object) ||
	    json_object_is_type(v, json_type_array))
		handler_fail_input("field %s: expected a string", name);
	return json_object_get_string(v);	/* owned by the job */
}

/* Parses s as a whole decimal integer; 0 and *out set, or -1. */
static int
handler_parse_int(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (end == s || errno != 0)
		return -1;
	end += strspn(end, " \t");
	return *end == '\0' ? 0 : -1;
}

/* An int field (a number or a numeric string) from min to max, or def. */
int
handler_field_int(const char *name, int def, int min, int max)
{
	struct json_object *v = handler_field(name);
	long long n;
	double d;

	if (v == NULL)
		return def;
	switch (json_object_get_type(v)) {
	case json_type_int:
		n = json_object_get_int64(v);
		break;
	case json_type_double:
		d = json_object_get_double(v);
		if (!(d >= min && d <= max) || d != floor(d))
			handler_fail_input("field %s: %g is not a whole number "
			    "from %d to %d", name, d, min, max);
		n = (long long)d;
		break;
	case json_type_string:
		if (handler_parse_int(json_object_get_string(v), &n) == -1)
			handler_fail_input("field %s: \"%s\" is not a whole number",
			    name, json_object_get_string(v));
		break;
	default:
		handler_fail_input("field %s: expected a number", name);
	}
	if (n < min || n > max)
		handler_fail_input("field %s: %lld is out of range (%d to %d)",
		    name, n, min, max);
	return (int)n;
}

/* Member key of the upload of field name, if a non-empty string; or NULL. */
static const char *
handler_upload(const char *name, const char *key)
{
	struct json_object *v;

	handler_load();
	v = handler_member(handler_member(handler_member(handler_job, "files"),
	    name), key);
	if (v == NULL || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return NULL;
	return json_object_get_string(v);	/* owned by the job */
}

/* The path of the file uploaded as field name, or NULL. */
const char *
handler_upload_path(const char *name)
{
	return handler_upload(name, "path");
}

/* The file name the browser gave the upload of field name, or NULL. */
const char *
handler_upload_name(const char *name)
{
	return handler_upload(name, "filename");
}

/* Formats into a new string with line breaks and NULs as spaces. */
static char * __attribute__((format(printf, 1, 0)))
handler_vline(const char *fmt, va_list ap)
{
	va_list copy;
	char *s;
	int n, i;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		handler_fail("handler: cannot format \"%s\"", fmt);
	s = handler_calloc((size_t)n + 1, 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	for (i = 0; i < n; i++) {
		if (s[i] == '\n' || s[i] == '\r' || s[i] == '\0')
			s[i] = ' ';
	}
	return s;
}

/* A copy of s with line breaks as spaces. */
static char *
handler_line(const char *s)
{
	size_t n = strlen(s), i;
	char *t = handler_calloc(n + 1, 1);

	for (i = 0; i < n; i++)
		t[i] = s[i] == '\n' || s[i] == '\r' ? ' ' : s[i];
	return t;
}

/* Prints one line: the head, then " " and text if there is text; flushes. */
static void
handler_put(const char *head, const char *text)
{
	if (text != NULL && *text != '\0')
		printf("%s %s\n", head, text);
	else
		printf("%s\n", head);
	fflush(stdout);
}

/* "progress <pct> [message]", pct clamped to 0..100, two decimals at most. */
void
handler_progress(double pct, const char *fmt, ...)
{
	char head[32], *num, *msg = NULL;
	size_t n;
	va_list ap;

	if (!(pct >= 0))	/* NaN too */
		pct = 0;
	if (pct > 100)
		pct = 100;
	snprintf(head, sizeof head, "progress %.2f", pct);
	/* Plain decimals the worker reads: "42.5", "7", never "1e-05". */
	num = head + strlen("progress ");
	n = strlen(num);
	while (num[n - 1] == '0')
		num[--n] = '\0';
	if (num[n - 1] == '.')
		num[--n] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		msg = handler_vline(fmt, ap);
		va_end(ap);
	}
	handler_put(head, msg);
	free(msg);
}

/* 1 if s is 1 to HANDLER_ID_MAX of the characters in chars, first not '.'. */
static int
handler_name_ok(const char *s, const char *chars)
{
	size_t n = strlen(s);

	return n > 0 && n <= HANDLER_ID_MAX && s[0] != '.' &&
	    strspn(s, chars) == n;
}

/* "step <id> [label]"; a bad id is a bug in the handler: fails the job. */
void
handler_step(const char *id, const char *label)
{
	char *head, *text;

	if (id == NULL || !handler_name_ok(id, HANDLER_ALNUM "_-"))
		handler_fail("handler_step: \"%s\" is not a step id (1 to %d of "
		    "A-Z a-z 0-9 _ -)", id ? id : "(null)", HANDLER_ID_MAX);
	head = handler_calloc(strlen("step ") + strlen(id) + 1, 1);
	sprintf(head, "step %s", id);
	text = label != NULL ? handler_line(label) : NULL;
	handler_put(head, text);
	free(text);
	free(head);
}

/* 1 if the first word of s (up to a blank) is a keyword of the protocol. */
static int
handler_is_keyword(const char *s)
{
	static const char *const keywords[] = {
		"progress", "step", "result", "file",
	};
	size_t n = strcspn(s, " \t"), i;

	for (i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
		if (n == strlen(keywords[i]) && memcmp(s, keywords[i], n) == 0)
			return 1;
	}
	return 0;
}

/* A log line; one that starts like a protocol line gets a leading space. */
void
handler_log(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = handler_vline(fmt, ap);
	va_end(ap);
	printf("%s%s\n", handler_is_keyword(s) ? " " : "", s);
	fflush(stdout);
	free(s);
}

/* 1 if s is a content type the worker takes: type/subtype, no parameters. */
static int
handler_type_ok(const char *s)
{
	size_t major = strspn(s, HANDLER_TYPE_CHARS), minor;

	if (major == 0 || s[major] != '/' || strlen(s) > HANDLER_TYPE_MAX)
		return 0;
	minor = strspn(s + major + 1, HANDLER_TYPE_CHARS);
	return minor > 0 && s[major + 1 + minor] == '\0';
}

/* "file <name> [type]"; a bad name or type is a bug: fails the job. */
void
handler_file(const char *name, const char *content_type)
{
	if (name == NULL || !handler_name_ok(name, HANDLER_ALNUM "._-"))
		handler_fail("handler_file: \"%s\" is not a file name the worker "
		    "serves (1 to %d of A-Z a-z 0-9 . _ -, not starting with "
		    "'.')", name ? name : "(null)", HANDLER_ID_MAX);
	if (content_type != NULL && !handler_type_ok(content_type))
		handler_fail("handler_file: \"%s\" is not a content type "
		    "(type/subtype, without parameters)", content_type);
	if (content_type != NULL)
		printf("file %s %s\n", name, content_type);
	else
		printf("file %s\n", name);	/* the worker guesses the type */
	fflush(stdout);
}

/* $LONGJOB_RESULT_URL/name, or name alone when run by hand; caller frees. */
char *
handler_file_url(const char *name)
{
	const char *base = getenv("LONGJOB_RESULT_URL");
	size_t len = (base != NULL ? strlen(base) + 1 : 0) + strlen(name) + 1;
	char *url = handler_calloc(len, 1);

	if (base != NULL)
		snprintf(url, len, "%s/%s", base, name);
	else
		snprintf(url, len, "%s", name);
	return url;
}

/* "result <json>" on one line (json-c escapes line breaks in strings). */
void
handler_result(struct json_object *obj)
{
	if (!json_object_is_type(obj, json_type_object))
		handler_fail("handler_result: the result must be a JSON object");
	printf("result %s\n", json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}
