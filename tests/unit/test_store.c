/*
 * Unit tests for store.c, run against every backend: SQLite always, and
 * PostgreSQL when LJ_TEST_POSTGRESQL names an empty database (as
 * tests/unit/test_store_pg.sh does, with a server of its own).  The queue
 * and claiming, job changes and their events, snapshots, the lost worker
 * reaper, batches, per-client limits, versions and wake-ups.  What is
 * SQLite's own (WAL, the schema's upgrades, its write lock) is in
 * test_store_sqlite.c.
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "store.h"
#include "tap.h"

/* Removes an SQLite database and the files beside it. */
static void
test_unlink_db(const char *path)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-wake" };
	char file[300];
	size_t i;

	for (i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		snprintf(file, sizeof file, "%s%s", path, ext[i]);
		unlink(file);
	}
}

/* Counts rows passed to a callback. */
static int
count_row(void *ctx, int64_t seq, const char *job, const char *kind, const char *json)
{
	(void)seq; (void)job; (void)kind; (void)json;
	(*(int *)ctx)++;
	return 0;
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

/* A worker whose type "t" is at its max_running. */
static int
test_no_t(void *ctx, const char *type)
{
	(void)ctx;
	return strcmp(type, "t") != 0;
}

/* Queue limits, claiming in order, per-type limits. */
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
	is_int(store_job_claim(s, getpid(), NULL, NULL, NULL, got), 1, "claim one");
	is_str(got, b, "the oldest is claimed first");
	is_int(store_job_claim(s, getpid(), test_no_t, NULL, NULL, got), 0,
	    "a type at its limit is not claimed");
	is_int(store_job_claim(s, getpid(), NULL, NULL, NULL, got), 1, "one more");
	is_str(got, a, "then the next");
	is_int(store_job_claim(s, getpid(), NULL, NULL, NULL, got), 0, "then none is queued");
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

/* A lost job is failed; the reaping connection reads its own `end`. */
static void
test_reap(struct store *s)
{
	const char *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", *d = "dddddddddddddddddddddddddddddddd";
	struct store_admit ten = { 10, NULL, 0 };
	char got[JOBID_LEN + 1];
	struct store_cursor cur;
	struct seen seen = { 0 };
	struct job j;

	is_int(store_job_insert(s, d, "t", "{}", "[]", &ten), 0, "insert d");
	is_int(store_job_claim(s, 12345, NULL, NULL, NULL, got), 1, "claimed");
	store_cursor_end(s, &cur);
	store_cursor_read(s, &cur, test_seen, &seen);
	is_int(store_job_lost(s, d, "worker lost"), 0, "d is failed as lost");
	is_int(store_job_lost(s, d, "worker lost"), 1, "once: then it is no longer running");
	is_int(store_cursor_read(s, &cur, test_seen, &seen), 0, "a cursor of the reaping connection reads");
	is_int(seen.ends, 1, "and sees the end it wrote itself (its streams get `end`)");
	job_init(&j);
	store_job_get(s, d, &j);
	is_str(j.state, "failed", "it is failed");
	is_str(j.error, "worker lost", "as worker lost");
	job_clear(&j);
	store_job_get(s, b, &j);
	is_str(j.state, "running", "another running job is left alone");
	job_clear(&j);
}

/* Jobs of worker pid that ended since a time (the worker learns of cancels). */
static void
test_ended_collect(void *ctx, const char *id, const char *state)
{
	struct seen *seen = ctx;

	(void)id;
	if (strcmp(state, "cancelled") == 0)
		seen->ends++;
}

/* Appends each event's JSON to the buffer ctx (128 bytes). */
static int
test_lines(void *ctx, int64_t seq, const char *job, const char *kind, const char *json)
{
	char *out = ctx;

	(void)seq; (void)job; (void)kind;
	if (strlen(out) + strlen(json) < 128)
		strcat(out, json);
	return 0;
}

/* Counts the jobs a batch's commit says had ended. */
static void
test_ended_one(void *ctx, const char *id)
{
	struct seen *seen = ctx;

	if (strcmp(id, "dddddddddddddddddddddddddddddddd") == 0)
		seen->ends++;
}

/* Many changes in one transaction; an ended job's are skipped; the worker's own record. */
static void
test_batch(struct store *s)
{
	const char *f = "1111111111111111111111111111111f", *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	struct store_admit ten = { 10, NULL, 0 };
	struct store_worker w = { "hostT", 77, 100, 0, 3, 9, 101 }, got;
	struct seen seen = { 0 };
	char id[JOBID_LEN + 1];
	struct job_change c, c2;
	char order[128];
	struct job j;
	long keeper = 0;
	int64_t start = 0, seq0, n = 0;
	int events = 0;

	is_int(store_job_insert(s, f, "t", "{}", "[]", &ten), 0, "insert f");
	is_int(store_job_claim(s, 4242, NULL, NULL, NULL, id), 1, "claim f");
	job_init(&j);
	store_job_snapshot(s, f, &j);
	seq0 = j.last_seq;
	job_clear(&j);
	is_int(store_batch_begin(s), 0, "a batch begins");
	job_change_init(&c);
	c.event_kind = "log";
	c.event_json = "{\"line\":\"one\"}";
	c.keeper_pid = 999;
	c.keeper_start = 31337;
	c.progress = 10;
	is_int(store_batch_change(s, f, &c), 0, "a change of f");
	job_change_init(&c2);
	c2.event_kind = "log";
	c2.event_json = "{\"line\":\"two\"}";
	c2.out_offset = 8;
	c2.out_skip = 1;
	c2.out_result = "{\"r\":1}";
	c2.log_count = 2;
	c2.progress = 20;
	is_int(store_batch_change(s, f, &c2), 0, "another");
	is_int(store_batch_change(s, "dddddddddddddddddddddddddddddddd", &c2), 0,
	    "a change of an ended job is taken");
	is_int(store_batch_change(s, "dddddddddddddddddddddddddddddddd", &c), 0, "and another");
	is_int(store_batch_commit(s, test_ended_one, &seen), 0, "committed");
	is_int(seen.ends, 1, "the ended job is told of, once");
	seen.ends = 0;
	store_job_events(s, f, seq0, count_row, &events);
	is_int(events, 2, "both events, in one commit");
	order[0] = '\0';
	store_job_events(s, f, seq0, test_lines, order);
	is_str(order, "{\"line\":\"one\"}{\"line\":\"two\"}", "in the order they were added");
	job_init(&j);
	store_job_get(s, f, &j);
	ok(j.out_offset == 8 && j.out_skip == 1 && j.log_count == 2 && j.keeper_pid == 999 &&
	    j.keeper_start == 31337 && j.out_result && strcmp(j.out_result, "{\"r\":1}") == 0,
	    "the worker's record of the job is kept: each field's last value");
	ok(j.progress == 20, "the last progress wins");
	ok(j.result == NULL, "a pending result is not the job's result");
	job_clear(&j);
	store_batch_begin(s);
	store_batch_change(s, f, &c);
	store_batch_abort(s);
	events = 0;
	store_job_events(s, f, seq0, count_row, &events);
	is_int(events, 2, "an aborted batch wrote nothing");
	is_int(store_job_cancel(s, f, &keeper, &start), 0, "f cancelled");
	ok(keeper == 999 && start == 31337, "the cancel hands back its keeper");
	is_int(store_job_ended_since(s, store_now() - 5, 4242, test_ended_collect, &seen), 0,
	    "ended since");
	is_int(seen.ends, 1, "finds the cancel of its worker's job");
	seen.ends = 0;
	store_job_ended_since(s, store_now() - 5, 4243, test_ended_collect, &seen);
	is_int(seen.ends, 0, "and not for another worker");
	is_int(store_pending(s, store_now() + 60, &n), 0, "pending");
	ok(n >= 1, "counts the running job b");
	is_int(store_worker_beat(s, &w), 0, "a worker's heartbeat");
	is_int(store_worker_get(s, &got), 0, "read back");
	ok(got.pid == 77 && got.running == 3 && got.commits == 9 && strcmp(got.host, "hostT") == 0 &&
	    got.beat > 0, "with its figures");
	is_int(store_worker_end(s, &w), 0, "the worker leaves");
	is_int(store_worker_get(s, &got), 1, "and its row is gone");
	(void)b;
}

/* 1 if the wake descriptor becomes readable within ms, emptying it. */
static int
test_woken(struct store *s, int ms)
{
	struct pollfd p = { store_wake_fd(s), POLLIN, 0 };
	int n = poll(&p, 1, ms) > 0;

	store_wake_drain(s);
	return n;
}

/* Another connection's commit wakes a reader and changes its versions; reads do not. */
static void
test_wake(struct store *s, const char *database)
{
	const char *w = "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww";
	struct store_admit any = { 100, NULL, 0 };
	struct store *other;
	char *cause = NULL;
	int64_t v1, v2, o1, o2;
	struct job j;

	ok(store_wake_fd(s) >= 0, "the store has a wake descriptor");
	while (test_woken(s, 100))
		;
	other = store_open(database, &cause);
	ok(other != NULL, "a second connection opens");
	if (other == NULL) {
		free(cause);
		return;
	}
	job_init(&j);
	store_job_get(other, w, &j);
	store_job_snapshot(other, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &j);
	job_clear(&j);
	ok(!test_woken(s, 300), "reads wake nobody");
	store_version(s, &v1);
	store_others_version(s, &o1);
	is_int(store_job_insert(other, w, "t", "{}", "[]", &any), 0, "the other connection commits");
	ok(test_woken(s, 5000), "which wakes the reader");
	store_version(s, &v2);
	store_others_version(s, &o2);
	ok(v1 != v2, "and changes its version");
	ok(o1 != o2, "and its others' version");
	store_others_version(s, &o1);
	is_int(store_job_insert(s, "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwww1", "t", "{}", "[]", &any), 0,
	    "our own commit");
	test_woken(s, 1000);
	store_others_version(s, &o2);
	ok(o1 == o2, "leaves the others' version alone");
	store_close(other);
}

/* What the out-of-order test's reader saw. */
struct order {
	int64_t seqs[8];
	int n;
};

static int
test_order_row(void *ctx, int64_t seq, const char *job_id, const char *kind, const char *json)
{
	struct order *o = ctx;

	(void)job_id;
	(void)kind;
	(void)json;
	if (o->n < 8)
		o->seqs[o->n++] = seq;
	return 0;
}

/* In a child: one change of job id with an event, holding the transaction ms before commit. */
static pid_t
test_order_writer(const char *database, const char *id, int delay_ms, int hold_ms)
{
	struct job_change c;
	struct store *w;
	char *cause = NULL;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	usleep(delay_ms * 1000);
	if ((w = store_open(database, &cause)) == NULL)
		_exit(1);
	job_change_init(&c);
	c.event_kind = "log";
	c.event_json = "{\"line\":\"order\"}";
	if (store_batch_begin(w) != 0 || store_batch_change(w, id, &c) != 0)
		_exit(2);
	usleep(hold_ms * 1000);
	_exit(store_batch_commit(w, NULL, NULL) == 0 ? 0 : 3);
}

/*
 * The classic trap: a writer that took seq N commits after one that took
 * N+1, and a reader that read "up to N+1" in between never sees N.  Writer
 * A opens its transaction and holds it for a second; writer B writes in
 * the meantime and would commit first; the reader reads all along.  It
 * must see both events, in seq order.
 */
static void
test_order(struct store *s, const char *database)
{
	const char *a = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", *b = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
	struct store_admit any = { 100, NULL, 0 };
	struct store_cursor cur;
	struct order o = { { 0 }, 0 };
	pid_t pa, pb;
	int i, sa = -1, sb = -1, done = 0;

	store_job_insert(s, a, "t", "{}", "[]", &any);
	store_job_insert(s, b, "t", "{}", "[]", &any);
	store_cursor_end(s, &cur);
	pa = test_order_writer(database, a, 0, 1000);
	pb = test_order_writer(database, b, 300, 0);
	for (i = 0; i < 60 && o.n < 2; i++) {
		usleep(50 * 1000);
		store_cursor_read(s, &cur, test_order_row, &o);
	}
	waitpid(pa, &sa, 0);
	waitpid(pb, &sb, 0);
	done = WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) && WEXITSTATUS(sb) == 0;
	ok(done, "two writers committed, the first holding its transaction open");
	store_cursor_read(s, &cur, test_order_row, &o);
	is_int(o.n, 2, "a reader reading all along saw both events (none skipped)");
	ok(o.n == 2 && o.seqs[0] < o.seqs[1], "in seq order");
}

