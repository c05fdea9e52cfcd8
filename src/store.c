/*
 * store: the SQLite database shared by submit, the worker, progress, result
 * and the command line.  See store.h for the design of events and states.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "store.h"
#include "xmem.h"

#define STORE_SCHEMA_VERSION 3
#define STORE_BUSY_MS 10000

/* From schema version 1: the client that submitted a job (max_jobs_per_client). */
static const char *store_upgrade_1 =
    "ALTER TABLE jobs ADD COLUMN client TEXT;"
    "CREATE INDEX jobs_client ON jobs(client, state);";

/*
 * From schema version 2: one worker per host.  Where a job's output has
 * been read to (out_*), the counts that bound what it shows (log_*,
 * steps_refused), its pending result (out_result: shown only once it ends),
 * its keeper (pid and start time, so that a successor can tell it from a
 * stranger that reused the pid), and the workers' own liveness.
 */
static const char *store_upgrade_2 =
    "ALTER TABLE jobs ADD COLUMN out_offset INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN out_skip INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN out_result TEXT;"
    "ALTER TABLE jobs ADD COLUMN log_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN log_dropped INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN steps_refused INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN keeper_pid INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN keeper_start INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX jobs_finished ON jobs(finished);"
    "CREATE TABLE workers ("
    " host TEXT PRIMARY KEY,"
    " pid INTEGER NOT NULL,"
    " started REAL NOT NULL,"
    " beat REAL NOT NULL,"
    " running INTEGER NOT NULL DEFAULT 0,"
    " commits INTEGER NOT NULL DEFAULT 0,"
    " last_commit REAL NOT NULL DEFAULT 0);";

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
    " client TEXT,"
    " out_offset INTEGER NOT NULL DEFAULT 0,"
    " out_skip INTEGER NOT NULL DEFAULT 0,"
    " out_result TEXT,"
    " log_count INTEGER NOT NULL DEFAULT 0,"
    " log_dropped INTEGER NOT NULL DEFAULT 0,"
    " steps_refused INTEGER NOT NULL DEFAULT 0,"
    " keeper_pid INTEGER NOT NULL DEFAULT 0,"
    " keeper_start INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_state ON jobs(state);"
    "CREATE INDEX jobs_client ON jobs(client, state);"
    "CREATE INDEX jobs_finished ON jobs(finished);"
    "CREATE TABLE workers ("
    " host TEXT PRIMARY KEY,"
    " pid INTEGER NOT NULL,"
    " started REAL NOT NULL,"
    " beat REAL NOT NULL,"
    " running INTEGER NOT NULL DEFAULT 0,"
    " commits INTEGER NOT NULL DEFAULT 0,"
    " last_commit REAL NOT NULL DEFAULT 0);"
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
	SQL_QUEUE_POS, SQL_CHANGE, SQL_INSERT_EVENT, SQL_RUNNING, SQL_RUNNING_JOBS,
	SQL_QUEUED, SQL_CLAIM, SQL_LOST, SQL_LIST, SQL_JOB_EVENTS,
	SQL_EVENTS_AFTER, SQL_MAX_SEQ, SQL_DATA_VERSION, SQL_ARTIFACT_ADD,
	SQL_ARTIFACT_GET, SQL_CANCEL, SQL_GC_LIST, SQL_GC_EVENTS, SQL_GC_ARTIFACTS,
	SQL_GC_JOB, SQL_UNSTARTABLE, SQL_CLIENT_JOBS, SQL_ENDED_SINCE, SQL_PENDING,
	SQL_WORKER_BEAT, SQL_WORKER_GET, SQL_WORKER_END, SQL_ANY_QUEUED, SQL_COUNT
};

