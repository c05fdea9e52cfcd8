/*
 * store: the job store every longjob program shares: SQLite (a path, the
 * embedded default) or PostgreSQL (a postgresql:// URI or a libpq
 * conninfo string), as the `database` key says.  The rules live in
 * store.c, the SQL and connections in the backends (store_backend.h).
 *
 * DESIGN: how progress rows become SSE ids.  Every change a person can see
 * is a row in `events` whose `seq` is global and never reused, even after
 * retention deletes rows.  That seq is the SSE `id:`.  The job row is the
 * summary of its events; the worker writes both in the same transaction,
 * so a snapshot of the job read in one transaction together with the
 * job's largest seq is exactly "everything up to that id": a stream that
 * sends the snapshot as a `state` event with that id, then every event
 * with a larger seq, loses and repeats nothing.  That needs seqs to become
 * visible in the order they were taken, which both backends ensure by
 * letting one write transaction run at a time (SQLite's write lock; an
 * advisory lock on PostgreSQL, whose sequences are taken before commit).
 *
 * Rows that wait (SQLite: store_backend.h, defers_rows).  A progress update
 * may be written as its event alone, with the position the worker has
 * read to (`off`): the row keeps older progress, message, ETA and
 * position (the worker writes it at least once a minute while a job
 * reports).  Such an event is the newest of its job with an `off` past the
 * row's, and every statement that reads a job takes those four from it
 * then, in the same read: the snapshot is still exactly "everything up to
 * that id", and a successor worker resumes after the last line committed.
 * Only a change that moves nothing else may wait (its counts, result and
 * cut-line state are the row's: SQL_ADD_EVENT_AT checks); every other
 * change writes the row, with the newest progress; a cancel or a reaping
 * folds the event into the row first.
 *
 * Job states: queued -> running -> succeeded | failed | cancelled, and
 * queued -> cancelled.  The final transition always writes an `end` event.
 *
 * A job is read into, and changed through, the structs of job.h.
 * Every function returns 0 on success and -1 on a database error, which
 * the backend logs; lookups return 1 for "not found".
 */
#ifndef LONGJOB_STORE_H
#define LONGJOB_STORE_H

#include <stdint.h>
#include <sys/types.h>

#include "jobid.h"

struct store;

struct job;
struct job_change;

/* Called for each event row; return non-zero to stop early. */
typedef int (*store_event_cb)(void *ctx, int64_t seq, const char *job_id,
    const char *kind, const char *json);
/* Called for each job by store_job_list. */
typedef void (*store_job_cb)(void *ctx, const struct job *job);

/* 1 if database names a PostgreSQL database rather than an SQLite file. */
int store_is_postgresql(const char *database);
/* database as it may be shown or logged: a password in it is ***.  Caller frees. */
char *store_shown(const char *database);
/* Opens (creating, upgrading) the database; NULL with *cause set (caller frees). */
struct store *store_open(const char *database, char **cause);
void store_close(struct store *s);
/*
 * The host this process runs on: several share a PostgreSQL store, and a
 * worker claims, adopts and reaps only its own host's jobs.  By default the
 * host name; the instance makes it "name:spool", so that two instances of
 * one machine are two hosts.  An SQLite store is one host's alone.
 */
void store_set_host(struct store *s, const char *host);
const char *store_host(const struct store *s);
/* 1 if several hosts may share the store (PostgreSQL). */
int store_shared(const struct store *s);
/* "sqlite" or "postgresql". */
const char *store_backend_name(const struct store *s);
/*
 * A descriptor that becomes readable when another process may have
 * committed (an inotify watch on SQLite, the LISTEN connection on
 * PostgreSQL), so that readers need not wait for their tick; -1 if there
 * is none (the tick is the fallback).  store_wake_drain empties it.
 */
int store_wake_fd(struct store *s);
void store_wake_drain(struct store *s);
/* 1 if the last failed write failed because the disk (or quota) is full. */
int store_full(const struct store *s);
/*
 * 1 if the last failed write waited the whole busy timeout for another
 * writer: nothing is wrong with the store, and the write may be tried again.
 */
