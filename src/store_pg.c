/*
 * store_pg: the store on PostgreSQL, shared by several web hosts.
 *
 * DESIGN.
 * - Everything lives in the schema `longjob` of the database the `database`
 *   key names (a postgresql:// URI or a libpq conninfo string), so that it
 *   cannot meet a site's own tables.  Its version is a row of
 *   longjob.schema_version; the first program that connects creates or
 *   upgrades it, under a session advisory lock so that two first-timers
 *   do not race.
 * - Event seqs come from a sequence, which hands out values before commit:
 *   with two writers, seq 8 could become visible after seq 9, and a reader
 *   that had read "up to 9" would never see 8.  So every write transaction
 *   takes one transaction-scoped advisory lock first: writers run one at a
 *   time, as on SQLite, and seqs become visible in the order they were
 *   taken.  A reader's "everything up to N" is then exact (store.h).
 *   Reads that must agree with each other (a snapshot) run REPEATABLE READ.
 * - Wake-ups: a commit that changed rows sends NOTIFY longjob; each process
 *   LISTENs on a second connection, whose socket is the wake descriptor and
 *   whose notifications are the version (store_version).  Without that
 *   connection (the server went away) the version changes at every call,
 *   so that readers read every tick until it is back.
 * - The server going away: a failed statement on a broken connection marks
 *   the store down (store_down), and the next call reconnects, at most once
 *   a second; statements are prepared again on the new connection.
 */
#include "config.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "job.h"
#include "log.h"
#include "store_backend.h"
#include "xmem.h"

#define PG_SCHEMA_VERSION 1
/* The advisory locks: one for writers, one for creating the schema (any two numbers). */
#define PG_WRITE_LOCK "1818914658"
#define PG_SCHEMA_LOCK "1819961187"
#define PG_RETRY_S 1.0
#define PG_DOWN_LOG_S 10.0
#define PG_MAX_ARGS 24

static const char *pg_schema =
    "CREATE SCHEMA IF NOT EXISTS longjob;"
    "CREATE TABLE longjob.jobs ("
    " n BIGSERIAL UNIQUE,"
    " id TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('queued','running','succeeded','failed','cancelled')),"
    " progress DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " step TEXT,"
    " message TEXT NOT NULL DEFAULT '',"
    " eta_s DOUBLE PRECISION NOT NULL DEFAULT -1,"
    " created DOUBLE PRECISION NOT NULL,"
    " started DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " heartbeat DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " finished DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " worker_pid BIGINT NOT NULL DEFAULT 0,"
    " params TEXT NOT NULL,"
    " steps TEXT NOT NULL DEFAULT '[]',"
    " result TEXT,"
    " error TEXT,"
    " client TEXT,"
    " out_offset BIGINT NOT NULL DEFAULT 0,"
    " out_skip INTEGER NOT NULL DEFAULT 0,"
    " out_result TEXT,"
    " log_count INTEGER NOT NULL DEFAULT 0,"
    " log_dropped INTEGER NOT NULL DEFAULT 0,"
    " steps_refused INTEGER NOT NULL DEFAULT 0,"
    " keeper_pid BIGINT NOT NULL DEFAULT 0,"
    " keeper_start BIGINT NOT NULL DEFAULT 0,"
    " host TEXT,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " not_before DOUBLE PRECISION NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_state ON longjob.jobs(state, n);"
    "CREATE INDEX jobs_host ON longjob.jobs(host, state);"
    "CREATE INDEX jobs_client ON longjob.jobs(client, state);"
    "CREATE INDEX jobs_finished ON longjob.jobs(finished);"
    "CREATE TABLE longjob.workers ("
    " host TEXT PRIMARY KEY,"
    " pid BIGINT NOT NULL,"
    " started DOUBLE PRECISION NOT NULL,"
    " beat DOUBLE PRECISION NOT NULL,"
    " running INTEGER NOT NULL DEFAULT 0,"
    " commits BIGINT NOT NULL DEFAULT 0,"
    " last_commit DOUBLE PRECISION NOT NULL DEFAULT 0);"
    "CREATE TABLE longjob.events ("
    " seq BIGSERIAL PRIMARY KEY,"
    " job_id TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " t DOUBLE PRECISION NOT NULL);"
    "CREATE INDEX events_job ON longjob.events(job_id, seq);"
    "CREATE TABLE longjob.artifacts ("
    " job_id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " content_type TEXT NOT NULL,"
    " PRIMARY KEY (job_id, name));"
    "CREATE TABLE longjob.files ("
    " job_id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " part INTEGER NOT NULL,"
    " data BYTEA NOT NULL,"
    " PRIMARY KEY (job_id, name, part));"
    "CREATE TABLE longjob.schema_version (version INTEGER NOT NULL);"
    "INSERT INTO longjob.schema_version VALUES (1);";