/* The columns of a job, in the order store_row_job reads them. */
#define STORE_JOB_COLUMNS "id, type, state, progress, step, message, eta_s," \
	" created, started, heartbeat, finished, worker_pid, params, steps," \
	" result, error, out_offset, out_skip, out_result, log_count, log_dropped," \
	" steps_refused, keeper_pid, keeper_start"

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
	[SQL_GET_JOB] = "SELECT " STORE_JOB_COLUMNS " FROM jobs WHERE id = ?1",
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
	    " heartbeat = CASE WHEN ?11 THEN ?12 ELSE heartbeat END,"
	    " out_offset = coalesce(?14, out_offset), out_skip = coalesce(?15, out_skip),"
	    " out_result = coalesce(?16, out_result), log_count = coalesce(?17, log_count),"
	    " log_dropped = coalesce(?18, log_dropped),"
	    " steps_refused = coalesce(?19, steps_refused),"
	    " keeper_pid = coalesce(?20, keeper_pid), keeper_start = coalesce(?21, keeper_start),"
	    " worker_pid = coalesce(?22, worker_pid)"
	    " WHERE id = ?13 AND state IN ('queued', 'running')",
	[SQL_INSERT_EVENT] = "INSERT INTO events (job_id, kind, data, t)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[SQL_RUNNING] = "SELECT id FROM jobs WHERE state = 'running' LIMIT 256",
	[SQL_RUNNING_JOBS] = "SELECT " STORE_JOB_COLUMNS " FROM jobs"
	    " WHERE state = 'running' ORDER BY rowid",
	[SQL_QUEUED] = "SELECT id, type FROM jobs WHERE state = 'queued'"
	    " ORDER BY rowid LIMIT 64",
	[SQL_CLAIM] = "UPDATE jobs SET state = 'running', started = ?2,"
	    " heartbeat = ?2, worker_pid = ?3 WHERE id = ?1 AND state = 'queued'",
	[SQL_ENDED_SINCE] = "SELECT id, state FROM jobs WHERE finished >= ?1"
	    " AND worker_pid = ?2",
	[SQL_ANY_QUEUED] = "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE state = 'queued' LIMIT 1)",
	[SQL_PENDING] = "SELECT count(*) FROM jobs WHERE state = 'running'"
	    " OR (state = 'queued' AND created < ?1)",
	[SQL_WORKER_BEAT] = "INSERT OR REPLACE INTO workers (host, pid, started, beat,"
	    " running, commits, last_commit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQL_WORKER_GET] = "SELECT host, pid, started, beat, running, commits, last_commit"
	    " FROM workers ORDER BY beat DESC LIMIT 1",
	[SQL_WORKER_END] = "DELETE FROM workers WHERE host = ?1 AND pid = ?2",
	[SQL_LOST] = "UPDATE jobs SET state = 'failed', error = ?2, finished = ?3"
	    " WHERE id = ?1 AND state = 'running'",
	[SQL_LIST] = "SELECT " STORE_JOB_COLUMNS " FROM jobs ORDER BY rowid DESC LIMIT ?1",
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
	int wake_fd;		/* the file commits touch (store_wake_path), or -1 */
	sqlite3_int64 wake_changes;	/* total changes when it was last touched */
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

char *
store_wake_path(const char *db_path)
{
	return xasprintf("%s-wake", db_path);
}

/*
 * Opens the wake file, creating it like the database: SQLite's own files
 * beside it are created with the database's owner and mode, so that a
 * root `longjob` does not leave a file the web server's user cannot write.
 * Without it (a read-only directory), readers fall back to their tick.
 */
static void
store_wake_open(struct store *s)
{
	char *path = store_wake_path(s->path);
	struct stat db;
	int created = 1;

	s->wake_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->wake_fd < 0 && errno == EEXIST) {
		created = 0;
		s->wake_fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (s->wake_fd < 0)
		log_debug("%s: %s: readers wake on their tick only", path, strerror(errno));
	else if (created && stat(s->path, &db) == 0) {
		if (fchmod(s->wake_fd, db.st_mode & 0666) != 0 ||
		    (geteuid() == 0 && fchown(s->wake_fd, db.st_uid, db.st_gid) != 0))
			log_warn("%s: cannot give it the database's owner and mode: %s", path,
			    strerror(errno));
	}
	s->wake_changes = sqlite3_total_changes64(s->db);
	free(path);
}

/*
 * After a commit that changed rows: touches the wake file, which readers
 * watch (wake.h).  After the commit, not during it: the WAL's own writes
 * come before the commit is visible, and a reader woken by them read too
 * early and then waited out its minimum gap (bench/README.md).
 */
static void
store_wake_others(struct store *s)
{
	sqlite3_int64 changes = sqlite3_total_changes64(s->db);

	if (s->wake_fd < 0 || changes == s->wake_changes)
		return;
	s->wake_changes = changes;
	if (pwrite(s->wake_fd, "\n", 1, 0) != 1)
		log_debug("touching the wake file: %s", strerror(errno));
}