int store_busy(const struct store *s);
/* 1 if the last failure was the database server being unreachable. */
int store_down(const struct store *s);

double store_now(void);

/* What a new job must fit in: the queue, and its client's share (0: none). */
struct store_admit {
	int max_queued;
	const char *client;	/* who submits (an address), or NULL */
	int max_per_client;	/* jobs queued or running per client; 0 no limit */
};

/*
 * Inserts a queued job; 1 if max_queued jobs are already queued, 2 if its
 * client has max_per_client jobs queued or running (refused, nothing written).
 */
int store_job_insert(struct store *s, const char *id, const char *type,
    const char *params, const char *steps, const struct store_admit *admit);
/* Reads one job; 1 if there is none. */
int store_job_get(struct store *s, const char *id, struct job *j);
/* Reads a job, its largest event seq and queue position in one transaction. */
int store_job_snapshot(struct store *s, const char *id, struct job *j);
/* Applies a change (and appends its event) atomically; *seq gets the event's seq. */
int store_job_change(struct store *s, const char *id, const struct job_change *c,
    int64_t *seq);
/* Whether a job of this type may start now (the caller's per-type limits). */
typedef int (*store_type_cb)(void *ctx, const char *type);
/* How many jobs of a type may run at once over every host (0: no such limit). */
typedef int (*store_limit_cb)(void *ctx, const char *type);
/*
 * Claims the oldest queued job whose type may_run accepts (NULL: any) and
 * whose type has fewer than limit (NULL: no limit) running over every host
 * (counted inside the claim's transaction, so it holds), for worker pid: 1
 * and out set if claimed, 0 if nothing to do.  The caller (the one worker:
 * runner.h) keeps max_running itself.
 */
int store_job_claim(struct store *s, pid_t pid, store_type_cb may_run, store_limit_cb limit,
    void *ctx, char out[JOBID_LEN + 1]);
/* Calls cb for each running job, oldest first (a worker adopting them). */
int store_job_running(struct store *s, store_job_cb cb, void *ctx);
/*
 * Calls cb(ctx, id, state) for each job of worker pid that ended at or
 * after since: how the worker learns of cancels.
 */
int store_job_ended_since(struct store *s, double since, pid_t pid,
    void (*cb)(void *, const char *, const char *), void *ctx);
/*
 * How many jobs run, or wait queued since before queued_before (unix time):
 * whether a worker is needed.  A job queued just now has its submitter
 * starting one.
 */
int store_pending(struct store *s, double queued_before, int64_t *n);
/* How many times a job of this type may run again when its host is lost. */
typedef int (*store_retries_cb)(void *ctx, const char *type);
/*
 * Other hosts with running jobs and no worker heartbeat for lease_s are
 * lost: each of their running jobs is queued again (to run from the start,
 * after a backoff) while retries allows, else failed as "host lost", and
 * the host's worker row is removed.  How many jobs, or -1.  Nothing to do
 * on a store only one host uses.
 */
int store_reap_hosts(struct store *s, double lease_s, store_retries_cb retries, void *ctx);
/* Fails one running job with error and its `end`; 1 if it was not running. */
int store_job_lost(struct store *s, const char *id, const char *error);
/*
 * Fails every running job with error: for when no worker can be started
 * to adopt them.  Returns how many (at most 256 a call), or -1.
 */
int store_reap_lost(struct store *s, const char *error);

/*
 * Many changes in one transaction (the worker's batches): begin, then
 * store_batch_change for each and store_artifact_add, then commit (-1 if
 * it failed: then nothing of the batch was written) or abort.  id and c
 * must stay as they are until the commit or abort: a backend may write
 * them all at once then (PostgreSQL: each job's changes merged, the last
 * value of each field winning, and every event in order).  A change of a
 * job that has already ended (a cancel, a reaper) writes nothing; the
 * commit calls ended(ctx, id) once for each such job.
 */
int store_batch_begin(struct store *s);
int store_batch_change(struct store *s, const char *id, const struct job_change *c);
int store_batch_commit(struct store *s, void (*ended)(void *, const char *), void *ctx);
void store_batch_abort(struct store *s);

