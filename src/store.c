/*
 * store: the SQLite database shared by submit, the worker, progress, result
 * and the command line.  See store.h for the design of events and states.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "xmem.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_BUSY_MS 10000

/* From schema version 1: the client that submitted a job (max_jobs_per_client). */
static const char *store_upgrade_1 =
    "ALTER TABLE jobs ADD COLUMN client TEXT;"
    "CREATE INDEX jobs_client ON jobs(client, state);";

static const char *store_schema =
    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('queued','running','succeeded','failed','cancelled')),"
    " progress REAL NOT NULL DEFAULT 0,"
    " step TEXT,"
    " message TEXT NOT NULL DEFAULT '',"
    " eta_s REAL NOT NULL DEFAULT -1,"
    " created REAL NOT NULL,"
    " started REAL NOT NULL DEFAULT 0,"
    " heartbeat REAL NOT NULL DEFAULT 0,"
    " finished REAL NOT NULL DEFAULT 0,"
    " worker_pid INTEGER NOT NULL DEFAULT 0,"
    " params TEXT NOT NULL,"
    " steps TEXT NOT NULL DEFAULT '[]',"
    " result TEXT,"
    " error TEXT,"
    " client TEXT);"
    "CREATE INDEX jobs_state ON jobs(state);"
    "CREATE INDEX jobs_client ON jobs(client, state);"
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " job_id TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " t REAL NOT NULL);"
    "CREATE INDEX events_job ON events(job_id, seq);"
    "CREATE TABLE artifacts ("
    " job_id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " content_type TEXT NOT NULL,"
    " PRIMARY KEY (job_id, name));";

/* Every statement the store runs, prepared once on first use. */
enum store_sql {
	SQL_BEGIN, SQL_BEGIN_IMMEDIATE, SQL_COMMIT, SQL_ROLLBACK,
	SQL_COUNT_STATE, SQL_INSERT_JOB, SQL_GET_JOB, SQL_JOB_MAX_SEQ,
	SQL_QUEUE_POS, SQL_CHANGE, SQL_INSERT_EVENT, SQL_RUNNING,
	SQL_OLDEST_QUEUED, SQL_CLAIM, SQL_LOST, SQL_LIST, SQL_JOB_EVENTS,
	SQL_EVENTS_AFTER, SQL_MAX_SEQ, SQL_DATA_VERSION, SQL_ARTIFACT_ADD,
	SQL_ARTIFACT_GET, SQL_CANCEL, SQL_GC_LIST, SQL_GC_EVENTS, SQL_GC_ARTIFACTS,
	SQL_GC_JOB, SQL_UNSTARTABLE, SQL_CLIENT_JOBS, SQL_COUNT
};

