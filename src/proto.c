/*
 * proto: the line protocol a job handler speaks on its stdout (see proto.h).
 *
 * A handler is any program, possibly buggy, possibly printing binary data, so
 * nothing it prints is trusted: every text that comes out of proto_parse is
 * valid UTF-8 with control characters (other than tab) replaced by '?', and
 * so can be JSON-encoded into an SSE event or shown on a page as it is.
 *
 * DESIGN (reader): the buffer holds the bytes not yet returned: complete
 * lines, each ending in '\n', then the unfinished tail.  Of one line at most
 * PROTO_MAX_LINE + 1 bytes are kept; the extra byte is the mark of a cut line
 * (no line longer than PROTO_MAX_LINE is kept otherwise), and the bytes past
 * it are dropped as they arrive, up to the newline.  So the tail never holds
 * more than PROTO_MAX_LINE + 1 bytes however long the line, and complete
 * lines are at most what the caller fed since it last drained the reader
 * with proto_reader_next.  Returned lines are not copied: they point into the
 * buffer, which is only compacted at the next call.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>

#include "buf.h"
#include "proto.h"
#include "text.h"
#include "xmem.h"

#define PROTO_MAX_TYPE 127	/* bytes of a content type on a file line */
#define PROTO_MAX_QUOTE 32	/* bytes of a bad token quoted in a reason */
#define PROTO_ALNUM \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define PROTO_ID_CHARS PROTO_ALNUM "_-"
#define PROTO_TYPE_CHARS PROTO_ALNUM "!#$&^_.+-"

struct proto_reader {
	struct buf buf;		/* no ceiling of its own: see DESIGN above */
	size_t off;		/* where the next line to return starts */
	size_t tail;		/* bytes of the unfinished last line */
};

/* A message being built: NUL-terminated pieces in one buffer. */
struct proto_out {
	struct buf b;
	size_t text;		/* offset of msg->text */
	size_t id;		/* offset of msg->id, or SIZE_MAX */
};

/* Ends the piece being built; returns where it started. */
static size_t
proto_end(struct buf *b, size_t start)
{
	buf_add(b, "", 1);
	return start;
}

/* Makes msg invalid, the reason: before, 'token' (cut short), after. */
static void
proto_invalid(struct proto_msg *msg, struct proto_out *o, const char *before,
    const char *token, size_t n, const char *after)
{
	size_t start = o->b.len;

	msg->kind = PROTO_INVALID;
	buf_adds(&o->b, before);
	if (token != NULL) {
		buf_adds(&o->b, "'");
		text_clean(&o->b, token, n, PROTO_MAX_QUOTE, TEXT_TAB);
		buf_adds(&o->b, n > PROTO_MAX_QUOTE ? "...'" : "'");
	}
	buf_adds(&o->b, after);
	o->text = proto_end(&o->b, start);
}

/* Sets text to the safe copy of s, cut to max bytes (text.h). */
static void
proto_text(struct proto_out *o, const char *s, size_t n, size_t max)
{
	size_t start = o->b.len;

	text_clean(&o->b, s, n, max, TEXT_TAB);
	o->text = proto_end(&o->b, start);
}

/* Sets id to the copy of s (already checked: ASCII letters, digits, "._-"). */
static void
proto_id(struct proto_out *o, const char *s, size_t n)
{
	size_t start = o->b.len;

	buf_add(&o->b, s, n);
	o->id = proto_end(&o->b, start);
}

/* Length of the token at s (up to a space, a tab or the end). */
static size_t
proto_token(const char *s)
{
	return strcspn(s, " \t");
}

/* The text after the token of n bytes at s and the blanks that follow it. */
static const char *
proto_after(const char *s, size_t n)
{
	s += n;
	return s + strspn(s, " \t");
}

/* 1 if the n bytes at s are an id: [A-Za-z0-9_-], 1..PROTO_MAX_ID. */
static int
proto_id_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > PROTO_MAX_ID)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '\0' || strchr(PROTO_ID_CHARS, s[i]) == NULL)
			return 0;
	}
	return 1;
}

/* 1 if the n bytes at s are an artifact name (see proto_name_valid). */
static int
proto_name_valid_n(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > PROTO_MAX_ID || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] != '.' &&
		    (s[i] == '\0' || strchr(PROTO_ID_CHARS, s[i]) == NULL))
			return 0;
	}
	return 1;
}

/* 1 if the n bytes at s are a content type: type/subtype, at most 127 bytes. */
static int
proto_type_valid(const char *s, size_t n)
{
	size_t major, minor;

	if (n == 0 || n > PROTO_MAX_TYPE)
		return 0;
	major = strspn(s, PROTO_TYPE_CHARS);
	if (major == 0 || major >= n || s[major] != '/')
		return 0;
	minor = strspn(s + major + 1, PROTO_TYPE_CHARS);
	return minor > 0 && major + 1 + minor == n;
}