/* A worker as it records itself: one row per host. */
struct store_worker {
	char host[256];
	long pid;
	double started, beat;	/* unix time */
	int running;		/* jobs it runs */
	int64_t commits;	/* batches committed */
	double last_commit;
};

/* Records the worker's liveness and figures (beat is set to now). */
int store_worker_beat(struct store *s, const struct store_worker *w);
/* Reads the most recent worker row: 0, 1 if there is none. */
int store_worker_get(struct store *s, struct store_worker *w);
/*
 * Calls cb for every host's worker row, by host (on SQLite, the one host's):
 * 0, or -1.  A row whose heartbeat is old is a lost host's (store_reap_hosts).
 */
int store_workers_each(struct store *s, void (*cb)(void *ctx, const struct store_worker *w),
    void *ctx);
/* Removes the worker's row as it exits. */
int store_worker_end(struct store *s, const struct store_worker *w);

/*
 * Cancels a job: queued or running, it ends as cancelled with an `end`
 * event; *keeper and *start get the keeper of a running job (0 for a
 * queued one), which the caller signals so that it stops the handler.
 * 1 if the job has already ended, 2 if there is no such job.
 */
int store_job_cancel(struct store *s, const char *id, long *keeper, int64_t *start);
/*
 * Fails a job that is still queued because no worker can be started for it,
 * with error and its `end` event (end_json).  1 if it is no longer queued (a
 * worker that was already running took it), and then nothing is written.
 */
int store_job_unstartable(struct store *s, const char *id, const char *error,
    const char *end_json);
/*
 * Deletes ended jobs that finished before `before` (unix time), with their
 * events and artifacts; cb is then called with each id (to remove its
 * files).  Returns how many, or -1.
 */
int store_gc(struct store *s, double before, void (*cb)(void *, const char *),
    void *ctx);
/* Lists the newest jobs first. */
int store_job_list(struct store *s, int limit, store_job_cb cb, void *ctx);

/* Events of one job with seq > after, in order. */
int store_job_events(struct store *s, const char *id, int64_t after,
    store_event_cb cb, void *ctx);

/*
 * A reader's place in the event log.  store_cursor_read calls cb for every
 * event after it, in order, and moves it on; it asks store_version first
 * and reads nothing if nobody wrote since the last read, so polling an idle
 * store costs one tiny query.
 */
struct store_cursor {
	int64_t seq;
	int64_t version;
};

/* Places the cursor at the current end of the log. */
int store_cursor_end(struct store *s, struct store_cursor *c);
int store_cursor_read(struct store *s, struct store_cursor *c, store_event_cb cb,
    void *ctx);
/*
 * A number that changes whenever anyone commits, this connection included;
 * the same number twice means nothing new.
 */
int store_version(struct store *s, int64_t *v);
/* Changes only when another connection commits (the worker: a new job, a cancel). */
int store_others_version(struct store *s, int64_t *v);

/*
 * A job's files, kept in the store when several hosts share it (store_
 * shared): its uploads, for the host that runs it, and its artifacts, for
 * every host that serves them.  store_file_put copies what fd reads, in
 * parts, replacing a file of that name (0, -1); store_file_get writes one
 * to fd (0, 1 if there is none, -1); store_file_names lists them.  On a
 * store one host has alone, files stay in its spool: put does nothing,
 * get finds none.
 */
int store_file_put(struct store *s, const char *id, const char *name, int fd);
int store_file_get(struct store *s, const char *id, const char *name, int fd);
int store_file_names(struct store *s, const char *id, void (*cb)(void *, const char *),
    void *ctx);

/* Records an artifact; content type of one (1 if none); caller frees *ctype. */
int store_artifact_add(struct store *s, const char *id, const char *name,
    const char *ctype);
int store_artifact_get(struct store *s, const char *id, const char *name,
    char **ctype);
/* Calls cb with the name of each artifact of a job. */
int store_artifact_names(struct store *s, const char *id, void (*cb)(void *, const char *),
    void *ctx);

#endif
