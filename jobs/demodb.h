/*
 * demodb: the import handler's demo database, written in seven steps.
 *
 * The schema: areas, departments (of an area), designations, employees,
 * schedules (a row per working day), drivers, cars and car_assignments.
 * The roster is stored one step at a time: each step is one transaction
 * of upserts with prepared statements, so importing the same file again
 * changes nothing, and a file that changes an employee updates that
 * employee (their schedule, driver and car rows are replaced); employees
 * absent from the file are kept.  A step that fails rolls back, a step
 * cancelled (the process killed) is rolled back by SQLite; earlier steps
 * stay.
 *
 *     db = demodb_open(path, &roster, on_wait);
 *     for (k = 0; k < DEMODB_NSTEPS; k++) {
 *         n = demodb_begin(db, k);
 *         for (i = 0; i < n; i++)
 *             demodb_item(db, i);
 *         demodb_commit(db);
 *     }
 *     demodb_close(db);
 *
 * Errors: a database failure ends the program, as handler_fail does:
 * "database PATH: STEP: what: SQLite's message" on stderr, exit status 1.
 *
 * Ownership: the roster is borrowed and must outlive the database handle
 * (its names get the ids they were stored with); demodb_close frees the handle.
 */
#ifndef LONGJOB_DEMODB_H
#define LONGJOB_DEMODB_H

#include "roster.h"

#define DEMODB_NSTEPS 7

/* What the protocol shows of a step. */
struct demodb_step {
	const char *id;		/* as declared in the job type's steps */
	const char *label;
	const char *noun;	/* in progress messages: "<noun>: 10 of 20" */
};

struct demodb;

/* Step k (0 <= k < DEMODB_NSTEPS), in the order they run. */
const struct demodb_step *demodb_step(int k);
/* Opens (creating if needed) the database and its schema; on_wait is called when another writer holds it. */
struct demodb *demodb_open(const char *path, struct roster *ro,
    void (*on_wait)(void));
/* Starts step k: prepares its statements, begins its transaction; its number of items. */
long demodb_begin(struct demodb *db, int k);
/* Stores item i of the current step. */
void demodb_item(struct demodb *db, long i);
/* Commits the current step. */
void demodb_commit(struct demodb *db);
/* Closes the database and frees the handle. */
void demodb_close(struct demodb *db);

#endif
