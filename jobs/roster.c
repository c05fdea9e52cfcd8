/*
 * roster: the employee records of the import handler's CSV (see roster.h).
 *
 * Each row is checked column by column, in the order of the columns, so the
 * message names the first bad value of the row.  Values are checked as the
 * CSV reader left them (valid UTF-8 without NULs) and trimmed in place.
 * Two small hash tables, open addressing with linear probing, keep the
 * distinct names (struct names) and the ids seen with their lines (struct
 * idset), so a file of 200,000 rows is checked in one pass.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "csv.h"
#include "handler.h"
#include "roster.h"
#include "text.h"

#define ROWS_MAX 200000
#define TEXT_MAX 200			/* bytes in a name, area, department, designation */
#define SHOW_MAX 40			/* bytes of a bad value quoted in a message */
#define HEADER "employee_id,name,area,department,designation,schedule,driver,car"

static const char *const column_names[NCOLS] = {
	"employee_id", "name", "area", "department", "designation",
	"schedule", "driver", "car",
};

static const char *const day_names[7] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
};

/*
 * Copies value into out (size bytes) for a message: at most SHOW_MAX bytes,
 * not cutting a UTF-8 character, control characters as '?'; returns out.
 */
static const char *
show(const char *value, char *out, size_t size)
{
	struct buf b;

	buf_init(&b, 0);
	text_quote(&b, value, strlen(value), SHOW_MAX);
	snprintf(out, size, "%s", b.data != NULL ? b.data : "");
	buf_free(&b);
	return out;
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
	t->slots = handler_calloc(n, sizeof *t->slots);
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
		t->name = handler_reallocarray(t->name, t->cap, sizeof *t->name);
		t->parent = handler_reallocarray(t->parent, t->cap,
		    sizeof *t->parent);
		t->id = handler_reallocarray(t->id, t->cap, sizeof *t->id);
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

/* Frees the arrays of t. */
static void
names_free(struct names *t)
{
	free(t->slots);
	free(t->name);
	free(t->parent);
	free(t->id);
}

/* Slot of id in s: where it is, or the free slot where it would go. */
static size_t
idset_slot(const struct idset *s, int64_t id)
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
	s->id = handler_calloc(s->nslots, sizeof *s->id);
	s->line = handler_calloc(s->nslots, sizeof *s->line);
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
idset_add(struct idset *s, int64_t id, long line)
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

/* ------------------------------------------------------------ columns */

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
check_id(struct roster *ro, struct row *r)
{
	const char *s = r->field[COL_ID];
	long line = field_line(r, COL_ID), prev;
	char shown[SHOW_MAX + 4];
	int64_t id = 0;
	size_t i;

	if (*s == '\0')
		csv_fail(line, "employee_id is empty");
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || id > 214748364)
			csv_fail(line, "employee_id \"%s\" is not a whole number from "
			    "1 to 2147483647", show(s, shown, sizeof shown));
		id = id * 10 + (s[i] - '0');
	}
	if (id < 1 || id > 2147483647)
		csv_fail(line, "employee_id \"%s\" is not a whole number from 1 to "
		    "2147483647", show(s, shown, sizeof shown));
	prev = idset_add(&ro->ids, id, line);
	if (prev != 0)
		csv_fail(line, "employee_id %lld is already used on line %ld",
		    (long long)id, prev);
	r->id = id;
}

/* Checks a text column: not empty, not too long, no control characters. */
static void
check_text(const struct row *r, int col)
{
	const unsigned char *p = (const unsigned char *)r->field[col];

	if (*p == '\0')
		csv_fail(field_line(r, col), "%s is empty", column_names[col]);
	if (strlen((const char *)p) > TEXT_MAX)
		csv_fail(field_line(r, col), "%s is longer than %d bytes",
		    column_names[col], TEXT_MAX);
	for (; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			csv_fail(field_line(r, col), "%s contains a control character",
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
		csv_fail(line, "schedule lists %s twice", day_names[d]);
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
		csv_fail(line, "schedule: \"%.*s\" is not a day or a range of days "
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
		csv_fail(line, "schedule: \"%s\" is not a time range like "
		    "09:00-17:00", show(s, shown, sizeof shown));
	if (r->start_min == r->end_min ||
	    (r->start_min == 0 && r->end_min == 24 * 60))
		csv_fail(line, "schedule: \"%s\" starts and ends at the same time",
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
		csv_fail(line, "schedule \"%s\" is not like \"Mon-Fri 09:00-17:00\" "
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
		csv_fail(field_line(r, COL_DRIVER), "driver must be yes or no, "
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
		csv_fail(line, "car \"%s\" is not a plate (2 to 12 letters, digits, "
		    "spaces or dashes)", show(s, shown, sizeof shown));
	if (!r->driver)
		csv_fail(line, "car %s is given but driver is no (only drivers have "
		    "a car)", s);
}

/* ------------------------------------------------------------ records */

/* Checks one data row of n fields and adds it to the roster. */
void
roster_add(struct roster *ro, char **field, int n, long line)
{
	struct row *r;
	int k;

	if (n != NCOLS)
		csv_fail(line, "expected %d values, found %d", NCOLS, n);
	if (ro->nrows == ROWS_MAX)
		csv_fail(line, "more than %d employees (the limit)", ROWS_MAX);
	if (ro->nrows == ro->rows_cap) {
		ro->rows_cap = ro->rows_cap ? ro->rows_cap * 2 : 256;
		ro->rows = handler_reallocarray(ro->rows, ro->rows_cap, sizeof *r);
	}
	r = &ro->rows[ro->nrows++];
	memset(r, 0, sizeof *r);
	r->line = line;
	for (k = 0; k < NCOLS; k++)
		r->field[k] = trim(field[k]);
	check_id(ro, r);
	for (k = COL_NAME; k <= COL_DESIGNATION; k++)
		check_text(r, k);
	check_schedule(r);
	check_driver(r);
	check_car(r);
	r->area = names_add(&ro->areas, r->field[COL_AREA], -1);
	r->department = names_add(&ro->departments, r->field[COL_DEPARTMENT],
	    r->area);
	r->designation = names_add(&ro->designations,
	    r->field[COL_DESIGNATION], -1);
	for (k = 0; k < 7; k++)
		ro->nschedules += (r->days >> k) & 1;
	ro->ndrivers += r->driver;
	ro->ncars += r->field[COL_CAR][0] != '\0';
}

/* Checks the header line: exactly the expected columns, in order. */
void
roster_check_header(char **field, int n, long line)
{
	char shown[SHOW_MAX + 4];
	int k;

	if (n == 0)
		csv_fail(1, "the file is empty; expected the header line " HEADER);
	for (k = 0; k < n && k < NCOLS; k++)
		if (strcmp(trim(field[k]), column_names[k]) != 0)
			csv_fail(line, "column %d of the header is \"%s\", expected "
			    "\"%s\" (the header must be " HEADER ")", k + 1,
			    show(field[k], shown, sizeof shown), column_names[k]);
	if (n != NCOLS)
		csv_fail(line, "the header has %d columns, expected %d: " HEADER,
		    n, NCOLS);
}

/* Frees what the roster allocated and zeroes it. */
void
roster_free(struct roster *ro)
{
	names_free(&ro->areas);
	names_free(&ro->departments);
	names_free(&ro->designations);
	free(ro->ids.id);
	free(ro->ids.line);
	free(ro->rows);
	memset(ro, 0, sizeof *ro);
}