#define PG_CHANGE \
	"UPDATE jobs SET state = coalesce($1, state)," \
	" progress = coalesce($2, progress), message = coalesce($3, message)," \
	" step = coalesce($4, step), eta_s = coalesce($5, eta_s)," \
	" steps = coalesce($6, steps), result = coalesce($7, result)," \
	" error = coalesce($8, error)," \
	" started = CASE WHEN $9::int <> 0 THEN $12::float8 ELSE started END," \
	" finished = CASE WHEN $10::int <> 0 THEN $12::float8 ELSE finished END," \
	" heartbeat = CASE WHEN $11::int <> 0 THEN $12::float8 ELSE heartbeat END," \
	" out_offset = coalesce($14, out_offset), out_skip = coalesce($15, out_skip)," \
	" out_result = coalesce($16, out_result), log_count = coalesce($17, log_count)," \
	" log_dropped = coalesce($18, log_dropped)," \
	" steps_refused = coalesce($19, steps_refused)," \
	" keeper_pid = coalesce($20, keeper_pid), keeper_start = coalesce($21, keeper_start)," \
	" worker_pid = coalesce($22, worker_pid)" \
	" WHERE id = $13 AND state IN ('queued', 'running')"

static const char *pg_sql[SQL_COUNT] = {
	[SQL_COUNT_STATE] = "SELECT count(*) FROM jobs WHERE state = $1",
	[SQL_INSERT_JOB] = "INSERT INTO jobs (id, type, state, created, params, steps, client)"
	    " VALUES ($1, $2, 'queued', $3, $4, $5, $6)",
	[SQL_CLIENT_JOBS] = "SELECT count(*) FROM jobs WHERE client = $1"
	    " AND state IN ('queued', 'running')",
	[SQL_GET_JOB] = "SELECT " STORE_JOB_COLUMNS " FROM jobs WHERE id = $1",
	[SQL_JOB_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events WHERE job_id = $1",
	[SQL_QUEUE_POS] = "SELECT count(*) FROM jobs WHERE state = 'queued'"
	    " AND n <= (SELECT n FROM jobs WHERE id = $1)",
	[SQL_CHANGE] = PG_CHANGE,
	[SQL_INSERT_EVENT] = "INSERT INTO events (job_id, kind, data, t)"
	    " VALUES ($1, $2, $3, $4) RETURNING seq",
	/* PostgreSQL updates no index whose columns keep their values (HOT): one text serves. */
	[SQL_CHANGE_LIGHT] = PG_CHANGE,
	[SQL_ADD_EVENT] = "INSERT INTO events (job_id, kind, data, t)"
	    " VALUES ($1, $2, $3, $4)",
	/* Every row is written (defers_rows is 0): these are never run. */
	[SQL_ADD_EVENT_AT] = "SELECT 0 WHERE false",
	[SQL_FOLD] = "SELECT 0 WHERE false",
	[SQL_RUNNING] = "SELECT id FROM jobs WHERE state = 'running' AND host = $1 LIMIT 256",
	[SQL_RUNNING_JOBS] = "SELECT " STORE_JOB_COLUMNS " FROM jobs"
	    " WHERE state = 'running' AND host = $1 ORDER BY n",
	[SQL_QUEUED] = "SELECT id, type FROM jobs WHERE state = 'queued'"
	    " AND not_before <= $1 ORDER BY n LIMIT 64 FOR UPDATE SKIP LOCKED",
	[SQL_CLAIM] = "UPDATE jobs SET state = 'running', started = $2,"
	    " heartbeat = $2, worker_pid = $3, host = $4 WHERE id = $1 AND state = 'queued'",
	[SQL_ENDED_SINCE] = "SELECT id, state FROM jobs WHERE finished >= $1"
	    " AND worker_pid = $2 AND host = $3",
	[SQL_ANY_QUEUED] = "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE state = 'queued'"
	    " LIMIT 1) q",
	[SQL_PENDING] = "SELECT count(*) FROM jobs WHERE (state = 'running' AND host = $2)"
	    " OR (state = 'queued' AND created < $1)",
	[SQL_WORKER_BEAT] = "INSERT INTO workers (host, pid, started, beat,"
	    " running, commits, last_commit) VALUES ($1, $2, $3, $4, $5, $6, $7)"
	    " ON CONFLICT (host) DO UPDATE SET pid = EXCLUDED.pid, started = EXCLUDED.started,"
	    " beat = EXCLUDED.beat, running = EXCLUDED.running, commits = EXCLUDED.commits,"
	    " last_commit = EXCLUDED.last_commit",
	[SQL_WORKER_GET] = "SELECT host, pid, started, beat, running, commits, last_commit"
	    " FROM workers WHERE host = $1",
	[SQL_WORKERS_ALL] = "SELECT host, pid, started, beat, running, commits, last_commit"
	    " FROM workers ORDER BY host",
	/* Hosts with running jobs and no heartbeat since $1. */
	[SQL_HOSTS_LOST] = "SELECT DISTINCT host FROM jobs WHERE state = 'running'"
	    " AND host IS NOT NULL AND host <> $2 AND host NOT IN"
	    " (SELECT host FROM workers WHERE beat >= $1) LIMIT 16",
	[SQL_HOST_JOBS] = "SELECT id, type, attempts FROM jobs WHERE state = 'running'"
	    " AND host = $1 ORDER BY n LIMIT 256",
	[SQL_REQUEUE] = "UPDATE jobs SET state = 'queued', host = NULL, worker_pid = 0,"
	    " keeper_pid = 0, keeper_start = 0, out_offset = 0, out_skip = 0,"
	    " out_result = NULL, log_count = 0, log_dropped = 0, steps_refused = 0,"
	    " started = 0, progress = 0, step = NULL, attempts = attempts + 1,"
	    " not_before = $2 WHERE id = $1 AND state = 'running'",
	[SQL_HOST_FORGET] = "DELETE FROM workers WHERE host = $1 AND beat < $2",
	[SQL_FILE_DELETE] = "DELETE FROM files WHERE job_id = $1 AND name = $2",
	[SQL_FILE_PART_ADD] = "INSERT INTO files (job_id, name, part, data) VALUES ($1, $2, $3, $4)",
	[SQL_FILE_PART] = "SELECT data FROM files WHERE job_id = $1 AND name = $2 AND part = $3",
	[SQL_FILE_NAMES] = "SELECT DISTINCT name FROM files WHERE job_id = $1",
	[SQL_GC_FILES] = "DELETE FROM files WHERE job_id = $1",
	[SQL_ARTIFACT_NAMES] = "SELECT name FROM artifacts WHERE job_id = $1",
	[SQL_TYPE_RUNNING] = "SELECT count(*) FROM jobs WHERE state = 'running' AND type = $1",
	/*
	 * A batch in two statements (pg_apply_batch): every job's merged change
	 * from arrays, the jobs that had not ended coming back; then the events
	 * of those, in the batch's order (seqs are taken in that order).
	 */
	[SQL_BATCH_JOBS] = "UPDATE jobs j SET state = coalesce(u.state, j.state),"
	    " progress = coalesce(u.progress, j.progress), message = coalesce(u.message, j.message),"
	    " step = coalesce(u.step, j.step), eta_s = coalesce(u.eta_s, j.eta_s),"
	    " steps = coalesce(u.steps, j.steps), result = coalesce(u.result, j.result),"
	    " error = coalesce(u.error, j.error),"
	    " started = CASE WHEN u.started THEN $22::float8 ELSE j.started END,"
	    " finished = CASE WHEN u.finished THEN $22::float8 ELSE j.finished END,"
	    " heartbeat = CASE WHEN u.heartbeat THEN $22::float8 ELSE j.heartbeat END,"
	    " out_offset = coalesce(u.out_offset, j.out_offset),"
	    " out_skip = coalesce(u.out_skip, j.out_skip),"
	    " out_result = coalesce(u.out_result, j.out_result),"
	    " log_count = coalesce(u.log_count, j.log_count),"
	    " log_dropped = coalesce(u.log_dropped, j.log_dropped),"
	    " steps_refused = coalesce(u.steps_refused, j.steps_refused),"
	    " keeper_pid = coalesce(u.keeper_pid, j.keeper_pid),"
	    " keeper_start = coalesce(u.keeper_start, j.keeper_start),"
	    " worker_pid = coalesce(u.worker_pid, j.worker_pid)"
	    " FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[], $5::text[],"
	    " $6::float8[], $7::text[], $8::text[], $9::text[], $10::bool[], $11::bool[],"
	    " $12::bool[], $13::int8[], $14::int4[], $15::text[], $16::int4[], $17::int4[],"
	    " $18::int4[], $19::int8[], $20::int8[], $21::int8[])"
	    " AS u(id, state, progress, message, step, eta_s, steps, result, error, started,"
	    " finished, heartbeat, out_offset, out_skip, out_result, log_count, log_dropped,"
	    " steps_refused, keeper_pid, keeper_start, worker_pid)"
	    " WHERE j.id = u.id AND j.state IN ('queued', 'running') RETURNING j.id",
	[SQL_BATCH_EVENTS] = "INSERT INTO events (job_id, kind, data, t)"
	    " SELECT e.job_id, e.kind, e.data, $4::float8"
	    " FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS e(job_id, kind, data, ord)"
	    " WHERE e.job_id = ANY($5::text[]) ORDER BY e.ord",
	[SQL_WORKER_END] = "DELETE FROM workers WHERE host = $1 AND pid = $2",
	[SQL_LOST] = "UPDATE jobs SET state = 'failed', error = $2, finished = $3"
	    " WHERE id = $1 AND state = 'running'",
	[SQL_LIST] = "SELECT " STORE_JOB_COLUMNS " FROM jobs ORDER BY n DESC LIMIT $1",
	[SQL_JOB_EVENTS] = "SELECT seq, job_id, kind, data FROM events"
	    " WHERE job_id = $1 AND seq > $2 ORDER BY seq",
	[SQL_EVENTS_AFTER] = "SELECT seq, job_id, kind, data FROM events"
	    " WHERE seq > $1 ORDER BY seq LIMIT $2",
	[SQL_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
	[SQL_ARTIFACT_ADD] = "INSERT INTO artifacts (job_id, name, content_type)"
	    " VALUES ($1, $2, $3) ON CONFLICT (job_id, name)"
	    " DO UPDATE SET content_type = EXCLUDED.content_type",
	[SQL_ARTIFACT_GET] = "SELECT content_type FROM artifacts"
	    " WHERE job_id = $1 AND name = $2",
	[SQL_CANCEL] = "UPDATE jobs SET state = 'cancelled', finished = $2"
	    " WHERE id = $1 AND state IN ('queued', 'running')",
	[SQL_GC_LIST] = "SELECT id FROM jobs WHERE state IN"
	    " ('succeeded', 'failed', 'cancelled') AND finished < $1 LIMIT 256",
	[SQL_GC_EVENTS] = "DELETE FROM events WHERE job_id = $1",
	[SQL_GC_ARTIFACTS] = "DELETE FROM artifacts WHERE job_id = $1",
	[SQL_GC_JOB] = "DELETE FROM jobs WHERE id = $1",
	[SQL_UNSTARTABLE] = "UPDATE jobs SET state = 'failed', error = $2, finished = $3"
	    " WHERE id = $1 AND state = 'queued'",
};

/* A statement's whole result, read row by row. */
struct store_rows {
	struct pg *db;
	PGresult *res;
	int row, nrows;
	int64_t changes;
	unsigned char *bytes;	/* the last blob read, unescaped */
};

struct pg {
	char *where;		/* the conninfo or URI */
	PGconn *conn;
	int prepared[SQL_COUNT];
	double retry_at;	/* no reconnection before (monotonic s) */
	double down_logged;	/* when "unreachable" was last logged */
	double up_since;	/* when the connection in use was made (pg_clock) */
	int full, busy, down;
	int txn;		/* inside BEGIN .. COMMIT */
	int changed;		/* this transaction changed rows: NOTIFY at commit */
	int bulk;		/* ... unless it wrote only files (STORE_BULK) */
	int64_t commits;
	/* Wake-ups: the LISTEN connection and what it heard. */
	PGconn *listen;
	double listen_retry_at;
	int64_t heard, heard_others, unheard;
};

static double
pg_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Notices (a table that exists, and so on) are not for the log. */
static void
pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The first line of a connection's last error. */
static const char *
pg_error(PGconn *c)
{
	static char line[512];
	const char *m = PQerrorMessage(c);

	snprintf(line, sizeof line, "%.*s", (int)strcspn(m, "\n"), m);
	return line;
}

/*
 * Connects; NULL with *cause set.  The connection's own settings win over
 * ours (a connect_timeout in the URI), and it works in schema longjob.
 */
static PGconn *
pg_connect(const char *where, char **cause)
{
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *values[] = { "5", "longjob", where, NULL };
	PGconn *c = PQconnectdbParams(keys, values, 1);
	PGresult *r;

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		*cause = xasprintf("cannot connect to the PostgreSQL database: %s",
		    c ? pg_error(c) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pg_quiet, NULL);
	r = PQexec(c, "SET search_path TO longjob");
	PQclear(r);
	return c;
}

/*
 * Whether to log a failure: always while the server answers; while it is
 * unreachable, once every PG_DOWN_LOG_S (every request, tick and retry
 * fails then, and the log must not fill with the same line).
 */
static int
pg_say_down(struct pg *p)
{
	double now = pg_clock();

	if (!p->down)
		return 1;
	if (now < p->down_logged + PG_DOWN_LOG_S)
		return 0;
	p->down_logged = now;
	return 1;
}

/* Notes why a statement failed, and logs it. */
static int
pg_fail(struct pg *p, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	p->full = state != NULL && strcmp(state, "53100") == 0;
	p->busy = state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0);
	p->down = PQstatus(p->conn) != CONNECTION_OK;
	if (p->down)
		p->txn = 0;
	if (pg_say_down(p))
		log_error("PostgreSQL: %.60s: %s", what, pg_error(p->conn));
	return -1;
}

/* Runs SQL with no parameters and no rows; 0 or -1. */
static int
pg_exec(struct pg *p, const char *sql)
{
	PGresult *r = PQexec(p->conn, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(p, r, sql);
	PQclear(r);
	return rc;
}

/* Creates the schema on a new database; refuses one from a newer longjob. */
static int
pg_migrate(PGconn *c, char **cause)
{
	PGresult *r;
	int version = 0, rc = -1;

	PQclear(PQexec(c, "SELECT pg_advisory_lock(" PG_SCHEMA_LOCK ")"));
	r = PQexec(c, "SELECT version FROM longjob.schema_version");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (version == PG_SCHEMA_VERSION)
		rc = 0;
	else if (version > PG_SCHEMA_VERSION)
		*cause = xasprintf("PostgreSQL: schema version %d is not %d (a newer longjob?)",
		    version, PG_SCHEMA_VERSION);
	else {
		r = PQexec(c, "BEGIN");
		PQclear(r);
		r = PQexec(c, pg_schema);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			PQclear(r);
			r = PQexec(c, "COMMIT");
		}
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			rc = 0;
		else
			*cause = xasprintf("PostgreSQL: creating the schema: %s", pg_error(c));
		PQclear(r);
		if (rc != 0)
			PQclear(PQexec(c, "ROLLBACK"));
	}
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" PG_SCHEMA_LOCK ")"));
	return rc;
}