/* progress <0-100> [message] */
static void
proto_progress(struct proto_msg *msg, struct proto_out *o, const char *rest)
{
	size_t n = proto_token(rest);
	const char *msgtext;
	char *end;
	double v;

	if (n == 0) {
		proto_invalid(msg, o,
		    "progress: missing the percentage (a number from 0 to 100)",
		    NULL, 0, "");
		return;
	}
	v = strtod(rest, &end);
	/* Only plain decimal numbers: no "nan", "inf", hex or sign. */
	if (strspn(rest, "0123456789.eE+-") < n ||
	    !(rest[0] == '.' || (rest[0] >= '0' && rest[0] <= '9')) ||
	    end != rest + n || !isfinite(v) || v < 0 || v > 100) {
		proto_invalid(msg, o, "progress: ", rest, n,
		    " is not a number from 0 to 100");
		return;
	}
	msg->kind = PROTO_PROGRESS;
	msg->percent = v;
	msgtext = proto_after(rest, n);
	proto_text(o, msgtext, strlen(msgtext), PROTO_MAX_MESSAGE);
}

/* step <id> [label] */
static void
proto_step(struct proto_msg *msg, struct proto_out *o, const char *rest)
{
	size_t n = proto_token(rest);
	const char *label;

	if (n == 0) {
		proto_invalid(msg, o, "step: missing the step id", NULL, 0, "");
		return;
	}
	if (!proto_id_valid(rest, n)) {
		proto_invalid(msg, o, "step: ", rest, n,
		    " is not a valid id (1 to 64 of A-Z a-z 0-9 _ -)");
		return;
	}
	msg->kind = PROTO_STEP;
	proto_id(o, rest, n);
	label = proto_after(rest, n);
	if (*label == '\0')
		proto_text(o, rest, n, n);
	else
		proto_text(o, label, strlen(label), PROTO_MAX_MESSAGE);
}

/* result <json object>: the whole rest, one value, nothing after it. */
static void
proto_result(struct proto_msg *msg, struct proto_out *o, const char *rest)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t n = strlen(rest);
	int whole;

	if (n == 0 || n >= INT_MAX) {
		proto_invalid(msg, o, "result: not a JSON object (nothing "
		    "after result)", NULL, 0, "");
		return;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	/* With the NUL after it, so that the text ends there. */
	obj = json_tokener_parse_ex(tok, rest, (int)n + 1);
	whole = json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == n;
	json_tokener_free(tok);
	if (!whole || !json_object_is_type(obj, json_type_object)) {
		/* obj came with one reference, ours: drop it. */
		json_object_put(obj);
		proto_invalid(msg, o, whole ? "result: not a JSON object" :
		    "result: not a JSON object (invalid JSON)", NULL, 0, "");
		return;
	}
	msg->kind = PROTO_RESULT;
	msg->json = obj;	/* the message now holds the reference */
	proto_text(o, "", 0, 0);
}

/* file <name> [content-type] */
static void
proto_file(struct proto_msg *msg, struct proto_out *o, const char *rest)
{
	size_t n = proto_token(rest), tn;
	const char *type = proto_after(rest, n), *guess;

	if (n == 0) {
		proto_invalid(msg, o, "file: missing the file name", NULL, 0,
		    "");
		return;
	}
	if (!proto_name_valid_n(rest, n)) {
		proto_invalid(msg, o, "file: ", rest, n,
		    " is not a safe file name "
		    "(1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.')");
		return;
	}
	tn = proto_token(type);
	if (tn > 0 && !proto_type_valid(type, tn)) {
		proto_invalid(msg, o, "file: ", type, tn,
		    " is not a content type (type/subtype)");
		return;
	}
	if (*proto_after(type, tn) != '\0') {
		proto_invalid(msg, o, "file: unexpected text after the "
		    "content type", NULL, 0, "");
		return;
	}
	msg->kind = PROTO_FILE;
	proto_id(o, rest, n);
	if (tn > 0)
		proto_text(o, type, tn, tn);
	else {
		/* From the name, NUL-terminated in its piece. */
		guess = proto_guess_type(o->b.data + o->id);
		proto_text(o, guess, strlen(guess), strlen(guess));
	}
}

/* 1 if the line's first token is the keyword kw. */
static int
proto_keyword(const char *line, size_t n, const char *kw)
{
	return n == strlen(kw) && memcmp(line, kw, n) == 0;
}

