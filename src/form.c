/*
 * form: incremental parser for HTML form bodies.  It reads
 * application/x-www-form-urlencoded and multipart/form-data (RFC 7578,
 * RFC 2046 section 5.1) in chunks and streams uploads into generated files
 * in the spool directory, so an upload is never held whole in memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "form.h"
#include "log.h"
#include "text.h"
#include "xmem.h"

/*
 * DESIGN: the multipart state machine.
 *
 * A multipart body is a series of parts separated by delimiters, where a
 * delimiter is CRLF "--" boundary.  The body is scanned once, in these
 * states:
 *
 *   PREAMBLE   looking for the first delimiter; the bytes are dropped.  The
 *              scan starts as if a CRLF came before the body, because the
 *              first boundary line usually opens the body with no CRLF in
 *              front.  If the first delimiter has not ended within
 *              FORM_MAX_PREAMBLE bytes, the boundary is wrong: MALFORMED.
 *   TAIL       just after a delimiter.  "--" makes it the closing one
 *              (-> EPILOGUE); optional spaces or tabs and then CRLF start a
 *              part (-> HEADERS).  Anything else is MALFORMED after a part,
 *              and only more preamble before the first one (-> PREAMBLE,
 *              scanning again from the byte that did not fit).
 *   HEADERS    collects the part's header lines (at most max_part_header
 *              bytes) up to the empty line, then reads Content-Disposition
 *              and Content-Type, and the part becomes a text field or a
 *              file (-> BODY).
 *   BODY       part data up to the next delimiter (-> TAIL).
 *   EPILOGUE   after the closing delimiter; the bytes are dropped.
 *
 * A delimiter may be split across form_feed calls.  The scanner only
 * remembers how many bytes of the delimiter it has matched ("match"), and
 * those held-back bytes are by definition delim[0..match), so they need no
 * buffer.  On a mismatch they are passed on as data and the scan goes on at
 * the byte that broke the match.  A boundary has no control characters, so
 * '\r' appears in the delimiter only at its start.  A new match can
 * therefore begin only at the byte that broke the old one, and no KMP table
 * is needed.
 *
 * Part data goes to a text value (at most max_value bytes) or, for a part
 * with a filename, through a small write buffer to <upload_dir>/upload-N.
 * A browser sends filename="" and no data for a file input with no file
 * chosen.  The file for such a part is opened only when its first data
 * byte arrives, so an empty one leaves nothing behind.  Just before the
 * file would be created, the caller's part callback says whether to store
 * the part at all: a part it skips is read and dropped (its data goes
 * nowhere), so an upload for a field nobody declared costs no disk.  The
 * room callback is asked before each write(2), so bytes are counted
 * against the caller's bound before they reach the disk, however the body
 * was chunked.
 *
 * Every check depends only on the bytes seen so far, never on how they
 * were split into chunks.  A body gives the same fields, or the same error,
 * however it arrives.
 */

#define FORM_MAX_PREAMBLE 65536	/* bytes the first delimiter may take */
#define FORM_MAX_BOUNDARY 70	/* RFC 2046 */
#define FORM_MAX_FILENAME 255	/* bytes of a sanitized client file name */
#define FORM_WBUF_SIZE 16384	/* write buffer for uploads */
#define FORM_QUOTE_MAX 48	/* bytes of a field name quoted in a message */

enum form_kind {
	FORM_URLENCODED,
	FORM_MULTIPART,
};

enum form_state {
	FORM_PREAMBLE,
	FORM_TAIL,		/* just after a delimiter */
	FORM_TAIL_DASH,		/* after "-": the closing "--"? */
	FORM_TAIL_SPACE,	/* after padding: only more padding or CR */
	FORM_TAIL_CR,		/* after CR: LF must follow */
	FORM_HEADERS,
	FORM_BODY,
	FORM_EPILOGUE,
};

struct form {
	enum form_kind kind;
	struct form_limits limits;
	char *upload_dir;		/* NULL: no uploads accepted */
	struct form_uploads uploads;	/* the caller's say over them */

	enum form_error error;
	char *message;
	int saved_errno;
	int finished;
	size_t body_len;