static void pg_close(void *db);

static void *
pg_open(const char *where, char **cause)
{
	struct pg *p = xcalloc(1, sizeof *p);

	p->where = xstrdup(where);
	if ((p->conn = pg_connect(where, cause)) == NULL || pg_migrate(p->conn, cause) != 0) {
		pg_close(p);
		return NULL;
	}
	p->up_since = pg_clock();
	return p;
}

static void
pg_close(void *db)
{
	struct pg *p = db;

	if (p == NULL)
		return;
	PQfinish(p->conn);
	PQfinish(p->listen);
	free(p->where);
	free(p);
}

/*
 * A working connection: after the server went away, one attempt to
 * reconnect, at most once a second; 0 or -1.
 */
static int
pg_ready(struct pg *p)
{
	double now;

	if (PQstatus(p->conn) == CONNECTION_OK)
		return 0;
	p->down = 1;
	p->txn = 0;
	if ((now = pg_clock()) < p->retry_at)
		return -1;
	p->retry_at = now + PG_RETRY_S;
	PQreset(p->conn);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		if (pg_say_down(p))
			log_error("PostgreSQL: reconnecting: %s", pg_error(p->conn));
		return -1;
	}
	log_info("PostgreSQL: connected again");
	p->down_logged = 0;
	p->up_since = pg_clock();
	PQsetNoticeProcessor(p->conn, pg_quiet, NULL);
	memset(p->prepared, 0, sizeof p->prepared);
	p->down = 0;
	return pg_exec(p, "SET search_path TO longjob");
}

