/*
 * import: the demo "big spreadsheet upload" job handler.
 *
 * It imports an uploaded CSV of employees into a demo SQLite database in
 * seven named steps, reporting each step and its progress on stdout with
 * the handler protocol (DESIGN.md, "Job handlers").  It is also an example
 * of a job handler written in C that does real work in named steps.
 *
 *     import [--db PATH]          (default: demo.db in the job's directory)
 *
 * stdin is the job as JSON: files.csv.path names the uploaded file, and the
 * optional field "seconds" (0..3600, default 0) spreads the steps over about
 * that long so that a person can watch them.
 *
 * The file is RFC 4180 CSV in UTF-8 (an Excel byte order mark is skipped),
 * with this header line:
 *
 *     employee_id,name,area,department,designation,schedule,driver,car
 *
 * and one employee per row: a unique positive employee_id; a name, area,
 * department (within its area) and designation; a schedule such as
 * "Mon-Fri 09:00-17:00" or "Mon,Wed,Sat-Sun 22:00-06:00" (an end before the
 * start means the shift ends the next day); driver yes or no; and the
 * plate of the driver's car, or nothing.  Values are trimmed of spaces.
 *
 * DESIGN.  The whole file is read (at most 64 MiB) and checked before the
 * database is opened: the first problem is reported on stderr as
 * "line N: what is wrong" (N counts physical lines, the header is line 1)
 * with exit status 1, and the database is not touched.  The CSV is parsed
 * in place: unquoting only ever shortens a field, so each field is
 * rewritten where it lies and the rows point into the file's buffer.
 * Then each step runs in one transaction with prepared statements and
 * upserts, so importing the same file again changes nothing, and a file
 * that changes an employee updates that employee (their schedule, driver
 * and car rows are replaced); employees absent from the file are kept.
 * A step that fails or is cancelled rolls back; earlier steps stay.
 *
 * Build: cc -o import import.c $(pkg-config --cflags --libs sqlite3 json-c)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <sqlite3.h>

#define STDIN_MAX (1024 * 1024)		/* the job description */
#define FILE_MAX (64L * 1024 * 1024)	/* the uploaded CSV */
#define LINE_BYTES_MAX 65536		/* one physical line, without its newline */
#define ROWS_MAX 200000
#define TEXT_MAX 200			/* bytes in a name, area, department, designation */
#define SHOW_MAX 40			/* bytes of a bad value quoted in a message */
#define DEFAULT_DB "demo.db"
#define BUSY_WAIT_S 600		/* for another import's step: up to 3600 / 7 s */

#define EXIT_FAILED 1		/* a bad file, or the import failed */
#define EXIT_USAGE 2		/* bad arguments or job description */

enum column {
	COL_ID, COL_NAME, COL_AREA, COL_DEPARTMENT, COL_DESIGNATION,
	COL_SCHEDULE, COL_DRIVER, COL_CAR, NCOLS
};

static const char *const column_names[NCOLS] = {
	"employee_id", "name", "area", "department", "designation",
	"schedule", "driver", "car",
};

static const char *const day_names[7] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
};

/* One employee: its fields point into the file's buffer. */
struct row {
	char *field[NCOLS];
	long line;		/* physical line where the row starts */
	sqlite3_int64 id;
	long area, department, designation;	/* entries in struct names */
	unsigned days;		/* bit d: works on day d, 0 = Monday */
	int start_min, end_min;	/* minutes after midnight; end < start: next day */
	int driver;
};

/* Distinct names, each under an optional parent entry (department: area). */
struct names {
	long *slots;		/* open addressing: entry + 1, 0 = free */
	size_t nslots;		/* a power of two, at least twice count */
	const char **name;
	long *parent;
	sqlite3_int64 *id;	/* filled by the step that stores them */
	long count, cap;
};

/* The employee ids seen so far and the line of each. */
struct idset {
	sqlite3_int64 *id;
	long *line;		/* 0 = free slot */
	size_t nslots;
	long count;
};

/* The CSV reader: a position in the file's buffer and its physical line. */
struct csv {
	char *buf;
	size_t len;
	size_t pos;
	long line;
};

/* Everything one import works on. */
struct import {
	const char *db_path;
	char *text;		/* the file; the rows point into it */
	int seconds;
	struct row *rows;
	long nrows, rows_cap;
	struct names areas, departments, designations;
	struct idset ids;
	long nschedules, ndrivers, ncars;
	sqlite3 *db;
	const char *step;	/* for error messages */
	struct timespec start;
	struct timespec busy_since;
};

#define STEP_SQL_MAX 4