static const char *store_sql_text[SQL_COUNT] = {
	[SQL_BEGIN] = "BEGIN",
	[SQL_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_COUNT_STATE] = "SELECT count(*) FROM jobs WHERE state = ?1",
	[SQL_INSERT_JOB] = "INSERT INTO jobs (id, type, state, created, params, steps, client)"
	    " VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6)",
	[SQL_CLIENT_JOBS] = "SELECT count(*) FROM jobs WHERE client = ?1"
	    " AND state IN ('queued', 'running')",
	[SQL_GET_JOB] = "SELECT id, type, state, progress, step, message, eta_s,"
	    " created, started, heartbeat, finished, worker_pid, params, steps,"
	    " result, error FROM jobs WHERE id = ?1",
	[SQL_JOB_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events WHERE job_id = ?1",
	[SQL_QUEUE_POS] = "SELECT count(*) FROM jobs WHERE state = 'queued'"
	    " AND rowid <= (SELECT rowid FROM jobs WHERE id = ?1)",
	[SQL_CHANGE] = "UPDATE jobs SET state = coalesce(?1, state),"
	    " progress = coalesce(?2, progress), message = coalesce(?3, message),"
	    " step = coalesce(?4, step), eta_s = coalesce(?5, eta_s),"
	    " steps = coalesce(?6, steps), result = coalesce(?7, result),"
	    " error = coalesce(?8, error),"
	    " started = CASE WHEN ?9 THEN ?12 ELSE started END,"
	    " finished = CASE WHEN ?10 THEN ?12 ELSE finished END,"
	    " heartbeat = CASE WHEN ?11 THEN ?12 ELSE heartbeat END"
	    " WHERE id = ?13 AND state IN ('queued', 'running')",
	[SQL_INSERT_EVENT] = "INSERT INTO events (job_id, kind, data, t)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[SQL_RUNNING] = "SELECT id, worker_pid, heartbeat FROM jobs"
	    " WHERE state = 'running'",
	[SQL_OLDEST_QUEUED] = "SELECT id FROM jobs WHERE state = 'queued'"
	    " ORDER BY rowid LIMIT 1",
	[SQL_CLAIM] = "UPDATE jobs SET state = 'running', started = ?2,"
	    " heartbeat = ?2, worker_pid = ?3 WHERE id = ?1 AND state = 'queued'",
	[SQL_LOST] = "UPDATE jobs SET state = 'failed', error = ?2, finished = ?3"
	    " WHERE id = ?1 AND state = 'running'",
	[SQL_LIST] = "SELECT id, type, state, progress, step, message, eta_s,"
	    " created, started, heartbeat, finished, worker_pid, params, steps,"
	    " result, error FROM jobs ORDER BY rowid DESC LIMIT ?1",
	[SQL_JOB_EVENTS] = "SELECT seq, job_id, kind, data FROM events"
	    " WHERE job_id = ?1 AND seq > ?2 ORDER BY seq",
	[SQL_EVENTS_AFTER] = "SELECT seq, job_id, kind, data FROM events"
	    " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[SQL_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
	[SQL_DATA_VERSION] = "PRAGMA data_version",
	[SQL_ARTIFACT_ADD] = "INSERT OR REPLACE INTO artifacts (job_id, name,"
	    " content_type) VALUES (?1, ?2, ?3)",
	[SQL_ARTIFACT_GET] = "SELECT content_type FROM artifacts"
	    " WHERE job_id = ?1 AND name = ?2",
	[SQL_CANCEL] = "UPDATE jobs SET state = 'cancelled', finished = ?2"
	    " WHERE id = ?1 AND state IN ('queued', 'running')",
	[SQL_GC_LIST] = "SELECT id FROM jobs WHERE state IN"
	    " ('succeeded', 'failed', 'cancelled') AND finished < ?1 LIMIT 256",
	[SQL_GC_EVENTS] = "DELETE FROM events WHERE job_id = ?1",
	[SQL_GC_ARTIFACTS] = "DELETE FROM artifacts WHERE job_id = ?1",
	[SQL_GC_JOB] = "DELETE FROM jobs WHERE id = ?1",
	[SQL_UNSTARTABLE] = "UPDATE jobs SET state = 'failed', error = ?2, finished = ?3"
	    " WHERE id = ?1 AND state = 'queued'",
};

struct store {
	sqlite3 *db;
	char *path;
	int full;		/* the last failure was the disk being full */
	int busy;		/* the last failure was another writer holding the lock too long */
	int64_t commits;	/* transactions this connection committed */
	sqlite3_stmt *stmt[SQL_COUNT];
};

int
store_full(const struct store *s)
{
	return s->full;
}

int
store_busy(const struct store *s)
{
	return s->busy;
}

double
store_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Logs the database's last error for the named operation. */
static int
store_fail(struct store *s, const char *what)
{
	int code = sqlite3_errcode(s->db);

	/* Noted now: the ROLLBACK that follows resets the connection's error code. */
	s->full = code == SQLITE_FULL ||
	    ((code & 0xff) == SQLITE_IOERR && sqlite3_system_errno(s->db) == ENOSPC);
	s->busy = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
	log_error("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return -1;
}

/* The prepared statement for id, reset and unbound, ready to use. */
static sqlite3_stmt *
store_stmt(struct store *s, enum store_sql id)
{
	sqlite3_stmt *st = s->stmt[id];

	if (st == NULL) {
		if (sqlite3_prepare_v3(s->db, store_sql_text[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
			store_fail(s, store_sql_text[id]);
			return NULL;
		}
		s->stmt[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Runs a statement that returns no rows. */
static int
store_exec(struct store *s, enum store_sql id)
{
	sqlite3_stmt *st = store_stmt(s, id);

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(s, store_sql_text[id]);
	sqlite3_reset(st);
	return 0;
}

/* Ends a transaction: commit if rc is not an error, else roll back. */
static int
store_end(struct store *s, int rc)
{
	if (rc >= 0 && store_exec(s, SQL_COMMIT) == 0) {
		s->commits++;
		return rc;
	}
	if (!sqlite3_get_autocommit(s->db))
		store_exec(s, SQL_ROLLBACK);
	return -1;
}

/* Creates the schema on a new database, refuses one from a newer version. */
static int
store_migrate(struct store *s, char **cause)
{
	sqlite3_stmt *st;
	int version = -1;
	char *err = NULL;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (version < 0 || version > STORE_SCHEMA_VERSION) {
		*cause = xasprintf("%s: schema version %d is not %d (a newer longjob?)",
		    s->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	/* Two first-time openers race here: IMMEDIATE makes one wait, then it sees the schema. */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &err) != SQLITE_OK)
		goto fail_err;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if ((version == 0 && sqlite3_exec(s->db, store_schema, NULL, NULL, &err) != SQLITE_OK) ||
	    (version == 1 && sqlite3_exec(s->db, store_upgrade_1, NULL, NULL, &err) != SQLITE_OK) ||
	    sqlite3_exec(s->db, "PRAGMA user_version = 2", NULL, NULL, &err) != SQLITE_OK)
		goto fail_err;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &err) != SQLITE_OK)
		goto fail_err;
	return 0;
fail_err:
	*cause = xasprintf("%s: creating schema: %s", s->path, err ? err : "?");
	sqlite3_free(err);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
fail:
	*cause = xasprintf("%s: %s", s->path, sqlite3_errmsg(s->db));
	return -1;
}

/*
 * WAL: the progress poller reads while workers write, neither waits.
 * Switching a new database to WAL needs an exclusive lock and fails with
 * SQLITE_BUSY, without the busy handler, while another program opens the
 * same new file (the three backends start together): retry for a while.
 */
static int
store_pragmas(struct store *s, char **err)
{
	int rc, i;

	for (i = 0; i < 100; i++) {
		sqlite3_free(*err);
		*err = NULL;
		rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL;"
		    "PRAGMA synchronous = NORMAL", NULL, NULL, err);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			return rc;
		usleep(50 * 1000);
	}
	return rc;
}

struct store *
store_open(const char *path, char **cause)
{
	struct store *s = xcalloc(1, sizeof *s);
	char *err = NULL;

	s->path = xstrdup(path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*cause = xasprintf("%s: %s", path, s->db ? sqlite3_errmsg(s->db) :
		    "cannot open database");
		store_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (store_pragmas(s, &err) != SQLITE_OK) {
		*cause = xasprintf("%s: %s", path, err ? err : "?");
		sqlite3_free(err);
		store_close(s);
		return NULL;
	}
	if (store_migrate(s, cause) != 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* A copy of a text column, or NULL when it is NULL. */
static char *
store_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? xstrdup((const char *)t) : NULL;
}

/* Fills j from a row of SQL_GET_JOB / SQL_LIST. */
static void
store_row_job(sqlite3_stmt *st, struct job *j)
{
	const unsigned char *id = sqlite3_column_text(st, 0);

	job_clear(j);
	snprintf(j->id, sizeof j->id, "%s", id ? (const char *)id : "");
	j->type = store_text(st, 1);
	j->state = store_text(st, 2);
	j->progress = sqlite3_column_double(st, 3);
	j->step = store_text(st, 4);
	j->message = store_text(st, 5);
	j->eta_s = sqlite3_column_double(st, 6);
	j->created = sqlite3_column_double(st, 7);
	j->started = sqlite3_column_double(st, 8);
	j->heartbeat = sqlite3_column_double(st, 9);
	j->finished = sqlite3_column_double(st, 10);
	j->worker_pid = (long)sqlite3_column_int64(st, 11);
	j->params = store_text(st, 12);
	j->steps = store_text(st, 13);
	j->result = store_text(st, 14);
	j->error = store_text(st, 15);
}

/* Runs a one-row, one-integer query with an optional text parameter. */
static int
store_int_query(struct store *s, enum store_sql id, const char *arg, int64_t *out)
{
	sqlite3_stmt *st = store_stmt(s, id);
	int rc;

	if (st == NULL)
		return -1;
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, store_sql_text[id]);
	*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* Inserts one event row inside the caller's transaction. */
static int
store_add_event(struct store *s, const char *id, const char *kind,
    const char *json, int64_t *seq)
{
	sqlite3_stmt *st = store_stmt(s, SQL_INSERT_EVENT);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, json, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, store_now());
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(s, "insert event");
	sqlite3_reset(st);
	if (seq != NULL)
		*seq = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_job_insert(struct store *s, const char *id, const char *type,
    const char *params, const char *steps, const struct store_admit *admit)
{
	sqlite3_stmt *st;
	int64_t queued, mine = 0;
	int rc = -1;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if (store_int_query(s, SQL_COUNT_STATE, "queued", &queued) != 0)
		goto out;
	if (queued >= admit->max_queued) {
		rc = 1;
		goto out;
	}
	if (admit->client != NULL && admit->max_per_client > 0 &&
	    store_int_query(s, SQL_CLIENT_JOBS, admit->client, &mine) != 0)
		goto out;
	if (admit->client != NULL && admit->max_per_client > 0 && mine >= admit->max_per_client) {
		rc = 2;
		goto out;
	}
	if ((st = store_stmt(s, SQL_INSERT_JOB)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, store_now());
	sqlite3_bind_text(st, 4, params, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, steps, -1, SQLITE_STATIC);
	if (admit->client != NULL)
		sqlite3_bind_text(st, 6, admit->client, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_fail(s, "insert job");
		goto out;
	}
	sqlite3_reset(st);
	rc = 0;
out:
	return store_end(s, rc);
}

/* Reads the job row; 1 if absent. */
static int
store_read_job(struct store *s, const char *id, struct job *j)
{
	sqlite3_stmt *st = store_stmt(s, SQL_GET_JOB);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 1;
	}
	if (rc != SQLITE_ROW)
		return store_fail(s, "read job");
	store_row_job(st, j);
	sqlite3_reset(st);
	return 0;
}

int
store_job_get(struct store *s, const char *id, struct job *j)
{
	return store_read_job(s, id, j);
}

int
store_job_snapshot(struct store *s, const char *id, struct job *j)
{
	int rc;

	/* One read transaction: the row and the max seq describe the same moment. */
	if (store_exec(s, SQL_BEGIN) != 0)
		return -1;
	rc = store_read_job(s, id, j);
	if (rc == 0 && store_int_query(s, SQL_JOB_MAX_SEQ, id, &j->last_seq) != 0)
		rc = -1;
	if (rc == 0 && strcmp(j->state, "queued") == 0 &&
	    store_int_query(s, SQL_QUEUE_POS, id, &j->queue_position) != 0)
		rc = -1;
	return store_end(s, rc);
}

/* Binds a text parameter or NULL. */
static void
store_bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Binds a real parameter, NAN meaning NULL. */
static void
store_bind_real(sqlite3_stmt *st, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_double(st, i, v);
}

int
store_job_change(struct store *s, const char *id, const struct job_change *c,
    int64_t *seq)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if ((st = store_stmt(s, SQL_CHANGE)) == NULL)
		goto out;
	store_bind_opt(st, 1, c->state);
	store_bind_real(st, 2, c->progress);
	store_bind_opt(st, 3, c->message);
	store_bind_opt(st, 4, c->step);
	store_bind_real(st, 5, c->eta_s);
	store_bind_opt(st, 6, c->steps);
	store_bind_opt(st, 7, c->result);
	store_bind_opt(st, 8, c->error);
	sqlite3_bind_int(st, 9, c->started);
	sqlite3_bind_int(st, 10, c->finished);
	sqlite3_bind_int(st, 11, c->heartbeat);
	sqlite3_bind_double(st, 12, store_now());
	sqlite3_bind_text(st, 13, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_fail(s, "change job");
		goto out;
	}
	sqlite3_reset(st);
	/* No row changed: the job has already ended (cancelled, reaped); write nothing. */
	if (sqlite3_changes(s->db) == 0) {
		rc = 1;
		goto out;
	}
	rc = 0;
	if (c->event_kind != NULL &&
	    store_add_event(s, id, c->event_kind, c->event_json, seq) != 0)
		rc = -1;
out:
	if (rc == 1) {
		store_exec(s, SQL_ROLLBACK);
		return 1;
	}
	return store_end(s, rc);
}

/* 1 if the worker of a running job is gone: its pid is dead or it went silent. */
static int
store_worker_gone(long pid, double heartbeat, double now, double stale_s)
{
	if (pid > 0 && !proc_alive((pid_t)pid))
		return 1;
	return heartbeat > 0 && now - heartbeat > stale_s;
}

/* Fails one lost job inside the caller's transaction. */
static int
store_fail_lost(struct store *s, const char *id, double now)
{
	static const char *msg = "worker lost";
	sqlite3_stmt *st = store_stmt(s, SQL_LOST);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, msg, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(s, "fail lost job");
	sqlite3_reset(st);
	log_warn("job %s: worker lost", id);
	return store_add_event(s, id, "end",
	    "{\"state\":\"failed\",\"error\":\"worker lost\"}", NULL);
}

/* Finds and fails lost jobs inside the caller's IMMEDIATE transaction. */
static int
store_reap_in_txn(struct store *s, double stale_s)
{
	char ids[64][JOBID_LEN + 1];
	sqlite3_stmt *st = store_stmt(s, SQL_RUNNING);
	double now = store_now();
	int n = 0, i, rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 64) {
		const unsigned char *id = sqlite3_column_text(st, 0);

		if (store_worker_gone((long)sqlite3_column_int64(st, 1),
		    sqlite3_column_double(st, 2), now, stale_s))
			snprintf(ids[n++], sizeof ids[0], "%s", id ? (const char *)id : "");
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "list running jobs");
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		if (store_fail_lost(s, ids[i], now) != 0)
			return -1;
	}
	return n;
}

/* 1 if some running job's worker is gone (a read: no lock is taken). */
static int
store_any_lost(struct store *s, double stale_s)
{
	sqlite3_stmt *st = store_stmt(s, SQL_RUNNING);
	double now = store_now();
	int lost = 0;

	if (st == NULL)
		return -1;
	while (!lost && sqlite3_step(st) == SQLITE_ROW)
		lost = store_worker_gone((long)sqlite3_column_int64(st, 1),
		    sqlite3_column_double(st, 2), now, stale_s);
	sqlite3_reset(st);
	return lost;
}

int
store_reap_lost(struct store *s, double stale_s)
{
	int rc = store_any_lost(s, stale_s);

	/* The progress and result programs call this often: write only when needed. */
	if (rc <= 0)
		return rc;
	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	return store_end(s, store_reap_in_txn(s, stale_s));
}

int
store_job_claim(struct store *s, int max_running, pid_t pid, double stale_s,
    char out[JOBID_LEN + 1])
{
	sqlite3_stmt *st;
	int64_t running;
	int rc = -1;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if (store_reap_in_txn(s, stale_s) < 0 ||
	    store_int_query(s, SQL_COUNT_STATE, "running", &running) != 0)
		goto out;
	rc = 0;
	if (running >= max_running)
		goto out;
	if ((st = store_stmt(s, SQL_OLDEST_QUEUED)) == NULL) {
		rc = -1;
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		goto out;
	}
	snprintf(out, JOBID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if ((st = store_stmt(s, SQL_CLAIM)) == NULL) {
		rc = -1;
		goto out;
	}
	sqlite3_bind_text(st, 1, out, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, store_now());
	sqlite3_bind_int64(st, 3, pid);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_fail(s, "claim job");
		goto out;
	}
	sqlite3_reset(st);
	rc = 1;
out:
	return store_end(s, rc);
}

int
store_job_list(struct store *s, int limit, store_job_cb cb, void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, SQL_LIST);
	struct job j;
	int rc;

	if (st == NULL)
		return -1;
	job_init(&j);
	sqlite3_bind_int(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_row_job(st, &j);
		cb(ctx, &j);
	}
	job_clear(&j);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "list jobs");
}

/* Steps through event rows calling cb; stops early if cb asks to. */
static int
store_each_event(struct store *s, sqlite3_stmt *st, store_event_cb cb, void *ctx)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb(ctx, sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "read events");
	sqlite3_reset(st);
	return 0;
}