/* Host A takes only the two jobs of test_hosts (types t2 and again). */
static int
test_only_fg(void *ctx, const char *type)
{
	(void)ctx;
	return strcmp(type, "t2") == 0 || strcmp(type, "again") == 0;
}

/* Only type "again" may run again, once. */
static int
test_retries(void *ctx, const char *type)
{
	(void)ctx;
	return strcmp(type, "again") == 0;
}

/*
 * A host whose worker has gone silent is lost: another host ends its
 * running jobs as "host lost", or queues them again where the type allows,
 * and forgets its worker.  An SQLite store has one host: nothing to do.
 */
static void
test_hosts(struct store *s, const char *database)
{
	const char *f = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0", *g = "a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9";
	struct store_admit any = { 100, NULL, 0 };
	struct store_worker w = { "hostA", 501, 1, 0, 2, 0, 0 };
	char got[JOBID_LEN + 1], *cause = NULL;
	struct store *b, *fresh;
	struct job j;

	if (!store_shared(s)) {
		is_int(store_reap_hosts(s, 0, test_retries, NULL), 0,
		    "one host's store: no other host to lose");
		return;
	}
	/* b is host A, which runs two jobs; s (host T, the suite's) looks. */
	b = store_open(database, &cause);
	store_set_host(b, "hostA");
	store_job_insert(b, f, "t2", "{}", "[]", &any);
	store_job_insert(b, g, "again", "{}", "[]", &any);
	while (store_job_claim(b, 501, test_only_fg, NULL, NULL, got) == 1)
		;
	store_worker_beat(b, &w);
	job_init(&j);
	store_job_get(s, f, &j);
	is_str(j.host, "hostA", "a claimed job records its host");
	is_int(store_reap_hosts(s, 0.3, test_retries, NULL), 0,
	    "a host with a fresh heartbeat is not lost");
	usleep(400 * 1000);
	fresh = store_open(database, &cause);
	store_set_host(fresh, "hostF");
	is_int(store_reap_hosts(fresh, 0.3, test_retries, NULL), 0,
	    "past the lease, a process connected for less than the lease reaps nothing");
	store_close(fresh);
	is_int(store_reap_hosts(s, 0.3, test_retries, NULL), 2,
	    "one connected for longer takes the lost host's two running jobs");
	store_job_get(b, f, &j);
	ok(strcmp(j.state, "failed") == 0 && j.error != NULL && strstr(j.error, "host lost") != NULL,
	    "the one that may not run again failed as host lost");
	store_job_get(b, g, &j);
	ok(strcmp(j.state, "queued") == 0 && j.attempts == 1 && j.host == NULL,
	    "the one whose type allows a retry is queued again");
	is_int(store_job_claim(s, 777, test_only_fg, NULL, NULL, got), 0, "after a backoff, not at once");
	is_int(store_worker_get(b, &w), 1, "the lost host's worker is forgotten");
	job_clear(&j);
	store_close(b);
}