	struct form_field *fields;
	size_t nfields;
	size_t fields_cap;
	size_t nfiles;
	unsigned int next_upload;	/* N of the last upload-N */

	struct buf value;		/* the value being read, both kinds */

	/* urlencoded */
	struct buf name;
	int in_value;			/* past the '=' of this pair */
	int pct;			/* hex digits still due after '%' */
	unsigned int pct_val;

	/* multipart */
	enum form_state state;
	char *delim;			/* CRLF "--" boundary */
	size_t delim_len;
	size_t match;			/* bytes of delim matched so far */
	size_t preamble;		/* bytes scanned in PREAMBLE */
	size_t nparts;
	struct buf header;		/* this part's header block */
	size_t line_start;		/* where its current line starts */
	char *part_name;
	char *part_filename;		/* sanitized; NULL: a text part */
	char *part_type;
	int part_file;			/* the part is a file */
	int part_skip;			/* a file part the caller does not store */
	size_t part_field;		/* its field, once the file is open */
	int fd;				/* its file, or -1 */
	char *wbuf;
	size_t wlen;
};

static enum form_error form_fail(struct form *, enum form_error,
    const char *, ...) __attribute__((format(printf, 3, 4)));

/* Sets the default limits for a body of at most max_body bytes. */
void
form_limits_default(struct form_limits *l, size_t max_body)
{
	l->max_body = max_body;
	l->max_fields = 256;
	l->max_name = 64;
	l->max_value = 65536;
	l->max_part_header = 8192;
	l->max_file = max_body;
	l->max_files = 16;
}

/* Records the first error of the parse with its message; returns it. */
static enum form_error
form_fail(struct form *f, enum form_error e, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (f->error != FORM_OK)
		return f->error;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	f->error = e;
	f->message = xstrdup(line);
	return e;
}

/*
 * Copies a field name into out (FORM_QUOTE_MAX + 4 bytes at least) for a
 * message: safe text (text.h), at most FORM_QUOTE_MAX bytes and "...".
 */
static const char *
form_quote(char *out, size_t size, const char *s, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	text_quote(&b, s, len, FORM_QUOTE_MAX);
	snprintf(out, size, "%s", b.data != NULL ? b.data : "");
	buf_free(&b);
	return out;
}

/* Records a failed system call on an upload as FORM_IO, keeping errno. */
static void
form_io_fail(struct form *f, const char *what, const char *path)
{
	char q[FORM_QUOTE_MAX + 8];
	int e = errno;

	log_error("%s %s: %s", what, path, strerror(e));
	f->saved_errno = e;
	form_fail(f, FORM_IO, "could not store the upload '%s': %s",
	    form_quote(q, sizeof q, f->part_name, strlen(f->part_name)),
	    strerror(e));
}

/* Appends an empty field to the list and returns it. */
static struct form_field *
form_push(struct form *f)
{
	struct form_field *ff;

	if (f->nfields == f->fields_cap) {
		f->fields_cap = f->fields_cap ? f->fields_cap * 2 : 16;
		f->fields = xrealloc(f->fields,
		    f->fields_cap * sizeof *f->fields);
	}
	ff = &f->fields[f->nfields++];
	memset(ff, 0, sizeof *ff);
	return ff;
}

/* Checks that one more field (a file if file) is allowed; -1 if not. */
static int
form_room(struct form *f, int file)
{
	if (f->nfields >= f->limits.max_fields) {
		form_fail(f, FORM_TOO_MANY, "the form has more than %zu fields",
		    f->limits.max_fields);
		return -1;
	}
	if (file && f->upload_dir == NULL) {
		form_fail(f, FORM_TOO_MANY, "this form accepts no uploaded files");
		return -1;
	}
	if (file && f->nfiles >= f->limits.max_files) {
		form_fail(f, FORM_TOO_MANY, "the form has more than %zu uploaded "
		    "files", f->limits.max_files);
		return -1;
	}
	return 0;
}

