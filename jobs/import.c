/*
 * import: the demo "big spreadsheet upload" job handler.
 *
 * It imports an uploaded CSV of employees into a demo SQLite database in
 * seven named steps, reporting each step and its progress on stdout with
 * the handler protocol (README.md, "Writing a job handler").  It is also an
 * example of a job handler written in C that does real work in named steps.
 *
 *     import [--db PATH]          (default: demo.db in the job's directory)
 *
 * stdin is the job as JSON: files.csv.path names the uploaded file, and the
 * optional field "seconds" (0..3600, default 0) spreads the steps over about
 * that long so that a person can watch them.  The file's format is in
 * roster.h.
 *
 * The work is in three modules, and this file is what speaks the protocol:
 * csv.c reads the file, roster.c checks its employees, demodb.c writes them
 * in the seven steps.  Here the job is read (with the kit, handler.h), the
 * checking is reported as progress 0 to 5, each step as a step line and
 * progress 5 to 100, the steps are paced, and the result is printed.
 *
 * DESIGN.  The whole file is read (at most 64 MiB) and checked before the
 * database is opened: the first problem is reported on stderr as
 * "line N: what is wrong" (N counts physical lines, the header is line 1)
 * with exit status 1, and the database is not touched.  Each step then runs
 * in one transaction (demodb.h), so a step that fails or is cancelled rolls
 * back and the earlier steps stay.  Exit status 2 means a bad job: an
 * unknown argument, a bad "seconds", no uploaded file.
 *
 * Build: cc -o import import.c csv.c roster.c demodb.c handler.c \
 *            $(pkg-config --cflags --libs sqlite3 json-c) -lm
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "csv.h"
#include "demodb.h"
#include "handler.h"
#include "roster.h"

#define DEFAULT_DB "demo.db"

/* Everything one import works on. */
struct import {
	const char *db_path;
	int seconds;
	struct csv csv;		/* the file; the roster's rows point into it */
	struct roster ro;
	struct demodb *db;
	struct timespec start;
};

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
			handler_fail_input("usage: import [--db PATH] < job.json");
	}
	return db;
}

/* Reads and checks all the file into the roster; exits at the first problem. */
static void
load_csv(struct import *imp, const char *path)
{
	struct csv *c = &imp->csv;
	char *field[NCOLS];
	size_t next = 0;
	long line = 1;
	int n;

	handler_progress(0, "checking line 1");
	csv_open(c, path);
	n = csv_record(c, field, NCOLS, &line);
	roster_check_header(field, n, line);
	while ((n = csv_record(c, field, NCOLS, &line)) > 0) {
		roster_add(&imp->ro, field, n, line);
		if (c->pos >= next) {
			handler_progress((int)(5.0 * c->pos / c->len),
			    "checking line %ld", line);
			next = c->pos + c->len / 50 + 1;
		}
	}
	if (imp->ro.nrows == 0)
		csv_fail(c->line, "no employees after the header line");
	handler_progress(5, "checked %ld employees", imp->ro.nrows);
}

/* The database is locked by another import's step: say so in the log. */
static void
on_wait(void)
{
	handler_log("waiting for the database: another import is writing to it");
}

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

	handler_progress((int)(5 + 95.0 * (k + frac) / DEMODB_NSTEPS),
	    "%s: %ld of %ld", demodb_step(k)->noun, done, n);
}

/* Each step gets an equal share of the paced time: waits for item done. */
static void
pace(const struct import *imp, int k, long done, long n)
{
	if (imp->seconds > 0)
		sleep_until(imp, imp->seconds * (k + (n > 0 ? (double)done / n :
		    1.0)) / DEMODB_NSTEPS);
}

/* Runs step k in one transaction, reporting about 100 times. */
static void
run_step(struct import *imp, int k)
{
	const struct demodb_step *s = demodb_step(k);
	long i, n, every;

	handler_step(s->id, s->label);
	n = demodb_begin(imp->db, k);
	every = n / 100 + 1;
	report(k, 0, n);
	for (i = 0; i < n; i++) {
		demodb_item(imp->db, i);
		if ((i + 1) % every == 0 || i + 1 == n)
			report(k, i + 1, n);
		pace(imp, k, i + 1, n);
	}
	if (n == 0)
		pace(imp, k, 1, 1);
	demodb_commit(imp->db);
}

/* Prints the result line: what the file contained, built with json-c. */
static void
print_result(const struct import *imp)
{
	const struct roster *ro = &imp->ro;
	struct json_object *res, *sum;

	sum = json_object_new_object();
	json_object_object_add(sum, "areas", json_object_new_int64(ro->areas.count));
	json_object_object_add(sum, "departments",
	    json_object_new_int64(ro->departments.count));
	json_object_object_add(sum, "designations",
	    json_object_new_int64(ro->designations.count));
	json_object_object_add(sum, "employees", json_object_new_int64(ro->nrows));
	json_object_object_add(sum, "schedules",
	    json_object_new_int64(ro->nschedules));
	json_object_object_add(sum, "drivers", json_object_new_int64(ro->ndrivers));
	json_object_object_add(sum, "car_assignments",
	    json_object_new_int64(ro->ncars));
	res = json_object_new_object();
	json_object_object_add(res, "summary", sum);	/* res owns sum now */
	json_object_object_add(res, "rows", json_object_new_int64(ro->nrows));
	handler_result(res);
	json_object_put(res);
}

/* Checks the whole CSV, then imports it in the seven steps. */
int
main(int argc, char **argv)
{
	struct import imp;
	const char *csv_path;
	int k;

	memset(&imp, 0, sizeof imp);
	imp.db_path = parse_args(argc, argv);
	handler_init();
	imp.seconds = handler_field_int("seconds", 0, 0, 3600);
	csv_path = handler_upload_path("csv");
	if (csv_path == NULL)
		handler_fail_input("no CSV file was uploaded (field csv)");
	load_csv(&imp, csv_path);
	imp.db = demodb_open(imp.db_path, &imp.ro, on_wait);
	clock_gettime(CLOCK_MONOTONIC, &imp.start);
	for (k = 0; k < DEMODB_NSTEPS; k++)
		run_step(&imp, k);
	demodb_close(imp.db);
	print_result(&imp);
	roster_free(&imp.ro);
	csv_close(&imp.csv);
	return handler_end();
}
