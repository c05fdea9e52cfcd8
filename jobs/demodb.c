/*
 * demodb: the import handler's demo database (see demodb.h).
 *
 * DESIGN.  The steps are a table: each names the statements it needs (at
 * most DEMODB_SQL_MAX, prepared when the step begins and finalized when it
 * commits), how many items it has and what one item does.  The name steps
 * (areas, departments, designations) insert each distinct name and read
 * its id back, which the later steps refer to; the row steps go through
 * every employee.  Another import may hold the write lock for a whole paced
 * step (up to 3600 / 7 s), so the busy handler says so once (on_wait) and
 * waits up to DEMODB_BUSY_WAIT_S rather than failing at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "demodb.h"
#include "handler.h"
#include "roster.h"

#define DEMODB_SQL_MAX 4
#define DEMODB_BUSY_WAIT_S 600	/* for another import's step: up to 3600 / 7 s */

struct demodb {
	const char *path;
	sqlite3 *db;
	struct roster *ro;	/* borrowed */
	void (*on_wait)(void);
	struct timespec busy_since;
	int k;			/* the current step, or -1 */
	sqlite3_stmt *st[DEMODB_SQL_MAX];
};

/* One step: what it shows, the statements it needs, one item's work. */
struct demodb_step_def {
	struct demodb_step show;
	const char *sql[DEMODB_SQL_MAX];
	long (*count)(const struct roster *);
	void (*item)(struct demodb *, long);
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

/* Reports a database failure in the current step, rolls back, exits 1. */
static void HANDLER_NORETURN
db_fail(struct demodb *d, const char *what)
{
	const char *step = d->k >= 0 ? demodb_step(d->k)->id : NULL;
	const char *err = d->db ? sqlite3_errmsg(d->db) : "out of memory";
	char *copy = handler_calloc(strlen(err) + 1, 1);

	strcpy(copy, err);	/* the rollback may change SQLite's message */
	if (d->db != NULL)
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	handler_fail("database %s: %s%s%s: %s", d->path, step ? step : "",
	    step ? ": " : "", what, copy);
}

/* Runs sql (one or more statements without results). */
static void
db_exec(struct demodb *d, const char *sql)
{
	if (sqlite3_exec(d->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		db_fail(d, sql);
}

/* SQLite's busy handler: another import holds the write lock; say so once and wait. */
static int
on_busy(void *arg, int count)
{
	struct demodb *d = arg;
	const struct timespec pause = { 0, 50 * 1000 * 1000 };
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0) {
		if (d->on_wait != NULL)
			d->on_wait();
		d->busy_since = now;
	}
	if (now.tv_sec - d->busy_since.tv_sec > DEMODB_BUSY_WAIT_S)
		return 0;
	nanosleep(&pause, NULL);
	return 1;
}

/* Runs a statement that returns no row, then resets it for reuse. */
static void
stmt_done(struct demodb *d, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		db_fail(d, sqlite3_sql(st));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns one id, resets it; the id. */
static sqlite3_int64
stmt_id(struct demodb *d, sqlite3_stmt *st)
{
	sqlite3_int64 id;

	if (sqlite3_step(st) != SQLITE_ROW)
		db_fail(d, sqlite3_sql(st));
	id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return id;
}

/* Stores entry i of t with st[0] (insert) and st[1] (select id). */
static void
store_name(struct demodb *d, struct names *t, long i, sqlite3_int64 parent_id)
{
	int k;

	for (k = 0; k < 2; k++) {
		if (parent_id != 0)
			sqlite3_bind_int64(d->st[k], 1, parent_id);
		sqlite3_bind_text(d->st[k], parent_id != 0 ? 2 : 1, t->name[i], -1,
		    SQLITE_STATIC);
	}
	stmt_done(d, d->st[0]);
	t->id[i] = stmt_id(d, d->st[1]);
}

/* Step areas: one distinct area. */
static void
area_item(struct demodb *d, long i)
{
	store_name(d, &d->ro->areas, i, 0);
}

/* Step departments: one distinct department of an area. */
static void
department_item(struct demodb *d, long i)
{
	struct names *t = &d->ro->departments;

	store_name(d, t, i, d->ro->areas.id[t->parent[i]]);
}

/* Step designations: one distinct designation. */
static void
designation_item(struct demodb *d, long i)
{
	store_name(d, &d->ro->designations, i, 0);
}

/* Step employees: inserts or updates one employee. */
static void
employee_item(struct demodb *d, long i)
{
	const struct row *r = &d->ro->rows[i];

	sqlite3_bind_int64(d->st[0], 1, r->id);
	sqlite3_bind_text(d->st[0], 2, r->field[COL_NAME], -1, SQLITE_STATIC);
	sqlite3_bind_int64(d->st[0], 3, d->ro->departments.id[r->department]);
	sqlite3_bind_int64(d->st[0], 4, d->ro->designations.id[r->designation]);
	stmt_done(d, d->st[0]);
}

/* Step schedules: replaces one employee's working days. */
static void
schedule_item(struct demodb *d, long i)
{
	const struct row *r = &d->ro->rows[i];
	int day;

	sqlite3_bind_int64(d->st[0], 1, r->id);
	stmt_done(d, d->st[0]);
	for (day = 0; day < 7; day++) {
		if (!(r->days & (1u << day)))
			continue;
		sqlite3_bind_int64(d->st[1], 1, r->id);
		sqlite3_bind_int(d->st[1], 2, day);
		sqlite3_bind_int(d->st[1], 3, r->start_min);
		sqlite3_bind_int(d->st[1], 4, r->end_min);
		stmt_done(d, d->st[1]);
	}
}

/* Step drivers: makes one employee a driver, or not (dropping their car). */
static void
driver_item(struct demodb *d, long i)
{
	const struct row *r = &d->ro->rows[i];
	sqlite3_stmt *s = r->driver ? d->st[0] : d->st[1];

	sqlite3_bind_int64(s, 1, r->id);
	stmt_done(d, s);
}

/* Step car_assignments: assigns one driver's car, or removes it. */
static void
car_item(struct demodb *d, long i)
{
	const struct row *r = &d->ro->rows[i];
	const char *plate = r->field[COL_CAR];
	sqlite3_int64 car;

	if (*plate == '\0') {
		sqlite3_bind_int64(d->st[3], 1, r->id);
		stmt_done(d, d->st[3]);
		return;
	}
	sqlite3_bind_text(d->st[0], 1, plate, -1, SQLITE_STATIC);
	stmt_done(d, d->st[0]);
	sqlite3_bind_text(d->st[1], 1, plate, -1, SQLITE_STATIC);
	car = stmt_id(d, d->st[1]);
	sqlite3_bind_int64(d->st[2], 1, r->id);
	sqlite3_bind_int64(d->st[2], 2, car);
	stmt_done(d, d->st[2]);
}

/* Number of distinct areas. */
static long
count_areas(const struct roster *ro)
{
	return ro->areas.count;
}

/* Number of distinct departments. */
static long
count_departments(const struct roster *ro)
{
	return ro->departments.count;
}

/* Number of distinct designations. */
static long
count_designations(const struct roster *ro)
{
	return ro->designations.count;
}

/* Number of employees (the later steps go through every row). */
static long
count_rows(const struct roster *ro)
{
	return ro->nrows;
}

static const struct demodb_step_def steps[DEMODB_NSTEPS] = {
	{ { "areas", "Areas", "areas" }, {
		"INSERT INTO areas (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
		"SELECT id FROM areas WHERE name = ?1",
	}, count_areas, area_item },
	{ { "departments", "Departments", "departments" }, {
		"INSERT INTO departments (area_id, name) VALUES (?1, ?2)"
		" ON CONFLICT (area_id, name) DO NOTHING",
		"SELECT id FROM departments WHERE area_id = ?1 AND name = ?2",
	}, count_departments, department_item },
	{ { "designations", "Designations", "designations" }, {
		"INSERT INTO designations (name) VALUES (?1)"
		" ON CONFLICT (name) DO NOTHING",
		"SELECT id FROM designations WHERE name = ?1",
	}, count_designations, designation_item },
	{ { "employees", "Employees", "employees" }, {
		"INSERT INTO employees (id, name, department_id, designation_id)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET"
		" name = excluded.name, department_id = excluded.department_id,"
		" designation_id = excluded.designation_id",
	}, count_rows, employee_item },
	{ { "schedules", "Schedules", "schedules" }, {
		"DELETE FROM schedules WHERE employee_id = ?1",
		"INSERT INTO schedules (employee_id, day, start_min, end_min)"
		" VALUES (?1, ?2, ?3, ?4)",
	}, count_rows, schedule_item },
	{ { "drivers", "Drivers", "drivers" }, {
		"INSERT INTO drivers (employee_id) VALUES (?1)"
		" ON CONFLICT (employee_id) DO NOTHING",
		"DELETE FROM drivers WHERE employee_id = ?1",
	}, count_rows, driver_item },
	{ { "car_assignments", "Car assignments", "car assignments" }, {
		"INSERT INTO cars (plate) VALUES (?1) ON CONFLICT (plate) DO NOTHING",
		"SELECT id FROM cars WHERE plate = ?1",
		"INSERT INTO car_assignments (employee_id, car_id) VALUES (?1, ?2)"
		" ON CONFLICT (employee_id) DO UPDATE SET car_id = excluded.car_id",
		"DELETE FROM car_assignments WHERE employee_id = ?1",
	}, count_rows, car_item },
};

/* What the protocol shows of step k. */
const struct demodb_step *
demodb_step(int k)
{
	return &steps[k].show;
}

/* Opens (creating if needed) the database and its schema. */
struct demodb *
demodb_open(const char *path, struct roster *ro, void (*on_wait)(void))
{
	struct demodb *d = handler_calloc(1, sizeof *d);

	d->path = path;
	d->ro = ro;
	d->on_wait = on_wait;
	d->k = -1;
	if (sqlite3_open_v2(path, &d->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		db_fail(d, "opening");
	sqlite3_busy_handler(d->db, on_busy, d);
	db_exec(d, "PRAGMA foreign_keys = ON");
	db_exec(d, "BEGIN IMMEDIATE");
	db_exec(d, schema_sql);
	db_exec(d, "COMMIT");
	return d;
}

/* Prepares step k's statements and begins its transaction; its item count. */
long
demodb_begin(struct demodb *d, int k)
{
	const struct demodb_step_def *s = &steps[k];
	int j;

	d->k = k;
	for (j = 0; j < DEMODB_SQL_MAX && s->sql[j] != NULL; j++)
		if (sqlite3_prepare_v2(d->db, s->sql[j], -1, &d->st[j], NULL) !=
		    SQLITE_OK)
			db_fail(d, s->sql[j]);
	db_exec(d, "BEGIN IMMEDIATE");
	return s->count(d->ro);
}

/* Stores item i of the current step. */
void
demodb_item(struct demodb *d, long i)
{
	steps[d->k].item(d, i);
}

/* Commits the current step and finalizes its statements. */
void
demodb_commit(struct demodb *d)
{
	int j;

	db_exec(d, "COMMIT");
	for (j = 0; j < DEMODB_SQL_MAX; j++) {
		sqlite3_finalize(d->st[j]);
		d->st[j] = NULL;
	}
	d->k = -1;
}

/* Closes the database and frees the handle. */
void
demodb_close(struct demodb *d)
{
	if (sqlite3_close(d->db) != SQLITE_OK)
		db_fail(d, "closing");
	free(d);
}