/* Ends a transaction: commit if rc is not an error, else roll back. */
static int
store_end(struct store *s, int rc)
{
	if (rc >= 0 && store_exec(s, SQL_COMMIT) == 0) {
		s->commits++;
		store_wake_others(s);
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
	    ((version == 1 || version == 2) &&
	    sqlite3_exec(s->db, store_upgrade_2, NULL, NULL, &err) != SQLITE_OK) ||
	    sqlite3_exec(s->db, "PRAGMA user_version = 3", NULL, NULL, &err) != SQLITE_OK)
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

	s->wake_fd = -1;
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
	store_wake_open(s);
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
	if (s->wake_fd >= 0)
		close(s->wake_fd);
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
	j->out_offset = sqlite3_column_int64(st, 16);
	j->out_skip = sqlite3_column_int(st, 17);
	j->out_result = store_text(st, 18);
	j->log_count = sqlite3_column_int(st, 19);
	j->log_dropped = sqlite3_column_int(st, 20);
	j->steps_refused = sqlite3_column_int(st, 21);
	j->keeper_pid = (long)sqlite3_column_int64(st, 22);
	j->keeper_start = sqlite3_column_int64(st, 23);
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

/* Binds an integer of the worker's record, -1 meaning NULL (unchanged). */
static void
store_bind_own(sqlite3_stmt *st, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

/* Applies a change inside the caller's transaction: 0, 1 if the job has ended (nothing written), -1. */
static int
store_apply(struct store *s, const char *id, const struct job_change *c, int64_t *seq)
{
	sqlite3_stmt *st;

	if ((st = store_stmt(s, SQL_CHANGE)) == NULL)
		return -1;
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
	store_bind_own(st, 14, c->out_offset);
	store_bind_own(st, 15, c->out_skip);
	store_bind_opt(st, 16, c->out_result);
	store_bind_own(st, 17, c->log_count);
	store_bind_own(st, 18, c->log_dropped);
	store_bind_own(st, 19, c->steps_refused);
	store_bind_own(st, 20, c->keeper_pid);
	store_bind_own(st, 21, c->keeper_start);
	store_bind_own(st, 22, c->worker_pid);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(s, "change job");
	sqlite3_reset(st);
	/* No row changed: the job has already ended (cancelled, reaped); write nothing. */
	if (sqlite3_changes(s->db) == 0)
		return 1;
	if (c->event_kind != NULL &&
	    store_add_event(s, id, c->event_kind, c->event_json, seq) != 0)
		return -1;
	return 0;
}

int
store_job_change(struct store *s, const char *id, const struct job_change *c,
    int64_t *seq)
{
	int rc;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if ((rc = store_apply(s, id, c, seq)) == 1) {
		store_exec(s, SQL_ROLLBACK);
		return 1;
	}
	return store_end(s, rc);
}

int
store_batch_begin(struct store *s)
{
	return store_exec(s, SQL_BEGIN_IMMEDIATE);
}

int
store_batch_change(struct store *s, const char *id, const struct job_change *c)
{
	return store_apply(s, id, c, NULL);
}

int
store_batch_commit(struct store *s)
{
	return store_end(s, 0);
}

void
store_batch_abort(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_exec(s, SQL_ROLLBACK);
}

/* Fails one lost job inside the caller's transaction; 1 if it was not running. */
static int
store_fail_lost(struct store *s, const char *id, const char *error, double now)
{
	struct json_object *o = json_object_new_object();
	sqlite3_stmt *st = store_stmt(s, SQL_LOST);
	int rc;

	if (st == NULL) {
		json_object_put(o);
		return -1;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		json_object_put(o);
		return store_fail(s, "fail lost job");
	}
	sqlite3_reset(st);
	if (sqlite3_changes(s->db) == 0) {
		json_object_put(o);
		return 1;
	}
	log_warn("job %s: %s", id, error);
	json_object_object_add(o, "state", json_object_new_string("failed"));
	json_object_object_add(o, "error", json_object_new_string(error));
	rc = store_add_event(s, id, "end",
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL);
	json_object_put(o);
	return rc;
}

int
store_job_lost(struct store *s, const char *id, const char *error)
{
	int rc;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	rc = store_fail_lost(s, id, error, store_now());
	return store_end(s, rc);
}

int
store_reap_lost(struct store *s, const char *error)
{
	char ids[256][JOBID_LEN + 1];
	sqlite3_stmt *st;
	double now = store_now();
	int n = 0, i, rc = 0;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if ((st = store_stmt(s, SQL_RUNNING)) == NULL)
		return store_end(s, -1);
	while (n < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(ids[n++], sizeof ids[0], "%s", (const char *)sqlite3_column_text(st, 0));
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && n < 256)
		return store_end(s, store_fail(s, "list running jobs"));
	sqlite3_reset(st);
	for (i = 0, rc = 0; i < n && rc >= 0; i++)
		rc = store_fail_lost(s, ids[i], error, now);
	return store_end(s, rc >= 0 ? n : -1);
}

/* Claims job id for worker pid inside the caller's transaction. */
static int
store_claim_id(struct store *s, const char *id, pid_t pid)
{
	sqlite3_stmt *st = store_stmt(s, SQL_CLAIM);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, store_now());
	sqlite3_bind_int64(st, 3, pid);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(s, "claim job");
	sqlite3_reset(st);
	return 0;
}

int
store_job_claim(struct store *s, pid_t pid, store_type_cb may_run, void *ctx,
    char out[JOBID_LEN + 1])
{
	sqlite3_stmt *st;
	int64_t any = 0;
	int rc = 0, step;

	/* A read first: the usual answer, nothing queued, takes no write lock. */
	if (store_int_query(s, SQL_ANY_QUEUED, NULL, &any) != 0)
		return -1;
	if (any == 0)
		return 0;
	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if ((st = store_stmt(s, SQL_QUEUED)) == NULL)
		return store_end(s, -1);
	/* The oldest queued job whose type has room (types.<name>.max_running). */
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (may_run == NULL || may_run(ctx, (const char *)sqlite3_column_text(st, 1))) {
			snprintf(out, JOBID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
			rc = 1;
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = store_fail(s, "list queued jobs");
	sqlite3_reset(st);
	if (rc == 1 && store_claim_id(s, out, pid) != 0)
		rc = -1;
	return store_end(s, rc);
}

int
store_job_running(struct store *s, store_job_cb cb, void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, SQL_RUNNING_JOBS);
	struct job j;
	int rc;

	if (st == NULL)
		return -1;
	job_init(&j);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_row_job(st, &j);
		cb(ctx, &j);
	}
	job_clear(&j);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "list running jobs");
}