/*
 * A connection the server closed (a restart) shows as such only when it is
 * used: then, outside a transaction, one reconnection, so that the first
 * request after the server came back does not fail.  1 if reconnected.
 */
static int
pg_lost(struct pg *p)
{
	return !p->txn && PQstatus(p->conn) != CONNECTION_OK && pg_ready(p) == 0;
}

static int
pg_begin(void *db, enum store_txn kind)
{
	struct pg *p = db;
	/* A snapshot that agrees with itself: the job and its largest seq. */
	const char *begin = kind == STORE_READ ?
	    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : "BEGIN";

	if (pg_ready(p) != 0)
		return -1;
	if (pg_exec(p, begin) != 0 && (!pg_lost(p) || pg_exec(p, begin) != 0))
		return -1;
	p->txn = 1;
	p->changed = 0;
	p->bulk = kind == STORE_BULK;
	if (kind != STORE_WRITE)
		return 0;
	/* One writer at a time: seqs become visible in the order they are taken. */
	if (pg_exec(p, "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")") != 0) {
		pg_exec(p, "ROLLBACK");
		p->txn = 0;
		return -1;
	}
	return 0;
}

static void
pg_rollback(void *db)
{
	struct pg *p = db;

	if (p->txn && PQstatus(p->conn) == CONNECTION_OK)
		pg_exec(p, "ROLLBACK");
	p->txn = 0;
}