/* Returns n less the spaces and tabs that end s[0..n). */
static size_t
form_rtrim(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* Returns 1 if the media type before any ';' in s is type (any case). */
static int
form_media_is(const char *s, const char *type)
{
	size_t len = strlen(type), n;

	s += strspn(s, " \t");
	n = form_rtrim(s, strcspn(s, ";"));
	return n == len && strncasecmp(s, type, len) == 0;
}

/*
 * Reads a quoted string whose opening quote is just before s into v, and
 * returns the position after its closing quote.  A backslash escapes only
 * '"' and '\\': browsers do not escape anything, and old ones send Windows
 * paths ("C:\Users\x.csv") whose backslashes must survive.
 */
static const char *
form_unquote(const char *s, struct buf *v)
{
	while (*s != '\0' && *s != '"') {
		if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		buf_add(v, s, 1);
		s++;
	}
	return *s == '"' ? s + 1 : s;
}

/*
 * Returns the value of parameter want in a header value such as
 * 'form-data; name="a"; filename="b"' (unquoted), or NULL if absent.  The
 * name is matched in any case; the caller frees the value.
 */
static char *
form_param(const char *s, const char *want)
{
	const char *k, *v;
	size_t wl = strlen(want), n;
	struct buf b;
	int match;

	s = strchr(s, ';');
	while (s != NULL && *s != '\0') {
		s += strspn(s, "; \t");
		if (*s == '\0')
			break;
		k = s;
		s += strcspn(s, "=;");
		n = form_rtrim(k, (size_t)(s - k));
		match = n == wl && strncasecmp(k, want, wl) == 0;
		buf_init(&b, 0);
		if (*s == '=') {
			s++;
			s += strspn(s, " \t");
			if (*s == '"')
				s = form_unquote(s + 1, &b);
			else {
				v = s;
				s += strcspn(s, ";");
				buf_add(&b, v, form_rtrim(v, (size_t)(s - v)));
			}
		}
		if (match)
			return buf_take(&b);
		buf_free(&b);
	}
	return NULL;
}

/* Returns 1 if a boundary is usable: 1 to 70 printable ASCII characters. */
static int
form_boundary_ok(const char *b)
{
	size_t i, len = strlen(b);

	if (len == 0 || len > FORM_MAX_BOUNDARY || b[len - 1] == ' ')
		return 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7e)
			return 0;
	}
	return 1;
}

/*
 * Returns the client's file name made safe to store: the part after the
 * last '/' or '\\', without the ASCII control characters (dropped, tab
 * too), other bytes that are not valid UTF-8 and C1 controls as '?' (the
 * name reaches the handler in its JSON input, which is UTF-8 text), at most
 * 255 bytes, not cut inside a character.  "upload" when nothing usable is left.
 */
static char *
form_filename(const char *raw)
{
	const char *base = raw, *p;
	struct buf kept, safe;
	char *out;

	for (p = raw; *p != '\0'; p++) {
		if (*p == '/' || *p == '\\')
			base = p + 1;
	}
	buf_init(&kept, 0);
	for (p = base; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			buf_add(&kept, p, 1);
	}
	buf_init(&safe, 0);
	text_clean(&safe, kept.data != NULL ? kept.data : "", kept.len, FORM_MAX_FILENAME, 0);
	buf_free(&kept);
	out = buf_take(&safe);
	if (*out == '\0' || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
		free(out);
		return xstrdup("upload");
	}
	return out;
}

/* Starts a parse for a body of the given Content-Type; see form.h. */
struct form *
form_new(const char *content_type, const char *upload_dir,
    const struct form_limits *limits, enum form_error *err)
{
	struct form *f;
	enum form_kind kind;
	char *boundary = NULL;

	if (content_type != NULL &&
	    form_media_is(content_type, "application/x-www-form-urlencoded"))
		kind = FORM_URLENCODED;
	else if (content_type != NULL &&
	    form_media_is(content_type, "multipart/form-data")) {
		kind = FORM_MULTIPART;
		boundary = form_param(content_type, "boundary");
		if (boundary == NULL || !form_boundary_ok(boundary)) {
			free(boundary);
			goto unsupported;
		}
	} else
		goto unsupported;

	f = xcalloc(1, sizeof *f);
	f->kind = kind;
	if (limits != NULL)
		f->limits = *limits;
	else
		form_limits_default(&f->limits, 1024 * 1024);
	f->upload_dir = upload_dir != NULL ? xstrdup(upload_dir) : NULL;
	f->fd = -1;
	buf_init(&f->value, f->limits.max_value);
	buf_init(&f->name, f->limits.max_name);
	buf_init(&f->header, f->limits.max_part_header);
	if (kind == FORM_MULTIPART) {
		f->delim = xasprintf("\r\n--%s", boundary);
		f->delim_len = strlen(f->delim);
		f->match = 2;	/* as if a CRLF came before the body */
		f->state = FORM_PREAMBLE;
		free(boundary);
	}
	if (err != NULL)
		*err = FORM_OK;
	return f;

unsupported:
	if (err != NULL)
		*err = FORM_UNSUPPORTED;
	return NULL;
}

