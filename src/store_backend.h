/*
 * store_backend: what a database under the store provides (SQLite, and
 * PostgreSQL where configure found libpq).
 *
 * DESIGN.  store.c holds every rule of the store (admission, the state
 * machine, events, reaping, retention) once; a backend holds its SQL, its
 * schema, its connection and its errors.  store.c names statements by id
 * and each backend has its own text for each, so no SQL leaks out of the
 * backends and the two cannot drift apart in what they decide.  (SQLite's
 * own os.c is the model: one ops table, an implementation per system.)
 *
 * Rows: query runs a statement and returns its rows, read with step and the
 * column getters, then finished.  One statement's rows may be read while
 * another runs (PostgreSQL fetches them whole; SQLite steps each statement
 * of its own).  Text parameters are borrowed for the call only.
 */
#ifndef LONGJOB_STORE_BACKEND_H
#define LONGJOB_STORE_BACKEND_H

#include <stdint.h>

/* Every statement the store runs: each backend has a text for each. */
enum store_sql {
	SQL_COUNT_STATE, SQL_INSERT_JOB, SQL_GET_JOB, SQL_JOB_MAX_SEQ,
	SQL_QUEUE_POS, SQL_CHANGE, SQL_INSERT_EVENT, SQL_RUNNING, SQL_RUNNING_JOBS,
	SQL_QUEUED, SQL_CLAIM, SQL_LOST, SQL_LIST, SQL_JOB_EVENTS,
	SQL_EVENTS_AFTER, SQL_MAX_SEQ, SQL_ARTIFACT_ADD,
	SQL_ARTIFACT_GET, SQL_CANCEL, SQL_GC_LIST, SQL_GC_EVENTS, SQL_GC_ARTIFACTS,
	SQL_GC_JOB, SQL_UNSTARTABLE, SQL_CLIENT_JOBS, SQL_ENDED_SINCE, SQL_PENDING,
	SQL_WORKER_BEAT, SQL_WORKER_GET, SQL_WORKERS_ALL, SQL_WORKER_END, SQL_ANY_QUEUED,
	SQL_HOSTS_LOST, SQL_HOST_JOBS, SQL_REQUEUE, SQL_HOST_FORGET,
	SQL_FILE_DELETE, SQL_FILE_PART_ADD, SQL_FILE_PART, SQL_FILE_NAMES, SQL_GC_FILES,
	SQL_ARTIFACT_NAMES, SQL_BATCH_JOBS, SQL_BATCH_EVENTS, SQL_TYPE_RUNNING,
	SQL_CHANGE_LIGHT, SQL_ADD_EVENT, SQL_ADD_EVENT_AT, SQL_FOLD,
	SQL_COUNT
};

/* The columns of a job, in the order store.c reads them (both backends). */
#define STORE_JOB_COLUMNS "id, type, state, progress, step, message, eta_s," \
	" created, started, heartbeat, finished, worker_pid, params, steps," \
	" result, error, out_offset, out_skip, out_result, log_count, log_dropped," \
	" steps_refused, keeper_pid, keeper_start, host, attempts"

/* A statement's parameter: text (NULL pointer: SQL NULL), integer, real, bytes (text, i long) or NULL. */
struct store_arg {
	enum { ARG_NULL, ARG_TEXT, ARG_INT, ARG_REAL, ARG_BLOB } type;
	const char *text;
	int64_t i;
	double d;
};

#define STORE_TEXT(v) ((struct store_arg){ (v) ? ARG_TEXT : ARG_NULL, (v), 0, 0 })
#define STORE_INT(v) ((struct store_arg){ ARG_INT, NULL, (v), 0 })
#define STORE_REAL(v) ((struct store_arg){ ARG_REAL, NULL, 0, (v) })
#define STORE_NULL ((struct store_arg){ ARG_NULL, NULL, 0, 0 })
#define STORE_BLOB(p, n) ((struct store_arg){ ARG_BLOB, (const char *)(p), (int64_t)(n), 0 })