static int
pg_commit(void *db)
{
	struct pg *p = db;
	PGresult *r;
	int rc = 0;

	if (p->changed && !p->bulk && pg_exec(p, "NOTIFY longjob") != 0) {
		pg_rollback(p);
		return -1;
	}
	r = PQexec(p->conn, "COMMIT");
	/* A transaction that failed answers COMMIT with ROLLBACK. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0)
		rc = pg_fail(p, r, "COMMIT");
	PQclear(r);
	p->txn = 0;
	if (rc == 0)
		p->commits++;
	return rc;
}

static int
pg_in_txn(void *db)
{
	return ((struct pg *)db)->txn;
}

/* Prepares statement id on this connection once. */
static int
pg_prepare(struct pg *p, enum store_sql id, int nargs)
{
	char name[16];
	PGresult *r;
	int rc = 0;

	if (p->prepared[id])
		return 0;
	snprintf(name, sizeof name, "s%d", (int)id);
	r = PQprepare(p->conn, name, pg_sql[id], nargs, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(p, r, pg_sql[id]);
	else
		p->prepared[id] = 1;
	PQclear(r);
	return rc;
}

/*
 * Runs prepared statement id (preparing it first on this connection);
 * its result, or NULL (logged).
 */
static PGresult *
pg_run(struct pg *p, enum store_sql id, int nargs, const char *const *values,
    const int *lengths, const int *formats)
{
	char name[16];
	PGresult *r;
	ExecStatusType st;

	if (pg_prepare(p, id, nargs) != 0)
		return NULL;
	snprintf(name, sizeof name, "s%d", (int)id);
	r = PQexecPrepared(p->conn, name, nargs, values, lengths, formats, 0);
	st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		pg_fail(p, r, pg_sql[id]);
		PQclear(r);
		return NULL;
	}
	return r;
}

static struct store_rows *
pg_query(void *db, enum store_sql id, const struct store_arg *args, int nargs)
{
	struct pg *p = db;
	char buf[PG_MAX_ARGS][32];
	const char *values[PG_MAX_ARGS];
	int lengths[PG_MAX_ARGS], formats[PG_MAX_ARGS];
	struct store_rows *rows;
	PGresult *r;
	ExecStatusType st;
	int i;

	if (nargs > PG_MAX_ARGS || (!p->txn && pg_ready(p) != 0))
		return NULL;
	for (i = 0; i < nargs; i++) {
		values[i] = buf[i];
		lengths[i] = formats[i] = 0;
		if (args[i].type == ARG_BLOB) {
			values[i] = args[i].text;
			lengths[i] = (int)args[i].i;
			formats[i] = 1;
		} else if (args[i].type == ARG_TEXT)
			values[i] = args[i].text;
		else if (args[i].type == ARG_INT)
			snprintf(buf[i], sizeof buf[i], "%lld", (long long)args[i].i);
		else if (args[i].type == ARG_REAL)
			snprintf(buf[i], sizeof buf[i], "%.17g", args[i].d);
		else
			values[i] = NULL;
	}
	r = pg_run(p, id, nargs, values, lengths, formats);
	if (r == NULL && pg_lost(p))
		r = pg_run(p, id, nargs, values, lengths, formats);
	if (r == NULL)
		return NULL;
	st = PQresultStatus(r);
	rows = xcalloc(1, sizeof *rows);
	rows->db = p;
	rows->res = r;
	rows->nrows = PQntuples(r);
	rows->row = -1;
	rows->changes = strtoll(PQcmdTuples(r), NULL, 10);
	if (rows->changes > 0 && st == PGRES_COMMAND_OK)
		p->changed = 1;
	if (rows->changes > 0 && st == PGRES_TUPLES_OK && strncmp(PQcmdStatus(r), "SELECT", 6) != 0)
		p->changed = 1;
	return rows;
}

static int
pg_step(struct store_rows *r)
{
	return ++r->row < r->nrows ? 1 : 0;
}

static const char *
pg_text(struct store_rows *r, int col)
{
	return PQgetisnull(r->res, r->row, col) ? NULL : PQgetvalue(r->res, r->row, col);
}

static double
pg_real(struct store_rows *r, int col)
{
	return strtod(PQgetvalue(r->res, r->row, col), NULL);
}

static int64_t
pg_integer(struct store_rows *r, int col)
{
	return strtoll(PQgetvalue(r->res, r->row, col), NULL, 10);
}

static const void *
pg_blob(struct store_rows *r, int col, size_t *n)
{
	PQfreemem(r->bytes);
	r->bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(r->res, r->row, col), n);
	if (r->bytes == NULL)
		*n = 0;
	return r->bytes;
}