/* Fails the urlencoded parse for a bad %-escape in the current pair. */
static void
form_url_bad_escape(struct form *f)
{
	char q[FORM_QUOTE_MAX + 8];

	form_quote(q, sizeof q, f->name.data, f->name.len);
	form_fail(f, FORM_MALFORMED,
	    "malformed urlencoded body: bad %%-escape in field %s'%s'",
	    f->in_value ? "" : "name ", q);
}

/* Adds one decoded byte to the name or the value of the current pair. */
static void
form_url_add(struct form *f, char c)
{
	char q[FORM_QUOTE_MAX + 8];

	if (!f->in_value) {
		if (c == '\0') {
			form_fail(f, FORM_MALFORMED, "malformed urlencoded "
			    "body: a field name contains a NUL byte");
		} else if (f->name.len >= f->limits.max_name) {
			form_quote(q, sizeof q, f->name.data, f->name.len);
			form_fail(f, FORM_TOO_LARGE, "the field name '%s' is "
			    "longer than %zu bytes", q, f->limits.max_name);
		} else
			buf_add(&f->name, &c, 1);
		return;
	}
	if (f->value.len >= f->limits.max_value) {
		form_quote(q, sizeof q, f->name.data, f->name.len);
		form_fail(f, FORM_TOO_LARGE, "the field '%s' is larger than "
		    "%zu bytes", q, f->limits.max_value);
		return;
	}
	buf_add(&f->value, &c, 1);
}

/* Ends the current pair: records it as a field unless it was empty. */
static void
form_url_end(struct form *f)
{
	struct form_field *ff;

	if (f->name.len == 0 && !f->in_value)
		return;
	if (form_room(f, 0) == -1)
		return;
	ff = form_push(f);
	ff->name = buf_take(&f->name);
	ff->len = f->value.len;
	ff->value = buf_take(&f->value);
	f->in_value = 0;
}

/* Returns the value of a hex digit, or -1. */
static int
form_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses the next bytes of an urlencoded body. */
static void
form_url_feed(struct form *f, const char *p, size_t n)
{
	size_t i;
	int d;

	for (i = 0; i < n && f->error == FORM_OK; i++) {
		if (f->pct > 0) {
			if ((d = form_hex((unsigned char)p[i])) == -1) {
				form_url_bad_escape(f);
				break;
			}
			f->pct_val = f->pct_val * 16 + (unsigned int)d;
			if (--f->pct == 0)
				form_url_add(f, (char)f->pct_val);
			continue;
		}
		switch (p[i]) {
		case '&':
			form_url_end(f);
			break;
		case '=':
			if (f->in_value)
				form_url_add(f, '=');
			f->in_value = 1;
			break;
		case '+':
			form_url_add(f, ' ');
			break;
		case '%':
			f->pct = 2;
			f->pct_val = 0;
			break;
		default:
			form_url_add(f, p[i]);
			break;
		}
	}
}