/*
 * What a transaction does: reads only; writes (one writer at a time); or
 * writes rows that no reader follows by seq (a job's files), which need
 * not hold the other writers up.
 */
enum store_txn { STORE_READ, STORE_WRITE, STORE_BULK };

struct store_rows;
struct job_change;

/* A batch as apply_batch takes it: each job's changes merged, and the events in order. */
struct store_batch_job {
	const char *id;
	struct job_change *c;	/* the merged change (its event fields unused) */
};
struct store_batch_event {
	const char *id, *kind, *json;
};

struct store_backend {
	const char *name;
	/*
	 * 1 if several hosts share the store (PostgreSQL): the statements about
	 * running jobs are about this host's (a parameter), and other hosts can
	 * be lost.  An SQLite store is one host's alone.
	 */
	int shared;
	/*
	 * 1 if a progress update may be written as its event alone, carrying
	 * the job's position, the job's row left as it was (SQL_ADD_EVENT_AT,
	 * which writes nothing where it may not), and the backend's texts that
	 * read jobs take the newer values from that event (store.h, "Rows
	 * that wait").  SQLite: a row rewritten per update was about a quarter
	 * of the worker's time (bench/README.md).
	 */
	int defers_rows;
	/* Connects to (creating, migrating) the database; NULL with *cause set. */
	void *(*open)(const char *where, char **cause);
	void (*close)(void *db);
	/*
	 * Transactions.  A write transaction excludes every other writer until
	 * it ends, so that event seqs become visible in the order they were
	 * taken (store.h).  commit returns -1 (and has rolled back) on failure.
	 */
	int (*begin)(void *db, enum store_txn kind);
	int (*commit)(void *db);
	void (*rollback)(void *db);
	int (*in_txn)(void *db);
	/* Runs statement id; NULL on error (logged). */
	struct store_rows *(*query)(void *db, enum store_sql id,
	    const struct store_arg *args, int nargs);
	/* 1: a row is there to read, 0: no more, -1: error (logged). */
	int (*step)(struct store_rows *r);
	const char *(*text)(struct store_rows *r, int col);	/* NULL for NULL */
	double (*real)(struct store_rows *r, int col);
	int64_t (*integer)(struct store_rows *r, int col);
	/* Bytes of a column, valid until the next row; *n their length. */
	const void *(*blob)(struct store_rows *r, int col, size_t *n);
	/* Rows the statement inserted, changed or deleted (once stepped to its end). */
	int64_t (*changes)(struct store_rows *r);
	void (*finish)(struct store_rows *r);
	/*
	 * Optional: writes a whole batch inside the caller's write transaction
	 * in a few statements (each job's merged change, then every event in
	 * order) instead of two per change; calls ended(ctx, id) for each job
	 * that had already ended (nothing of it written).  0 or -1.  NULL: the
	 * store writes change by change.
	 */
	int (*apply_batch)(void *db, const struct store_batch_job *jobs, size_t njobs,
	    const struct store_batch_event *events, size_t nevents, double now,
	    void (*ended)(void *, const char *), void *ctx);
	/*
	 * A number that changes whenever anyone commits (others: only when
	 * another connection does).  The same value twice means nothing new.
	 */
	int (*version)(void *db, int others, int64_t *v);
	/*
	 * When the connection in use was made (monotonic seconds; 0: the store
	 * is always there).  A host's heartbeat cannot be judged by a process
	 * that was itself away from the database.
	 */
	double (*up_since)(void *db);
	/* A descriptor readable when another commit may have happened; -1: none. */
	int (*wake_fd)(void *db);
	/* Empties what made the descriptor readable. */
	void (*wake_drain)(void *db);
	/* Why the last failure happened: the disk is full, a writer held on, the database is unreachable. */
	int (*full)(void *db);
	int (*busy)(void *db);
	int (*down)(void *db);
};

extern const struct store_backend store_sqlite;
#ifdef HAVE_LIBPQ
extern const struct store_backend store_pg;
#endif

#endif