int
store_job_events(struct store *s, const char *id, int64_t after,
    store_event_cb cb, void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, SQL_JOB_EVENTS);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	return store_each_event(s, st, cb, ctx);
}

/* Events of all jobs with seq > after, in order, at most limit rows. */
static int
store_events_after(struct store *s, int64_t after, int limit,
    store_event_cb cb, void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, SQL_EVENTS_AFTER);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	return store_each_event(s, st, cb, ctx);
}

/* The largest seq so far (0 when empty). */
static int
store_max_seq(struct store *s, int64_t *seq)
{
	return store_int_query(s, SQL_MAX_SEQ, NULL, seq);
}

/*
 * data_version only changes for other connections' commits, so a process
 * that reaped a lost worker itself would never read its own `end` and its
 * streams would hang: its own commits are counted in too.  Both numbers
 * only grow, so their sum changes whenever either does.
 */
int
store_version(struct store *s, int64_t *v)
{
	if (store_int_query(s, SQL_DATA_VERSION, NULL, v) != 0)
		return -1;
	*v += s->commits;
	return 0;
}

int
store_artifact_add(struct store *s, const char *id, const char *name,
    const char *ctype)
{
	sqlite3_stmt *st = store_stmt(s, SQL_ARTIFACT_ADD);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ctype, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(s, "add artifact");
	sqlite3_reset(st);
	return 0;
}