/* Writes n bytes to the open upload, handling short writes; -1 on error. */
static int
form_file_write_all(struct form *f, const char *p, size_t n)
{
	const char *path = f->fields[f->part_field].path;
	char *cause = NULL;
	ssize_t w;

	if (f->uploads.room != NULL && n > 0 &&
	    f->uploads.room(f->uploads.arg, n, &cause) == -1) {
		form_fail(f, FORM_FULL, "%s", cause != NULL ? cause :
		    "no room for the upload");
		free(cause);
		return -1;
	}
	while (n > 0) {
		w = write(f->fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			form_io_fail(f, "write", path);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes out what the write buffer holds; -1 on error. */
static int
form_file_flush(struct form *f)
{
	size_t n = f->wlen;

	f->wlen = 0;
	return form_file_write_all(f, f->wbuf, n);
}

/*
 * Asks the caller whether the current file part is stored: 1 store, 0 skip
 * (part_skip is set), -1 refused (the parse is stopped).
 */
static int
form_file_wanted(struct form *f)
{
	enum form_upload u;
	char *cause = NULL;

	if (f->uploads.part == NULL)
		return 1;
	u = f->uploads.part(f->uploads.arg, f->part_name, &cause);
	if (u == FORM_UPLOAD_REFUSE)
		form_fail(f, FORM_MALFORMED, "%s", cause != NULL ? cause :
		    "an upload was refused");
	free(cause);
	if (u == FORM_UPLOAD_SKIP)
		f->part_skip = 1;
	return u == FORM_UPLOAD_STORE ? 1 : u == FORM_UPLOAD_SKIP ? 0 : -1;
}

/*
 * Creates the next upload-N for the current part and records its field,
 * unless the caller skips the part; -1 on error.
 */
static int
form_file_open(struct form *f)
{
	struct form_field *ff;
	char *path;
	int fd, wanted;

	if ((wanted = form_file_wanted(f)) != 1)
		return wanted;
	if (form_room(f, 1) == -1)
		return -1;
	path = xasprintf("%s/upload-%u", f->upload_dir, ++f->next_upload);
	fd = open(path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600);
	if (fd == -1) {
		form_io_fail(f, "open", path);
		free(path);
		return -1;
	}
	ff = form_push(f);
	ff->name = xstrdup(f->part_name);
	ff->filename = xstrdup(f->part_filename);
	ff->content_type = xstrdup(f->part_type != NULL ? f->part_type :
	    "application/octet-stream");
	ff->path = path;
	f->part_field = f->nfields - 1;
	f->nfiles++;
	f->fd = fd;
	if (f->wbuf == NULL)
		f->wbuf = xmalloc(FORM_WBUF_SIZE);
	f->wlen = 0;
	return 0;
}

/* Adds n bytes to the current upload, through the write buffer. */
static void
form_file_write(struct form *f, const char *p, size_t n)
{
	struct form_field *ff = &f->fields[f->part_field];
	char q[FORM_QUOTE_MAX + 8];
	size_t room;

	if (n > f->limits.max_file - ff->size) {
		form_fail(f, FORM_TOO_LARGE, "the upload '%s' is larger than "
		    "%zu bytes", form_quote(q, sizeof q, ff->name,
		    strlen(ff->name)), f->limits.max_file);
		return;
	}
	ff->size += n;
	if (f->wlen == 0 && n >= FORM_WBUF_SIZE) {
		form_file_write_all(f, p, n);
		return;
	}
	while (n > 0) {
		if (f->wlen == FORM_WBUF_SIZE && form_file_flush(f) == -1)
			return;
		room = FORM_WBUF_SIZE - f->wlen;
		if (room > n)
			room = n;
		memcpy(f->wbuf + f->wlen, p, room);
		f->wlen += room;
		p += room;
		n -= room;
	}
}

/* Passes n bytes of part data to the value or upload (none in the preamble). */
static void
form_mp_data(struct form *f, const char *p, size_t n)
{
	char q[FORM_QUOTE_MAX + 8];

	if (n == 0 || f->state != FORM_BODY || f->part_skip)
		return;
	if (!f->part_file) {
		if (n > f->limits.max_value - f->value.len) {
			form_fail(f, FORM_TOO_LARGE, "the field '%s' is larger "
			    "than %zu bytes", form_quote(q, sizeof q,
			    f->part_name, strlen(f->part_name)),
			    f->limits.max_value);
			return;
		}
		buf_add(&f->value, p, n);
		return;
	}
	if (f->fd == -1 && (form_file_open(f) == -1 || f->part_skip))
		return;
	form_file_write(f, p, n);
}

/*
 * Scans for the delimiter, passing the bytes before it on as data.  Returns
 * the bytes consumed; *found is set when the delimiter was completed (its
 * last byte is the last one consumed).
 */
static size_t
form_mp_scan(struct form *f, const char *p, size_t n, int *found)
{
	const char *cr;
	size_t i = 0;

	*found = 0;
	while (i < n && f->error == FORM_OK) {
		if (f->match == 0) {
			cr = memchr(p + i, '\r', n - i);
			if (cr == NULL) {
				form_mp_data(f, p + i, n - i);
				return n;
			}
			form_mp_data(f, p + i, (size_t)(cr - p) - i);
			i = (size_t)(cr - p) + 1;
			f->match = 1;
		} else if (p[i] == f->delim[f->match]) {
			i++;
			if (++f->match == f->delim_len) {
				f->match = 0;
				*found = 1;
				break;
			}
		} else {
			/* Not the delimiter: what was held back is data. */
			form_mp_data(f, f->delim, f->match);
			f->match = 0;
		}
	}
	return i;
}

/* Forgets the current part's name, file name and type. */
static void
form_mp_part_clear(struct form *f)
{
	free(f->part_name);
	free(f->part_filename);
	free(f->part_type);
	f->part_name = f->part_filename = f->part_type = NULL;
	f->part_file = 0;
	f->part_skip = 0;
	buf_reset(&f->value);
}

/* Joins folded header lines (a line starting with a space or tab) in place. */
static void
form_mp_unfold(char *s)
{
	char *nl;

	while ((nl = strchr(s, '\n')) != NULL) {
		if (nl[1] == ' ' || nl[1] == '\t') {
			*nl = ' ';
			if (nl > s && nl[-1] == '\r')
				nl[-1] = ' ';
		}
		s = nl + 1;
	}
}

/* Trims spaces and tabs from both ends of s, in place. */
static char *
form_trim(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && strchr(" \t\r", s[n - 1]) != NULL)
		s[--n] = '\0';
	return s;
}

/*
 * Reads the header block of a part and sets it up as a text field or a
 * file; returns -1 on error.
 */
static int
form_mp_part_begin(struct form *f)
{
	char *line, *next, *colon, *value, *disposition = NULL, *type = NULL;
	char q[FORM_QUOTE_MAX + 8], *filename;

	f->nparts++;
	if (memchr(f->header.data, '\0', f->header.len) != NULL) {
		form_fail(f, FORM_MALFORMED, "malformed multipart body: part "
		    "%zu has a NUL byte in its headers", f->nparts);
		return -1;
	}
	form_mp_unfold(f->header.data);
	for (line = f->header.data; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*form_trim(line) == '\0')
			break;	/* the empty line that ends the block */
		if ((colon = strchr(line, ':')) == NULL) {
			form_fail(f, FORM_MALFORMED, "malformed multipart "
			    "body: part %zu has a header line without ':'",
			    f->nparts);
			return -1;
		}
		*colon = '\0';
		value = form_trim(colon + 1);
		line = form_trim(line);
		if (strcasecmp(line, "Content-Disposition") == 0 &&
		    disposition == NULL)
			disposition = value;
		else if (strcasecmp(line, "Content-Type") == 0 && type == NULL)
			type = value;
	}

	if (disposition == NULL || !form_media_is(disposition, "form-data") ||
	    (f->part_name = form_param(disposition, "name")) == NULL) {
		form_fail(f, FORM_MALFORMED, "malformed multipart body: part "
		    "%zu has no Content-Disposition: form-data with a name",
		    f->nparts);
		return -1;
	}
	if (strlen(f->part_name) > f->limits.max_name) {
		form_fail(f, FORM_TOO_LARGE, "the field name '%s' is longer "
		    "than %zu bytes", form_quote(q, sizeof q, f->part_name,
		    strlen(f->part_name)), f->limits.max_name);
		return -1;
	}
	if (type != NULL && *type != '\0')
		f->part_type = xstrdup(type);
	filename = form_param(disposition, "filename");
	if (filename == NULL)
		return form_room(f, 0);
	f->part_file = 1;
	f->part_filename = form_filename(filename);
	/* filename="": open only if data comes (no file chosen sends none). */
	if (*filename != '\0' && form_file_open(f) == -1) {
		free(filename);
		return -1;
	}
	free(filename);
	return 0;
}

/* Collects part header bytes up to and including the empty line. */
static size_t
form_mp_headers(struct form *f, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n), *line;
	size_t take = nl != NULL ? (size_t)(nl - p) + 1 : n, len;

	if (take > f->limits.max_part_header - f->header.len) {
		form_fail(f, FORM_TOO_LARGE, "part %zu has a part header "
		    "larger than %zu bytes", f->nparts + 1,
		    f->limits.max_part_header);
		return 0;
	}
	buf_add(&f->header, p, take);
	if (nl == NULL)
		return take;
	line = f->header.data + f->line_start;
	len = f->header.len - f->line_start;
	if (len == 1 || (len == 2 && line[0] == '\r')) {
		if (form_mp_part_begin(f) == 0)
			f->state = FORM_BODY;
		buf_reset(&f->header);
		f->line_start = 0;
	} else
		f->line_start = f->header.len;
	return take;
}

