/*
 * store_sqlite: the store on one SQLite file (the embedded default).
 *
 * One file in WAL mode (readers never block the writer), busy_timeout so a
 * writer waits instead of failing, IMMEDIATE write transactions (one
 * writer at a time, as store_backend.h asks), statements prepared once.
 * The schema is versioned with PRAGMA user_version and created on first
 * open.  Commits that changed rows touch a file beside the database, which
 * readers watch with inotify (store_wake_fd).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_backend.h"
#include "xmem.h"

#define SQ_SCHEMA_VERSION 5
#define SQ_BUSY_MS 10000
/*
 * The WAL is copied back into the database (a checkpoint: two fdatasyncs,
 * and every page changed since the last one read and written again) once
 * it holds this many pages; every connection sets it, since whichever
 * commits past it does the work.  SQLite's 1,000 made the worker of 1,000
 * jobs at one update a second checkpoint 3 times a second, mostly copying
 * the same hot pages again (bench/README.md); 10,000 (40 MiB of WAL at
 * most, 4 KiB pages) copies each of them once for ten times as many
 * commits.
 */
#define SQ_CHECKPOINT_PAGES "10000"


/* From schema version 1: the client that submitted a job (max_jobs_per_client). */
static const char *sq_upgrade_1 =
    "ALTER TABLE jobs ADD COLUMN client TEXT;"
    "CREATE INDEX jobs_client ON jobs(client, state);";

/*
 * From schema version 2: one worker per host.  Where a job's output has
 * been read to (out_*), the counts that bound what it shows (log_*,
 * steps_refused), its pending result (out_result: shown only once it ends),
 * its keeper (pid and start time, so that a successor can tell it from a
 * stranger that reused the pid), and the workers' own liveness.
 */
static const char *sq_upgrade_2 =
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

/*
 * From schema version 3: which host runs a job, and how often it ran
 * (columns of the PostgreSQL store, where several hosts share it; an
 * SQLite store is one host's alone, and its statements do not ask).
 */
static const char *sq_upgrade_3 =
    "ALTER TABLE jobs ADD COLUMN host TEXT;"
    "ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN not_before REAL NOT NULL DEFAULT 0;";

/*
 * From schema version 4: where the worker had read a job's output when it
 * wrote a progress event without the job's row (store.h, "Rows that wait").
 */
static const char *sq_upgrade_4 =
    "ALTER TABLE events ADD COLUMN off INTEGER;";

static const char *sq_schema =
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
    " keeper_start INTEGER NOT NULL DEFAULT 0,"
    " host TEXT,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " not_before REAL NOT NULL DEFAULT 0);"
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
    " t REAL NOT NULL,"
    " off INTEGER);"
    "CREATE INDEX events_job ON events(job_id, seq);"
    "CREATE TABLE artifacts ("
    " job_id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " content_type TEXT NOT NULL,"
    " PRIMARY KEY (job_id, name));";

/*
 * A job as every statement reads it: where its newest event is a progress
 * update that did not write the row (its `off` is past the row's), the
 * progress, message, ETA and position come from that event (store.h,
 * "Rows that wait").  The newest event is one probe of events_job.
 */
#define SQ_JOB_NEWER(row, event) \
	" CASE WHEN d.seq IS NULL THEN jobs." row " ELSE " event " END"
#define SQ_JOB_COLUMNS "jobs.id, jobs.type, jobs.state," \
	SQ_JOB_NEWER("progress", "json_extract(d.data, '$.progress')") ", jobs.step," \
	SQ_JOB_NEWER("message", "json_extract(d.data, '$.message')") "," \
	SQ_JOB_NEWER("eta_s", "coalesce(json_extract(d.data, '$.eta_s'), -1)") "," \
	" jobs.created, jobs.started, jobs.heartbeat, jobs.finished, jobs.worker_pid," \
	" jobs.params, jobs.steps, jobs.result, jobs.error," \
	SQ_JOB_NEWER("out_offset", "d.off") "," SQ_JOB_NEWER("out_skip", "0") "," \
	" jobs.out_result, jobs.log_count, jobs.log_dropped, jobs.steps_refused," \
	" jobs.keeper_pid, jobs.keeper_start, jobs.host, jobs.attempts"