int
store_artifact_get(struct store *s, const char *id, const char *name,
    char **ctype)
{
	sqlite3_stmt *st = store_stmt(s, SQL_ARTIFACT_GET);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 1;
	}
	if (rc != SQLITE_ROW)
		return store_fail(s, "read artifact");
	*ctype = store_text(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
store_cursor_end(struct store *s, struct store_cursor *c)
{
	/* -1 is never a version: the next read will look. */
	c->version = -1;
	return store_max_seq(s, &c->seq);
}

/* A read in progress: the caller's callback and the rows seen. */
struct store_cursor_read {
	struct store_cursor *c;
	store_event_cb cb;
	void *ctx;
	int rows;
};

/* Moves the cursor past each row before handing it on. */
static int
store_cursor_row(void *ctx, int64_t seq, const char *job_id, const char *kind,
    const char *json)
{
	struct store_cursor_read *r = ctx;

	r->c->seq = seq;
	r->rows++;
	return r->cb(r->ctx, seq, job_id, kind, json);
}

int
store_cursor_read(struct store *s, struct store_cursor *c, store_event_cb cb,
    void *ctx)
{
	struct store_cursor_read r = { c, cb, ctx, 0 };
	int64_t version;

	if (store_version(s, &version) != 0)
		return -1;
	if (version == c->version)
		return 0;
	c->version = version;
	/* In batches, so one burst of events never means one huge result. */
	do {
		r.rows = 0;
		if (store_events_after(s, c->seq, 1000, store_cursor_row, &r) != 0)
			return -1;
	} while (r.rows == 1000);
	return 0;
}

int
store_job_cancel(struct store *s, const char *id, long *pid)
{
	sqlite3_stmt *st;
	struct job j;
	int rc;

	*pid = 0;
	job_init(&j);
	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	rc = store_read_job(s, id, &j);
	if (rc == 1)
		rc = 2;
	else if (rc == 0 && strcmp(j.state, "queued") != 0 && strcmp(j.state, "running") != 0)
		rc = 1;
	else if (rc == 0) {
		if ((st = store_stmt(s, SQL_CANCEL)) == NULL)
			rc = -1;
		else {
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 2, store_now());
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = store_fail(s, "cancel job");
			sqlite3_reset(st);
		}
		if (rc == 0 && store_add_event(s, id, "end", "{\"state\":\"cancelled\"}", NULL) != 0)
			rc = -1;
		if (rc == 0 && strcmp(j.state, "running") == 0)
			*pid = j.worker_pid;
	}
	job_clear(&j);
	/* 1 and 2 wrote nothing: commit is as good as rollback. */
	return store_end(s, rc);
}