/* Ends the current part: records a text field, or closes the upload. */
static int
form_mp_part_end(struct form *f)
{
	struct form_field *ff;
	int fd;

	if (!f->part_file) {
		ff = form_push(f);
		ff->name = f->part_name;
		f->part_name = NULL;
		ff->len = f->value.len;
		ff->value = buf_take(&f->value);
	} else if (f->fd != -1) {
		if (f->wlen > 0 && form_file_flush(f) == -1)
			return -1;
		fd = f->fd;
		f->fd = -1;
		if (close(fd) == -1) {
			form_io_fail(f, "close", f->fields[f->part_field].path);
			return -1;
		}
	}
	form_mp_part_clear(f);
	return 0;
}

/* Reads a byte after a delimiter: "--", padding, CRLF; 0 if not consumed. */
static size_t
form_mp_tail(struct form *f, char c)
{
	switch (f->state) {
	case FORM_TAIL:
		if (c == '-') {
			f->state = FORM_TAIL_DASH;
			return 1;
		}
		/* FALLTHROUGH */
	case FORM_TAIL_SPACE:
		if (c == ' ' || c == '\t') {
			f->state = FORM_TAIL_SPACE;
			return 1;
		}
		if (c == '\r') {
			f->state = FORM_TAIL_CR;
			return 1;
		}
		break;
	case FORM_TAIL_DASH:
		if (c == '-') {
			f->state = FORM_EPILOGUE;
			return 1;
		}
		break;
	case FORM_TAIL_CR:
		if (c == '\n') {
			f->state = FORM_HEADERS;
			return 1;
		}
		break;
	default:
		break;
	}
	if (f->nparts == 0) {
		/* Not a boundary line after all, just preamble text. */
		f->state = FORM_PREAMBLE;
		return 0;
	}
	form_fail(f, FORM_MALFORMED, "malformed multipart body: a boundary "
	    "line is followed by something other than CRLF or \"--\"");
	return 0;
}

