/*
 * Unit tests of what is SQLite's own in the store (store_sqlite.c): WAL
 * mode and the schema version, refusing a newer schema, upgrading an old
 * one, a second connection holding the write lock, the wake file's
 * owner and mode, and progress updates written as their events alone
 * (store.h, "Rows that wait").  What every backend must do is in test_store.c.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "store.h"
#include "tap.h"

static char dbpath[256];

/* Removes a database and the files beside it. */
static void
unlink_db(const char *path)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-wake" };
	char file[300];
	size_t i;

	for (i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		snprintf(file, sizeof file, "%s%s", path, ext[i]);
		unlink(file);
	}
}

/* A fresh database opens in WAL mode with the schema version set. */
static struct store *
test_open(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *cause = NULL;
	struct store *s;

	snprintf(dbpath, sizeof dbpath, "%s/longjob-test-%ld.db",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
	unlink_db(dbpath);
	s = store_open(dbpath, &cause);
	ok(s != NULL, "store opens");
	sqlite3_open(dbpath, &db);
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	sqlite3_step(st);
	is_str((const char *)sqlite3_column_text(st, 0), "wal", "journal mode is WAL");
	sqlite3_finalize(st);
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	sqlite3_step(st);
	is_int(sqlite3_column_int(st, 0), 5, "user_version is 5");
	sqlite3_finalize(st);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	ok(store_open(dbpath, &cause) == NULL && cause != NULL &&
	    strstr(cause, "schema version 99") != NULL, "a newer schema is refused");
	free(cause);
	sqlite3_open(dbpath, &db);
	sqlite3_exec(db, "PRAGMA user_version = 5", NULL, NULL, NULL);
	sqlite3_close(db);
	return s;
}

/* A database of schema version 1 (no client column) is upgraded on open. */
static void
test_upgrade(void)
{
	char path[300], *cause = NULL;
	struct store_admit admit = { 10, "192.0.2.1", 1 };
	struct store *s;
	sqlite3 *db;

	snprintf(path, sizeof path, "%s.v1", dbpath);
	unlink_db(path);
	sqlite3_open(path, &db);
	sqlite3_exec(db, "CREATE TABLE jobs (id TEXT PRIMARY KEY, type TEXT NOT NULL,"
	    " state TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, step TEXT,"
	    " message TEXT NOT NULL DEFAULT '', eta_s REAL NOT NULL DEFAULT -1,"
	    " created REAL NOT NULL, started REAL NOT NULL DEFAULT 0,"
	    " heartbeat REAL NOT NULL DEFAULT 0, finished REAL NOT NULL DEFAULT 0,"
	    " worker_pid INTEGER NOT NULL DEFAULT 0, params TEXT NOT NULL,"
	    " steps TEXT NOT NULL DEFAULT '[]', result TEXT, error TEXT);"
	    "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,"
	    " kind TEXT NOT NULL, data TEXT NOT NULL, t REAL NOT NULL);"
	    "CREATE TABLE artifacts (job_id TEXT NOT NULL, name TEXT NOT NULL,"
	    " content_type TEXT NOT NULL, PRIMARY KEY (job_id, name));"
	    "INSERT INTO jobs (id, type, state, created, params) VALUES"
	    " ('eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', 't', 'queued', 1, '{}');"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL);
	sqlite3_close(db);
	s = store_open(path, &cause);
	ok(s != NULL, "a version 1 database opens");
	is_int(s ? store_job_insert(s, "ffffffffffffffffffffffffffffffff", "t", "{}", "[]", &admit) : -1,
	    0, "and takes a job with its client: upgraded");
	{
		struct store_worker w = { "host", 1, 1, 1, 0, 0, 0 };
		struct job j;

		job_init(&j);
		is_int(s ? store_job_get(s, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", &j) : -1, 0,
		    "its old job reads");
		ok(j.out_offset == 0 && j.keeper_pid == 0, "with the version 3 columns at 0");
		job_clear(&j);
		is_int(s ? store_worker_beat(s, &w) : -1, 0, "and it has the workers table");
	}
	store_close(s);
	free(cause);
	unlink_db(path);
}

/* Another connection holding the write lock makes writers wait, not fail. */
static void
test_busy(struct store *s)
{
	const char *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	struct job_change c;
	sqlite3 *db;
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		sqlite3_open(dbpath, &db);
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		usleep(1500 * 1000);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	usleep(300 * 1000);	/* let the child take the lock first */
	job_change_init(&c);
	c.progress = 7;
	c.event_kind = "progress";
	c.event_json = "{\"progress\":7}";
	is_int(store_job_change(s, b, &c, NULL), 0, "a write while another holds the lock waits and succeeds");
	waitpid(pid, &status, 0);
}

/* The wake file, made by the store, has the database's owner and mode. */
/* What the job's row itself holds, straight from the database: "progress|offset|state". */
static void
raw_row(const char *id, char *out, size_t n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[200];

	snprintf(out, n, "none");
	snprintf(sql, sizeof sql, "SELECT progress || '|' || out_offset || '|' || state"
	    " FROM jobs WHERE id = '%s'", id);
	sqlite3_open(dbpath, &db);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Commits one progress update of job id at offset off, its row allowed to wait. */
static int
waiting_progress(struct store *s, const char *id, int pct, int64_t off, int logs)
{
	struct job_change c;
	char json[100], msg[20];

	snprintf(msg, sizeof msg, "at %d", pct);
	snprintf(json, sizeof json, "{\"progress\":%d,\"message\":\"%s\",\"step\":null,"
	    "\"eta_s\":7}", pct, msg);
	job_change_init(&c);
	c.progress = pct;
	c.message = msg;
	c.eta_s = 7;
	c.event_kind = "progress";
	c.event_json = json;
	c.out_offset = off;
	c.out_skip = 0;
	c.log_count = logs;
	c.defer_row = 1;
	if (store_batch_begin(s) != 0 || store_batch_change(s, id, &c) != 0)
		return -1;
	return store_batch_commit(s, NULL, NULL);
}

/* Progress updates that leave the row alone, read back as if they had written it. */
static void
test_rows_wait(struct store *s)
{
	const char *id = "cccccccccccccccccccccccccccccccc";
	struct store_admit any = { 10, NULL, 0 };
	struct job_change c;
	struct job j;
	char raw[100];
	long keeper;
	int64_t start;

	store_job_insert(s, id, "t", "{}", "[]", &any);
	job_change_init(&c);
	c.state = "running";
	c.progress = 10;
	c.message = "ten";
	c.out_offset = 100;
	c.log_count = 0;
	is_int(store_job_change(s, id, &c, NULL), 0, "a running job at 10 %, offset 100");
	is_int(waiting_progress(s, id, 20, 200, 0), 0, "a progress update whose row may wait");
	raw_row(id, raw, sizeof raw);
	is_str(raw, "10.0|100|running", "the row itself is left as it was");
	job_init(&j);
	is_int(store_job_get(s, id, &j), 0, "the job reads");
	ok(j.progress == 20 && j.eta_s == 7 && j.out_offset == 200 && j.out_skip == 0,
	    "with the update's progress, ETA and offset");
	is_str(j.message, "at 20", "and its message");
	job_clear(&j);
	is_int(waiting_progress(s, id, 30, 300, 1), 0, "an update whose log count moved");
	raw_row(id, raw, sizeof raw);
	is_str(raw, "30.0|300|running", "writes the row: the count is not in the event");
	is_int(waiting_progress(s, id, 40, 400, 1), 0, "another that may wait");
	raw_row(id, raw, sizeof raw);
	is_str(raw, "30.0|300|running", "waits");
	is_int(store_job_cancel(s, id, &keeper, &start), 0, "the job is cancelled");
	raw_row(id, raw, sizeof raw);
	is_str(raw, "40.0|400|cancelled", "and its row took in the waiting update first");
	job_init(&j);
	ok(store_job_get(s, id, &j) == 0 && j.progress == 40 && strcmp(j.state, "cancelled") == 0,
	    "it reads cancelled at 40 %");
	job_clear(&j);
	is_int(waiting_progress(s, id, 50, 500, 1), 0, "an update after the cancel");
	raw_row(id, raw, sizeof raw);
	is_str(raw, "40.0|400|cancelled", "writes nothing");
}

static void
test_wake_file(void)
{
	char path[300];
	struct stat db, wf;

	snprintf(path, sizeof path, "%s-wake", dbpath);
	ok(stat(dbpath, &db) == 0 && stat(path, &wf) == 0 &&
	    (wf.st_mode & 0777) == (db.st_mode & 0666) && wf.st_uid == db.st_uid,
	    "the wake file has the database's owner and mode");
}

int
main(void)
{
	struct store *s = test_open();
	struct store_admit any = { 10, NULL, 0 };

	is_int(store_job_insert(s, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "t", "{}", "[]", &any), 0,
	    "a job to change");
	test_busy(s);
	test_rows_wait(s);
	test_wake_file();
	test_upgrade();
	store_close(s);
	unlink_db(dbpath);
	return tap_done();
}