/* Classifies and checks one line of handler output (n bytes, no newline). */
void
proto_parse(const char *line, size_t n, struct proto_msg *msg)
{
	struct proto_out o;
	const char *rest;
	size_t i, k;
	char *s;

	memset(msg, 0, sizeof *msg);
	buf_init(&o.b, 0);
	o.text = 0;
	o.id = SIZE_MAX;
	/* A working copy: NULs become '?', trailing blanks and '\r' go. */
	s = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		s[i] = line[i] == '\0' ? '?' : line[i];
	while (n > 0 && strchr(" \t\r\n\v\f", s[n - 1]) != NULL)
		n--;
	s[n] = '\0';
	k = proto_token(s);
	rest = proto_after(s, k);
	if (proto_keyword(s, k, "progress"))
		proto_progress(msg, &o, rest);
	else if (proto_keyword(s, k, "step"))
		proto_step(msg, &o, rest);
	else if (proto_keyword(s, k, "result"))
		proto_result(msg, &o, rest);
	else if (proto_keyword(s, k, "file"))
		proto_file(msg, &o, rest);
	else {
		msg->kind = PROTO_LOG;
		proto_text(&o, s, n, SIZE_MAX);
	}
	free(s);
	msg->storage = buf_take(&o.b);
	msg->text = msg->storage + o.text;
	msg->id = o.id != SIZE_MAX ? msg->storage + o.id : NULL;
}

/* Frees what a parsed message owns and zeroes it; NULL is allowed. */
void
proto_msg_clear(struct proto_msg *msg)
{
	if (msg == NULL)
		return;
	json_object_put(msg->json);
	free(msg->storage);
	memset(msg, 0, sizeof *msg);
}

/* 1 if name is a safe artifact name: [A-Za-z0-9._-], 1..64, no leading dot. */
int
proto_name_valid(const char *name)
{
	if (name == NULL)
		return 0;
	return proto_name_valid_n(name, strnlen(name, PROTO_MAX_ID + 1));
}

/* The content type for an artifact name, by its extension. */
const char *
proto_guess_type(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "svg", "image/svg+xml" },
		{ "webp", "image/webp" },
		{ "pdf", "application/pdf" },
		{ "csv", "text/csv" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "json", "application/json" },
		{ "html", "text/html; charset=utf-8" },
	};
	const char *ext = name != NULL ? strrchr(name, '.') : NULL;
	size_t i;

	if (ext != NULL) {
		for (i = 0; i < sizeof types / sizeof types[0]; i++) {
			if (strcasecmp(ext + 1, types[i].ext) == 0)
				return types[i].type;
		}
	}
	return "application/octet-stream";
}

/* A new, empty line reader. */
struct proto_reader *
proto_reader_new(void)
{
	struct proto_reader *r = xcalloc(1, sizeof *r);

	buf_init(&r->buf, 0);
	return r;
}

/* Drops the lines already returned: the buffer keeps what is pending. */
static void
proto_reader_compact(struct proto_reader *r)
{
	if (r->off == 0)
		return;
	buf_consume(&r->buf, r->off);
	r->off = 0;
}

/* Appends handler output, dropping what passes the ceiling of a line. */
void
proto_reader_feed(struct proto_reader *r, const char *p, size_t n)
{
	const char *nl;
	size_t seg, keep;

	proto_reader_compact(r);
	while (n > 0) {
		nl = memchr(p, '\n', n);
		seg = nl != NULL ? (size_t)(nl - p) : n;
		/* Keep one byte past PROTO_MAX_LINE: the mark of a cut line. */
		keep = PROTO_MAX_LINE + 1 - r->tail;
		if (keep > seg)
			keep = seg;
		buf_add(&r->buf, p, keep);
		r->tail += keep;
		if (nl == NULL)
			break;
		buf_add(&r->buf, "\n", 1);
		r->tail = 0;
		p += seg + 1;
		n -= seg + 1;
	}
}

/* The next whole line (or at eof the rest), valid until the next call. */
int
proto_reader_next(struct proto_reader *r, int eof, const char **line,
    size_t *n, int *cut)
{
	size_t complete, len;
	const char *start, *nl;

	if (r->buf.data == NULL)
		return 0;
	if (r->off == r->buf.len)
		proto_reader_compact(r);
	complete = r->buf.len - r->off - r->tail;
	start = r->buf.data + r->off;
	if (complete > 0) {
		nl = memchr(start, '\n', complete);
		len = (size_t)(nl - start);
		r->off += len + 1;
	} else if (eof && r->tail > 0) {
		len = r->tail;
		r->off += len;
		r->tail = 0;
	} else
		return 0;
	*cut = len > PROTO_MAX_LINE;
	*line = start;
	*n = *cut ? PROTO_MAX_LINE : len;
	return 1;
}

/* Frees a reader; NULL is allowed. */
void
proto_reader_free(struct proto_reader *r)
{
	if (r == NULL)
		return;
	buf_free(&r->buf);
	free(r);
}