/* Parses the next bytes of a multipart body. */
static void
form_mp_feed(struct form *f, const char *p, size_t n)
{
	size_t used, room;
	int found;

	while (n > 0 && f->error == FORM_OK) {
		switch (f->state) {
		case FORM_PREAMBLE:
			room = FORM_MAX_PREAMBLE - f->preamble;
			used = form_mp_scan(f, p, n < room ? n : room, &found);
			f->preamble += used;
			if (found)
				f->state = FORM_TAIL;
			else if (f->preamble == FORM_MAX_PREAMBLE) {
				form_fail(f, FORM_MALFORMED, "malformed "
				    "multipart body: no boundary in its first "
				    "%d bytes (does the boundary in the "
				    "Content-Type match the body?)",
				    FORM_MAX_PREAMBLE);
			}
			break;
		case FORM_BODY:
			used = form_mp_scan(f, p, n, &found);
			if (found && form_mp_part_end(f) == 0)
				f->state = FORM_TAIL;
			break;
		case FORM_HEADERS:
			used = form_mp_headers(f, p, n);
			break;
		case FORM_EPILOGUE:
			used = n;
			break;
		default:
			used = form_mp_tail(f, *p);
			break;
		}
		p += used;
		n -= used;
	}
}

/* Sets the caller's say over uploads; see form.h. */
void
form_set_uploads(struct form *f, const struct form_uploads *u)
{
	if (u != NULL)
		f->uploads = *u;
	else
		memset(&f->uploads, 0, sizeof f->uploads);
}