/* One named step: what it stores, the statements it needs, one item's work. */
struct step {
	const char *id;
	const char *label;
	const char *noun;	/* in progress messages */
	const char *sql[STEP_SQL_MAX];
	long (*count)(const struct import *);
	void (*item)(struct import *, long, sqlite3_stmt **);
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS areas (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	name TEXT NOT NULL UNIQUE\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS departments (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	area_id INTEGER NOT NULL REFERENCES areas(id),\n"
	"	name TEXT NOT NULL,\n"
	"	UNIQUE (area_id, name)\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS designations (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	name TEXT NOT NULL UNIQUE\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS employees (\n"
	"	id INTEGER PRIMARY KEY,	-- employee_id in the file\n"
	"	name TEXT NOT NULL,\n"
	"	department_id INTEGER NOT NULL REFERENCES departments(id),\n"
	"	designation_id INTEGER NOT NULL REFERENCES designations(id)\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS employees_department\n"
	"	ON employees(department_id);\n"
	"CREATE INDEX IF NOT EXISTS employees_designation\n"
	"	ON employees(designation_id);\n"
	"CREATE TABLE IF NOT EXISTS schedules (\n"
	"	employee_id INTEGER NOT NULL REFERENCES employees(id) ON DELETE CASCADE,\n"
	"	day INTEGER NOT NULL CHECK (day BETWEEN 0 AND 6),	-- 0 = Monday\n"
	"	start_min INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),\n"
	"	end_min INTEGER NOT NULL CHECK (end_min BETWEEN 0 AND 1440),\n"
	"	PRIMARY KEY (employee_id, day)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE IF NOT EXISTS drivers (\n"
	"	employee_id INTEGER PRIMARY KEY REFERENCES employees(id) ON DELETE CASCADE\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS cars (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	plate TEXT NOT NULL UNIQUE\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS car_assignments (\n"
	"	employee_id INTEGER PRIMARY KEY\n"
	"		REFERENCES drivers(employee_id) ON DELETE CASCADE,\n"
	"	car_id INTEGER NOT NULL REFERENCES cars(id)\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS car_assignments_car ON car_assignments(car_id);\n";

/* ------------------------------------------------------------ errors */

/* Prints a message on stderr and exits with status. */
static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Reports a problem in the file as "line N: ..." and exits with status 1. */
static void __attribute__((noreturn, format(printf, 2, 3)))
die_line(long line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "line %ld: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAILED);
}

/* malloc that exits on failure. */
static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die(EXIT_FAILED, "out of memory");
	return p;
}

/* calloc of n elements of size bytes that exits on failure. */
static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		die(EXIT_FAILED, "out of memory");
	return p;
}

/* reallocarray that exits on failure. */
static void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		die(EXIT_FAILED, "out of memory");
	p = realloc(p, n != 0 && size != 0 ? n * size : 1);
	if (p == NULL)
		die(EXIT_FAILED, "out of memory");
	return p;
}

/*
 * Copies value into out (size bytes) for a message: at most SHOW_MAX bytes,
 * not cutting a UTF-8 character, control characters as '?'; returns out.
 */
static const char *
show(const char *value, char *out, size_t size)
{
	size_t n = strlen(value), i;

	if (size < SHOW_MAX + 4)
		return "";
	if (n > SHOW_MAX) {
		n = SHOW_MAX;
		while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)value[i] < 0x20 || value[i] == 0x7f ?
		    '?' : value[i];
	strcpy(out + n, strlen(value) > n ? "..." : "");
	return out;
}

/* ------------------------------------------------------------ the job */

/* Reads all of stdin (at most STDIN_MAX bytes) into a NUL-terminated string. */
static char *
read_stdin(void)
{
	size_t len = 0, n;
	char *text;

	text = xmalloc(STDIN_MAX + 1);
	while ((n = fread(text + len, 1, STDIN_MAX + 1 - len, stdin)) > 0) {
		len += n;
		if (len > STDIN_MAX)
			die(EXIT_USAGE, "the job description on stdin is over %d bytes",
			    STDIN_MAX);
	}
	if (ferror(stdin))
		die(EXIT_FAILED, "reading stdin: %s", strerror(errno));
	text[len] = '\0';
	return text;
}

/* Parses s as a whole decimal integer; 0 and *out set, or -1. */
static int
parse_integer(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (end == s || errno != 0)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end == '\0' ? 0 : -1;
}

/* Integer value of a field (number or numeric string), bounds checked. */
static int
field_int(struct json_object *fields, const char *name, int def, int min,
    int max)
{
	struct json_object *v;
	long long n;
	double d;

	if (fields == NULL || !json_object_object_get_ex(fields, name, &v) ||
	    v == NULL)
		return def;
	switch (json_object_get_type(v)) {
	case json_type_int:
		n = json_object_get_int64(v);
		break;
	case json_type_double:
		d = json_object_get_double(v);
		if (!(d >= min && d <= max) || d != (double)(long long)d)
			die(EXIT_USAGE, "field %s: %g is not a whole number from %d to %d",
			    name, d, min, max);
		n = (long long)d;
		break;
	case json_type_string:
		if (parse_integer(json_object_get_string(v), &n) == -1)
			die(EXIT_USAGE, "field %s: \"%s\" is not a whole number", name,
			    json_object_get_string(v));
		break;
	default:
		die(EXIT_USAGE, "field %s: expected a number", name);
	}
	if (n < min || n > max)
		die(EXIT_USAGE, "field %s: %lld is out of range (%d to %d)", name,
		    n, min, max);
	return (int)n;
}

