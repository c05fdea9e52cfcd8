/*
 * Unit tests for store.c against a real SQLite file: schema and WAL, the
 * queue and claiming, job changes and their events, snapshots, the lost
 * worker reaper, and a second connection holding the write lock.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "store.h"
#include "tap.h"

static char dbpath[256];

/* Counts rows passed to a callback. */
static int
count_row(void *ctx, int64_t seq, const char *job, const char *kind, const char *json)
{
	(void)seq; (void)job; (void)kind; (void)json;
	(*(int *)ctx)++;
	return 0;
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
	unlink(dbpath);
	s = store_open(dbpath, &cause);
	ok(s != NULL, "store opens");
	sqlite3_open(dbpath, &db);
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	sqlite3_step(st);
	is_str((const char *)sqlite3_column_text(st, 0), "wal", "journal mode is WAL");
	sqlite3_finalize(st);
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	sqlite3_step(st);
	is_int(sqlite3_column_int(st, 0), 2, "user_version is 2");
	sqlite3_finalize(st);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	ok(store_open(dbpath, &cause) == NULL && cause != NULL &&
	    strstr(cause, "schema version 99") != NULL, "a newer schema is refused");
	free(cause);
	sqlite3_open(dbpath, &db);
	sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL);
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
	unlink(path);
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
	store_close(s);
	free(cause);
	unlink(path);
}

/* At most max_per_client jobs queued or running per client; others and the CLI are not counted. */
static void
test_per_client(struct store *s)
{
	struct store_admit one = { 100, "192.0.2.7", 2 }, other = { 100, "192.0.2.8", 2 };
	struct store_admit cli = { 100, NULL, 2 };

	is_int(store_job_insert(s, "11111111111111111111111111111111", "t", "{}", "[]", &one), 0,
	    "a client's first job");
	is_int(store_job_insert(s, "22222222222222222222222222222222", "t", "{}", "[]", &one), 0,
	    "its second");
	is_int(store_job_insert(s, "33333333333333333333333333333333", "t", "{}", "[]", &one), 2,
	    "its third is refused: max_per_client 2");
	is_int(store_job_insert(s, "44444444444444444444444444444444", "t", "{}", "[]", &other), 0,
	    "another client is not");
	is_int(store_job_insert(s, "55555555555555555555555555555555", "t", "{}", "[]", &cli), 0,
	    "nor a job without a client (the command line)");
}

/* Queue limits, claiming in order, max_running. */
static void
test_queue(struct store *s)
{
	const char *a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	const char *c = "cccccccccccccccccccccccccccccccc";
	struct store_admit two = { 2, NULL, 0 };
	char got[JOBID_LEN + 1];
	struct job j;

	is_int(store_job_insert(s, b, "t", "{}", "[]", &two), 0, "insert b");
	is_int(store_job_insert(s, a, "t", "{}", "[]", &two), 0, "insert a");
	is_int(store_job_insert(s, c, "t", "{}", "[]", &two), 1, "third refused: queue full");
	is_int(store_job_claim(s, 1, getpid(), 30, got), 1, "claim one");
	is_str(got, b, "the oldest is claimed first");
	is_int(store_job_claim(s, 1, getpid(), 30, got), 0, "max_running 1: nothing more");
	is_int(store_job_claim(s, 2, getpid(), 30, got), 1, "max_running 2: one more");
	is_str(got, a, "then the next");
	job_init(&j);
	store_job_get(s, a, &j);
	is_str(j.state, "running", "a runs");
	store_job_get(s, b, &j);
	is_str(j.state, "running", "b runs");
	job_clear(&j);
}

/* Changes write the row and the event atomically; ended jobs accept no more changes. */
static void
test_change(struct store *s)
{
	const char *a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct job_change c;
	struct job j;
	int64_t seq1 = 0, seq2 = 0;
	int n = 0;

	job_change_init(&c);
	c.progress = 42;
	c.message = "half";
	c.event_kind = "progress";
	c.event_json = "{\"progress\":42}";
	is_int(store_job_change(s, a, &c, &seq1), 0, "progress change");
	ok(seq1 > 0, "it has a seq");
	job_init(&j);
	is_int(store_job_snapshot(s, a, &j), 0, "snapshot");
	ok(j.progress == 42 && strcmp(j.message, "half") == 0, "the row changed");
	is_int(j.last_seq, seq1, "the snapshot's last seq is the event's");
	job_change_init(&c);
	c.state = "succeeded";
	c.result = "{\"x\":1}";
	c.finished = 1;
	c.event_kind = "end";
	c.event_json = "{\"state\":\"succeeded\"}";
	is_int(store_job_change(s, a, &c, &seq2), 0, "end change");
	ok(seq2 > seq1, "seq increases");
	job_change_init(&c);
	c.message = "late";
	c.event_kind = "log";
	c.event_json = "{}";
	is_int(store_job_change(s, a, &c, NULL), 1, "a change after the end is refused");
	store_job_events(s, a, 0, count_row, &n);
	is_int(n, 2, "and wrote no event");
	n = 0;
	store_job_events(s, a, seq1, count_row, &n);
	is_int(n, 1, "events after a seq");
	job_clear(&j);
	store_job_get(s, a, &j);
	is_str(j.state, "succeeded", "final state stored");
	is_str(j.result, "{\"x\":1}", "result stored");
	job_clear(&j);
}

/* A running job whose worker pid is dead is failed with an end event. */
/* What a cursor read: how many `end` events. */
struct seen {
	int ends;
};

/* Counts the `end` events a cursor hands on. */
static int
test_seen(void *ctx, int64_t seq, const char *job_id, const char *kind, const char *json)
{
	struct seen *seen = ctx;

	(void)seq;
	(void)job_id;
	(void)json;
	if (strcmp(kind, "end") == 0)
		seen->ends++;
	return 0;
}

/* A lost worker's job is failed; the reaping connection reads its own `end`. */
static void
test_reap(struct store *s)
{
	const char *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", *d = "dddddddddddddddddddddddddddddddd";
	struct store_admit ten = { 10, NULL, 0 };
	char got[JOBID_LEN + 1];
	struct store_cursor cur;
	struct seen seen = { 0 };
	struct job j;
	pid_t dead = fork();

	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	is_int(store_job_insert(s, d, "t", "{}", "[]", &ten), 0, "insert d");
	is_int(store_job_claim(s, 5, dead, 30, got), 1, "claimed by a pid that is gone");
	store_cursor_end(s, &cur);
	store_cursor_read(s, &cur, test_seen, &seen);
	is_int(store_reap_lost(s, 30), 1, "reaper finds that one job");
	is_int(store_cursor_read(s, &cur, test_seen, &seen), 0, "a cursor of the reaping connection reads");
	is_int(seen.ends, 1, "and sees the end it wrote itself (its streams get `end`)");
	job_init(&j);
	store_job_get(s, d, &j);
	is_str(j.state, "failed", "it is failed");
	is_str(j.error, "worker lost", "as worker lost");
	job_clear(&j);
	store_job_get(s, b, &j);
	is_str(j.state, "running", "a job of a live worker is left alone");
	job_clear(&j);
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

int
main(void)
{
	struct store *s = test_open();
	int64_t v1, v2;

	test_queue(s);
	store_version(s, &v1);
	test_change(s);
	store_version(s, &v2);
	ok(v1 != v2, "the version changes with our own commits too");
	test_reap(s);
	test_busy(s);
	test_per_client(s);
	test_upgrade();
	store_close(s);
	unlink(dbpath);
	return tap_done();
}