/* Type "g" may run once over every host. */
static int
test_one_g(void *ctx, const char *type)
{
	(void)ctx;
	return strcmp(type, "g") == 0 ? 1 : 0;
}

/* Only the jobs of type g. */
static int
test_only_g(void *ctx, const char *type)
{
	(void)ctx;
	return strcmp(type, "g") == 0;
}

/* types.<name>.max_running_all: a limit over every host, counted in the claim. */
static void
test_limit_all(struct store *s, const char *database)
{
	struct store_admit any = { 1000, NULL, 0 };
	char got[JOBID_LEN + 1], *cause = NULL;
	struct store *b = store_open(database, &cause);

	store_set_host(b, "hostG");
	store_job_insert(s, "9191919191919191919191919191919a", "g", "{}", "[]", &any);
	store_job_insert(s, "9191919191919191919191919191919b", "g", "{}", "[]", &any);
	is_int(store_job_claim(s, 1, test_only_g, test_one_g, NULL, got), 1,
	    "a job of a type limited to one over all hosts is claimed");
	is_int(store_job_claim(b, 2, test_only_g, test_one_g, NULL, got), 0,
	    "another host claims no second one");
	is_int(store_job_claim(b, 2, test_only_g, NULL, NULL, got), 1, "without the limit it would");
	store_close(b);
}