#define SQ_NEWEST_PROGRESS(alias, id) \
	" " alias ".seq = (SELECT max(e.seq) FROM events e WHERE e.job_id = " id ")" \
	" AND " alias ".kind = 'progress' AND " alias ".off > jobs.out_offset"
#define SQ_JOB_FROM " FROM jobs LEFT JOIN events d ON" SQ_NEWEST_PROGRESS("d", "jobs.id")

/* What SQL_CHANGE and SQL_CHANGE_LIGHT both set (?1 and ?10 are SQL_CHANGE's own). */
#define SQ_CHANGE_REST \
	" progress = coalesce(?2, progress), message = coalesce(?3, message)," \
	" step = coalesce(?4, step), eta_s = coalesce(?5, eta_s)," \
	" steps = coalesce(?6, steps), result = coalesce(?7, result)," \
	" error = coalesce(?8, error)," \
	" started = CASE WHEN ?9 THEN ?12 ELSE started END," \
	" heartbeat = CASE WHEN ?11 THEN ?12 ELSE heartbeat END," \
	" out_offset = coalesce(?14, out_offset), out_skip = coalesce(?15, out_skip)," \
	" out_result = coalesce(?16, out_result), log_count = coalesce(?17, log_count)," \
	" log_dropped = coalesce(?18, log_dropped)," \
	" steps_refused = coalesce(?19, steps_refused)," \
	" keeper_pid = coalesce(?20, keeper_pid), keeper_start = coalesce(?21, keeper_start)," \
	" worker_pid = coalesce(?22, worker_pid)" \
	" WHERE id = ?13 AND state IN ('queued', 'running')"