static int64_t
pg_changes(struct store_rows *r)
{
	return r->changes;
}

static void
pg_finish(struct store_rows *r)
{
	PQfreemem(r->bytes);
	PQclear(r->res);
	free(r);
}

/* Array literals for the batch statements: {"a\"b",NULL,...}, {1.5,NULL}, {t,f}. */
static void
pg_arr_sep(struct buf *b)
{
	buf_adds(b, b->len == 0 ? "{" : ",");
}

static void
pg_arr_text(struct buf *b, const char *v)
{
	pg_arr_sep(b);
	if (v == NULL) {
		buf_adds(b, "NULL");
		return;
	}
	buf_adds(b, "\"");
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			buf_adds(b, "\\");
		buf_add(b, v, 1);
	}
	buf_adds(b, "\"");
}

static void
pg_arr_real(struct buf *b, double v)
{
	pg_arr_sep(b);
	if (isnan(v))
		buf_adds(b, "NULL");
	else
		buf_addf(b, "%.17g", v);
}

/* An integer of the worker's record: -1 is NULL (unchanged). */
static void
pg_arr_own(struct buf *b, int64_t v)
{
	pg_arr_sep(b);
	if (v < 0)
		buf_adds(b, "NULL");
	else
		buf_addf(b, "%lld", (long long)v);
}