int
store_job_ended_since(struct store *s, double since, pid_t pid,
    void (*cb)(void *, const char *, const char *), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, SQL_ENDED_SINCE);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_double(st, 1, since);
	sqlite3_bind_int64(st, 2, pid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(ctx, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "list ended jobs");
}

int
store_pending(struct store *s, double queued_before, int64_t *n)
{
	sqlite3_stmt *st = store_stmt(s, SQL_PENDING);

	if (st == NULL)
		return -1;
	sqlite3_bind_double(st, 1, queued_before);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_fail(s, "count pending jobs");
	*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
store_worker_beat(struct store *s, const struct store_worker *w)
{
	sqlite3_stmt *st;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if ((st = store_stmt(s, SQL_WORKER_BEAT)) == NULL)
		return store_end(s, -1);
	sqlite3_bind_text(st, 1, w->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, w->pid);
	sqlite3_bind_double(st, 3, w->started);
	sqlite3_bind_double(st, 4, store_now());
	sqlite3_bind_int(st, 5, w->running);
	sqlite3_bind_int64(st, 6, w->commits);
	sqlite3_bind_double(st, 7, w->last_commit);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_end(s, store_fail(s, "worker heartbeat"));
	sqlite3_reset(st);
	return store_end(s, 0);
}

int
store_worker_get(struct store *s, struct store_worker *w)
{
	sqlite3_stmt *st = store_stmt(s, SQL_WORKER_GET);
	int rc;

	if (st == NULL)
		return -1;
	memset(w, 0, sizeof *w);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(w->host, sizeof w->host, "%s", (const char *)sqlite3_column_text(st, 0));
		w->pid = (long)sqlite3_column_int64(st, 1);
		w->started = sqlite3_column_double(st, 2);
		w->beat = sqlite3_column_double(st, 3);
		w->running = sqlite3_column_int(st, 4);
		w->commits = sqlite3_column_int64(st, 5);
		w->last_commit = sqlite3_column_double(st, 6);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 1;
	return rc == SQLITE_ROW ? 0 : store_fail(s, "read worker");
}

int
store_worker_end(struct store *s, const struct store_worker *w)
{
	sqlite3_stmt *st;

	if (store_exec(s, SQL_BEGIN_IMMEDIATE) != 0)
		return -1;
	if ((st = store_stmt(s, SQL_WORKER_END)) == NULL)
		return store_end(s, -1);
	sqlite3_bind_text(st, 1, w->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, w->pid);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_end(s, store_fail(s, "worker end"));
	sqlite3_reset(st);
	return store_end(s, 0);
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
store_others_version(struct store *s, int64_t *v)
{
	return store_int_query(s, SQL_DATA_VERSION, NULL, v);
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
store_job_cancel(struct store *s, const char *id, long *keeper, int64_t *start)
{
	sqlite3_stmt *st;
	struct job j;
	int rc;

	*keeper = 0;
	*start = 0;
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
		if (rc == 0 && strcmp(j.state, "running") == 0) {
			*keeper = j.keeper_pid;
			*start = j.keeper_start;
		}
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