/* Feeds the next n bytes of body; see form.h. */
enum form_error
form_feed(struct form *f, const char *p, size_t n)
{
	size_t take;

	if (f->error != FORM_OK)
		return f->error;
	if (f->finished) {
		return form_fail(f, FORM_MALFORMED,
		    "malformed body: data after its end");
	}
	/* Parse what fits first, so the result never depends on chunking. */
	take = f->limits.max_body - f->body_len;
	if (take > n)
		take = n;
	f->body_len += take;
	if (f->kind == FORM_URLENCODED)
		form_url_feed(f, p, take);
	else
		form_mp_feed(f, p, take);
	if (f->error == FORM_OK && n > take) {
		form_fail(f, FORM_TOO_LARGE, "the request body is larger than "
		    "%zu bytes", f->limits.max_body);
	}
	return f->error;
}

/* Ends the body; see form.h. */
enum form_error
form_finish(struct form *f)
{
	if (f->error != FORM_OK || f->finished)
		return f->error;
	if (f->kind == FORM_URLENCODED) {
		if (f->pct > 0)
			form_url_bad_escape(f);
		else
			form_url_end(f);
	} else if (f->state == FORM_PREAMBLE) {
		form_fail(f, FORM_MALFORMED, "malformed multipart body: the "
		    "boundary in the Content-Type never appears in the body");
	} else if (f->state != FORM_EPILOGUE) {
		form_fail(f, FORM_MALFORMED,
		    "malformed multipart body: missing closing boundary");
	}
	if (f->error == FORM_OK)
		f->finished = 1;
	return f->error;
}

/* Returns what was wrong, for a person; "no error" before any. */
const char *
form_message(const struct form *f)
{
	return f->message != NULL ? f->message : "no error";
}

/* Returns the errno of the FORM_IO failure, or 0. */
int
form_errno(const struct form *f)
{
	return f->saved_errno;
}

/* Returns the number of fields recorded. */
size_t
form_count(const struct form *f)
{
	return f->nfields;
}

/* Returns field i, or NULL past the end. */
const struct form_field *
form_at(const struct form *f, size_t i)
{
	return i < f->nfields ? &f->fields[i] : NULL;
}

/* Returns the first field with that name, or NULL. */
const struct form_field *
form_get(const struct form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nfields; i++) {
		if (strcmp(f->fields[i].name, name) == 0)
			return &f->fields[i];
	}
	return NULL;
}

/* Closes the open upload and removes every file written; ends the parse. */
void
form_abort(struct form *f)
{
	size_t i;

	if (f->fd != -1) {
		close(f->fd);
		f->fd = -1;
	}
	for (i = 0; i < f->nfields; i++) {
		if (f->fields[i].path == NULL)
			continue;
		if (unlink(f->fields[i].path) == -1 && errno != ENOENT) {
			log_error("unlink %s: %s", f->fields[i].path,
			    strerror(errno));
		}
	}
	f->finished = 1;
}

/* Frees the form and everything it reported; leaves the files in place. */
void
form_free(struct form *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->fd != -1)
		close(f->fd);
	for (i = 0; i < f->nfields; i++) {
		free(f->fields[i].name);
		free(f->fields[i].value);
		free(f->fields[i].filename);
		free(f->fields[i].content_type);
		free(f->fields[i].path);
	}
	free(f->fields);
	form_mp_part_clear(f);
	buf_free(&f->value);
	buf_free(&f->name);
	buf_free(&f->header);
	free(f->wbuf);
	free(f->delim);
	free(f->message);
	free(f->upload_dir);
	free(f);
}