static void
pg_arr_bool(struct buf *b, int v)
{
	pg_arr_sep(b);
	buf_adds(b, v ? "t" : "f");
}

/* 1 if the text array literal a (as pg_arr_text makes it) has the id v. */
static int
pg_arr_has(const struct buf *a, const char *v)
{
	char quoted[JOBID_LEN + 3];

	snprintf(quoted, sizeof quoted, "\"%s\"", v);
	return a->data != NULL && strstr(a->data, quoted) != NULL;
}

/* Closes an array literal ({} when empty) and hands it out as a parameter. */
static struct store_arg
pg_arr_end(struct buf *b)
{
	buf_adds(b, b->len == 0 ? "{}" : "}");
	return STORE_TEXT(b->data);
}

/* The batch's jobs, for SQL_BATCH_JOBS: one array per column. */
static void
pg_batch_jobs(const struct store_batch_job *jobs, size_t n, struct buf *a)
{
	const struct job_change *c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = jobs[i].c;
		pg_arr_text(&a[0], jobs[i].id);
		pg_arr_text(&a[1], c->state);
		pg_arr_real(&a[2], c->progress);
		pg_arr_text(&a[3], c->message);
		pg_arr_text(&a[4], c->step);
		pg_arr_real(&a[5], c->eta_s);
		pg_arr_text(&a[6], c->steps);
		pg_arr_text(&a[7], c->result);
		pg_arr_text(&a[8], c->error);
		pg_arr_bool(&a[9], c->started);
		pg_arr_bool(&a[10], c->finished);
		pg_arr_bool(&a[11], c->heartbeat);
		pg_arr_own(&a[12], c->out_offset);
		pg_arr_own(&a[13], c->out_skip);
		pg_arr_text(&a[14], c->out_result);
		pg_arr_own(&a[15], c->log_count);
		pg_arr_own(&a[16], c->log_dropped);
		pg_arr_own(&a[17], c->steps_refused);
		pg_arr_own(&a[18], c->keeper_pid);
		pg_arr_own(&a[19], c->keeper_start);
		pg_arr_own(&a[20], c->worker_pid);
	}
}