/* The member key of obj if it is an object, else NULL. */
static struct json_object *
member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* Reads the job from stdin: sets imp->seconds, returns the CSV's path. */
static char *
read_job(struct import *imp)
{
	struct json_object *job, *fields, *path;
	enum json_tokener_error jerr;
	char *text, *csv_path;

	text = read_stdin();
	job = json_tokener_parse_verbose(text, &jerr);
	if (job == NULL)
		die(EXIT_USAGE, "the job description on stdin is not JSON: %s",
		    json_tokener_error_desc(jerr));
	if (!json_object_is_type(job, json_type_object))
		die(EXIT_USAGE, "the job description on stdin is not a JSON object");
	fields = member(job, "fields");
	if (fields != NULL && !json_object_is_type(fields, json_type_object))
		die(EXIT_USAGE, "\"fields\" is not a JSON object");
	imp->seconds = field_int(fields, "seconds", 0, 0, 3600);
	path = member(member(member(job, "files"), "csv"), "path");
	if (path == NULL || !json_object_is_type(path, json_type_string) ||
	    json_object_get_string_len(path) == 0)
		die(EXIT_USAGE, "no CSV file was uploaded (field csv)");
	csv_path = strdup(json_object_get_string(path));
	if (csv_path == NULL)
		die(EXIT_FAILED, "out of memory");
	json_object_put(job);
	free(text);
	return csv_path;
}