/* The whole suite on one database. */
static void
test_all(const char *database)
{
	char *cause = NULL;
	struct store *s = store_open(database, &cause);
	int64_t v1, v2;

	ok(s != NULL, "store opens");
	if (s == NULL) {
		printf("# %s\n", cause);
		exit(tap_done());
	}
	printf("# backend: %s\n", store_backend_name(s));
	store_set_host(s, "hostT");
	test_queue(s);
	store_version(s, &v1);
	test_change(s);
	store_version(s, &v2);
	ok(v1 != v2, "the version changes with our own commits too");
	test_reap(s);
	test_batch(s);
	test_per_client(s);
	test_wake(s, database);
	test_order(s, database);
	test_hosts(s, database);
	test_limit_all(s, database);
	store_close(s);
}

/* Which databases are PostgreSQL ones, and how they are shown without their password. */
static void
test_names(void)
{
	static const char *const shown[][2] = {
		{ "postgresql://lj:s3cret@db.example:5432/jobs", "postgresql://lj:***@db.example:5432/jobs" },
		{ "postgres://lj@db/jobs", "postgres://lj@db/jobs" },
		{ "host=db password=s3cret dbname=jobs", "host=db password=*** dbname=jobs" },
		{ "host=db password = 'a b\\' c' dbname=jobs", "host=db password = *** dbname=jobs" },
		{ "/var/lib/longjob/longjob.db", "/var/lib/longjob/longjob.db" },
	};
	char *got;
	size_t i;

	ok(store_is_postgresql("postgresql://h/db") && store_is_postgresql("dbname=x") &&
	    store_is_postgresql("host = /run/postgresql"), "URIs and conninfo strings are PostgreSQL");
	ok(!store_is_postgresql("/srv/x.db") && !store_is_postgresql("db=1/x.db") &&
	    !store_is_postgresql("x.db"), "paths are SQLite, '=' or not");
	for (i = 0; i < sizeof shown / sizeof shown[0]; i++) {
		got = store_shown(shown[i][0]);
		is_str(got, shown[i][1], "shown without its password");
		free(got);
	}
}

int
main(void)
{
	const char *pg = getenv("LJ_TEST_POSTGRESQL");
	char path[256];

	test_names();
	if (pg != NULL && *pg != '\0') {
		test_all(pg);
		return tap_done();
	}
	snprintf(path, sizeof path, "%s/longjob-test-%ld.db",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
	test_all(path);
	test_unlink_db(path);
	return tap_done();
}