static int
pg_apply_batch(void *db, const struct store_batch_job *jobs, size_t njobs,
    const struct store_batch_event *ev, size_t nev, double now,
    void (*ended)(void *, const char *), void *ctx)
{
	struct store_arg args[22];
	struct buf a[21], live;
	struct store_rows *r;
	size_t i, nlive = 0;
	int rc = -1, k, step;

	for (k = 0; k < 21; k++)
		buf_init(&a[k], 0);
	buf_init(&live, 0);
	pg_batch_jobs(jobs, njobs, a);
	for (k = 0; k < 21; k++)
		args[k] = pg_arr_end(&a[k]);
	args[21] = STORE_REAL(now);
	if ((r = pg_query(db, SQL_BATCH_JOBS, args, 22)) == NULL)
		goto out;
	/* The jobs that had not ended; the others are told of. */
	while ((step = pg_step(r)) == 1) {
		pg_arr_text(&live, pg_text(r, 0));
		nlive++;
	}
	pg_finish(r);
	for (i = 0; nlive < njobs && i < njobs; i++) {
		if (!pg_arr_has(&live, jobs[i].id))
			ended(ctx, jobs[i].id);
	}
	for (k = 0; k < 3; k++)
		buf_reset(&a[k]);
	for (i = 0; i < nev; i++) {
		pg_arr_text(&a[0], ev[i].id);
		pg_arr_text(&a[1], ev[i].kind);
		pg_arr_text(&a[2], ev[i].json);
	}
	args[0] = pg_arr_end(&a[0]);
	args[1] = pg_arr_end(&a[1]);
	args[2] = pg_arr_end(&a[2]);
	args[3] = STORE_REAL(now);
	args[4] = pg_arr_end(&live);
	rc = 0;
	if (nev > 0 && nlive > 0) {
		if ((r = pg_query(db, SQL_BATCH_EVENTS, args, 5)) == NULL)
			rc = -1;
		else
			pg_finish(r);
	}
out:
	for (k = 0; k < 21; k++)
		buf_free(&a[k]);
	buf_free(&live);
	return rc;
}

/* The LISTEN connection, (re)made when missing, at most once a second; 0 or -1. */
static int
pg_listen(struct pg *p)
{
	char *cause = NULL;
	PGresult *r;
	double now;

	if (p->listen != NULL && PQstatus(p->listen) == CONNECTION_OK)
		return 0;
	if ((now = pg_clock()) < p->listen_retry_at)
		return -1;
	p->listen_retry_at = now + PG_RETRY_S;
	PQfinish(p->listen);
	if ((p->listen = pg_connect(p->where, &cause)) == NULL) {
		log_debug("no wake-ups: %s", cause);
		free(cause);
		return -1;
	}
	r = PQexec(p->listen, "LISTEN longjob");
	if (PQresultStatus(r) != PGRES_COMMAND_OK || PQsetnonblocking(p->listen, 1) != 0) {
		log_warn("PostgreSQL: LISTEN: %s", pg_error(p->listen));
		PQfinish(p->listen);
		p->listen = NULL;
	}
	PQclear(r);
	/* Whatever happened while nobody listened: read once more. */
	p->unheard++;
	return p->listen != NULL ? 0 : -1;
}

/* Counts the notifications that came in; drops a connection that broke. */
static void
pg_hear(struct pg *p)
{
	PGnotify *n;
	int me = PQbackendPID(p->conn);

	if (pg_listen(p) != 0) {
		p->unheard++;
		return;
	}
	if (!PQconsumeInput(p->listen)) {
		log_warn("PostgreSQL: the LISTEN connection: %s", pg_error(p->listen));
		PQfinish(p->listen);
		p->listen = NULL;
		p->unheard++;
		return;
	}
	while ((n = PQnotifies(p->listen)) != NULL) {
		p->heard++;
		if (n->be_pid != me)
			p->heard_others++;
		PQfreemem(n);
	}
}

static int
pg_version(void *db, int others, int64_t *v)
{
	struct pg *p = db;

	pg_hear(p);
	*v = p->unheard + (others ? p->heard_others : p->heard + p->commits);
	return 0;
}

static int
pg_wake_fd(void *db)
{
	struct pg *p = db;

	return pg_listen(p) == 0 ? PQsocket(p->listen) : -1;
}

static void
pg_wake_drain(void *db)
{
	/* The notifications stay counted for the next version. */
	pg_hear(db);
}

static double
pg_up_since(void *db)
{
	return ((struct pg *)db)->up_since;
}

static int
pg_full(void *db)
{
	return ((struct pg *)db)->full;
}

static int
pg_busy(void *db)
{
	return ((struct pg *)db)->busy;
}

static int
pg_down(void *db)
{
	return ((struct pg *)db)->down;
}

const struct store_backend store_pg = {
	.name = "postgresql",
	.shared = 1,
	.defers_rows = 0,
	.open = pg_open,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.in_txn = pg_in_txn,
	.query = pg_query,
	.step = pg_step,
	.text = pg_text,
	.real = pg_real,
	.integer = pg_integer,
	.blob = pg_blob,
	.apply_batch = pg_apply_batch,
	.changes = pg_changes,
	.finish = pg_finish,
	.version = pg_version,
	.up_since = pg_up_since,
	.wake_fd = pg_wake_fd,
	.wake_drain = pg_wake_drain,
	.full = pg_full,
	.busy = pg_busy,
	.down = pg_down,
};