/* Reads the uploaded file whole (at most FILE_MAX bytes), NUL-terminated. */
static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	size_t size, got = 0;
	ssize_t n;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		die(EXIT_FAILED, "cannot open the uploaded file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		die(EXIT_FAILED, "the uploaded file %s is not a regular file", path);
	if (st.st_size > FILE_MAX)
		die(EXIT_FAILED, "the file is larger than %ld MiB (the limit)",
		    FILE_MAX / (1024 * 1024));
	size = (size_t)st.st_size;
	buf = xmalloc(size + 1);
	while (got < size && (n = read(fd, buf + got, size - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die(EXIT_FAILED, "reading %s: %s", path, strerror(errno));
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* ------------------------------------------------------------ CSV */

/* 1 if the n bytes at s are well-formed UTF-8 (no overlongs, no surrogates). */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, len, k;
	unsigned long cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xC2 && s[i] <= 0xDF)
			len = 2, cp = s[i] & 0x1F, min = 0x80;
		else if ((s[i] & 0xF0) == 0xE0)
			len = 3, cp = s[i] & 0x0F, min = 0x800;
		else if (s[i] >= 0xF0 && s[i] <= 0xF4)
			len = 4, cp = s[i] & 0x07, min = 0x10000;
		else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
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
	if (n > LINE_BYTES_MAX)
		die_line(c->line, "the line is longer than %d bytes", LINE_BYTES_MAX);
	if (memchr(p, '\0', n) != NULL)
		die_line(c->line, "the line contains a NUL byte");
	if (!utf8_valid((const unsigned char *)p, n))
		die_line(c->line, "the line is not valid UTF-8 (save the file as "
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

/* Starts reading buf: skips a byte order mark, checks line 1. */
static void
csv_init(struct csv *c, char *buf, size_t len)
{
	c->buf = buf;
	c->len = len;
	c->pos = 0;
	c->line = 1;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		c->pos = 3;
	csv_check_line(c);
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
			die_line(c->line, "a quote (\") inside an unquoted value: quote "
			    "the whole value and double the quote (\"\")");
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
			die_line(opened, "a quoted value is never closed (a closing "
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
		die_line(c->line, "a carriage return that does not end the line");
	else
		die_line(c->line, "unexpected text after the closing quote of a "
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
 * Reads the next record: up to NCOLS fields into field, its first line into
 * *line; returns its number of fields, or 0 at the end of the file.
 */
static int
csv_record(struct csv *c, char **field, long *line)
{
	int n = 0, last = 0;
	char *f;

	if (!csv_skip_blank(c))
		return 0;
	*line = c->line;
	while (!last) {
		f = csv_field(c, &last);
		if (n < NCOLS)
			field[n] = f;
		n++;	/* at most one per byte of a file of at most FILE_MAX */
	}
	return n;
}

/* ------------------------------------------------------------ tables */

/* FNV-1a of name, mixed with parent. */
static uint64_t
name_hash(const char *name, long parent)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h ^ ((uint64_t)(parent + 1) * 0x9E3779B97F4A7C15ULL);
}

/* Rebuilds t's hash table with twice the slots. */
static void
names_grow(struct names *t)
{
	size_t i, j, n = t->nslots ? t->nslots * 2 : 64;
	long e;

	free(t->slots);
	t->slots = xcalloc(n, sizeof *t->slots);
	t->nslots = n;
	for (e = 0; e < t->count; e++) {
		i = name_hash(t->name[e], t->parent[e]) & (n - 1);
		for (j = i; t->slots[j] != 0; j = (j + 1) & (n - 1))
			;
		t->slots[j] = e + 1;
	}
}

/* Appends entry (name, parent) to t's arrays; its index. */
static long
names_append(struct names *t, const char *name, long parent)
{
	if (t->count == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->name = xreallocarray(t->name, t->cap, sizeof *t->name);
		t->parent = xreallocarray(t->parent, t->cap, sizeof *t->parent);
		t->id = xreallocarray(t->id, t->cap, sizeof *t->id);
	}
	t->name[t->count] = name;
	t->parent[t->count] = parent;
	t->id[t->count] = 0;
	return t->count++;
}

/* The entry for (name, parent) in t, added if new; name must outlive t. */
static long
names_add(struct names *t, const char *name, long parent)
{
	size_t i;
	long e;

	if ((size_t)(t->count + 1) * 2 > t->nslots)
		names_grow(t);
	i = name_hash(name, parent) & (t->nslots - 1);
	for (; t->slots[i] != 0; i = (i + 1) & (t->nslots - 1)) {
		e = t->slots[i] - 1;
		if (t->parent[e] == parent && strcmp(t->name[e], name) == 0)
			return e;
	}
	e = names_append(t, name, parent);
	t->slots[i] = e + 1;
	return e;
}

/* Slot of id in s: where it is, or the free slot where it would go. */
static size_t
idset_slot(const struct idset *s, sqlite3_int64 id)
{
	size_t i = ((uint64_t)id * 0x9E3779B97F4A7C15ULL >> 20) & (s->nslots - 1);

	while (s->line[i] != 0 && s->id[i] != id)
		i = (i + 1) & (s->nslots - 1);
	return i;
}

/* Rebuilds s with twice the slots. */
static void
idset_grow(struct idset *s)
{
	struct idset old = *s;
	size_t i, j;

	s->nslots = old.nslots ? old.nslots * 2 : 1024;
	s->id = xcalloc(s->nslots, sizeof *s->id);
	s->line = xcalloc(s->nslots, sizeof *s->line);
	for (i = 0; i < old.nslots; i++)
		if (old.line[i] != 0) {
			j = idset_slot(s, old.id[i]);
			s->id[j] = old.id[i];
			s->line[j] = old.line[i];
		}
	free(old.id);
	free(old.line);
}

/* Adds id seen on line; 0, or the line it was already seen on. */
static long
idset_add(struct idset *s, sqlite3_int64 id, long line)
{
	size_t i;

	if ((size_t)(s->count + 1) * 2 > s->nslots)
		idset_grow(s);
	i = idset_slot(s, id);
	if (s->line[i] != 0)
		return s->line[i];
	s->id[i] = id;
	s->line[i] = line;
	s->count++;
	return 0;
}

/* ------------------------------------------------------------ rows */

/* Trims ASCII spaces and tabs from both ends of s in place; returns it. */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Physical line where field col of r starts (fields may hold line feeds). */
static long
field_line(const struct row *r, int col)
{
	long line = r->line;
	const char *p;
	int k;

	for (k = 0; k < col; k++)
		for (p = r->field[k]; (p = strchr(p, '\n')) != NULL; p++)
			line++;
	return line;
}

/* Checks the employee_id column and that it was not used before. */
static void
check_id(struct import *imp, struct row *r)
{
	const char *s = r->field[COL_ID];
	long line = field_line(r, COL_ID), prev;
	char shown[SHOW_MAX + 4];
	sqlite3_int64 id = 0;
	size_t i;

	if (*s == '\0')
		die_line(line, "employee_id is empty");
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || id > 214748364)
			die_line(line, "employee_id \"%s\" is not a whole number from "
			    "1 to 2147483647", show(s, shown, sizeof shown));
		id = id * 10 + (s[i] - '0');
	}
	if (id < 1 || id > 2147483647)
		die_line(line, "employee_id \"%s\" is not a whole number from 1 to "
		    "2147483647", show(s, shown, sizeof shown));
	prev = idset_add(&imp->ids, id, line);
	if (prev != 0)
		die_line(line, "employee_id %lld is already used on line %ld",
		    (long long)id, prev);
	r->id = id;
}

/* Checks a text column: not empty, not too long, no control characters. */
static void
check_text(const struct row *r, int col)
{
	const unsigned char *p = (const unsigned char *)r->field[col];

	if (*p == '\0')
		die_line(field_line(r, col), "%s is empty", column_names[col]);
	if (strlen((const char *)p) > TEXT_MAX)
		die_line(field_line(r, col), "%s is longer than %d bytes",
		    column_names[col], TEXT_MAX);
	for (; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			die_line(field_line(r, col), "%s contains a control character",
			    column_names[col]);
}

/* Index 0..6 of the n-byte day name at s (Mon..Sun, any case), or -1. */
static int
day_index(const char *s, size_t n)
{
	int d;

	for (d = 0; d < 7; d++)
		if (n == 3 && strncasecmp(s, day_names[d], 3) == 0)
			return d;
	return -1;
}

/* Adds day d to *days; fails if it is there already. */
static void
add_day(unsigned *days, int d, long line)
{
	if (*days & (1u << d))
		die_line(line, "schedule lists %s twice", day_names[d]);
	*days |= 1u << d;
}

/* Parses one item of the days list: "Wed", or "Mon-Fri", wrapping too. */
static void
parse_day_item(const char *s, size_t n, unsigned *days, long line)
{
	const char *dash;
	int a, b, d;

	while (n > 0 && s[0] == ' ')
		s++, n--;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	dash = memchr(s, '-', n);
	a = day_index(s, dash ? (size_t)(dash - s) : n);
	b = dash ? day_index(dash + 1, n - (size_t)(dash - s) - 1) : a;
	if (a < 0 || b < 0)
		die_line(line, "schedule: \"%.*s\" is not a day or a range of days "
		    "(use Mon, Tue, Wed, Thu, Fri, Sat, Sun)", (int)(n < 20 ? n : 20),
		    s);
	for (d = a;; d = (d + 1) % 7) {
		add_day(days, d, line);
		if (d == b)
			break;
	}
}

/* Parses the days part of a schedule: items separated by commas. */
static unsigned
parse_days(const char *s, size_t n, long line)
{
	unsigned days = 0;
	const char *comma;
	size_t k;

	for (;;) {
		comma = memchr(s, ',', n);
		k = comma ? (size_t)(comma - s) : n;
		parse_day_item(s, k, &days, line);
		if (comma == NULL)
			return days;
		s += k + 1;
		n -= k + 1;
	}
}

/* 1 if ch is an ASCII digit. */
static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Minutes after midnight of "H:MM" or "HH:MM" (n bytes), up to max; or -1. */
static int
parse_clock(const char *s, size_t n, int max)
{
	size_t colon = n - 3;	/* 1 or 2 hour digits */
	int h, m;

	if ((n != 4 && n != 5) || s[colon] != ':' || !is_digit(s[0]) ||
	    !is_digit(s[colon - 1]) || !is_digit(s[colon + 1]) ||
	    !is_digit(s[colon + 2]))
		return -1;
	h = colon == 2 ? (s[0] - '0') * 10 + (s[1] - '0') : s[0] - '0';
	m = (s[colon + 1] - '0') * 10 + (s[colon + 2] - '0');
	if (m > 59 || h * 60 + m > max)
		return -1;
	return h * 60 + m;
}

/* Parses the hours part of a schedule, "HH:MM-HH:MM", into r. */
static void
parse_hours(const char *s, struct row *r, long line)
{
	const char *dash = strchr(s, '-');
	char shown[SHOW_MAX + 4];

	if (dash != NULL) {
		r->start_min = parse_clock(s, (size_t)(dash - s), 23 * 60 + 59);
		r->end_min = parse_clock(dash + 1, strlen(dash + 1), 24 * 60);
	}
	if (dash == NULL || r->start_min < 0 || r->end_min < 0)
		die_line(line, "schedule: \"%s\" is not a time range like "
		    "09:00-17:00", show(s, shown, sizeof shown));
	if (r->start_min == r->end_min ||
	    (r->start_min == 0 && r->end_min == 24 * 60))
		die_line(line, "schedule: \"%s\" starts and ends at the same time",
		    show(s, shown, sizeof shown));
}

/* Checks the schedule column ("Mon-Fri 09:00-17:00") and fills r from it. */
static void
check_schedule(struct row *r)
{
	const char *s = r->field[COL_SCHEDULE];
	long line = field_line(r, COL_SCHEDULE);
	char shown[SHOW_MAX + 4];
	const char *sp = strrchr(s, ' ');

	if (strchr(s, '\n') != NULL || strchr(s, '\t') != NULL || sp == NULL)
		die_line(line, "schedule \"%s\" is not like \"Mon-Fri 09:00-17:00\" "
		    "(days, a space, then hours)", show(s, shown, sizeof shown));
	r->days = parse_days(s, (size_t)(sp - s), line);
	parse_hours(sp + 1, r, line);
}

/* Checks the driver column: yes or no, any case. */
static void
check_driver(struct row *r)
{
	const char *s = r->field[COL_DRIVER];
	char shown[SHOW_MAX + 4];

	if (strcasecmp(s, "yes") == 0)
		r->driver = 1;
	else if (strcasecmp(s, "no") == 0)
		r->driver = 0;
	else
		die_line(field_line(r, COL_DRIVER), "driver must be yes or no, "
		    "not \"%s\"", show(s, shown, sizeof shown));
}

/* Checks the car column: empty, or a plate (upper-cased) for a driver. */
static void
check_car(struct row *r)
{
	char *s = r->field[COL_CAR], shown[SHOW_MAX + 4];
	long line = field_line(r, COL_CAR);
	size_t n = strlen(s), i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 'a' + 'A');
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    ((s[i] == ' ' || s[i] == '-') && i > 0 && i < n - 1)))
			break;
	}
	if (i < n || n < 2 || n > 12)
		die_line(line, "car \"%s\" is not a plate (2 to 12 letters, digits, "
		    "spaces or dashes)", show(s, shown, sizeof shown));
	if (!r->driver)
		die_line(line, "car %s is given but driver is no (only drivers have "
		    "a car)", s);
}

/* Checks one data row of n fields and adds it to imp. */
static void
add_row(struct import *imp, char **field, int n, long line)
{
	struct row *r;
	int k;

	if (n != NCOLS)
		die_line(line, "expected %d values, found %d", NCOLS, n);
	if (imp->nrows == ROWS_MAX)
		die_line(line, "more than %d employees (the limit)", ROWS_MAX);
	if (imp->nrows == imp->rows_cap) {
		imp->rows_cap = imp->rows_cap ? imp->rows_cap * 2 : 256;
		imp->rows = xreallocarray(imp->rows, imp->rows_cap, sizeof *r);
	}
	r = &imp->rows[imp->nrows++];
	memset(r, 0, sizeof *r);
	r->line = line;
	for (k = 0; k < NCOLS; k++)
		r->field[k] = trim(field[k]);
	check_id(imp, r);
	for (k = COL_NAME; k <= COL_DESIGNATION; k++)
		check_text(r, k);
	check_schedule(r);
	check_driver(r);
	check_car(r);
	r->area = names_add(&imp->areas, r->field[COL_AREA], -1);
	r->department = names_add(&imp->departments, r->field[COL_DEPARTMENT],
	    r->area);
	r->designation = names_add(&imp->designations,
	    r->field[COL_DESIGNATION], -1);
	for (k = 0; k < 7; k++)
		imp->nschedules += (r->days >> k) & 1;
	imp->ndrivers += r->driver;
	imp->ncars += r->field[COL_CAR][0] != '\0';
}

/* Checks the header line: exactly the expected columns, in order. */
static void
check_header(char **field, int n, long line)
{
	char shown[SHOW_MAX + 4];
	int k;

	if (n == 0)
		die_line(1, "the file is empty; expected the header line "
		    "employee_id,name,area,department,designation,schedule,driver,car");
	for (k = 0; k < n && k < NCOLS; k++)
		if (strcmp(trim(field[k]), column_names[k]) != 0)
			die_line(line, "column %d of the header is \"%s\", expected "
			    "\"%s\" (the header must be employee_id,name,area,department,"
			    "designation,schedule,driver,car)", k + 1,
			    show(field[k], shown, sizeof shown), column_names[k]);
	if (n != NCOLS)
		die_line(line, "the header has %d columns, expected %d: "
		    "employee_id,name,area,department,designation,schedule,driver,car",
		    n, NCOLS);
}

/* Reads and checks all the file into imp->rows; exits at the first problem. */
static void
load_csv(struct import *imp, const char *path)
{
	char *field[NCOLS];
	size_t len, next = 0;
	struct csv c;
	char *buf;
	long line = 1;
	int n;

	printf("progress 0 checking line 1\n");
	imp->text = buf = read_file(path, &len);
	csv_init(&c, buf, len);
	n = csv_record(&c, field, &line);
	check_header(field, n, line);
	while ((n = csv_record(&c, field, &line)) > 0) {
		add_row(imp, field, n, line);
		if (c.pos >= next) {
			printf("progress %d checking line %ld\n",
			    (int)(5.0 * c.pos / len), line);
			next = c.pos + len / 50 + 1;
		}
	}
	if (imp->nrows == 0)
		die_line(c.line, "no employees after the header line");
	printf("progress 5 checked %ld employees\n", imp->nrows);
}

/* ------------------------------------------------------------ database */

/* Reports a database failure in the current step, rolls back, exits 1. */
static void __attribute__((noreturn))
db_fail(struct import *imp, const char *what)
{
	fprintf(stderr, "database %s: %s%s%s: %s\n", imp->db_path,
	    imp->step ? imp->step : "", imp->step ? ": " : "", what,
	    imp->db ? sqlite3_errmsg(imp->db) : "out of memory");
	if (imp->db != NULL)
		sqlite3_exec(imp->db, "ROLLBACK", NULL, NULL, NULL);
	exit(EXIT_FAILED);
}

/* Runs sql (one or more statements without results). */
static void
db_exec(struct import *imp, const char *sql)
{
	if (sqlite3_exec(imp->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		db_fail(imp, sql);
}

/*
 * SQLite's busy handler: another import holds the write lock (a paced step
 * keeps its transaction open for up to 3600 / 7 s), so say so once and wait.
 */
static int
on_busy(void *arg, int count)
{
	struct import *imp = arg;
	const struct timespec pause = { 0, 50 * 1000 * 1000 };
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0) {
		printf("waiting for the database: another import is writing to it\n");
		imp->busy_since = now;
	}
	if (now.tv_sec - imp->busy_since.tv_sec > BUSY_WAIT_S)
		return 0;
	nanosleep(&pause, NULL);
	return 1;
}

/* Opens (creating if needed) the database and its schema. */
static void
db_open(struct import *imp)
{
	if (sqlite3_open_v2(imp->db_path, &imp->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		db_fail(imp, "opening");
	sqlite3_busy_handler(imp->db, on_busy, imp);
	db_exec(imp, "PRAGMA foreign_keys = ON");
	db_exec(imp, "BEGIN IMMEDIATE");
	db_exec(imp, schema_sql);
	db_exec(imp, "COMMIT");
}

/* Runs a statement that returns no row, then resets it for reuse. */
static void
stmt_done(struct import *imp, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		db_fail(imp, sqlite3_sql(st));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns one id, resets it; the id. */
static sqlite3_int64
stmt_id(struct import *imp, sqlite3_stmt *st)
{
	sqlite3_int64 id;

	if (sqlite3_step(st) != SQLITE_ROW)
		db_fail(imp, sqlite3_sql(st));
	id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return id;
}

/* Stores entry i of t with st[0] (insert) and st[1] (select id). */
static void
store_name(struct import *imp, sqlite3_stmt **st, struct names *t, long i,
    sqlite3_int64 parent_id)
{
	int k;

	for (k = 0; k < 2; k++) {
		if (parent_id != 0)
			sqlite3_bind_int64(st[k], 1, parent_id);
		sqlite3_bind_text(st[k], parent_id != 0 ? 2 : 1, t->name[i], -1,
		    SQLITE_STATIC);
	}
	stmt_done(imp, st[0]);
	t->id[i] = stmt_id(imp, st[1]);
}

/* Step areas: one distinct area. */
static void
area_item(struct import *imp, long i, sqlite3_stmt **st)
{
	store_name(imp, st, &imp->areas, i, 0);
}

/* Step departments: one distinct department of an area. */
static void
department_item(struct import *imp, long i, sqlite3_stmt **st)
{
	struct names *t = &imp->departments;

	store_name(imp, st, t, i, imp->areas.id[t->parent[i]]);
}

/* Step designations: one distinct designation. */
static void
designation_item(struct import *imp, long i, sqlite3_stmt **st)
{
	store_name(imp, st, &imp->designations, i, 0);
}

/* Step employees: inserts or updates one employee. */
static void
employee_item(struct import *imp, long i, sqlite3_stmt **st)
{
	const struct row *r = &imp->rows[i];

	sqlite3_bind_int64(st[0], 1, r->id);
	sqlite3_bind_text(st[0], 2, r->field[COL_NAME], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st[0], 3, imp->departments.id[r->department]);
	sqlite3_bind_int64(st[0], 4, imp->designations.id[r->designation]);
	stmt_done(imp, st[0]);
}

/* Step schedules: replaces one employee's working days. */
static void
schedule_item(struct import *imp, long i, sqlite3_stmt **st)
{
	const struct row *r = &imp->rows[i];
	int d;

	sqlite3_bind_int64(st[0], 1, r->id);
	stmt_done(imp, st[0]);
	for (d = 0; d < 7; d++) {
		if (!(r->days & (1u << d)))
			continue;
		sqlite3_bind_int64(st[1], 1, r->id);
		sqlite3_bind_int(st[1], 2, d);
		sqlite3_bind_int(st[1], 3, r->start_min);
		sqlite3_bind_int(st[1], 4, r->end_min);
		stmt_done(imp, st[1]);
	}
}

/* Step drivers: makes one employee a driver, or not (dropping their car). */
static void
driver_item(struct import *imp, long i, sqlite3_stmt **st)
{
	const struct row *r = &imp->rows[i];
	sqlite3_stmt *s = r->driver ? st[0] : st[1];

	sqlite3_bind_int64(s, 1, r->id);
	stmt_done(imp, s);
}

/* Step car_assignments: assigns one driver's car, or removes it. */
static void
car_item(struct import *imp, long i, sqlite3_stmt **st)
{
	const struct row *r = &imp->rows[i];
	const char *plate = r->field[COL_CAR];
	sqlite3_int64 car;

	if (*plate == '\0') {
		sqlite3_bind_int64(st[3], 1, r->id);
		stmt_done(imp, st[3]);
		return;
	}
	sqlite3_bind_text(st[0], 1, plate, -1, SQLITE_STATIC);
	stmt_done(imp, st[0]);
	sqlite3_bind_text(st[1], 1, plate, -1, SQLITE_STATIC);
	car = stmt_id(imp, st[1]);
	sqlite3_bind_int64(st[2], 1, r->id);
	sqlite3_bind_int64(st[2], 2, car);
	stmt_done(imp, st[2]);
}

/* Number of distinct areas. */
static long
count_areas(const struct import *imp)
{
	return imp->areas.count;
}

/* Number of distinct departments. */
static long
count_departments(const struct import *imp)
{
	return imp->departments.count;
}

/* Number of distinct designations. */
static long
count_designations(const struct import *imp)
{
	return imp->designations.count;
}

/* Number of employees (the later steps go through every row). */
static long
count_rows(const struct import *imp)
{
	return imp->nrows;
}

static const struct step steps[] = {
	{ "areas", "Areas", "areas", {
		"INSERT INTO areas (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
		"SELECT id FROM areas WHERE name = ?1",
	}, count_areas, area_item },
	{ "departments", "Departments", "departments", {
		"INSERT INTO departments (area_id, name) VALUES (?1, ?2)"
		" ON CONFLICT (area_id, name) DO NOTHING",
		"SELECT id FROM departments WHERE area_id = ?1 AND name = ?2",
	}, count_departments, department_item },
	{ "designations", "Designations", "designations", {
		"INSERT INTO designations (name) VALUES (?1)"
		" ON CONFLICT (name) DO NOTHING",
		"SELECT id FROM designations WHERE name = ?1",
	}, count_designations, designation_item },
	{ "employees", "Employees", "employees", {
		"INSERT INTO employees (id, name, department_id, designation_id)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET"
		" name = excluded.name, department_id = excluded.department_id,"
		" designation_id = excluded.designation_id",
	}, count_rows, employee_item },
	{ "schedules", "Schedules", "schedules", {
		"DELETE FROM schedules WHERE employee_id = ?1",
		"INSERT INTO schedules (employee_id, day, start_min, end_min)"
		" VALUES (?1, ?2, ?3, ?4)",
	}, count_rows, schedule_item },
	{ "drivers", "Drivers", "drivers", {
		"INSERT INTO drivers (employee_id) VALUES (?1)"
		" ON CONFLICT (employee_id) DO NOTHING",
		"DELETE FROM drivers WHERE employee_id = ?1",
	}, count_rows, driver_item },
	{ "car_assignments", "Car assignments", "car assignments", {
		"INSERT INTO cars (plate) VALUES (?1) ON CONFLICT (plate) DO NOTHING",
		"SELECT id FROM cars WHERE plate = ?1",
		"INSERT INTO car_assignments (employee_id, car_id) VALUES (?1, ?2)"
		" ON CONFLICT (employee_id) DO UPDATE SET car_id = excluded.car_id",
		"DELETE FROM car_assignments WHERE employee_id = ?1",
	}, count_rows, car_item },
};
#define NSTEPS ((int)(sizeof steps / sizeof steps[0]))

/* ------------------------------------------------------------ steps */

/* Sleeps until offset seconds after imp->start on the monotonic clock. */
static void
sleep_until(const struct import *imp, double offset)
{
	struct timespec when = imp->start;
	long long ns = (long long)(offset * 1e9);

	when.tv_sec += (time_t)(ns / 1000000000LL);
	when.tv_nsec += (long)(ns % 1000000000LL);
	if (when.tv_nsec >= 1000000000L) {
		when.tv_sec++;
		when.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL) ==
	    EINTR)
		;
}

/* Prints the progress of step k: done of n items. */
static void
report(int k, long done, long n)
{
	double frac = n > 0 ? (double)done / n : 1.0;

	printf("progress %d %s: %ld of %ld\n",
	    (int)(5 + 95.0 * (k + frac) / NSTEPS), steps[k].noun, done, n);
}

/* Each step gets an equal share of the paced time: waits for item done. */
static void
pace(const struct import *imp, int k, long done, long n)
{
	if (imp->seconds > 0)
		sleep_until(imp, imp->seconds * (k + (n > 0 ? (double)done / n :
		    1.0)) / NSTEPS);
}

/* Runs step k in one transaction. */
static void
run_step(struct import *imp, int k)
{
	const struct step *s = &steps[k];
	sqlite3_stmt *st[STEP_SQL_MAX] = { NULL };
	long i, n = s->count(imp), every = n / 100 + 1;
	int j;

	imp->step = s->id;
	printf("step %s %s\n", s->id, s->label);
	for (j = 0; j < STEP_SQL_MAX && s->sql[j] != NULL; j++)
		if (sqlite3_prepare_v2(imp->db, s->sql[j], -1, &st[j], NULL) !=
		    SQLITE_OK)
			db_fail(imp, s->sql[j]);
	db_exec(imp, "BEGIN IMMEDIATE");
	report(k, 0, n);
	for (i = 0; i < n; i++) {
		s->item(imp, i, st);
		if ((i + 1) % every == 0 || i + 1 == n)
			report(k, i + 1, n);
		pace(imp, k, i + 1, n);
	}
	if (n == 0)
		pace(imp, k, 1, 1);
	db_exec(imp, "COMMIT");
	for (j = 0; j < STEP_SQL_MAX; j++)
		sqlite3_finalize(st[j]);
	imp->step = NULL;
}

/* Prints the result line: what the file contained, built with json-c. */
static void
print_result(const struct import *imp)
{
	struct json_object *res, *sum;

	sum = json_object_new_object();
	json_object_object_add(sum, "areas", json_object_new_int64(imp->areas.count));
	json_object_object_add(sum, "departments",
	    json_object_new_int64(imp->departments.count));
	json_object_object_add(sum, "designations",
	    json_object_new_int64(imp->designations.count));
	json_object_object_add(sum, "employees", json_object_new_int64(imp->nrows));
	json_object_object_add(sum, "schedules",
	    json_object_new_int64(imp->nschedules));
	json_object_object_add(sum, "drivers", json_object_new_int64(imp->ndrivers));
	json_object_object_add(sum, "car_assignments",
	    json_object_new_int64(imp->ncars));
	res = json_object_new_object();
	json_object_object_add(res, "summary", sum);	/* res owns sum now */
	json_object_object_add(res, "rows", json_object_new_int64(imp->nrows));
	printf("result %s\n", json_object_to_json_string_ext(res,
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(res);
}

/* Frees the arrays of t. */
static void
names_free(struct names *t)
{
	free(t->slots);
	free(t->name);
	free(t->parent);
	free(t->id);
}

/* Frees what imp holds (the database is closed already). */
static void
import_free(struct import *imp)
{
	names_free(&imp->areas);
	names_free(&imp->departments);
	names_free(&imp->designations);
	free(imp->ids.id);
	free(imp->ids.line);
	free(imp->rows);
	free(imp->text);
}

/* Parses argv: [--db PATH]; returns the database path. */
static const char *
parse_args(int argc, char **argv)
{
	const char *db = DEFAULT_DB;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc && argv[i + 1][0])
			db = argv[++i];
		else if (strncmp(argv[i], "--db=", 5) == 0 && argv[i][5] != '\0')
			db = argv[i] + 5;
		else
			die(EXIT_USAGE, "usage: import [--db PATH] < job.json");
	}
	return db;
}

/* Checks the whole CSV, then imports it in the seven steps. */
int
main(int argc, char **argv)
{
	struct import imp;
	char *csv_path;
	int k;

	memset(&imp, 0, sizeof imp);
	setvbuf(stdout, NULL, _IOLBF, 0);
	imp.db_path = parse_args(argc, argv);
	csv_path = read_job(&imp);
	load_csv(&imp, csv_path);
	free(csv_path);
	db_open(&imp);
	clock_gettime(CLOCK_MONOTONIC, &imp.start);
	for (k = 0; k < NSTEPS; k++)
		run_step(&imp, k);
	if (sqlite3_close(imp.db) != SQLITE_OK)
		db_fail(&imp, "closing");
	print_result(&imp);
	import_free(&imp);
	if (fflush(stdout) != 0 || ferror(stdout))
		return EXIT_FAILED;
	return EXIT_SUCCESS;
}