static const char *sq_sql[SQL_COUNT] = {
	[SQL_COUNT_STATE] = "SELECT count(*) FROM jobs WHERE state = ?1",
	[SQL_INSERT_JOB] = "INSERT INTO jobs (id, type, state, created, params, steps, client)"
	    " VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6)",
	[SQL_CLIENT_JOBS] = "SELECT count(*) FROM jobs WHERE client = ?1"
	    " AND state IN ('queued', 'running')",
	[SQL_GET_JOB] = "SELECT " SQ_JOB_COLUMNS SQ_JOB_FROM " WHERE jobs.id = ?1",
	[SQL_JOB_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events WHERE job_id = ?1",
	[SQL_QUEUE_POS] = "SELECT count(*) FROM jobs WHERE state = 'queued'"
	    " AND rowid <= (SELECT rowid FROM jobs WHERE id = ?1)",
	[SQL_CHANGE] = "UPDATE jobs SET state = coalesce(?1, state),"
	    " finished = CASE WHEN ?10 THEN ?12 ELSE finished END," SQ_CHANGE_REST,
	/*
	 * A change that sets neither state nor finished (progress, most of
	 * them): SQLite rewrites the entries of every index on a column a
	 * statement sets, whether or not its value changes, and these two are
	 * in three indexes.  Without them, a progress update is one row.
	 */
	[SQL_CHANGE_LIGHT] = "UPDATE jobs SET" SQ_CHANGE_REST,
	[SQL_INSERT_EVENT] = "INSERT INTO events (job_id, kind, data, t)"
	    " VALUES (?1, ?2, ?3, ?4) RETURNING seq",
	/* The same when the caller needs no seq: RETURNING costs a table of its own. */
	[SQL_ADD_EVENT] = "INSERT INTO events (job_id, kind, data, t)"
	    " VALUES (?1, ?2, ?3, ?4)",
	/*
	 * Rows that wait (store.h): the event alone, if the job runs and what
	 * the position says besides the offset (?6-?10) is what its row says;
	 * else nothing (the caller writes the row).
	 */
	[SQL_ADD_EVENT_AT] = "INSERT INTO events (job_id, kind, data, t, off)"
	    " SELECT ?1, ?2, ?3, ?4, ?5 FROM jobs WHERE id = ?1 AND state IN ('queued', 'running')"
	    " AND out_skip = 0 AND coalesce(?6, 0) = 0 AND log_count = coalesce(?7, log_count)"
	    " AND log_dropped = coalesce(?8, log_dropped)"
	    " AND steps_refused = coalesce(?9, steps_refused)"
	    " AND (?10 IS NULL OR out_result IS ?10)",
	/* ... and the row takes in its newest waiting event (before a cancel, a reaping). */
	[SQL_FOLD] = "UPDATE jobs SET (progress, message, eta_s, out_offset, out_skip) ="
	    " (SELECT json_extract(d.data, '$.progress'), json_extract(d.data, '$.message'),"
	    " coalesce(json_extract(d.data, '$.eta_s'), -1), d.off, 0 FROM events d WHERE"
	    SQ_NEWEST_PROGRESS("d", "?1") ")"
	    " WHERE id = ?1 AND EXISTS (SELECT 1 FROM events d WHERE"
	    SQ_NEWEST_PROGRESS("d", "?1") ")",
	[SQL_RUNNING] = "SELECT id FROM jobs WHERE state = 'running' LIMIT 256",
	[SQL_RUNNING_JOBS] = "SELECT " SQ_JOB_COLUMNS SQ_JOB_FROM
	    " WHERE jobs.state = 'running' ORDER BY jobs.rowid",
	[SQL_QUEUED] = "SELECT id, type FROM jobs WHERE state = 'queued'"
	    " AND not_before <= ?1 ORDER BY rowid LIMIT 64",
	[SQL_CLAIM] = "UPDATE jobs SET state = 'running', started = ?2,"
	    " heartbeat = ?2, worker_pid = ?3, host = ?4 WHERE id = ?1 AND state = 'queued'",
	[SQL_ENDED_SINCE] = "SELECT id, state FROM jobs WHERE finished >= ?1"
	    " AND worker_pid = ?2",
	[SQL_ANY_QUEUED] = "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE state = 'queued' LIMIT 1)",
	[SQL_PENDING] = "SELECT count(*) FROM jobs WHERE state = 'running'"
	    " OR (state = 'queued' AND created < ?1)",
	[SQL_WORKER_BEAT] = "INSERT OR REPLACE INTO workers (host, pid, started, beat,"
	    " running, commits, last_commit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQL_WORKER_GET] = "SELECT host, pid, started, beat, running, commits, last_commit"
	    " FROM workers ORDER BY beat DESC LIMIT 1",
	[SQL_WORKERS_ALL] = "SELECT host, pid, started, beat, running, commits, last_commit"
	    " FROM workers ORDER BY host",
	/* One host: none is ever lost to another (these are never run). */
	[SQL_HOSTS_LOST] = "SELECT host FROM workers WHERE 0",
	[SQL_HOST_JOBS] = "SELECT id, type, attempts FROM jobs WHERE 0",
	[SQL_REQUEUE] = "SELECT 0 WHERE 0",
	[SQL_HOST_FORGET] = "SELECT 0 WHERE 0",
	/* Files stay in the spool, which is one host's too. */
	[SQL_FILE_DELETE] = "SELECT 0 WHERE 0",
	[SQL_FILE_PART_ADD] = "SELECT 0 WHERE 0",
	[SQL_FILE_PART] = "SELECT x'' WHERE 0",
	[SQL_FILE_NAMES] = "SELECT '' WHERE 0",
	[SQL_GC_FILES] = "SELECT 0 WHERE 0",
	[SQL_ARTIFACT_NAMES] = "SELECT name FROM artifacts WHERE job_id = ?1",
	/* Change by change (apply_batch is NULL): a statement is cheap in process. */
	[SQL_BATCH_JOBS] = "SELECT 0 WHERE 0",
	[SQL_BATCH_EVENTS] = "SELECT 0 WHERE 0",
	[SQL_TYPE_RUNNING] = "SELECT count(*) FROM jobs WHERE state = 'running' AND type = ?1",
	[SQL_WORKER_END] = "DELETE FROM workers WHERE host = ?1 AND pid = ?2",
	[SQL_LOST] = "UPDATE jobs SET state = 'failed', error = ?2, finished = ?3"
	    " WHERE id = ?1 AND state = 'running'",
	[SQL_LIST] = "SELECT " SQ_JOB_COLUMNS SQ_JOB_FROM " ORDER BY jobs.rowid DESC LIMIT ?1",
	[SQL_JOB_EVENTS] = "SELECT seq, job_id, kind, data FROM events"
	    " WHERE job_id = ?1 AND seq > ?2 ORDER BY seq",
	[SQL_EVENTS_AFTER] = "SELECT seq, job_id, kind, data FROM events"
	    " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[SQL_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
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

/* A statement of ours: prepared once, its rows read in place. */
struct store_rows {
	struct sq *db;
	sqlite3_stmt *st;
	int64_t changes;
};

struct sq {
	sqlite3 *db;
	char *path;
	int full;		/* the last failure was the disk being full */
	int busy;		/* the last failure was another writer holding the lock too long */
	int64_t commits;	/* transactions this connection committed */
	int wake_fd;		/* the file commits touch (sq_wake_path), or -1 */
	int inotify_fd;		/* watching it for readers (sq_wake_fd), or -1 */
	sqlite3_int64 wake_changes;	/* total changes when it was last touched */
	struct store_rows rows[SQL_COUNT];
	sqlite3_stmt *data_version;	/* PRAGMA data_version, prepared once */
};

/* Logs the database's last error for the named operation. */
static int
sq_fail(struct sq *s, const char *what)
{
	int code = sqlite3_errcode(s->db);

	/* Noted now: the ROLLBACK that follows resets the connection's error code. */
	s->full = code == SQLITE_FULL ||
	    ((code & 0xff) == SQLITE_IOERR && sqlite3_system_errno(s->db) == ENOSPC);
	s->busy = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
	log_error("%s: %.60s: %s", s->path, what, sqlite3_errmsg(s->db));
	return -1;
}

static int
sq_exec(struct sq *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, sql);
	return 0;
}

/* The wake file of a database: commits that changed rows touch it. */
static char *
sq_wake_path(const char *db_path)
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
sq_wake_open(struct sq *s)
{
	char *path = sq_wake_path(s->path);
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
 * watch.  After the commit, not during it: the WAL's own writes come
 * before the commit is visible, and a reader woken by them read too early
 * and then waited out its minimum gap (bench/README.md).
 */
static void
sq_wake_others(struct sq *s)
{
	sqlite3_int64 changes = sqlite3_total_changes64(s->db);

	if (s->wake_fd < 0 || changes == s->wake_changes)
		return;
	s->wake_changes = changes;
	if (pwrite(s->wake_fd, "\n", 1, 0) != 1)
		log_debug("touching the wake file: %s", strerror(errno));
}

/* The version of a schema: PRAGMA user_version; -1 on error. */
static int
sq_user_version(struct sq *s)
{
	sqlite3_stmt *st;
	int version = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

/* Creates the schema on a new database, upgrades an old one, refuses a newer one. */
static int
sq_migrate(struct sq *s, char **cause)
{
	int version = sq_user_version(s);
	char *err = NULL;

	if (version == SQ_SCHEMA_VERSION)
		return 0;
	if (version < 0 || version > SQ_SCHEMA_VERSION) {
		*cause = xasprintf("%s: schema version %d is not %d (a newer longjob?)",
		    s->path, version, SQ_SCHEMA_VERSION);
		return -1;
	}
	/* Two first-time openers race here: IMMEDIATE makes one wait, then it sees the schema. */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &err) != SQLITE_OK)
		goto fail;
	version = sq_user_version(s);
	if ((version == 0 && sqlite3_exec(s->db, sq_schema, NULL, NULL, &err) != SQLITE_OK) ||
	    (version == 1 && sqlite3_exec(s->db, sq_upgrade_1, NULL, NULL, &err) != SQLITE_OK) ||
	    ((version == 1 || version == 2) &&
	    sqlite3_exec(s->db, sq_upgrade_2, NULL, NULL, &err) != SQLITE_OK) ||
	    (version >= 1 && version <= 3 &&
	    sqlite3_exec(s->db, sq_upgrade_3, NULL, NULL, &err) != SQLITE_OK) ||
	    (version >= 1 && version <= 4 &&
	    sqlite3_exec(s->db, sq_upgrade_4, NULL, NULL, &err) != SQLITE_OK) ||
	    sqlite3_exec(s->db, "PRAGMA user_version = 5", NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(s->db, "COMMIT", NULL, NULL, &err) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	*cause = xasprintf("%s: creating schema: %s", s->path, err ? err : sqlite3_errmsg(s->db));
	sqlite3_free(err);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * WAL: the progress poller reads while workers write, neither waits.
 * Switching a new database to WAL needs an exclusive lock and fails with
 * SQLITE_BUSY, without the busy handler, while another program opens the
 * same new file (the three backends start together): retry for a while.
 */
static int
sq_pragmas(struct sq *s, char **err)
{
	int rc, i;

	for (i = 0; i < 100; i++) {
		sqlite3_free(*err);
		*err = NULL;
		rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL;"
		    "PRAGMA synchronous = NORMAL;"
		    "PRAGMA wal_autocheckpoint = " SQ_CHECKPOINT_PAGES, NULL, NULL, err);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			return rc;
		usleep(50 * 1000);
	}
	return rc;
}

static void sq_close(void *db);

static void *
sq_open(const char *path, char **cause)
{
	struct sq *s = xcalloc(1, sizeof *s);
	char *err = NULL;
	int i;

	s->wake_fd = s->inotify_fd = -1;
	s->path = xstrdup(path);
	for (i = 0; i < SQL_COUNT; i++)
		s->rows[i].db = s;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*cause = xasprintf("%s: %s", path, s->db ? sqlite3_errmsg(s->db) :
		    "cannot open database");
		sq_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
	if (sq_pragmas(s, &err) != SQLITE_OK) {
		*cause = xasprintf("%s: %s", path, err ? err : "?");
		sqlite3_free(err);
		sq_close(s);
		return NULL;
	}
	if (sq_migrate(s, cause) != 0) {
		sq_close(s);
		return NULL;
	}
	sq_wake_open(s);
	return s;
}

static void
sq_close(void *db)
{
	struct sq *s = db;
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(s->rows[i].st);
	sqlite3_finalize(s->data_version);
	sqlite3_close(s->db);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	free(s->path);
	free(s);
}

static int
sq_begin(void *db, enum store_txn kind)
{
	return sq_exec(db, kind == STORE_READ ? "BEGIN" : "BEGIN IMMEDIATE");
}

static int
sq_in_txn(void *db)
{
	return !sqlite3_get_autocommit(((struct sq *)db)->db);
}

static void
sq_rollback(void *db)
{
	struct sq *s = db;

	if (sq_in_txn(s))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sq_commit(void *db)
{
	struct sq *s = db;

	if (sq_exec(s, "COMMIT") == 0) {
		s->commits++;
		sq_wake_others(s);
		return 0;
	}
	sq_rollback(s);
	return -1;
}

/* Binds one parameter (1-based). */
static void
sq_bind(sqlite3_stmt *st, int i, const struct store_arg *a)
{
	switch (a->type) {
	case ARG_TEXT:
		sqlite3_bind_text(st, i, a->text, -1, SQLITE_STATIC);
		break;
	case ARG_INT:
		sqlite3_bind_int64(st, i, a->i);
		break;
	case ARG_REAL:
		sqlite3_bind_double(st, i, a->d);
		break;
	case ARG_BLOB:
		sqlite3_bind_blob64(st, i, a->text, (sqlite3_uint64)a->i, SQLITE_STATIC);
		break;
	case ARG_NULL:
		sqlite3_bind_null(st, i);
		break;
	}
}

static struct store_rows *
sq_query(void *db, enum store_sql id, const struct store_arg *args, int nargs)
{
	struct sq *s = db;
	struct store_rows *r = &s->rows[id];
	int i;

	if (r->st == NULL && sqlite3_prepare_v3(s->db, sq_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &r->st, NULL) != SQLITE_OK) {
		sq_fail(s, sq_sql[id]);
		r->st = NULL;
		return NULL;
	}
	sqlite3_reset(r->st);
	sqlite3_clear_bindings(r->st);
	/* Past the statement's own parameters (a host, which one host's store does not ask): SQLITE_RANGE, ignored. */
	for (i = 0; i < nargs; i++)
		sq_bind(r->st, i + 1, &args[i]);
	r->changes = 0;
	return r;
}

static int
sq_step(struct store_rows *r)
{
	switch (sqlite3_step(r->st)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		r->changes = sqlite3_changes64(r->db->db);
		return 0;
	default:
		return sq_fail(r->db, sqlite3_sql(r->st));
	}
}

static const char *
sq_text(struct store_rows *r, int col)
{
	return (const char *)sqlite3_column_text(r->st, col);
}

static double
sq_real(struct store_rows *r, int col)
{
	return sqlite3_column_double(r->st, col);
}

static int64_t
sq_integer(struct store_rows *r, int col)
{
	return sqlite3_column_int64(r->st, col);
}

static const void *
sq_blob(struct store_rows *r, int col, size_t *n)
{
	const void *p = sqlite3_column_blob(r->st, col);

	*n = (size_t)sqlite3_column_bytes(r->st, col);
	return p;
}

static int64_t
sq_changes(struct store_rows *r)
{
	return r->changes;
}

static void
sq_finish(struct store_rows *r)
{
	sqlite3_reset(r->st);
}

/*
 * data_version only changes for other connections' commits, so a process
 * that reaped a lost worker itself would never read its own `end` and its
 * streams would hang: its own commits are counted in too.  Both numbers
 * only grow, so their sum changes whenever either does.
 */
static int
sq_version(void *db, int others, int64_t *v)
{
	struct sq *s = db;
	int rc;

	if (s->data_version == NULL && sqlite3_prepare_v3(s->db, "PRAGMA data_version", -1,
	    SQLITE_PREPARE_PERSISTENT, &s->data_version, NULL) != SQLITE_OK) {
		s->data_version = NULL;
		return sq_fail(s, "PRAGMA data_version");
	}
	rc = sqlite3_step(s->data_version);
	*v = sqlite3_column_int64(s->data_version, 0);
	sqlite3_reset(s->data_version);
	if (rc != SQLITE_ROW)
		return sq_fail(s, "PRAGMA data_version");
	if (!others)
		*v += s->commits;
	return 0;
}

/* An inotify watch on the wake file: readable once a commit changed rows. */
static int
sq_wake_fd(void *db)
{
	struct sq *s = db;
	char *file;

	if (s->inotify_fd >= 0)
		return s->inotify_fd;
	file = sq_wake_path(s->path);
	s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->inotify_fd < 0)
		log_debug("no wake-up on writes (inotify: %s): reading every tick", strerror(errno));
	else if (inotify_add_watch(s->inotify_fd, file, IN_MODIFY) < 0) {
		log_debug("no wake-up on writes (%s: %s): reading every tick", file, strerror(errno));
		close(s->inotify_fd);
		s->inotify_fd = -1;
	}
	free(file);
	return s->inotify_fd;
}

static void
sq_wake_drain(void *db)
{
	struct sq *s = db;
	char buf[4096];

	if (s->inotify_fd >= 0)
		while (read(s->inotify_fd, buf, sizeof buf) > 0)
			;
}

static double
sq_up_since(void *db)
{
	(void)db;
	return 0;
}

static int
sq_full(void *db)
{
	return ((struct sq *)db)->full;
}

static int
sq_busy(void *db)
{
	return ((struct sq *)db)->busy;
}

static int
sq_down(void *db)
{
	(void)db;
	return 0;
}

const struct store_backend store_sqlite = {
	.name = "sqlite",
	.shared = 0,
	.defers_rows = 1,
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.in_txn = sq_in_txn,
	.query = sq_query,
	.step = sq_step,
	.text = sq_text,
	.real = sq_real,
	.integer = sq_integer,
	.blob = sq_blob,
	.changes = sq_changes,
	.finish = sq_finish,
	.version = sq_version,
	.up_since = sq_up_since,
	.wake_fd = sq_wake_fd,
	.wake_drain = sq_wake_drain,
	.full = sq_full,
	.busy = sq_busy,
	.down = sq_down,
};
