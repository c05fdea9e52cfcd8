/*
 * roster: the employee records of the import handler's CSV, checked.
 *
 * The file's header must be exactly
 *
 *     employee_id,name,area,department,designation,schedule,driver,car
 *
 * and each row is one employee: a unique employee_id from 1 to 2147483647;
 * a name, area, department (within its area) and designation, each 1 to
 * 200 bytes without control characters; a schedule such as
 * "Mon-Fri 09:00-17:00" or "Mon,Wed,Sat-Sun 22:00-06:00" (an end before
 * the start means the shift ends the next day); driver yes or no; and the
 * plate of the driver's car, or nothing.  Values are trimmed of spaces and
 * tabs.  The first problem ends the program with "line N: what is wrong"
 * (csv_fail), N being the physical line where the bad value starts.
 *
 * The roster keeps each distinct area, department and designation once
 * (struct names), so the database steps store each once.
 *
 * Ownership: a row's fields point into the CSV reader's buffer, which must
 * outlive the roster; roster_free frees what the roster allocated.
 */
#ifndef LONGJOB_ROSTER_H
#define LONGJOB_ROSTER_H

#include <stddef.h>
#include <stdint.h>

enum column {
	COL_ID, COL_NAME, COL_AREA, COL_DEPARTMENT, COL_DESIGNATION,
	COL_SCHEDULE, COL_DRIVER, COL_CAR, NCOLS
};

/* One employee: its fields point into the file's buffer. */
struct row {
	char *field[NCOLS];
	long line;		/* physical line where the row starts */
	int64_t id;
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
	int64_t *id;		/* filled by the step that stores them */
	long count, cap;
};

/* The employee ids seen so far and the line of each. */
struct idset {
	int64_t *id;
	long *line;		/* 0 = free slot */
	size_t nslots;
	long count;
};

/* Every employee of the file and what the database steps need of them. */
struct roster {
	struct row *rows;
	long nrows, rows_cap;
	struct names areas, departments, designations;
	struct idset ids;
	long nschedules, ndrivers, ncars;	/* rows each step will write */
};

/* Checks the header record of n fields (on line): exactly the expected columns. */
void roster_check_header(char **field, int n, long line);
/* Checks one data record of n fields starting on line and adds it. */
void roster_add(struct roster *ro, char **field, int n, long line);
/* Frees what the roster allocated (not the fields' text); zeroes it. */
void roster_free(struct roster *ro);

#endif