int
store_job_unstartable(struct store *s, const char *id, const char *error,
    const char *end_json)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if ((st = store_stmt(s, SQL_UNSTARTABLE)) == NULL)
		return store_end(s, -1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, store_now());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(s, "fail unstartable job");
	sqlite3_reset(st);
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		rc = 1;
	if (rc == 0)
		rc = store_add_event(s, id, "end", end_json, NULL);
	return store_end(s, rc);
}

/* Deletes one job's rows inside the caller's transaction. */
static int
store_gc_job(struct store *s, const char *id)
{
	static const enum store_sql sql[] = { SQL_GC_EVENTS, SQL_GC_ARTIFACTS, SQL_GC_JOB };
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		if ((st = store_stmt(s, sql[i])) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_fail(s, "delete job");
		sqlite3_reset(st);
	}
	return 0;
}

/*
 * Whether any job is past retention: a read, so that the usual answer
 * (nothing) takes no write lock.  Every worker asks as it exits, and a
 * thousand of them exiting together must not queue for the lock for nothing.
 */
static int
store_gc_due(struct store *s, double before)
{
	sqlite3_stmt *st = store_stmt(s, SQL_GC_LIST);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_double(st, 1, before);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_fail(s, "gc list");
}

/* One batch of store_gc: up to 256 jobs in one transaction; how many, or -1. */
static int
store_gc_batch(struct store *s, double before, void (*cb)(void *, const char *),
    void *ctx)
{
	char ids[256][JOBID_LEN + 1];
	sqlite3_stmt *st;
	int n = 0, i, rc = 0;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if ((st = store_stmt(s, SQL_GC_LIST)) == NULL)
		return store_end(s, -1);
	sqlite3_bind_double(st, 1, before);
	while (n < 256 && sqlite3_step(st) == SQLITE_ROW)
		snprintf(ids[n++], sizeof ids[0], "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	for (i = 0; i < n && rc == 0; i++)
		rc = store_gc_job(s, ids[i]);
	if (store_end(s, rc == 0 ? n : -1) < 0)
		return -1;
	/* Files go once their rows are gone for good, never before. */
	for (i = 0; i < n; i++)
		cb(ctx, ids[i]);
	return n;
}

int
store_gc(struct store *s, double before, void (*cb)(void *, const char *), void *ctx)
{
	int n, total = 0;

	while ((n = store_gc_due(s, before)) > 0 &&
	    (n = store_gc_batch(s, before, cb, ctx)) > 0)
		total += n;
	return n < 0 ? -1 : total;
}
